// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/reader_pool.hpp"

#include <cassert>

namespace agentcore::internal::sqlite {

ReaderPool::ReaderPool(std::vector<std::unique_ptr<Connection>> connections)
    : all_(std::move(connections)) {
  assert(!all_.empty());
  for (auto& c : all_) idle_.push_back(c.get());
}

ReaderPool::Lease ReaderPool::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty(); });
  Connection* conn = idle_.back();
  idle_.pop_back();
  return Lease(this, conn);
}

void ReaderPool::Release(Connection* conn) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(conn);
  }
  cv_.notify_one();
}

}  // namespace agentcore::internal::sqlite
