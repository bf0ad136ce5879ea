// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/rate_limits.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/hub/credentials.hpp>

#include "support/manual_clock.hpp"

namespace agentcore {
namespace {

using testing::ManualClock;

TEST_SUITE("hub/rate_limits") {
  TEST_CASE("a new bucket allows its limit, counting down, then refuses with exact headers") {
    ManualClock clock;
    RateLimiter limiter({}, &clock);
    for (std::uint32_t i = 1; i <= 5; ++i) {
      RateLimitDecision d = limiter.Check("key:a", 5);
      CAPTURE(i);
      CHECK(d.allowed);
      CHECK(d.limit == 5);
      CHECK(d.remaining == 5 - i);
      CHECK(d.reset_seconds == 12 * i);  // one token every 12 s
      CHECK(d.retry_after_seconds == 0);
    }
    RateLimitDecision refused = limiter.Check("key:a", 5);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.limit == 5);
    CHECK(refused.remaining == 0);
    CHECK(refused.retry_after_seconds == 12);
    CHECK(refused.reset_seconds == 60);
    CHECK(RateLimitStatus(refused).code() == ErrorCode::kRateLimited);
    CHECK(RateLimitStatus(refused).message() == "rate limit exceeded; retry in 12 s");
    CHECK(RateLimitStatus(limiter.Check("key:other", 5)).ok());
  }

  TEST_CASE("the bucket refills continuously and Retry-After rounds the wait up to a second") {
    ManualClock clock;
    RateLimiter limiter({}, &clock);
    for (int i = 0; i < 100; ++i) REQUIRE(limiter.Check("k", 100).allowed);
    RateLimitDecision d = limiter.Check("k", 100);
    CHECK_FALSE(d.allowed);
    CHECK(d.retry_after_seconds == 1);  // 600 ms
    clock.Advance(599);
    d = limiter.Check("k", 100);
    CHECK_FALSE(d.allowed);
    CHECK(d.retry_after_seconds == 1);  // 1 ms
    clock.Advance(1);
    d = limiter.Check("k", 100);
    CHECK(d.allowed);
    CHECK(d.remaining == 0);
    CHECK_FALSE(limiter.Check("k", 100).allowed);
  }

  TEST_CASE("Retry-After and Reset are exact for a limit that does not divide a minute") {
    ManualClock clock;
    RateLimiter limiter({}, &clock);
    for (int i = 0; i < 7; ++i) REQUIRE(limiter.Check("k", 7).allowed);
    RateLimitDecision d = limiter.Check("k", 7);
    CHECK_FALSE(d.allowed);
    CHECK(d.retry_after_seconds == 9);  // 60000/7 = 8571.4 ms -> 8572 ms -> 9 s
    CHECK(d.reset_seconds == 60);
    clock.Advance(8000);  // 56000 of 60000 units back
    d = limiter.Check("k", 7);
    CHECK_FALSE(d.allowed);
    CHECK(d.retry_after_seconds == 1);  // 572 ms
    CHECK(d.reset_seconds == 52);       // (420000 - 56000) / 7 = 52000 ms
    clock.Advance(571);
    CHECK_FALSE(limiter.Check("k", 7).allowed);
    clock.Advance(1);
    CHECK(limiter.Check("k", 7).allowed);
  }

  TEST_CASE("Reset is 0 for a full bucket and counts the time to fill it") {
    ManualClock clock;
    RateLimiter limiter({}, &clock);
    RateLimitDecision d = limiter.Check("k", 60);
    CHECK(d.reset_seconds == 1);
    limiter.Check("k", 60);
    d = limiter.Check("k", 60);
    CHECK(d.reset_seconds == 3);
    CHECK(d.remaining == 57);
    clock.Advance(2500);  // 2.5 tokens back: 59.5 in the bucket after this request's
    d = limiter.Check("k", 60);
    CHECK(d.remaining == 58);
    CHECK(d.reset_seconds == 2);  // 1.5 tokens missing: 1500 ms
    clock.Advance(60'000);
    d = limiter.Check("other", 60);
    CHECK(d.remaining == 59);
  }

  TEST_CASE("a refused request takes nothing") {
    ManualClock clock;
    RateLimiter limiter({}, &clock);
    REQUIRE(limiter.Check("k", 2).allowed);
    REQUIRE(limiter.Check("k", 2).allowed);
    for (int i = 0; i < 50; ++i) CHECK_FALSE(limiter.Check("k", 2).allowed);
    clock.Advance(30'000);  // exactly one token
    CHECK(limiter.Check("k", 2).allowed);
    CHECK_FALSE(limiter.Check("k", 2).allowed);
  }

  TEST_CASE("a long pause fills the bucket only to its capacity, and a clock going back refills "
            "nothing") {
    ManualClock clock;
    RateLimiter limiter({}, &clock);
    REQUIRE(limiter.Check("k", 3).allowed);
    clock.Advance(3'600'000);
    CHECK(limiter.Check("k", 3).remaining == 2);
    CHECK(limiter.Check("k", 3).remaining == 1);
    CHECK(limiter.Check("k", 3).remaining == 0);
    clock.Set(clock.NowMillis() - 120'000);
    CHECK_FALSE(limiter.Check("k", 3).allowed);
    clock.Advance(120'000);  // back where it was: still nothing refilled
    CHECK_FALSE(limiter.Check("k", 3).allowed);
    clock.Advance(20'000);
    CHECK(limiter.Check("k", 3).allowed);
  }

  TEST_CASE("a bucket whose limit changes keeps its tokens up to the new capacity") {
    ManualClock clock;
    RateLimiter limiter({}, &clock);
    for (int i = 0; i < 9; ++i) REQUIRE(limiter.Check("k", 10).allowed);  // 1 left
    RateLimitDecision d = limiter.Check("k", 2);
    CHECK(d.allowed);
    CHECK(d.limit == 2);
    CHECK(d.remaining == 0);
    d = limiter.Check("k", 100);  // raising the limit does not refill at once
    CHECK_FALSE(d.allowed);
    CHECK(d.limit == 100);
    CHECK(d.retry_after_seconds == 1);
    // Shrinking clamps: a full bucket of 100 checked at 3 holds 3.
    for (int i = 0; i < 3; ++i) REQUIRE(limiter.Check("full", 100).allowed);
    clock.Advance(60'000);
    CHECK(limiter.Check("full", 3).remaining == 2);
  }

  TEST_CASE("limit 0 means not limited and remembers nothing") {
    ManualClock clock;
    RateLimiter limiter({}, &clock);
    for (int i = 0; i < 1000; ++i) {
      RateLimitDecision d = limiter.Check("k", 0);
      REQUIRE(d.allowed);
      REQUIRE(d.limit == 0);
    }
    CHECK(limiter.size() == 0);
  }

  TEST_CASE("buckets are independent") {
    ManualClock clock;
    RateLimiter limiter({}, &clock);
    REQUIRE(limiter.Check("key:a", 1).allowed);
    CHECK_FALSE(limiter.Check("key:a", 1).allowed);
    CHECK(limiter.Check("key:b", 1).allowed);
    CHECK(limiter.Check("ip:10.0.0.1", 1).allowed);
    CHECK(limiter.size() == 3);
  }

  TEST_CASE("memory is bounded: the least recently touched bucket is forgotten first") {
    ManualClock clock;
    RateLimiterOptions o;
    o.max_entries = 32;  // two per shard
    RateLimiter limiter(o, &clock);
    REQUIRE(limiter.Check("hot", 1).allowed);
    REQUIRE(limiter.Check("cold", 1).allowed);
    for (int i = 0; i < 5000; ++i) {
      limiter.Check("flood-" + std::to_string(i), 1);
      CHECK_FALSE(limiter.Check("hot", 1).allowed);  // touched each time: stays remembered
      REQUIRE(limiter.size() <= 32);
    }
    CHECK(limiter.size() <= 32);
    // The cold bucket was forgotten, so it comes back full (letting through, never blocking).
    CHECK(limiter.Check("cold", 1).allowed);
    CHECK_FALSE(limiter.Check("hot", 1).allowed);
  }

  TEST_CASE("concurrent checks of one bucket allow exactly its limit") {
    ManualClock clock;  // frozen: no refill during the test
    RateLimiter limiter({}, &clock);
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 1000; ++i) {
          if (limiter.Check("shared", 3000).allowed) ++allowed;
          limiter.Check("own-" + std::to_string(t), 3000);
        }
      });
    }
    for (std::thread& th : threads) th.join();
    CHECK(allowed.load() == 3000);
    CHECK(limiter.size() == 9);
  }

  TEST_CASE("tiers resolve a key's limits: its own, else its tier's, else the defaults") {
    RateLimitTiers tiers;
    CHECK(tiers.defaults.requests_per_minute == 100);
    CHECK(tiers.defaults.max_running_sessions == 10);
    tiers.tiers["pro"] = {600, 50};
    RateLimitTier r = tiers.Resolve("", 0, 0);
    CHECK(r.requests_per_minute == 100);
    CHECK(r.max_running_sessions == 10);
    r = tiers.Resolve("pro", 0, 0);
    CHECK(r.requests_per_minute == 600);
    CHECK(r.max_running_sessions == 50);
    r = tiers.Resolve("pro", 5, 0);
    CHECK(r.requests_per_minute == 5);
    CHECK(r.max_running_sessions == 50);
    r = tiers.Resolve("pro", 0, 2);
    CHECK(r.requests_per_minute == 600);
    CHECK(r.max_running_sessions == 2);
    r = tiers.Resolve("gone", 0, 0);  // a tier no longer configured: the defaults
    CHECK(r.requests_per_minute == 100);
    CHECK(r.max_running_sessions == 10);
    r = tiers.Resolve("gone", 7, 3);
    CHECK(r.requests_per_minute == 7);
    CHECK(r.max_running_sessions == 3);
    CHECK(tiers.Has("pro"));
    CHECK_FALSE(tiers.Has("gone"));
    CHECK_FALSE(tiers.Has(""));
  }

  TEST_CASE("parses a tier flag") {
    auto t = ParseRateLimitTier("pro=600:50");
    REQUIRE(t.ok());
    CHECK(t->first == "pro");
    CHECK(t->second.requests_per_minute == 600);
    CHECK(t->second.max_running_sessions == 50);
    t = ParseRateLimitTier("Free_tier.v-2=1:0");
    REQUIRE(t.ok());
    CHECK(t->first == "Free_tier.v-2");
    CHECK(t->second.requests_per_minute == 1);
    CHECK(t->second.max_running_sessions == 0);
    t = ParseRateLimitTier("max=10000000:100000");
    REQUIRE(t.ok());
  }

  TEST_CASE("refuses a malformed tier flag, saying what is wrong") {
    struct Bad {
      const char* spec;
      const char* says;
    };
    const std::string long_name(65, 'a');
    const Bad bad[] = {
        {"", "missing '='"},
        {"pro", "missing '='"},
        {"=1:1", "the name must be"},
        {"p ro=1:1", "the name must be"},
        {"pr\xc3\xa9=1:1", "the name must be"},
        {"pro=", "missing ':'"},
        {"pro=1", "missing ':'"},
        {"pro=0:1", "RPM must be an integer from 1 to 10000000"},
        {"pro=10000001:1", "RPM must be"},
        {"pro=99999999999:1", "RPM must be"},
        {"pro=x:1", "RPM must be"},
        {"pro=+1:1", "RPM must be"},
        {"pro=-1:1", "RPM must be"},
        {"pro= 1:1", "RPM must be"},
        {"pro=1:", "SESSIONS must be an integer from 0 to 100000"},
        {"pro=1:-1", "SESSIONS must be"},
        {"pro=1:100001", "SESSIONS must be"},
        {"pro=1:1:1", "SESSIONS must be"},
        {"pro=1:1 ", "SESSIONS must be"},
        {"pro=1.5:1", "RPM must be"},
    };
    for (const Bad& b : bad) {
      CAPTURE(b.spec);
      auto t = ParseRateLimitTier(b.spec);
      REQUIRE_FALSE(t.ok());
      CHECK(t.status().code() == ErrorCode::kInvalidArgument);
      CHECK(t.status().message().find(b.says) != std::string::npos);
      CHECK(t.status().message().find("NAME=RPM:SESSIONS") != std::string::npos);
    }
    auto t = ParseRateLimitTier(long_name + "=1:1");
    CHECK_FALSE(t.ok());
    CHECK(ParseRateLimitTier(std::string(64, 'a') + "=1:1").ok());
  }

  TEST_CASE("a caller's bucket is its key's or its user's; containers are not limited") {
    Principal key;
    key.kind = Principal::Kind::kApiKey;
    key.space_id = "acme";
    key.api_key_id = "K1";
    CHECK(RateLimitBucket(key) == "key:K1");
    Principal user;
    user.kind = Principal::Kind::kSession;
    user.space_id = "acme";
    user.user_id = "u1";
    CHECK(RateLimitBucket(user) == "user:acme/u1");
    user.mode = "workos";
    CHECK(RateLimitBucket(user) == "user:acme/u1");
    Principal dev = user;
    dev.mode = "dev";  // the development login is not limited
    CHECK(RateLimitBucket(dev).empty());
    Principal container;
    container.kind = Principal::Kind::kContainer;
    container.space_id = "acme";
    CHECK(RateLimitBucket(container).empty());
    Principal anonymous_key;  // an operator principal has no key id
    anonymous_key.kind = Principal::Kind::kApiKey;
    CHECK(RateLimitBucket(anonymous_key).empty());
    RateLimitTier defaults{100, 10};
    CHECK(RequestsPerMinuteFor(user, defaults) == 100);
    key.requests_per_minute = 7;
    CHECK(RequestsPerMinuteFor(key, defaults) == 7);
  }
}

}  // namespace
}  // namespace agentcore
