// SPDX-License-Identifier: Apache-2.0
// spec cast §4.2: dev login (mounted only with AUTH_MODE=dev), the session check and logout.
#include <algorithm>
#include <string>
#include <utility>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/clock.hpp>
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
std::string SetCookieValue(App& app, std::string_view token) {
  return SessionCookie(token, app.config().production, "");
}
std::string ClearCookieValue(App& app) { return ClearedSessionCookie(app.config().production, ""); }

// The body of both login outcomes, with a new session cookie.
Response SessionResponse(App& app, const User& user, const Space& space, int http_status) {
  SessionClaims claims;
  claims.user_id = user.id;
  claims.space_id = space.id;
  claims.mode = "dev";
  claims.iat = app.clock().NowMillis() / 1000;
  claims.exp = claims.iat + kSessionTtlSeconds;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Field("userId", user.id).Field("spaceId", space.id).Key("user");
  WriteUserJson(w, user, UserView::kSession);
  w.Key("space");
  WriteSpaceJson(w, space, SpaceView::kSession);
  w.EndObject();
  Response response = JsonResponse(http_status, std::move(body));
  response.headers.push_back(
      {"Set-Cookie", SetCookieValue(app, SignSessionToken(app.jwt_secret(), claims))});
  return response;
}

asio::awaitable<Result<Response>> LoginToSpace(App& app, const std::string& space_id) {
  if (!CheckKey("spaceId", space_id).ok()) co_return NotFound("Space not found");
  Result<Space> space = app.store().GetSpace(space_id);
  if (!space.has_value()) {
    if (space.status().code() == ErrorCode::kNotFound) co_return NotFound("Space not found");
    co_return StoreError(space.status());
  }
  if (space->owner_id.empty()) co_return NotFound("Space owner not found");
  Result<User> owner = app.store().GetUser(space->owner_id);
  if (!owner.has_value()) {
    if (owner.status().code() == ErrorCode::kNotFound) co_return NotFound("Space owner not found");
    co_return StoreError(owner.status());
  }
  co_return SessionResponse(app, *owner, *space, 200);
}

struct NewDevAccount {
  User user;
  Space space;
};

// One blocking call: the user, the space it owns, and the two seed channels.
Result<NewDevAccount> CreateDevAccount(Store& store, User user, Space space) {
  Result<User> created_user = store.CreateUser(user);
  if (!created_user.has_value()) return created_user.status();
  space.owner_id = created_user->id;
  Result<Space> created_space = store.EnsureSpace(space);
  if (!created_space.has_value()) return created_space.status();
  struct Seed {
    const char* name;
    const char* tagline;
  };
  for (Seed seed : {Seed{"root", "System configuration"},
                    Seed{"first-channel", "Your first channel"}}) {
    NewChannel channel;
    channel.space_id = created_space->id;
    channel.name = seed.name;
    channel.tagline = seed.tagline;
    Result<Channel> created = store.CreateChannel(channel);
    if (!created.has_value()) return created.status();
  }
  return NewDevAccount{*std::move(created_user), *std::move(created_space)};
}

asio::awaitable<Result<Response>> CreateUserAndSpace(App& app, std::string_view raw_callsign,
                                                     const Json& body) {
  std::string callsign(TrimAscii(raw_callsign));
  if (callsign.empty()) co_return InvalidArgument("Callsign is required");
  std::transform(callsign.begin(), callsign.end(), callsign.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  Result<std::optional<std::string>> space_name = OptionalString(body, "spaceName");
  if (!space_name.has_value()) co_return space_name.status();
  std::string name(space_name->has_value() ? TrimAscii(**space_name) : std::string_view());
  if (name.empty()) name = callsign + "'s space";
  if (Status s = CheckKey("callsign", callsign); !s.ok()) co_return s;
  if (Status s = CheckKey("spaceName", name); !s.ok()) co_return s;

  User user;
  user.external_id = "dev:" + app.NewId();
  user.callsign = callsign;
  Space space;
  space.id = app.NewId();
  space.name = std::move(name);
  space.owner_callsign = callsign;
  auto create = [&store = app.store(), user, space] {
    return CreateDevAccount(store, user, space);
  };
  Result<NewDevAccount> account = co_await app.Offload(std::move(create));
  if (!account.has_value()) co_return StoreError(account.status());
  co_return SessionResponse(app, account->user, account->space, 201);
}

asio::awaitable<Result<Response>> DevLoginRoute(RequestContext& ctx) {
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return body.status();
  // Cast's order: a string spaceId logs in (even when a callsign is also given), then a
  // string callsign creates an account; anything else is refused.
  if (const std::string* space_id = body->FindString("spaceId")) {
    co_return co_await LoginToSpace(ctx.app(), *space_id);
  }
  if (const std::string* callsign = body->FindString("callsign")) {
    co_return co_await CreateUserAndSpace(ctx.app(), *callsign, *body);
  }
  co_return InvalidArgument("Invalid request body. Provide spaceId or callsign.");
}

asio::awaitable<Response> DevLogin(RequestContext& ctx) {
  if (!DevMode(ctx)) co_return NoRoute(ctx);
  co_return RespondWith(co_await DevLoginRoute(ctx), "Login failed");
}

asio::awaitable<Result<Response>> DevSpacesRoute(App& app) {
  Result<std::vector<Space>> spaces = app.store().ListSpaces(kMaxPageSize);
  if (!spaces.has_value()) co_return StoreError(spaces.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("spaces").BeginArray();
  // Cast lists newest first and joins the owner: spaces without one are left out.
  for (auto it = spaces->rbegin(); it != spaces->rend(); ++it) {
    if (it->owner_id.empty()) continue;
    Result<User> owner = app.store().GetUser(it->owner_id);
    if (!owner.has_value()) {
      if (owner.status().code() == ErrorCode::kNotFound) continue;
      co_return StoreError(owner.status());
    }
    w.BeginObject().Key("space");
    WriteSpaceJson(w, *it, SpaceView::kListing);
    w.Key("owner");
    WriteUserJson(w, *owner, UserView::kListing);
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
  Result<Principal> principal = app.Authenticate(ctx.request());
  if (!principal.has_value() || principal->kind != Principal::Kind::kSession) {
    co_return Status(ErrorCode::kUnauthenticated, "Not authenticated");
  }
  Result<User> user = app.store().GetUser(principal->user_id);
  Result<Space> space = app.store().GetSpace(principal->space_id);
  for (const Status& s : {user.status(), space.status()}) {
    if (s.ok()) continue;
    if (s.code() != ErrorCode::kNotFound) co_return StoreError(s);
    // The session names a user or space that no longer exists: drop the cookie.
    Response response = CastError(401, "Session invalid");
    response.headers.push_back({"Set-Cookie", ClearCookieValue(app)});
    co_return response;
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject()
      .Field("userId", principal->user_id)
      .Field("spaceId", principal->space_id)
      .Field("mode", principal->mode)
      .Key("user");
  WriteUserJson(w, *user, UserView::kMe);
  w.Key("space");
  WriteSpaceJson(w, *space, SpaceView::kSession);
  w.EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> Me(RequestContext& ctx) {
  co_return RespondWith(co_await MeRoute(ctx), "Failed to get session info");
}

asio::awaitable<Response> Logout(RequestContext& ctx) {
  Response response = JsonResponse(200, R"({"ok":true})");
  response.headers.push_back({"Set-Cookie", ClearCookieValue(ctx.app())});
  co_return response;
}

}  // namespace

void RegisterAuthRoutes(Router& router) {
  router.Get("/auth/dev/spaces", DevSpaces);
  router.Post("/auth/dev/login", DevLogin);
  router.Get("/auth/me", Me);
  router.Post("/auth/logout", Logout);
}

}  // namespace agentcore::server
