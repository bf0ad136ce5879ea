// SPDX-License-Identifier: Apache-2.0
// spec cast §4.3: health, root and the frontend stubs need no authentication.
#include "handlers/handlers.hpp"

#include <doctest/doctest.h>

#include "server/rest_test_client.hpp"

namespace agentcore::testing {

TEST_SUITE("HealthRoutes") {
  TEST_CASE("GET /health reports ok, Cast's version and an ISO timestamp") {
    RestServer server;
    RestReply r = server.Anonymous().Get("/health");
    CHECK(r.status == 200);
    CHECK(Str(r.json, "status") == "ok");
    CHECK(Str(r.json, "version") == "0.0.1");
    CHECK(ParseIsoTimestamp(Str(r.json, "timestamp")).ok());
    CHECK(r.Header("Content-Type").value_or("") == "application/json");
  }

  TEST_CASE("GET / and the stubs answer Cast's fixed bodies") {
    RestServer server;
    RestClient client = server.Anonymous();
    CHECK(client.Get("/").body == R"({"name":"Cast Backend","version":"0.0.1","docs":"/health"})");
    RestReply focus = client.Get("/focus-types");
    CHECK(focus.status == 200);
    CHECK(Str(At(focus.json, "focusTypes").as_array().at(0), "slug") == "general");
    RestReply agents = client.Get("/agents");
    CHECK(agents.status == 200);
    REQUIRE(At(agents.json, "agentTypes").as_array().size() == 2);
    CHECK(Str(At(agents.json, "agentTypes").as_array()[1], "slug") == "lead");
    RestReply backends = client.Get("/api/backends");
    CHECK(backends.status == 200);
    REQUIRE(backends.json.is_array());
    CHECK(backends.json.as_array().size() == 3);
    CHECK(Str(backends.json.as_array()[2], "name") == "codex");
    CHECK(At(At(backends.json.as_array()[2], "capabilities"), "supportsVision") == Json(false));
  }

  TEST_CASE("GET /ready answers 200 with the node, then 503 draining once the hub drains") {
    RestServer server([](server::ServerConfig& c) { c.node_id = "node-under-test"; });
    RestClient client = server.Anonymous();  // no authentication: the load balancer asks
    RestReply r = client.Get("/ready");
    CHECK(r.status == 200);
    CHECK(At(r.json, "ready") == Json(true));
    CHECK(Str(r.json, "node") == "node-under-test");
    CHECK(r.json.Find("reason") == nullptr);
    // SQLite: one node, never clustered; PostgreSQL: clustered (the default), and ready at
    // once (the node renewed its leases before it served).
    CHECK(server.app().hub().clustered() == server::testing::ServerFixture::UsePostgres());
    server.app().hub().Drain();
    server.app().hub().Drain();  // idempotent
    RestReply draining = client.Get("/ready");
    CHECK(draining.status == 503);
    CHECK(At(draining.json, "ready") == Json(false));
    CHECK(Str(draining.json, "reason") == "draining");
    CHECK(Str(draining.json, "node") == "node-under-test");
    // Draining is no outage: the process still answers /health.
    CHECK(client.Get("/health").status == 200);
  }

  TEST_CASE("GET /ready without a node id names the generated one") {
    RestServer server;
    RestReply r = server.Anonymous().Get("/ready");
    CHECK(r.status == 200);
    const std::string node = Str(r.json, "node");
    CHECK(node == server.app().hub().node_id());
    CHECK(node.find('-') != std::string::npos);  // <hostname>-<pid>-<random>
    CHECK(server.Anonymous().Post("/ready", "{}").status >= 400);
  }

  TEST_CASE("a wrong method on a stub is not routed") {
    RestServer server;
    CHECK(server.Anonymous().Post("/health", "{}").status >= 400);
  }
}

}  // namespace agentcore::testing
