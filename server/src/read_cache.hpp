// SPDX-License-Identifier: Apache-2.0
#pragma once

/// ReadCache: exact caching of the hottest read, so that repeated requests skip the store and
/// the JSON building: the serialized 200 body of `GET /channels/:id/messages`, keyed by channel
/// id, limit, since, before and forAgent, validated by the channel's `messages` version. (The
/// other hot read, the channel and routing roster a POST reads, is cached by the hub's channel
/// service, hub/channels.hpp, with 1/8 of the configured bytes.)
///
/// Exact, not time-based: every entry carries the Store::CurrentChannelVersions() read *before*
/// the data it holds, and a handler serves an entry only while the store still reports the same
/// version. The store raises a version after a write commits and before it acknowledges it, so
/// a hit is never older than a write acknowledged before the request (read-your-writes holds
/// across clients and io threads). On PostgreSQL the versions are exact for this process's
/// writes and follow other servers' through the change feed, with a 1 s bound on what the feed
/// loses (docs/storage-postgres.md); a store without versions returns none, and the handlers
/// then bypass the cache.
///
/// Per io thread: each thread that uses the cache gets its own part (`max_bytes / threads`),
/// so the io threads never share a cache line on a hit (a shared cache measured 10-25 % fewer
/// GETs/s with one hot page: its mutex and the entry's reference count bounced between the two
/// cores). A page is then cached once per thread that serves it; exactness does not depend on
/// which part answers. Within a part, pages keep at most 7/8 of it (the rest is the hub's
/// routing cache), counted as key + body, in 16 shards that each evict their least recently
/// used entries. 0 turns the cache off. Entries are immutable and
/// shared: a hit hands out a reference to the entry, never a copy made under a lock.
/// Thread-safe.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <agentcore/store/records.hpp>

namespace agentcore::server {

class ReadCache {
 public:
  /// A serialized `GET /channels/:id/messages` 200 body.
  struct Page {
    std::uint64_t messages_version = 0;  // ChannelVersions::messages read before the page
    std::string space_id;                // the channel's (never changes): the space check
    std::string body;
  };

  /// `threads`: how many threads will use it (the io threads); each gets max_bytes / threads.
  explicit ReadCache(std::size_t max_bytes, unsigned threads = 1);
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;

  bool enabled() const { return max_bytes_ > 0; }
  std::size_t max_bytes() const { return max_bytes_; }

  /// The key of a page request. Ids and callsigns hold no NUL (CheckKey), so NUL separates.
  static std::string PageKey(std::string_view channel_id, std::size_t limit,
                             const std::optional<std::string>& since,
                             const std::optional<std::string>& before,
                             const std::optional<std::string>& for_agent);

  /// The entry stored under `key`, or null; the caller compares its version.
  std::shared_ptr<const Page> FindPage(std::string_view key);
  void PutPage(std::string key, std::shared_ptr<const Page> page);

  /// Lookups that found a valid entry / did not, as the handlers report them (metrics, tests).
  void CountHit() { hits_.fetch_add(1, std::memory_order_relaxed); }
  void CountMiss() { misses_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  /// Bytes charged by the entries held now (every thread's part).
  std::size_t bytes() const;

 private:
  // 16 LRU shards sharing a byte budget.
  template <typename V>
  class Lru {
   public:
    explicit Lru(std::size_t max_bytes) : shard_bytes_(max_bytes / kShards) {}
    std::shared_ptr<const V> Find(std::string_view key);
    void Put(std::string key, std::shared_ptr<const V> value, std::size_t bytes);
    std::size_t bytes() const;

   private:
    struct Node {
      std::string key;
      std::shared_ptr<const V> value;
      std::size_t bytes = 0;
    };
    struct Hash {
      using is_transparent = void;
      std::size_t operator()(std::string_view s) const {
        return std::hash<std::string_view>()(s);
      }
    };
    struct Shard {
      mutable std::mutex mu;
      // Guarded by mu. Most recently used first; the index points into the list.
      std::list<Node> order;
      std::unordered_map<std::string_view, typename std::list<Node>::iterator, Hash,
                         std::equal_to<>>
          index;
      std::size_t bytes = 0;
    };
    static constexpr std::size_t kShards = 16;
    Shard& ShardOf(std::string_view key) { return shards_[Hash()(key) % kShards]; }

    const std::size_t shard_bytes_;
    std::array<Shard, kShards> shards_;
  };

  // One thread's part.
  struct Part {
    explicit Part(std::size_t bytes) : pages(bytes - bytes / 8) {}
    Lru<Page> pages;
  };
  // The calling thread's part, created on its first use.
  Part& ThisThread();

  const std::uint64_t id_;  // unique per instance, never reused: keys the per-thread memo
  const std::size_t max_bytes_;
  const std::size_t part_bytes_;
  mutable std::mutex parts_mu_;
  std::vector<std::pair<std::thread::id, std::unique_ptr<Part>>> parts_;  // guarded by parts_mu_
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
};

}  // namespace agentcore::server
