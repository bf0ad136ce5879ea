// SPDX-License-Identifier: Apache-2.0
#pragma once

// A fixed set of connections that reads lease one at a time. In WAL mode each reader sees the
// last commit as of its first statement and never blocks the writer, and the writer never
// blocks it. Thread-safe: Acquire() waits while every connection is leased.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "store/sqlite/connection.hpp"

namespace agentcore::internal::sqlite {

class ReaderPool {
 public:
  class Lease {
   public:
    Lease(ReaderPool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(o.conn_) { o.conn_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_ != nullptr) pool_->Release(conn_);
    }
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_; }

   private:
    ReaderPool* pool_;
    Connection* conn_;
  };

  // REQUIRES: !connections.empty().
  explicit ReaderPool(std::vector<std::unique_ptr<Connection>> connections);

  Lease Acquire();

 private:
  void Release(Connection* conn);

  // Constant after construction.
  std::vector<std::unique_ptr<Connection>> all_;
  // Guarded by mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Connection*> idle_;
};

}  // namespace agentcore::internal::sqlite
