// SPDX-License-Identifier: Apache-2.0
// spec cast §4.2: dev login, the session check, logout.
#include "handlers/handlers.hpp"

#include <chrono>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>

#include "server/rest_test_client.hpp"

namespace agentcore::testing {
namespace {

std::string CookieOf(const RestReply& r) {
  auto header = r.Header("Set-Cookie");
  REQUIRE(header.has_value());
  return std::string(header->substr(0, header->find(';')));
}

}  // namespace

TEST_SUITE("AuthRoutes") {
  TEST_CASE("creating a user and space answers 201, sets the cookie and seeds two channels") {
    RestServer server;
    RestClient client = server.Anonymous();
    RestReply r = client.Post("/auth/dev/login", R"({"callsign":"  Alice ","spaceName":" Lab "})");
    REQUIRE(r.status == 201);
    CHECK(Str(At(r.json, "user"), "callsign") == "alice");
    CHECK(Str(At(r.json, "space"), "name") == "Lab");
    CHECK(Str(At(r.json, "space"), "ownerId") == Str(r.json, "userId"));
    CHECK(Str(At(r.json, "user"), "id") == Str(r.json, "userId"));
    CHECK(At(At(r.json, "user"), "email").is_null());  // omitted, not null
    std::string set_cookie(*r.Header("Set-Cookie"));
    CHECK(set_cookie.find("cast_session=") == 0);
    CHECK(set_cookie.find("; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800") != std::string::npos);
    CHECK(set_cookie.find("Secure") == std::string::npos);

    client.set_cookie(CookieOf(r));
    RestReply channels = client.Get("/channels");
    REQUIRE(channels.status == 200);
    std::vector<std::string> names;
    for (const Json& c : At(channels.json, "channels").as_array()) names.push_back(Str(c, "name"));
    CHECK(names.size() == 2);
    CHECK(std::find(names.begin(), names.end(), "root") != names.end());
    CHECK(std::find(names.begin(), names.end(), "first-channel") != names.end());
  }

  TEST_CASE("the default space name is <callsign>'s space") {
    RestServer server;
    RestReply r = server.Anonymous().Post("/auth/dev/login", R"({"callsign":"Bob"})");
    REQUIRE(r.status == 201);
    CHECK(Str(At(r.json, "space"), "name") == "bob's space");
  }

  TEST_CASE("logging into an existing space answers 200 as its owner") {
    RestServer server;
    RestReply created = server.Anonymous().Post("/auth/dev/login", R"({"callsign":"carol"})");
    std::string space_id = Str(created.json, "spaceId");
    RestReply r = server.Anonymous().Post("/auth/dev/login",
                                          R"({"spaceId":")" + space_id + R"(","callsign":"x"})");
    CHECK(r.status == 200);
    CHECK(Str(r.json, "userId") == Str(created.json, "userId"));
    CHECK(r.Header("Set-Cookie").has_value());
  }

  TEST_CASE("login errors use Cast's texts") {
    RestServer server;
    RestClient client = server.Anonymous();
    struct Case {
      const char* body;
      int status;
      const char* error;
    };
    for (const Case& c : {
             Case{"{", 400, "Invalid JSON body"},
             Case{"", 400, "Invalid JSON body"},
             Case{"[1]", 400, "Invalid JSON body"},
             Case{"null", 400, "Invalid JSON body"},
             Case{R"({"spaceId":"nope"})", 404, "Space not found"},
             Case{R"({"callsign":"   "})", 400, "Callsign is required"},
             Case{R"({"callsign":""})", 400, "Callsign is required"},
             Case{R"({})", 400, "Invalid request body. Provide spaceId or callsign."},
             Case{R"({"spaceId":5,"callsign":7})", 400,
                  "Invalid request body. Provide spaceId or callsign."},
             Case{R"({"callsign":"dan","spaceName":5})", 400, "spaceName must be a string"},
             Case{R"({"callsign":"a\u0000b"})", 400, "callsign must not contain NUL characters"},
         }) {
      CAPTURE(c.body);
      RestReply r = client.Post("/auth/dev/login", c.body);
      CHECK(r.status == c.status);
      CHECK(r.Error() == c.error);
    }
    RestReply long_name =
        client.Post("/auth/dev/login", R"({"callsign":")" + std::string(300, 'a') + R"("})");
    CHECK(long_name.status == 400);
    CHECK(long_name.Error() == "callsign is too long (max 255 bytes)");
  }

  TEST_CASE("a space without its owner user answers 404 Space owner not found") {
    RestServer server;
    Space space;
    space.id = "orphan";
    space.name = "orphan";
    space.owner_id = "ghost";
    REQUIRE(server.app().store().EnsureSpace(space).ok());
    RestReply r = server.Anonymous().Post("/auth/dev/login", R"({"spaceId":"orphan"})");
    CHECK(r.status == 404);
    CHECK(r.Error() == "Space owner not found");
  }

  TEST_CASE("GET /auth/dev/spaces lists spaces newest first with their owners") {
    RestServer server;
    RestReply empty = server.Anonymous().Get("/auth/dev/spaces");
    CHECK(empty.status == 200);
    CHECK(empty.body == R"({"spaces":[]})");
    server.Login("first");
    server.Login("second");
    RestReply r = server.Anonymous().Get("/auth/dev/spaces");
    REQUIRE(r.status == 200);
    const JsonArray& spaces = At(r.json, "spaces").as_array();
    REQUIRE(spaces.size() == 2);
    CHECK(Str(At(spaces[0], "owner"), "callsign") == "second");
    CHECK(Str(At(spaces[1], "owner"), "callsign") == "first");
    CHECK(Str(At(spaces[0], "owner"), "externalId").rfind("dev:", 0) == 0);
    CHECK(Str(At(spaces[0], "space"), "ownerId") == Str(At(spaces[0], "owner"), "id"));
  }

  TEST_CASE("GET /auth/me answers the session, 401 without one") {
    RestServer server;
    RestClient client = server.Login("erin");
    RestReply me = client.Get("/auth/me");
    REQUIRE(me.status == 200);
    CHECK(Str(me.json, "mode") == "dev");
    CHECK(Str(At(me.json, "user"), "callsign") == "erin");
    CHECK(Str(At(me.json, "space"), "name") == "erin's space");

    RestReply anonymous = server.Anonymous().Get("/auth/me");
    CHECK(anonymous.status == 401);
    CHECK(anonymous.Error() == "Not authenticated");
    RestReply garbage = server.Anonymous().Send("GET", "/auth/me", {}, "cast_session=abc.def.ghi");
    CHECK(garbage.status == 401);
    CHECK(garbage.Error() == "Not authenticated");
  }

  TEST_CASE("GET /auth/me with a session for a deleted user answers Session invalid") {
    RestServer server;
    SessionClaims claims;
    claims.user_id = "no-such-user";
    claims.space_id = "no-such-space";
    claims.mode = "dev";
    claims.iat = SystemClock()->NowMillis() / 1000;
    claims.exp = claims.iat + 60;
    std::string cookie = "cast_session=" + SignSessionToken(server.app().jwt_secret(), claims);
    RestReply r = server.Anonymous().Send("GET", "/auth/me", {}, cookie);
    CHECK(r.status == 401);
    CHECK(r.Error() == "Session invalid");
    CHECK(std::string(r.Header("Set-Cookie").value_or("")).find("Max-Age=0") != std::string::npos);
  }

  TEST_CASE("a session verified before is refused once it expires, and a bad one never passes") {
    // App::Authenticate keeps verified tokens; the cache must answer as verification would.
    RestServer server;
    RestClient alice = server.Login("alice");
    RestReply me = alice.Get("/auth/me");
    REQUIRE(me.status == 200);
    SessionClaims claims;
    claims.user_id = Str(me.json, "userId");
    claims.space_id = Str(me.json, "spaceId");
    claims.mode = "dev";
    claims.iat = SystemClock()->NowMillis() / 1000;
    claims.exp = claims.iat + 2;
    const std::string token = SignSessionToken(server.app().jwt_secret(), claims);
    const std::string cookie = "cast_session=" + token;
    CHECK(server.Anonymous().Send("GET", "/channels", {}, cookie).status == 200);
    CHECK(server.Anonymous().Send("GET", "/channels", {}, cookie).status == 200);
    // The same payload with a changed signature is another token: verified, and refused.
    std::string forged = token;
    char& c = forged[forged.size() - 10];
    c = c == 'A' ? 'B' : 'A';
    CHECK(server.Anonymous().Send("GET", "/channels", {}, "cast_session=" + forged).status == 401);
    while (SystemClock()->NowMillis() / 1000 < claims.exp) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    RestReply expired = server.Anonymous().Send("GET", "/channels", {}, cookie);
    CHECK(expired.status == 401);
    CHECK(expired.Error() == "Authentication required");
  }

  TEST_CASE("POST /auth/logout clears the cookie") {
    RestServer server;
    RestReply r = server.Login("fay").Post("/auth/logout", "");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"ok":true})");
    std::string cookie(r.Header("Set-Cookie").value_or(""));
    CHECK(cookie.find("cast_session=;") == 0);
    CHECK(cookie.find("Max-Age=0") != std::string::npos);
  }

  TEST_CASE("outside dev mode the dev routes do not exist") {
    RestServer server([](server::ServerConfig& c) { c.auth_mode = ""; });
    RestClient client = server.Anonymous();
    CHECK(client.Get("/auth/dev/spaces").status == 404);
    CHECK(client.Post("/auth/dev/login", R"({"callsign":"x"})").status == 404);
    CHECK(client.Get("/auth/me").status == 401);
    CHECK(client.Post("/auth/logout", "").status == 200);
  }
}

}  // namespace agentcore::testing
