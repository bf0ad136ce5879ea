// SPDX-License-Identifier: Apache-2.0
#pragma once

// Input rules shared by every Store backend, so that bad input gets the same kInvalidArgument
// from SQLite and PostgreSQL before any statement runs (and so leaves stored data untouched):
//
//  * every string is valid UTF-8 without NUL bytes (PostgreSQL's text and jsonb cannot hold
//    NUL, and JsonWriter would silently replace invalid bytes);
//  * ids, names, callsigns, slugs, keys and hashes ("keys") are 1..kMaxKeyBytes bytes when
//    required, at most kMaxKeyBytes when optional;
//  * other text and every JSON value fit in the store's max_content_bytes; JSON nests at most
//    kMaxJsonDepth deep, so what is stored always parses back.

#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace agentcore::internal {

// `what` names the field in the error, e.g. "message sender".
Status CheckKey(std::string_view what, std::string_view value);          // required
Status CheckOptionalKey(std::string_view what, std::string_view value);  // may be empty
Status CheckText(std::string_view what, std::string_view value, std::size_t max_bytes);

// The JSON text of `value` after the checks above (strings and keys valid UTF-8 without NUL,
// depth, size).
Result<std::string> EncodeJson(std::string_view what, const Json& value, std::size_t max_bytes);
// As EncodeJson, but std::nullopt for a null value (a NULL column).
Result<std::optional<std::string>> EncodeNullableJson(std::string_view what, const Json& value,
                                                      std::size_t max_bytes);
// Parses a stored JSON column; kInternal if it does not parse (the database was edited).
Result<Json> DecodeJson(std::string_view what, std::string_view text);

// Whole-record checks of the non-JSON fields, in field order; the first failure is returned.
// JSON fields are checked by EncodeJson() when the backend encodes them (once, not twice).
Status CheckUser(const User& in, std::size_t max_bytes);
Status CheckInviteCode(const InviteCode& in);
Status CheckSpace(const Space& in);
Status CheckNewChannel(const NewChannel& in, std::size_t max_bytes);
Status CheckChannelPatch(const ChannelPatch& in, std::size_t max_bytes);
Status CheckNewRosterEntry(const NewRosterEntry& in, std::size_t max_bytes);
Status CheckRosterPatch(const RosterPatch& in, std::size_t max_bytes);
Status CheckNewMessage(const NewMessage& in, std::size_t max_bytes);
Status CheckMessagePatch(const MessagePatch& in, std::size_t max_bytes);
Status CheckPageRequest(const PageRequest& in);
Status CheckPendingDelivery(const PendingDelivery& in);
Status CheckNewRun(const NewRun& in, std::size_t max_bytes);
Status CheckRunUpdate(const RunUpdate& in, std::size_t max_bytes);
Status CheckSession(const Session& in, std::size_t max_bytes);
Status CheckTeam(const Team& in, std::size_t max_bytes);
Status CheckApiKey(const ApiKey& in);
Status CheckIdempotency(const IdempotencyRecord& in, std::size_t max_bytes);
Status CheckArtifact(const Artifact& in, std::size_t max_bytes);
Status CheckCostRecord(const CostRecord& in);
Status CheckRunClaim(const RunClaim& in);
// A Project::id: 1..kMaxProjectIdBytes characters of [A-Za-z0-9._-].
Status CheckProjectId(std::string_view id);
Status CheckProject(const Project& in);
Status CheckModelPrice(const ModelPrice& in);
Status CheckWebhookDelivery(const WebhookDelivery& in, std::size_t max_bytes);
Status CheckWebhookUpdate(const WebhookUpdate& in, std::size_t max_bytes);
// Store::AppendClusterEvents' input: a known kind, an origin and a channel id that are keys, a
// key that is empty or a key, a payload of at most `max_bytes`.
Status CheckClusterEvents(std::span<const ClusterEvent> events, std::size_t max_bytes);
// A lease key: 1..kMaxLeaseKeyBytes bytes of UTF-8 without NUL.
Status CheckLeaseKey(std::string_view key);
// Store::AcquireLease's input: a lease key, an owner that is a key, until > now.
Status CheckLeaseRequest(std::string_view key, std::string_view owner, UnixMillis now,
                         UnixMillis until);
// Store::RenewRunLease's kConflict for `run`, which `worker_id` could not renew: the run is
// not in planning or building, or another worker holds it.
Status RunLeaseConflict(const Run& run, std::string_view worker_id);

// The roster status a stored TEXT column names. A text that is not one of the six names (rows
// written by older tools; Cast stores any string) reads as kActive: statuses other than the six
// act like active, as Cast compares only with "paused" and "archived" (records.hpp).
RosterStatus StoredRosterStatus(std::string_view text);

}  // namespace agentcore::internal
