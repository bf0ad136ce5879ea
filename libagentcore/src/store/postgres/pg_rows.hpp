// SPDX-License-Identifier: Apache-2.0
#pragma once

// Rows of text-format results back into records. Each k*Columns list is the SELECT list the
// matching Decode* function reads, by position; pg_statements.cpp splices the same constants
// into its SQL, so the two cannot drift apart.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <libpq-fe.h>

#include <agentcore/result.hpp>
#include <agentcore/store/records.hpp>

namespace agentcore::internal {

inline constexpr const char* kUserColumns =
    "id, external_id, callsign, email, avatar_url, disclaimer_accepted_version, created_at, "
    "updated_at";
inline constexpr const char* kSpaceColumns = "id, name, owner_callsign, created_at, owner_id";
inline constexpr const char* kChannelColumns =
    "id, space_id, name, tagline, mission, archived, created_at, updated_at, last_active_at";
inline constexpr const char* kRosterColumns =
    "id, channel_id, callsign, agent_type, status, created_at, callback_url, readmark, "
    "last_heartbeat, last_message_routed_at, route_hints, \"current\", props, runtime_id, "
    "container_token_hash";
// addressed_agents comes back as JSON so the decoder reuses the JSON parser instead of parsing
// PostgreSQL's array literal syntax.
inline constexpr const char* kMessageColumns =
    "id, space_id, channel_id, sender, sender_type, type, content, \"timestamp\", is_complete, "
    "array_to_json(addressed_agents), metadata, state, seq";
inline constexpr const char* kPendingColumnsQualified =
    "p.channel_id, p.callsign, p.message_id, p.enqueued_at, p.attempts";
inline constexpr const char* kRunColumns =
    "id, project_id, state, attempts, input, result, error, lease_expires_at, worker_id, "
    "created_at, updated_at, available_at, last_event_seq";
inline constexpr const char* kProjectColumns =
    "space_id, id, name, channel_id, settings, created_at, updated_at";
inline constexpr const char* kModelPriceColumns =
    "provider, model, input_usd_per_mtok, output_usd_per_mtok, active, updated_at";
inline constexpr const char* kWebhookColumns =
    "id, run_id, url, body, attempts, next_attempt_at, delivered_at, gave_up, last_error, "
    "created_at";
inline constexpr const char* kRunEventColumns = "run_id, seq, type, data, created_at";
inline constexpr const char* kSessionColumns =
    "id, owner_id, state, generation, image, container_id, metadata, created_at, updated_at, "
    "api_key_id, instance, spec, exit_code, reason, started_at, stopped_at, running_ms, cpu_millis, "
    "memory_mb";
inline constexpr const char* kTeamColumns = "id, space_id, name, spec, created_at, updated_at";
inline constexpr const char* kApiKeyColumns =
    "id, space_id, name, key_hash, prefix, created_at, last_used_at, revoked";
inline constexpr const char* kIdempotencyColumns =
    "scope, key, request_hash, status_code, response_body, created_at, expires_at";
inline constexpr const char* kArtifactColumns =
    "id, channel_id, slug, type, title, tldr, status, content_type, size, version, props, "
    "created_at, updated_at";

inline constexpr const char* kCostColumns =
    "space_id, channel_id, callsign, cost_usd, duration_ms, num_turns, usage, model_usage, "
    "updated_at";

/// One row of a text-format result. Not owning; valid while the PGresult lives. Immutable.
class PgRow {
 public:
  PgRow(const PGresult* result, int row) : r_(result), row_(row) {}

  bool IsNull(int col) const { return PQgetisnull(r_, row_, col) != 0; }
  std::string_view View(int col) const {
    return {PQgetvalue(r_, row_, col), static_cast<std::size_t>(PQgetlength(r_, row_, col))};
  }
  std::string Str(int col) const { return std::string(View(col)); }
  std::optional<std::string> OptStr(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Str(col);
  }
  /// The schema declares these columns bigint NOT NULL, so they always parse.
  std::int64_t Int(int col) const {
    const std::string_view v = View(col);
    std::int64_t out = 0;
    std::from_chars(v.data(), v.data() + v.size(), out);
    return out;
  }
  std::optional<std::int64_t> OptInt(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Int(col);
  }
  /// float8 in its shortest exact text form (extra_float_digits >= 1, the default since
  /// PostgreSQL 12); the store writes only finite values.
  double Double(int col) const {
    const std::string_view v = View(col);
    double out = 0;
    std::from_chars(v.data(), v.data() + v.size(), out);
    return out;
  }
  bool Bool(int col) const { return View(col) == "t"; }

 private:
  const PGresult* r_;
  int row_;
};

/// Every row of `result` through `decode`, which returns T or Result<T>.
template <typename T, typename Decode>
Result<std::vector<T>> DecodeAll(const PGresult* result, Decode decode) {
  std::vector<T> out;
  const int n = PQntuples(result);
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto item = decode(PgRow(result, i));
    if constexpr (std::is_same_v<decltype(item), T>) {
      out.push_back(std::move(item));
    } else {
      if (!item.ok()) return item.error();
      out.push_back(std::move(item).value());
    }
  }
  return out;
}

User DecodeUser(const PgRow& row);
Space DecodeSpace(const PgRow& row);
Channel DecodeChannel(const PgRow& row);
Result<RosterEntry> DecodeRoster(const PgRow& row);
Result<Message> DecodeMessage(const PgRow& row);
PendingDelivery DecodePendingDelivery(const PgRow& row);
Result<Run> DecodeRun(const PgRow& row);
Result<RunEventRecord> DecodeRunEvent(const PgRow& row);
Result<Project> DecodeProject(const PgRow& row);
ModelPrice DecodeModelPrice(const PgRow& row);
WebhookDelivery DecodeWebhook(const PgRow& row);
Result<Session> DecodeSession(const PgRow& row);
Result<Team> DecodeTeam(const PgRow& row);
ApiKey DecodeApiKey(const PgRow& row);
IdempotencyRecord DecodeIdempotency(const PgRow& row);
Result<Artifact> DecodeArtifact(const PgRow& row);
Result<CostRecord> DecodeCost(const PgRow& row);

}  // namespace agentcore::internal
