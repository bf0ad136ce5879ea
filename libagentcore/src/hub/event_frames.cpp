// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/event_frames.hpp>

#include <utility>

#include <agentcore/clock.hpp>
#include <agentcore/tymbal/frame.hpp>
#include <agentcore/tymbal/writer.hpp>

namespace agentcore {

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
  // metadata.attachmentSlugs, when it is a non-empty array.
  const Json* slugs = m.metadata.Find("attachmentSlugs");
  if (slugs != nullptr && slugs->is_array() && !slugs->as_array().empty()) {
    v.Set("attachmentSlugs", *slugs);
  }
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

std::string AgentJoinedFrameLine(std::string id, std::string t, const RosterEntry& entry) {
  Json agent = Json::Object();
  agent.Set("callsign", entry.callsign);
  agent.Set("agentType", entry.agent_type);
  agent.Set("status", RosterStatusName(entry.status));
  if (!entry.runtime_id.empty()) agent.Set("runtimeId", entry.runtime_id);
  Json v = Json::Object();
  v.Set("type", "roster");
  v.Set("action", "agent_joined");
  v.Set("agent", std::move(agent));
  return ChannelSetFrameLine(std::move(id), std::move(t), std::move(v), entry.channel_id);
}

}  // namespace agentcore
