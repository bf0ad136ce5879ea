// SPDX-License-Identifier: Apache-2.0
#include "runtime/event_dispatcher.hpp"

#include <pthread.h>

#include <cassert>
#include <utility>

namespace agentcore::internal {

EventDispatcher::EventDispatcher(RuntimeObserver* observer, std::string thread_name)
    : observer_(observer), thread_name_(std::move(thread_name)), thread_([this] { Loop(); }) {}

EventDispatcher::~EventDispatcher() { Stop(); }

void EventDispatcher::Push(AgentEvent event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    events_.push_back(std::move(event));
  }
  cv_.notify_one();
}

void EventDispatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  std::lock_guard<std::mutex> join_lock(join_mu_);
  const bool own_thread = thread_.get_id() == std::this_thread::get_id();
  assert(!own_thread && "EventDispatcher::Stop() called from the observer");
  if (thread_.joinable() && !own_thread) thread_.join();
}

void EventDispatcher::Loop() {
  ::pthread_setname_np(::pthread_self(), thread_name_.c_str());
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return !events_.empty() || stop_; });
    if (events_.empty()) return;  // stopped and drained
    std::deque<AgentEvent> batch;
    batch.swap(events_);
    lock.unlock();
    // No lock held: the observer may call back into the runtime, which may Push().
    if (observer_ != nullptr) {
      for (const AgentEvent& e : batch) observer_->OnAgentEvent(e);
    }
    lock.lock();
  }
}

}  // namespace agentcore::internal
