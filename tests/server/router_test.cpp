// SPDX-License-Identifier: Apache-2.0
#include "http/router.hpp"

#include <string>

#include <doctest/doctest.h>

#include "http/request_context.hpp"

namespace agentcore::server {
namespace {

asio::awaitable<Response> Named(RequestContext&) { co_return JsonResponse(200, "named"); }

/// A router whose routes are told apart by their pattern: Find's route->pattern says which.
Router Routes() {
  Router router;
  router.Get("/sessions/:id", {}, Named);
  router.Get("/sessions/:id/terminal", {}, Named);
  router.Get("/sessions/:id/:service/*rest", {}, Named);
  router.Post("/sessions/:id/:service/*rest", {}, Named);
  router.Get("/v1/sessions/:id/files", {}, Named);
  router.Get("/v1/sessions/:id/files/*path", {}, Named);
  router.Get("/channels/:channelId/messages", {}, Named);
  return router;
}

TEST_SUITE("server/router") {
  TEST_CASE("a parameter matches one segment, decoded; literals win over parameters") {
    Router router = Routes();
    PathParams params;
    Router::Match m = router.Find("GET", "/channels/a%20b/messages", &params);
    REQUIRE(m.kind == Router::MatchKind::kFound);
    CHECK(m.route->pattern == "/channels/:channelId/messages");
    CHECK(params.Get("channelId") == "a b");
    m = router.Find("GET", "/sessions/s1/terminal", &params);
    REQUIRE(m.kind == Router::MatchKind::kFound);
    CHECK(m.route->pattern == "/sessions/:id/terminal");
    CHECK(params.Get("id") == "s1");
  }

  TEST_CASE("a trailing wildcard takes the rest of the path as sent, slashes and escapes kept") {
    Router router = Routes();
    PathParams params;
    Router::Match m = router.Find("GET", "/sessions/s1/web/static/app%2Ejs/", &params);
    REQUIRE(m.kind == Router::MatchKind::kFound);
    CHECK(m.route->pattern == "/sessions/:id/:service/*rest");
    CHECK(params.Get("id") == "s1");
    CHECK(params.Get("service") == "web");
    CHECK(params.Get("rest") == "static/app%2Ejs/");
    m = router.Find("GET", "/sessions/s1/terminal/ws", &params);
    REQUIRE(m.kind == Router::MatchKind::kFound);
    CHECK(m.route->pattern == "/sessions/:id/:service/*rest");
    CHECK(params.Get("service") == "terminal");
    CHECK(params.Get("rest") == "ws");
  }

  TEST_CASE("a wildcard matches zero segments, with or without a trailing slash") {
    Router router = Routes();
    PathParams params;
    for (const char* path : {"/sessions/s1/web", "/sessions/s1/web/"}) {
      CAPTURE(path);
      Router::Match m = router.Find("POST", path, &params);
      REQUIRE(m.kind == Router::MatchKind::kFound);
      CHECK(m.route->pattern == "/sessions/:id/:service/*rest");
      CHECK(params.Get("service") == "web");
      CHECK(params.Get("rest").empty());
    }
  }

  TEST_CASE("at equal literals, the route without a wildcard wins") {
    Router router = Routes();
    PathParams params;
    Router::Match m = router.Find("GET", "/v1/sessions/s1/files", &params);
    REQUIRE(m.kind == Router::MatchKind::kFound);
    CHECK(m.route->pattern == "/v1/sessions/:id/files");
    m = router.Find("GET", "/v1/sessions/s1/files/a/b.txt", &params);
    REQUIRE(m.kind == Router::MatchKind::kFound);
    CHECK(m.route->pattern == "/v1/sessions/:id/files/*path");
    CHECK(params.Get("path") == "a/b.txt");
    // A wildcard's rest is not decoded: an encoded traversal reaches the handler as sent.
    m = router.Find("GET", "/v1/sessions/s1/files/%2e%2e/x", &params);
    REQUIRE(m.kind == Router::MatchKind::kFound);
    CHECK(params.Get("path") == "%2e%2e/x");
  }

  TEST_CASE("too short for a wildcard's fixed segments, another method, or a bad parameter") {
    Router router = Routes();
    PathParams params;
    CHECK(router.Find("GET", "/sessions", &params).kind == Router::MatchKind::kNoPath);
    CHECK(router.Find("GET", "/other/s1/web/x", &params).kind == Router::MatchKind::kNoPath);
    CHECK(router.Find("DELETE", "/sessions/s1/web/x", &params).kind ==
          Router::MatchKind::kNoMethod);
    // The fixed parameters of a wildcard route are decoded and checked as any other.
    CHECK(router.Find("GET", "/sessions/%ff/web/x", &params).kind ==
          Router::MatchKind::kBadParam);
  }
}

}  // namespace
}  // namespace agentcore::server
