// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Request rate limits per caller (issue 16, "API keys, rate limits, quotas").
///
/// Every caller has a **token bucket**: it holds at most `requests_per_minute` tokens, starts
/// full, and refills continuously at `requests_per_minute` tokens per minute (one token every
/// 60000 / requests_per_minute ms; the arithmetic is exact, in integers). A request takes one
/// token; a request that finds less than one is refused and told, in whole seconds rounded
/// up, when the next token arrives (Retry-After) and when the bucket is full again
/// (RateLimit-Reset, the IETF draft's header). A refused request takes nothing.
///
/// Who a caller is (RateLimitBucket): an API key by its id, a user (session cookie or JWT) by
/// its space and user id; an unauthenticated request by its client address (the server keeps
/// a second RateLimiter for those). How many requests it may make (RequestsPerMinuteFor): its
/// key's own value, else its key's tier's, else the defaults (RateLimitTiers::Resolve; the
/// credential service resolves a key's limits into its Principal).
///
/// Tiers come from configuration (`--tier NAME=RPM:SESSIONS`, ParseRateLimitTier): a name
/// with a requests-per-minute and a cap on running sessions. A key names at most one tier;
/// values stored on the key itself override its tier's.
///
/// Memory is bounded: a RateLimiter remembers at most `max_entries` buckets; when full, the
/// bucket touched least recently is forgotten (it comes back full, which can only let a caller
/// through, never block one wrongly). A flood of distinct keys or addresses costs a fixed
/// amount of memory.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

namespace agentcore {

struct Principal;

/// The limits of one tier (or of callers with no tier). Value type.
struct RateLimitTier {
  /// Requests per minute (the bucket's capacity and refill per minute); 0: not limited.
  std::uint32_t requests_per_minute = 100;
  /// Sessions in `creating` or `running` at once (hub/sessions.hpp); 0: not capped.
  std::uint32_t max_running_sessions = 10;
};

/// The tiers of a configuration, by name, and the defaults of callers without one (or with a
/// tier no longer configured). Value type.
struct RateLimitTiers {
  RateLimitTier defaults;
  std::map<std::string, RateLimitTier, std::less<>> tiers;

  /// The limits of a caller whose key names `tier` (may be empty) and carries its own
  /// `requests_per_minute` and `max_running_sessions` (0: not set). Each value is the key's own
  /// when set, else the tier's when the tier is configured, else the defaults'. Pure.
  RateLimitTier Resolve(std::string_view tier, std::uint32_t requests_per_minute,
                        std::uint32_t max_running_sessions) const;
  /// Whether `tier` is configured.
  bool Has(std::string_view tier) const { return tiers.find(tier) != tiers.end(); }
};

/// The most requests per minute or running sessions a tier or key may name (larger values are
/// refused by ParseRateLimitTier and the key service: they could only be typos).
inline constexpr std::uint32_t kMaxRequestsPerMinute = 10'000'000;
inline constexpr std::uint32_t kMaxRunningSessionsLimit = 100'000;

/// Whether `name` may name a tier: 1 to 64 bytes of [A-Za-z0-9_.-].
AGENTCORE_EXPORT bool IsValidTierName(std::string_view name);

/// One `--tier` value, `NAME=RPM:SESSIONS` (e.g. "pro=600:50"): a valid tier name, then two
/// decimal integers, RPM in 1..kMaxRequestsPerMinute and SESSIONS in
/// 0..kMaxRunningSessionsLimit. Errors: kInvalidArgument saying which part is wrong and the
/// expected form. Pure.
AGENTCORE_EXPORT Result<std::pair<std::string, RateLimitTier>> ParseRateLimitTier(
    std::string_view spec);

/// The outcome of one RateLimiter::Check. Value type.
struct RateLimitDecision {
  bool allowed = true;
  /// The bucket's capacity (RateLimit-Limit); 0 when the caller is not limited.
  std::uint32_t limit = 0;
  /// Whole tokens left after this request (RateLimit-Remaining).
  std::uint32_t remaining = 0;
  /// Seconds, rounded up, until the bucket is full again (RateLimit-Reset); 0 when full.
  std::uint32_t reset_seconds = 0;
  /// Refused requests only: seconds, rounded up, until one token is back (Retry-After); >= 1.
  std::uint32_t retry_after_seconds = 0;
};

/// kRateLimited "rate limit exceeded; retry in N s" for a refused decision (N its
/// retry_after_seconds); OK for an allowed one.
AGENTCORE_EXPORT Status RateLimitStatus(const RateLimitDecision& decision);

/// The bucket of `caller`: "key:<api key id>" for an API key, "user:<space id>/<user id>" for
/// a session or JWT user; empty (not limited) for other callers: containers (agents' own
/// traffic is bounded by the agent caps, not by this) and sessions of the development login
/// (mode "dev": a development server on loopback, whose users are whoever runs it, and which
/// the benchmarks drive at full speed).
AGENTCORE_EXPORT std::string RateLimitBucket(const Principal& caller);

/// The caller's requests per minute: Principal::requests_per_minute when set (an API key's,
/// resolved through the tiers by the credential service), else `defaults`'.
AGENTCORE_EXPORT std::uint32_t RequestsPerMinuteFor(const Principal& caller,
                                                    const RateLimitTier& defaults);

struct RateLimiterOptions {
  /// Buckets remembered at most (least recently touched forgotten first). REQUIRES: > 0.
  std::size_t max_entries = 65'536;
};

/// The token buckets of many callers, as described at the top of this file. Thread-safe:
/// buckets are spread over 16 shards by the hash of their name, each with its own mutex, and
/// Check takes one shard's lock once, for O(1) work (a hash lookup and a list splice) with no
/// allocation for a bucket seen before. The clock is not owned and must outlive the limiter.
class AGENTCORE_EXPORT RateLimiter {
 public:
  explicit RateLimiter(RateLimiterOptions options = {}, Clock* clock = SystemClock());
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  /// Takes one token from the bucket `bucket`, whose capacity and refill per minute is
  /// `requests_per_minute`, or refuses the request when less than one token is left (then
  /// nothing is taken). `requests_per_minute` 0: not limited (allowed, limit 0, nothing
  /// remembered). A bucket whose limit changed keeps its tokens, up to the new capacity.
  RateLimitDecision Check(std::string_view bucket, std::uint32_t requests_per_minute);

  /// Buckets remembered now (<= options().max_entries, give or take one per shard).
  std::size_t size() const;
  const RateLimiterOptions& options() const { return options_; }

 private:
  static constexpr std::size_t kShards = 16;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct Bucket {
    // Tokens in units of 1/60000 token: refilling `limit` tokens per 60000 ms adds exactly
    // `limit` units per ms, so every figure is an integer.
    std::uint64_t level = 0;
    UnixMillis at = 0;  // when `level` was last brought up to date
    std::list<std::string>::iterator lru;  // position in Shard::lru (front: newest)
  };
  struct Shard {
    mutable std::mutex mu;
    // Guarded by mu.
    std::unordered_map<std::string, Bucket, Hash, std::equal_to<>> buckets;
    std::list<std::string> lru;
  };

  // Constant after construction.
  const RateLimiterOptions options_;
  Clock* const clock_;
  const std::size_t per_shard_;
  // Each shard has its own lock.
  std::array<Shard, kShards> shards_;
};

}  // namespace agentcore
