// SPDX-License-Identifier: Apache-2.0
#include <agentcore/ulid.hpp>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include <doctest/doctest.h>

#include "support/manual_clock.hpp"

using agentcore::EncodeUlid;
using agentcore::ErrorCode;
using agentcore::IsUlid;
using agentcore::kUlidLength;
using agentcore::NewUlid;
using agentcore::UlidGenerator;
using agentcore::UlidTime;
using agentcore::UnixMillis;
using agentcore::testing::ManualClock;

namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr UnixMillis kMaxUlidTime = (UnixMillis{1} << 48) - 1;

bool IsCrockford(std::string_view s) {
  for (char c : s) {
    if (kCrockford.find(c) == std::string_view::npos) return false;
  }
  return true;
}

// The 80-bit random part of a ULID as (high 16 bits, low 64 bits).
struct Random80 {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend bool operator==(const Random80&, const Random80&) = default;
};

Random80 RandomPart(std::string_view id) {
  Random80 r;
  for (std::size_t i = 10; i < kUlidLength; ++i) {
    const auto digit = static_cast<std::uint64_t>(kCrockford.find(id[i]));
    r.hi = (r.hi << 5) | (r.lo >> 59);
    r.lo = (r.lo << 5) | digit;
  }
  return r;
}

Random80 PlusOne(Random80 r) {
  if (++r.lo == 0) ++r.hi;
  return r;
}

}  // namespace

TEST_SUITE("Ulid") {

TEST_CASE("makes 26 Crockford characters whose time prefix is the clock's millisecond") {
  for (UnixMillis ms : {UnixMillis{0}, UnixMillis{1}, UnixMillis{1'767'225'600'000},
                        UnixMillis{1'469'922'850'259}, kMaxUlidTime}) {
    CAPTURE(ms);
    ManualClock clock(ms);
    UlidGenerator gen(&clock);
    const std::string id = gen.Next();
    CHECK(id.size() == 26);
    CHECK(id.size() == kUlidLength);
    CHECK(IsCrockford(id));
    CHECK(IsUlid(id));
    auto time = UlidTime(id);
    REQUIRE(time.has_value());
    CHECK(*time == ms);
    CHECK(id.substr(0, 10) == EncodeUlid(ms, 0, 0).substr(0, 10));
  }
}

TEST_CASE("increases strictly across 100000 ids in the same millisecond") {
  ManualClock clock;
  UlidGenerator gen(&clock);
  std::string prev = gen.Next();
  const std::string prefix = prev.substr(0, 10);
  int not_increasing = 0;
  int not_plus_one = 0;
  int wrong_prefix = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string id = gen.Next();
    if (!(id > prev)) ++not_increasing;
    if (id.compare(0, 10, prefix) != 0) ++wrong_prefix;
    // The random part of the later id is the earlier one's plus one.
    if (RandomPart(id) != PlusOne(RandomPart(prev))) ++not_plus_one;
    prev = std::move(id);
  }
  CHECK(not_increasing == 0);
  CHECK(not_plus_one == 0);
  CHECK(wrong_prefix == 0);
  CHECK(*UlidTime(prev) == clock.NowMillis());
}

TEST_CASE("keeps increasing when the clock steps back") {
  ManualClock clock(1'767'225'600'000);
  UlidGenerator gen(&clock);
  const std::string first = gen.Next();
  clock.Set(1'767'225'600'000 - 5'000);
  const std::string second = gen.Next();
  CHECK(second > first);
  // The id keeps the latest time seen, so ids still sort in creation order.
  CHECK(*UlidTime(second) == 1'767'225'600'000);
  CHECK(RandomPart(second) == PlusOne(RandomPart(first)));
  clock.Set(0);
  std::string prev = second;
  for (int i = 0; i < 1000; ++i) {
    std::string id = gen.Next();
    REQUIRE(id > prev);
    prev = std::move(id);
  }
  CHECK(*UlidTime(prev) == 1'767'225'600'000);
  // Once the clock passes the latest time again, ids carry the new time.
  clock.Set(1'767'225'600'001);
  const std::string later = gen.Next();
  CHECK(later > prev);
  CHECK(*UlidTime(later) == 1'767'225'600'001);
}

TEST_CASE("takes the new millisecond when the clock moves forward") {
  ManualClock clock(1000);
  UlidGenerator gen(&clock);
  std::string prev = gen.Next();
  for (int i = 0; i < 1000; ++i) {
    clock.Advance(1 + i % 3);
    std::string id = gen.Next();
    REQUIRE(id > prev);
    REQUIRE(*UlidTime(id) == clock.NowMillis());
    prev = std::move(id);
  }
}

TEST_CASE("gives unique increasing ids to 4 threads of 10000 calls each") {
  ManualClock clock;
  UlidGenerator gen(&clock);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&gen, &clock, &ids, t] {
      auto& mine = ids[static_cast<std::size_t>(t)];
      mine.reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) {
        if (t == 0 && i % 1000 == 0) clock.Advance(1);  // some ids in new milliseconds
        mine.push_back(gen.Next());
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::unordered_set<std::string> all;
  for (int t = 0; t < kThreads; ++t) {
    CAPTURE(t);
    const auto& mine = ids[static_cast<std::size_t>(t)];
    REQUIRE(mine.size() == kPerThread);
    int not_increasing = 0;
    for (std::size_t i = 1; i < mine.size(); ++i) {
      if (!(mine[i] > mine[i - 1])) ++not_increasing;
    }
    CHECK(not_increasing == 0);
    all.insert(mine.begin(), mine.end());
  }
  CHECK(all.size() == std::size_t{kThreads} * kPerThread);
}

TEST_CASE("uses the system clock when given none") {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  auto now = [] {
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  };
  const UnixMillis before = now();
  UlidGenerator gen;
  const std::string id = gen.Next();
  const std::string from_new = NewUlid();
  const UnixMillis after = now();
  REQUIRE(IsUlid(id));
  REQUIRE(IsUlid(from_new));
  CHECK(*UlidTime(id) >= before);
  CHECK(*UlidTime(id) <= after);
  CHECK(*UlidTime(from_new) >= before);
  CHECK(*UlidTime(from_new) <= after);
}

TEST_CASE("NewUlid returns increasing ids") {
  std::string prev = NewUlid();
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewUlid();
    REQUIRE(id > prev);
    prev = std::move(id);
  }
}

TEST_CASE("two generators on one clock start from different random parts") {
  ManualClock clock;
  UlidGenerator a(&clock);
  UlidGenerator b(&clock);
  const std::string ia = a.Next();
  const std::string ib = b.Next();
  CHECK(ia.substr(0, 10) == ib.substr(0, 10));
  CHECK(ia != ib);
}

TEST_CASE("encodes known vectors") {
  struct EncodeCase {
    UnixMillis ms;
    std::uint16_t hi;
    std::uint64_t lo;
    std::string_view expected;
  };
  // Expectations computed independently as base32 of the 128-bit number ms << 80 | random.
  const EncodeCase cases[] = {
      {0, 0, 0, "00000000000000000000000000"},
      {1, 0, 1, "00000000010000000000000001"},
      {kMaxUlidTime, 0xFFFF, ~std::uint64_t{0}, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
      {kMaxUlidTime, 0, 0, "7ZZZZZZZZZ0000000000000000"},
      {0, 0xFFFF, ~std::uint64_t{0}, "0000000000ZZZZZZZZZZZZZZZZ"},
      {0, 1, 0, "0000000000000G000000000000"},             // bit 64
      {0, 0, std::uint64_t{1} << 63, "00000000000008000000000000"},  // bit 63
      {0, 1, std::uint64_t{0xF} << 60, "0000000000000Z000000000000"},  // straddles the halves
      {0, 0x8000, 0, "0000000000G000000000000000"},  // top random bit
      {0, 0, 31, "0000000000000000000000000Z"},
      {1'469'922'850'259, 0xD676, 0x4C61EFB99302BD5B, "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
      {1'767'225'600'000, 0x1234, 0x56789ABCDEF01234, "01KDVDNA0028T5CY4TQKFF04HM"},
  };
  for (const EncodeCase& c : cases) {
    CAPTURE(c.expected);
    CHECK(EncodeUlid(c.ms, c.hi, c.lo) == c.expected);
    auto time = UlidTime(c.expected);
    REQUIRE(time.has_value());
    CHECK(*time == c.ms);
    CHECK(IsUlid(c.expected));
  }
}

TEST_CASE("sorts encoded ids by time, then by random part") {
  CHECK(EncodeUlid(1, 0, 0) > EncodeUlid(0, 0xFFFF, ~std::uint64_t{0}));
  CHECK(EncodeUlid(5, 0, 1) > EncodeUlid(5, 0, 0));
  CHECK(EncodeUlid(5, 1, 0) > EncodeUlid(5, 0, ~std::uint64_t{0}));
  CHECK(EncodeUlid(kMaxUlidTime, 0, 0) > EncodeUlid(kMaxUlidTime - 1, 0xFFFF, 0));
}

TEST_CASE("accepts only upper-case 26-character ULIDs whose time fits 48 bits") {
  struct IsUlidCase {
    std::string_view input;
    bool expected;
  };
  const IsUlidCase cases[] = {
      {"00000000000000000000000000", true},
      {"01ARZ3NDEKTSV4RRFFQ69G5FAV", true},
      {"7ZZZZZZZZZZZZZZZZZZZZZZZZZ", true},
      {"0123456789ABCDEFGHJKMNPQRS", true},
      {"00000000TVWXYZ000000000000", true},
      {"", false},
      {"0", false},
      {"0000000000000000000000000", false},    // 25
      {"000000000000000000000000000", false},  // 27
      {"01ARZ3NDEKTSV4RRFFQ69G5FA", false},
      {"01ARZ3NDEKTSV4RRFFQ69G5FAV0", false},
      {"8ZZZZZZZZZZZZZZZZZZZZZZZZZ", false},  // time overflows 48 bits
      {"80000000000000000000000000", false},
      {"Z0000000000000000000000000", false},
      {"01arz3ndektsv4rrffq69g5fav", false},  // lower case
      {"01ARZ3NDEKTSV4RRFFQ69G5FAv", false},
      {"0000000000000000000000000I", false},
      {"0000000000000000000000000L", false},
      {"0000000000000000000000000O", false},
      {"0000000000000000000000000U", false},
      {"000000000000000000000000 0", false},
      {"0000000000000000000000000-", false},
      {"0000000000000000000000000\xC3", false},
      {std::string_view("0000000000000\0" "000000000000", 26), false},
  };
  for (const IsUlidCase& c : cases) {
    CAPTURE(c.input);
    CHECK(IsUlid(c.input) == c.expected);
  }
}

TEST_CASE("reads the time of a ULID, lower case included") {
  struct TimeCase {
    std::string_view input;
    UnixMillis expected;
  };
  const TimeCase cases[] = {
      {"00000000000000000000000000", 0},
      {"00000000010000000000000000", 1},
      {"0000000010ZZZZZZZZZZZZZZZZ", 32},
      {"01ARZ3NDEKTSV4RRFFQ69G5FAV", 1'469'922'850'259},
      {"01arz3ndektsv4rrffq69g5fav", 1'469'922'850'259},
      {"01ArZ3nDeKTSV4RRFFQ69G5FAV", 1'469'922'850'259},
      {"7ZZZZZZZZZZZZZZZZZZZZZZZZZ", kMaxUlidTime},
      {"7zzzzzzzzzzzzzzzzzzzzzzzzz", kMaxUlidTime},
  };
  for (const TimeCase& c : cases) {
    CAPTURE(c.input);
    auto time = UlidTime(c.input);
    REQUIRE(time.has_value());
    CHECK(*time == c.expected);
  }
}

TEST_CASE("rejects what is not a ULID when reading its time") {
  const std::string_view cases[] = {
      "",
      "0",
      "0000000000000000000000000",
      "000000000000000000000000000",
      "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
      "80000000000000000000000000",
      "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
      "zzzzzzzzzzzzzzzzzzzzzzzzzz",
      "I0000000000000000000000000",
      "0000000000000000000000000L",
      "0000000000000000000000000o",
      "0000000000000000000000000u",
      "00000000000000000000000000 ",
      " 00000000000000000000000000",
      "0000000000000000000000000-",
      "000000000000000000000000\xC3\xA9",
      std::string_view("0000000000000\0" "000000000000", 26),
  };
  for (std::string_view input : cases) {
    CAPTURE(input);
    auto time = UlidTime(input);
    REQUIRE_FALSE(time.has_value());
    CHECK(time.error().code() == ErrorCode::kInvalidArgument);
    CHECK_FALSE(time.error().message().empty());
  }
}

TEST_CASE("round-trips time through EncodeUlid and UlidTime") {
  std::set<std::string> sorted;
  for (UnixMillis ms = 0; ms < kMaxUlidTime; ms = ms * 3 + 1) {
    const std::string id = EncodeUlid(ms, 0xABCD, 0x0123456789ABCDEF);
    CAPTURE(id);
    CHECK(*UlidTime(id) == ms);
    CHECK(IsUlid(id));
    sorted.insert(id);
  }
  // Strings sort as their times do.
  UnixMillis last = -1;
  for (const std::string& id : sorted) {
    CHECK(*UlidTime(id) > last);
    last = *UlidTime(id);
  }
}

}  // TEST_SUITE("Ulid")
