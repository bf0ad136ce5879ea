// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/rate_limits.hpp>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include <agentcore/hub/credentials.hpp>

namespace agentcore {
namespace {

// A bucket's level is in units of 1/60000 token (see Bucket): one token, and one minute in ms.
constexpr std::uint64_t kUnitsPerToken = 60'000;

std::uint32_t CeilDiv(std::uint64_t a, std::uint64_t b) {
  return static_cast<std::uint32_t>((a + b - 1) / b);
}

// A decimal integer in [lo, hi], the whole of `text`; nullopt otherwise.
std::optional<std::uint32_t> ParseBounded(std::string_view text, std::uint32_t lo,
                                          std::uint32_t hi) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    return std::nullopt;
  }
  return v;
}

constexpr std::string_view kTierForm = "expected NAME=RPM:SESSIONS, e.g. pro=600:50";

}  // namespace

RateLimitTier RateLimitTiers::Resolve(std::string_view tier, std::uint32_t requests_per_minute,
                                      std::uint32_t max_running_sessions) const {
  RateLimitTier base = defaults;
  if (!tier.empty()) {
    if (auto it = tiers.find(tier); it != tiers.end()) base = it->second;
  }
  if (requests_per_minute != 0) base.requests_per_minute = requests_per_minute;
  if (max_running_sessions != 0) base.max_running_sessions = max_running_sessions;
  return base;
}

bool IsValidTierName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

Result<std::pair<std::string, RateLimitTier>> ParseRateLimitTier(std::string_view spec) {
  const std::size_t eq = spec.find('=');
  if (eq == std::string_view::npos) {
    return InvalidArgument(fmt::format("tier: missing '='; {}", kTierForm));
  }
  const std::string_view name = spec.substr(0, eq);
  if (!IsValidTierName(name)) {
    return InvalidArgument(
        fmt::format("tier: the name must be 1 to 64 characters of A-Z a-z 0-9 _ . -; {}",
                    kTierForm));
  }
  const std::string_view limits = spec.substr(eq + 1);
  const std::size_t colon = limits.find(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument(fmt::format("tier \"{}\": missing ':'; {}", name, kTierForm));
  }
  auto rpm = ParseBounded(limits.substr(0, colon), 1, kMaxRequestsPerMinute);
  if (!rpm) {
    return InvalidArgument(fmt::format("tier \"{}\": RPM must be an integer from 1 to {}; {}",
                                       name, kMaxRequestsPerMinute, kTierForm));
  }
  auto sessions = ParseBounded(limits.substr(colon + 1), 0, kMaxRunningSessionsLimit);
  if (!sessions) {
    return InvalidArgument(
        fmt::format("tier \"{}\": SESSIONS must be an integer from 0 to {}; {}", name,
                    kMaxRunningSessionsLimit, kTierForm));
  }
  return std::pair<std::string, RateLimitTier>(std::string(name), RateLimitTier{*rpm, *sessions});
}

Status RateLimitStatus(const RateLimitDecision& decision) {
  if (decision.allowed) return Status();
  return Status(ErrorCode::kRateLimited,
                fmt::format("rate limit exceeded; retry in {} s", decision.retry_after_seconds));
}

std::string RateLimitBucket(const Principal& caller) {
  switch (caller.kind) {
    case Principal::Kind::kApiKey:
      return caller.api_key_id.empty() ? std::string() : "key:" + caller.api_key_id;
    case Principal::Kind::kSession:
      if (caller.user_id.empty() || caller.mode == "dev") return {};
      return "user:" + caller.space_id + "/" + caller.user_id;
    case Principal::Kind::kContainer:
      return {};
  }
  return {};
}

std::uint32_t RequestsPerMinuteFor(const Principal& caller, const RateLimitTier& defaults) {
  return caller.requests_per_minute != 0 ? caller.requests_per_minute
                                         : defaults.requests_per_minute;
}

RateLimiter::RateLimiter(RateLimiterOptions options, Clock* clock)
    : options_(options),
      clock_(clock != nullptr ? clock : SystemClock()),
      per_shard_(std::max<std::size_t>(1, (options.max_entries + kShards - 1) / kShards)) {
  assert(options_.max_entries > 0);
}

RateLimitDecision RateLimiter::Check(std::string_view bucket, std::uint32_t requests_per_minute) {
  RateLimitDecision d;
  if (requests_per_minute == 0) return d;
  d.limit = requests_per_minute;
  const std::uint64_t rate = requests_per_minute;  // units per ms
  const std::uint64_t capacity = rate * kUnitsPerToken;
  const UnixMillis now = clock_->NowMillis();
  // The shard from the high bits of a mixed hash: the map inside uses the low ones.
  const std::size_t h = Hash()(bucket);
  Shard& shard = shards_[(static_cast<std::uint64_t>(h) * 0x9E3779B97F4A7C15ull) >> 60];

  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(bucket);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= per_shard_) {  // forget the least recently touched
      shard.buckets.erase(shard.lru.back());
      shard.lru.pop_back();
    }
    shard.lru.emplace_front(bucket);
    it = shard.buckets.emplace(shard.lru.front(), Bucket{capacity, now, shard.lru.begin()}).first;
  } else {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
  }
  Bucket& b = it->second;
  // Refill. A clock that went back refills nothing; a long pause fills the bucket (and the
  // product below cannot overflow: elapsed is capped at one minute).
  if (now > b.at) {
    const std::uint64_t elapsed = std::min<std::uint64_t>(now - b.at, kUnitsPerToken);
    b.level = std::min(capacity, b.level + elapsed * rate);
    b.at = now;
  }
  b.level = std::min(b.level, capacity);  // the limit may have shrunk
  if (b.level >= kUnitsPerToken) {
    b.level -= kUnitsPerToken;
  } else {
    d.allowed = false;
    // The next token: ceil(missing units / rate) ms, then whole seconds rounded up.
    d.retry_after_seconds = CeilDiv(CeilDiv(kUnitsPerToken - b.level, rate), 1000);
  }
  d.remaining = static_cast<std::uint32_t>(b.level / kUnitsPerToken);
  d.reset_seconds = b.level == capacity ? 0 : CeilDiv(CeilDiv(capacity - b.level, rate), 1000);
  return d;
}

std::size_t RateLimiter::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.buckets.size();
  }
  return n;
}

}  // namespace agentcore
