// SPDX-License-Identifier: Apache-2.0
// spec cast §4.4: channels of the caller's space.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

// Cast's GET /channels returns at most this many.
constexpr std::size_t kMaxListedChannels = 100;

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

// tagline and mission: optional strings (absent or null: unset).
Status ReadOptionalText(const Json& body, std::string_view key, std::optional<std::string>* out) {
  Result<std::optional<std::string>> value = OptionalString(body, key);
  if (!value.has_value()) return value.status();
  if (*value) {
    if (Status s = CheckText(key, **value); !s.ok()) return s;
  }
  *out = *std::move(value);
  return Status();
}

asio::awaitable<Result<Response>> ListChannels(RequestContext& ctx, const Principal& principal) {
  Result<std::vector<Channel>> channels =
      ctx.app().store().ListChannels(principal.space_id, /*include_archived=*/false);
  if (!channels.has_value()) {
    // A principal whose space has no row yet (an API key of a fresh deployment) has no
    // channels, as in Cast.
    if (channels.status().code() != ErrorCode::kNotFound) co_return StoreError(channels.status());
    channels = std::vector<Channel>();
  }
  // Cast: most recently active first. The store lists by creation; a stable sort keeps that
  // order among equal activity times.
  std::stable_sort(channels->begin(), channels->end(), [](const Channel& a, const Channel& b) {
    return a.last_active_at > b.last_active_at;
  });
  if (channels->size() > kMaxListedChannels) channels->resize(kMaxListedChannels);
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
  const std::string* name = body->FindString("name");
  if (name == nullptr || name->empty()) co_return InvalidArgument("Channel name is required");
  if (Status s = CheckKey("name", *name); !s.ok()) co_return s;
  std::optional<std::string> tagline;
  std::optional<std::string> mission;
  if (Status s = ReadOptionalText(*body, "tagline", &tagline); !s.ok()) co_return s;
  if (Status s = ReadOptionalText(*body, "mission", &mission); !s.ok()) co_return s;

  NewChannel in;
  in.space_id = principal.space_id;
  in.name = *name;
  in.tagline = tagline.value_or("");
  in.mission = mission.value_or("");
  // Store calls are named lambdas, never temporaries inside co_await: GCC 12 miscompiles a
  // capturing lambda temporary passed to a coroutine there (handler_support.hpp).
  auto create = [&store = ctx.app().store(), in] { return store.CreateChannel(in); };
  Result<Channel> created = co_await ctx.app().Offload(std::move(create));
  if (!created.has_value()) {
    // Cast answers a duplicate name with its generic 500; agentcore says what happened.
    if (created.status().code() == ErrorCode::kAlreadyExists) {
      co_return AlreadyExists("Channel name already exists");
    }
    co_return StoreError(created.status());
  }
  co_return ChannelResponse(201, &*created);
}

asio::awaitable<Result<Response>> GetChannel(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  Result<ChannelWithRoster> loaded = LoadChannelWithRoster(app, principal, ctx.Param("channelId"));
  if (!loaded.has_value()) co_return loaded.status();
  const Channel* channel = &loaded->channel;
  const std::vector<RosterEntry>* roster = &loaded->roster;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("channel");
  WriteChannelJson(w, *channel);
  w.Key("roster").BeginArray();
  for (const RosterEntry& e : *roster) {
    if (e.status != "archived") WriteRosterEntryJson(w, e, RosterView::kInChannel);
  }
  w.EndArray().EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Result<Response>> UpdateChannel(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return body.status();
  ChannelPatch patch;
  Result<std::optional<std::string>> name = OptionalString(*body, "name");
  if (!name.has_value()) co_return name.status();
  if (*name) {
    if ((*name)->empty()) co_return InvalidArgument("Channel name is required");
    if (Status s = CheckKey("name", **name); !s.ok()) co_return s;
  }
  patch.name = *std::move(name);
  if (Status s = ReadOptionalText(*body, "tagline", &patch.tagline); !s.ok()) co_return s;
  if (Status s = ReadOptionalText(*body, "mission", &patch.mission); !s.ok()) co_return s;
  Result<std::optional<bool>> archived = OptionalBool(*body, "archived");
  if (!archived.has_value()) co_return archived.status();
  patch.archived = *archived;

  // Cast answers an unknown id with 200 {"channel":null}; a channel of another space is
  // unknown here (§8 #16).
  Result<Channel> channel = FindChannelInSpace(app, principal, ctx.Param("channelId"));
  if (!channel.has_value()) {
    if (channel.status().code() == ErrorCode::kNotFound) co_return ChannelResponse(200, nullptr);
    co_return channel.status();
  }
  auto update = [&store = app.store(), id = channel->id, patch] {
    return store.UpdateChannel(id, patch);
  };
  Result<Channel> updated = co_await app.Offload(std::move(update));
  if (!updated.has_value()) {
    if (updated.status().code() == ErrorCode::kAlreadyExists) {
      co_return AlreadyExists("Channel name already exists");
    }
    if (updated.status().code() == ErrorCode::kNotFound) co_return ChannelResponse(200, nullptr);
    co_return StoreError(updated.status());
  }
  co_return ChannelResponse(200, &*updated);
}

}  // namespace

void RegisterChannelRoutes(Router& router) {
  router.Get("/channels", WithSession("Failed to list channels", ListChannels));
  router.Post("/channels", WithSession("Failed to create channel", CreateChannel));
  router.Get("/channels/:channelId", WithSession("Failed to get channel", GetChannel));
  router.Put("/channels/:channelId", WithSession("Failed to update channel", UpdateChannel));
}

}  // namespace agentcore::server
