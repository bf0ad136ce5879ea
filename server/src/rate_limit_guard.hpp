// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Request rate limits around the routes (issue 16; docs/api.md "Rate limits and API keys"):
/// the rule is the library's RateLimiter (hub/rate_limits.hpp); this file only ties it to HTTP.
///
///   - A request that presents a user credential (`Authorization: Bearer …`, an API key or a
///     JWT, or the session cookie) is authenticated once here; the principal is kept in the
///     RequestContext, so the handler does not authenticate again (AuthenticateCaller). An API
///     key's bucket is the key's, a user's is the user's (RateLimitBucket). Every response of
///     the route then carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
///     (seconds); past the limit the answer is 429 `{"error":"rate limit exceeded; retry in N
///     s","code":"rate_limited"}` with `Retry-After: N`, and the handler does not run. A
///     credential that does not authenticate is left to the handler (its own 401).
///   - The authentication routes (POST under `/auth/`, `/api/auth/`, `/v1/auth/`: login,
///     register, dev login, logout) are limited per client IP instead, with the same headers
///     and 429, whatever credentials they carry.
///   - Sessions of the development login (dev mode) are not limited (RateLimitBucket).
///   - `/health`, `/v1/health` and `/` are never limited; requests without a user credential
///     (container tokens, X-Agent-Api-Key, anonymous) on other routes neither.

#include <cstdint>
#include <string_view>

#include <agentcore/hub/rate_limits.hpp>

#include "http/message.hpp"
#include "http/router.hpp"

namespace agentcore::server {

/// What the guard needs. Not owned by the routes; must outlive them.
struct RateLimitGuard {
  RateLimiter* callers = nullptr;    // per API key / user
  RateLimiter* addresses = nullptr;  // per client IP, authentication routes
  RateLimitTier defaults;            // callers whose principal carries no limit of its own
  std::uint32_t ip_requests_per_minute = 60;  // 0: authentication routes not limited
};

/// Whether `method` `pattern` is an authentication route (limited per IP; see the top of this
/// file).
bool IsAuthenticationRoute(std::string_view method, std::string_view pattern);

/// Adds `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` for `decision`.
void AddRateLimitHeaders(const RateLimitDecision& decision, Response* response);

/// The 429 of a refused `decision`, with its headers and Retry-After.
Response RateLimitedResponse(const RateLimitDecision& decision);

/// Wraps the handler (buffered or streaming) of `route` as described at the top of this file.
/// `guard`: not owned; must outlive the route.
void GuardWithRateLimits(Route& route, const RateLimitGuard* guard);

}  // namespace agentcore::server
