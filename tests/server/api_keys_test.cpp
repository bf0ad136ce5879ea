// SPDX-License-Identifier: Apache-2.0
// API keys as an alternative to the session cookie: `Authorization: Bearer <key>` acts in the
// key's space; unknown, malformed and revoked keys get Cast's 401.

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/ulid.hpp>

#include "server/server_fixture.hpp"

namespace agentcore::server::testing {
namespace {

struct KeyedServer {
  ServerFixture server{ServerFixtureOptions{.auth_mode = ""}};  // not dev: keys or cookies only
  std::string key = NewApiKey();
  std::string key_id = NewUlid();
  std::string space_id = "space-" + NewUlid();
  KeyedServer() {
    Space space;
    space.id = space_id;
    space.name = "keyed";
    REQUIRE(server.app().store().EnsureSpace(space).ok());
    ApiKey record;
    record.id = key_id;
    record.space_id = space_id;
    record.name = "ci";
    record.key_hash = ApiKeyHash(key);
    record.prefix = ApiKeyPrefix(key);
    REQUIRE(server.app().store().CreateApiKey(record).ok());
  }
  HttpResponse Get(const std::string& path, const std::string& authorization) {
    return server.Call("GET", path, {}, false, {{"Authorization", authorization}});
  }
};

TEST_CASE("/metrics answers a Bearer API key and refuses an unknown one") {
  KeyedServer t;
  auto r = t.Get("/metrics", "Bearer " + t.key);
  CHECK(r.status == 200);
  CHECK(r.body.find("agentcore_http_requests_total") != std::string::npos);
  auto unknown = t.Get("/metrics", "Bearer ak_0000000000000000000000000000000000000000");
  CHECK(unknown.status == 401);
  CHECK(unknown.body == R"({"error":"Authentication required"})");
}

TEST_CASE("a Bearer API key acts in its space") {
  KeyedServer t;
  NewChannel in;
  in.space_id = t.space_id;
  in.name = "ops";
  auto channel = t.server.app().store().CreateChannel(in);
  REQUIRE(channel.ok());
  auto r = t.Get("/channels", "Bearer " + t.key);
  CHECK(r.status == 200);
  CHECK(r.body.find("\"ops\"") != std::string::npos);
  auto lower = t.Get("/channels/" + channel->id, "bearer " + t.key);
  CHECK(lower.status == 200);
}

TEST_CASE("unknown, malformed and revoked API keys are refused with Cast's 401") {
  KeyedServer t;
  for (const std::string& header :
       {std::string("Bearer ak_0000000000000000000000000000000000000000"), std::string("Bearer"),
        std::string("Bearer "), std::string("Basic ") + t.key, std::string("Bearer  x y")}) {
    CAPTURE(header);
    auto r = t.Get("/channels", header);
    CHECK(r.status == 401);
    CHECK(r.body == R"({"error":"Authentication required"})");
  }
  REQUIRE(t.server.app().store().RevokeApiKey(t.key_id).ok());
  auto revoked = t.Get("/channels", "Bearer " + t.key);
  CHECK(revoked.status == 401);
}

TEST_CASE("outside dev mode the dev login routes do not exist and /health stays open") {
  KeyedServer t;
  CHECK(t.server.Call("POST", "/auth/dev/login", R"({"callsign":"x"})", false).status == 404);
  CHECK(t.server.Call("GET", "/health", {}, false).status == 200);
  CHECK(t.server.Call("GET", "/channels", {}, false).status == 401);
}

}  // namespace
}  // namespace agentcore::server::testing
