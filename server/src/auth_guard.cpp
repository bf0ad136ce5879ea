// SPDX-License-Identifier: Apache-2.0
#include "auth_guard.hpp"

#include <memory>
#include <string>
#include <utility>
#include <variant>

#include <agentcore/auth/tokens.hpp>

#include "http/request_context.hpp"

namespace agentcore::server {
namespace {

// 429 with the throttle's text and Retry-After in whole seconds (at least 1).
Response TooManyRequests(AuthThrottle& throttle, const std::string& client, const Status& s) {
  Response r = CodedError(429, "too_many_requests", s.message());
  const auto ms = throttle.RetryAfter(client).count();
  r.headers.push_back({"Retry-After", std::to_string(ms <= 0 ? 1 : (ms + 999) / 1000)});
  return r;
}

// The coroutines take the handler by shared pointer and the throttle by pointer: a copy each
// lives in the frame, whatever happens to the lambda that started it.
asio::awaitable<Response> Guarded(RequestContext& ctx, std::shared_ptr<const Handler> inner,
                                  AuthThrottle* throttle) {
  const std::string client = ctx.request().remote_address;
  if (Status s = throttle->Check(client); !s.ok()) {
    co_return TooManyRequests(*throttle, client, s);
  }
  Response r = co_await (*inner)(ctx);
  if (r.status == 401) throttle->RecordFailure(client);
  co_return r;
}

using Started = std::variant<Response, std::unique_ptr<BodyConsumer>>;

asio::awaitable<Started> GuardedStreaming(RequestContext& ctx,
                                          std::shared_ptr<const StreamingHandler> inner,
                                          AuthThrottle* throttle) {
  const std::string client = ctx.request().remote_address;
  if (Status s = throttle->Check(client); !s.ok()) {
    co_return Started(TooManyRequests(*throttle, client, s));
  }
  Started started = co_await (*inner)(ctx);
  if (const Response* early = std::get_if<Response>(&started); early && early->status == 401) {
    throttle->RecordFailure(client);
  }
  co_return started;
}

}  // namespace

bool PresentsCredentials(const Request& request) {
  if (auto auth = request.Find("Authorization"); auth && !auth->empty()) return true;
  // Platform Agent's key header on the /v1 routes (hub/runs.hpp AuthenticateAgentApiKey).
  if (auto key = request.Find("X-Agent-Api-Key"); key && !key->empty()) return true;
  auto cookie = request.Find("Cookie");
  return cookie && FindCookie(*cookie, kSessionCookieName).has_value();
}

void GuardWithThrottle(Route& route, AuthThrottle* throttle) {
  // Not coroutines themselves: requests without credentials go straight to the handler, with
  // no extra frame.
  if (route.handler) {
    auto inner = std::make_shared<const Handler>(std::move(route.handler));
    route.handler = [inner, throttle](RequestContext& ctx) -> asio::awaitable<Response> {
      if (!PresentsCredentials(ctx.request())) return (*inner)(ctx);
      return Guarded(ctx, inner, throttle);
    };
  }
  if (route.streaming) {
    auto inner = std::make_shared<const StreamingHandler>(std::move(route.streaming));
    route.streaming = [inner, throttle](RequestContext& ctx) -> asio::awaitable<Started> {
      if (!PresentsCredentials(ctx.request())) return (*inner)(ctx);
      return GuardedStreaming(ctx, inner, throttle);
    };
  }
}

}  // namespace agentcore::server
