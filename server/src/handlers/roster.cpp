// SPDX-License-Identifier: Apache-2.0
// spec cast §4.5: raw roster CRUD, no broadcasts and no runtime side effects (the rules:
// hub/channels.hpp).
#include <string>
#include <utility>

#include <agentcore/hub/channels.hpp>
#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

asio::awaitable<Result<Response>> ListRoster(RequestContext& ctx, const Principal& principal) {
  Result<ChannelWithRoster> loaded =
      ctx.app().hub().channels().GetWithVisibleRoster(principal, ctx.Param("channelId"));
  if (!loaded.has_value()) co_return loaded.status();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("roster").BeginArray();
  for (const RosterEntry& e : loaded->roster) WriteRosterEntryJson(w, e);
  w.EndArray().EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Result<Response>> AddToRoster(RequestContext& ctx, const Principal& principal) {
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return body.status();
  auto add = [&channels = ctx.app().hub().channels(), &principal, &body,
              &channel_id = ctx.Param("channelId")] {
    return channels.AddToRoster(principal, channel_id, *body);
  };
  Result<RosterEntry> entry = co_await ctx.app().Offload(std::move(add));
  if (!entry.has_value()) co_return entry.status();
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("entry");
  WriteRosterEntryJson(w, *entry);
  w.EndObject();
  co_return JsonResponse(201, std::move(out));
}

asio::awaitable<Result<Response>> RemoveFromRoster(RequestContext& ctx,
                                                   const Principal& principal) {
  auto remove = [&channels = ctx.app().hub().channels(), &principal,
                 &channel_id = ctx.Param("channelId"), &entry_id = ctx.Param("entryId")] {
    return channels.RemoveFromRoster(principal, channel_id, entry_id);
  };
  Status removed = co_await ctx.app().Offload(std::move(remove));
  if (!removed.ok()) co_return removed;
  co_return JsonResponse(200, R"({"ok":true})");
}

}  // namespace

void RegisterRosterRoutes(Router& router) {
  router.Get("/channels/:channelId/roster",
             {.summary = "The channel's roster (non-archived entries)", .tag = "roster",
              .auth = kAuthUser, .response = "RosterList"},
             WithSession("Failed to list roster", ListRoster));
  router.Post("/channels/:channelId/roster",
              {.summary = "Adds a roster entry (no side effects)", .tag = "roster",
               .auth = kAuthUser, .body = BodyKind::kJson, .request = "RosterAdd",
               .status = 201, .response = "RosterEntryEnvelope", .statuses = {409}},
              WithSession("Failed to add to roster", AddToRoster));
  router.Delete("/channels/:channelId/roster/:entryId",
                {.summary = "Removes a roster entry (200 also when none matched)",
                 .tag = "roster", .auth = kAuthUser, .response = "Ok"},
                WithSession("Failed to remove from roster", RemoveFromRoster));
}

}  // namespace agentcore::server
