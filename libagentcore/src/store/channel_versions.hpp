// SPDX-License-Identifier: Apache-2.0
#pragma once

// The in-memory counters behind Store::CurrentChannelVersions (store.hpp): per channel, one
// counter for its messages and one for its row and roster. A store that sees every write
// (SQLite: all of them go through its writer thread) raises them after each commit, before
// acknowledging the writes. Channels live in 16 shards, each a mutex and a hash map, so a
// lookup from an I/O thread locks one shard for a hash probe and rarely meets the writer.
//
// A channel never raised reports the table's base, a random value per table (per open store),
// so counters from two openings of one database do not collide. An entry starts at the base
// when first raised and only grows; RaiseAll() raises the base and every entry, so every
// value a channel ever reports is larger than the ones before it. Entries are never removed:
// one per channel written since open (a few dozen bytes each). Thread-safe.

#include <agentcore/store/store.hpp>
#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace agentcore::internal {

class ChannelVersionTable {
 public:
  // Which counters a write raises (a bit mask).
  enum Part : unsigned { kMessages = 1, kChannel = 2 };

  ChannelVersionTable();
  ChannelVersionTable(const ChannelVersionTable&) = delete;
  ChannelVersionTable& operator=(const ChannelVersionTable&) = delete;

  ChannelVersions Get(std::string_view channel_id) const;
  // Raises the counters in `parts` of the channel by one.
  void Raise(std::string_view channel_id, unsigned parts);
  // Raises every channel's counters, including those never raised (a migration).
  void RaiseAll();

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    // Guarded by mu.
    std::unordered_map<std::string, ChannelVersions, Hash, std::equal_to<>> channels;
    std::uint64_t base = 0;  // what a channel without an entry reports (both counters)
  };
  static constexpr std::size_t kShards = 16;
  Shard& ShardOf(std::string_view channel_id) const;

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace agentcore::internal
