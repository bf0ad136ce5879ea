// SPDX-License-Identifier: Apache-2.0
// API keys and idempotency records of the SQLite store.
#include <fmt/format.h>

#include "store/record_checks.hpp"
#include "store/sqlite/query.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace agentcore::internal::sqlite {

namespace {

Status ApiKeyNotFound(std::string_view id) {
  return NotFound(fmt::format("api key \"{}\" not found", id));
}

Status IdempotencyNotFound(std::string_view scope, std::string_view key) {
  return NotFound(fmt::format("idempotency key \"{}\" not found in scope \"{}\"", key, scope));
}

// A record is live until the end of its expires_at millisecond (the timing rule of
// state/run_state.hpp: a deadline T is still valid at T); PurgeExpiredIdempotency(now) removes
// exactly the records that are no longer live at `now`.
Result<IdempotencyRecord> LoadLiveIdempotency(Connection& c, std::string_view scope,
                                              std::string_view key, UnixMillis now) {
  static const std::string sql = SelectSql(kIdempotencyColumns, "idempotency_records",
                                           "WHERE scope = ?1 AND key = ?2 AND expires_at >= ?3");
  return QueryOne<IdempotencyRecord>(
      c, sql, IdempotencyFromRow, [&] { return IdempotencyNotFound(scope, key); }, scope, key, now);
}

}  // namespace

// --- API keys

Result<ApiKey> SqliteStore::CreateApiKey(const ApiKey& key) {
  AGENTCORE_RETURN_IF_ERROR(CheckApiKey(key));
  ApiKey k = key;
  if (k.id.empty()) k.id = ids_.Next();
  k.created_at = Now();
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        AGENTCORE_ASSIGN_OR_RETURN(bool taken,
                                   Exists(c, "SELECT 1 FROM api_keys WHERE id = ?1", k.id));
        if (taken) return AlreadyExists(fmt::format("api key \"{}\" already exists", k.id));
        AGENTCORE_ASSIGN_OR_RETURN(
            bool hash_taken, Exists(c, "SELECT 1 FROM api_keys WHERE key_hash = ?1", k.key_hash));
        // The message leaves the hash out: it is a credential's fingerprint.
        if (hash_taken) return AlreadyExists("an api key with that hash already exists");
        return Execute(c,
                       "INSERT INTO api_keys (id, space_id, name, key_hash, prefix, created_at, "
                       "last_used_at, revoked, tier, requests_per_minute, max_running_sessions, "
                       "admin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                       k.id, k.space_id, k.name, k.key_hash, k.prefix, k.created_at, k.last_used_at,
                       k.revoked, k.tier, static_cast<std::int64_t>(k.requests_per_minute),
                       static_cast<std::int64_t>(k.max_running_sessions), k.admin)
            .status();
      });
      !written.ok()) {
    return written;
  }
  return k;
}

Result<ApiKey> SqliteStore::FindApiKeyByHash(std::string_view key_hash) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("api key hash", key_hash));
  static const std::string sql =
      SelectSql(kApiKeyColumns, "api_keys", "WHERE key_hash = ?1 AND revoked = 0");
  return Read([&](Connection& c) {
    return QueryOne<ApiKey>(
        c, sql, ApiKeyFromRow, [] { return NotFound("no live api key has that hash"); }, key_hash);
  });
}

Result<std::vector<ApiKey>> SqliteStore::ListApiKeys(std::string_view space_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("api key space id", space_id));
  static const std::string sql =
      SelectSql(kApiKeyColumns, "api_keys", "WHERE space_id = ?1 ORDER BY created_at, id");
  return Read([&](Connection& c) { return QueryAll<ApiKey>(c, sql, ApiKeyFromRow, space_id); });
}

Status SqliteStore::RevokeApiKey(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("api key id", id));
  return Write([&](WriteContext& ctx) -> Status {
    AGENTCORE_ASSIGN_OR_RETURN(
        int n, Execute(ctx.conn(), "UPDATE api_keys SET revoked = 1 WHERE id = ?1", id));
    return n == 0 ? ApiKeyNotFound(id) : Status::Ok();
  });
}

Status SqliteStore::TouchApiKey(std::string_view id, UnixMillis used_at) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("api key id", id));
  return Write([&](WriteContext& ctx) -> Status {
    // Never moves backwards: concurrent requests may touch out of order.
    AGENTCORE_ASSIGN_OR_RETURN(
        int n, Execute(ctx.conn(),
                       "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?2), ?2) "
                       "WHERE id = ?1",
                       id, used_at));
    return n == 0 ? ApiKeyNotFound(id) : Status::Ok();
  });
}

// --- Idempotency

Result<IdempotencyRecord> SqliteStore::PutIdempotency(const IdempotencyRecord& record) {
  AGENTCORE_RETURN_IF_ERROR(CheckIdempotency(record, options_.max_content_bytes));
  IdempotencyRecord r = record;
  r.created_at = Now();
  IdempotencyRecord out;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        auto live = LoadLiveIdempotency(c, r.scope, r.key, r.created_at);
        if (live) {
          out = std::move(live).value();
          return Status::Ok();
        }
        if (live.status().code() != ErrorCode::kNotFound) return live.status();
        // Absent or expired: an expired record is replaced.
        AGENTCORE_RETURN_IF_ERROR(
            Execute(c,
                    "INSERT INTO idempotency_records (scope, key, request_hash, status_code, "
                    "response_body, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                    "ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, "
                    "status_code = excluded.status_code, response_body = excluded.response_body, "
                    "created_at = excluded.created_at, expires_at = excluded.expires_at",
                    r.scope, r.key, r.request_hash, r.status_code, r.response_body, r.created_at,
                    r.expires_at)
                .status());
        out = r;
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return out;
}

Result<IdempotencyRecord> SqliteStore::GetIdempotency(std::string_view scope,
                                                      std::string_view key) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("idempotency scope", scope));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("idempotency key", key));
  const UnixMillis now = Now();
  return Read([&](Connection& c) { return LoadLiveIdempotency(c, scope, key, now); });
}

Result<std::uint64_t> SqliteStore::PurgeExpiredIdempotency(UnixMillis now) {
  int removed = 0;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        AGENTCORE_ASSIGN_OR_RETURN(
            removed,
            Execute(ctx.conn(), "DELETE FROM idempotency_records WHERE expires_at < ?1", now));
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return static_cast<std::uint64_t>(removed);
}

}  // namespace agentcore::internal::sqlite
