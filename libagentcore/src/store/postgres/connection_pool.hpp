// SPDX-License-Identifier: Apache-2.0
#pragma once

// A bounded pool of PgConnections. Connections open lazily, up to `size`; a caller that finds
// none free waits (up to `wait`, then kUnavailable). A connection that broke, or that the
// server closed while it sat idle, is dropped and replaced by a fresh one on the next Acquire,
// so a restarted server or a terminated backend costs at most the requests that were in flight
// on it. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <agentcore/result.hpp>

#include "store/postgres/pg_connection.hpp"

namespace agentcore::internal {

class ConnectionPool {
 public:
  /// `statements` is not owned and must outlive the pool.
  ConnectionPool(std::string conninfo, int size, std::span<const PgStatement> statements,
                 std::chrono::milliseconds wait = std::chrono::seconds(30));
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// A connection lent to one caller; returned to the pool (or dropped if broken) on
  /// destruction.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<PgConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_ != nullptr) pool_->Release(std::move(conn_));
    }
    PgConnection& operator*() { return *conn_; }
    PgConnection* operator->() { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  /// A live connection. kUnavailable: cannot connect, or none became free within `wait`.
  Result<Lease> Acquire();

  const std::string& conninfo() const { return conninfo_; }
  std::span<const PgStatement> statements() const { return statements_; }

 private:
  void Release(std::unique_ptr<PgConnection> conn);

  // Constant after construction.
  const std::string conninfo_;
  const int size_;
  const std::span<const PgStatement> statements_;
  const std::chrono::milliseconds wait_;

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;  // idle plus lent out plus being opened
};

}  // namespace agentcore::internal
