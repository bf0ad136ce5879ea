// SPDX-License-Identifier: Apache-2.0
// spec cast §4.5: raw roster CRUD, no broadcasts and no runtime side effects.
#include <string>
#include <utility>
#include <vector>

#include <agentcore/json_writer.hpp>
#include <agentcore/state/agent_state.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

asio::awaitable<Result<Response>> ListRoster(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  Result<ChannelWithRoster> loaded = LoadChannelWithRoster(app, principal, ctx.Param("channelId"));
  if (!loaded.has_value()) co_return loaded.status();
  const std::vector<RosterEntry>* roster = &loaded->roster;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("roster").BeginArray();
  for (const RosterEntry& e : *roster) {
    if (e.status != "archived") WriteRosterEntryJson(w, e);
  }
  w.EndArray().EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Result<Response>> AddToRoster(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return body.status();
  Result<AgentFields> fields = RequireAgentFields(*body);
  if (!fields.has_value()) co_return fields.status();
  const std::string* callsign = fields->callsign;
  const std::string* agent_type = fields->agent_type;
  // Cast stores any string; agentcore keeps roster statuses to the six it knows (§5.9).
  Result<std::optional<std::string>> status = OptionalString(*body, "status");
  if (!status.has_value()) co_return status.status();
  if (*status && !ParseRosterStatus(**status).has_value()) {
    co_return InvalidArgument("Invalid status: " + **status +
                              ". Must be one of active, idle, busy, offline, paused, archived");
  }
  Result<Channel> channel = FindChannelInSpace(app, principal, ctx.Param("channelId"));
  if (!channel.has_value()) co_return channel.status();
  // No runtime registry exists yet (local runtimes, spec cast §7.5): every runtimeId is
  // unknown, which is what Cast answers for an id it does not have.
  if (IsTruthy(body->Find("runtimeId"))) co_return NotFound("Runtime not found");

  NewRosterEntry in;
  in.channel_id = channel->id;
  in.callsign = *callsign;
  in.agent_type = *agent_type;
  in.status = status->value_or("active");
  auto add = [&store = app.store(), in] { return store.AddRosterEntry(in); };
  Result<RosterEntry> entry = co_await app.Offload(std::move(add));
  if (!entry.has_value()) {
    // Cast: a 500 from the unique index; agentcore: 409 with its generic text.
    if (entry.status().code() == ErrorCode::kAlreadyExists) {
      co_return AlreadyExists("Failed to add to roster");
    }
    co_return StoreError(entry.status());
  }
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("entry");
  WriteRosterEntryJson(w, *entry);
  w.EndObject();
  co_return JsonResponse(201, std::move(out));
}

asio::awaitable<Result<Response>> RemoveFromRoster(RequestContext& ctx,
                                                   const Principal& principal) {
  App& app = ctx.app();
  Result<ChannelWithRoster> loaded = LoadChannelWithRoster(app, principal, ctx.Param("channelId"));
  if (!loaded.has_value()) co_return loaded.status();
  const Channel* channel = &loaded->channel;
  const std::vector<RosterEntry>* roster = &loaded->roster;
  const std::string& entry_id = ctx.Param("entryId");
  for (const RosterEntry& e : *roster) {
    if (e.id != entry_id) continue;
    auto remove = [&store = app.store(), channel_id = channel->id, callsign = e.callsign] {
      return store.RemoveRosterEntry(channel_id, callsign);
    };
    Status removed = co_await app.Offload(std::move(remove));
    // Removed concurrently: the outcome the caller wanted.
    if (!removed.ok() && removed.code() != ErrorCode::kNotFound) co_return StoreError(removed);
    break;
  }
  // Cast answers ok also when nothing matched.
  co_return JsonResponse(200, R"({"ok":true})");
}

}  // namespace

void RegisterRosterRoutes(Router& router) {
  router.Get("/channels/:channelId/roster", WithSession("Failed to list roster", ListRoster));
  router.Post("/channels/:channelId/roster", WithSession("Failed to add to roster", AddToRoster));
  router.Delete("/channels/:channelId/roster/:entryId",
                WithSession("Failed to remove from roster", RemoveFromRoster));
}

}  // namespace agentcore::server
