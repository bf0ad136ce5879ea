// SPDX-License-Identifier: Apache-2.0
#include "store/postgres/pg_connection.hpp"

#include <poll.h>

#include <cerrno>
#include <utility>

#include <fmt/format.h>

namespace agentcore::internal {
namespace {

// libpq's messages end with a newline (and sometimes carry a second line of detail).
std::string Trim(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

std::string Field(const PGresult* r, int code) {
  const char* v = PQresultErrorField(r, code);
  return v != nullptr ? v : "";
}

// A FATAL or PANIC error ends the session: the server closes the connection after it.
bool EndsSession(const PGresult* r) {
  const std::string severity = Field(r, PG_DIAG_SEVERITY_NONLOCALIZED);
  return severity == "FATAL" || severity == "PANIC";
}

void IgnoreNotice(void* /*arg*/, const char* /*message*/) {
  // Notices ("relation already exists, skipping") would go to stderr by default; a library
  // must not write there.
}

}  // namespace

ErrorCode ErrorCodeForSqlState(std::string_view sqlstate) {
  if (sqlstate == "23505") return ErrorCode::kAlreadyExists;  // unique_violation
  if (sqlstate == "23503") return ErrorCode::kNotFound;       // foreign_key_violation
  if (sqlstate == "40001" || sqlstate == "40P01") return ErrorCode::kConflict;
  const std::string_view cls = sqlstate.substr(0, 2);
  // 22 data exception (bad encoding, value out of range, NOTIFY payload too long), 23 other
  // integrity violations, 54 program limit exceeded (row or index entry too big).
  if (cls == "22" || cls == "23" || cls == "54") return ErrorCode::kInvalidArgument;
  // 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown,
  // terminated backend).
  if (cls == "08" || cls == "53" || cls == "57") return ErrorCode::kUnavailable;
  return ErrorCode::kInternal;
}

PgConnection::PgConnection(PgConnPtr conn, std::span<const PgStatement> statements)
    : conn_(std::move(conn)), statements_(statements), prepared_(statements.size(), false) {}

PgConnection::~PgConnection() = default;

Result<PgConnPtr> PgConnection::OpenRaw(const std::string& conninfo,
                                        const char* application_name) {
  // Defaults first: with expand_dbname, settings in the URL given as dbname override them.
  // Keepalives make a vanished server (no RST) show up as a broken connection within about
  // 25 s instead of a read that never returns.
  const char* keywords[] = {"application_name", "connect_timeout", "keepalives_idle",
                            "keepalives_interval", "keepalives_count", "dbname",
                            "client_encoding", nullptr};
  const char* values[] = {application_name, "10", "10", "5", "3", conninfo.c_str(), "UTF8", nullptr};
  PgConnPtr conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (conn == nullptr) return Unavailable("cannot connect to postgresql: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Unavailable(fmt::format("cannot connect to postgresql: {}",
                                   Trim(PQerrorMessage(conn.get()))));
  }
  PQsetNoticeProcessor(conn.get(), IgnoreNotice, nullptr);
  return conn;
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const std::string& conninfo, std::span<const PgStatement> statements) {
  AGENTCORE_ASSIGN_OR_RETURN(PgConnPtr conn, OpenRaw(conninfo));
  if (PQsetnonblocking(conn.get(), 1) != 0 || PQenterPipelineMode(conn.get()) != 1) {
    return Unavailable(fmt::format("cannot set up postgresql connection: {}",
                                   Trim(PQerrorMessage(conn.get()))));
  }
  return std::unique_ptr<PgConnection>(new PgConnection(std::move(conn), statements));
}

bool PgConnection::CheckAlive() {
  if (broken_) return false;
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    broken_ = true;
    return false;
  }
  pollfd p{PQsocket(conn_.get()), POLLIN, 0};
  if (p.fd < 0) {
    broken_ = true;
    return false;
  }
  // Nothing should be readable on an idle connection except what precedes a close (the FATAL
  // error of a terminated backend, then EOF) and notifications on a listening one.
  if (poll(&p, 1, 0) > 0) {
    if (PQconsumeInput(conn_.get()) == 0 || PQstatus(conn_.get()) != CONNECTION_OK ||
        (p.revents & (POLLHUP | POLLERR)) != 0) {
      broken_ = true;
      return false;
    }
  }
  return true;
}

bool PgConnection::Wait(bool write) {
  pollfd p{PQsocket(conn_.get()), static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
  if (p.fd < 0) return false;
  for (;;) {
    const int n = poll(&p, 1, -1);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

bool PgConnection::Flush() {
  for (;;) {
    const int r = PQflush(conn_.get());
    if (r == 0) return true;
    if (r < 0) return false;
    // The server may be blocked writing results to us while we write to it: read meanwhile
    // (libpq's documented nonblocking loop).
    if (!Wait(true)) return false;
    if (PQconsumeInput(conn_.get()) == 0) return false;
  }
}

PgResultPtr PgConnection::NextResult(bool* failed) {
  *failed = false;
  while (PQisBusy(conn_.get()) != 0) {
    if (!Wait(false) || PQconsumeInput(conn_.get()) == 0) {
      broken_ = true;
      *failed = true;
      return nullptr;
    }
  }
  PgResultPtr r(PQgetResult(conn_.get()));
  if (r != nullptr && PQresultStatus(r.get()) == PGRES_FATAL_ERROR &&
      (PQstatus(conn_.get()) != CONNECTION_OK || EndsSession(r.get()))) {
    broken_ = true;
    *failed = true;
    return nullptr;
  }
  if (r == nullptr && PQstatus(conn_.get()) != CONNECTION_OK) {
    broken_ = true;
    *failed = true;
  }
  return r;
}

Status PgConnection::Broken(bool sent, std::string_view what) {
  broken_ = true;
  const std::string reason = Trim(PQerrorMessage(conn_.get()));
  if (!sent) {
    return Unavailable(fmt::format("postgresql connection lost before {}: {}", what, reason));
  }
  return Status(ErrorCode::kUnknownOutcome,
                fmt::format("postgresql connection lost during {}; it may or may not have been "
                            "applied: {}",
                            what, reason));
}

Status PgConnection::Run(std::span<const PgCall> calls, std::vector<PgReply>* replies) {
  replies->clear();
  if (!CheckAlive()) return Broken(false, "the request");
  replies->resize(calls.size());

  // Queue everything. libpq may already write part of it to the socket, so from the first
  // queued byte on a failure means the outcome is unknown.
  std::vector<bool> preparing(calls.size(), false);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const PgStatement& st = statements_[static_cast<std::size_t>(calls[i].statement)];
    if (!prepared_[static_cast<std::size_t>(calls[i].statement)]) {
      if (PQsendPrepare(conn_.get(), st.name, st.sql, 0, nullptr) == 0) {
        return Broken(true, "the request");
      }
      preparing[i] = true;
      // Optimistic, so that a statement used twice in one pipeline is prepared once; a failed
      // prepare clears it again below.
      prepared_[static_cast<std::size_t>(calls[i].statement)] = true;
    }
    const PgParams& p = *calls[i].params;
    if (PQsendQueryPrepared(conn_.get(), st.name, p.size(), p.values(), p.lengths(),
                            p.formats(), 0) == 0) {
      return Broken(true, "the request");
    }
  }
  if (PQpipelineSync(conn_.get()) == 0 || !Flush()) return Broken(true, "the request");

  bool failed = false;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    PgReply& reply = (*replies)[i];
    if (preparing[i]) {
      PgResultPtr pr = NextResult(&failed);
      if (failed || pr == nullptr) return Broken(true, "the request");
      if (PQresultStatus(pr.get()) != PGRES_COMMAND_OK) {
        prepared_[static_cast<std::size_t>(calls[i].statement)] = false;
        if (PQresultStatus(pr.get()) == PGRES_FATAL_ERROR) {
          reply.sqlstate = Field(pr.get(), PG_DIAG_SQLSTATE);
          reply.status = Status(ErrorCodeForSqlState(reply.sqlstate),
                                Trim(PQresultErrorMessage(pr.get())));
        }
      }
      if (NextResult(&failed) != nullptr || failed) return Broken(true, "the request");
    }
    PgResultPtr r = NextResult(&failed);
    if (failed || r == nullptr) return Broken(true, "the request");
    switch (PQresultStatus(r.get())) {
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
        reply.result = std::move(r);
        break;
      case PGRES_PIPELINE_ABORTED:
        // Its own prepare may have been what failed; else an earlier call did.
        if (reply.status.ok()) reply.skipped = true;
        break;
      case PGRES_FATAL_ERROR:
        reply.sqlstate = Field(r.get(), PG_DIAG_SQLSTATE);
        reply.constraint = Field(r.get(), PG_DIAG_CONSTRAINT_NAME);
        reply.status =
            Status(ErrorCodeForSqlState(reply.sqlstate), Trim(PQresultErrorMessage(r.get())));
        break;
      case PGRES_EMPTY_QUERY:
      case PGRES_COPY_OUT:
      case PGRES_COPY_IN:
      case PGRES_BAD_RESPONSE:
      case PGRES_NONFATAL_ERROR:
      case PGRES_COPY_BOTH:
      case PGRES_SINGLE_TUPLE:
      case PGRES_PIPELINE_SYNC:
        reply.status = Internal(fmt::format("unexpected postgresql result status {}",
                                            PQresStatus(PQresultStatus(r.get()))));
        break;
    }
    if (NextResult(&failed) != nullptr || failed) return Broken(true, "the request");
  }
  PgResultPtr sync = NextResult(&failed);
  if (failed || sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    return Broken(true, "the request");
  }
  return Status::Ok();
}

Result<PgResultPtr> PgConnection::Query(const std::string& sql) {
  if (!CheckAlive()) return Broken(false, "a query");
  if (PQexitPipelineMode(conn_.get()) != 1) return Broken(false, "a query");
  PgResultPtr r(PQexec(conn_.get(), sql.c_str()));
  const bool bad = r == nullptr || PQstatus(conn_.get()) != CONNECTION_OK ||
                   (PQresultStatus(r.get()) == PGRES_FATAL_ERROR && EndsSession(r.get()));
  if (bad) return Broken(true, "a query");
  if (PQenterPipelineMode(conn_.get()) != 1) return Broken(true, "a query");
  const ExecStatusType st = PQresultStatus(r.get());
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return r;
  const std::string sqlstate = Field(r.get(), PG_DIAG_SQLSTATE);
  return Status(ErrorCodeForSqlState(sqlstate), Trim(PQresultErrorMessage(r.get())));
}

Status PgConnection::ExecScript(const std::string& sql) {
  Result<PgResultPtr> r = Query(sql);
  return r.status();
}

}  // namespace agentcore::internal
