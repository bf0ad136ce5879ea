// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Every timeout in the library reads time through a `Clock`, so tests and embedders can drive
/// the state machines with a clock of their own (tests use a manual one) and nothing in the
/// library sleeps or polls.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>

namespace agentcore {

/// Wall-clock milliseconds since the Unix epoch (what Cast stores and ULIDs encode).
using UnixMillis = std::int64_t;

/// A source of time. Implementations must be thread-safe.
class AGENTCORE_EXPORT Clock {
 public:
  virtual ~Clock();
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;

  /// Wall-clock time in milliseconds since the Unix epoch.
  virtual UnixMillis NowMillis() const = 0;

 protected:
  Clock() = default;
};

/// The process-wide real clock. Immutable static storage; never null.
AGENTCORE_EXPORT Clock* SystemClock();

/// `ms` as JavaScript's `Date.prototype.toISOString()` prints it: `2026-01-04T10:00:00.000Z`.
AGENTCORE_EXPORT std::string FormatIsoTimestamp(UnixMillis ms);

/// Parses an ISO-8601 UTC timestamp `YYYY-MM-DDTHH:MM:SS[.fff]Z` (1 to 9 fraction digits,
/// truncated to milliseconds; `+00:00` accepted for `Z`). Errors: kInvalidArgument for anything
/// else, including out-of-range fields.
AGENTCORE_EXPORT Result<UnixMillis> ParseIsoTimestamp(std::string_view text);

}  // namespace agentcore
