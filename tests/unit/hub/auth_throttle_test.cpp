// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/auth_throttle.hpp>

#include <string>

#include <doctest/doctest.h>

#include "support/manual_clock.hpp"

namespace agentcore {
namespace {

using namespace std::chrono_literals;
using testing::ManualClock;

AuthThrottleOptions Options(std::size_t max_failures = 20, std::size_t max_clients = 16'384) {
  AuthThrottleOptions o;
  o.max_failures = max_failures;
  o.window = 10'000ms;
  o.max_clients = max_clients;
  return o;
}

TEST_SUITE("AuthThrottle") {
  TEST_CASE("a client is refused after its 20th failure in a window, not before") {
    ManualClock clock;
    AuthThrottle throttle(Options(), &clock);
    for (int i = 0; i < 19; ++i) {
      CHECK(throttle.Check("10.0.0.1").ok());
      throttle.RecordFailure("10.0.0.1");
      clock.Advance(10);
    }
    CHECK(throttle.Check("10.0.0.1").ok());
    throttle.RecordFailure("10.0.0.1");  // the 20th
    Status refused = throttle.Check("10.0.0.1");
    CHECK(refused.code() == ErrorCode::kRateLimited);
    CHECK(refused.message() == "too many failed authentication attempts; retry in 10 s");
    CHECK(throttle.RetryAfter("10.0.0.1") == 10'000ms);
  }

  TEST_CASE("another client is not affected by one that is blocked") {
    ManualClock clock;
    AuthThrottle throttle(Options(), &clock);
    for (int i = 0; i < 25; ++i) throttle.RecordFailure("10.0.0.1");
    CHECK(throttle.Check("10.0.0.1").code() == ErrorCode::kRateLimited);
    CHECK(throttle.Check("10.0.0.2").ok());
    CHECK(throttle.Check("").ok());
    CHECK(throttle.RetryAfter("10.0.0.2") == 0ms);
  }

  TEST_CASE("a blocked client recovers when the block has passed") {
    ManualClock clock;
    AuthThrottle throttle(Options(), &clock);
    for (int i = 0; i < 20; ++i) throttle.RecordFailure("c");
    clock.Advance(9'999);
    CHECK(throttle.Check("c").code() == ErrorCode::kRateLimited);
    CHECK(throttle.RetryAfter("c") == 1ms);
    CHECK(throttle.Check("c").message() == "too many failed authentication attempts; retry in 1 s");
    clock.Advance(1);
    CHECK(throttle.Check("c").ok());
    // A fresh count: 19 more failures do not block again.
    for (int i = 0; i < 19; ++i) throttle.RecordFailure("c");
    CHECK(throttle.Check("c").ok());
    throttle.RecordFailure("c");
    CHECK(throttle.Check("c").code() == ErrorCode::kRateLimited);
  }

  TEST_CASE("failures spread over more than a window never block") {
    ManualClock clock;
    AuthThrottle throttle(Options(), &clock);
    for (int i = 0; i < 100; ++i) {
      throttle.RecordFailure("slow");
      clock.Advance(600);  // 19 per window at most... 10 s / 600 ms = 16.7
      CHECK(throttle.Check("slow").ok());
    }
  }

  TEST_CASE("failures sent while blocked are not counted and do not extend the block") {
    ManualClock clock;
    AuthThrottle throttle(Options(), &clock);
    for (int i = 0; i < 20; ++i) throttle.RecordFailure("c");
    clock.Advance(5'000);
    for (int i = 0; i < 1'000; ++i) throttle.RecordFailure("c");
    CHECK(throttle.RetryAfter("c") == 5'000ms);
    clock.Advance(5'000);
    CHECK(throttle.Check("c").ok());
  }

  TEST_CASE("memory stays bounded with 100,000 distinct clients") {
    ManualClock clock;
    AuthThrottle throttle(Options(20, 1'000), &clock);
    for (int i = 0; i < 100'000; ++i) {
      throttle.RecordFailure("10." + std::to_string(i / 65536) + "." +
                             std::to_string((i / 256) % 256) + "." + std::to_string(i % 256));
      CHECK(throttle.size() <= 1'000);
    }
    CHECK(throttle.size() == 1'000);
  }

  TEST_CASE("the least recently touched client is forgotten first") {
    ManualClock clock;
    AuthThrottle throttle(Options(2, 2), &clock);
    throttle.RecordFailure("a");
    throttle.RecordFailure("a");  // a is blocked
    throttle.RecordFailure("b");
    throttle.RecordFailure("a");  // touched again (ignored while blocked): b is now the oldest
    throttle.RecordFailure("c");  // full: b goes
    CHECK(throttle.size() == 2);
    CHECK(throttle.Check("a").code() == ErrorCode::kRateLimited);
    throttle.RecordFailure("b");  // b starts over: one failure, not two
    CHECK(throttle.Check("b").ok());
  }

  TEST_CASE("max_failures 0 turns throttling off") {
    ManualClock clock;
    AuthThrottle throttle(Options(0), &clock);
    for (int i = 0; i < 1'000; ++i) throttle.RecordFailure("c");
    CHECK(throttle.Check("c").ok());
    CHECK(throttle.size() == 0);
  }
}

}  // namespace
}  // namespace agentcore
