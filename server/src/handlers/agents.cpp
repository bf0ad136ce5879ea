// SPDX-License-Identifier: Apache-2.0
// spec cast §4.6 and §5.9: agent lifecycle. Each route parses the request, makes one call to
// the hub's agent service (hub/agents.hpp: the roster change, the stored and published side
// effects, the runtime calls, in Cast's order) on the blocking pool, and writes Cast's answer.
#include <string>
#include <utility>
#include <vector>

#include <agentcore/hub/agents.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/state/agent_state.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

// --- POST /channels/:channelId/agents

asio::awaitable<Result<Response>> AddAgent(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return body.status();
  // kInvalidArgument, kNotFound ("Channel not found", "Runtime not found"), kAlreadyExists
  // "Agent already in roster" or kInternal, as Cast answers them.
  auto add = [&agents = app.hub().agents(), &principal, &channel_id = ctx.Param("channelId"),
              &body] { return agents.AddAgent(principal, channel_id, *body); };
  Result<RosterEntry> entry = co_await app.Offload(std::move(add));
  if (!entry.has_value()) co_return entry.status();

  std::string out;
  JsonWriter(&out)
      .BeginObject()
      .Field("success", true)
      .Key("agent")
      .BeginObject()
      .Field("id", entry->id)
      .Field("callsign", entry->callsign)
      .Field("agentType", entry->agent_type)
      .Field("status", RosterStatusName(entry->status))
      .EndObject()
      .EndObject();
  co_return JsonResponse(201, std::move(out));
}

// --- GET /channels/:channelId/agents/archived

asio::awaitable<Result<Response>> ListArchived(RequestContext& ctx, const Principal& principal) {
  Result<std::vector<RosterEntry>> archived =
      ctx.app().hub().channels().ListArchivedAgents(principal, ctx.Param("channelId"));
  if (!archived.has_value()) co_return archived.status();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("agents").BeginArray();
  for (const RosterEntry& e : *archived) WriteRosterEntryJson(w, e);
  w.EndArray().EndObject();
  co_return JsonResponse(200, std::move(body));
}

// --- Lifecycle actions on one agent

Response LifecycleResponse(RosterAction action, std::string_view callsign, RosterStatus status) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Field("success", true).Field("callsign", callsign);
  if (action != RosterAction::kDismiss) w.Field("status", RosterStatusName(status));
  w.EndObject();
  return JsonResponse(200, std::move(out));
}

asio::awaitable<Result<Response>> RunLifecycle(RequestContext& ctx, const Principal& principal,
                                               RosterAction action) {
  App& app = ctx.app();
  const std::string& callsign = ctx.Param("callsign");
  // kNotFound "Agent not found in roster" (also for a channel the caller cannot see),
  // kInvalidArgument (Cast's refusal text), kUnavailable (activate could not start the agent)
  // or kInternal.
  auto apply = [&agents = app.hub().agents(), &principal, &channel_id = ctx.Param("channelId"),
                &callsign, action] {
    return agents.ApplyRosterAction(principal, channel_id, callsign, action);
  };
  Result<RosterEntry> updated = co_await app.Offload(std::move(apply));
  if (!updated.has_value()) {
    if (updated.status().code() == ErrorCode::kUnavailable) {
      co_return ServerError("Failed to spawn container", updated.status(),
                            CastError(500, "Failed to spawn container"));
    }
    co_return updated.status();
  }
  // Cast's literal statuses: "paused" for pause, "active" for the others (activate answers
  // "active" whatever status it kept).
  co_return LifecycleResponse(
      action, callsign,
      action == RosterAction::kPause ? RosterStatus::kPaused : RosterStatus::kActive);
}

asio::awaitable<Result<Response>> Pause(RequestContext& ctx, const Principal& p) {
  return RunLifecycle(ctx, p, RosterAction::kPause);
}
asio::awaitable<Result<Response>> Resume(RequestContext& ctx, const Principal& p) {
  return RunLifecycle(ctx, p, RosterAction::kResume);
}
asio::awaitable<Result<Response>> Activate(RequestContext& ctx, const Principal& p) {
  return RunLifecycle(ctx, p, RosterAction::kActivate);
}
asio::awaitable<Result<Response>> Dismiss(RequestContext& ctx, const Principal& p) {
  return RunLifecycle(ctx, p, RosterAction::kDismiss);
}
asio::awaitable<Result<Response>> Unarchive(RequestContext& ctx, const Principal& p) {
  return RunLifecycle(ctx, p, RosterAction::kUnarchive);
}

}  // namespace

void RegisterAgentRoutes(Router& router) {
  // 429: a space's agent caps (Cast's error shape).
  router.Post("/channels/:channelId/agents",
              {.summary = "Summons an agent: roster entry, system message, activation",
               .tag = "agents", .auth = kAuthUser, .body = BodyKind::kJson,
               .request = "AgentAdd", .status = 201, .response = "AgentAdded", .statuses = {409}},
              WithSession("Failed to add agent", AddAgent));
  router.Get("/channels/:channelId/agents/archived",
             {.summary = "The channel's dismissed agents", .tag = "agents", .auth = kAuthUser,
              .response = "ArchivedAgents"},
             WithSession("Failed to list archived agents", ListArchived));
  constexpr auto kAction = [](std::string_view summary) {
    return RouteDoc{.summary = summary, .tag = "agents", .auth = kAuthUser,
                    .response = "AgentAction"};
  };
  router.Post("/channels/:channelId/agents/:callsign/pause", kAction("Pauses an agent"),
              WithSession("Failed to pause agent", Pause));
  router.Post("/channels/:channelId/agents/:callsign/resume", kAction("Resumes a paused agent"),
              WithSession("Failed to resume agent", Resume));
  router.Post("/channels/:channelId/agents/:callsign/activate",
              kAction("Activates an agent (starts its container)"),
              WithSession("Failed to activate agent", Activate));
  router.Delete("/channels/:channelId/agents/:callsign", kAction("Dismisses an agent"),
                WithSession("Failed to dismiss agent", Dismiss));
  router.Post("/channels/:channelId/agents/:callsign/unarchive",
              kAction("Brings a dismissed agent back"),
              WithSession("Failed to unarchive agent", Unarchive));
}

}  // namespace agentcore::server
