// SPDX-License-Identifier: Apache-2.0
#include "handlers/handler_support.hpp"

#include <cassert>
#include <utility>

#include <agentcore/hub/runs.hpp>


namespace agentcore::server {
namespace {

asio::awaitable<Response> RunWithSession(RequestContext& ctx, std::string failure_text,
                                         SessionRoute route) {
  // The rate-limit guard may have authenticated this request already (rate_limit_guard.hpp).
  Result<Principal> principal = ctx.principal() ? *ctx.principal()
                                                : ctx.app().Authenticate(ctx.request());
  if (!principal.has_value()) co_return CastError(401, kAuthenticationRequired);
  Result<Response> result = co_await route(ctx, *principal);
  co_return RespondWith(std::move(result), failure_text);
}

}  // namespace

Handler WithSession(std::string failure_text, SessionRoute route) {
  // Not a coroutine itself: the lambda may go away while RunWithSession's frame, which owns
  // copies of its arguments, lives on.
  return [failure_text = std::move(failure_text), route](RequestContext& ctx) {
    return RunWithSession(ctx, failure_text, route);
  };
}

Response RespondWith(Result<Response> result, std::string_view failure_text) {
  if (result.has_value()) return std::move(*result);
  const Status& status = result.status();
  int http = HttpStatusFor(status.code());
  if (http >= 500) return ServerError(failure_text, status, CastError(500, failure_text));
  return CastError(http, status.message());
}

Response ServerError(std::string_view what, const Status& cause, Response answer) {
  assert(answer.status >= 500);
  LogError(what, cause);
  return answer;
}

Response StatusErrorWithCode(std::string_view what, const Status& status,
                             std::string_view code) {
  const int http = HttpStatusFor(status.code());
  if (http == 500) return ServerError(what, status, ErrorWithCode(500, "internal error", "internal"));
  if (http > 500) LogError(what, status);
  return ErrorWithCode(http, status.message(),
                       code.empty() ? ErrorCodeName(status.code()) : code);
}

Response RunErrorResponse(std::string_view what, const Status& status) {
  const int http = HttpStatusFor(status.code());
  const std::string_view code = RunErrorCode(status);
  if (http >= 500) {
    return ServerError(what, status,
                       CodedError(http, code,
                                  http == 503 ? "the service is unavailable, try again later"
                                              : "internal error"));
  }
  return CodedError(http, code, status.message());
}

Status StoreError(const Status& store_status) {
  return Status(ErrorCode::kInternal, store_status.ToString());
}

asio::awaitable<Result<Principal>> AuthenticateCaller(RequestContext& ctx) {
  // Once per request: the rate-limit guard may have done it (rate_limit_guard.hpp).
  if (ctx.principal()) co_return *ctx.principal();
  App& app = ctx.app();
  const Request& request = ctx.request();
  if (CredentialService::ReadsStore(request.Find("Authorization").value_or(""))) {
    auto authenticate = [&app, &request] { return app.Authenticate(request); };
    ctx.principal() = co_await app.Offload(std::move(authenticate));
  } else {
    ctx.principal() = app.Authenticate(request);
  }
  co_return *ctx.principal();
}

}  // namespace agentcore::server
