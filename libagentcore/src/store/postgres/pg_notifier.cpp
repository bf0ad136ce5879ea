// SPDX-License-Identifier: Apache-2.0
#include "store/postgres/pg_notifier.hpp"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "store/postgres/pg_connection.hpp"

namespace agentcore::internal {

PgNotifier::PgNotifier(std::string conninfo) : conninfo_(std::move(conninfo)) {
  thread_ = std::thread([this] { Run(); });
}

PgNotifier::~PgNotifier() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void PgNotifier::Poke() {
  if (pending_.exchange(true)) return;  // a NOTIFY is already due: this poke rides on it
  { std::lock_guard lock(mu_); }        // the thread checks pending_ under mu_: no lost wake-up
  cv_.notify_one();
}

std::uint64_t PgNotifier::SentForTesting() {
  std::lock_guard lock(mu_);
  return sent_;
}

bool PgNotifier::Send() {
  if (conn_ == nullptr) {
    Result<PgConnPtr> conn = PgConnection::OpenRaw(conninfo_, "agentcore-notifier");
    if (!conn) return false;
    conn_ = std::move(conn).value();
  }
  static const std::string sql = fmt::format("NOTIFY {}", kWakeChannel);
  PgResultPtr r(PQexec(conn_.get(), sql.c_str()));
  if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    conn_.reset();  // reconnect on the next one
    return false;
  }
  return true;
}

void PgNotifier::Run() {
  pthread_setname_np(pthread_self(), "agentcore-pgntf");
  auto backoff = std::chrono::milliseconds(10);
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return pending_ || stop_; });
    if (!pending_.exchange(false)) return;  // stopping with nothing due
    const bool stopping = stop_;
    lock.unlock();
    const auto started = std::chrono::steady_clock::now();
    const bool sent = Send();
    if (sent) backoff = std::chrono::milliseconds(10);
    lock.lock();
    if (sent) ++sent_;
    if (stopping) return;
    if (!sent) {
      // The pokes meanwhile and this one are retried after the backoff; the listeners' poll
      // covers the gap.
      pending_.store(true);
      cv_.wait_for(lock, backoff, [&] { return stop_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      if (stop_) return;
      continue;
    }
    // Coalescing: pokes during the gap set pending_ and are answered after it, by one NOTIFY.
    cv_.wait_until(lock, started + kMinNotifyGap, [&] { return stop_; });
    if (stop_ && !pending_) return;
  }
}

}  // namespace agentcore::internal
