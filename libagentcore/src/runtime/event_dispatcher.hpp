// SPDX-License-Identifier: Apache-2.0
#pragma once

// The delivery of a runtime's AgentEvents to its RuntimeObserver, as runtime.hpp promises it:
// on a runtime-owned thread, one event at a time, in the order pushed, with no lock held (the
// observer may call back into the runtime). The container runtimes queue their events here
// while holding their own lock; the dispatcher's lock is taken after theirs and never held
// while the observer runs.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <agentcore/runtime/agent.hpp>
#include <agentcore/runtime/runtime.hpp>

namespace agentcore::internal {

// One delivery thread and its queue. Thread-safe.
class EventDispatcher {
 public:
  // Starts the thread, named `thread_name` (at most 15 bytes, e.g. "agentcore-dockev").
  // `observer` is not owned and must outlive the dispatcher; nullptr drops every event.
  EventDispatcher(RuntimeObserver* observer, std::string thread_name);
  // Stop().
  ~EventDispatcher();
  EventDispatcher(const EventDispatcher&) = delete;
  EventDispatcher& operator=(const EventDispatcher&) = delete;

  // Queues `event` for delivery after every event pushed before it. Never blocks on the
  // observer. After Stop() the event is dropped.
  void Push(AgentEvent event);

  // Delivers what is queued, then ends the thread and returns. Idempotent; concurrent calls all
  // return after the thread has ended. REQUIRES: not called on the dispatcher's own thread (from
  // the observer), which it would join.
  void Stop();

 private:
  void Loop();

  RuntimeObserver* const observer_;
  const std::string thread_name_;

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::deque<AgentEvent> events_;
  bool stop_ = false;

  std::mutex join_mu_;  // one joiner at a time
  std::thread thread_;  // started last, after the members it uses
};

}  // namespace agentcore::internal
