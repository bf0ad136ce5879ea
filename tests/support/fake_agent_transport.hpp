// SPDX-License-Identifier: Apache-2.0
#pragma once

// An AgentTransport that records every push the hub makes (accepted or not) and accepts them,
// unless told to fail the next N, which it answers kUnavailable as an agent that is gone would.
// Thread-safe.

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <agentcore/hub/agent_transport.hpp>

namespace agentcore::testing {

class FakeAgentTransport final : public AgentTransport {
 public:
  struct Record {
    AgentPush push;
    bool accepted = false;
  };

  Status Push(const AgentPush& push) override {
    std::lock_guard lock(mu_);
    const bool fail = fail_next_ > 0;
    if (fail) --fail_next_;
    records_.push_back(Record{push, !fail});
    if (fail) return Status(ErrorCode::kUnavailable, "agent \"" + push.agent_id + "\" is gone");
    return Status();
  }

  /// The next `n` pushes fail.
  void FailNext(int n) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
  }
  /// Every push, in order.
  std::vector<Record> Records() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  /// The pushes the agent accepted, in order.
  std::vector<AgentPush> Accepted() const {
    std::lock_guard lock(mu_);
    std::vector<AgentPush> out;
    for (const Record& r : records_) {
      if (r.accepted) out.push_back(r.push);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Record> records_;  // guarded by mu_
  int fail_next_ = 0;            // guarded by mu_
};

}  // namespace agentcore::testing
