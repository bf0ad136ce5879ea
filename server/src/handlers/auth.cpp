// SPDX-License-Identifier: Apache-2.0
// spec cast §4.2: dev login (mounted only with AUTH_MODE=dev), the session check and logout.
// The rules (which account a login finds or creates, the session and its cookie) are the hub's
// (hub/accounts.hpp); the routes parse, make one call and write Cast's JSON.
#include <string>
#include <utility>
#include <vector>

#include <agentcore/hub/accounts.hpp>
#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

bool DevMode(RequestContext& ctx) { return ctx.app().config().auth_mode == "dev"; }

// Outside dev mode Cast does not mount /auth/dev at all: answer as the engine answers a path
// without a route.
Response NoRoute(RequestContext& ctx) {
  return CodedError(404, "not_found",
                    "no route for " + ctx.request().method + " " + ctx.request().path);
}

// The cookie attributes: Secure in production; no Domain (agentcore serves the frontend's
// host or localhost; Cast derives a Domain from FRONTEND_URL, which we do not read).
SessionCookiePolicy CookiePolicy(App& app) { return {app.config().production, ""}; }

asio::awaitable<Result<Response>> DevLoginRoute(RequestContext& ctx) {
  App& app = ctx.app();
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return body.status();
  // kInvalidArgument, kNotFound ("Space not found", "Space owner not found") or kInternal.
  const SessionCookiePolicy cookie = CookiePolicy(app);
  auto login = [&accounts = app.hub().accounts(), &body, &cookie] {
    return accounts.DevLogin(*body, cookie);
  };
  Result<DevLoginResult> login_result = co_await app.Offload(std::move(login));
  if (!login_result.has_value()) co_return login_result.status();
  const Account& account = login_result->account;
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Field("userId", account.user.id).Field("spaceId", account.space.id).Key("user");
  WriteUserJson(w, account.user, UserView::kSession);
  w.Key("space");
  WriteSpaceJson(w, account.space, SpaceView::kSession);
  w.EndObject();
  Response response = JsonResponse(login_result->created ? 201 : 200, std::move(out));
  response.headers.push_back({"Set-Cookie", std::move(login_result->set_cookie)});
  co_return response;
}

asio::awaitable<Response> DevLogin(RequestContext& ctx) {
  if (!DevMode(ctx)) co_return NoRoute(ctx);
  co_return RespondWith(co_await DevLoginRoute(ctx), "Login failed");
}

asio::awaitable<Result<Response>> DevSpacesRoute(App& app) {
  auto list = [&accounts = app.hub().accounts()] { return accounts.ListDevSpaces(); };
  Result<std::vector<SpaceListing>> spaces = co_await app.Offload(std::move(list));
  if (!spaces.has_value()) co_return spaces.status();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("spaces").BeginArray();
  for (const SpaceListing& listing : *spaces) {
    w.BeginObject().Key("space");
    WriteSpaceJson(w, listing.space, SpaceView::kListing);
    w.Key("owner");
    WriteUserJson(w, listing.owner, UserView::kListing);
    w.EndObject();
  }
  w.EndArray().EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> DevSpaces(RequestContext& ctx) {
  if (!DevMode(ctx)) co_return NoRoute(ctx);
  co_return RespondWith(co_await DevSpacesRoute(ctx.app()), "Failed to list spaces");
}

asio::awaitable<Result<Response>> MeRoute(RequestContext& ctx) {
  App& app = ctx.app();
  const Request& request = ctx.request();
  // kUnauthenticated "Not authenticated", kNotFound "Session invalid" or kInternal.
  auto read = [&accounts = app.hub().accounts(), &request] {
    return accounts.SessionAccount(request.Find("Authorization").value_or(""),
                                   request.Find("Cookie").value_or(""));
  };
  Result<Account> account = co_await app.Offload(std::move(read));
  if (!account.has_value()) {
    if (account.status().code() != ErrorCode::kNotFound) co_return account.status();
    // The session names a user or space that no longer exists: Cast answers 401 and drops
    // the cookie.
    Response response = CastError(401, account.status().message());
    response.headers.push_back({"Set-Cookie", AccountService::ClearedCookie(CookiePolicy(app))});
    co_return response;
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject()
      .Field("userId", account->user.id)
      .Field("spaceId", account->space.id)
      .Field("mode", account->mode)
      .Key("user");
  WriteUserJson(w, account->user, UserView::kMe);
  w.Key("space");
  WriteSpaceJson(w, account->space, SpaceView::kSession);
  w.EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> Me(RequestContext& ctx) {
  co_return RespondWith(co_await MeRoute(ctx), "Failed to get session info");
}

asio::awaitable<Response> Logout(RequestContext& ctx) {
  Response response = JsonResponse(200, R"({"ok":true})");
  response.headers.push_back(
      {"Set-Cookie", AccountService::ClearedCookie(CookiePolicy(ctx.app()))});
  co_return response;
}

}  // namespace

void RegisterAuthRoutes(Router& router) {
  constexpr std::string_view kDevOnly = "Only with AUTH_MODE=dev; otherwise 404 like an unknown route.";
  router.Get("/auth/dev/spaces", {.summary = "Development login: the spaces to log in to",
                                  .tag = "auth", .response = "DevSpaces", .statuses = {404},
                                  .description = kDevOnly},
             DevSpaces);
  router.Post("/auth/dev/login",
              {.summary = "Development login: as a space's owner or a new user (sets the cookie)",
               .tag = "auth", .body = BodyKind::kJson, .request = "DevLoginRequest",
               .response = "DevLogin", .statuses = {201, 404}, .description = kDevOnly},
              DevLogin);
  constexpr RouteDoc kMe = {.summary = "The session's user and space", .tag = "auth",
                            .auth = kAuthUser, .response = "Me"};
  constexpr RouteDoc kLogout = {.summary = "Clears the session cookie", .tag = "auth",
                                .response = "Ok"};
  router.Get("/auth/me", kMe, Me);
  router.Post("/auth/logout", kLogout, Logout);
  // Octo's paths for the same routes (issue 16; register and login are in accounts.cpp).
  router.Get("/api/auth/me", kMe, Me);
  router.Post("/api/auth/logout", kLogout, Logout);
}

}  // namespace agentcore::server
