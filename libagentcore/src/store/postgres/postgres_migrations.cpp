// SPDX-License-Identifier: Apache-2.0
#include "store/postgres/postgres_migrations.hpp"

#include <charconv>
#include <string>

#include <fmt/format.h>

#include "store/postgres/pg_rows.hpp"

namespace agentcore::internal {
namespace {

// pg_advisory_xact_lock key: "agcoremg" as a big-endian int64. Advisory locks are per
// database, so this only serializes migrations of one database.
constexpr const char* kLockKey = "7017229016391116135";

// One row per applied migration; the version is the highest one. A down step deletes its row.
constexpr const char* kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version integer PRIMARY KEY, name text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now())";

Result<int> CurrentVersion(PgConnection& conn) {
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r,
                             conn.Query("SELECT COALESCE(max(version), 0) FROM schema_version"));
  if (PQntuples(r.get()) != 1) return Internal("schema_version query returned no row");
  return static_cast<int>(PgRow(r.get(), 0).Int(0));
}

std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

// One step towards `target` under the lock; sets *done when the schema is there.
Status Step(PgConnection& conn, int target, bool* done) {
  const auto migrations = PostgresMigrations();
  const int latest = static_cast<int>(migrations.size());
  auto rollback = [&](Status s) {
    (void)conn.ExecScript("ROLLBACK");
    return s;
  };
  Status begun = conn.ExecScript(
      fmt::format("BEGIN; SELECT pg_advisory_xact_lock({}); {}", kLockKey, kCreateVersionTable));
  if (!begun.ok()) return rollback(begun);
  Result<int> current = CurrentVersion(conn);
  if (!current) return rollback(current.error());
  if (*current > latest) {
    return rollback(NotSupported(
        fmt::format("postgresql schema is at version {}, newer than the newest this library "
                    "knows ({}); upgrade the library",
                    *current, latest)));
  }
  if (*current == target) {
    *done = true;
    return conn.ExecScript("COMMIT");
  }
  std::string script;
  if (*current < target) {
    const Migration& m = migrations[static_cast<std::size_t>(*current)];
    script = fmt::format("{}\n;INSERT INTO schema_version (version, name) VALUES ({}, {})",
                         m.up, m.version, Quote(m.name));
  } else {
    const Migration& m = migrations[static_cast<std::size_t>(*current - 1)];
    script = fmt::format("{}\n;DELETE FROM schema_version WHERE version = {}", m.down, m.version);
  }
  Status s = conn.ExecScript(script);
  if (!s.ok()) {
    return rollback(Status(s.code(), fmt::format("postgresql migration from version {}: {}",
                                                 *current, s.message())));
  }
  return conn.ExecScript("COMMIT");
}

}  // namespace

int LatestPostgresSchemaVersion() { return static_cast<int>(PostgresMigrations().size()); }

Result<int> ReadPostgresSchemaVersion(PgConnection& conn) {
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r,
                             conn.Query("SELECT to_regclass('schema_version') IS NOT NULL"));
  if (PQntuples(r.get()) != 1 || !PgRow(r.get(), 0).Bool(0)) return 0;
  return CurrentVersion(conn);
}

Status MigratePostgres(PgConnection& conn, int target) {
  const int latest = LatestPostgresSchemaVersion();
  if (target < 0 || target > latest) {
    return InvalidArgument(
        fmt::format("unknown schema version {} (this library knows 0 to {})", target, latest));
  }
  bool done = false;
  while (!done) AGENTCORE_RETURN_IF_ERROR(Step(conn, target, &done));
  return Status::Ok();
}

}  // namespace agentcore::internal
