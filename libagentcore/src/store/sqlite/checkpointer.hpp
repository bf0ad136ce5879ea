// SPDX-License-Identifier: Apache-2.0
#pragma once

// WAL checkpoints off the commit path. SQLite's default is an automatic checkpoint run by the
// committing connection once the WAL passes 1000 pages: with group commit that stalls the one
// writer thread, and with it every caller waiting for an acknowledgement, for the time it
// takes to copy the WAL into the database and fsync it (milliseconds). Here the writer
// connection only reports its WAL size after each commit (sqlite3_wal_hook, which replaces the
// automatic checkpoint), and a thread of our own ("agentcore-sqlck") with its own connection
// runs a PASSIVE checkpoint, which never blocks the writer or the readers, while the writer
// keeps committing. Thread-safe.

#include <agentcore/result.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/connection.hpp"

namespace agentcore::internal::sqlite {

class Checkpointer {
 public:
  // WAL size, in pages, from which a checkpoint is requested. SQLite's automatic default is
  // 1000; fewer, larger checkpoints sync the database file less often and copy the pages each
  // batch rewrites (indexes, the channel row) less often (docs/storage.md, "Checkpoints").
  static constexpr int kPages = 4000;

  // Opens the checkpointer's connection to `path` and starts its thread.
  static Result<std::unique_ptr<Checkpointer>> Start(const std::string& path,
                                                     const ConnectionOptions& options);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Routes `writer`'s post-commit WAL size to this checkpointer. REQUIRES: the checkpointer
  // outlives `writer`'s use, or Detach() is called first (on the writer's thread or with the
  // writer stopped).
  void Attach(Connection& writer);
  static void Detach(Connection& writer);

 private:
  explicit Checkpointer(std::unique_ptr<Connection> conn);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages);
  void Run();

  // Constant after construction.
  std::unique_ptr<Connection> conn_;
  // Guarded by mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool stop_ = false;

  std::thread thread_;  // last: starts after everything above is ready
};

}  // namespace agentcore::internal::sqlite
