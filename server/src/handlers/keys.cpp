// SPDX-License-Identifier: Apache-2.0
// API key administration over HTTP (issue 16; docs/api.md "Rate limits and API keys"):
// POST /v1/keys, GET /v1/keys, DELETE /v1/keys/:id, and the same under /api/keys. The rules are
// the library's ApiKeyService (hub/api_keys.hpp); this file only translates HTTP. Errors are
// `{"error":"<message>","code":"<code>"}`; the key itself appears once, in the 201 of a create,
// and the hash never.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/hub/api_keys.hpp>
#include <agentcore/hub/hub.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "http/request_context.hpp"
#include "rate_limit_guard.hpp"

namespace agentcore::server {
namespace {

// Bodies are a few small members.
constexpr std::size_t kMaxKeyBodyBytes = 16 * 1024;

Response Unauthenticated() {
  return ErrorWithCode(401, kAuthenticationRequired, "unauthenticated");
}

asio::awaitable<Response> CreateKey(RequestContext& ctx) {
  Result<Principal> caller = co_await AuthenticateCaller(ctx);
  if (!caller.ok()) co_return Unauthenticated();
  Result<NewApiKeyRequest> request = ParseNewApiKeyRequest(ctx.request().body);
  if (!request.ok()) co_return StatusErrorWithCode("create api key", request.status());
  App& app = ctx.app();
  auto work = [&app, principal = *caller, in = *std::move(request)] {
    return app.hub().api_keys().CreateApiKey(principal, in);
  };
  Result<CreatedApiKey> created = co_await app.Offload(std::move(work));
  if (!created.ok()) co_return StatusErrorWithCode("create api key", created.status());
  std::string body;
  AppendApiKeyJson(created->record, created->key, &body);
  Response r = JsonResponse(201, std::move(body));
  r.headers.push_back({"Cache-Control", "no-store"});  // the key is in it
  co_return r;
}

asio::awaitable<Response> ListKeys(RequestContext& ctx) {
  Result<Principal> caller = co_await AuthenticateCaller(ctx);
  if (!caller.ok()) co_return Unauthenticated();
  App& app = ctx.app();
  auto work = [&app, principal = *caller] { return app.hub().api_keys().ListApiKeys(principal); };
  Result<std::vector<ApiKey>> keys = co_await app.Offload(std::move(work));
  if (!keys.ok()) co_return StatusErrorWithCode("list api keys", keys.status());
  std::string body = "{\"keys\":[";
  for (std::size_t i = 0; i < keys->size(); ++i) {
    if (i != 0) body.push_back(',');
    AppendApiKeyJson((*keys)[i], {}, &body);
  }
  body.append("]}");
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> RevokeKey(RequestContext& ctx) {
  Result<Principal> caller = co_await AuthenticateCaller(ctx);
  if (!caller.ok()) co_return Unauthenticated();
  App& app = ctx.app();
  auto work = [&app, principal = *caller, id = ctx.Param("id")] {
    return app.hub().api_keys().RevokeApiKey(principal, id);
  };
  Status revoked = co_await app.Offload(std::move(work));
  if (!revoked.ok()) co_return StatusErrorWithCode("revoke api key", revoked);
  Response r;
  r.status = 204;
  r.content_type.clear();
  co_return r;
}

}  // namespace

void RegisterKeyRoutes(Router& router) {
  for (std::string_view prefix : {"/v1/keys", "/api/keys"}) {
    router.Post(std::string(prefix),
                {.summary = "Creates an API key (its secret is shown once)", .tag = "keys",
                 .auth = kAuthApiKey, .body = BodyKind::kJson, .request = "ApiKeyCreate",
                 .status = 201, .response = "ApiKeyCreated", .statuses = {403}},
                CreateKey, kMaxKeyBodyBytes);
    router.Get(std::string(prefix), {.summary = "The space's API keys (never their secrets)",
                                     .tag = "keys", .auth = kAuthApiKey,
                                     .response = "ApiKeyList", .statuses = {403}},
               ListKeys);
    router.Delete(std::string(prefix) + "/:id",
                  {.summary = "Revokes an API key (204 again when revoked already)",
                   .tag = "keys", .auth = kAuthApiKey, .status = 204,
                   .reply = ReplyKind::kEmpty, .statuses = {403}},
                  RevokeKey);
  }
}

}  // namespace agentcore::server
