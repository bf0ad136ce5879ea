// SPDX-License-Identifier: Apache-2.0
#include "handlers/container_protocol.hpp"

#include <optional>
#include <string>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/hub/agents.hpp>
#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

constexpr std::string_view kInvalidAgentIdExpected =
    "Invalid agentId format. Expected {spaceId}:{channelId}:{callsign}";
constexpr std::string_view kInvalidAgentId = "Invalid agentId format";
constexpr std::string_view kAgentNotFound = "Agent not found in roster";

/// Cast leaves checkin and heartbeat open (§8 #6); agentcore wants the agent's own container
/// token: 401 with Cast's container-auth texts, 403 when the token is another agent's.
std::optional<Response> CheckAgentToken(App& app, const Request& request,
                                        const AgentIdentity& agent) {
  if (app.config().compat_open_checkin) return std::nullopt;
  Result<AgentIdentity> caller = app.AuthenticateContainer(request);
  if (!caller.ok()) return CastError(401, caller.status().message());
  if (!(*caller == agent)) return CastError(403, "Container token is not for this agentId");
  return std::nullopt;
}

Response Failed(std::string_view what, const Status& s, std::string_view text) {
  return ServerError(what, s, CastError(500, text));
}

// spec cast §5.4, checks in Cast's order; the token check comes after the body checks (it
// needs the agentId) and before the roster is read.
asio::awaitable<Response> Checkin(RequestContext& ctx) {
  App& app = ctx.app();
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.ok()) co_return CastError(400, kInvalidJsonBody);
  const Json* version = body->Find("protocolVersion");
  if (version == nullptr || !version->is_string() || version->as_string() != "3.0") {
    co_return CastError(400, "Unsupported protocol version. Expected \"3.0\"");
  }
  const Json* agent_id = body->Find("agentId");
  const Json* endpoint = body->Find("endpoint");
  // A truthy non-string endpoint would be stored as is by Cast; it is refused here.
  if (!IsTruthy(agent_id) || !IsTruthy(endpoint) || !endpoint->is_string()) {
    co_return CastError(400, "agentId and endpoint are required");
  }
  if (!agent_id->is_string()) co_return CastError(400, kInvalidAgentIdExpected);
  Result<AgentIdentity> agent = ParseAgentId(agent_id->as_string());
  if (!agent.ok()) co_return CastError(400, kInvalidAgentIdExpected);
  if (!CheckText("endpoint", endpoint->as_string()).ok()) {
    co_return CastError(400, "agentId and endpoint are required");
  }
  if (auto denied = CheckAgentToken(app, ctx.request(), *agent)) co_return *denied;
  const Json* hints = body->Find("routeHints");
  Json route_hints = hints != nullptr && hints->is_object() ? *hints : Json();
  // Named lambdas only inside co_await (GCC 12, handler_support.hpp).
  auto work = [&agents = app.hub().agents(), agent = *agent, url = endpoint->as_string(),
               route_hints] { return agents.Checkin(agent, url, route_hints); };
  Result<CheckinOutcome> out = co_await app.Offload(std::move(work));
  if (!out.ok()) {
    if (out.status().code() == ErrorCode::kNotFound) co_return CastError(404, kAgentNotFound);
    co_return Failed("checkin", out.status(), "Checkin failed");
  }
  std::string response;
  JsonWriter(&response)
      .BeginObject()
      .Field("ok", true)
      .Field("agentId", agent_id->as_string())
      .Field("delivered", out->delivered)
      .EndObject();
  co_return JsonResponse(200, std::move(response));
}

// spec cast §5.5.
asio::awaitable<Response> Heartbeat(RequestContext& ctx) {
  App& app = ctx.app();
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.ok()) co_return CastError(400, kInvalidJsonBody);
  if (body->Find("endpoint") != nullptr) {
    co_return CastError(400, "endpoint not allowed in heartbeat");
  }
  const Json* agent_id = body->Find("agentId");
  if (agent_id == nullptr || !agent_id->is_string()) {
    co_return CastError(400, "agentId is required");
  }
  Result<AgentIdentity> agent = ParseAgentId(agent_id->as_string());
  if (!agent.ok()) co_return CastError(400, kInvalidAgentId);
  if (auto denied = CheckAgentToken(app, ctx.request(), *agent)) co_return *denied;
  auto work = [&agents = app.hub().agents(), agent = *agent] { return agents.Heartbeat(agent); };
  Result<UnixMillis> at = co_await app.Offload(std::move(work));
  if (!at.ok()) {
    if (at.status().code() == ErrorCode::kNotFound) co_return CastError(404, kAgentNotFound);
    co_return Failed("heartbeat", at.status(), "Heartbeat failed");
  }
  std::string response;
  JsonWriter(&response)
      .BeginObject()
      .Field("ok", true)
      .Field("timestamp", FormatIsoTimestamp(*at))
      .EndObject();
  co_return JsonResponse(200, std::move(response));
}

// spec cast §5.6: open, as in Cast. Online iff the entry has a callback URL and a fresh
// heartbeat (AgentService::Presence).
asio::awaitable<Response> AgentStatus(RequestContext& ctx) {
  App& app = ctx.app();
  const std::string& agent_id = ctx.Param("agentId");
  Result<AgentIdentity> agent = ParseAgentId(agent_id);
  if (!agent.ok()) co_return CastError(400, kInvalidAgentId);
  auto work = [&agents = app.hub().agents(), agent = *agent] { return agents.Presence(agent); };
  Result<AgentPresence> presence = co_await app.Offload(std::move(work));
  if (!presence.ok()) {
    co_return Failed("agent status", presence.status(), "Failed to get agent status");
  }
  std::string response;
  JsonWriter w(&response);
  w.BeginObject()
      .Field("agentId", agent_id)
      .Field("status", presence->online ? "online" : "offline");
  w.Key("endpoint");
  if (presence->endpoint) {
    w.String(*presence->endpoint);
  } else {
    w.Null();
  }
  w.Key("lastActivity");
  if (presence->last_heartbeat) {
    w.String(FormatIsoTimestamp(*presence->last_heartbeat));
  } else {
    w.Null();
  }
  w.EndObject();
  co_return JsonResponse(200, std::move(response));
}

}  // namespace

void RegisterContainerProtocolRoutes(Router& router) {
  router.Post("/agents/checkin",
              {.summary = "An agent's container announces its endpoint (spec §5.4)",
               .tag = "container", .auth = kAuthContainer, .body = BodyKind::kJson,
               .request = "Checkin", .response = "CheckinResult", .statuses = {403}},
              Checkin);
  router.Post("/agents/heartbeat",
              {.summary = "An agent's container is alive (spec §5.5)", .tag = "container",
               .auth = kAuthContainer, .body = BodyKind::kJson, .request = "Heartbeat",
               .response = "HeartbeatResult", .statuses = {403}},
              Heartbeat);
  router.Get("/agents/status/:agentId",
             {.summary = "An agent's presence (spec §5.6)", .tag = "container",
              .response = "AgentStatus"},
             AgentStatus);
}

}  // namespace agentcore::server
