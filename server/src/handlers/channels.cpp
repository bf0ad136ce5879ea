// SPDX-License-Identifier: Apache-2.0
// spec cast §4.4: channels of the caller's space (the rules: hub/channels.hpp).
#include <string>
#include <utility>
#include <vector>

#include <agentcore/hub/channels.hpp>
#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

Response ChannelResponse(int http_status, const Channel* channel) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("channel");
  if (channel != nullptr) {
    WriteChannelJson(w, *channel);
  } else {
    w.Null();
  }
  w.EndObject();
  return JsonResponse(http_status, std::move(body));
}

asio::awaitable<Result<Response>> ListChannels(RequestContext& ctx, const Principal& principal) {
  Result<std::vector<Channel>> channels = ctx.app().hub().channels().List(principal);
  if (!channels.has_value()) co_return channels.status();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("channels").BeginArray();
  for (const Channel& c : *channels) WriteChannelJson(w, c);
  w.EndArray().EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Result<Response>> CreateChannel(RequestContext& ctx, const Principal& principal) {
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return body.status();
  // Named lambdas, never temporaries inside co_await: GCC 12 miscompiles a capturing lambda
  // temporary passed to a coroutine there (handler_support.hpp).
  auto create = [&channels = ctx.app().hub().channels(), &principal, &body] {
    return channels.Create(principal, *body);
  };
  Result<Channel> created = co_await ctx.app().Offload(std::move(create));
  if (!created.has_value()) co_return created.status();
  co_return ChannelResponse(201, &*created);
}

asio::awaitable<Result<Response>> GetChannel(RequestContext& ctx, const Principal& principal) {
  Result<ChannelWithRoster> loaded =
      ctx.app().hub().channels().GetWithVisibleRoster(principal, ctx.Param("channelId"));
  if (!loaded.has_value()) co_return loaded.status();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("channel");
  WriteChannelJson(w, loaded->channel);
  w.Key("roster").BeginArray();
  for (const RosterEntry& e : loaded->roster) WriteRosterEntryJson(w, e, RosterView::kInChannel);
  w.EndArray().EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Result<Response>> UpdateChannel(RequestContext& ctx, const Principal& principal) {
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return body.status();
  auto update = [&channels = ctx.app().hub().channels(), &principal, &body,
                 &channel_id = ctx.Param("channelId")] {
    return channels.Update(principal, channel_id, *body);
  };
  Result<Channel> updated = co_await ctx.app().Offload(std::move(update));
  if (!updated.has_value()) {
    // Cast answers an unknown id with 200 {"channel":null}; a channel of another space is
    // unknown here (§8 #16).
    if (updated.status().code() == ErrorCode::kNotFound) co_return ChannelResponse(200, nullptr);
    co_return updated.status();
  }
  co_return ChannelResponse(200, &*updated);
}

}  // namespace

void RegisterChannelRoutes(Router& router) {
  router.Get("/channels",
             {.summary = "The space's channels, most recently active first", .tag = "channels",
              .auth = kAuthUser, .response = "ChannelList"},
             WithSession("Failed to list channels", ListChannels));
  router.Post("/channels",
              {.summary = "Creates a channel", .tag = "channels", .auth = kAuthUser,
               .body = BodyKind::kJson, .request = "ChannelCreate", .status = 201,
               .response = "ChannelEnvelope", .statuses = {409}},
              WithSession("Failed to create channel", CreateChannel));
  router.Get("/channels/:channelId",
             {.summary = "A channel and its roster", .tag = "channels", .auth = kAuthUser,
              .response = "ChannelWithRoster"},
             WithSession("Failed to get channel", GetChannel));
  router.Put("/channels/:channelId",
             {.summary = "Updates a channel ({\"channel\":null} for an unknown id, as Cast)",
              .tag = "channels", .auth = kAuthUser, .body = BodyKind::kJson,
              .request = "ChannelUpdate", .response = "ChannelEnvelope", .statuses = {409}},
             WithSession("Failed to update channel", UpdateChannel));
}

}  // namespace agentcore::server
