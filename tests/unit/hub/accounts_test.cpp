// SPDX-License-Identifier: Apache-2.0
// The hub's accounts without HTTP (hub/accounts.hpp): spec cast §4.2's development login, the
// session account behind /auth/me and the development space listing.
#include <agentcore/hub/accounts.hpp>
#include <agentcore/hub/api_keys.hpp>

#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <string_view>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/auth/password.hpp>
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
/// An administrator of the test space (invite codes are for administrators only).
const Principal kAdmin = OperatorPrincipal("s1");

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

// --- Password accounts (issue 16) ---------------------------------------------------------------

TEST_CASE("invite codes are for administrators: anyone else is refused and nothing changes") {
  Fixture f;
  Principal user = kAdmin;
  user.admin = false;
  for (const Status& s :
       {f.accounts().GenerateInviteCodes(user, 1, std::chrono::hours(1)).status(),
        f.accounts().ListInviteCodes(user).status(), f.accounts().RevokeInviteCode(user, "x")}) {
    CHECK(s.code() == ErrorCode::kPermissionDenied);
    CHECK(s.message() == "administrator API key required");
  }
  CHECK(f.accounts().ListInviteCodes(kAdmin)->empty());
}

// One invite code made through the service, valid for `ttl`.
std::string NewInvite(Fixture& f, std::chrono::seconds ttl = std::chrono::hours(1)) {
  Result<std::vector<GeneratedInviteCode>> codes =
      f.accounts().GenerateInviteCodes(kAdmin, 1, ttl);
  REQUIRE(codes.ok());
  REQUIRE(codes->size() == 1);
  return codes->front().code;
}

Registration Reg(std::string code, std::string email, std::string password = "hunter2-hunter2",
                 std::string name = "") {
  return Registration{std::move(code), std::move(email), std::move(password), std::move(name)};
}

LoginResult MustRegister(Fixture& f, const Registration& r) {
  Result<LoginResult> out = f.accounts().Register(r, {});
  REQUIRE_MESSAGE(out.ok(), out.status().ToString());
  return *std::move(out);
}

TEST_SUITE("AccountService/password") {
  TEST_CASE("invite codes are shown once, stored hashed, listed and revoked") {
    Fixture f;
    Result<std::vector<GeneratedInviteCode>> codes =
        f.accounts().GenerateInviteCodes(kAdmin, 3, std::chrono::hours(2));
    REQUIRE(codes.ok());
    REQUIRE(codes->size() == 3);
    for (const GeneratedInviteCode& c : *codes) {
      CHECK(c.code.rfind("inv_", 0) == 0);
      CHECK(c.code.size() == 36);
      CHECK(c.record.code_hash == Sha256Hex(c.code));
      CHECK(c.record.prefix == c.code.substr(0, 8));
      CHECK(c.record.expires_at == f.clock.NowMillis() + 2 * 3600 * 1000);
    }
    CHECK((*codes)[0].code != (*codes)[1].code);
    Result<std::vector<InviteCode>> listed = f.accounts().ListInviteCodes(kAdmin);
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 3);
    for (const InviteCode& c : *listed) {
      for (const GeneratedInviteCode& g : *codes) CHECK(c.prefix != g.code);  // never the code
    }
    CHECK(f.accounts().RevokeInviteCode(kAdmin, (*codes)[1].record.id).ok());
    CHECK(f.hub->store().GetInviteCode((*codes)[1].record.id)->revoked);
    CHECK(f.accounts().RevokeInviteCode(kAdmin, "missing").code() == ErrorCode::kNotFound);
    CHECK(f.accounts().RevokeInviteCode(kAdmin, "").code() == ErrorCode::kNotFound);
    CHECK(f.accounts().RevokeInviteCode(kAdmin, "bad\xff").code() == ErrorCode::kNotFound);
    // ttl 0: never expires.
    Result<std::vector<GeneratedInviteCode>> forever =
        f.accounts().GenerateInviteCodes(kAdmin, 1, std::chrono::seconds(0));
    REQUIRE(forever.ok());
    CHECK(forever->front().record.expires_at == 0);
  }

  TEST_CASE("refuses a bad invite count or ttl") {
    Fixture f;
    for (std::size_t n : {std::size_t{0}, kMaxInviteCodesPerCall + 1}) {
      Result<std::vector<GeneratedInviteCode>> r =
          f.accounts().GenerateInviteCodes(kAdmin, n, std::chrono::hours(1));
      CheckError(r.status(), ErrorCode::kInvalidArgument, "count must be 1 to 100");
    }
    CheckError(f.accounts().GenerateInviteCodes(kAdmin, 1, std::chrono::seconds(-1)).status(),
               ErrorCode::kInvalidArgument, "ttl must not be negative");
    CheckError(f.accounts()
                   .GenerateInviteCodes(kAdmin, 1, std::chrono::hours(kMaxInviteCodeTtlHours + 1))
                   .status(),
               ErrorCode::kInvalidArgument, "invite code ttl must be 0 to 876000 hours");
    CHECK(f.accounts().ListInviteCodes(kAdmin)->empty());
    CHECK(f.accounts().GenerateInviteCodes(kAdmin, kMaxInviteCodesPerCall, std::chrono::hours(1))
              ->size() == kMaxInviteCodesPerCall);
  }

  TEST_CASE("an invite ttl in hours is 0 to a hundred years, whatever integer is asked") {
    CHECK(*InviteCodeTtl(0) == std::chrono::seconds(0));
    CHECK(*InviteCodeTtl(kDefaultInviteCodeTtlHours) == std::chrono::hours(24 * 7));
    CHECK(*InviteCodeTtl(kMaxInviteCodeTtlHours) == std::chrono::hours(876000));
    for (std::int64_t bad : {std::int64_t{-1}, kMaxInviteCodeTtlHours + 1,
                             std::numeric_limits<std::int64_t>::max(),
                             std::numeric_limits<std::int64_t>::min()}) {
      CAPTURE(bad);
      CheckError(InviteCodeTtl(bad).status(), ErrorCode::kInvalidArgument,
                 "invite code ttl must be 0 to 876000 hours");
    }
  }

  TEST_CASE("invite, register, login: the user, its own space, a password session") {
    Fixture f;
    const std::string code = NewInvite(f);
    LoginResult reg = MustRegister(f, Reg("  " + code + " ", "  Alice@Example.COM ", "s3cret-pass",
                                          "Alice"));
    CHECK(reg.created);
    CHECK(reg.account.mode == "password");
    CHECK(reg.account.user.email == "alice@example.com");
    CHECK(reg.account.user.callsign == "alice");
    CHECK(reg.account.user.password_hash.rfind("$argon2id$", 0) == 0);
    CHECK(reg.account.space.id == reg.account.user.id);
    CHECK(reg.account.space.name == "Alice's space");
    CHECK(reg.account.space.owner_id == reg.account.user.id);
    Result<std::vector<Channel>> channels =
        f.hub->store().ListChannels(reg.account.space.id, false);
    REQUIRE(channels.ok());
    CHECK(channels->size() == 2);  // root and first-channel, as a dev account
    CHECK(reg.set_cookie == SessionCookie(reg.token, false, ""));
    Result<SessionClaims> claims =
        VerifySessionToken(kJwtSecret, reg.token, f.clock.NowMillis() / 1000);
    REQUIRE(claims.ok());
    CHECK(claims->mode == "password");
    CHECK(claims->user_id == reg.account.user.id);
    CHECK(claims->space_id == reg.account.space.id);

    f.clock.Advance(5000);
    Result<LoginResult> login = f.accounts().Login("ALICE@example.com", "s3cret-pass", {});
    REQUIRE(login.ok());
    CHECK_FALSE(login->created);
    CHECK(login->account.user.id == reg.account.user.id);
    CHECK(login->account.space.id == reg.account.space.id);
    CHECK(login->account.mode == "password");
    // The token is a session as Bearer and as the cookie; /auth/me's account reads it back.
    for (const auto& [authorization, cookie] :
         {std::pair<std::string, std::string>{"Bearer " + login->token, ""},
          std::pair<std::string, std::string>{"", "cast_session=" + login->token}}) {
      Result<Account> me = f.accounts().SessionAccount(authorization, cookie);
      REQUIRE(me.ok());
      CHECK(me->user.id == reg.account.user.id);
      CHECK(me->mode == "password");
    }
    // The invite is used by this user.
    Result<std::vector<InviteCode>> listed = f.accounts().ListInviteCodes(kAdmin);
    REQUIRE(listed.ok());
    CHECK(listed->front().used_by == reg.account.user.id);
  }

  TEST_CASE("no name: the callsign is the email's local part") {
    Fixture f;
    LoginResult reg = MustRegister(f, Reg(NewInvite(f), "Bob.Smith@example.com"));
    CHECK(reg.account.user.callsign == "bob.smith");
    CHECK(reg.account.space.name == "bob.smith's space");
  }

  TEST_CASE("a used invite is refused (409) and nothing is created") {
    Fixture f;
    const std::string code = NewInvite(f);
    MustRegister(f, Reg(code, "a@example.com"));
    Result<LoginResult> again = f.accounts().Register(Reg(code, "b@example.com"), {});
    CheckError(again.status(), ErrorCode::kConflict, "invite code already used");
    CHECK(f.hub->store().FindUserByEmail("b@example.com").status().code() ==
          ErrorCode::kNotFound);
  }

  TEST_CASE("an unknown, revoked or expired invite is refused with one text (400)") {
    Fixture f;
    CheckError(f.accounts().Register(Reg("inv_nope", "a@example.com"), {}).status(),
               ErrorCode::kInvalidArgument, "invalid or expired invite code");
    Result<std::vector<GeneratedInviteCode>> revoked =
        f.accounts().GenerateInviteCodes(kAdmin, 1, std::chrono::hours(1));
    REQUIRE(revoked.ok());
    REQUIRE(f.accounts().RevokeInviteCode(kAdmin, revoked->front().record.id).ok());
    CheckError(f.accounts().Register(Reg(revoked->front().code, "a@example.com"), {}).status(),
               ErrorCode::kInvalidArgument, "invalid or expired invite code");
    const std::string expiring = NewInvite(f, std::chrono::seconds(60));
    f.clock.Advance(60'000);
    CheckError(f.accounts().Register(Reg(expiring, "a@example.com"), {}).status(),
               ErrorCode::kInvalidArgument, "invalid or expired invite code");
    CHECK(f.hub->store().FindUserByEmail("a@example.com").status().code() ==
          ErrorCode::kNotFound);
  }

  TEST_CASE("a registered email is refused (409, any casing) and the invite stays usable") {
    Fixture f;
    MustRegister(f, Reg(NewInvite(f), "alice@example.com"));
    const std::string code = NewInvite(f);
    CheckError(f.accounts().Register(Reg(code, "ALICE@example.com"), {}).status(),
               ErrorCode::kAlreadyExists, "email already registered");
    MustRegister(f, Reg(code, "carol@example.com"));
  }

  TEST_CASE("refuses bad registration input before anything is stored, in order") {
    Fixture f;
    const std::string code = NewInvite(f);
    struct Case {
      Registration r;
      std::string message;
    };
    const Case cases[] = {
        {Reg("", "a@example.com"), "inviteCode is required"},
        {Reg("   ", "a@example.com"), "inviteCode is required"},
        {Reg(code, ""), "email is invalid"},
        {Reg(code, "no-at-sign"), "email is invalid"},
        {Reg(code, "@example.com"), "email is invalid"},
        {Reg(code, "a@"), "email is invalid"},
        {Reg(code, "a@b@c"), "email is invalid"},
        {Reg(code, "a b@example.com"), "email is invalid"},
        {Reg(code, "a\x01@example.com"), "email is invalid"},
        {Reg(code, "a\xff@example.com"), "email must be valid UTF-8"},
        {Reg(code, std::string(250, 'a') + "@b.cd"), "email is invalid"},
        {Reg(code, "a@example.com", "short"), "password must be at least 8 bytes"},
        {Reg(code, "a@example.com", std::string(1025, 'p')), "password must be at most 1024 bytes"},
        {Reg(code, "a@example.com", "good-password", std::string(300, 'n')),
         "name is too long (max 255 bytes)"},
        {Reg(code, "a@example.com", "good-password", "bad\xff"), "name must be valid UTF-8"},
        // the invite is checked first
        {Reg("", "bad", "x"), "inviteCode is required"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.r.email);
      CAPTURE(c.message);
      Result<LoginResult> r = f.accounts().Register(c.r, {});
      CheckError(r.status(), ErrorCode::kInvalidArgument, c.message);
      CHECK(r.status().message().find("good-password") == std::string::npos);
    }
    CHECK(f.accounts().ListInviteCodes(kAdmin)->front().used_at == 0);
    MustRegister(f, Reg(code, "a@example.com"));  // still usable
  }

  TEST_CASE("wrong password and unknown email fail alike, and never say the password") {
    Fixture f;
    MustRegister(f, Reg(NewInvite(f), "alice@example.com", "right-password"));
    const Result<LoginResult> attempts[] = {
        f.accounts().Login("alice@example.com", "wrong-password", {}),
        f.accounts().Login("nobody@example.com", "right-password", {}),
        f.accounts().Login("not an email", "right-password", {}),
        f.accounts().Login("", "", {}),
        f.accounts().Login("alice@example.com", "", {}),
        f.accounts().Login("alice@example.com", std::string(2000, 'x'), {}),
    };
    for (const Result<LoginResult>& r : attempts) {
      CheckError(r.status(), ErrorCode::kUnauthenticated, kInvalidCredentialsMessage);
    }
    CHECK(f.accounts().Login(" Alice@Example.com ", "right-password", {}).ok());
  }

  TEST_CASE("a user without a password (a dev account with an email) cannot log in by password") {
    Fixture f;
    User u;
    u.callsign = "dev";
    u.email = "dev@example.com";
    REQUIRE(f.hub->store().CreateUser(u).ok());
    CheckError(f.accounts().Login("dev@example.com", "any-password", {}).status(),
               ErrorCode::kUnauthenticated, kInvalidCredentialsMessage);
  }

  TEST_CASE("failed logins of one email are throttled, for that email only, until the window") {
    Fixture f;
    MustRegister(f, Reg(NewInvite(f), "alice@example.com", "right-password"));
    MustRegister(f, Reg(NewInvite(f), "bob@example.com", "bobs-password"));
    const std::size_t max = f.hub->options().login_throttle.max_failures;
    REQUIRE(max == 10);
    for (std::size_t i = 0; i < max; ++i) {
      CHECK(f.accounts().Login("alice@example.com", "wrong-password", {}).status().code() ==
            ErrorCode::kUnauthenticated);
    }
    // Blocked: even the right password is not checked; the casing does not matter.
    Result<LoginResult> blocked = f.accounts().Login("ALICE@example.com", "right-password", {});
    CHECK(blocked.status().code() == ErrorCode::kRateLimited);
    CHECK(f.accounts().LoginRetryAfter("alice@example.com") == std::chrono::minutes(5));
    CHECK(f.accounts().Login("bob@example.com", "bobs-password", {}).ok());  // others are not
    f.clock.Advance(5 * 60 * 1000);
    CHECK(f.accounts().LoginRetryAfter("alice@example.com").count() == 0);
    CHECK(f.accounts().Login("alice@example.com", "right-password", {}).ok());
  }

  TEST_CASE("of concurrent registrations with one invite exactly one wins") {
    Fixture f;
    const std::string code = NewInvite(f);
    constexpr int kThreads = 4;
    std::vector<Status> results(kThreads);
    std::vector<std::thread> threads;
    std::atomic<int> ready{0};
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) std::this_thread::yield();
        results[static_cast<std::size_t>(i)] =
            f.accounts()
                .Register(Reg(code, "user" + std::to_string(i) + "@example.com"), {})
                .status();
      });
    }
    for (std::thread& t : threads) t.join();
    int won = 0;
    for (const Status& s : results) {
      if (s.ok()) {
        ++won;
      } else {
        CheckError(s, ErrorCode::kConflict, "invite code already used");
      }
    }
    CHECK(won == 1);
  }

  TEST_CASE("a login repairs an account whose space was not made") {
    Fixture f;
    // A user registered by the store alone (as if the server stopped before the space).
    Result<std::vector<GeneratedInviteCode>> codes =
        f.accounts().GenerateInviteCodes(kAdmin, 1, std::chrono::hours(1));
    REQUIRE(codes.ok());
    Result<std::string> hash = HashPassword("right-password");
    REQUIRE(hash.ok());
    User u;
    u.callsign = "eve";
    u.email = "eve@example.com";
    u.password_hash = *hash;
    Result<User> created = f.hub->store().CreateUserWithInvite(
        u, codes->front().record.code_hash, f.clock.NowMillis());
    REQUIRE(created.ok());
    CHECK(f.hub->store().GetSpace(created->id).status().code() == ErrorCode::kNotFound);
    Result<LoginResult> login = f.accounts().Login("eve@example.com", "right-password", {});
    REQUIRE(login.ok());
    CHECK(login->account.space.id == created->id);
    CHECK(f.hub->store().ListChannels(created->id, false)->size() == 2);
  }

  TEST_CASE("NormalizeEmail trims and lower-cases ASCII only") {
    CHECK(NormalizeEmail("  A.B@Example.COM\t") == "a.b@example.com");
    CHECK(NormalizeEmail("\xc3\x89@x.y") == "\xc3\x89@x.y");  // É stays
    CHECK(CheckEmail("a@b").ok());
    CHECK_FALSE(CheckEmail("ab").ok());
  }
}

}  // namespace
}  // namespace agentcore
