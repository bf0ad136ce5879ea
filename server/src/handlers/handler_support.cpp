// SPDX-License-Identifier: Apache-2.0
#include "handlers/handler_support.hpp"

#include <cmath>
#include <cstdio>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <agentcore/clock.hpp>
#include <agentcore/json_writer.hpp>

#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

asio::awaitable<Response> RunWithSession(RequestContext& ctx, std::string failure_text,
                                         SessionRoute route) {
  Result<Principal> principal = ctx.app().Authenticate(ctx.request());
  if (!principal.has_value()) co_return CastError(401, kAuthenticationRequired);
  Result<Response> result = co_await route(ctx, *principal);
  co_return RespondWith(std::move(result), failure_text);
}

}  // namespace

Handler WithSession(std::string failure_text, SessionRoute route) {
  // Not a coroutine itself: the lambda may go away while RunWithSession's frame, which owns
  // copies of its arguments, lives on.
  return [failure_text = std::move(failure_text), route](RequestContext& ctx) {
    return RunWithSession(ctx, failure_text, route);
  };
}

Response RespondWith(Result<Response> result, std::string_view failure_text) {
  if (result.has_value()) return std::move(*result);
  const Status& status = result.status();
  int http = HttpStatusFor(status.code());
  if (http >= 500) {
    LogError(failure_text, status);
    return CastError(500, failure_text);
  }
  return CastError(http, status.message());
}

Status StoreError(const Status& store_status) {
  return Status(ErrorCode::kInternal, store_status.ToString());
}

asio::awaitable<Result<Principal>> AuthenticateCaller(RequestContext& ctx) {
  App& app = ctx.app();
  const Request& request = ctx.request();
  if (request.Find("Authorization")) {
    co_return co_await app.Offload([&app, &request] { return app.Authenticate(request); });
  }
  co_return app.Authenticate(request);
}

Result<Channel> FindChannelInSpace(App& app, const Principal& principal,
                                   std::string_view channel_id, std::string_view not_found_text) {
  if (!CheckKey("channelId", channel_id).ok()) return NotFound(std::string(not_found_text));
  Result<Channel> channel = app.store().GetChannel(channel_id);
  if (!channel.has_value()) {
    if (channel.status().code() == ErrorCode::kNotFound) {
      return NotFound(std::string(not_found_text));
    }
    return StoreError(channel.status());
  }
  // spec cast §8 #16: the space comes from the credentials, and a channel of another space is
  // answered exactly like a missing one, so ids of other spaces cannot even be probed.
  if (channel->space_id != principal.space_id) return NotFound(std::string(not_found_text));
  return channel;
}

Result<RoutingRoster> LoadRoutingRoster(App& app, const Channel& channel) {
  Result<std::vector<RosterEntry>> roster = app.store().ListRoster(channel.id);
  if (!roster.has_value()) return StoreError(roster.status());
  std::vector<RoutingRosterEntry> entries;
  entries.reserve(roster->size());
  for (const RosterEntry& e : *roster) {
    entries.push_back({e.callsign, e.agent_type, e.status == "archived", e.created_at});
  }
  Result<Space> space = app.store().GetSpace(channel.space_id);
  if (!space.has_value() && space.status().code() != ErrorCode::kNotFound) {
    return StoreError(space.status());
  }
  std::optional<std::string_view> owner;
  if (space.has_value() && !space->owner_callsign.empty()) owner = space->owner_callsign;
  return BuildRoutingRoster(entries, owner);
}

bool IsTruthy(const Json* value) {
  if (value == nullptr) return false;
  switch (value->type()) {
    case JsonType::kNull: return false;
    case JsonType::kBool: return value->as_bool();
    case JsonType::kNumber: return value->as_number() != 0 && !std::isnan(value->as_number());
    case JsonType::kString: return !value->as_string().empty();
    case JsonType::kArray:
    case JsonType::kObject: return true;
  }
  return false;
}

Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view key) {
  const Json* value = object.Find(key);
  if (value == nullptr || value->is_null()) return std::optional<std::string>();
  if (!value->is_string()) return InvalidArgument(fmt::format("{} must be a string", key));
  return std::optional<std::string>(value->as_string());
}

Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view key) {
  const Json* value = object.Find(key);
  if (value == nullptr || value->is_null()) return std::optional<bool>();
  if (!value->is_bool()) return InvalidArgument(fmt::format("{} must be a boolean", key));
  return std::optional<bool>(value->as_bool());
}

Status CheckKey(std::string_view field, std::string_view value) {
  if (value.size() > kMaxKeyBytes) {
    return InvalidArgument(fmt::format("{} is too long (max {} bytes)", field, kMaxKeyBytes));
  }
  return CheckText(field, value);
}

Status CheckText(std::string_view field, std::string_view value) {
  if (value.find('\0') != std::string_view::npos) {
    return InvalidArgument(fmt::format("{} must not contain NUL characters", field));
  }
  return Status();
}

void PublishMessage(App& app, const Message& message, bool is_broadcast) {
  if (!app.HasSubscribers()) return;
  app.Publish(message.channel_id, message.id, PostedMessageFrameLine(message, is_broadcast));
}

void PublishAgentState(App& app, std::string_view channel_id, std::string_view callsign,
                       std::string_view state) {
  std::string line = AgentStateFrameLine(app.NewId(), FormatIsoTimestamp(app.clock().NowMillis()),
                                         channel_id, callsign, state);
  app.Publish(std::string(channel_id), {}, std::move(line));
}

std::string_view TrimAscii(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  std::size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  std::size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

void LogError(std::string_view what, const Status& status) {
  std::string line;
  JsonWriter(&line)
      .BeginObject()
      .Field("level", "error")
      .Field("what", what)
      .Field("status", status.ToString())
      .EndObject();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

Result<ChannelWithRoster> LoadChannelWithRoster(App& app, const Principal& principal,
                                                std::string_view channel_id) {
  Result<Channel> channel = FindChannelInSpace(app, principal, channel_id);
  if (!channel.has_value()) return channel.status();
  Result<std::vector<RosterEntry>> roster = app.store().ListRoster(channel->id);
  if (!roster.has_value()) return StoreError(roster.status());
  return ChannelWithRoster{std::move(*channel), std::move(*roster)};
}

Result<AgentFields> RequireAgentFields(const Json& body) {
  AgentFields fields{body.FindString("callsign"), body.FindString("agentType")};
  if (fields.callsign == nullptr || fields.callsign->empty() || fields.agent_type == nullptr ||
      fields.agent_type->empty()) {
    return InvalidArgument("callsign and agentType are required");
  }
  AGENTCORE_RETURN_IF_ERROR(CheckKey("callsign", *fields.callsign));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("agentType", *fields.agent_type));
  return fields;
}

}  // namespace agentcore::server
