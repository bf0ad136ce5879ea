// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small helpers over Connection/Statement for the common shapes: bind every argument in
// order (?1, ?2, ...), then read one row, every row, a yes/no, or the number of rows changed.

#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <string_view>
#include <utility>
#include <vector>

#include "store/sqlite/connection.hpp"

namespace agentcore::internal::sqlite {

template <typename... Args>
void BindAll(Statement& st, const Args&... args) {
  int i = 0;
  (st.Bind(++i, args), ...);
}

// The first row through `decode` (returning T or Result<T>), or `missing()` without a row.
template <typename T, typename Decode, typename Missing, typename... Args>
Result<T> QueryOne(Connection& conn, std::string_view sql, Decode decode, Missing missing,
                   const Args&... args) {
  AGENTCORE_ASSIGN_OR_RETURN(Statement st, conn.Prepare(sql));
  BindAll(st, args...);
  AGENTCORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return missing();
  return Result<T>(decode(st));
}

// Every row through `decode`.
template <typename T, typename Decode, typename... Args>
Result<std::vector<T>> QueryAll(Connection& conn, std::string_view sql, Decode decode,
                                const Args&... args) {
  AGENTCORE_ASSIGN_OR_RETURN(Statement st, conn.Prepare(sql));
  BindAll(st, args...);
  std::vector<T> out;
  for (;;) {
    AGENTCORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    Result<T> item(decode(st));
    if (!item) return item.status();
    out.push_back(std::move(item).value());
  }
}

// Whether the query returns a row.
template <typename... Args>
Result<bool> Exists(Connection& conn, std::string_view sql, const Args&... args) {
  AGENTCORE_ASSIGN_OR_RETURN(Statement st, conn.Prepare(sql));
  BindAll(st, args...);
  return st.Step();
}

// Runs an INSERT/UPDATE/DELETE; returns how many rows it changed.
template <typename... Args>
Result<int> Execute(Connection& conn, std::string_view sql, const Args&... args) {
  AGENTCORE_ASSIGN_OR_RETURN(Statement st, conn.Prepare(sql));
  BindAll(st, args...);
  AGENTCORE_RETURN_IF_ERROR(st.Run());
  return sqlite3_changes(conn.db());
}

}  // namespace agentcore::internal::sqlite
