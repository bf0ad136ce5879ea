// SPDX-License-Identifier: Apache-2.0
#pragma once

/// What every REST handler shares: session authentication, the channel lookup scoped to the
/// caller's space, the one path from a `Status` to Cast's `{"error":"<text>"}` body, reading
/// typed members of JSON bodies, and the input checks that keep store rejections from turning
/// into 500s.
///
/// Convention: a route body is a `SessionRoute`, a coroutine returning `Result<Response>`.
/// Errors it returns carry Cast's response text as the status message and a code that maps to
/// Cast's HTTP status (kInvalidArgument 400, kNotFound 404, kAlreadyExists 409...). A store
/// error the route does not expect is wrapped with `StoreError()` (kInternal): it is logged and
/// the client sees only the route's fixed 500 text ("Failed to list channels"), as in Cast.
///
/// Store writes go through `App::Offload` with a *named* lambda (`auto work = [...]{...};
/// co_await app.Offload(std::move(work));`), never a lambda temporary written inside the
/// co_await expression: GCC 12 miscompiles the latter when the lambda captures strings by copy
/// (the copy's strings still point into the temporary's buffers; seen as free(): invalid
/// pointer in the pool thread).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include <agentcore/json.hpp>
#include <agentcore/mention/router.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>

#include "app.hpp"
#include "http/message.hpp"
#include "http/request_context.hpp"
#include "http/router.hpp"

namespace agentcore::server {

/// Cast's texts shared by several routes.
inline constexpr std::string_view kAuthenticationRequired = "Authentication required";
inline constexpr std::string_view kChannelNotFound = "Channel not found";
inline constexpr std::string_view kInvalidJsonBody = "Invalid JSON body";

/// The caller's principal (session cookie or API key). A session cookie is checked inline
/// (pure: a JWT); an API key is a store read, so it runs on the blocking pool. For routes that
/// answer errors of their own form instead of WithSession's.
asio::awaitable<Result<Principal>> AuthenticateCaller(RequestContext& ctx);

/// The body of a session-authenticated route (spec cast §4.1: every `/channels*` route).
using SessionRoute = asio::awaitable<Result<Response>> (*)(RequestContext& ctx,
                                                           const Principal& principal);

/// A route handler that authenticates the caller (401 `{"error":"Authentication required"}`),
/// runs `route`, and turns its error into a response with `RespondWith`, using `failure_text`
/// for unexpected failures.
Handler WithSession(std::string failure_text, SessionRoute route);

/// The response for `result`: the response itself, or `{"error":"<message>"}` with the HTTP
/// status of the error's code. Server-side codes (500 and up) are logged with their message
/// and answered with Cast's fixed 500 `{"error":"<failure_text>"}` instead.
Response RespondWith(Result<Response> result, std::string_view failure_text);

/// A store error a route did not expect, as kInternal (keeps the store's message for the log).
Status StoreError(const Status& store_status);

/// The channel `channel_id` when it exists and belongs to the caller's space. kNotFound with
/// `not_found_text` when it does not exist or belongs to another space (Cast checks the space
/// only on some routes, §8 #16; agentcore on all), StoreError otherwise. A store read: runs
/// inline.
Result<Channel> FindChannelInSpace(App& app, const Principal& principal,
                                   std::string_view channel_id,
                                   std::string_view not_found_text = kChannelNotFound);

/// The channel's routing roster as Cast builds it (spec cast §3.3): non-archived agents by
/// creation, the leader, and the space owner's callsign as the only user. Store reads, inline;
/// errors are StoreError.
Result<RoutingRoster> LoadRoutingRoster(App& app, const Channel& channel);

/// A channel of the caller's space (FindChannelInSpace) with all its roster entries
/// (Store::ListRoster: archived ones too, by creation). Store reads, inline.
struct ChannelWithRoster {
  Channel channel;
  std::vector<RosterEntry> roster;
};
Result<ChannelWithRoster> LoadChannelWithRoster(App& app, const Principal& principal,
                                                std::string_view channel_id);

/// The `callsign` and `agentType` of a roster or add-agent body (§4.5, §4.6): non-empty strings
/// within the key limits, else 400 "callsign and agentType are required" (or CheckKey's text).
/// The pointers point into `body`.
struct AgentFields {
  const std::string* callsign = nullptr;
  const std::string* agent_type = nullptr;
};
Result<AgentFields> RequireAgentFields(const Json& body);

// --- Reading JSON bodies (ParseJsonBody is in json_views.hpp)

/// JavaScript truthiness of an optional member (`if (body.x)`): present and not null, false,
/// 0, NaN or "".
bool IsTruthy(const Json* value);

/// Member `key` of `object` as a string: nullopt when absent or null, kInvalidArgument
/// "<key> must be a string" for another type.
Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view key);

/// Member `key` as a boolean: nullopt when absent or null, kInvalidArgument
/// "<key> must be a boolean" otherwise.
Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view key);

// --- Input checks (records.hpp input rules), so that a bad value is a 400 and not a 500

/// An id, name or callsign: at most kMaxKeyBytes bytes and no NUL. kInvalidArgument
/// "<field> is too long (max 255 bytes)" / "<field> must not contain NUL characters".
Status CheckKey(std::string_view field, std::string_view value);
/// Free text: no NUL (its length is bounded by the request body limit, far below the store's).
Status CheckText(std::string_view field, std::string_view value);

// --- Broadcasts (WebSocket and SSE subscribers of the channel)

/// Publishes the set frame of a stored message (PostedMessageFrameLine), SSE id = message id.
void PublishMessage(App& app, const Message& message, bool is_broadcast = false);
/// Publishes a live-only `agent_state` frame with a fresh id and the current time.
void PublishAgentState(App& app, std::string_view channel_id, std::string_view callsign,
                       std::string_view state);

// --- Small utilities

/// `text` without leading and trailing ASCII whitespace (JavaScript's trim() for ASCII input).
std::string_view TrimAscii(std::string_view text);
/// Writes one JSON line to stderr: {"level":"error","what":...,"status":...}.
void LogError(std::string_view what, const Status& status);

}  // namespace agentcore::server
