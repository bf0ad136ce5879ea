// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Cast's JSON shapes for stored records (spec cast §4.2–4.7) and for the Tymbal frames the
/// server broadcasts about them (§2.8), in one place so that REST responses and broadcasts agree byte
/// for byte (the WebSocket history replay has its own shape: ws/sync_frames.hpp). Times are written as JavaScript's
/// toISOString() prints them; optional members Cast leaves `undefined` are omitted.
///
/// Everything here is a pure function of its arguments: thread-safe.

#include <string>
#include <string_view>

#include <agentcore/hub/event_frames.hpp>
#include <agentcore/json.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/result.hpp>
#include <agentcore/store/records.hpp>

#include "http/message.hpp"

namespace agentcore::server {

// --- Request bodies

/// The request body parsed as a JSON object. kInvalidArgument with Cast's text "Invalid JSON
/// body" for malformed JSON, and also for a JSON value that is not an object (Cast reads
/// members of whatever JSON.parse returned and fails in assorted ways; agentcore rejects it).
Result<Json> ParseJsonBody(const Request& request);

// --- Records as Cast's REST API writes them

/// `{id, spaceId, name, tagline?, mission?, archived, createdAt, updatedAt, lastActiveAt}`.
void WriteChannelJson(JsonWriter& w, const Channel& channel);

enum class RosterView {
  /// GET /channels/:id: `{id, channelId, callsign, agentType, status, createdAt,
  /// callbackUrl?, readmark?}`.
  kInChannel,
  /// The roster and agent routes: kInChannel plus `lastHeartbeat?, routeHints?, current?,
  /// lastMessageRoutedAt?, runtimeId?, props?`.
  kFull,
};
void WriteRosterEntryJson(JsonWriter& w, const RosterEntry& entry,
                          RosterView view = RosterView::kFull);

/// `{id, channelId, sender, senderType, type, content, timestamp, isComplete,
/// addressedAgents?, metadata?}` (§4.7): content is a string for text, an object for
/// structured types.
void WriteMessageJson(JsonWriter& w, const Message& message);
/// WriteMessageJson into a new string.
std::string MessageJson(const Message& message);

enum class UserView {
  kSession,  // dev login: {id, callsign, email?, avatarUrl?}
  kMe,       // GET /auth/me: kSession + disclaimerAcceptedVersion?
  kListing,  // GET /auth/dev/spaces owner: {id, externalId, callsign, email?, avatarUrl?,
             // createdAt, updatedAt}
};
void WriteUserJson(JsonWriter& w, const User& user, UserView view);

enum class SpaceView {
  kSession,  // {id, name, ownerId}
  kListing,  // {id, ownerId, name, createdAt, updatedAt}
};
void WriteSpaceJson(JsonWriter& w, const Space& space, SpaceView view);

/// One row of GET /channels/:id/costs: `{callsign, totalCostUsd, totalTurns,
/// totalDurationMs}`.
void WriteCostTallyJson(JsonWriter& w, const CostRecord& cost);

// Broadcast frames: agentcore/hub/event_frames.hpp.

}  // namespace agentcore::server
