// SPDX-License-Identifier: Apache-2.0
#pragma once

// RAII use of a prepared sqlite3_stmt plus typed Bind/Column helpers. Statements come from a
// Connection's cache (connection.hpp): a Statement borrows one for the duration of a use and
// resets it (and clears its bindings) when it goes out of scope, so the next user starts clean.
// Every value reaches SQLite through a bound parameter; SQL text is never built from data.
// Thread-compatible, like the connection it comes from.

#include <sqlite3.h>

#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace agentcore::internal::sqlite {

class Connection;

class Statement {
 public:
  // `in_use` is the cache entry's flag for a borrowed `stmt`, cleared on destruction; nullptr
  // means `stmt` is an uncached copy owned (and finalized) here.
  Statement(Connection* conn, sqlite3_stmt* stmt, bool* in_use)
      : conn_(conn), stmt_(stmt), in_use_(in_use) {}
  Statement(Statement&& other) noexcept
      : conn_(other.conn_), stmt_(other.stmt_), in_use_(other.in_use_), bind_rc_(other.bind_rc_) {
    other.stmt_ = nullptr;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (stmt_ == nullptr) return;
    if (in_use_ == nullptr) {
      sqlite3_finalize(stmt_);
      return;
    }
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  }

  // Parameters are 1-based, as in the ?1 ?2 placeholders of the SQL text. Values are copied
  // (SQLITE_TRANSIENT), so temporaries are fine. A binding error surfaces at Step().
  void Bind(int i, std::string_view v) {
    Note(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void Bind(int i, const std::string& v) { Bind(i, std::string_view(v)); }
  // Without the copy, for large values on hot paths. REQUIRES: `v` outlives this Statement.
  void BindStatic(int i, std::string_view v) {
    Note(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  void Bind(int i, const char* v) { Bind(i, std::string_view(v)); }
  template <typename I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
  void Bind(int i, I v) {
    Note(sqlite3_bind_int64(stmt_, i, static_cast<sqlite3_int64>(v)));
  }
  void Bind(int i, double v) { Note(sqlite3_bind_double(stmt_, i, v)); }
  void BindNull(int i) { Note(sqlite3_bind_null(stmt_, i)); }
  void Bind(int i, std::nullptr_t) { BindNull(i); }
  void Bind(int i, const std::optional<std::string>& v) {
    if (v) {
      Bind(i, *v);
    } else {
      BindNull(i);
    }
  }
  void Bind(int i, const std::optional<std::int64_t>& v) {
    if (v) {
      Bind(i, *v);
    } else {
      BindNull(i);
    }
  }

  // Advances: true when a row is ready, false when the statement is done.
  Result<bool> Step();
  // Steps to completion, ignoring rows (INSERT, UPDATE, DELETE).
  Status Run();

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  // Valid until the next Step() or the end of this Statement.
  std::string_view Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr
               ? std::string_view()
               : std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::string String(int col) const { return std::string(Text(col)); }
  std::optional<std::string> OptString(int col) const {
    if (IsNull(col)) return std::nullopt;
    return String(col);
  }
  std::optional<std::int64_t> OptInt(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Int(col);
  }

 private:
  void Note(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  Connection* conn_;
  sqlite3_stmt* stmt_;
  bool* in_use_;  // the cache entry's flag; nullptr: an uncached statement owned here
  int bind_rc_ = SQLITE_OK;
};

}  // namespace agentcore::internal::sqlite
