// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/credentials.hpp>

#include <memory>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/hub/hub.hpp>

#include "store/temp_dir.hpp"
#include "support/manual_clock.hpp"
#include "support/test_hub.hpp"

namespace agentcore {
namespace {

using testing::ManualClock;
using testing::TempDir;

constexpr std::string_view kJwtSecret = "test-jwt-secret";
constexpr std::string_view kContainerSecret = "test-container-secret";

// A hub on an in-memory SQLite store with known secrets and a manual clock.
struct Fixture {
  ManualClock clock;
  TempDir dir;
  std::unique_ptr<Hub> hub;

  Fixture() {
    HubOptions o = testing::TestHubOptions(&clock, nullptr, dir);
    o.jwt_secret = kJwtSecret;
    o.container_secret = kContainerSecret;
    hub = testing::OpenTestHub(std::move(o));
  }
  CredentialService& credentials() { return hub->credentials(); }
  std::int64_t now() const { return clock.NowMillis() / 1000; }

  // A session token issued now, valid for `ttl` seconds.
  std::string Session(std::int64_t ttl = kSessionTtlSeconds, std::string_view secret = kJwtSecret) {
    SessionClaims c;
    c.user_id = "u1";
    c.space_id = "acme";
    c.mode = "dev";
    c.iat = now();
    c.exp = now() + ttl;
    return SignSessionToken(secret, c);
  }
  // A key stored for space "acme" (revoked when asked).
  std::string StoredKey(bool revoked = false) {
    std::string key = NewApiKey();
    ApiKey k;
    k.id = hub->NewId();
    k.space_id = "acme";
    k.name = "ci";
    k.key_hash = ApiKeyHash(key);
    k.prefix = ApiKeyPrefix(key);
    k.created_at = clock.NowMillis();
    REQUIRE(hub->store().CreateApiKey(k).ok());
    if (revoked) REQUIRE(hub->store().RevokeApiKey(k.id).ok());
    return key;
  }
};

// A JWT with `payload_json`, signed with the test secret.
std::string SignedJwt(std::string_view payload_json) {
  std::string token =
      Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + Base64UrlEncode(payload_json);
  return token + "." + Base64UrlEncode(HmacSha256(kJwtSecret, token));
}

void CheckRequired(const Result<Principal>& p) {
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == ErrorCode::kUnauthenticated);
  CHECK(p.status().message() == "Authentication required");
}

TEST_SUITE("CredentialService") {
  TEST_CASE("a valid session cookie is a session principal of its space and user") {
    Fixture f;
    const std::string cookie = "theme=dark; cast_session=" + f.Session();
    Result<Principal> p = f.credentials().Authenticate("", cookie);
    REQUIRE(p.ok());
    CHECK(p->kind == Principal::Kind::kSession);
    CHECK(p->space_id == "acme");
    CHECK(p->user_id == "u1");
    CHECK(p->mode == "dev");
    CHECK_FALSE(CredentialService::ReadsStore(""));
  }

  TEST_CASE("refuses an expired session token, also once it was cached") {
    Fixture f;
    const std::string token = f.Session(/*ttl=*/60);
    REQUIRE(f.credentials().VerifySession(token).ok());  // verified and cached
    f.clock.Advance(59'000);
    CHECK(f.credentials().VerifySession(token).ok());  // still valid: the cache answers
    f.clock.Advance(1'000);
    CheckRequired(f.credentials().VerifySession(token));  // exp reached: as verification
    CHECK_FALSE(VerifySessionToken(kJwtSecret, token, f.now()).ok());
    f.clock.Advance(3'600'000);
    CheckRequired(f.credentials().Authenticate("", "cast_session=" + token));
  }

  TEST_CASE("the cache answers exactly like verification at every second around exp and nbf") {
    Fixture f;
    const std::int64_t t0 = f.now();
    const std::string token =
        SignedJwt(R"({"userId":"u","spaceId":"s","mode":"dev","nbf":)" + std::to_string(t0 + 5) +
                  R"(,"exp":)" + std::to_string(t0 + 10) + "}");
    // Walk forwards and back again: a cached entry must never outlive or predate validity.
    for (std::int64_t second : {0, 4, 5, 6, 9, 10, 11, 7, 3, 5, 9, 10}) {
      f.clock.Set((t0 + second) * 1000);
      const bool expected = VerifySessionToken(kJwtSecret, token, t0 + second).ok();
      CAPTURE(second);
      CHECK(f.credentials().VerifySession(token).ok() == expected);
      CHECK(f.credentials().VerifySession(token).ok() == expected);  // a second, cached, ask
    }
  }

  TEST_CASE("refuses a not-yet-valid session token") {
    Fixture f;
    const std::string token = SignedJwt(R"({"userId":"u","spaceId":"s","mode":"dev","nbf":)" +
                                        std::to_string(f.now() + 100) + R"(,"exp":)" +
                                        std::to_string(f.now() + 1000) + "}");
    CheckRequired(f.credentials().VerifySession(token));
    f.clock.Advance(100'000);
    CHECK(f.credentials().VerifySession(token).ok());
  }

  TEST_CASE("refuses garbage, a token signed with another secret, and missing cookies") {
    Fixture f;
    CheckRequired(f.credentials().VerifySession(""));
    CheckRequired(f.credentials().VerifySession("not.a.jwt"));
    CheckRequired(f.credentials().VerifySession(f.Session(60, "other-secret")));
    std::string flipped = f.Session();
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    CheckRequired(f.credentials().VerifySession(flipped));
    CheckRequired(f.credentials().Authenticate("", ""));
    CheckRequired(f.credentials().Authenticate("", "other=1; session=" + f.Session()));
    CheckRequired(f.credentials().Authenticate("", "cast_session"));
  }

  TEST_CASE("an API key is found by its hash and scoped to its space") {
    Fixture f;
    const std::string key = f.StoredKey();
    CHECK(CredentialService::ReadsStore("Bearer " + key));
    for (const std::string& header : {"Bearer " + key, "bearer \t" + key, "BEARER " + key}) {
      Result<Principal> p = f.credentials().Authenticate(header, "");
      REQUIRE(p.ok());
      CHECK(p->kind == Principal::Kind::kApiKey);
      CHECK(p->space_id == "acme");
      CHECK(p->user_id.empty());
    }
  }

  TEST_CASE("refuses a revoked or unknown API key, without falling back to the cookie") {
    Fixture f;
    const std::string revoked = f.StoredKey(/*revoked=*/true);
    const std::string cookie = "cast_session=" + f.Session();
    CheckRequired(f.credentials().Authenticate("Bearer " + revoked, cookie));
    CheckRequired(f.credentials().Authenticate("Bearer ak_unknown", cookie));
    CheckRequired(f.credentials().VerifyApiKey(NewApiKey()));
  }

  TEST_CASE("a malformed Authorization header is ignored in favour of the cookie") {
    Fixture f;
    const std::string cookie = "cast_session=" + f.Session();
    for (std::string_view header :
         {"Bearer", "Bearer ", "Bearer   ", "Bearerx abc", "Basic abc", "Container abc"}) {
      CAPTURE(header);
      CHECK_FALSE(CredentialService::ReadsStore(header));
      Result<Principal> p = f.credentials().Authenticate(header, cookie);
      REQUIRE(p.ok());
      CHECK(p->kind == Principal::Kind::kSession);
      CheckRequired(f.credentials().Authenticate(header, ""));
    }
  }

  TEST_CASE("a container token is a container principal scoped to its agent's channel") {
    Fixture f;
    const AgentIdentity fox{"acme", "ch1", "fox"};
    const std::string token = f.hub->ContainerToken(fox);
    for (const std::string& header : {"Container " + token, "Agent " + token}) {
      Result<Principal> p = f.credentials().AuthenticateContainer(header);
      REQUIRE(p.ok());
      CHECK(p->kind == Principal::Kind::kContainer);
      CHECK(p->space_id == "acme");
      CHECK(p->agent == fox);
    }
    Result<Principal> scoped =
        f.credentials().AuthenticateContainerFor("Container " + token, "ch1");
    REQUIRE(scoped.ok());
    CHECK(scoped->agent.channel_id == "ch1");
  }

  TEST_CASE("refuses a container token for another channel") {
    Fixture f;
    const std::string token = f.hub->ContainerToken(AgentIdentity{"acme", "ch1", "fox"});
    Result<Principal> p = f.credentials().AuthenticateContainerFor("Container " + token, "ch2");
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == ErrorCode::kPermissionDenied);
    CHECK(p.status().message() == "container token is for another channel");
  }

  TEST_CASE("refuses malformed container headers with Cast's texts") {
    Fixture f;
    const std::string token = f.hub->ContainerToken(AgentIdentity{"acme", "ch1", "fox"});
    struct Case {
      std::string header;
      std::string_view message;
    };
    const Case cases[] = {
        {"", kMissingAuthorizationMessage},
        {"Bearer " + token, kInvalidAuthorizationFormatMessage},
        {"Container", kInvalidAuthorizationFormatMessage},
        {"Container " + token + "x", kInvalidContainerTokenMessage},
        {"Container garbage", kInvalidContainerTokenMessage},
        // Signed with another secret.
        {"Container " + MakeContainerToken("other", AgentIdentity{"acme", "ch1", "fox"}),
         kInvalidContainerTokenMessage},
    };
    for (const Case& c : cases) {
      CAPTURE(c.header);
      Result<Principal> p = f.credentials().AuthenticateContainerFor(c.header, "ch1");
      REQUIRE_FALSE(p.ok());
      CHECK(p.status().code() == ErrorCode::kUnauthenticated);
      CHECK(p.status().message() == c.message);
    }
  }

  TEST_CASE("a container token is not a session credential") {
    Fixture f;
    const std::string token = f.hub->ContainerToken(AgentIdentity{"acme", "ch1", "fox"});
    CheckRequired(f.credentials().Authenticate("Container " + token, ""));
    CheckRequired(f.credentials().VerifySession(token));
  }

  TEST_CASE("outside development the secrets must be set, long and not the public ones") {
    const std::string real(64, 'a');
    const std::string other(32, 'b');
    CHECK(CheckSecrets(false, real, other).ok());
    struct Case {
      std::string jwt;
      std::string container;
      std::string start;  // the message starts so
    };
    const Case cases[] = {
        {"", other, "JWT_SECRET is not set: "},
        {std::string(kDevSessionSecret), other, "JWT_SECRET is a public development secret: "},
        {std::string(kDevContainerSecret), other, "JWT_SECRET is a public development secret: "},
        {std::string(31, 'x'), other, "JWT_SECRET is too short (31 bytes; at least 32): "},
        {real, "", "CAST_CONTAINER_SECRET is not set: "},
        {real, std::string(kDevContainerSecret),
         "CAST_CONTAINER_SECRET is a public development secret: "},
        {real, "short", "CAST_CONTAINER_SECRET is too short (5 bytes; at least 32): "},
        {"", "", "JWT_SECRET is not set: "},
    };
    for (const Case& c : cases) {
      CAPTURE(c.jwt);
      CAPTURE(c.container);
      Status s = CheckSecrets(false, c.jwt, c.container);
      REQUIRE(s.code() == ErrorCode::kInvalidArgument);
      CHECK(s.message().rfind(c.start, 0) == 0);
      CHECK(s.message().find("openssl rand -hex 32") != std::string::npos);
    }
  }

  TEST_CASE("a session JWT as a Bearer credential is a session, in any casing and spacing") {
    Fixture f;
    const std::string token = f.Session();
    for (const std::string& header :
         {"Bearer " + token, "bearer " + token, "BEARER " + token, "bEaReR \t  " + token,
          "Bearer " + token + "  ", "Bearer\t" + token + "\t"}) {
      CAPTURE(header);
      CHECK_FALSE(CredentialService::ReadsStore(header));  // a JWT is checked without the store
      Result<Principal> p = f.credentials().Authenticate(header, "");
      REQUIRE(p.ok());
      CHECK(p->kind == Principal::Kind::kSession);
      CHECK(p->space_id == "acme");
      CHECK(p->user_id == "u1");
      CHECK(p->mode == "dev");
      CHECK(p->api_key_id.empty());
    }
  }

  TEST_CASE("refuses an expired or badly signed Bearer JWT, without falling back to the cookie") {
    Fixture f;
    const std::string cookie = "cast_session=" + f.Session();
    const std::string expiring = f.Session(/*ttl=*/10);
    REQUIRE(f.credentials().Authenticate("Bearer " + expiring, "").ok());
    f.clock.Advance(10'000);  // exp reached: refused, also though it was verified (cached) before
    CheckRequired(f.credentials().Authenticate("Bearer " + expiring, cookie));
    CheckRequired(f.credentials().Authenticate("Bearer " + f.Session(60, "other-secret"), cookie));
    std::string flipped = f.Session();
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    CheckRequired(f.credentials().Authenticate("bearer " + flipped, cookie));
    // Three dot-separated parts make a JWT: never looked up as an API key, never the cookie.
    CheckRequired(f.credentials().Authenticate("Bearer a.b.c", cookie));
    CHECK_FALSE(CredentialService::ReadsStore("Bearer a.b.c"));
    // Not three non-empty parts: an API key (unknown here), refused as one.
    for (std::string_view other : {"a.b", "a..c", ".b.c", "a.b.", "a.b.c.d", "ak_x.y"}) {
      CAPTURE(other);
      const std::string header = "Bearer " + std::string(other);
      CHECK(CredentialService::ReadsStore(header));
      CheckRequired(f.credentials().Authenticate(header, cookie));
    }
  }

  TEST_CASE("a Bearer API key still reads the store and still wins over the cookie") {
    Fixture f;
    const std::string key = f.StoredKey();
    Result<Principal> p = f.credentials().Authenticate("BEARER   " + key + " ", "cast_session=x");
    REQUIRE(p.ok());
    CHECK(p->kind == Principal::Kind::kApiKey);
  }

  TEST_CASE("a development server may run on the public secrets or none") {
    CHECK(CheckSecrets(true, "", "").ok());
    CHECK(CheckSecrets(true, kDevSessionSecret, kDevContainerSecret).ok());
    CHECK(CheckSecrets(true, "short", "").ok());
  }
}

}  // namespace
}  // namespace agentcore
