// SPDX-License-Identifier: Apache-2.0
// Password accounts (issue 16, Octo's routes): POST /api/auth/register and POST
// /api/auth/login. The rules (invite codes, password hashes, the session and its cookie, the
// per-email throttle) are the hub's (hub/accounts.hpp); these routes parse the JSON body, make
// one call on the blocking pool and write `{user, space, token}` with the session cookie.
// GET /api/auth/me and POST /api/auth/logout are Cast's /auth/me and /auth/logout (auth.cpp).
// Mounted in every auth mode. Errors: `{"error":"<message>","code":"<code>"}` (the /api
// family's shape, docs/sessions.md).
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include <agentcore/hub/accounts.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

// Bodies are a few short strings; the password is at most kMaxPasswordBytes.
constexpr std::size_t kMaxAccountBodyBytes = 16 * 1024;

// The session cookie's attributes, as the Cast routes set them (auth.cpp): Secure in
// production, no Domain.
SessionCookiePolicy CookiePolicy(App& app) { return {app.config().production, ""}; }

// Member `key` as a string ("" when absent or null); kInvalidArgument "<key> must be a
// string" for any other type.
Result<std::string> StringField(const Json& body, std::string_view key) {
  Result<std::optional<std::string>> value = OptionalString(body, key);
  if (!value.has_value()) return value.status();
  return value->value_or("");
}

// `{user, space, token}` + Set-Cookie, never cached.
Response LoginResponse(int status, LoginResult login) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("user");
  WriteUserJson(w, login.account.user, UserView::kMe);
  w.Key("space");
  WriteSpaceJson(w, login.account.space, SpaceView::kSession);
  w.Field("token", login.token).EndObject();
  Response response = JsonResponse(status, std::move(out));
  response.headers.push_back({"Set-Cookie", std::move(login.set_cookie)});
  response.headers.push_back({"Cache-Control", "no-store"});
  return response;
}

asio::awaitable<Response> Register(RequestContext& ctx) {
  App& app = ctx.app();
  constexpr std::string_view kWhat = "Registration failed";
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return StatusErrorWithCode(kWhat, body.status());
  Registration registration;
  for (auto [key, field] :
       {std::pair{"inviteCode", &registration.invite_code}, std::pair{"email", &registration.email},
        std::pair{"password", &registration.password}, std::pair{"name", &registration.name}}) {
    Result<std::string> value = StringField(*body, key);
    if (!value.has_value()) co_return StatusErrorWithCode(kWhat, value.status());
    *field = *std::move(value);
  }
  const SessionCookiePolicy cookie = CookiePolicy(app);
  auto work = [&accounts = app.hub().accounts(), &registration, &cookie] {
    return accounts.Register(registration, cookie);
  };
  Result<LoginResult> result = co_await app.Offload(std::move(work));
  if (!result.has_value()) co_return StatusErrorWithCode(kWhat, result.status());
  co_return LoginResponse(201, *std::move(result));
}

asio::awaitable<Response> Login(RequestContext& ctx) {
  App& app = ctx.app();
  constexpr std::string_view kWhat = "Login failed";
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return StatusErrorWithCode(kWhat, body.status());
  Result<std::string> email = StringField(*body, "email");
  if (!email.has_value()) co_return StatusErrorWithCode(kWhat, email.status());
  Result<std::string> password = StringField(*body, "password");
  if (!password.has_value()) co_return StatusErrorWithCode(kWhat, password.status());
  const SessionCookiePolicy cookie = CookiePolicy(app);
  AccountService& accounts = app.hub().accounts();
  auto work = [&accounts, &email, &password, &cookie] {
    return accounts.Login(*email, *password, cookie);
  };
  Result<LoginResult> result = co_await app.Offload(std::move(work));
  if (!result.has_value()) {
    Response response = StatusErrorWithCode(kWhat, result.status());
    if (result.status().code() == ErrorCode::kRateLimited) {
      // Whole seconds, rounded up (never 0 while blocked).
      const auto wait = accounts.LoginRetryAfter(*email);
      const auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
      response.headers.push_back({"Retry-After", std::to_string(seconds < 1 ? 1 : seconds)});
    }
    co_return response;
  }
  co_return LoginResponse(200, *std::move(result));
}

}  // namespace

void RegisterAccountRoutes(Router& router) {
  router.Post("/api/auth/register",
              {.summary = "Registers an account with an invite code (sets the cookie)",
               .tag = "auth", .body = BodyKind::kJson, .request = "RegisterRequest",
               .status = 201, .response = "AccountSession", .statuses = {409}},
              Register, kMaxAccountBodyBytes);
  router.Post("/api/auth/login",
              {.summary = "Password login (sets the cookie; 429 after repeated failures)",
               .tag = "auth", .body = BodyKind::kJson, .request = "LoginRequest",
               .response = "AccountSession", .statuses = {401}},
              Login, kMaxAccountBodyBytes);
}

}  // namespace agentcore::server
