// SPDX-License-Identifier: Apache-2.0
// The HTTP engine as a client on the wire sees it: keep-alive, pipelining, chunked bodies,
// limits (413, 431), slow clients (408), malformed requests (400), unknown routes, shutdown.

#include <chrono>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "server/raw_client.hpp"
#include "server/server_fixture.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

std::string Get(const std::string& path, const std::string& extra = {}) {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

TEST_CASE("keep-alive connection serves several requests in turn") {
  ServerFixture server;
  RawClient c(server.port());
  REQUIRE(c.connected());
  for (int i = 1; i <= 3; ++i) {
    REQUIRE(c.Send(Get("/health")));
    c.ReadResponses(i, 5s);
    CHECK(c.CountResponses() == i);
  }
  CHECK_FALSE(c.closed());
}

TEST_CASE("pipelined requests are answered in order on one connection") {
  ServerFixture server;
  RawClient c(server.port());
  REQUIRE(c.Send(Get("/health") + Get("/") + Get("/no-such-route") + Get("/health")));
  std::string all = c.ReadResponses(4, 5s);
  REQUIRE(c.CountResponses() == 4);
  std::size_t first = all.find("\"status\":\"ok\"");
  std::size_t second = all.find("Cast Backend");
  std::size_t third = all.find("HTTP/1.1 404");
  std::size_t fourth = all.find("\"status\":\"ok\"", first + 1);
  CHECK(first < second);
  CHECK(second < third);
  CHECK(third < fourth);
  CHECK(fourth != std::string::npos);
}

TEST_CASE("an unknown route is a JSON 404 and a wrong method a JSON 405") {
  ServerFixture server;
  auto r = server.Call("GET", "/definitely/not/here", {}, false);
  CHECK(r.status == 404);
  CHECK(BodyJson(r).FindString("error") != nullptr);
  auto m = server.Call("DELETE", "/health", {}, false);
  CHECK(m.status == 405);
  CHECK(*BodyJson(m).FindString("error") == "method_not_allowed");
}

TEST_CASE("a malformed request gets 400 JSON and the connection closes") {
  ServerFixture server;
  RawClient c(server.port());
  REQUIRE(c.Send("GET /health HTTP/1.1\r\nHost x no colon\r\n\r\n"));
  CHECK(c.WaitClosed(5s));
  CHECK(c.received().rfind("HTTP/1.1 400", 0) == 0);
  CHECK(c.received().find("\"error\":\"bad_request\"") != std::string::npos);
  // The server is still fine.
  CHECK(server.Call("GET", "/health", {}, false).status == 200);
}

TEST_CASE("a head over the limit gets 431 and the connection closes") {
  ServerFixture server(ServerFixtureOptions{.tweak = [](ServerConfig& c) {
    c.limits.max_header_bytes = 1024;
  }});
  RawClient c(server.port());
  REQUIRE(c.Send(Get("/health", "X-Big: " + std::string(4000, 'a') + "\r\n")));
  CHECK(c.WaitClosed(5s));
  CHECK(c.received().rfind("HTTP/1.1 431", 0) == 0);
}

TEST_CASE("a body over the limit gets 413, by Content-Length or while chunked") {
  ServerFixture server(ServerFixtureOptions{.tweak = [](ServerConfig& c) {
    c.limits.max_body_bytes = 1000;
  }});
  SUBCASE("declared length") {
    RawClient c(server.port());
    REQUIRE(c.Send("POST /channels HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"));
    CHECK(c.WaitClosed(5s));
    CHECK(c.received().rfind("HTTP/1.1 413", 0) == 0);
  }
  SUBCASE("chunked") {
    RawClient c(server.port());
    REQUIRE(c.Send("POST /channels HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    std::string chunk(600, 'x');
    c.Send("258\r\n" + chunk + "\r\n");
    c.Send("258\r\n" + chunk + "\r\n");
    CHECK(c.WaitClosed(5s));
    CHECK(c.received().rfind("HTTP/1.1 413", 0) == 0);
  }
}

TEST_CASE("a chunked request body is reassembled") {
  ServerFixture server;
  server.Login();
  RawClient c(server.port());
  std::string body = "{\"name\":\"chunked-channel\"}";
  std::string request = "POST /channels HTTP/1.1\r\nHost: x\r\nCookie: " + server.cookie() +
                        "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size() - 5);
  request += std::string(size) + "\r\n" + body.substr(0, body.size() - 5) + "\r\n";
  request += "5\r\n" + body.substr(body.size() - 5) + "\r\n0\r\n\r\n";
  REQUIRE(c.Send(request));
  std::string r = c.ReadResponses(1, 5s);
  CHECK(r.rfind("HTTP/1.1 201", 0) == 0);
  CHECK(r.find("chunked-channel") != std::string::npos);
}

TEST_CASE("a client that stalls in the head or the body gets 408 and is dropped") {
  ServerFixture server(ServerFixtureOptions{.tweak = [](ServerConfig& c) {
    c.limits.header_timeout = 300ms;
    c.limits.body_timeout = 300ms;
  }});
  SUBCASE("head") {
    RawClient c(server.port());
    REQUIRE(c.Send("GET /health HTTP/1.1\r\nHost: x\r\n"));
    CHECK(c.WaitClosed(5s));
    CHECK(c.received().rfind("HTTP/1.1 408", 0) == 0);
  }
  SUBCASE("body") {
    RawClient c(server.port());
    REQUIRE(c.Send("POST /channels HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"na"));
    CHECK(c.WaitClosed(5s));
    CHECK(c.received().rfind("HTTP/1.1 408", 0) == 0);
  }
  CHECK(server.Call("GET", "/health", {}, false).status == 200);
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout") {
  ServerFixture server(ServerFixtureOptions{.tweak = [](ServerConfig& c) {
    c.limits.idle_timeout = 200ms;
  }});
  RawClient c(server.port());
  REQUIRE(c.Send(Get("/health")));
  c.ReadResponses(1, 5s);
  CHECK(c.WaitClosed(5s));
  CHECK(c.received().find("408") == std::string::npos);  // nothing was pending: no 408
}

TEST_CASE("connections over the limit get 503 and the server keeps serving") {
  ServerFixture server(ServerFixtureOptions{.tweak = [](ServerConfig& c) {
    c.limits.max_connections = 3;
  }});
  RawClient a(server.port()), b(server.port()), d(server.port());
  std::this_thread::sleep_for(100ms);
  RawClient over(server.port());
  CHECK(over.WaitClosed(5s));
  CHECK(over.received().find("503") != std::string::npos);
}

TEST_CASE("stop finishes an in-flight request and closes idle connections") {
  ServerFixture server;
  RawClient idle(server.port());
  REQUIRE(idle.Send(Get("/health")));
  idle.ReadResponses(1, 5s);
  server.app().Stop();
  CHECK(idle.WaitClosed(5s));
  CHECK(server.app().open_connections() == 0);
}

}  // namespace
}  // namespace agentcore::server::testing
