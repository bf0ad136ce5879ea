// SPDX-License-Identifier: Apache-2.0
// Issue 13 §5: failed authentication is throttled per client IP. 273,576 wrong API keys in 15 s
// were each answered 401; now the 20th failure in 10 s blocks the IP (429 too_many_requests
// with Retry-After) for every request that presents credentials, other IPs are unaffected, and
// the block ends with its window. The rule is the library's (hub/auth_throttle.hpp, unit-tested
// with a manual clock, including 100,000 distinct IPs in bounded memory).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/json.hpp>
#include <agentcore/ulid.hpp>

#include "server/rest_test_client.hpp"
#include "server/server_fixture.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

using agentcore::testing::Str;


struct Reply {
  int status = 0;
  std::string head;
  std::string body;
};

/// One request on its own connection from `source` (a 127.x.y.z address: Linux accepts any
/// of them as the source of a loopback connection), read until the server closes.
Reply Request(std::uint16_t port, const std::string& source, const std::string& method,
              const std::string& path, const std::vector<std::pair<std::string, std::string>>&
                                           headers = {}) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  REQUIRE(::inet_pton(AF_INET, source.c_str(), &from.sin_addr) == 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: test\r\n";
  bool has_connection = false;
  for (const auto& [name, value] : headers) {
    req += name + ": " + value + "\r\n";
    has_connection = has_connection || name == "Connection";
  }
  if (!has_connection) req += "Connection: close\r\n";
  req += method == "POST" ? "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                          : "\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  std::string in;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  Reply r;
  std::size_t end = in.find("\r\n\r\n");
  REQUIRE_MESSAGE(end != std::string::npos, in);
  r.head = in.substr(0, end);
  r.body = in.substr(end + 4);
  r.status = std::stoi(in.substr(9, 3));
  return r;
}

std::string HeaderValue(const Reply& r, std::string_view name) {
  std::size_t at = r.head.find("\r\n" + std::string(name) + ": ");
  if (at == std::string::npos) return {};
  at += name.size() + 4;
  return r.head.substr(at, r.head.find("\r\n", at) - at);
}

const std::pair<std::string, std::string> kWrongKey{
    "Authorization", "Bearer ak_0000000000000000000000000000000000000000"};

/// A server outside dev mode with one stored API key.
struct KeyedServer {
  explicit KeyedServer(std::chrono::milliseconds window = 10'000ms)
      : server(ServerFixtureOptions{.auth_mode = "",
                                    .tweak = [window](ServerConfig& c) {
                                      c.auth_failure_window = window;
                                    }}) {
    Space space;
    space.id = "space-" + NewUlid();
    space.name = "keyed";
    REQUIRE(server.app().store().EnsureSpace(space).ok());
    ApiKey record;
    record.id = NewUlid();
    record.space_id = space.id;
    record.name = "ci";
    record.key_hash = ApiKeyHash(key);
    record.prefix = ApiKeyPrefix(key);
    REQUIRE(server.app().store().CreateApiKey(record).ok());
  }
  Reply Get(const std::string& source, const std::string& path,
            std::vector<std::pair<std::string, std::string>> headers) {
    return Request(server.port(), source, "GET", path, headers);
  }
  ServerFixture server;
  std::string key = NewApiKey();
};

void CheckThrottled(const Reply& r) {
  CHECK(r.status == 429);
  Result<Json> body = ParseJson(r.body);
  REQUIRE_MESSAGE(body.ok(), r.body);
  CHECK(Str(*body, "error") == "too_many_requests");
  CHECK(Str(*body, "message").find("too many failed authentication") == 0);
  const std::string retry = HeaderValue(r, "Retry-After");
  CHECK_FALSE(retry.empty());
  if (!retry.empty()) {
    CHECK(std::stoi(retry) >= 1);
    CHECK(std::stoi(retry) <= 10);
  }
}

TEST_SUITE("hostile/auth_throttle") {
  TEST_CASE("25 wrong API keys from one IP: 401 twenty times, then 429 with Retry-After") {
    KeyedServer t;
    for (int i = 0; i < 25; ++i) {
      CAPTURE(i);
      Reply r = t.Get("127.0.0.1", "/channels", {kWrongKey});
      if (i < 20) {
        CHECK(r.status == 401);
        CHECK(r.body == R"({"error":"Authentication required"})");
      } else {
        CheckThrottled(r);
      }
    }
    // From then on even the right key is refused from that IP, without being checked...
    CheckThrottled(t.Get("127.0.0.1", "/channels", {{"Authorization", "Bearer " + t.key}}));
    CheckThrottled(t.Get("127.0.0.1", "/metrics", {kWrongKey}));
    // ... while requests without credentials are served as before.
    CHECK(t.Get("127.0.0.1", "/health", {}).status == 200);
    CHECK(t.Get("127.0.0.1", "/channels", {}).status == 401);
  }

  TEST_CASE("another IP is not affected by a blocked one") {
    KeyedServer t;
    for (int i = 0; i < 25; ++i) (void)t.Get("127.0.0.1", "/channels", {kWrongKey});
    CheckThrottled(t.Get("127.0.0.1", "/channels", {kWrongKey}));
    Reply other = t.Get("127.0.0.2", "/channels", {{"Authorization", "Bearer " + t.key}});
    CHECK(other.status == 200);
    CHECK(t.Get("127.0.0.3", "/channels", {kWrongKey}).status == 401);
  }

  TEST_CASE("a successful authentication does not count, and the block ends with its window") {
    KeyedServer t(600ms);
    for (int i = 0; i < 50; ++i) {
      CHECK(t.Get("127.0.0.1", "/channels", {{"Authorization", "Bearer " + t.key}}).status ==
            200);
    }
    for (int i = 0; i < 20; ++i) (void)t.Get("127.0.0.1", "/channels", {kWrongKey});
    CheckThrottled(t.Get("127.0.0.1", "/channels", {kWrongKey}));
    std::this_thread::sleep_for(700ms);
    CHECK(t.Get("127.0.0.1", "/channels", {{"Authorization", "Bearer " + t.key}}).status == 200);
    CHECK(t.Get("127.0.0.1", "/channels", {kWrongKey}).status == 401);
  }

  TEST_CASE("bad session cookies and bad container tokens count as failures too") {
    SUBCASE("session cookies") {
      KeyedServer t;
      for (int i = 0; i < 20; ++i) {
        CHECK(t.Get("127.0.0.1", "/channels", {{"Cookie", "cast_session=not.a.jwt"}}).status ==
              401);
      }
      CheckThrottled(t.Get("127.0.0.1", "/auth/me", {{"Cookie", "cast_session=x"}}));
    }
    SUBCASE("container tokens on the Tymbal route") {
      KeyedServer t;
      for (int i = 0; i < 20; ++i) {
        Reply r = Request(t.server.port(), "127.0.0.1", "POST", "/tymbal/some-channel",
                          {{"Authorization", "Container forged-token"}});
        CHECK(r.status == 401);
      }
      CheckThrottled(Request(t.server.port(), "127.0.0.1", "POST", "/tymbal/some-channel",
                             {{"Authorization", "Container forged-token"}}));
    }
    SUBCASE("a WebSocket handshake") {
      KeyedServer t;
      for (int i = 0; i < 20; ++i) {
        CHECK(t.Get("127.0.0.1", "/stream",
                    {{"Upgrade", "websocket"}, {"Connection", "Upgrade, close"}, kWrongKey})
                  .status == 401);
      }
      CheckThrottled(t.Get("127.0.0.1", "/stream",
                           {{"Upgrade", "websocket"}, {"Connection", "Upgrade, close"}, kWrongKey}));
    }
  }

  TEST_CASE("--auth-failure-limit 0 turns the throttle off") {
    ServerFixture server(ServerFixtureOptions{
        .auth_mode = "", .tweak = [](ServerConfig& c) { c.auth_failure_limit = 0; }});
    for (int i = 0; i < 40; ++i) {
      CHECK(Request(server.port(), "127.0.0.1", "GET", "/channels", {kWrongKey}).status == 401);
    }
  }
}

}  // namespace
}  // namespace agentcore::server::testing
