// SPDX-License-Identifier: Apache-2.0
#pragma once

// Reading a store URL (OpenStore's grammar, store/store.hpp) without opening anything, for
// OpenStore itself and for OpenHub, which locks a SQLite file before opening it.

#include <string_view>

#include <agentcore/result.hpp>
#include <agentcore/store/store.hpp>

namespace agentcore::internal {

/// "postgres://…" or "postgresql://…".
bool IsPostgresStoreUrl(std::string_view url);

/// The SQLite options a non-PostgreSQL URL names: its path (":memory:" for
/// "sqlite::memory:") and synchronous mode. kInvalidArgument: empty, an unknown scheme or
/// parameter, no file.
Result<SqliteStoreOptions> SqliteStoreOptionsFromUrl(std::string_view url);

}  // namespace agentcore::internal
