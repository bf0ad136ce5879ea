// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Per-IP throttling of failed authentication around every route (issue 13 §5): the rule is
/// the library's AuthThrottle (hub/auth_throttle.hpp); this file only ties it to HTTP. A request
/// that presents credentials (an Authorization header or the session cookie) from a client IP
/// the throttle blocks is answered 429 `{"error":"too_many_requests","message":…}` with
/// `Retry-After` before its handler runs, so its credentials cost nothing. A 401 answered to a
/// request that presented credentials counts as one failure of its IP. Requests without
/// credentials are never throttled nor counted (they cannot guess anything).

#include <agentcore/hub/auth_throttle.hpp>

#include "http/message.hpp"
#include "http/router.hpp"

namespace agentcore::server {

/// Whether `request` carries a credential: a non-empty Authorization or X-Agent-Api-Key
/// header, or a `cast_session` cookie.
bool PresentsCredentials(const Request& request);

/// Wraps the handler (buffered or streaming) of `route` as described at the top of this
/// file. `throttle`: not owned; must outlive the route.
void GuardWithThrottle(Route& route, AuthThrottle* throttle);

}  // namespace agentcore::server
