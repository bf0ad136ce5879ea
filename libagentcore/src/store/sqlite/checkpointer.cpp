// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/checkpointer.hpp"

#include <pthread.h>

#include <cassert>

namespace agentcore::internal::sqlite {

Result<std::unique_ptr<Checkpointer>> Checkpointer::Start(const std::string& path,
                                                          const ConnectionOptions& options,
                                                          int pages) {
  assert(pages >= 1);
  AGENTCORE_ASSIGN_OR_RETURN(auto conn, Connection::Open(path, options));
  return std::unique_ptr<Checkpointer>(new Checkpointer(std::move(conn), pages));
}

Checkpointer::Checkpointer(std::unique_ptr<Connection> conn, int pages)
    : conn_(std::move(conn)),
      pages_(pages),
      thread_([this] {
        pthread_setname_np(pthread_self(), "agentcore-sqlck");
        Run();
      }) {}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  idle_cv_.notify_all();
  thread_.join();
}

void Checkpointer::Attach(Connection& writer) { sqlite3_wal_hook(writer.db(), &OnCommit, this); }

void Checkpointer::Detach(Connection& writer) { sqlite3_wal_hook(writer.db(), nullptr, nullptr); }

// Called by SQLite on the writer thread after each commit, with the WAL's size in frames.
int Checkpointer::OnCommit(void* self, sqlite3* db, const char* /*schema*/, int pages) {
  auto* c = static_cast<Checkpointer*>(self);
  if (pages < c->last_wal_pages_) {  // the WAL was rewound: the last pass was of the old one
    c->last_pass_.store(0, std::memory_order_release);
  }
  c->last_wal_pages_ = pages;
  if (pages < c->pages_) return SQLITE_OK;
  if (static_cast<std::int64_t>(pages) >=
      static_cast<std::int64_t>(c->pages_) * kWriterWaitFactor) {
    // The passes are not keeping up (see the header): wait for the one in progress, then copy
    // the rest here, so that the next transaction rewinds the WAL. SQLite calls this hook after
    // the commit released the write lock, so the background pass never waits for us.
    c->WaitIdle();
    if (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
        SQLITE_OK) {
      c->catch_ups_.fetch_add(1, std::memory_order_relaxed);
    }
    return SQLITE_OK;
  }
  // Once the pass in progress ends: copy the rest ourselves if it left little, so that the
  // next transaction rewinds the WAL, else ask for a(nother) pass. (Asking while a pass runs
  // would start the next one at once, and the writer would never find the checkpointer idle.)
  if (c->running_.load(std::memory_order_acquire)) return SQLITE_OK;
  const std::uint64_t last = c->last_pass_.load(std::memory_order_acquire);
  const auto pass_log = static_cast<int>(last >> 32);
  const auto pass_done = static_cast<int>(last & 0xffffffffu);
  if (pages >= pass_log && pages - pass_done <= kWriterCatchUpPages) {
    // PASSIVE: if a background pass started meanwhile, this returns SQLITE_BUSY at once and
    // the next commit tries again.
    if (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
        SQLITE_OK) {
      c->catch_ups_.fetch_add(1, std::memory_order_relaxed);
    }
  } else {
    c->Request();
  }
  return SQLITE_OK;
}

void Checkpointer::Request() {
  {
    std::lock_guard lock(mu_);
    if (requested_) return;  // one is already pending
    requested_ = true;
  }
  cv_.notify_one();
}

void Checkpointer::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] {
    return stop_ || (!requested_ && !running_.load(std::memory_order_acquire));
  });
}

void Checkpointer::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || requested_; });
    if (stop_) return;
    requested_ = false;
    running_.store(true, std::memory_order_release);
    lock.unlock();
    // PASSIVE copies what it can without waiting for anyone; SQLITE_BUSY (another checkpoint
    // running) just means try again after a later commit. Frames still needed by a reader stay
    // in the WAL until a later checkpoint.
    int log = 0;
    int done = 0;
    if (sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
            SQLITE_OK &&
        log >= 0 && done >= 0) {
      last_pass_.store((static_cast<std::uint64_t>(log) << 32) | static_cast<std::uint32_t>(done),
                       std::memory_order_release);
    }
    passes_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
    running_.store(false, std::memory_order_release);
    idle_cv_.notify_all();
  }
}

}  // namespace agentcore::internal::sqlite
