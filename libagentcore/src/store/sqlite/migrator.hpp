// SPDX-License-Identifier: Apache-2.0
#pragma once

// Schema migrations of the SQLite store. The schema_version table holds one row per applied
// migration; the database's version is the largest. Each step (one migration up or down) runs
// in its own IMMEDIATE transaction and re-reads the version inside it, so two processes opening
// the same file at once cannot apply a step twice.

#include <agentcore/clock.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

#include "store/sqlite/connection.hpp"

namespace agentcore::internal::sqlite {

// The newest version this library knows.
int LatestSchemaVersion();

// The database's version (0 for an empty database).
Result<int> ReadSchemaVersion(Connection& conn);

// Creates schema_version if needed, refuses a database newer than LatestSchemaVersion() with
// kNotSupported, then migrates up to the newest version.
Status MigrateToLatest(Connection& conn, const Clock& clock);

// Migrates up or down to `target`. kInvalidArgument outside [0, LatestSchemaVersion()];
// kNotSupported when the database is newer than this library.
Status MigrateTo(Connection& conn, int target, const Clock& clock);

}  // namespace agentcore::internal::sqlite
