// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/api_keys.hpp>

#include <memory>
#include <string>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/hub.hpp>

#include "store/temp_dir.hpp"
#include "support/manual_clock.hpp"
#include "support/test_hub.hpp"

namespace agentcore {
namespace {

using testing::ManualClock;
using testing::TempDir;

// A hub with tiers "pro" (600/min, 50 sessions) and "free" (10/min, 1 session), defaults 100/10.
struct Fixture {
  ManualClock clock;
  TempDir dir;
  std::unique_ptr<Hub> hub;

  Fixture() {
    HubOptions o = testing::TestHubOptions(&clock, nullptr, dir);
    o.rate_limit_tiers.tiers["pro"] = {600, 50};
    o.rate_limit_tiers.tiers["free"] = {10, 1};
    hub = testing::OpenTestHub(std::move(o));
  }
  ApiKeyService& keys() { return hub->api_keys(); }
  Result<Principal> Verify(const std::string& key) { return hub->credentials().VerifyApiKey(key); }
  // An admin of `space`, as its own key would authenticate.
  Principal Admin(const std::string& space = "acme") {
    Principal p = OperatorPrincipal(space);
    p.api_key_id = "admin-key";
    return p;
  }
  CreatedApiKey Create(const Principal& caller, NewApiKeyRequest r) {
    Result<CreatedApiKey> c = keys().CreateApiKey(caller, r);
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    return *std::move(c);
  }
};

NewApiKeyRequest Named(std::string name) {
  NewApiKeyRequest r;
  r.name = std::move(name);
  return r;
}

TEST_SUITE("hub/api_keys") {
  TEST_CASE("an administrator creates a key in its space; the key is returned once, hashed") {
    Fixture f;
    NewApiKeyRequest r = Named("ci");
    r.tier = "pro";
    r.requests_per_minute = 5;
    r.admin = true;
    CreatedApiKey c = f.Create(f.Admin(), r);
    CHECK(c.key.starts_with("ak_"));
    CHECK(c.key.size() == kApiKeyLength);
    CHECK(c.record.space_id == "acme");
    CHECK(c.record.name == "ci");
    CHECK(c.record.key_hash == ApiKeyHash(c.key));
    CHECK(c.record.prefix == ApiKeyPrefix(c.key));
    CHECK(c.record.tier == "pro");
    CHECK(c.record.requests_per_minute == 5);
    CHECK(c.record.max_running_sessions == 0);
    CHECK(c.record.admin);
    CHECK_FALSE(c.record.revoked);
    auto listed = f.keys().ListApiKeys(f.Admin());
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    CHECK((*listed)[0].id == c.record.id);
    CHECK((*listed)[0].tier == "pro");
    // Two keys are never the same.
    CHECK(f.Create(f.Admin(), Named("ci")).key != c.key);
  }

  TEST_CASE("the credential service fills the principal: admin, tier and resolved limits") {
    Fixture f;
    NewApiKeyRequest pro = Named("pro");
    pro.tier = "pro";
    pro.max_running_sessions = 3;  // its own cap overrides the tier's
    pro.admin = true;
    CreatedApiKey a = f.Create(f.Admin(), pro);
    Result<Principal> p = f.Verify(a.key);
    REQUIRE(p.ok());
    CHECK(p->kind == Principal::Kind::kApiKey);
    CHECK(p->space_id == "acme");
    CHECK(p->api_key_id == a.record.id);
    CHECK(p->admin);
    CHECK(p->tier == "pro");
    CHECK(p->requests_per_minute == 600);
    CHECK(p->max_running_sessions == 3);

    CreatedApiKey plain = f.Create(f.Admin(), Named("plain"));
    p = f.Verify(plain.key);
    REQUIRE(p.ok());
    CHECK_FALSE(p->admin);
    CHECK(p->tier.empty());
    CHECK(p->requests_per_minute == 100);
    CHECK(p->max_running_sessions == 10);

    NewApiKeyRequest own = Named("own");
    own.tier = "free";
    own.requests_per_minute = 1000;
    p = f.Verify(f.Create(f.Admin(), own).key);
    REQUIRE(p.ok());
    CHECK(p->requests_per_minute == 1000);
    CHECK(p->max_running_sessions == 1);
  }

  TEST_CASE("a key whose tier is no longer configured gets the defaults") {
    Fixture f;
    ApiKeyService cli(f.hub->store(), nullptr);  // like the CLI: tiers unknown
    NewApiKeyRequest r = Named("old");
    r.tier = "gold";
    Result<CreatedApiKey> c = cli.CreateApiKey(f.Admin(), r);
    REQUIRE(c.ok());
    Result<Principal> p = f.Verify(c->key);
    REQUIRE(p.ok());
    CHECK(p->tier == "gold");
    CHECK(p->requests_per_minute == 100);
    CHECK(p->max_running_sessions == 10);
  }

  TEST_CASE("only an administrator may create, list or revoke keys") {
    Fixture f;
    CreatedApiKey c = f.Create(f.Admin(), Named("victim"));
    Result<Principal> user = f.Verify(c.key);
    REQUIRE(user.ok());
    REQUIRE_FALSE(user->admin);
    auto created = f.keys().CreateApiKey(*user, Named("mine"));
    REQUIRE_FALSE(created.ok());
    CHECK(created.status().code() == ErrorCode::kPermissionDenied);
    CHECK(created.status().message() == "administrator API key required");
    auto listed = f.keys().ListApiKeys(*user);
    REQUIRE_FALSE(listed.ok());
    CHECK(listed.status().code() == ErrorCode::kPermissionDenied);
    Status revoked = f.keys().RevokeApiKey(*user, c.record.id);
    CHECK(revoked.code() == ErrorCode::kPermissionDenied);
    CHECK(f.Verify(c.key).ok());  // still valid
    Principal session;
    session.kind = Principal::Kind::kSession;
    session.space_id = "acme";
    session.user_id = "u1";
    CHECK(f.keys().ListApiKeys(session).status().code() == ErrorCode::kPermissionDenied);
    CHECK(f.Create(f.Admin(), Named("x")).record.admin == false);
  }

  TEST_CASE("a revoked key is refused at once, exactly like an unknown one") {
    Fixture f;
    CreatedApiKey c = f.Create(f.Admin(), Named("ci"));
    REQUIRE(f.Verify(c.key).ok());
    REQUIRE(f.keys().RevokeApiKey(f.Admin(), c.record.id).ok());
    Result<Principal> revoked = f.Verify(c.key);
    Result<Principal> unknown = f.Verify(NewApiKey());
    REQUIRE_FALSE(revoked.ok());
    REQUIRE_FALSE(unknown.ok());
    CHECK(revoked.status().code() == ErrorCode::kUnauthenticated);
    CHECK(revoked.status().code() == unknown.status().code());
    CHECK(revoked.status().message() == unknown.status().message());
    CHECK(f.keys().RevokeApiKey(f.Admin(), c.record.id).ok());  // again: fine
    auto listed = f.keys().ListApiKeys(f.Admin());
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    CHECK((*listed)[0].revoked);
  }

  TEST_CASE("an administrator sees and revokes only its own space's keys") {
    Fixture f;
    CreatedApiKey theirs = f.Create(f.Admin("other"), Named("theirs"));
    CreatedApiKey ours = f.Create(f.Admin("acme"), Named("ours"));
    auto listed = f.keys().ListApiKeys(f.Admin("acme"));
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    CHECK((*listed)[0].id == ours.record.id);
    Status s = f.keys().RevokeApiKey(f.Admin("acme"), theirs.record.id);
    CHECK(s.code() == ErrorCode::kNotFound);
    CHECK(s.message() == "api key not found");
    CHECK(f.Verify(theirs.key).ok());
    CHECK(f.keys().RevokeApiKey(f.Admin(), "missing").code() == ErrorCode::kNotFound);
    CHECK(f.keys().RevokeApiKey(f.Admin(), "").code() == ErrorCode::kNotFound);
    CHECK(f.keys().RevokeApiKey(f.Admin(), std::string(300, 'x')).code() ==
          ErrorCode::kNotFound);
    CHECK(f.keys().RevokeApiKey(f.Admin(), "bad\x01id").code() == ErrorCode::kNotFound);
  }

  TEST_CASE("refuses a bad name, tier or limit, storing nothing") {
    Fixture f;
    struct Bad {
      NewApiKeyRequest request;
      const char* says;
    };
    NewApiKeyRequest empty;
    NewApiKeyRequest nul = Named(std::string("a\0b", 3));
    NewApiKeyRequest long_name = Named(std::string(300, 'n'));
    NewApiKeyRequest bad_tier = Named("x");
    bad_tier.tier = "no spaces";
    NewApiKeyRequest unknown_tier = Named("x");
    unknown_tier.tier = "gold";
    NewApiKeyRequest rpm = Named("x");
    rpm.requests_per_minute = kMaxRequestsPerMinute + 1;
    NewApiKeyRequest sessions = Named("x");
    sessions.max_running_sessions = kMaxRunningSessionsLimit + 1;
    const Bad bad[] = {
        {empty, "name is required"},
        {nul, "name must not contain NUL"},
        {long_name, "name is too long"},
        {bad_tier, "tier must be"},
        {unknown_tier, "unknown tier \"gold\""},
        {rpm, "requestsPerMinute must be an integer from 1 to 10000000"},
        {sessions, "maxRunningSessions must be an integer from 1 to 100000"},
    };
    for (const Bad& b : bad) {
      CAPTURE(b.says);
      auto c = f.keys().CreateApiKey(f.Admin(), b.request);
      REQUIRE_FALSE(c.ok());
      CHECK(c.status().code() == ErrorCode::kInvalidArgument);
      CHECK(c.status().message().find(b.says) != std::string::npos);
    }
    auto listed = f.keys().ListApiKeys(f.Admin());
    REQUIRE(listed.ok());
    CHECK(listed->empty());
  }

  TEST_CASE("parses a create body") {
    auto r = ParseNewApiKeyRequest(
        R"({"name":"ci","tier":"pro","requestsPerMinute":5,"maxRunningSessions":2,"admin":true})");
    REQUIRE(r.ok());
    CHECK(r->name == "ci");
    CHECK(r->tier == "pro");
    CHECK(r->requests_per_minute == 5);
    CHECK(r->max_running_sessions == 2);
    CHECK(r->admin);
    r = ParseNewApiKeyRequest(
        R"({"name":"ci","tier":null,"requestsPerMinute":null,"maxRunningSessions":null,"admin":null})");
    REQUIRE(r.ok());
    CHECK(r->tier.empty());
    CHECK(r->requests_per_minute == 0);
    CHECK(r->max_running_sessions == 0);
    CHECK_FALSE(r->admin);
    r = ParseNewApiKeyRequest(R"({"name":"ci","requestsPerMinute":10000000})");
    REQUIRE(r.ok());
    CHECK(r->requests_per_minute == kMaxRequestsPerMinute);
  }

  TEST_CASE("refuses a bad create body, saying what is wrong") {
    struct Bad {
      const char* body;
      const char* says;
    };
    const Bad bad[] = {
        {"", "request body must be a JSON object"},
        {"not json", "request body must be a JSON object"},
        {"[]", "request body must be a JSON object"},
        {"\"ci\"", "request body must be a JSON object"},
        {"{}", "name is required"},
        {R"({"name":""})", "name is required"},
        {R"({"name":null})", "name is required"},
        {R"({"name":5})", "name must be a string"},
        {R"({"name":"ci","tier":5})", "tier must be a string"},
        {R"({"name":"ci","tier":"a b"})", "tier must be"},
        {R"({"name":"ci","requestsPerMinute":0})", "requestsPerMinute must be an integer from 1"},
        {R"({"name":"ci","requestsPerMinute":-1})", "requestsPerMinute must be"},
        {R"({"name":"ci","requestsPerMinute":1.5})", "requestsPerMinute must be"},
        {R"({"name":"ci","requestsPerMinute":"10"})", "requestsPerMinute must be"},
        {R"({"name":"ci","requestsPerMinute":10000001})", "requestsPerMinute must be"},
        {R"({"name":"ci","requestsPerMinute":1e400})", "requestsPerMinute must be"},
        {R"({"name":"ci","maxRunningSessions":0})", "maxRunningSessions must be"},
        {R"({"name":"ci","maxRunningSessions":100001})", "maxRunningSessions must be"},
        {R"({"name":"ci","admin":"yes"})", "admin must be a boolean"},
        {R"({"name":"ci","admni":true})", "unknown member \"admni\""},
        {R"({"name":"ci","a b":true})", "unknown member"},
    };
    for (const Bad& b : bad) {
      CAPTURE(b.body);
      auto r = ParseNewApiKeyRequest(b.body);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == ErrorCode::kInvalidArgument);
      CHECK(r.status().message().find(b.says) != std::string::npos);
    }
  }

  TEST_CASE("a key's JSON never holds the hash, and the key only when given") {
    ApiKey k;
    k.id = "K1";
    k.space_id = "acme";
    k.name = "ci";
    k.key_hash = std::string(64, 'f');
    k.prefix = "ak_0123456";
    k.created_at = 1'767'225'600'000;
    std::string out;
    AppendApiKeyJson(k, {}, &out);
    CHECK(out ==
          R"({"id":"K1","name":"ci","prefix":"ak_0123456","spaceId":"acme","tier":null,)"
          R"("requestsPerMinute":null,"maxRunningSessions":null,"admin":false,)"
          R"("createdAt":"2026-01-01T00:00:00.000Z","lastUsedAt":null,"revoked":false})");
    k.tier = "pro";
    k.requests_per_minute = 5;
    k.max_running_sessions = 2;
    k.admin = true;
    k.last_used_at = 1'767'225'601'000;
    out.clear();
    AppendApiKeyJson(k, "ak_secret", &out);
    CHECK(out.find(k.key_hash) == std::string::npos);
    CHECK(out.find(R"("tier":"pro","requestsPerMinute":5,"maxRunningSessions":2,"admin":true)") !=
          std::string::npos);
    CHECK(out.find(R"("lastUsedAt":"2026-01-01T00:00:01.000Z")") != std::string::npos);
    CHECK(out.ends_with(R"("revoked":false,"key":"ak_secret"})"));
  }
}

}  // namespace
}  // namespace agentcore
