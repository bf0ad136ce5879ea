// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/connection.hpp"

#include <fmt/format.h>

namespace agentcore::internal::sqlite {

ErrorCode CodeFor(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return ErrorCode::kAlreadyExists;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return ErrorCode::kNotFound;
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return ErrorCode::kInvalidArgument;
    default:
      break;
  }
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOTADB:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                     const ConnectionOptions& options) {
  // NOMUTEX: a connection is only ever used by one thread at a time (see the class comment).
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |= options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot open sqlite database \"{}\": {}", path, msg));
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<Connection> conn(new Connection(db));
  // foreign_keys and busy_timeout are per connection; synchronous matters for the writer only
  // but is harmless on readers. journal_mode=WAL is persistent and set by the writer (open
  // sequence in sqlite_store.cpp).
  AGENTCORE_RETURN_IF_ERROR(conn->Exec(
      fmt::format("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; PRAGMA synchronous = {};",
                  options.busy_timeout_ms, options.synchronous_full ? "FULL" : "NORMAL")));
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close_v2(db_);
}

Result<Statement> Connection::Prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Statement(this, it->second.stmt, &it->second.in_use);
  }
  // PERSISTENT tells SQLite the statement is long-lived (cached), so it allocates accordingly.
  const unsigned prep_flags = it == cache_.end() ? SQLITE_PREPARE_PERSISTENT : 0;
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), prep_flags, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "prepare");
  if (it != cache_.end()) return Statement(this, stmt, nullptr);  // cached copy busy
  auto [slot, inserted] = cache_.emplace(std::string(sql), Cached{stmt, true});
  return Statement(this, stmt, &slot->second.in_use);
}

Status Connection::Exec(std::string_view sql) {
  std::string text(sql);  // sqlite3_exec needs a NUL-terminated script
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return Status(CodeFor(sqlite3_extended_errcode(db_)), fmt::format("sqlite: {}", msg));
}

Status Connection::Error(int rc, std::string_view what) const {
  return Status(CodeFor(rc), fmt::format("sqlite {}: {}", what, sqlite3_errmsg(db_)));
}

Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return conn_->Error(bind_rc_, "bind");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->Error(sqlite3_extended_errcode(conn_->db()), "step");
}

Status Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) return row.status();
    if (!*row) return Status::Ok();
  }
}

}  // namespace agentcore::internal::sqlite
