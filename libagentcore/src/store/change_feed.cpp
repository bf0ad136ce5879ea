// SPDX-License-Identifier: Apache-2.0
#include "store/change_feed.hpp"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

namespace agentcore::internal {

struct ChangeFeed::Core {
  struct Entry {
    std::uint64_t id;
    StoreListener* listener;
  };

  std::atomic<int> subscribers{0};  // listeners.size(), readable without mu
  std::mutex mu;
  std::condition_variable cv;  // queue grew, stop requested, a callback ended, queue drained
  std::vector<Entry> listeners;
  std::deque<StoreChange> queue;
  std::uint64_t next_id = 1;
  std::uint64_t calling = 0;    // id of the listener being called now; 0: none
  std::uint64_t published = 0;  // changes ever queued
  std::uint64_t delivered = 0;  // changes fully delivered
  bool stop = false;
  std::thread thread;  // started by the first Subscribe()
  std::thread::id thread_id;

  bool Subscribed(std::uint64_t id) const {
    for (const Entry& e : listeners) {
      if (e.id == id) return true;
    }
    return false;
  }

  void Run() {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stop || !queue.empty(); });
      if (queue.empty()) return;  // stop requested and everything delivered
      StoreChange change = std::move(queue.front());
      queue.pop_front();
      // A copy, each entry re-checked before its call: the list may change while unlocked.
      const std::vector<Entry> snapshot = listeners;
      for (const Entry& e : snapshot) {
        if (!Subscribed(e.id)) continue;
        calling = e.id;
        lock.unlock();
        e.listener->OnChange(change);
        lock.lock();
        calling = 0;
        cv.notify_all();  // an unsubscribe may be waiting for this call to end
      }
      ++delivered;
      cv.notify_all();
    }
  }
};

namespace {

class Subscription final : public StoreSubscription {
 public:
  Subscription(std::shared_ptr<ChangeFeed::Core> core, std::uint64_t id)
      : core_(std::move(core)), id_(id) {}

  // Unsubscribes and waits for a callback to this listener that is running on the notifier
  // thread, unless called from that callback itself (it would wait for itself).
  ~Subscription() override {
    std::unique_lock lock(core_->mu);
    std::erase_if(core_->listeners, [&](const ChangeFeed::Core::Entry& e) { return e.id == id_; });
    if (std::this_thread::get_id() == core_->thread_id) return;
    core_->cv.wait(lock, [&] { return core_->calling != id_; });
  }

 private:
  std::shared_ptr<ChangeFeed::Core> core_;
  std::uint64_t id_;
};

}  // namespace

ChangeFeed::ChangeFeed() : core_(std::make_shared<Core>()) {}

ChangeFeed::~ChangeFeed() {
  std::thread thread;
  {
    std::lock_guard lock(core_->mu);
    core_->stop = true;
    thread = std::move(core_->thread);
  }
  core_->cv.notify_all();
  if (thread.joinable()) thread.join();
}

std::unique_ptr<StoreSubscription> ChangeFeed::Subscribe(StoreListener* listener) {
  std::lock_guard lock(core_->mu);
  const std::uint64_t id = core_->next_id++;
  core_->listeners.push_back({id, listener});
  core_->subscribers.store(static_cast<int>(core_->listeners.size()));
  if (!core_->thread.joinable() && !core_->stop) {
    // The thread holds the core by raw pointer: the feed joins it before the core can go away
    // (subscriptions keep the core, not the thread).
    core_->thread = std::thread([core = core_.get()] {
      pthread_setname_np(pthread_self(), "agentcore-feed");
      core->Run();
    });
    core_->thread_id = core_->thread.get_id();
  }
  return std::make_unique<Subscription>(core_, id);
}

void ChangeFeed::Publish(std::vector<StoreChange> changes) {
  if (changes.empty()) return;
  {
    std::lock_guard lock(core_->mu);
    if (core_->listeners.empty() || core_->stop) return;
    for (StoreChange& c : changes) core_->queue.push_back(std::move(c));
    core_->published += changes.size();
  }
  core_->cv.notify_all();
}

bool ChangeFeed::HasSubscribers() const { return core_->subscribers.load() > 0; }

void ChangeFeed::WaitIdleForTesting() {
  std::unique_lock lock(core_->mu);
  const std::uint64_t target = core_->published;
  core_->cv.wait(lock, [&] { return core_->delivered >= target || !core_->thread.joinable(); });
}

}  // namespace agentcore::internal
