// SPDX-License-Identifier: Apache-2.0
#pragma once

// A RuntimeObserver that keeps every event a runtime reports, for runtime tests that wait for
// an event (with a timeout) and check what was reported, in order.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <agentcore/runtime/agent.hpp>
#include <agentcore/runtime/runtime.hpp>

namespace agentcore::testing {

class RecordingRuntimeObserver : public RuntimeObserver {
 public:
  // `default_timeout`: how long WaitFor() waits when given no timeout (a real engine is slower
  // than a fake).
  explicit RecordingRuntimeObserver(
      std::chrono::milliseconds default_timeout = std::chrono::milliseconds(5000))
      : default_timeout_(default_timeout) {}

  void OnAgentEvent(const AgentEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(event);
    cv_.notify_all();
  }

  // The first event of `kind` for `agent_id`, waiting up to `timeout` (default: the
  // constructor's) for it; nullopt when none came.
  std::optional<AgentEvent> WaitFor(AgentEventKind kind, const std::string& agent_id,
                                    std::optional<std::chrono::milliseconds> timeout = {}) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<AgentEvent> found;
    cv_.wait_for(lock, timeout.value_or(default_timeout_), [&] {
      for (const AgentEvent& e : events_) {
        if (e.kind == kind && e.agent_id == agent_id) {
          found = e;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // How many events of `kind` were reported for `agent_id`.
  int Count(AgentEventKind kind, const std::string& agent_id) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const AgentEvent& e : events_) n += e.kind == kind && e.agent_id == agent_id;
    return n;
  }

  // The kinds of the events reported for `agent_id`, in order.
  std::vector<AgentEventKind> KindsFor(const std::string& agent_id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<AgentEventKind> out;
    for (const AgentEvent& e : events_) {
      if (e.agent_id == agent_id) out.push_back(e.kind);
    }
    return out;
  }

  // Every event reported so far, in order.
  std::vector<AgentEvent> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  const std::chrono::milliseconds default_timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<AgentEvent> events_;
};

}  // namespace agentcore::testing
