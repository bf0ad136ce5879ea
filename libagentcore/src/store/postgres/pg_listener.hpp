// SPDX-License-Identifier: Apache-2.0
#pragma once

// The LISTEN half of the PostgreSQL change feed. One thread ("agentcore-pglisn") owns one
// connection that LISTENs on agentcore_changes, turns every notification (sent by the triggers
// of migration 0004, on commit, by any process writing to the database) into a StoreChange and
// publishes it to the store's ChangeFeed, which calls the subscribers.
//
// If the connection drops, the thread reconnects and LISTENs again, backing off up to 1 s
// between attempts. Notifications sent while it was disconnected are lost: PostgreSQL keeps
// them only for sessions that are listening. The feed is therefore a prompt to re-read, not a
// log (SSE replay reads the store, not the feed).
//
// Thread-safe; the destructor stops and joins the thread.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <agentcore/result.hpp>
#include <agentcore/store/records.hpp>

#include "store/change_feed.hpp"
#include "store/postgres/pg_handle.hpp"

namespace agentcore::internal {

/// The NOTIFY channel the triggers use.
inline constexpr const char* kChangeChannel = "agentcore_changes";

/// Appends the changes of a trigger payload (entries "<kind>|<seq>|<octets of channel_id>|
/// <octets of id>|<channel_id><id>", back to back; migration 0004) to `out`. Returns false, and
/// keeps the entries before it, at the first malformed entry.
bool ParseChangePayload(std::string_view payload, std::vector<StoreChange>* out);

class PgListener {
 public:
  /// Connects and LISTENs before returning (so every change committed after Start() returns is
  /// seen), then starts the thread. `feed` is not owned and must outlive the listener.
  /// kUnavailable: cannot connect.
  static Result<std::unique_ptr<PgListener>> Start(const std::string& conninfo, ChangeFeed* feed);
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

 private:
  PgListener(std::string conninfo, ChangeFeed* feed, PgConnPtr conn);
  void Run();
  /// Sleeps up to `ms`, returning early (false) when stopping.
  bool Sleep(int ms);

  // Constant after construction.
  const std::string conninfo_;
  ChangeFeed* const feed_;
  int wake_read_ = -1;  // a pipe: the destructor writes a byte to interrupt poll()
  int wake_write_ = -1;

  // Owned by the thread after Start().
  PgConnPtr conn_;

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace agentcore::internal
