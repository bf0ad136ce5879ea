// SPDX-License-Identifier: Apache-2.0
#include "store/postgres/pg_listener.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_notifier.hpp"

namespace agentcore::internal {
namespace {

// The page query. The horizon (the oldest running transaction) is taken once, in the CTE; the
// first branch reads the rows before it, the second tells whether rows wait behind it (one
// row of NULLs). Positions: xid, id, kind, channel_id, ref_id, seq, origin, payload.
constexpr const char* kReadSql =
    "WITH h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x) "
    "(SELECT c.xid::text, c.id, c.kind::text, c.channel_id, c.ref_id, c.seq, c.origin, c.payload "
    " FROM change_log c, h WHERE (c.xid, c.id) > ($1::xid8, $2::bigint) AND c.xid < h.x "
    " ORDER BY c.xid, c.id LIMIT $3::bigint) "
    "UNION ALL "
    "(SELECT NULL::text, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::bigint, "
    " NULL::text, NULL::text FROM change_log c, h "
    " WHERE (c.xid, c.id) > ($1::xid8, $2::bigint) AND c.xid >= h.x LIMIT 1)";

// LISTEN on a fresh connection; the connection (or why not).
Result<PgConnPtr> Listen(const std::string& conninfo) {
  AGENTCORE_ASSIGN_OR_RETURN(PgConnPtr conn,
                             PgConnection::OpenRaw(conninfo, kListenerApplicationName));
  PgResultPtr r(PQexec(conn.get(), fmt::format("LISTEN {}", kWakeChannel).c_str()));
  if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    return Unavailable(fmt::format("cannot LISTEN on postgresql: {}",
                                   PQerrorMessage(conn.get())));
  }
  return conn;
}

// The head of the log: every transaction older than the horizon has ended, so starting at
// (horizon, 0) skips only what committed before now.
Result<std::string> ReadHead(PGconn* conn) {
  PgResultPtr r(PQexec(conn, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"));
  if (r == nullptr || PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
    return Unavailable(fmt::format("cannot read the change log's head: {}",
                                   PQerrorMessage(conn)));
  }
  return std::string(PQgetvalue(r.get(), 0, 0));
}

std::int64_t ToInt(const char* s) {
  std::int64_t v = 0;
  std::from_chars(s, s + std::char_traits<char>::length(s), v);
  return v;
}

}  // namespace

char LogKindOf(ClusterEvent::Kind kind) {
  switch (kind) {
    case ClusterEvent::Kind::kAgentWake: return 'w';
    case ClusterEvent::Kind::kNodeHello: return 'h';
    case ClusterEvent::Kind::kLines: break;
  }
  return 'l';
}

bool ChangeFromLogRow(char kind, std::string_view channel_id, std::string_view ref_id,
                      std::int64_t seq, std::string_view origin, std::string_view payload,
                      StoreChange* out) {
  StoreChange c;
  switch (kind) {
    case 'c': c.kind = StoreChange::Kind::kMessageCreated; break;
    case 'u': c.kind = StoreChange::Kind::kMessageUpdated; break;
    case 'd': c.kind = StoreChange::Kind::kMessageDeleted; break;
    case 'r': c.kind = StoreChange::Kind::kRosterChanged; break;
    case 'e': c.kind = StoreChange::Kind::kRunEvent; break;
    case 'l':
    case 'w':
    case 'h':
      c.kind = StoreChange::Kind::kCluster;
      c.cluster.kind = kind == 'w'   ? ClusterEvent::Kind::kAgentWake
                       : kind == 'h' ? ClusterEvent::Kind::kNodeHello
                                     : ClusterEvent::Kind::kLines;
      c.cluster.origin = std::string(origin);
      c.cluster.channel_id = std::string(channel_id);
      c.cluster.key = std::string(ref_id);
      c.cluster.payload = std::string(payload);
      break;
    default:
      return false;
  }
  c.channel_id = std::string(channel_id);
  c.id = std::string(ref_id);
  c.seq = seq > 0 ? static_cast<std::uint64_t>(seq) : 0;
  *out = std::move(c);
  return true;
}

PgListener::PgListener(std::string conninfo, ChangeFeed* feed,
                       std::chrono::milliseconds poll_interval, PgConnPtr conn)
    : conninfo_(std::move(conninfo)),
      feed_(feed),
      poll_interval_(poll_interval),
      conn_(std::move(conn)) {}

Result<std::unique_ptr<PgListener>> PgListener::Start(const std::string& conninfo,
                                                       ChangeFeed* feed,
                                                       std::chrono::milliseconds poll_interval) {
  AGENTCORE_ASSIGN_OR_RETURN(PgConnPtr conn, Listen(conninfo));
  AGENTCORE_ASSIGN_OR_RETURN(std::string head, ReadHead(conn.get()));
  std::unique_ptr<PgListener> l(new PgListener(conninfo, feed, poll_interval, std::move(conn)));
  l->cursor_xid_ = std::move(head);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Internal("cannot create the change feed listener's wake pipe");
  }
  l->wake_read_ = fds[0];
  l->wake_write_ = fds[1];
  l->thread_ = std::thread([p = l.get()] { p->Run(); });
  return l;
}

PgListener::~PgListener() {
  stop_ = true;
  if (wake_write_ >= 0) {
    const char byte = 1;
    (void)!write(wake_write_, &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
  if (wake_read_ >= 0) close(wake_read_);
  if (wake_write_ >= 0) close(wake_write_);
}

bool PgListener::Sleep(int ms) {
  pollfd p{wake_read_, POLLIN, 0};
  (void)poll(&p, 1, ms);
  return !stop_;
}

PgListener::ReadOutcome PgListener::ReadLog(bool* waiting) {
  *waiting = false;
  const std::string limit = std::to_string(kPageRows);
  std::vector<StoreChange> changes;
  for (;;) {
    const std::string id = std::to_string(cursor_id_);
    const char* values[] = {cursor_xid_.c_str(), id.c_str(), limit.c_str()};
    PgResultPtr r(PQexecParams(conn_.get(), kReadSql, 3, nullptr, values, nullptr, nullptr, 0));
    if (r == nullptr || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      // A query error on a live connection (no change_log: the schema was migrated down) is
      // retried at the poll interval; a lost connection is replaced.
      return PQstatus(conn_.get()) == CONNECTION_OK ? ReadOutcome::kQueryFailed
                                                     : ReadOutcome::kConnectionLost;
    }
    const int n = PQntuples(r.get());
    int read = 0;
    changes.clear();
    for (int i = 0; i < n; ++i) {
      if (PQgetisnull(r.get(), i, 0) != 0) {
        *waiting = true;  // the second branch: rows behind the horizon
        continue;
      }
      ++read;
      cursor_xid_ = PQgetvalue(r.get(), i, 0);
      cursor_id_ = ToInt(PQgetvalue(r.get(), i, 1));
      auto text = [&](int col) {
        return std::string_view(PQgetvalue(r.get(), i, col),
                                static_cast<std::size_t>(PQgetlength(r.get(), i, col)));
      };
      StoreChange c;
      // A kind this version does not know (a newer server's) is skipped, cursor advanced.
      if (ChangeFromLogRow(text(2).empty() ? '\0' : text(2)[0], text(3), text(4),
                           ToInt(PQgetvalue(r.get(), i, 5)), text(6), text(7), &c)) {
        changes.push_back(std::move(c));
      }
    }
    if (!changes.empty()) feed_->Publish(std::move(changes));
    if (read == 0 && *waiting) return ReadOutcome::kBlocked;
    if (read < kPageRows) return ReadOutcome::kRead;
  }
}

bool PgListener::DrainNotifications() {
  if (PQconsumeInput(conn_.get()) == 0 || PQstatus(conn_.get()) != CONNECTION_OK) return false;
  // The payload is empty: a wake-up says only "read the log".
  while (PGnotify* n = PQnotifies(conn_.get())) PQfreemem(n);
  return true;
}

void PgListener::Run() {
  pthread_setname_np(pthread_self(), "agentcore-pglisn");
  int backoff_ms = 10;
  // While rows wait behind the horizon, re-read soon (their transactions are about to end, and
  // the one holding the horizon may not be a logging one that would wake us), backing off to
  // the poll interval.
  const int poll_ms = static_cast<int>(poll_interval_.count());
  int retry_ms = 1;
  while (!stop_) {
    if (conn_ == nullptr) {
      Result<PgConnPtr> conn = Listen(conninfo_);
      if (!conn) {
        if (!Sleep(backoff_ms)) break;
        backoff_ms = std::min(backoff_ms * 2, 1000);
        continue;
      }
      conn_ = std::move(conn).value();
      backoff_ms = 10;
    }
    bool waiting = false;
    // Read first: after a (re)connect, wake-ups sent meanwhile are lost, the rows are not.
    const ReadOutcome read = ReadLog(&waiting);
    if (read == ReadOutcome::kConnectionLost) {
      conn_.reset();
      continue;
    }
    // Progress resets the backoff; only reads that found nothing but waiting rows stretch it.
    if (read != ReadOutcome::kBlocked) retry_ms = 1;
    int timeout = poll_ms;
    if (waiting) {
      timeout = std::min(retry_ms, poll_ms);
      retry_ms = std::min(retry_ms * 2, poll_ms);
    }
    pollfd fds[2] = {{PQsocket(conn_.get()), POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (poll(fds, 2, timeout) < 0 && errno != EINTR) break;
    if ((fds[1].revents & POLLIN) != 0) break;
    if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0 && !DrainNotifications()) {
      conn_.reset();
    }
  }
  conn_.reset();
}

}  // namespace agentcore::internal
