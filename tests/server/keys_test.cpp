// SPDX-License-Identifier: Apache-2.0
// API key administration routes (POST/GET /v1/keys, DELETE /v1/keys/:id, the same under
// /api/keys) and request rate limits (RateLimit-* headers, 429 + Retry-After, per-IP limits on
// the authentication routes). The server runs on a manual clock, so every figure is exact.

#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/api_keys.hpp>
#include <agentcore/json.hpp>
#include <agentcore/ulid.hpp>

#include "server/server_fixture.hpp"
#include "support/manual_clock.hpp"

namespace agentcore::server::testing {
namespace {

using agentcore::testing::ManualClock;

constexpr std::string_view kUnauthenticated =
    R"({"error":"Authentication required","code":"unauthenticated"})";

// A server outside dev mode with tier "small" (3/min, 1 session), the flags' defaults
// otherwise, and an administrator key of space "acme" made as the CLI makes it.
struct KeysServer {
  ManualClock clock;
  ServerFixture server;
  std::string admin_key;

  explicit KeysServer(std::function<void(ServerConfig&)> tweak = {})
      : server(Options(&clock, std::move(tweak))) {
    Space space;
    space.id = "acme";
    space.name = "acme";
    REQUIRE(server.app().store().EnsureSpace(space).ok());
    NewApiKeyRequest r;
    r.name = "root";
    r.admin = true;
    auto created = server.app().hub().api_keys().CreateApiKey(OperatorPrincipal("acme"), r);
    REQUIRE(created.ok());
    admin_key = created->key;
  }
  static ServerFixtureOptions Options(Clock* clock, std::function<void(ServerConfig&)> tweak) {
    ServerFixtureOptions o;
    o.auth_mode = "";
    o.clock = clock;
    o.tweak = [tweak = std::move(tweak)](ServerConfig& c) {
      c.tiers = {"small=3:1"};
      if (tweak) tweak(c);
    };
    return o;
  }
  HttpResponse As(const std::string& key, const std::string& method, const std::string& path,
                  std::string body = {}) {
    return server.Call(method, path, std::move(body), false,
                       {{"Authorization", "Bearer " + key}});
  }
  // POST /v1/keys as the administrator; returns the new key's JSON.
  Json CreateKey(const std::string& body, const std::string& prefix = "/v1/keys") {
    HttpResponse r = As(admin_key, "POST", prefix, body);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return ParseJson(r.body).value();
  }
};

std::string Str(const Json& j, std::string_view key) {
  const std::string* s = j.FindString(key);
  return s != nullptr ? *s : std::string();
}

std::string HeaderOf(const HttpResponse& r, std::string_view name) {
  auto v = r.Header(name);
  return v ? std::string(*v) : std::string("(none)");
}

TEST_SUITE("server/keys") {
  TEST_CASE("an administrator creates, lists and revokes keys; the key is shown once") {
    KeysServer t;
    for (const std::string& prefix : {std::string("/v1/keys"), std::string("/api/keys")}) {
      CAPTURE(prefix);
      HttpResponse created =
          t.As(t.admin_key, "POST", prefix, R"({"name":"ci","tier":"small","admin":false})");
      REQUIRE_MESSAGE(created.status == 201, created.body);
      CHECK(HeaderOf(created, "Cache-Control") == "no-store");
      Json body = ParseJson(created.body).value();
      const std::string key = Str(body, "key");
      const std::string id = Str(body, "id");
      CHECK(key.starts_with("ak_"));
      CHECK(Str(body, "spaceId") == "acme");
      CHECK(Str(body, "tier") == "small");
      CHECK(created.body.find(ApiKeyHash(key)) == std::string::npos);
      CHECK(created.body.find("hash") == std::string::npos);

      HttpResponse listed = t.As(t.admin_key, "GET", prefix);
      REQUIRE(listed.status == 200);
      CHECK(listed.body.find(id) != std::string::npos);
      CHECK(listed.body.find(key) == std::string::npos);  // never again
      CHECK(listed.body.find(ApiKeyHash(key)) == std::string::npos);
      CHECK(listed.body.find("\"key\"") == std::string::npos);

      REQUIRE(t.As(key, "GET", "/channels").status == 200);
      HttpResponse revoked = t.As(t.admin_key, "DELETE", prefix + "/" + id);
      CHECK(revoked.status == 204);
      CHECK(revoked.body.empty());
      // At once: the very next request with it is refused.
      HttpResponse after = t.As(key, "GET", "/v1/keys");
      CHECK(after.status == 401);
      CHECK(after.body == kUnauthenticated);
      CHECK(t.As(t.admin_key, "DELETE", prefix + "/" + id).status == 204);  // idempotent
    }
    HttpResponse missing = t.As(t.admin_key, "DELETE", "/v1/keys/" + NewUlid());
    CHECK(missing.status == 404);
    CHECK(missing.body == R"({"error":"api key not found","code":"not_found"})");
  }

  TEST_CASE("a key made by the routes carries its limits and may itself be an administrator") {
    KeysServer t;
    Json small = t.CreateKey(R"({"name":"s","tier":"small"})");
    HttpResponse r = t.As(Str(small, "key"), "GET", "/channels");
    CHECK(HeaderOf(r, "RateLimit-Limit") == "3");
    Json own = t.CreateKey(R"({"name":"o","tier":"small","requestsPerMinute":7})");
    r = t.As(Str(own, "key"), "GET", "/channels");
    CHECK(HeaderOf(r, "RateLimit-Limit") == "7");
    Json admin = t.CreateKey(R"({"name":"a","admin":true})");
    r = t.As(Str(admin, "key"), "GET", "/api/keys");
    CHECK(r.status == 200);
    CHECK(HeaderOf(r, "RateLimit-Limit") == "100");
  }

  TEST_CASE("a key that is not an administrator's gets 403 on every key route") {
    KeysServer t;
    Json plain = t.CreateKey(R"({"name":"plain"})");
    const std::string key = Str(plain, "key");
    const std::string denied =
        R"({"error":"administrator API key required","code":"permission_denied"})";
    HttpResponse r = t.As(key, "POST", "/v1/keys", R"({"name":"mine","admin":true})");
    CHECK(r.status == 403);
    CHECK(r.body == denied);
    r = t.As(key, "GET", "/api/keys");
    CHECK(r.status == 403);
    CHECK(r.body == denied);
    r = t.As(key, "DELETE", "/v1/keys/" + Str(plain, "id"));
    CHECK(r.status == 403);
    CHECK(r.body == denied);
    CHECK(t.As(key, "GET", "/channels").status == 200);  // not revoked by its own attempt
  }

  TEST_CASE("bad create bodies are 400 with the reason, and nothing is made") {
    KeysServer t;
    struct Bad {
      const char* body;
      const char* error;
    };
    const Bad bad[] = {
        {"", "request body must be a JSON object"},
        {"{", "request body must be a JSON object"},
        {"{}", "name is required"},
        {R"({"name":"x","tier":"gold"})", "unknown tier \"gold\""},
        {R"({"name":"x","requestsPerMinute":0})",
         "requestsPerMinute must be an integer from 1 to 10000000"},
        {R"({"name":"x","admin":1})", "admin must be a boolean"},
        {R"({"name":"x","scopes":[]})", "unknown member \"scopes\""},
    };
    for (const Bad& b : bad) {
      CAPTURE(b.body);
      HttpResponse r = t.As(t.admin_key, "POST", "/v1/keys", b.body);
      CHECK(r.status == 400);
      Json j = ParseJson(r.body).value();
      CHECK(Str(j, "error") == b.error);
      CHECK(Str(j, "code") == "invalid_argument");
    }
    HttpResponse listed = t.As(t.admin_key, "GET", "/v1/keys");
    Json j = ParseJson(listed.body).value();
    REQUIRE(j.Find("keys") != nullptr);
    CHECK(j.Find("keys")->as_array().size() == 1);  // the administrator's own
    HttpResponse big = t.As(t.admin_key, "POST", "/v1/keys",
                            R"({"name":")" + std::string(20'000, 'n') + R"("})");
    CHECK(big.status == 413);
  }

  TEST_CASE("unknown and revoked keys get identical 401s, and no credential the same") {
    KeysServer t;
    Json made = t.CreateKey(R"({"name":"gone"})");
    REQUIRE(t.As(t.admin_key, "DELETE", "/v1/keys/" + Str(made, "id")).status == 204);
    for (const std::string& path : {std::string("/v1/keys"), std::string("/api/keys")}) {
      HttpResponse revoked = t.As(Str(made, "key"), "GET", path);
      HttpResponse unknown = t.As(NewApiKey(), "GET", path);
      HttpResponse none = t.server.Call("GET", path, {}, false);
      CHECK(revoked.status == 401);
      CHECK(unknown.status == 401);
      CHECK(none.status == 401);
      CHECK(revoked.body == kUnauthenticated);
      CHECK(unknown.body == revoked.body);
      CHECK(none.body == revoked.body);
      CHECK(revoked.headers.size() == unknown.headers.size());
      CHECK(HeaderOf(revoked, "RateLimit-Limit") == "(none)");
    }
    // Cast's routes keep Cast's body, identical for both as well.
    CHECK(t.As(Str(made, "key"), "GET", "/channels").body ==
          t.As(NewApiKey(), "GET", "/channels").body);
  }

  TEST_CASE("every response of an authenticated route carries the RateLimit headers") {
    KeysServer t;
    HttpResponse ok = t.As(t.admin_key, "GET", "/channels");
    CHECK(ok.status == 200);
    CHECK(HeaderOf(ok, "RateLimit-Limit") == "100");
    CHECK(HeaderOf(ok, "RateLimit-Remaining") == "99");
    CHECK(HeaderOf(ok, "RateLimit-Reset") == "1");  // one token: 600 ms
    HttpResponse not_found = t.As(t.admin_key, "GET", "/channels/" + NewUlid());
    CHECK(not_found.status == 404);
    CHECK(HeaderOf(not_found, "RateLimit-Remaining") == "98");
    CHECK(HeaderOf(not_found, "RateLimit-Reset") == "2");
    HttpResponse bad = t.As(t.admin_key, "POST", "/v1/keys", "{}");
    CHECK(bad.status == 400);
    CHECK(HeaderOf(bad, "RateLimit-Remaining") == "97");
    HttpResponse created = t.As(t.admin_key, "POST", "/channels", R"({"name":"ops"})");
    CHECK(created.status == 201);
    CHECK(HeaderOf(created, "RateLimit-Remaining") == "96");
    t.clock.Advance(60'000);
    CHECK(HeaderOf(t.As(t.admin_key, "GET", "/v1/keys"), "RateLimit-Remaining") == "99");
    // Unlimited routes and requests without a user credential carry none.
    CHECK(HeaderOf(t.server.Call("GET", "/health", {}, false), "RateLimit-Limit") == "(none)");
    CHECK(HeaderOf(t.As(t.admin_key, "GET", "/health"), "RateLimit-Limit") == "(none)");
  }

  TEST_CASE("the 101st request of a minute is 429 with the exact Retry-After, then it recovers") {
    KeysServer t;
    for (int i = 0; i < 100; ++i) {
      HttpResponse r = t.As(t.admin_key, "GET", "/channels");
      REQUIRE(r.status == 200);
      REQUIRE(HeaderOf(r, "RateLimit-Remaining") == std::to_string(99 - i));
    }
    HttpResponse refused = t.As(t.admin_key, "GET", "/channels");
    CHECK(refused.status == 429);
    CHECK(refused.body == R"({"error":"rate limit exceeded; retry in 1 s","code":"rate_limited"})");
    CHECK(HeaderOf(refused, "Retry-After") == "1");
    CHECK(HeaderOf(refused, "RateLimit-Limit") == "100");
    CHECK(HeaderOf(refused, "RateLimit-Remaining") == "0");
    CHECK(HeaderOf(refused, "RateLimit-Reset") == "60");
    // The key routes are limited by the same bucket.
    CHECK(t.As(t.admin_key, "GET", "/v1/keys").status == 429);
    t.clock.Advance(599);
    CHECK(t.As(t.admin_key, "GET", "/channels").status == 429);
    t.clock.Advance(1);
    HttpResponse again = t.As(t.admin_key, "GET", "/channels");
    CHECK(again.status == 200);
    CHECK(HeaderOf(again, "RateLimit-Remaining") == "0");
  }

  TEST_CASE("a key limited to 3 a minute is told to wait exactly 20 s, others are not slowed") {
    KeysServer t;
    Json small = t.CreateKey(R"({"name":"s","requestsPerMinute":3})");
    const std::string key = Str(small, "key");
    for (int i = 0; i < 3; ++i) REQUIRE(t.As(key, "GET", "/channels").status == 200);
    HttpResponse refused = t.As(key, "GET", "/channels");
    CHECK(refused.status == 429);
    CHECK(HeaderOf(refused, "Retry-After") == "20");
    CHECK(refused.body ==
          R"({"error":"rate limit exceeded; retry in 20 s","code":"rate_limited"})");
    CHECK(t.As(t.admin_key, "GET", "/channels").status == 200);
    t.clock.Advance(19'999);
    refused = t.As(key, "GET", "/channels");
    CHECK(refused.status == 429);
    CHECK(HeaderOf(refused, "Retry-After") == "1");
    t.clock.Advance(1);
    CHECK(t.As(key, "GET", "/channels").status == 200);
  }

  TEST_CASE("a signed-in user (session cookie) has a bucket of its own; dev sessions have none") {
    KeysServer t;
    SessionClaims c;
    c.user_id = "u1";
    c.space_id = "acme";
    c.mode = "workos";
    c.iat = t.clock.NowMillis() / 1000;
    c.exp = c.iat + 3600;
    const std::string cookie = "cast_session=" + SignSessionToken(kTestJwtSecret, c);
    HttpResponse r = t.server.Call("GET", "/channels", {}, false, {{"Cookie", cookie}});
    CHECK(r.status == 200);
    CHECK(HeaderOf(r, "RateLimit-Limit") == "100");
    CHECK(HeaderOf(r, "RateLimit-Remaining") == "99");
    c.mode = "dev";
    const std::string dev = "cast_session=" + SignSessionToken(kTestJwtSecret, c);
    r = t.server.Call("GET", "/channels", {}, false, {{"Cookie", dev}});
    CHECK(r.status == 200);
    CHECK(HeaderOf(r, "RateLimit-Limit") == "(none)");
  }

  TEST_CASE("a user presenting its session JWT as a Bearer credential shares its bucket") {
    KeysServer t;
    SessionClaims c;
    c.user_id = "u1";
    c.space_id = "acme";
    c.mode = "password";
    c.iat = t.clock.NowMillis() / 1000;
    c.exp = c.iat + 3600;
    const std::string jwt = SignSessionToken(kTestJwtSecret, c);
    HttpResponse r =
        t.server.Call("GET", "/channels", {}, false, {{"Authorization", "bearer  " + jwt}});
    CHECK(r.status == 200);
    CHECK(HeaderOf(r, "RateLimit-Limit") == "100");
    CHECK(HeaderOf(r, "RateLimit-Remaining") == "99");
    r = t.server.Call("GET", "/channels", {}, false, {{"Cookie", "cast_session=" + jwt}});
    CHECK(HeaderOf(r, "RateLimit-Remaining") == "98");
  }

  TEST_CASE("the authentication routes are limited per client IP") {
    ManualClock clock;
    ServerFixtureOptions o;  // dev mode: POST /auth/dev/login exists
    o.clock = &clock;
    o.tweak = [](ServerConfig& c) { c.ip_requests_per_minute = 3; };
    ServerFixture server(o);
    for (int i = 0; i < 3; ++i) {
      HttpResponse r = server.Call("POST", "/auth/dev/login",
                                   R"({"callsign":"u)" + std::to_string(i) + R"("})", false);
      REQUIRE_MESSAGE(r.status == 201, r.body);
      CHECK(HeaderOf(r, "RateLimit-Limit") == "3");
      CHECK(HeaderOf(r, "RateLimit-Remaining") == std::to_string(2 - i));
    }
    HttpResponse refused = server.Call("POST", "/auth/dev/login", R"({"callsign":"u9"})", false);
    CHECK(refused.status == 429);
    CHECK(HeaderOf(refused, "Retry-After") == "20");
    CHECK(refused.body ==
          R"({"error":"rate limit exceeded; retry in 20 s","code":"rate_limited"})");
    // Bad bodies count too (they are what a guesser sends).
    clock.Advance(20'000);
    CHECK(server.Call("POST", "/auth/dev/login", "{", false).status == 400);
    CHECK(server.Call("POST", "/auth/dev/login", R"({"callsign":"u9"})", false).status == 429);
    // Other routes are not limited per IP: /health, and GET /auth/me (a read).
    for (int i = 0; i < 10; ++i) {
      REQUIRE(server.Call("GET", "/health", {}, false).status == 200);
      REQUIRE(server.Call("GET", "/auth/me", {}, false).status == 401);
    }
    clock.Advance(20'000);
    CHECK(server.Call("POST", "/auth/dev/login", R"({"callsign":"u9"})", false).status == 201);
  }

  TEST_CASE("--requests-per-minute 0 turns the limit off, --tier is checked at start") {
    KeysServer t([](ServerConfig& c) { c.requests_per_minute = 0; });
    for (int i = 0; i < 150; ++i) {
      HttpResponse r = t.As(t.admin_key, "GET", "/v1/keys");
      REQUIRE(r.status == 200);
      REQUIRE(HeaderOf(r, "RateLimit-Limit") == "(none)");
    }
    Json small = t.CreateKey(R"({"name":"s","tier":"small"})");
    CHECK(HeaderOf(t.As(Str(small, "key"), "GET", "/channels"), "RateLimit-Limit") == "3");
    for (const std::vector<std::string>& tiers :
         {std::vector<std::string>{"bad"}, std::vector<std::string>{"a=1:1", "a=2:2"},
          std::vector<std::string>{"a=0:1"}}) {
      ServerConfig config;
      config.host = "127.0.0.1";
      config.port = 0;
      agentcore::testing::TempDir dir;
      config.database_url = "sqlite://" + dir.path() + "/s.db";
      config.data_dir = dir.path() + "/data";
      config.auth_mode = "dev";
      config.tiers = tiers;
      auto app = App::Open(config);
      REQUIRE_FALSE(app.ok());
      CHECK(app.status().code() == ErrorCode::kInvalidArgument);
      CHECK(app.status().message().starts_with("--tier: "));
    }
  }
}

}  // namespace
}  // namespace agentcore::server::testing
