// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Throttling of failed authentication per client (issue 13 §5): a client that presents wrong
/// credentials too often is refused for a while without its credentials being checked, so an
/// attacker cannot try keys or tokens at the speed of the server.
///
/// The rule: failures of one client are counted in a window that opens with its first failure
/// and lasts `window`; the `max_failures`-th failure in a window blocks the client for
/// `window` from that failure. While blocked, Check answers kRateLimited with the time left;
/// nothing a blocked client sends is counted. Successful authentications are not reported and
/// never reset the count (one valid key must not buy unlimited guesses with others).
///
/// Memory is bounded: at most `max_clients` clients are remembered. When the table is full,
/// the client touched least recently is forgotten first (LRU), so a flood of distinct
/// addresses costs a fixed amount of memory; it can at worst make the throttle forget a
/// client, never grow.
///
/// The client key is the embedder's choice (the server uses the peer's IP address). Behind a
/// reverse proxy every client has the proxy's address: the embedder must then pass the
/// address the proxy reports, or turn throttling off.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/status.hpp>

namespace agentcore {

struct AuthThrottleOptions {
  /// Failures in one window that block the client; 0 turns throttling off.
  std::size_t max_failures = 20;
  /// Length of the counting window, and of a block.
  std::chrono::milliseconds window{10'000};
  /// Clients remembered at most (least recently touched forgotten first). REQUIRES: > 0.
  std::size_t max_clients = 16'384;
};

/// See the top of this file. Thread-safe (one mutex; every call is O(1)). While no client is
/// blocked, Check takes no lock (one atomic load), so the usual request pays almost nothing.
/// The clock is not owned and must outlive the throttle.
class AGENTCORE_EXPORT AuthThrottle {
 public:
  explicit AuthThrottle(AuthThrottleOptions options, Clock* clock = SystemClock());
  AuthThrottle(const AuthThrottle&) = delete;
  AuthThrottle& operator=(const AuthThrottle&) = delete;

  /// OK when `client` may try to authenticate now. kRateLimited "too many failed
  /// authentication attempts; retry in N s" while it is blocked; RetryAfter tells how long.
  Status Check(std::string_view client);

  /// Milliseconds until `client` is no longer blocked (0 when it is not blocked).
  std::chrono::milliseconds RetryAfter(std::string_view client);

  /// Counts one failed authentication of `client` (ignored while it is blocked, and when
  /// throttling is off).
  void RecordFailure(std::string_view client);

  /// Clients remembered now (<= options().max_clients).
  std::size_t size() const;
  const AuthThrottleOptions& options() const { return options_; }

 private:
  struct Entry {
    UnixMillis window_start = 0;
    UnixMillis blocked_until = 0;
    std::size_t failures = 0;
    std::list<std::string>::iterator lru;  // position in lru_
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  /// REQUIRES: mu_ held.
  UnixMillis BlockedUntilLocked(std::string_view client, UnixMillis now);

  // Constant after construction.
  const AuthThrottleOptions options_;
  Clock* const clock_;

  // The latest blocked_until of any client: Check is lock-free while the clock is past it.
  std::atomic<UnixMillis> blocks_end_{0};
  mutable std::mutex mu_;
  // Guarded by mu_. lru_ front: most recently touched.
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> clients_;
  std::list<std::string> lru_;
};

}  // namespace agentcore
