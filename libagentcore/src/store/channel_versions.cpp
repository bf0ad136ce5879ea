// SPDX-License-Identifier: Apache-2.0
#include "store/channel_versions.hpp"

#include <random>

namespace agentcore::internal {

ChannelVersionTable::ChannelVersionTable() {
  // Random per table, below 2^62 so that no count of raises overflows.
  std::random_device rd;
  const std::uint64_t base =
      ((static_cast<std::uint64_t>(rd()) << 32) ^ rd()) & ((std::uint64_t{1} << 62) - 1);
  for (Shard& shard : shards_) shard.base = base;
}

ChannelVersionTable::Shard& ChannelVersionTable::ShardOf(std::string_view channel_id) const {
  return shards_[Hash()(channel_id) % kShards];
}

ChannelVersions ChannelVersionTable::Get(std::string_view channel_id) const {
  Shard& shard = ShardOf(channel_id);
  std::lock_guard lock(shard.mu);
  auto it = shard.channels.find(channel_id);
  if (it == shard.channels.end()) return ChannelVersions{shard.base, shard.base};
  return it->second;
}

void ChannelVersionTable::Raise(std::string_view channel_id, unsigned parts) {
  Shard& shard = ShardOf(channel_id);
  std::lock_guard lock(shard.mu);
  auto it = shard.channels.find(channel_id);
  if (it == shard.channels.end()) {
    it = shard.channels.emplace(std::string(channel_id), ChannelVersions{shard.base, shard.base})
             .first;
  }
  if ((parts & kMessages) != 0) ++it->second.messages;
  if ((parts & kChannel) != 0) ++it->second.channel;
}

void ChannelVersionTable::RaiseAll() {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    ++shard.base;
    for (auto& [id, versions] : shard.channels) {
      ++versions.messages;
      ++versions.channel;
    }
  }
}

}  // namespace agentcore::internal
