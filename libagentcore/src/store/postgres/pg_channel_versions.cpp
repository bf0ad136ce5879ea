// SPDX-License-Identifier: Apache-2.0
#include "store/postgres/pg_channel_versions.hpp"

namespace agentcore::internal {
namespace {

std::int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

PgChannelVersions::PgChannelVersions(std::chrono::milliseconds resync)
    : resync_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(resync).count()),
      next_resync_ns_(SteadyNs() + resync_ns_) {}

ChannelVersions PgChannelVersions::Get(std::string_view channel_id) {
  const std::int64_t now = SteadyNs();
  std::int64_t next = next_resync_ns_.load(std::memory_order_relaxed);
  // One caller per period wins the exchange and raises everything before it reads, so no
  // answer given after the period ended matches one given before it.
  if (now >= next &&
      next_resync_ns_.compare_exchange_strong(next, now + resync_ns_, std::memory_order_relaxed)) {
    table_.RaiseAll();
  }
  return table_.Get(channel_id);
}

void PgChannelVersions::OnChange(const StoreChange& change) {
  switch (change.kind) {
    case StoreChange::Kind::kMessageCreated:
    case StoreChange::Kind::kMessageUpdated:
    case StoreChange::Kind::kMessageDeleted:
      table_.Raise(change.channel_id, ChannelVersionTable::kMessages);
      break;
    case StoreChange::Kind::kRosterChanged:
      table_.Raise(change.channel_id, ChannelVersionTable::kChannel);
      break;
    case StoreChange::Kind::kRunEvent:
    case StoreChange::Kind::kCluster:
      break;
  }
}

}  // namespace agentcore::internal
