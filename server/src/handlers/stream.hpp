// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "http/router.hpp"

namespace agentcore::server {

/// Live channel streams: `GET /stream`, the browser WebSocket of spec cast §4.10 (session
/// cookie, or an API key as `Authorization: Bearer`), and `GET /channels/:channelId/events`,
/// the same frames as Server-Sent Events with Last-Event-ID replay (agentcore's addition).
void RegisterStreamRoutes(Router& router);

}  // namespace agentcore::server
