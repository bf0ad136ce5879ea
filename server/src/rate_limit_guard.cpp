// SPDX-License-Identifier: Apache-2.0
#include "rate_limit_guard.hpp"

#include <memory>
#include <string>
#include <utility>
#include <variant>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "http/request_context.hpp"

namespace agentcore::server {
namespace {

using Started = std::variant<Response, std::unique_ptr<BodyConsumer>>;

// A credential this guard limits by: a Bearer value (API key or JWT) or the session cookie.
// Container tokens and Platform Agent's X-Agent-Api-Key are not limited here.
bool PresentsUserCredential(const Request& request) {
  if (CredentialService::PresentsBearer(request.Find("Authorization").value_or(""))) return true;
  auto cookie = request.Find("Cookie");
  return cookie && FindCookie(*cookie, kSessionCookieName).has_value();
}

bool IsUnlimitedRoute(std::string_view pattern) {
  return pattern == "/health" || pattern == "/ready" || pattern == "/v1/health" || pattern == "/";
}

// The caller's decision, authenticating once (the principal stays in ctx for the handler). An
// unlimited caller, or one whose credential fails, gets a decision with limit 0.
asio::awaitable<RateLimitDecision> DecideForCaller(RequestContext& ctx,
                                                   const RateLimitGuard* guard) {
  if (!ctx.principal()) {
    App& app = ctx.app();
    const Request& request = ctx.request();
    if (CredentialService::ReadsStore(request.Find("Authorization").value_or(""))) {
      auto authenticate = [&app, &request] { return app.Authenticate(request); };
      ctx.principal() = co_await app.Offload(std::move(authenticate));
    } else {
      ctx.principal() = app.Authenticate(request);
    }
  }
  const Result<Principal>& caller = *ctx.principal();
  if (!caller.ok()) co_return RateLimitDecision{};  // the handler answers its own 401
  const std::string bucket = RateLimitBucket(*caller);
  if (bucket.empty()) co_return RateLimitDecision{};
  co_return guard->callers->Check(bucket, RequestsPerMinuteFor(*caller, guard->defaults));
}

RateLimitDecision DecideForAddress(RequestContext& ctx, const RateLimitGuard* guard) {
  return guard->addresses->Check("ip:" + ctx.request().remote_address,
                                 guard->ip_requests_per_minute);
}

// Adds the headers to the response a streamed body ends with.
class HeaderedConsumer final : public BodyConsumer {
 public:
  HeaderedConsumer(std::unique_ptr<BodyConsumer> inner, RateLimitDecision decision)
      : inner_(std::move(inner)), decision_(decision) {}
  asio::awaitable<Status> OnData(std::string_view bytes) override {
    return inner_->OnData(bytes);
  }
  asio::awaitable<Response> OnEnd() override {
    Response r = co_await inner_->OnEnd();
    AddRateLimitHeaders(decision_, &r);
    co_return r;
  }
  asio::awaitable<void> OnAbort() override { return inner_->OnAbort(); }

 private:
  std::unique_ptr<BodyConsumer> inner_;
  const RateLimitDecision decision_;
};

// The coroutines take the handler by shared pointer and the guard by pointer: a copy each
// lives in the frame, whatever happens to the lambda that started it.
asio::awaitable<Response> Limited(RequestContext& ctx, std::shared_ptr<const Handler> inner,
                                  const RateLimitGuard* guard, bool by_address) {
  const RateLimitDecision d =
      by_address ? DecideForAddress(ctx, guard) : co_await DecideForCaller(ctx, guard);
  if (d.limit == 0) co_return co_await (*inner)(ctx);
  if (!d.allowed) co_return RateLimitedResponse(d);
  Response r = co_await (*inner)(ctx);
  AddRateLimitHeaders(d, &r);
  co_return r;
}

asio::awaitable<Started> LimitedStreaming(RequestContext& ctx,
                                          std::shared_ptr<const StreamingHandler> inner,
                                          const RateLimitGuard* guard, bool by_address) {
  const RateLimitDecision d =
      by_address ? DecideForAddress(ctx, guard) : co_await DecideForCaller(ctx, guard);
  if (d.limit == 0) co_return co_await (*inner)(ctx);
  if (!d.allowed) co_return Started(RateLimitedResponse(d));
  Started started = co_await (*inner)(ctx);
  if (Response* early = std::get_if<Response>(&started)) {
    AddRateLimitHeaders(d, early);
    co_return started;
  }
  co_return Started(std::make_unique<HeaderedConsumer>(
      std::move(std::get<std::unique_ptr<BodyConsumer>>(started)), d));
}

}  // namespace

bool IsAuthenticationRoute(std::string_view method, std::string_view pattern) {
  return method == "POST" && (pattern.starts_with("/auth/") || pattern.starts_with("/api/auth/") ||
                              pattern.starts_with("/v1/auth/"));
}

void AddRateLimitHeaders(const RateLimitDecision& d, Response* response) {
  response->headers.push_back({"RateLimit-Limit", std::to_string(d.limit)});
  response->headers.push_back({"RateLimit-Remaining", std::to_string(d.remaining)});
  response->headers.push_back({"RateLimit-Reset", std::to_string(d.reset_seconds)});
}

Response RateLimitedResponse(const RateLimitDecision& d) {
  Response r = ErrorWithCode(429, RateLimitStatus(d).message(), "rate_limited");
  AddRateLimitHeaders(d, &r);
  r.headers.push_back({"Retry-After", std::to_string(d.retry_after_seconds)});
  return r;
}

void GuardWithRateLimits(Route& route, const RateLimitGuard* guard) {
  if (IsUnlimitedRoute(route.pattern)) return;
  const bool by_address = IsAuthenticationRoute(route.method, route.pattern);
  if (by_address && guard->ip_requests_per_minute == 0) return;
  // Not coroutines themselves: requests that are not limited go straight to the handler, with
  // no extra frame.
  if (route.handler) {
    auto inner = std::make_shared<const Handler>(std::move(route.handler));
    route.handler = [inner, guard, by_address](RequestContext& ctx) -> asio::awaitable<Response> {
      if (!by_address && !PresentsUserCredential(ctx.request())) return (*inner)(ctx);
      return Limited(ctx, inner, guard, by_address);
    };
  }
  if (route.streaming) {
    auto inner = std::make_shared<const StreamingHandler>(std::move(route.streaming));
    route.streaming = [inner, guard, by_address](RequestContext& ctx)
        -> asio::awaitable<Started> {
      if (!by_address && !PresentsUserCredential(ctx.request())) return (*inner)(ctx);
      return LimitedStreaming(ctx, inner, guard, by_address);
    };
  }
}

}  // namespace agentcore::server
