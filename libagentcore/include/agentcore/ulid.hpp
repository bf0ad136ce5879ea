// SPDX-License-Identifier: Apache-2.0
#pragma once

/// ULIDs: 26 characters of Crockford base32 (`0-9A-Z` without I, L, O, U), the first 10
/// encoding a 48-bit Unix time in milliseconds and the last 16 an 80-bit random number. They
/// sort as strings in creation order, which is why messages use them as ids
/// (`shared/spec/cast.md` §2.7; a Tymbal frame's message id must be one, hub/ingest.hpp). The
/// store orders a channel by its own seq, not by id, since agents choose their ids (records.hpp).
///
/// Unlike Cast's generator, ours is monotonic: two ids made in the same millisecond (or after
/// the clock stepped back) still compare in creation order, because the random part of the
/// later one is the earlier one's plus one.

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/result.hpp>

namespace agentcore {

inline constexpr std::size_t kUlidLength = 26;

/// Makes monotonic ULIDs. Thread-safe.
class AGENTCORE_EXPORT UlidGenerator {
 public:
  /// `clock` is not owned and must outlive the generator; nullptr means SystemClock().
  explicit UlidGenerator(Clock* clock = nullptr);

  /// A new id, greater than every id this generator returned before.
  std::string Next();

 private:
  Clock* const clock_;
  std::mutex mu_;
  UnixMillis last_ms_ = -1;  // guarded by mu_
  std::uint64_t hi_ = 0;     // top 16 bits of the 80-bit random part; guarded by mu_
  std::uint64_t lo_ = 0;     // low 64 bits; guarded by mu_
  std::uint64_t rng_state_;  // guarded by mu_
};

/// A new id from a process-wide generator on the system clock. Thread-safe.
AGENTCORE_EXPORT std::string NewUlid();

/// The ULID for time `ms` with the given 80-bit random part (high 16 bits, low 64 bits).
AGENTCORE_EXPORT std::string EncodeUlid(UnixMillis ms, std::uint16_t random_hi,
                                        std::uint64_t random_lo);

/// True for 26 Crockford base32 characters (upper case) whose time fits 48 bits.
AGENTCORE_EXPORT bool IsUlid(std::string_view s);

/// The millisecond time encoded in a ULID. Lower-case letters are accepted, as Crockford
/// decoding allows. Errors: kInvalidArgument when `s` is not a ULID.
AGENTCORE_EXPORT Result<UnixMillis> UlidTime(std::string_view s);

}  // namespace agentcore
