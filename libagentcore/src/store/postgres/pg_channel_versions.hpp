// SPDX-License-Identifier: Apache-2.0
#pragma once

// Store::CurrentChannelVersions on PostgreSQL, where other processes write the same database
// (docs/storage-postgres.md "Channel versions and the caches"). The counters are those of the
// SQLite store (ChannelVersionTable), raised three ways:
//
//  * this process's writes: the store raises the written channel after the write returned from
//    the database and before it answers its caller, as SQLite does, so a cache validated by
//    these counters is exact for every write this store acknowledged;
//  * other processes' writes: the store subscribes this object to its own change feed (the
//    LISTEN loop, or the change log that replaces it), which carries every committed message
//    and roster change of every process; it raises the channel when the change arrives, so a
//    cache serves another process's write late by at most the feed's delay;
//  * whatever the feed cannot say (a notification lost while the listener reconnected, a
//    channel row or space changed by another process, which has no feed entry): every
//    `resync` (default 1 s) the first Get() raises every channel, so nothing cached is ever
//    older than that.
//
// Thread-safe; Get is a hash probe under a shard lock plus a clock read.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include <agentcore/store/records.hpp>
#include <agentcore/store/store.hpp>

#include "store/channel_versions.hpp"

namespace agentcore::internal {

class PgChannelVersions final : public StoreListener {
 public:
  static constexpr std::chrono::milliseconds kDefaultResync{1000};

  explicit PgChannelVersions(std::chrono::milliseconds resync = kDefaultResync);

  ChannelVersions Get(std::string_view channel_id);
  /// This process wrote the channel (`parts`: ChannelVersionTable::Part bits).
  void Raise(std::string_view channel_id, unsigned parts) { table_.Raise(channel_id, parts); }
  /// A write of unknown channel (an outcome lost with its connection), or a migration.
  void RaiseAll() { table_.RaiseAll(); }

  /// The change feed: message changes raise `messages`, roster changes `channel`.
  void OnChange(const StoreChange& change) override;

 private:
  const std::int64_t resync_ns_;
  ChannelVersionTable table_;
  std::atomic<std::int64_t> next_resync_ns_;  // steady clock
};

}  // namespace agentcore::internal
