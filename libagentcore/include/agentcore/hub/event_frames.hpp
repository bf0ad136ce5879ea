// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The Tymbal lines the hub publishes about what it stores and decides (Cast's broadcast
/// shapes, spec cast §2.8–§2.9): a posted or system message, an agent's state, a roster
/// change. One place for them, so that every path that emits one (posting, lifecycle,
/// checkin, sweeps) writes the same bytes. Pure functions: thread-safe.

#include <string>
#include <string_view>

#include <agentcore/export.hpp>
#include <agentcore/json.hpp>
#include <agentcore/store/records.hpp>

namespace agentcore {

/// `{"i":id,"t":t,"v":value,"c":channel_id}`: a set frame with the channel envelope (§2.9).
/// REQUIRES: value.is_object().
AGENTCORE_EXPORT std::string ChannelSetFrameLine(std::string id, std::string t, Json value,
                                                 std::string_view channel_id);

/// The value `v` broadcast for a message posted through the hub or created by it (summon and
/// dismiss status messages): `{type, sender, senderType, content, timestamp, mentions?,
/// broadcast?, attachmentSlugs?}`. `mentions` is the message's addressedAgents when not empty;
/// `broadcast: true` only when `is_broadcast`; `attachmentSlugs` from metadata when not empty.
AGENTCORE_EXPORT Json PostedMessageValue(const Message& message, bool is_broadcast = false);

/// The set frame line of a stored message, `v` = PostedMessageValue, `t` = its timestamp.
AGENTCORE_EXPORT std::string PostedMessageFrameLine(const Message& message,
                                                    bool is_broadcast = false);

/// `{"i":id,"t":t,"v":{"type":"agent_state","sender":callsign,"state":state[,
/// timestamp_key:timestamp]},"c":channel_id}` (Cast's broadcastAgentState). `timestamp_key`
/// is "lastHeartbeat" with state "online" and "lastMessageRoutedAt" with "pending"; leave
/// both empty otherwise.
AGENTCORE_EXPORT std::string AgentStateFrameLine(std::string id, std::string t,
                                                 std::string_view channel_id,
                                                 std::string_view callsign,
                                                 std::string_view state,
                                                 std::string_view timestamp_key = {},
                                                 std::string_view timestamp = {});

/// `{"i","t","v":{"type":"roster","action":"agent_joined","agent":{callsign, agentType,
/// status, runtimeId?}},"c"}`: tells clients to add the agent to their roster.
AGENTCORE_EXPORT std::string AgentJoinedFrameLine(std::string id, std::string t,
                                                  const RosterEntry& entry);

}  // namespace agentcore
