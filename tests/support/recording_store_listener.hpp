// SPDX-License-Identifier: Apache-2.0
#pragma once

// A StoreListener that keeps every change a store's feed delivers (Store::Subscribe) and lets a
// test wait, with a deadline, until the changes say what it expects. The feed may deliver on
// another thread and later than the write (PostgreSQL's change log), so tests wait, never
// sleep.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <agentcore/store/store.hpp>

namespace agentcore::testing {

class RecordingStoreListener final : public StoreListener {
 public:
  void OnChange(const StoreChange& change) override {
    std::lock_guard lock(mu_);
    changes_.push_back(change);
    cv_.notify_all();
  }

  /// True once a change matching `pred` arrived, within `timeout`.
  template <typename Pred>
  bool WaitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout,
                        [&] { return std::any_of(changes_.begin(), changes_.end(), pred); });
  }

  /// True once `pred(all changes so far)` holds, within `timeout`.
  template <typename Pred>
  bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(changes_); });
  }

  std::vector<StoreChange> changes() {
    std::lock_guard lock(mu_);
    return changes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StoreChange> changes_;
};

}  // namespace agentcore::testing
