// SPDX-License-Identifier: Apache-2.0
// See c_subscriptions.hpp.

#include "c_subscriptions.hpp"

#include <algorithm>
#include <utility>

namespace agentcore::c_api {

namespace {

// The subscription whose callback this thread is running, so that Remove called from inside
// that callback does not wait for itself.
thread_local const ac_subscription_t* tls_in_callback = nullptr;

}  // namespace

void SubscriptionTable::Publish(std::string_view channel_id,
                                std::span<const PublishedLine> lines) {
  std::vector<Entry> targets;
  {
    std::lock_guard lock(mu_);
    for (std::string_view key : {channel_id, kEveryChannel}) {
      auto it = by_channel_.find(key);
      if (it == by_channel_.end()) continue;
      for (const Entry& entry : it->second) {
        ++entry->calls;
        targets.push_back(entry);
      }
    }
  }
  if (targets.empty()) return;
  // The callbacks get NUL-terminated copies; the buffers are per thread and keep their capacity.
  thread_local std::string channel, line, event_id;
  channel.assign(channel_id);
  for (const PublishedLine& published : lines) {
    line.assign(published.line);
    event_id.assign(published.event_id);
    for (const Entry& entry : targets) {
      if (entry->ended.load(std::memory_order_acquire)) continue;
      tls_in_callback = entry.get();
      entry->fn(entry->user, channel.c_str(), line.c_str(), line.size(), event_id.c_str(),
                published.seq);
      tls_in_callback = nullptr;
    }
  }
  {
    std::lock_guard lock(mu_);
    for (const Entry& entry : targets) --entry->calls;
  }
  calls_done_.notify_all();
}

ac_subscription_t* SubscriptionTable::Add(std::string channel_id, ac_event_fn fn, void* user) {
  auto entry = std::make_shared<ac_subscription_t>();
  entry->channel_id = std::move(channel_id);
  entry->fn = fn;
  entry->user = user;
  std::lock_guard lock(mu_);
  by_channel_[entry->channel_id].push_back(entry);
  count_.fetch_add(1, std::memory_order_relaxed);
  return entry.get();
}

void SubscriptionTable::Remove(ac_subscription_t* subscription) {
  std::unique_lock lock(mu_);
  // Found by pointer without dereferencing it: a subscription removed before (a caller's
  // double unsubscribe) may be freed already.
  Entry entry;
  for (auto it = by_channel_.begin(); it != by_channel_.end(); ++it) {
    std::vector<Entry>& entries = it->second;
    auto found = std::find_if(entries.begin(), entries.end(),
                              [&](const Entry& e) { return e.get() == subscription; });
    if (found == entries.end()) continue;
    entry = std::move(*found);  // keeps it alive while we wait
    entries.erase(found);
    if (entries.empty()) by_channel_.erase(it);
    break;  // `it` may be erased
  }
  if (entry == nullptr) return;
  count_.fetch_sub(1, std::memory_order_relaxed);
  entry->ended.store(true, std::memory_order_release);
  const int own = tls_in_callback == subscription ? 1 : 0;
  calls_done_.wait(lock, [&] { return entry->calls <= own; });
}

}  // namespace agentcore::c_api
