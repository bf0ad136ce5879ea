// SPDX-License-Identifier: Apache-2.0
#include "read_cache.hpp"

#include <charconv>
#include <iterator>
#include <utility>

namespace agentcore::server {
namespace {

// What an entry costs besides its strings: list node, index slot, control block, the struct.
constexpr std::size_t kEntryOverhead = 160;

void AppendOptional(std::string* key, const std::optional<std::string>& value) {
  key->push_back('\0');
  if (value) {
    key->push_back('=');  // present (an empty value is absent: QueryKey drops it)
    key->append(*value);
  }
}

}  // namespace

template <typename V>
std::shared_ptr<const V> ReadCache::Lru<V>::Find(std::string_view key) {
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.index.find(key);
  if (it == shard.index.end()) return nullptr;
  shard.order.splice(shard.order.begin(), shard.order, it->second);
  return it->second->value;
}

template <typename V>
void ReadCache::Lru<V>::Put(std::string key, std::shared_ptr<const V> value, std::size_t bytes) {
  if (bytes > shard_bytes_) return;  // larger than a shard's share: never cached
  Shard& shard = ShardOf(key);
  std::shared_ptr<const V> replaced;  // released after the lock
  std::list<Node> evicted;
  std::lock_guard lock(shard.mu);
  if (auto it = shard.index.find(key); it != shard.index.end()) {
    Node& node = *it->second;
    shard.bytes = shard.bytes - node.bytes + bytes;
    replaced = std::exchange(node.value, std::move(value));
    node.bytes = bytes;
    shard.order.splice(shard.order.begin(), shard.order, it->second);
  } else {
    shard.order.push_front(Node{std::move(key), std::move(value), bytes});
    shard.index.emplace(shard.order.front().key, shard.order.begin());
    shard.bytes += bytes;
  }
  while (shard.bytes > shard_bytes_) {
    auto last = std::prev(shard.order.end());
    shard.bytes -= last->bytes;
    shard.index.erase(last->key);
    evicted.splice(evicted.begin(), shard.order, last);
  }
}

template <typename V>
std::size_t ReadCache::Lru<V>::bytes() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.bytes;
  }
  return n;
}

namespace {
std::atomic<std::uint64_t> next_cache_id{1};
}  // namespace

ReadCache::ReadCache(std::size_t max_bytes, unsigned threads)
    : id_(next_cache_id.fetch_add(1)),
      max_bytes_(max_bytes),
      part_bytes_(max_bytes / (threads == 0 ? 1 : threads)) {}

ReadCache::Part& ReadCache::ThisThread() {
  // A one-entry memo per thread; the id (not `this`) tells caches apart, since a new cache may
  // reuse a destroyed one's address.
  thread_local std::uint64_t memo_id = 0;
  thread_local Part* memo = nullptr;
  if (memo_id == id_) return *memo;
  std::lock_guard lock(parts_mu_);
  const std::thread::id me = std::this_thread::get_id();
  Part* part = nullptr;
  for (auto& [thread, p] : parts_) {
    if (thread == me) part = p.get();
  }
  if (part == nullptr) {
    parts_.emplace_back(me, std::make_unique<Part>(part_bytes_));
    part = parts_.back().second.get();
  }
  memo_id = id_;
  memo = part;
  return *part;
}

std::string ReadCache::PageKey(std::string_view channel_id, std::size_t limit,
                               const std::optional<std::string>& since,
                               const std::optional<std::string>& before,
                               const std::optional<std::string>& for_agent) {
  std::string key;
  key.reserve(channel_id.size() + 24 + (since ? since->size() : 0) +
              (before ? before->size() : 0) + (for_agent ? for_agent->size() : 0));
  key.append(channel_id);
  key.push_back('\0');
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), limit);
  (void)ec;
  key.append(digits, end);
  AppendOptional(&key, since);
  AppendOptional(&key, before);
  AppendOptional(&key, for_agent);
  return key;
}

std::shared_ptr<const ReadCache::Page> ReadCache::FindPage(std::string_view key) {
  return ThisThread().pages.Find(key);
}

void ReadCache::PutPage(std::string key, std::shared_ptr<const Page> page) {
  const std::size_t bytes =
      kEntryOverhead + 2 * key.size() + page->space_id.size() + page->body.size();
  ThisThread().pages.Put(std::move(key), std::move(page), bytes);
}

std::size_t ReadCache::bytes() const {
  std::lock_guard lock(parts_mu_);
  std::size_t n = 0;
  for (const auto& entry : parts_) n += entry.second->pages.bytes();
  return n;
}

}  // namespace agentcore::server
