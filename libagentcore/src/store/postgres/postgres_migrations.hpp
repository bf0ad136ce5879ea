// SPDX-License-Identifier: Apache-2.0
#pragma once

// Schema migrations for PostgreSQL: the scripts in migrations/postgres/, embedded at build time
// (embed_migrations.cmake generates PostgresMigrations()), applied one step per transaction.
//
// Several servers may open the same database at once. Each step therefore takes a
// transaction-scoped advisory lock first, then reads the version and applies the one step that
// follows from it: whoever comes second waits for the lock, sees the new version, and moves on
// (or stops), so no script runs twice and none runs against a half-migrated schema. DDL is
// transactional in PostgreSQL, so a step that fails leaves the schema where it was.

#include <span>

#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

#include "store/migrations/migration.hpp"
#include "store/postgres/pg_connection.hpp"

namespace agentcore::internal {

/// The PostgreSQL migrations in version order (generated postgres_migrations_sql.cpp).
std::span<const Migration> PostgresMigrations();

/// The newest version this library knows.
int LatestPostgresSchemaVersion();

/// The version recorded in schema_version (0 when the table is missing or empty).
Result<int> ReadPostgresSchemaVersion(PgConnection& conn);

/// Moves the schema to `target` step by step. kNotSupported when the database is at a version
/// newer than this library knows (nothing is touched); kInvalidArgument for a target outside
/// [0, latest]; the failing step's SQL error otherwise.
Status MigratePostgres(PgConnection& conn, int target);

}  // namespace agentcore::internal
