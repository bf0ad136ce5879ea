// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/checkpointer.hpp"

#include <pthread.h>

namespace agentcore::internal::sqlite {

Result<std::unique_ptr<Checkpointer>> Checkpointer::Start(const std::string& path,
                                                          const ConnectionOptions& options) {
  AGENTCORE_ASSIGN_OR_RETURN(auto conn, Connection::Open(path, options));
  return std::unique_ptr<Checkpointer>(new Checkpointer(std::move(conn)));
}

Checkpointer::Checkpointer(std::unique_ptr<Connection> conn)
    : conn_(std::move(conn)), thread_([this] {
        pthread_setname_np(pthread_self(), "agentcore-sqlck");
        Run();
      }) {}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Checkpointer::Attach(Connection& writer) { sqlite3_wal_hook(writer.db(), &OnCommit, this); }

void Checkpointer::Detach(Connection& writer) { sqlite3_wal_hook(writer.db(), nullptr, nullptr); }

// Called by SQLite on the writer thread after each commit, with the WAL's size in pages.
int Checkpointer::OnCommit(void* self, sqlite3* /*db*/, const char* /*schema*/, int pages) {
  if (pages < kPages) return SQLITE_OK;
  auto* c = static_cast<Checkpointer*>(self);
  {
    std::lock_guard lock(c->mu_);
    if (c->requested_) return SQLITE_OK;  // one is already pending
    c->requested_ = true;
  }
  c->cv_.notify_one();
  return SQLITE_OK;
}

void Checkpointer::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || requested_; });
    if (stop_) return;
    requested_ = false;
    lock.unlock();
    // PASSIVE copies what it can without waiting for anyone; SQLITE_BUSY (another process
    // checkpointing) just means try again after a later commit. Frames still needed by a
    // reader stay in the WAL until a later checkpoint.
    (void)sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                    nullptr);
    lock.lock();
  }
}

}  // namespace agentcore::internal::sqlite
