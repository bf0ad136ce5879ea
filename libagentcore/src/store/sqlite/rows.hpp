// SPDX-License-Identifier: Apache-2.0
#pragma once

// Column lists and row decoders for every table, so that each SELECT (or RETURNING) names its
// columns in one place and the decoder reads them by the same positions.

#include <agentcore/result.hpp>
#include <agentcore/store/records.hpp>
#include <string>
#include <string_view>

#include "store/sqlite/statement.hpp"

namespace agentcore::internal::sqlite {

inline constexpr std::string_view kUserColumns =
    "id, external_id, callsign, email, avatar_url, disclaimer_accepted_version, created_at, "
    "updated_at";
inline constexpr std::string_view kSpaceColumns =
    "id, name, owner_callsign, created_at, owner_id";
inline constexpr std::string_view kChannelColumns =
    "id, space_id, name, tagline, mission, archived, created_at, updated_at, last_active_at";
inline constexpr std::string_view kRosterColumns =
    "id, channel_id, callsign, agent_type, status, created_at, callback_url, readmark, "
    "last_heartbeat, last_message_routed_at, route_hints, current, props, runtime_id, "
    "container_token_hash";
inline constexpr std::string_view kMessageColumns =
    "id, space_id, channel_id, sender, sender_type, type, content, timestamp, is_complete, "
    "addressed_agents, metadata, state, seq";
inline constexpr std::string_view kPendingColumns =
    "channel_id, callsign, message_id, enqueued_at, attempts";
inline constexpr std::string_view kRunColumns =
    "id, project_id, state, attempts, input, result, error, lease_expires_at, worker_id, "
    "created_at, updated_at, available_at, last_event_seq";
inline constexpr std::string_view kProjectColumns =
    "space_id, id, name, channel_id, settings, created_at, updated_at";
inline constexpr std::string_view kModelPriceColumns =
    "provider, model, input_usd_per_mtok, output_usd_per_mtok, active, updated_at";
inline constexpr std::string_view kWebhookColumns =
    "id, run_id, url, body, attempts, next_attempt_at, delivered_at, gave_up, last_error, "
    "created_at";
inline constexpr std::string_view kRunEventColumns = "run_id, seq, type, data, created_at";
inline constexpr std::string_view kSessionColumns =
    "id, owner_id, state, generation, image, container_id, metadata, created_at, updated_at, "
    "api_key_id, instance, spec, exit_code, reason, started_at, stopped_at, running_ms, cpu_millis, "
    "memory_mb";
inline constexpr std::string_view kTeamColumns = "id, space_id, name, spec, created_at, updated_at";
inline constexpr std::string_view kApiKeyColumns =
    "id, space_id, name, key_hash, prefix, created_at, last_used_at, revoked";
inline constexpr std::string_view kIdempotencyColumns =
    "scope, key, request_hash, status_code, response_body, created_at, expires_at";
inline constexpr std::string_view kCostColumns =
    "space_id, channel_id, callsign, cost_usd, duration_ms, num_turns, usage, model_usage, "
    "updated_at";
// blob_file last: it is not part of Artifact.
inline constexpr std::string_view kArtifactColumns =
    "id, channel_id, slug, type, title, tldr, status, content_type, size, version, props, "
    "created_at, updated_at, blob_file";

// Each reads the columns listed above from the current row. JSON columns are parsed back; a
// column that does not parse (the file was edited by hand) is kInternal.
User UserFromRow(const Statement& row);
Space SpaceFromRow(const Statement& row);
Channel ChannelFromRow(const Statement& row);
Result<RosterEntry> RosterEntryFromRow(const Statement& row);
Result<Message> MessageFromRow(const Statement& row);
PendingDelivery PendingFromRow(const Statement& row);
Result<Run> RunFromRow(const Statement& row);
Result<RunEventRecord> RunEventFromRow(const Statement& row);
Result<Project> ProjectFromRow(const Statement& row);
ModelPrice ModelPriceFromRow(const Statement& row);
WebhookDelivery WebhookFromRow(const Statement& row);
Result<Session> SessionFromRow(const Statement& row);
Result<Team> TeamFromRow(const Statement& row);
ApiKey ApiKeyFromRow(const Statement& row);
IdempotencyRecord IdempotencyFromRow(const Statement& row);
Result<Artifact> ArtifactFromRow(const Statement& row);
Result<CostRecord> CostFromRow(const Statement& row);

// "SELECT <columns> FROM <table> " + rest, built once per call site (function-local statics).
std::string SelectSql(std::string_view columns, std::string_view table, std::string_view rest);

}  // namespace agentcore::internal::sqlite
