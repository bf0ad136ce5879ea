// SPDX-License-Identifier: Apache-2.0
// The hub's accounts without HTTP (hub/accounts.hpp): spec cast §4.2's development login, the
// session account behind /auth/me and the development space listing.
#include <agentcore/hub/accounts.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/json.hpp>

#include "store/temp_dir.hpp"
#include "support/manual_clock.hpp"
#include "support/test_hub.hpp"

namespace agentcore {
namespace {

using testing::ManualClock;
using testing::TempDir;

constexpr std::string_view kJwtSecret = "test-jwt-secret";

Json Body(std::string_view text) {
  Result<Json> json = ParseJson(text);
  REQUIRE(json.ok());
  return *std::move(json);
}

void CheckError(const Status& s, ErrorCode code, std::string_view message) {
  CHECK(s.code() == code);
  CHECK(s.message() == message);
}

// A hub on an in-memory SQLite store with a known session secret and a manual clock.
struct Fixture {
  ManualClock clock;
  TempDir dir;
  std::unique_ptr<Hub> hub;

  Fixture() {
    HubOptions o = testing::TestHubOptions(&clock, nullptr, dir);
    o.jwt_secret = kJwtSecret;
    hub = testing::OpenTestHub(std::move(o));
  }
  AccountService& accounts() { return hub->accounts(); }

  // A dev account made through the service; its login.
  DevLoginResult SignUp(std::string_view body) {
    Result<DevLoginResult> r = accounts().DevLogin(Body(body), {});
    REQUIRE(r.ok());
    return *std::move(r);
  }
  // A session cookie header for `user_id` in `space_id`, issued now.
  std::string Cookie(std::string_view user_id, std::string_view space_id) {
    SessionClaims c;
    c.user_id = user_id;
    c.space_id = space_id;
    c.mode = "workos";
    c.iat = clock.NowMillis() / 1000;
    c.exp = c.iat + kSessionTtlSeconds;
    return std::string(kSessionCookieName) + "=" + SignSessionToken(kJwtSecret, c);
  }
};

TEST_SUITE("AccountService") {
  TEST_CASE("a callsign login creates the user, its space and the seed channels") {
    Fixture f;
    DevLoginResult login = f.SignUp(R"({"callsign":"  Alice \t"})");
    CHECK(login.created);
    CHECK(login.account.user.callsign == "alice");
    CHECK(login.account.user.external_id.rfind("dev:", 0) == 0);
    CHECK(login.account.space.name == "alice's space");
    CHECK(login.account.space.owner_callsign == "alice");
    CHECK(login.account.space.owner_id == login.account.user.id);
    CHECK(login.account.mode == "dev");
    Result<std::vector<Channel>> channels =
        f.hub->store().ListChannels(login.account.space.id, /*include_archived=*/false);
    REQUIRE(channels.ok());
    REQUIRE(channels->size() == 2);
    for (const Channel& c : *channels) {
      CAPTURE(c.name);
      CHECK((c.name == "root" || c.name == "first-channel"));
      CHECK(c.tagline == (c.name == "root" ? "System configuration" : "Your first channel"));
    }
    CHECK((*channels)[0].name != (*channels)[1].name);
    // The token is a session of that account, and the cookie carries it.
    Result<Principal> p = f.hub->credentials().VerifySession(login.token);
    REQUIRE(p.ok());
    CHECK(p->user_id == login.account.user.id);
    CHECK(p->space_id == login.account.space.id);
    CHECK(p->mode == "dev");
    CHECK(login.set_cookie == SessionCookie(login.token, false, ""));
  }

  TEST_CASE("a callsign login names the space after spaceName, trimmed") {
    Fixture f;
    CHECK(f.SignUp(R"({"callsign":"bob","spaceName":"  Ops  "})").account.space.name == "Ops");
    CHECK(f.SignUp(R"({"callsign":"bob","spaceName":"   "})").account.space.name == "bob's space");
    CHECK(f.SignUp(R"({"callsign":"bob","spaceName":null})").account.space.name == "bob's space");
  }

  TEST_CASE("a spaceId login signs in as the space's owner, even with a callsign") {
    Fixture f;
    DevLoginResult first = f.SignUp(R"({"callsign":"alice"})");
    f.clock.Advance(5000);
    Result<DevLoginResult> again = f.accounts().DevLogin(
        Body(R"({"spaceId":")" + first.account.space.id + R"(","callsign":"mallory"})"),
        SessionCookiePolicy{true, ".example.com"});
    REQUIRE(again.ok());
    CHECK_FALSE(again->created);
    CHECK(again->account.user.id == first.account.user.id);
    CHECK(again->account.space.id == first.account.space.id);
    CHECK(again->set_cookie == SessionCookie(again->token, true, ".example.com"));
    CHECK(f.hub->credentials().VerifySession(again->token).ok());
  }

  TEST_CASE("a login body without a string spaceId or callsign is refused") {
    Fixture f;
    for (std::string_view body : {R"({})", R"({"spaceId":7})", R"({"callsign":false})",
                                  R"({"spaceId":null,"callsign":["a"]})", R"([])", R"("x")"}) {
      CAPTURE(body);
      CheckError(f.accounts().DevLogin(Body(body), {}).status(), ErrorCode::kInvalidArgument,
                 "Invalid request body. Provide spaceId or callsign.");
    }
  }

  TEST_CASE("an empty spaceId is absent, as Cast's truthiness test makes it") {
    Fixture f;
    // Issue 13: "" reached the store as a space id (kInternal, 500 "Login failed").
    CheckError(f.accounts().DevLogin(Body(R"({"spaceId":""})"), {}).status(),
               ErrorCode::kInvalidArgument, "Invalid request body. Provide spaceId or callsign.");
    Result<DevLoginResult> created =
        f.accounts().DevLogin(Body(R"({"spaceId":"","callsign":"zed"})"), {});
    REQUIRE(created.ok());
    CHECK(created->created);
    CHECK(created->account.user.callsign == "zed");
    // Ids that could not name a space are not found, without a store error.
    for (const std::string& id : {std::string(256, 's'), std::string("\xff"), std::string("a\x01"),
                                  std::string("a\0b", 3)}) {
      CAPTURE(id);
      Json body = Json::Object();
      body.Set("spaceId", id);
      CheckError(f.accounts().DevLogin(body, {}).status(), ErrorCode::kNotFound, "Space not found");
    }
  }

  TEST_CASE("a callsign login refuses bad callsigns and space names in Cast's order") {
    Fixture f;
    struct Case {
      std::string body;
      std::string_view message;
    };
    for (const Case& c : {
             Case{R"({"callsign":""})", "Callsign is required"},
             Case{R"({"callsign":" \t\n"})", "Callsign is required"},
             // The blank callsign is reported before a bad spaceName.
             Case{R"({"callsign":" ","spaceName":3})", "Callsign is required"},
             Case{R"({"callsign":"a","spaceName":3})", "spaceName must be a string"},
             Case{R"({"callsign":")" + std::string(256, 'a') + R"("})",
                  "callsign is too long (max 255 bytes)"},
             Case{R"({"callsign":"a","spaceName":")" + std::string(256, 's') + R"("})",
                  "spaceName is too long (max 255 bytes)"},
             Case{R"({"callsign":"a\u0000b"})", "callsign must not contain NUL characters"},
         }) {
      CAPTURE(c.body);
      CheckError(f.accounts().DevLogin(Body(c.body), {}).status(), ErrorCode::kInvalidArgument,
                 c.message);
    }
    Result<std::vector<Space>> spaces = f.hub->store().ListSpaces(kMaxPageSize);
    REQUIRE(spaces.ok());
    CHECK(spaces->empty());
  }

  TEST_CASE("a spaceId login refuses unknown spaces and spaces without an owner") {
    Fixture f;
    REQUIRE(f.hub->store().EnsureSpace(Space{"lonely", "Lonely", "", "", 0}).ok());
    REQUIRE(f.hub->store().EnsureSpace(Space{"orphan", "Orphan", "ghost", "no-such-user", 0}).ok());
    struct Case {
      std::string body;
      std::string_view message;
    };
    for (const Case& c : {
             Case{R"({"spaceId":"nope"})", "Space not found"},
             Case{R"({"spaceId":")" + std::string(300, 'x') + R"("})", "Space not found"},
             Case{R"({"spaceId":"lonely"})", "Space owner not found"},
             Case{R"({"spaceId":"orphan"})", "Space owner not found"},
         }) {
      CAPTURE(c.body);
      CheckError(f.accounts().DevLogin(Body(c.body), {}).status(), ErrorCode::kNotFound, c.message);
    }
  }

  TEST_CASE("the session account is the session's user, space and mode") {
    Fixture f;
    DevLoginResult login = f.SignUp(R"({"callsign":"alice"})");
    Result<Account> account =
        f.accounts().SessionAccount("", f.Cookie(login.account.user.id, login.account.space.id));
    REQUIRE(account.ok());
    CHECK(account->user.id == login.account.user.id);
    CHECK(account->space.id == login.account.space.id);
    CHECK(account->mode == "workos");
  }

  TEST_CASE("no session, a bad one or an API key is not authenticated") {
    Fixture f;
    DevLoginResult login = f.SignUp(R"({"callsign":"alice"})");
    for (std::string_view cookie : {std::string_view(""), std::string_view("cast_session=x.y.z"),
                                    std::string_view("other=1")}) {
      CAPTURE(cookie);
      CheckError(f.accounts().SessionAccount("", cookie).status(), ErrorCode::kUnauthenticated,
                 "Not authenticated");
    }
    // A Bearer credential decides alone (and an unknown key is refused), even beside a cookie.
    std::string cookie = f.Cookie(login.account.user.id, login.account.space.id);
    CheckError(f.accounts().SessionAccount("Bearer ak_unknown", cookie).status(),
               ErrorCode::kUnauthenticated, "Not authenticated");
  }

  TEST_CASE("a session whose user or space is gone is invalid") {
    Fixture f;
    DevLoginResult login = f.SignUp(R"({"callsign":"alice"})");
    CheckError(
        f.accounts().SessionAccount("", f.Cookie("no-such-user", login.account.space.id)).status(),
        ErrorCode::kNotFound, "Session invalid");
    CheckError(
        f.accounts().SessionAccount("", f.Cookie(login.account.user.id, "no-such-space")).status(),
        ErrorCode::kNotFound, "Session invalid");
  }

  TEST_CASE("the space listing is newest first and leaves out spaces without an owner") {
    Fixture f;
    DevLoginResult a = f.SignUp(R"({"callsign":"alice"})");
    f.clock.Advance(10);
    REQUIRE(f.hub->store().EnsureSpace(Space{"lonely", "Lonely", "", "", 0}).ok());
    f.clock.Advance(10);
    REQUIRE(f.hub->store().EnsureSpace(Space{"orphan", "Orphan", "ghost", "no-such-user", 0}).ok());
    f.clock.Advance(10);
    DevLoginResult b = f.SignUp(R"({"callsign":"bob"})");
    Result<std::vector<SpaceListing>> listed = f.accounts().ListDevSpaces();
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 2);
    CHECK((*listed)[0].space.id == b.account.space.id);
    CHECK((*listed)[0].owner.callsign == "bob");
    CHECK((*listed)[1].space.id == a.account.space.id);
    CHECK((*listed)[1].owner.id == a.account.user.id);
  }

  TEST_CASE("an empty store lists no spaces") {
    Fixture f;
    Result<std::vector<SpaceListing>> listed = f.accounts().ListDevSpaces();
    REQUIRE(listed.ok());
    CHECK(listed->empty());
  }

  TEST_CASE("the cleared cookie deletes the session cookie with the same attributes") {
    CHECK(AccountService::ClearedCookie({}) == ClearedSessionCookie(false, ""));
    CHECK(AccountService::ClearedCookie(SessionCookiePolicy{true, ".example.com"}) ==
          ClearedSessionCookie(true, ".example.com"));
  }
}

}  // namespace
}  // namespace agentcore
