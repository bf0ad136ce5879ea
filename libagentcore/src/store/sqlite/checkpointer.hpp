// SPDX-License-Identifier: Apache-2.0
#pragma once

// WAL checkpoints off the commit path. SQLite's default is an automatic checkpoint run by the
// committing connection once the WAL passes 1000 pages: with group commit that stalls the one
// writer thread, and with it every caller waiting for an acknowledgement, for the time it
// takes to copy the WAL into the database and fsync it (milliseconds). Here the writer
// connection only reports its WAL size after each commit (sqlite3_wal_hook, which replaces the
// automatic checkpoint), and a thread of our own ("agentcore-sqlck") with its own connection
// runs a PASSIVE checkpoint, which never blocks the writer or the readers, while the writer
// keeps committing.
//
// Rewinding the WAL. SQLite starts writing the WAL from its beginning again only when a write
// transaction begins with every frame already checkpointed. A writer that commits batch after
// batch never sees that: the background pass always ends after the next batch began, so the
// WAL grew without bound under a load that never pauses, and each commit past the threshold
// asked for another pass (and two more fsyncs). Now, once the WAL holds `pages` frames, a
// background pass copies them, and when it is done the writer copies what came meanwhile itself
// (at most kWriterCatchUpPages, on its own connection, right after a commit): its next
// transaction rewinds the WAL. The cost is one short pause of the writer per `pages` frames
// (about 3 ms here for the 4000-page default; docs/storage.md, "Checkpoints").
//
// Backpressure. On a loaded machine a background pass can take longer than the writer needs
// to add kWriterCatchUpPages frames, pass after pass, so the writer never finds little left and
// the WAL grew without bound (65 MB against a 32 MB test limit, at load 3-5). Once the WAL
// holds kWriterWaitFactor times `pages` frames, the writer waits for the pass in progress and
// then copies the rest itself: the WAL is rewound at the next transaction, and its size is
// bounded by that threshold plus one batch. Thread-safe.

#include <agentcore/result.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/connection.hpp"

namespace agentcore::internal::sqlite {

class Checkpointer {
 public:
  // Default WAL size, in pages, at which it is checkpointed and rewound. SQLite's automatic
  // default is 1000; fewer, larger checkpoints sync the database file less often and copy the
  // pages each batch rewrites (indexes, the channel row) less often (docs/storage.md,
  // "Checkpoints").
  static constexpr int kDefaultPages = 4000;
  // Frames the writer copies itself, at most, to rewind the WAL.
  static constexpr int kWriterCatchUpPages = 256;
  // WAL size, in multiples of `pages`, at which the writer waits for the checkpoints.
  static constexpr int kWriterWaitFactor = 4;

  // Opens the checkpointer's connection to `path` and starts its thread; the WAL is
  // checkpointed and rewound from `pages` frames on. REQUIRES: pages >= 1.
  static Result<std::unique_ptr<Checkpointer>> Start(const std::string& path,
                                                     const ConnectionOptions& options,
                                                     int pages = kDefaultPages);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Routes `writer`'s post-commit WAL size to this checkpointer. REQUIRES: the checkpointer
  // outlives `writer`'s use, or Detach() is called first (on the writer's thread or with the
  // writer stopped).
  void Attach(Connection& writer);
  static void Detach(Connection& writer);

  // Background passes run, and checkpoints the writer ran itself (for tests).
  std::uint64_t background_passes() const { return passes_.load(std::memory_order_relaxed); }
  std::uint64_t writer_catch_ups() const { return catch_ups_.load(std::memory_order_relaxed); }

 private:
  Checkpointer(std::unique_ptr<Connection> conn, int pages);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages);
  void Request();
  // Returns once no background pass is running or requested (or the checkpointer stops).
  void WaitIdle();
  void Run();

  // Constant after construction.
  std::unique_ptr<Connection> conn_;
  const int pages_;

  // Written by the writer thread only (the hook).
  int last_wal_pages_ = 0;

  // The last background pass: frames in the WAL when it ran (high 32 bits) and frames it left
  // checkpointed (low 32 bits); and whether a pass is running.
  std::atomic<std::uint64_t> last_pass_{0};
  std::atomic<bool> running_{false};
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<std::uint64_t> catch_ups_{0};

  // Guarded by mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;  // a pass ended
  bool requested_ = false;
  bool stop_ = false;

  std::thread thread_;  // last: starts after everything above is ready
};

}  // namespace agentcore::internal::sqlite
