// SPDX-License-Identifier: Apache-2.0
#include "store/postgres/connection_pool.hpp"

#include <utility>

#include <fmt/format.h>

namespace agentcore::internal {

ConnectionPool::ConnectionPool(std::string conninfo, int size,
                               std::span<const PgStatement> statements,
                               std::chrono::milliseconds wait)
    : conninfo_(std::move(conninfo)),
      size_(size < 1 ? 1 : size),
      statements_(statements),
      wait_(wait) {}

ConnectionPool::~ConnectionPool() = default;

Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + wait_;
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      // Most recently used first (warm backend, prepared statements); a dead one is dropped
      // here so the caller never sends a write into a connection already known to be gone.
      if (conn->CheckAlive()) return Lease(this, std::move(conn));
      --open_;
    }
    if (open_ < size_) break;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= size_) {
      return Unavailable(fmt::format("postgresql connection pool exhausted ({} connections busy)",
                                     size_));
    }
  }
  ++open_;
  lock.unlock();
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(conninfo_, statements_);
  if (!conn.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return conn.error();
  }
  return Lease(this, std::move(conn).value());
}

void ConnectionPool::Release(std::unique_ptr<PgConnection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn->broken()) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

}  // namespace agentcore::internal
