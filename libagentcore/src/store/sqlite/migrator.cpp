// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/migrator.hpp"

#include <fmt/format.h>

#include "store/migrations/migration.hpp"

namespace agentcore::internal::sqlite {

namespace {

constexpr std::string_view kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)";

Status NewerThanKnown(int version) {
  return NotSupported(fmt::format(
      "sqlite database schema version {} is newer than the newest this library knows ({}); "
      "open it with a newer agentcore",
      version, LatestSchemaVersion()));
}

// One step from `from` towards `to` (|from - to| == 1), in the caller's transaction.
Status Step(Connection& conn, int from, int to, const Clock& clock) {
  const auto migrations = SqliteMigrations();
  if (to > from) {
    const Migration& m = migrations[static_cast<std::size_t>(to - 1)];
    if (Status s = conn.Exec(m.up); !s.ok()) {
      return Status(s.code(),
                    fmt::format("migration {} ({}) up failed: {}", m.version, m.name, s.message()));
    }
    auto ins = conn.Prepare(
        "INSERT INTO schema_version (version, name, applied_at) "
        "VALUES (?1, ?2, ?3)");
    if (!ins) return ins.status();
    ins->Bind(1, m.version);
    ins->Bind(2, m.name);
    ins->Bind(3, clock.NowMillis());
    return ins->Run();
  }
  const Migration& m = migrations[static_cast<std::size_t>(from - 1)];
  if (Status s = conn.Exec(m.down); !s.ok()) {
    return Status(s.code(),
                  fmt::format("migration {} ({}) down failed: {}", m.version, m.name, s.message()));
  }
  auto del = conn.Prepare("DELETE FROM schema_version WHERE version = ?1");
  if (!del) return del.status();
  del->Bind(1, m.version);
  return del->Run();
}

Status Rollback(Connection& conn, Status why) {
  (void)conn.Exec("ROLLBACK");
  return why;
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(SqliteMigrations().size()); }

Result<int> ReadSchemaVersion(Connection& conn) {
  auto exists =
      conn.Prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'");
  if (!exists) return exists.status();
  AGENTCORE_ASSIGN_OR_RETURN(bool has_table, exists->Step());
  if (!has_table) return 0;
  auto max = conn.Prepare("SELECT coalesce(max(version), 0) FROM schema_version");
  if (!max) return max.status();
  AGENTCORE_ASSIGN_OR_RETURN(bool row, max->Step());
  if (!row) return Internal("schema_version query returned no row");
  return static_cast<int>(max->Int(0));
}

Status MigrateToLatest(Connection& conn, const Clock& clock) {
  return MigrateTo(conn, LatestSchemaVersion(), clock);
}

Status MigrateTo(Connection& conn, int target, const Clock& clock) {
  if (target < 0 || target > LatestSchemaVersion()) {
    return InvalidArgument(fmt::format("unknown sqlite schema version {} (known: 0 to {})", target,
                                       LatestSchemaVersion()));
  }
  for (;;) {
    AGENTCORE_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
    if (Status s = conn.Exec(kCreateVersionTable); !s.ok()) return Rollback(conn, s);
    auto version = ReadSchemaVersion(conn);
    if (!version) return Rollback(conn, version.status());
    if (*version > LatestSchemaVersion()) return Rollback(conn, NewerThanKnown(*version));
    if (*version == target) return conn.Exec("COMMIT");
    const int next = *version < target ? *version + 1 : *version - 1;
    if (Status s = Step(conn, *version, next, clock); !s.ok()) return Rollback(conn, s);
    if (Status s = conn.Exec("COMMIT"); !s.ok()) return Rollback(conn, s);
  }
}

}  // namespace agentcore::internal::sqlite
