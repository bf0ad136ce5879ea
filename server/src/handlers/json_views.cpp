// SPDX-License-Identifier: Apache-2.0
#include "handlers/json_views.hpp"

#include <utility>

#include <agentcore/clock.hpp>
#include <agentcore/tymbal/frame.hpp>
#include <agentcore/tymbal/writer.hpp>

#include "handlers/handler_support.hpp"

namespace agentcore::server {
namespace {

// Cast leaves empty optional columns undefined, which JSON.stringify omits.
void OptionalField(JsonWriter& w, std::string_view key, std::string_view value) {
  if (!value.empty()) w.Field(key, value);
}

void FieldIfPresent(JsonWriter& w, std::string_view key,
                    const std::optional<std::string>& value) {
  if (value) w.Field(key, *value);
}

void OptionalTime(JsonWriter& w, std::string_view key, const std::optional<UnixMillis>& value) {
  if (value) w.Field(key, FormatIsoTimestamp(*value));
}

void OptionalJson(JsonWriter& w, std::string_view key, const Json& value) {
  if (!value.is_null()) w.Field(key, value);
}

// metadata.attachmentSlugs when it is a non-empty array.
const Json* AttachmentSlugs(const Message& message) {
  const Json* slugs = message.metadata.Find("attachmentSlugs");
  if (slugs == nullptr || !slugs->is_array() || slugs->as_array().empty()) return nullptr;
  return slugs;
}

}  // namespace

Result<Json> ParseJsonBody(const Request& request) {
  Result<Json> body = ParseJson(request.body);
  if (!body.has_value() || !body->is_object()) {
    return InvalidArgument(std::string(kInvalidJsonBody));
  }
  return body;
}

void WriteChannelJson(JsonWriter& w, const Channel& c) {
  w.BeginObject().Field("id", c.id).Field("spaceId", c.space_id).Field("name", c.name);
  OptionalField(w, "tagline", c.tagline);
  OptionalField(w, "mission", c.mission);
  w.Field("archived", c.archived)
      .Field("createdAt", FormatIsoTimestamp(c.created_at))
      .Field("updatedAt", FormatIsoTimestamp(c.updated_at))
      .Field("lastActiveAt", FormatIsoTimestamp(c.last_active_at))
      .EndObject();
}

void WriteRosterEntryJson(JsonWriter& w, const RosterEntry& e, RosterView view) {
  w.BeginObject()
      .Field("id", e.id)
      .Field("channelId", e.channel_id)
      .Field("callsign", e.callsign)
      .Field("agentType", e.agent_type)
      .Field("status", e.status)
      .Field("createdAt", FormatIsoTimestamp(e.created_at));
  FieldIfPresent(w, "callbackUrl", e.callback_url);
  FieldIfPresent(w, "readmark", e.readmark);
  if (view == RosterView::kFull) {
    OptionalTime(w, "lastHeartbeat", e.last_heartbeat);
    OptionalJson(w, "routeHints", e.route_hints);
    OptionalJson(w, "current", e.current);
    OptionalTime(w, "lastMessageRoutedAt", e.last_message_routed_at);
    OptionalField(w, "runtimeId", e.runtime_id);
    OptionalJson(w, "props", e.props);
  }
  w.EndObject();
}

void WriteMessageJson(JsonWriter& w, const Message& m) {
  w.BeginObject()
      .Field("id", m.id)
      .Field("channelId", m.channel_id)
      .Field("sender", m.sender)
      .Field("senderType", m.sender_type)
      .Field("type", m.type)
      .Field("content", m.content)
      .Field("timestamp", FormatIsoTimestamp(m.timestamp))
      .Field("isComplete", m.is_complete);
  if (m.addressed_agents) {
    w.Key("addressedAgents").BeginArray();
    for (const std::string& a : *m.addressed_agents) w.String(a);
    w.EndArray();
  }
  OptionalJson(w, "metadata", m.metadata);
  w.EndObject();
}

std::string MessageJson(const Message& message) {
  std::string out;
  JsonWriter w(&out);
  WriteMessageJson(w, message);
  return out;
}

void WriteUserJson(JsonWriter& w, const User& u, UserView view) {
  w.BeginObject().Field("id", u.id);
  if (view == UserView::kListing) w.Field("externalId", u.external_id);
  w.Field("callsign", u.callsign);
  OptionalField(w, "email", u.email);
  OptionalField(w, "avatarUrl", u.avatar_url);
  if (view == UserView::kMe) {
    OptionalField(w, "disclaimerAcceptedVersion", u.disclaimer_accepted_version);
  }
  if (view == UserView::kListing) {
    w.Field("createdAt", FormatIsoTimestamp(u.created_at))
        .Field("updatedAt", FormatIsoTimestamp(u.updated_at));
  }
  w.EndObject();
}

void WriteSpaceJson(JsonWriter& w, const Space& s, SpaceView view) {
  w.BeginObject();
  if (view == SpaceView::kSession) {
    w.Field("id", s.id).Field("name", s.name).Field("ownerId", s.owner_id);
  } else {
    // Spaces have no updated_at column: they are never modified.
    w.Field("id", s.id)
        .Field("ownerId", s.owner_id)
        .Field("name", s.name)
        .Field("createdAt", FormatIsoTimestamp(s.created_at))
        .Field("updatedAt", FormatIsoTimestamp(s.created_at));
  }
  w.EndObject();
}

void WriteCostTallyJson(JsonWriter& w, const CostRecord& c) {
  w.BeginObject()
      .Field("callsign", c.callsign)
      .Key("totalCostUsd")
      .Number(c.cost_usd)
      .Field("totalTurns", c.num_turns)
      .Field("totalDurationMs", c.duration_ms)
      .EndObject();
}

std::string ChannelSetFrameLine(std::string id, std::string t, Json value,
                                std::string_view channel_id) {
  TymbalFrame frame = MakeSetFrame(std::move(id), std::move(t), std::move(value));
  frame.extra.push_back({"c", Json(channel_id)});
  return SerializeFrame(frame);
}

Json PostedMessageValue(const Message& m, bool is_broadcast) {
  Json v = Json::Object();
  v.Set("type", m.type);
  v.Set("sender", m.sender);
  v.Set("senderType", m.sender_type);
  v.Set("content", m.content);
  v.Set("timestamp", FormatIsoTimestamp(m.timestamp));
  if (m.addressed_agents && !m.addressed_agents->empty()) {
    JsonArray mentions;
    for (const std::string& a : *m.addressed_agents) mentions.emplace_back(a);
    v.Set("mentions", Json(std::move(mentions)));
  }
  if (is_broadcast) v.Set("broadcast", true);
  if (const Json* slugs = AttachmentSlugs(m)) v.Set("attachmentSlugs", *slugs);
  return v;
}

std::string PostedMessageFrameLine(const Message& message, bool is_broadcast) {
  return ChannelSetFrameLine(message.id, FormatIsoTimestamp(message.timestamp),
                             PostedMessageValue(message, is_broadcast), message.channel_id);
}

std::string AgentStateFrameLine(std::string id, std::string t, std::string_view channel_id,
                                std::string_view callsign, std::string_view state,
                                std::string_view timestamp_key, std::string_view timestamp) {
  Json v = Json::Object();
  v.Set("type", "agent_state");
  v.Set("sender", callsign);
  v.Set("state", state);
  if (!timestamp_key.empty()) v.Set(timestamp_key, timestamp);
  return ChannelSetFrameLine(std::move(id), std::move(t), std::move(v), channel_id);
}

}  // namespace agentcore::server
