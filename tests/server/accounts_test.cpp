// SPDX-License-Identifier: Apache-2.0
// Password accounts over HTTP (issue 16, Octo's routes): /api/auth/register, /api/auth/login,
// /api/auth/me, /api/auth/logout; the JWT as Bearer (any casing, extra blanks) and as the
// cookie; the error bodies. The rules themselves are tested in tests/unit/hub/accounts_test.cpp.
#include "handlers/handlers.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/accounts.hpp>
#include <agentcore/hub/api_keys.hpp>
#include <agentcore/json_writer.hpp>

#include "server/server_fixture.hpp"

namespace agentcore::server::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A server outside dev mode (AUTH_MODE unset: "keys"); `production` sets Secure cookies.
ServerFixtureOptions KeysMode(bool production = false) {
  ServerFixtureOptions o;
  o.auth_mode = "";
  o.tweak = [production](ServerConfig& c) { c.production = production; };
  return o;
}

std::string NewInvite(ServerFixture& s, std::chrono::seconds ttl = std::chrono::hours(1)) {
  Result<std::vector<GeneratedInviteCode>> codes =
      s.app().hub().accounts().GenerateInviteCodes(OperatorPrincipal("s1"), 1, ttl);
  REQUIRE(codes.ok());
  return codes->front().code;
}

std::string RegisterBody(std::string_view code, std::string_view email,
                         std::string_view password = "correct-horse", std::string_view name = "") {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Field("inviteCode", code).Field("email", email).Field("password", password);
  if (!name.empty()) w.Field("name", name);
  w.EndObject();
  return out;
}

std::string LoginBody(std::string_view email, std::string_view password) {
  std::string out;
  JsonWriter(&out).BeginObject().Field("email", email).Field("password", password).EndObject();
  return out;
}

HttpResponse Post(ServerFixture& s, const std::string& path, std::string body) {
  return s.Call("POST", path, std::move(body), /*with_cookie=*/false);
}

HttpResponse Get(ServerFixture& s, const std::string& path, Headers headers) {
  return s.Call("GET", path, {}, /*with_cookie=*/false, std::move(headers));
}

// The `name=value` part of the response's Set-Cookie.
std::string CookieOf(const HttpResponse& r) {
  auto header = r.Header("Set-Cookie");
  REQUIRE(header.has_value());
  return std::string(header->substr(0, header->find(';')));
}

void CheckApiError(const HttpResponse& r, int status, std::string_view code,
                   std::string_view message) {
  CHECK_MESSAGE(r.status == status, r.body);
  Json body = BodyJson(r);
  REQUIRE(body.FindString("code") != nullptr);
  CHECK(*body.FindString("code") == code);
  REQUIRE(body.FindString("error") != nullptr);
  CHECK(*body.FindString("error") == message);
}

}  // namespace

TEST_SUITE("server/accounts") {
  TEST_CASE("register answers 201 {user, space, token} with an HttpOnly SameSite=Lax cookie") {
    ServerFixture s(KeysMode());
    HttpResponse r =
        Post(s, "/api/auth/register",
             RegisterBody(NewInvite(s), "Alice@Example.com", "correct-horse", "Alice"));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    Json body = BodyJson(r);
    const Json* user = body.Find("user");
    const Json* space = body.Find("space");
    REQUIRE(user != nullptr);
    REQUIRE(space != nullptr);
    CHECK(*user->FindString("email") == "alice@example.com");
    CHECK(*user->FindString("callsign") == "alice");
    CHECK(user->Find("passwordHash") == nullptr);
    CHECK(r.body.find("argon2") == std::string::npos);  // the hash never leaves the server
    CHECK(*space->FindString("id") == *user->FindString("id"));
    CHECK(*space->FindString("name") == "Alice's space");
    REQUIRE(body.FindString("token") != nullptr);
    const std::string token = *body.FindString("token");
    std::string set_cookie(*r.Header("Set-Cookie"));
    CHECK(set_cookie == SessionCookie(token, false, ""));
    CHECK(set_cookie.find("HttpOnly; SameSite=Lax") != std::string::npos);
    CHECK(set_cookie.find("Secure") == std::string::npos);
    CHECK(r.Header("Cache-Control") == std::optional<std::string_view>("no-store"));
  }

  TEST_CASE("production cookies are Secure") {
    ServerFixture s(KeysMode(/*production=*/true));
    HttpResponse r = Post(s, "/api/auth/register", RegisterBody(NewInvite(s), "a@example.com"));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(std::string(*r.Header("Set-Cookie")).find("; Secure") != std::string::npos);
  }

  TEST_CASE("login; me with the Bearer JWT in any casing and with the cookie; logout") {
    ServerFixture s(KeysMode());
    REQUIRE(Post(s, "/api/auth/register", RegisterBody(NewInvite(s), "bob@example.com")).status ==
            201);
    HttpResponse login = Post(s, "/api/auth/login", LoginBody("BOB@example.com", "correct-horse"));
    REQUIRE_MESSAGE(login.status == 200, login.body);
    const std::string token = *BodyJson(login).FindString("token");
    const std::string user_id = *BodyJson(login).Find("user")->FindString("id");

    for (const std::string& auth : {"Bearer " + token, "bearer " + token, "BEARER " + token,
                                    "Bearer    " + token, "bEaReR \t" + token + "  "}) {
      CAPTURE(auth);
      for (const char* path : {"/api/auth/me", "/auth/me"}) {
        HttpResponse me = Get(s, path, {{"Authorization", auth}});
        REQUIRE_MESSAGE(me.status == 200, me.body);
        CHECK(*BodyJson(me).FindString("userId") == user_id);
        CHECK(*BodyJson(me).FindString("mode") == "password");
      }
    }
    HttpResponse me = Get(s, "/api/auth/me", {{"Cookie", CookieOf(login)}});
    REQUIRE_MESSAGE(me.status == 200, me.body);
    CHECK(*BodyJson(me).FindString("userId") == user_id);

    // Every session route takes it: the account's own channels.
    HttpResponse channels = Get(s, "/channels", {{"Authorization", "Bearer " + token}});
    REQUIRE_MESSAGE(channels.status == 200, channels.body);
    CHECK(BodyJson(channels).Find("channels")->as_array().size() == 2);
    channels = Get(s, "/channels", {{"Cookie", CookieOf(login)}});
    CHECK(channels.status == 200);

    HttpResponse out = Post(s, "/api/auth/logout", "");
    CHECK(out.status == 200);
    CHECK(std::string(*out.Header("Set-Cookie")).find("cast_session=;") == 0);
  }

  TEST_CASE("a wrong password and an unknown email answer the same 401 body") {
    ServerFixture s(KeysMode());
    REQUIRE(Post(s, "/api/auth/register", RegisterBody(NewInvite(s), "carol@example.com")).status ==
            201);
    HttpResponse wrong =
        Post(s, "/api/auth/login", LoginBody("carol@example.com", "not-it-at-all"));
    HttpResponse unknown =
        Post(s, "/api/auth/login", LoginBody("nobody@example.com", "whatever-1"));
    CheckApiError(wrong, 401, "unauthenticated", kInvalidCredentialsMessage);
    CHECK(wrong.body == unknown.body);
    CHECK(wrong.status == unknown.status);
    CHECK_FALSE(wrong.Header("Set-Cookie").has_value());
  }

  TEST_CASE("a reused invite is 409; an unknown or expired one 400; a taken email 409") {
    ServerFixture s(KeysMode());
    const std::string code = NewInvite(s);
    REQUIRE(Post(s, "/api/auth/register", RegisterBody(code, "d@example.com")).status == 201);
    CheckApiError(Post(s, "/api/auth/register", RegisterBody(code, "e@example.com")), 409,
                  "conflict", "invite code already used");
    CheckApiError(Post(s, "/api/auth/register", RegisterBody("inv_unknown", "e@example.com")), 400,
                  "invalid_argument", "invalid or expired invite code");
    CheckApiError(Post(s, "/api/auth/register", RegisterBody(NewInvite(s), "D@example.com")), 409,
                  "already_exists", "email already registered");
    const std::string expired = NewInvite(s, std::chrono::seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    CheckApiError(Post(s, "/api/auth/register", RegisterBody(expired, "f@example.com")), 400,
                  "invalid_argument", "invalid or expired invite code");
  }

  TEST_CASE("an expired or forged JWT is 401, as Bearer and as the cookie") {
    ServerFixture s(KeysMode());
    HttpResponse reg = Post(s, "/api/auth/register", RegisterBody(NewInvite(s), "g@example.com"));
    REQUIRE(reg.status == 201);
    const Json user = *BodyJson(reg).Find("user");
    SessionClaims c;
    c.user_id = *user.FindString("id");
    c.space_id = c.user_id;
    c.mode = "password";
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    c.iat = now - 100;
    c.exp = now - 1;
    const std::string expired = SignSessionToken(kTestJwtSecret, c);
    c.exp = now + 3600;
    const std::string forged = SignSessionToken("some-other-secret-of-enough-length-xx", c);
    for (const std::string& token : {expired, forged}) {
      for (const char* path : {"/api/auth/me", "/channels"}) {
        CAPTURE(path);
        CHECK(Get(s, path, {{"Authorization", "Bearer " + token}}).status == 401);
        CHECK(Get(s, path, {{"Cookie", "cast_session=" + token}}).status == 401);
      }
      // A bad Bearer JWT is decisive: a good cookie does not rescue it.
      CHECK(Get(s, "/channels", {{"Authorization", "Bearer " + token}, {"Cookie", CookieOf(reg)}})
                .status == 401);
    }
  }

  TEST_CASE("bad bodies are clear 400s") {
    ServerFixture s(KeysMode());
    const std::string code = NewInvite(s);
    struct Case {
      const char* path;
      std::string body;
      std::string message;
    };
    const Case cases[] = {
        {"/api/auth/register", "{", "Invalid JSON body"},
        {"/api/auth/register", "[]", "Invalid JSON body"},
        {"/api/auth/register", R"({"inviteCode":1})", "inviteCode must be a string"},
        {"/api/auth/register", R"({"inviteCode":"x","email":["a"]})", "email must be a string"},
        {"/api/auth/register", R"({"email":"a@b.c","password":"12345678"})",
         "inviteCode is required"},
        {"/api/auth/register", RegisterBody(code, "not-an-email"), "email is invalid"},
        {"/api/auth/register", RegisterBody(code, "h@example.com", "short"),
         "password must be at least 8 bytes"},
        {"/api/auth/login", "nope", "Invalid JSON body"},
        {"/api/auth/login", R"({"email":"a@b.c","password":12345678})",
         "password must be a string"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.body);
      CheckApiError(Post(s, c.path, c.body), 400, "invalid_argument", c.message);
    }
    // Over the routes' 16 KiB body limit.
    HttpResponse big = Post(s, "/api/auth/login", LoginBody("a@b.c", std::string(20000, 'p')));
    CHECK(big.status == 413);
    // The invite is still usable after all that.
    CHECK(Post(s, "/api/auth/register", RegisterBody(code, "h@example.com")).status == 201);
  }

  TEST_CASE("repeated failed logins of one email answer 429 with Retry-After") {
    ServerFixture s(KeysMode());
    REQUIRE(Post(s, "/api/auth/register", RegisterBody(NewInvite(s), "i@example.com")).status ==
            201);
    const std::size_t max = s.app().hub().options().login_throttle.max_failures;
    for (std::size_t i = 0; i < max; ++i) {
      CHECK(Post(s, "/api/auth/login", LoginBody("i@example.com", "wrong-password")).status == 401);
    }
    HttpResponse r = Post(s, "/api/auth/login", LoginBody("i@example.com", "correct-horse"));
    CHECK(r.status == 429);
    CHECK(*BodyJson(r).FindString("code") == "rate_limited");
    REQUIRE(r.Header("Retry-After").has_value());
    CHECK(std::string(*r.Header("Retry-After")) == "300");
  }

  TEST_CASE("the routes exist in dev mode too") {
    ServerFixture s;  // AUTH_MODE=dev
    HttpResponse r = Post(s, "/api/auth/register", RegisterBody(NewInvite(s), "j@example.com"));
    CHECK_MESSAGE(r.status == 201, r.body);
    CHECK(Post(s, "/api/auth/login", LoginBody("j@example.com", "correct-horse")).status == 200);
  }
}

}  // namespace agentcore::server::testing
