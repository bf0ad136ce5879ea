// SPDX-License-Identifier: Apache-2.0
#pragma once

// The wake-up half of the PostgreSQL change feed (docs/cluster.md "The change log"). After a
// commit that wrote change_log rows the store calls Poke(); a thread ("agentcore-pgntf") with a
// connection of its own then sends `NOTIFY agentcore_wake` (no payload), outside the writing
// transaction, so writers never take the database-wide lock a NOTIFY takes at commit.
//
// Coalesced: pokes that arrive while a NOTIFY is being sent, or within kMinNotifyGap of the
// last one, are answered by one NOTIFY sent after that gap; so at most one per millisecond
// whatever the write rate, and always one after the last poke (every process listens, so there
// is no "nobody cares" shortcut). A NOTIFY that cannot be sent (connection lost: reconnected
// with backoff) only delays the listeners until their next poll; the facts are in the table.
//
// Thread-safe; the destructor sends what is pending (best effort) and joins the thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "store/postgres/pg_handle.hpp"

namespace agentcore::internal {

/// The NOTIFY channel that wakes the change log's readers.
inline constexpr const char* kWakeChannel = "agentcore_wake";

class PgNotifier {
 public:
  /// Shortest time between two NOTIFYs of one notifier.
  static constexpr std::chrono::microseconds kMinNotifyGap{1000};

  /// Starts the thread; the connection opens on the first poke.
  explicit PgNotifier(std::string conninfo);
  ~PgNotifier();
  PgNotifier(const PgNotifier&) = delete;
  PgNotifier& operator=(const PgNotifier&) = delete;

  /// Asks for a NOTIFY soon. Cheap (one atomic exchange while a NOTIFY is due already: 64
  /// writers poke at once) and never blocks on the database.
  void Poke();

  /// NOTIFYs sent so far, for tests.
  std::uint64_t SentForTesting();

 private:
  void Run();
  /// One NOTIFY on conn_, connecting first if needed; false when it could not be sent.
  bool Send();

  const std::string conninfo_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> pending_{false};  // a NOTIFY is due; set by Poke, taken by the thread
  // Guarded by mu_.
  bool stop_ = false;
  std::uint64_t sent_ = 0;

  PgConnPtr conn_;  // the thread's
  std::thread thread_;
};

}  // namespace agentcore::internal
