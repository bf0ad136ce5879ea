// SPDX-License-Identifier: Apache-2.0
#pragma once

// The publisher behind a C hub: it hands each line the hub publishes to the C callbacks
// subscribed to its channel, and makes unsubscribing safe while other threads publish.

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/hub/publisher.hpp>

#include "agentcore/agentcore_c.h"

/// The channel id that subscribes to every channel.
inline constexpr std::string_view kEveryChannel = "*";

/// One subscription. The table and every Publish call in progress hold it by shared_ptr, so an
/// unsubscribe inside its own callback cannot free it under the publishing thread.
struct ac_subscription_t {
  std::string channel_id;
  ac_event_fn fn;
  void* user;
  std::atomic<bool> ended{false};
  int calls = 0;  // Publish calls that may still call fn; guarded by SubscriptionTable::mu_
};

namespace agentcore::c_api {

/// Thread-safe. Publish runs on whatever thread the hub publishes from (publisher.hpp).
class SubscriptionTable final : public Publisher {
 public:
  SubscriptionTable() = default;

  bool HasSubscribers() const override { return count_.load(std::memory_order_relaxed) > 0; }
  void Publish(std::string_view channel_id, std::span<const PublishedLine> lines) override;

  /// A new subscription of `channel_id` (or kEveryChannel); owned by the table.
  ac_subscription_t* Add(std::string channel_id, ac_event_fn fn, void* user);
  /// Ends `subscription` and waits until no other thread is inside its callback. Unknown
  /// pointers (already removed) are ignored.
  void Remove(ac_subscription_t* subscription);

 private:
  using Entry = std::shared_ptr<ac_subscription_t>;

  std::mutex mu_;
  std::condition_variable calls_done_;
  std::map<std::string, std::vector<Entry>, std::less<>> by_channel_;  // guarded by mu_
  std::atomic<std::size_t> count_{0};
};

}  // namespace agentcore::c_api
