// SPDX-License-Identifier: Apache-2.0
#pragma once

/// What every REST handler shares: session authentication and the one path from a `Status` to
/// Cast's `{"error":"<text>"}` body. The channel lookup scoped to the caller's space is the
/// hub's (ChannelService::Find). The input rules (CheckKey, CheckText, IsTruthy, OptionalString,
/// OptionalBool, RequireAgentFields) are the library's, in hub/channels.hpp.
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

#include <agentcore/hub/channels.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>

#include "app.hpp"
#include "error_log.hpp"
#include "http/message.hpp"
#include "http/request_context.hpp"
#include "http/router.hpp"

namespace agentcore::server {

/// Cast's texts shared by several routes.
inline constexpr std::string_view kAuthenticationRequired = "Authentication required";
inline constexpr std::string_view kChannelNotFound = kChannelNotFoundText;
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

/// The answer of a `/v1` route to a run service error (hub/runs.hpp): `{"error":"<wire code>",
/// "message":"…"}` with RunErrorCode and the HTTP status of the ErrorCode. Server-side
/// failures (500 and up) are logged with their cause (`what`) and answered with a fixed
/// message.
Response RunErrorResponse(std::string_view what, const Status& status);

/// The execbox/Octo answer (`{"error":"<message>","code":"<code>"}`, http/message.hpp
/// ErrorWithCode) to a library error: the status's HTTP code, its message, and `code` (empty:
/// ErrorCodeName of the status). A 500 is logged with its cause (`what`) and says only
/// "internal error"; other 5xx keep their message (what is missing is the client's to know)
/// and are logged too.
Response StatusErrorWithCode(std::string_view what, const Status& status,
                             std::string_view code = {});

/// A store error a route did not expect, as kInternal (keeps the store's message for the log).
Status StoreError(const Status& store_status);

/// The one way a handler answers 5xx: logs `cause` once (LogError(what, cause)) and returns
/// `answer`, whose body says only what the client may know. Every 5xx of a handler goes
/// through here (RespondWith included), so each one leaves its cause in the log.
/// REQUIRES: answer.status >= 500.
Response ServerError(std::string_view what, const Status& cause, Response answer);

}  // namespace agentcore::server
