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
      .Field("status", RosterStatusName(e.status))
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

}  // namespace agentcore::server
