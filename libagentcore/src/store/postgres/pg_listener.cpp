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

namespace agentcore::internal {
namespace {

bool ParseNumber(std::string_view* s, std::uint64_t* out) {
  const std::size_t bar = s->find('|');
  if (bar == std::string_view::npos) return false;
  auto [end, ec] = std::from_chars(s->data(), s->data() + bar, *out);
  if (ec != std::errc() || end != s->data() + bar) return false;
  s->remove_prefix(bar + 1);
  return true;
}

// LISTEN on a fresh connection; the connection (or why not).
Result<PgConnPtr> Listen(const std::string& conninfo) {
  AGENTCORE_ASSIGN_OR_RETURN(PgConnPtr conn, PgConnection::OpenRaw(conninfo));
  PgResultPtr r(PQexec(conn.get(), fmt::format("LISTEN {}", kChangeChannel).c_str()));
  if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    return Unavailable(fmt::format("cannot LISTEN on postgresql: {}",
                                   PQerrorMessage(conn.get())));
  }
  return conn;
}

}  // namespace

bool ParseChangePayload(std::string_view payload, std::vector<StoreChange>* out) {
  while (!payload.empty()) {
    if (payload.size() < 2 || payload[1] != '|') return false;
    StoreChange c;
    switch (payload[0]) {
      case 'c': c.kind = StoreChange::Kind::kMessageCreated; break;
      case 'u': c.kind = StoreChange::Kind::kMessageUpdated; break;
      case 'd': c.kind = StoreChange::Kind::kMessageDeleted; break;
      case 'r': c.kind = StoreChange::Kind::kRosterChanged; break;
      case 'e': c.kind = StoreChange::Kind::kRunEvent; break;
      default: return false;
    }
    payload.remove_prefix(2);
    std::uint64_t seq = 0;
    std::uint64_t channel_len = 0;
    std::uint64_t id_len = 0;
    if (!ParseNumber(&payload, &seq) || !ParseNumber(&payload, &channel_len) ||
        !ParseNumber(&payload, &id_len) || channel_len > payload.size() ||
        id_len > payload.size() - channel_len) {
      return false;
    }
    c.seq = seq;
    c.channel_id = std::string(payload.substr(0, channel_len));
    c.id = std::string(payload.substr(channel_len, id_len));
    payload.remove_prefix(channel_len + id_len);
    out->push_back(std::move(c));
  }
  return true;
}

PgListener::PgListener(std::string conninfo, ChangeFeed* feed, PgConnPtr conn)
    : conninfo_(std::move(conninfo)), feed_(feed), conn_(std::move(conn)) {}

Result<std::unique_ptr<PgListener>> PgListener::Start(const std::string& conninfo,
                                                       ChangeFeed* feed) {
  AGENTCORE_ASSIGN_OR_RETURN(PgConnPtr conn, Listen(conninfo));
  std::unique_ptr<PgListener> l(new PgListener(conninfo, feed, std::move(conn)));
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

void PgListener::Run() {
  pthread_setname_np(pthread_self(), "agentcore-pglisn");
  int backoff_ms = 10;
  std::vector<StoreChange> changes;
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
    pollfd fds[2] = {{PQsocket(conn_.get()), POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if ((fds[1].revents & POLLIN) != 0) break;
    if (PQconsumeInput(conn_.get()) == 0 || PQstatus(conn_.get()) != CONNECTION_OK) {
      conn_.reset();
      continue;
    }
    while (PGnotify* n = PQnotifies(conn_.get())) {
      // A malformed payload (not from our triggers) is skipped: the feed is a hint, and one bad
      // NOTIFY must not stop the others.
      (void)ParseChangePayload(n->extra, &changes);
      PQfreemem(n);
    }
    if (!changes.empty()) {
      feed_->Publish(std::move(changes));
      changes.clear();
    }
  }
  conn_.reset();
}

}  // namespace agentcore::internal
