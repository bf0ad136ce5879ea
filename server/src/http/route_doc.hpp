// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The documentation each route carries beside its registration (Router::Get/Post/… take it).
/// The OpenAPI document (openapi/document.hpp) is built from these at startup; a route without
/// a summary, or naming a schema that openapi/schemas.cpp does not define, makes that build
/// fail, and with it App::Open: an undocumented route cannot be served.
///
/// Errors are documented partly by rule, partly per route: the builder adds 400 (a body, a
/// path parameter, a WebSocket handshake), 401 (any credential), 404 (a path parameter), 413 (a
/// body), 426 (a WebSocket route), 429 (any credential, an authentication route) and 500 to
/// every route where they apply; `statuses` lists the others (403, 409, 503…; a second success
/// such as 200 beside 201).

#include <array>
#include <string_view>

namespace agentcore::server {

/// Who may call a route: a set of these bits, any one of which suffices (0: anyone).
enum RouteAuth : unsigned {
  kAuthNone = 0,
  kAuthSession = 1u << 0,    // the `cast_session` cookie, or its JWT as `Authorization: Bearer`
  kAuthApiKey = 1u << 1,     // `Authorization: Bearer <api key>`
  kAuthContainer = 1u << 2,  // `Authorization: Container <token>` (or `Agent <token>`)
  kAuthAgentApiKey = 1u << 3,  // `X-Agent-Api-Key: <AGENT_API_KEY>` (Platform Agent, /v1)
};
/// A user: the session (cookie or JWT) or an API key.
inline constexpr unsigned kAuthUser = kAuthSession | kAuthApiKey;

/// What a request body is.
enum class BodyKind { kNone, kJson, kNdjson, kBytes };
/// What a success answers.
enum class ReplyKind {
  kJson,         // `response` names its schema
  kEmpty,        // no body (204)
  kText,         // text/plain (logs, Prometheus)
  kEventStream,  // text/event-stream (SSE), open until either side ends it
  kWebSocket,    // 101 Switching Protocols, then WebSocket messages
  kZip,          // application/zip
  kBytes,        // application/octet-stream
  kProxy,        // whatever the proxied service answers (101 included)
};

struct RouteDoc {
  std::string_view summary;      // one line; required
  std::string_view tag;          // the resource group ("channels", "sessions"…)
  unsigned auth = kAuthNone;     // RouteAuth bits
  BodyKind body = BodyKind::kNone;
  std::string_view request;      // schema of a JSON body (BodyKind::kJson)
  int status = 200;              // the success status
  ReplyKind reply = ReplyKind::kJson;
  std::string_view response;     // schema of a JSON success
  std::array<int, 4> statuses{}; // answered besides the rule above (2xx: the success body); 0: unused
  std::string_view description;  // more than the summary says (optional)
};

}  // namespace agentcore::server
