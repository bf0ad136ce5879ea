// SPDX-License-Identifier: Apache-2.0
#pragma once

// One sqlite3 connection with its cache of prepared statements. A connection is used by one
// thread at a time (the writer thread, or the reader that leased it), so it is opened with
// SQLITE_OPEN_NOMUTEX and nothing here locks. Thread-compatible.

#include <sqlite3.h>

#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "store/sqlite/statement.hpp"

namespace agentcore::internal::sqlite {

// The ErrorCode for an SQLite (extended) result code: constraint violations become
// kAlreadyExists (unique, primary key) or kNotFound (foreign key), a busy or unreachable
// database kUnavailable, anything else kInternal.
ErrorCode CodeFor(int rc);

struct ConnectionOptions {
  bool read_only = false;
  bool synchronous_full = false;
  int busy_timeout_ms = 5000;
};

class Connection {
 public:
  // Opens `path` (a file name, or ":memory:") and applies the pragmas every connection needs.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                  const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The cached statement for `sql` (prepared on first use). If that statement is in use
  // further up the stack, a fresh uncached one is returned instead.
  Result<Statement> Prepare(std::string_view sql);
  // Runs a script of one or more statements without caching (pragmas, migrations, BEGIN).
  Status Exec(std::string_view sql);

  // A typed status for `rc` with the connection's error message, prefixed by `what`.
  Status Error(int rc, std::string_view what) const;

  sqlite3* db() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_;
  // Keyed by SQL text; std::less<> allows lookup by string_view without a copy.
  std::map<std::string, Cached, std::less<>> cache_;
};

}  // namespace agentcore::internal::sqlite
