// SPDX-License-Identifier: Apache-2.0
// GET /metrics: Prometheus text with the engine's counters and live gauges; credentials
// required outside dev mode.

#include <doctest/doctest.h>

#include "server/server_fixture.hpp"

namespace agentcore::server::testing {
namespace {

/// The value of an exposition line that starts with `series` (name plus labels).
double Sample(const std::string& text, const std::string& series) {
  std::size_t at = text.find("\n" + series + " ");
  REQUIRE_MESSAGE(at != std::string::npos, series);
  return std::stod(text.substr(at + series.size() + 2));
}

TEST_CASE("metrics count requests by status class and report open connections") {
  ServerFixture server;
  for (int i = 0; i < 3; ++i) CHECK(server.Call("GET", "/health", {}, false).status == 200);
  CHECK(server.Call("GET", "/no-such-route", {}, false).status == 404);
  auto r = server.Call("GET", "/metrics", {}, false);
  REQUIRE(r.status == 200);
  CHECK(r.Header("Content-Type").value_or("").find("text/plain") == 0);
  CHECK(Sample(r.body, R"(agentcore_http_requests_total{class="2xx"})") >= 3);
  CHECK(Sample(r.body, R"(agentcore_http_requests_total{class="4xx"})") >= 1);
  CHECK(Sample(r.body, "agentcore_http_open_connections") >= 1);  // this very request
  CHECK(Sample(r.body, "agentcore_subscribers") == 0);
  CHECK(Sample(r.body, "agentcore_http_connections_accepted_total") >= 1);
}

TEST_CASE("metrics report the store's commits and writes") {
  ServerFixture server;
  server.Login();
  std::string channel = server.CreateChannel("metered");
  for (int i = 0; i < 3; ++i) {
    CHECK(server.Call("POST", "/channels/" + channel + "/messages",
                      R"({"content":"hello","sender":"u","senderType":"user"})")
              .status == 201);
  }
  auto r = server.Call("GET", "/metrics", {}, false);
  REQUIRE(r.status == 200);
  if (server.app().store().Backend() == "postgres") {
    CHECK(r.body.find("agentcore_store_commits_total") == std::string::npos);
    return;
  }
  const double commits = Sample(r.body, "agentcore_store_commits_total");
  CHECK(commits >= 3);  // the channel, then each message, acknowledged one after the other
  CHECK(Sample(r.body, "agentcore_store_writes_total") >= commits);
  CHECK(Sample(r.body, "agentcore_store_checkpoints_total") >= 0);
  CHECK(Sample(r.body, "agentcore_store_writer_checkpoints_total") >= 0);
}

TEST_CASE("metrics need credentials outside dev mode") {
  ServerFixture server(ServerFixtureOptions{.auth_mode = ""});
  auto r = server.Call("GET", "/metrics", {}, false);
  CHECK(r.status == 401);
  CHECK(r.body == R"({"error":"Authentication required"})");
}

}  // namespace
}  // namespace agentcore::server::testing
