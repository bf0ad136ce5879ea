// SPDX-License-Identifier: Apache-2.0
#pragma once

// A clock that only moves when a test says so.

#include <atomic>

#include <agentcore/clock.hpp>

namespace agentcore::testing {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixMillis start = 1'767'225'600'000) : now_(start) {}  // 2026-01-01
  UnixMillis NowMillis() const override { return now_.load(); }
  void Advance(UnixMillis ms) { now_ += ms; }
  void Set(UnixMillis ms) { now_ = ms; }

 private:
  std::atomic<UnixMillis> now_;
};

}  // namespace agentcore::testing
