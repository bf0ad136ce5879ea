// SPDX-License-Identifier: Apache-2.0
#pragma once

// The reading half of the PostgreSQL change feed (docs/cluster.md "The change log"). One thread
// ("agentcore-pglisn") owns one connection that LISTENs on agentcore_wake and reads change_log
// (migration 0011) from an in-memory cursor: on every wake-up (PgNotifier, any process) and at
// least every poll interval without one. Each row becomes a StoreChange published to the
// store's ChangeFeed, which calls the subscribers; so they get every change committed by any
// process on the database, in log order.
//
// Reading without gaps. Ids are drawn before commit, so "id > cursor" alone could skip a row
// whose transaction commits late. The reader only takes rows whose transaction is older than
// every transaction still running (xid < pg_snapshot_xmin(pg_current_snapshot())), in (xid, id)
// order: such a transaction has ended, so all its rows are visible, and no later transaction
// can write a row before the cursor. Rows beyond that horizon wait (the reader retries within
// milliseconds while it sees some, then at the poll interval), so a long-open transaction
// anywhere in the PostgreSQL cluster delays the feed and never loses from it. Reads go in pages
// of kPageRows.
//
// The cursor starts at the log's head when Start() runs (every change committed after Start()
// returns is delivered; a few committed just before may be too). If the connection drops, the
// thread reconnects (backing off up to 1 s) and reads on from its cursor: a lost NOTIFY or a
// terminated backend delays, never loses. A cursor behind the log's retention
// (PostgresStore::PurgeChangeLog) would miss the purged rows; retention is minutes, a reader
// seconds behind at most, unless its process was stopped.
//
// Thread-safe; the destructor stops and joins the thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <agentcore/result.hpp>
#include <agentcore/store/records.hpp>

#include "store/change_feed.hpp"
#include "store/postgres/pg_handle.hpp"

namespace agentcore::internal {

/// A change_log row's kind column ("char") and its StoreChange. Returns false for a kind this
/// library does not know (a newer writer's): the reader skips such rows.
bool ChangeFromLogRow(char kind, std::string_view channel_id, std::string_view ref_id,
                      std::int64_t seq, std::string_view origin, std::string_view payload,
                      StoreChange* out);
/// The kind column of a cluster event's row.
char LogKindOf(ClusterEvent::Kind kind);

/// The listener connection's application_name (pg_stat_activity).
inline constexpr const char* kListenerApplicationName = "agentcore-listener";

class PgListener {
 public:
  /// Rows read per query.
  static constexpr int kPageRows = 256;

  /// Connects, LISTENs and reads the log's head before returning, then starts the thread.
  /// `feed` is not owned and must outlive the listener. kUnavailable: cannot connect.
  static Result<std::unique_ptr<PgListener>> Start(const std::string& conninfo, ChangeFeed* feed,
                                                   std::chrono::milliseconds poll_interval);
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

 private:
  PgListener(std::string conninfo, ChangeFeed* feed, std::chrono::milliseconds poll_interval,
             PgConnPtr conn);
  void Run();
  enum class ReadOutcome { kRead, kQueryFailed, kConnectionLost };
  /// Reads and publishes every readable row after the cursor; *waiting is set when rows beyond
  /// the horizon exist (their transactions still run).
  ReadOutcome ReadLog(bool* waiting);
  /// Consumes pending notifications; false when the connection failed.
  bool DrainNotifications();
  /// Sleeps up to `ms`, returning early (false) when stopping.
  bool Sleep(int ms);

  // Constant after construction.
  const std::string conninfo_;
  ChangeFeed* const feed_;
  const std::chrono::milliseconds poll_interval_;
  int wake_read_ = -1;  // a pipe: the destructor writes a byte to interrupt poll()
  int wake_write_ = -1;

  // Owned by the thread after Start().
  PgConnPtr conn_;
  std::string cursor_xid_;  // the cursor: rows after (xid, id) are unread
  std::int64_t cursor_id_ = 0;

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace agentcore::internal
