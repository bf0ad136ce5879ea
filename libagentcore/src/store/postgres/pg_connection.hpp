// SPDX-License-Identifier: Apache-2.0
#pragma once

// One libpq connection in nonblocking pipeline mode, with its prepared statements.
//
// Every exchange is a pipeline: the calls of one request are queued, a Sync ends them, and
// everything is flushed at once; then the results are read back. So a request of any size costs
// one round trip, and the calls before one Sync run in one transaction (the extended protocol's
// implicit transaction; writers that need to see the commit's own result wrap the calls in
// BEGIN/COMMIT). A statement is prepared on first use on each connection, in the same pipeline
// as its first execution, so a connection opened while the schema is missing (after
// MigrateTo(0)) works again once the schema is back.
//
// Failure model. A SQL error ends the request with the server's error (the transaction rolled
// back; nothing is applied). A lost connection ends it with kUnavailable when nothing was sent
// yet (safe to retry anywhere) and with kUnknownOutcome once any byte of it may have reached the
// server: from then on, whether it committed cannot be known from this side. The connection is
// then marked broken and must be replaced.
//
// Thread-compatible: one thread at a time (the pool hands a connection to one caller).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

#include "store/postgres/pg_handle.hpp"
#include "store/postgres/pg_params.hpp"

namespace agentcore::internal {

/// A named SQL statement, prepared once per connection on first use.
struct PgStatement {
  const char* name;
  const char* sql;
};

/// One call of a pipeline: a statement (an index into the connection's statement table) and
/// its parameters (not owned; must outlive the exchange).
struct PgCall {
  int statement;
  const PgParams* params;
};

/// A call's outcome: its result, or the server's error for it. Calls after a failed one in the
/// same pipeline are skipped by the server (`skipped`).
struct PgReply {
  PgResultPtr result;  // PGRES_TUPLES_OK or PGRES_COMMAND_OK when ok()
  Status status;       // the mapped SQL error
  std::string sqlstate;
  std::string constraint;  // the violated constraint's name, when the server names one
  bool skipped = false;

  bool ok() const { return status.ok() && !skipped; }
};

/// The ErrorCode for a SQLSTATE: 23505 kAlreadyExists, 23503 kNotFound, class 22/23 and 54
/// kInvalidArgument, classes 08/53/57 kUnavailable, 40001/40P01 kConflict, else kInternal.
ErrorCode ErrorCodeForSqlState(std::string_view sqlstate);

class PgConnection {
 public:
  /// A plain blocking connection with the library's connection defaults (keepalives, UTF8),
  /// for the change feed's listener and notifier. `application_name` tells them apart in
  /// pg_stat_activity (an operator or a test terminating the listener). kUnavailable.
  static Result<PgConnPtr> OpenRaw(const std::string& conninfo,
                                   const char* application_name = "agentcore");
  /// Connects with `conninfo` (a libpq URL or key=value string) and enters nonblocking pipeline
  /// mode. `statements` is not owned and must outlive the connection. kUnavailable.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo,
                                                       std::span<const PgStatement> statements);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  /// Runs `calls` as one pipeline ending in one Sync and fills `replies` (one per call).
  /// Returns OK when every result arrived (individual calls may still have failed: see their
  /// replies); kUnavailable when the connection was unusable before anything was sent;
  /// kUnknownOutcome when it broke afterwards.
  Status Run(std::span<const PgCall> calls, std::vector<PgReply>* replies);

  /// Runs a simple-protocol command string (DDL, several statements). Leaves and re-enters
  /// pipeline mode around it. Same statuses as Run() for the connection; a SQL error comes back
  /// as its mapped status.
  Status ExecScript(const std::string& sql);
  /// Runs one parameterless query through the simple protocol and returns its result.
  Result<PgResultPtr> Query(const std::string& sql);

  /// False once the connection broke. Also notices a connection the server closed while it was
  /// idle (a terminated backend sends its FATAL error and closes), so that the next request
  /// goes to a fresh connection instead of failing with kUnknownOutcome.
  bool CheckAlive();
  bool broken() const { return broken_; }

 private:
  PgConnection(PgConnPtr conn, std::span<const PgStatement> statements);
  /// Flushes the output buffer, reading input meanwhile so the server never blocks on us.
  bool Flush();
  /// Waits until the socket is readable (and writable, if `write`).
  bool Wait(bool write);
  /// The next result, blocking; nullptr between calls' results, or on a broken connection
  /// (then broken_ is set).
  PgResultPtr NextResult(bool* failed);
  Status Broken(bool sent, std::string_view what);

  PgConnPtr conn_;
  std::span<const PgStatement> statements_;
  std::vector<bool> prepared_;  // per statement: prepared on this connection
  bool broken_ = false;
};

}  // namespace agentcore::internal
