// SPDX-License-Identifier: Apache-2.0
#pragma once

// One numbered schema migration and its reverse, embedded into the library at build time by
// embed_migrations.cmake from migrations/<backend>/NNNN_<name>.{up,down}.sql.

#include <span>
#include <string_view>

namespace agentcore::internal {

struct Migration {
  int version;            // NNNN: 1, 2, ... without gaps
  std::string_view name;  // <name>
  std::string_view up;    // SQL script that moves the schema from version - 1 to version
  std::string_view down;  // SQL script that moves it back
};

// The SQLite migrations in version order (generated sqlite_migrations.cpp).
std::span<const Migration> SqliteMigrations();

}  // namespace agentcore::internal
