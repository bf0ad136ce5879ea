// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>

#include "http/message.hpp"
#include "http/router.hpp"

namespace agentcore::server {

/// Live channel streams: `GET /stream`, the browser WebSocket of spec cast §4.10 (session
/// cookie, or an API key as `Authorization: Bearer`), and `GET /channels/:channelId/events`,
/// the same frames as Server-Sent Events with Last-Event-ID replay (agentcore's addition).
void RegisterStreamRoutes(Router& router);

/// The WebSocket handshake checks /stream makes (RFC 6455 §4.2.1: `Upgrade: websocket`,
/// `Connection` with `upgrade`, version 13, a well-formed key), for other WebSocket routes
/// (the session attach): the refusal (426 or 400, its body by `error(status, text)`), or
/// nullopt with `*accept` set to the Sec-WebSocket-Accept value.
std::optional<Response> CheckWebSocketUpgrade(const Request& request, std::string* accept,
                                              Response (*error)(int, std::string_view) = CastError);

}  // namespace agentcore::server
