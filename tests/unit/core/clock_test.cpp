// SPDX-License-Identifier: Apache-2.0
#include <agentcore/clock.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "support/manual_clock.hpp"

using agentcore::ErrorCode;
using agentcore::FormatIsoTimestamp;
using agentcore::ParseIsoTimestamp;
using agentcore::SystemClock;
using agentcore::UnixMillis;
using agentcore::testing::ManualClock;

namespace {

constexpr UnixMillis kYear0 = -62'167'219'200'000;       // 0000-01-01T00:00:00.000Z
constexpr UnixMillis kYear10000 = 253'402'300'800'000;   // 10000-01-01T00:00:00.000Z

struct TimestampCase {
  UnixMillis ms;
  std::string_view text;
};

}  // namespace

TEST_SUITE("Clock") {

TEST_CASE("formats timestamps as Date.prototype.toISOString does") {
  // Expectations from node: new Date(ms).toISOString().
  const TimestampCase cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {1, "1970-01-01T00:00:00.001Z"},
      {999, "1970-01-01T00:00:00.999Z"},
      {1000, "1970-01-01T00:00:01.000Z"},
      {86'399'999, "1970-01-01T23:59:59.999Z"},
      {86'400'000, "1970-01-02T00:00:00.000Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {-1000, "1969-12-31T23:59:59.000Z"},
      {-86'400'000, "1969-12-31T00:00:00.000Z"},
      {-86'400'001, "1969-12-30T23:59:59.999Z"},
      {946'684'799'999, "1999-12-31T23:59:59.999Z"},
      {946'684'800'000, "2000-01-01T00:00:00.000Z"},
      {951'782'400'000, "2000-02-29T00:00:00.000Z"},
      {951'868'799'999, "2000-02-29T23:59:59.999Z"},
      {951'868'800'000, "2000-03-01T00:00:00.000Z"},
      {1'000'000'000'000, "2001-09-09T01:46:40.000Z"},
      {1'709'164'800'000, "2024-02-29T00:00:00.000Z"},
      {1'767'225'600'000, "2026-01-01T00:00:00.000Z"},
      {1'767'520'800'000, "2026-01-04T10:00:00.000Z"},
      {2'147'483'647'000, "2038-01-19T03:14:07.000Z"},
      {4'102'444'800'000, "2100-01-01T00:00:00.000Z"},
      {4'107'456'000'000, "2100-02-28T00:00:00.000Z"},
      {4'107'542'400'000, "2100-03-01T00:00:00.000Z"},  // 2100 is not a leap year
      {-2'203'891'201'000, "1900-02-28T23:59:59.000Z"},
      {-11'670'998'400'000, "1600-02-29T00:00:00.000Z"},
      {-62'135'596'800'000, "0001-01-01T00:00:00.000Z"},
      {kYear0, "0000-01-01T00:00:00.000Z"},
      {253'402'300'799'999, "9999-12-31T23:59:59.999Z"},
      // Outside 0000..9999, a sign and six digits.
      {kYear10000, "+010000-01-01T00:00:00.000Z"},
      {kYear0 - 1, "-000001-12-31T23:59:59.999Z"},
      {8'640'000'000'000'000, "+275760-09-13T00:00:00.000Z"},
      {-8'640'000'000'000'000, "-271821-04-20T00:00:00.000Z"},
  };
  for (const TimestampCase& c : cases) {
    CAPTURE(c.ms);
    CHECK(FormatIsoTimestamp(c.ms) == c.text);
  }
}

TEST_CASE("formats the extreme 64-bit millisecond counts") {
  // JavaScript's Date stops at +-8.64e15 ms; past it, the same proleptic Gregorian calendar
  // (java.time.Instant.ofEpochMilli prints the same dates).
  CHECK(FormatIsoTimestamp(std::numeric_limits<UnixMillis>::max()) ==
        "+292278994-08-17T07:12:55.807Z");
  CHECK(FormatIsoTimestamp(std::numeric_limits<UnixMillis>::min()) ==
        "-292275055-05-16T16:47:04.192Z");
}

TEST_CASE("parses ISO-8601 UTC timestamps") {
  // Expectations from node: Date.parse(text).
  const TimestampCase cases[] = {
      {0, "1970-01-01T00:00:00Z"},
      {0, "1970-01-01T00:00:00.000Z"},
      {0, "1970-01-01T00:00:00+00:00"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {1'767'520'800'000, "2026-01-04T10:00:00Z"},
      {1'767'520'800'000, "2026-01-04T10:00:00.000Z"},
      {1'767'520'800'000, "2026-01-04T10:00:00+00:00"},
      {1'767'520'800'500, "2026-01-04T10:00:00.5Z"},
      {1'767'520'800'120, "2026-01-04T10:00:00.12Z"},
      {1'767'520'800'123, "2026-01-04T10:00:00.123Z"},
      {1'767'520'800'250, "2026-01-04T10:00:00.250+00:00"},
      // Fraction digits past the third are truncated, not rounded.
      {1'767'520'800'123, "2026-01-04T10:00:00.1234Z"},
      {1'767'520'800'123, "2026-01-04T10:00:00.12345Z"},
      {1'767'520'800'123, "2026-01-04T10:00:00.123456Z"},
      {1'767'520'800'123, "2026-01-04T10:00:00.1234567Z"},
      {1'767'520'800'123, "2026-01-04T10:00:00.12345678Z"},
      {1'767'520'800'123, "2026-01-04T10:00:00.123456789Z"},
      {1'767'520'800'999, "2026-01-04T10:00:00.999999999Z"},
      {1'767'520'800'999, "2026-01-04T10:00:00.9999+00:00"},
      {1'767'520'800'000, "2026-01-04T10:00:00.000000000Z"},
      {1'767'520'800'001, "2026-01-04T10:00:00.001999Z"},
      {951'827'696'789, "2000-02-29T12:34:56.789Z"},
      {1'709'164'800'000, "2024-02-29T00:00:00Z"},
      {-11'670'998'400'000, "1600-02-29T00:00:00Z"},
      {-2'203'891'201'000, "1900-02-28T23:59:59Z"},
      {4'107'456'000'000, "2100-02-28T00:00:00Z"},
      {2'147'483'647'000, "2038-01-19T03:14:07Z"},
      {946'684'799'999, "1999-12-31T23:59:59.999Z"},
      {kYear0, "0000-01-01T00:00:00Z"},
      {-62'135'596'800'000, "0001-01-01T00:00:00.000Z"},
      {253'402'300'799'999, "9999-12-31T23:59:59.999Z"},
      {1'767'225'599'000, "2025-12-31T23:59:59Z"},
      {1'767'225'600'000 + 30LL * 86'400'000, "2026-01-31T00:00:00Z"},
      {1'769'817'600'000, "2026-01-31T00:00:00Z"},
      {1'772'236'800'000, "2026-02-28T00:00:00Z"},
      {1'774'915'200'000, "2026-03-31T00:00:00Z"},
  };
  for (const TimestampCase& c : cases) {
    CAPTURE(c.text);
    auto r = ParseIsoTimestamp(c.text);
    REQUIRE_MESSAGE(r.has_value(), r.status().ToString());
    CHECK(*r == c.ms);
  }
}

TEST_CASE("rejects anything but an ISO-8601 UTC timestamp") {
  const std::string_view cases[] = {
      "",
      " ",
      "garbage",
      "Z",
      "2026",
      "2026-01-04",
      "2026-01-04T",
      "2026-01-04T10",
      "2026-01-04T10:00",
      "2026-01-04T10:00Z",
      "2026-01-04T10:00:00",  // no zone: local time in JavaScript
      "2026-01-04T10:00:00.000",
      "2026-01-04T10:00:00z",
      "2026-01-04t10:00:00Z",
      "2026-01-04 10:00:00Z",
      "2026-01-04T10:00:00ZZ",
      "2026-01-04T10:00:00Z ",
      " 2026-01-04T10:00:00Z",
      "2026-01-04T10:00:00Z\n",
      "2026-01-04T10:00:00.Z",
      "2026-01-04T10:00:00.1234567890Z",  // 10 fraction digits
      "2026-01-04T10:00:00,123Z",
      "2026-01-04T10:00:00.12aZ",
      "2026-01-04T10:00:00.-1Z",
      // Offsets other than +00:00.
      "2026-01-04T10:00:00+01:00",
      "2026-01-04T10:00:00-05:00",
      "2026-01-04T10:00:00-00:00",
      "2026-01-04T10:00:00+0000",
      "2026-01-04T10:00:00+00",
      "2026-01-04T10:00:00+00:00Z",
      "2026-01-04T10:00:00Z+00:00",
      "2026-01-04T10:00:00 +00:00",
      "2026-01-04T10:00:00UTC",
      "2026-01-04T10:00:00GMT",
      // Out-of-range fields.
      "2026-00-04T10:00:00Z",
      "2026-13-04T10:00:00Z",
      "2026-01-00T10:00:00Z",
      "2026-01-32T10:00:00Z",
      "2026-02-29T10:00:00Z",  // 2026 is not a leap year
      "2026-02-30T00:00:00Z",
      "2024-02-30T00:00:00Z",
      "2100-02-29T00:00:00Z",
      "1900-02-29T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "2026-06-31T00:00:00Z",
      "2026-09-31T00:00:00Z",
      "2026-11-31T00:00:00Z",
      "2026-01-04T24:00:00Z",
      "2026-01-04T25:00:00Z",
      "2026-01-04T10:60:00Z",
      "2026-01-04T10:00:60Z",  // no leap seconds
      "2026-01-04T99:99:99Z",
      // Wrong widths, signs and separators.
      "26-01-04T10:00:00Z",
      "02026-01-04T10:00:00Z",
      "+002026-01-04T10:00:00Z",
      "-002026-01-04T10:00:00Z",
      "2026-1-04T10:00:00Z",
      "2026-01-4T10:00:00Z",
      "2026-01-04T1:00:00Z",
      "2026-01-04T10:0:00Z",
      "2026-01-04T10:00:0Z",
      "2026/01/04T10:00:00Z",
      "2026-01-04T10.00.00Z",
      "20260104T100000Z",
      "2026-+1-04T10:00:00Z",
      "2026-01-04T10:00:00.+1Z",
      "2026-01-04T-1:00:00Z",
      "\xEF\xBC\x92\xEF\xBC\x90\xEF\xBC\x92\xEF\xBC\x96-01-04T10:00:00Z",
      // Other formats.
      "Sun, 04 Jan 2026 10:00:00 GMT",
      "1767520800000",
  };
  for (std::string_view text : cases) {
    CAPTURE(text);
    auto r = ParseIsoTimestamp(text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kInvalidArgument);
    CHECK_FALSE(r.error().message().empty());
  }
  // An embedded NUL is garbage too.
  CHECK_FALSE(ParseIsoTimestamp(std::string_view("2026-01-04T10:00:00Z\0", 21)).has_value());
}

TEST_CASE("round-trips between FormatIsoTimestamp and ParseIsoTimestamp") {
  std::mt19937_64 rng(1234);
  std::uniform_int_distribution<UnixMillis> any(kYear0, kYear10000 - 1);
  for (int i = 0; i < 20000; ++i) {
    const UnixMillis ms = any(rng);
    const std::string text = FormatIsoTimestamp(ms);
    auto back = ParseIsoTimestamp(text);
    if (!back.has_value() || *back != ms) {
      FAIL(ms << " formatted as " << text << " did not parse back");
    }
  }
  // Every day boundary of four years around a leap day, and the edges of the range.
  for (UnixMillis day = 10'956; day < 10'956 + 4 * 366; ++day) {  // from 1999-12-31
    for (UnixMillis ms : {day * 86'400'000, day * 86'400'000 - 1}) {
      const std::string text = FormatIsoTimestamp(ms);
      auto back = ParseIsoTimestamp(text);
      if (!back.has_value() || *back != ms) {
        FAIL(ms << " formatted as " << text << " did not parse back");
      }
    }
  }
  for (UnixMillis ms : {kYear0, kYear0 + 1, kYear10000 - 1, UnixMillis{0}, UnixMillis{-1}}) {
    CAPTURE(ms);
    CHECK(*ParseIsoTimestamp(FormatIsoTimestamp(ms)) == ms);
  }
}

TEST_CASE("formats what it parses back to the same text in canonical form") {
  const std::string_view canonical[] = {
      "1970-01-01T00:00:00.000Z", "2026-01-04T10:00:00.123Z", "2000-02-29T23:59:59.999Z",
      "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "1969-07-20T20:17:40.000Z",
  };
  for (std::string_view text : canonical) {
    CAPTURE(text);
    auto ms = ParseIsoTimestamp(text);
    REQUIRE(ms.has_value());
    CHECK(FormatIsoTimestamp(*ms) == text);
  }
  CHECK(FormatIsoTimestamp(*ParseIsoTimestamp("2026-01-04T10:00:00+00:00")) ==
        "2026-01-04T10:00:00.000Z");
  CHECK(FormatIsoTimestamp(*ParseIsoTimestamp("2026-01-04T10:00:00.5Z")) ==
        "2026-01-04T10:00:00.500Z");
}

TEST_CASE("reads the system clock") {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  REQUIRE(SystemClock() != nullptr);
  CHECK(SystemClock() == SystemClock());
  const UnixMillis before =
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const UnixMillis now = SystemClock()->NowMillis();
  const UnixMillis after =
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  CHECK(now >= before);
  CHECK(now <= after);
}

TEST_CASE("moves the manual clock only when told") {
  ManualClock clock;
  CHECK(clock.NowMillis() == 1'767'225'600'000);
  CHECK(FormatIsoTimestamp(clock.NowMillis()) == "2026-01-01T00:00:00.000Z");
  CHECK(clock.NowMillis() == 1'767'225'600'000);
  clock.Advance(1500);
  CHECK(clock.NowMillis() == 1'767'225'601'500);
  clock.Advance(-500);
  CHECK(clock.NowMillis() == 1'767'225'601'000);
  clock.Set(42);
  CHECK(clock.NowMillis() == 42);
  const agentcore::Clock& as_clock = clock;
  CHECK(as_clock.NowMillis() == 42);
  ManualClock at(7);
  CHECK(at.NowMillis() == 7);
}

}  // TEST_SUITE("Clock")
