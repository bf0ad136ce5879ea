// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/auth_throttle.hpp>

#include <cassert>
#include <utility>

#include <fmt/format.h>

namespace agentcore {

AuthThrottle::AuthThrottle(AuthThrottleOptions options, Clock* clock)
    : options_(options), clock_(clock != nullptr ? clock : SystemClock()) {
  assert(options_.max_clients > 0);
}

UnixMillis AuthThrottle::BlockedUntilLocked(std::string_view client, UnixMillis now) {
  if (clients_.empty()) return 0;  // the usual case: nobody has failed lately
  auto it = clients_.find(client);
  if (it == clients_.end() || it->second.blocked_until <= now) return 0;
  return it->second.blocked_until;
}

Status AuthThrottle::Check(std::string_view client) {
  if (options_.max_failures == 0) return Status();
  const UnixMillis now = clock_->NowMillis();
  if (now >= blocks_end_.load(std::memory_order_acquire)) return Status();  // nobody blocked
  UnixMillis until = 0;
  {
    std::lock_guard lock(mu_);
    until = BlockedUntilLocked(client, now);
  }
  if (until == 0) return Status();
  // Whole seconds, rounded up: what a Retry-After header can say.
  const UnixMillis seconds = (until - now + 999) / 1000;
  return Status(ErrorCode::kRateLimited,
                fmt::format("too many failed authentication attempts; retry in {} s", seconds));
}

std::chrono::milliseconds AuthThrottle::RetryAfter(std::string_view client) {
  if (options_.max_failures == 0) return std::chrono::milliseconds(0);
  const UnixMillis now = clock_->NowMillis();
  std::lock_guard lock(mu_);
  const UnixMillis until = BlockedUntilLocked(client, now);
  return std::chrono::milliseconds(until == 0 ? 0 : until - now);
}

void AuthThrottle::RecordFailure(std::string_view client) {
  if (options_.max_failures == 0) return;
  const UnixMillis now = clock_->NowMillis();
  const UnixMillis window = options_.window.count();
  std::lock_guard lock(mu_);
  auto it = clients_.find(client);
  if (it == clients_.end()) {
    if (clients_.size() >= options_.max_clients) {
      // Full: forget the client touched least recently (the back of the list).
      clients_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.emplace_front(client);
    it = clients_.emplace(lru_.front(), Entry{now, 0, 0, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);  // now the most recently touched
  }
  Entry& e = it->second;
  if (e.blocked_until > now) return;  // blocked: not even checked, so not counted
  if (now - e.window_start >= window || now < e.window_start) {
    e.window_start = now;  // the last window is over: a new one opens with this failure
    e.failures = 0;
  }
  if (++e.failures >= options_.max_failures) {
    e.blocked_until = now + window;
    if (e.blocked_until > blocks_end_.load(std::memory_order_relaxed)) {
      blocks_end_.store(e.blocked_until, std::memory_order_release);  // under mu_: no race
    }
    e.window_start = e.blocked_until;  // counting starts afresh once the block ends
    e.failures = 0;
  }
}

std::size_t AuthThrottle::size() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

}  // namespace agentcore
