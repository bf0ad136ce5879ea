// SPDX-License-Identifier: Apache-2.0
#include "proxy_session.hpp"

#include <optional>
#include <string>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <doctest/doctest.h>

namespace agentcore::server {
namespace {

Request MakeRequest(std::string method, std::vector<Header> headers, std::string query = {}) {
  Request r;
  r.method = std::move(method);
  r.headers = std::move(headers);
  r.query = std::move(query);
  r.remote_address = "10.1.2.3";
  return r;
}

asio::awaitable<void> DoConnect(const asio::any_io_executor* executor, const std::string* endpoint,
                                std::optional<Result<asio::ip::tcp::socket>>* out) {
  out->emplace(co_await ConnectUpstream(executor, endpoint, 2000));
}

/// ConnectUpstream run to completion on a private io_context: its status, and whether the
/// socket it gave was open (the socket itself cannot outlive that io_context).
struct Connected {
  Status status;
  bool open = false;
};
Connected Connect(const std::string& endpoint) {
  asio::io_context io;
  std::optional<Result<asio::ip::tcp::socket>> out;
  asio::any_io_executor executor = io.get_executor();
  asio::co_spawn(io, DoConnect(&executor, &endpoint, &out), asio::detached);
  io.run();
  REQUIRE(out.has_value());
  Connected c;
  c.status = out->status();
  c.open = out->ok() && (*out)->is_open();
  return c;
}

TEST_SUITE("server/proxy_session") {
  TEST_CASE("the forwarded head drops hop-by-hop headers and credentials, adds X-Forwarded-*") {
    Request r = MakeRequest("POST",
                            {{"Host", "octo.example"},
                             {"Connection", "keep-alive, X-Secret-Hop"},
                             {"X-Secret-Hop", "1"},
                             {"Keep-Alive", "timeout=5"},
                             {"Transfer-Encoding", "chunked"},
                             {"Authorization", "Bearer key"},
                             {"Proxy-Authorization", "Basic x"},
                             {"Cookie", "a=1; cast_session=jwt;b=2"},
                             {"X-Forwarded-For", "192.0.2.1"},
                             {"Accept", "text/html"}},
                            "q=1");
    std::string head = ForwardedHead(r, "/api/x", 5);
    CHECK(head.starts_with("POST /api/x?q=1 HTTP/1.1\r\n"));
    CHECK(head.ends_with("\r\n\r\n"));
    CHECK(head.find("Host: octo.example\r\n") != std::string::npos);
    CHECK(head.find("Accept: text/html\r\n") != std::string::npos);
    CHECK(head.find("Cookie: a=1; b=2\r\n") != std::string::npos);
    CHECK(head.find("X-Forwarded-For: 192.0.2.1, 10.1.2.3\r\n") != std::string::npos);
    CHECK(head.find("X-Forwarded-Proto: http\r\n") != std::string::npos);
    CHECK(head.find("X-Forwarded-Host: octo.example\r\n") != std::string::npos);
    CHECK(head.find("Connection: close\r\n") != std::string::npos);
    CHECK(head.find("Content-Length: 5\r\n") != std::string::npos);
    for (const char* gone : {"X-Secret-Hop", "Keep-Alive", "Transfer-Encoding", "Authorization",
                             "cast_session", "keep-alive"}) {
      CAPTURE(gone);
      CHECK(head.find(gone) == std::string::npos);
    }
  }

  TEST_CASE("an upgrade keeps Upgrade and says Connection: Upgrade; a GET has no length") {
    Request r = MakeRequest("GET", {{"Upgrade", "websocket"},
                                    {"Connection", "keep-alive, Upgrade"},
                                    {"Sec-WebSocket-Key", "k"}});
    CHECK(IsUpgradeRequest(r));
    std::string head = ForwardedHead(r, "/", 0);
    CHECK(head.find("Upgrade: websocket\r\n") != std::string::npos);
    CHECK(head.find("Connection: Upgrade\r\n") != std::string::npos);
    CHECK(head.find("Connection: close") == std::string::npos);
    CHECK(head.find("Sec-WebSocket-Key: k\r\n") != std::string::npos);
    CHECK(head.find("Content-Length") == std::string::npos);
  }

  TEST_CASE("not an upgrade: no Upgrade, an empty or broken one, or Connection not naming it") {
    CHECK_FALSE(IsUpgradeRequest(MakeRequest("GET", {{"Connection", "Upgrade"}})));
    // A line break in the value would end the forwarded Upgrade line early (proxy_head_fuzz).
    Request broken = MakeRequest("GET", {{"Upgrade", "x\r"}, {"Connection", "upgrade"}});
    CHECK_FALSE(IsUpgradeRequest(broken));
    CHECK(ForwardedHead(broken, "/", 0).find("x\r") == std::string::npos);
    CHECK_FALSE(IsUpgradeRequest(MakeRequest("GET", {{"Upgrade", " "}, {"Connection", "upgrade"}})));
    CHECK_FALSE(IsUpgradeRequest(MakeRequest("GET", {{"Upgrade", "websocket"},
                                                     {"Connection", "keep-alive"}})));
    CHECK_FALSE(IsUpgradeRequest(MakeRequest("GET", {{"Upgrade", "websocket"}})));
  }

  TEST_CASE("control bytes in the target are escaped; header values with line breaks dropped") {
    Request r = MakeRequest("GET", {{"X-Evil", "a\r\nInjected: 1"}, {"X-Fine", "ok"}}, "a b");
    std::string head = ForwardedHead(r, "/x y\r\n", 0);
    CHECK(head.starts_with("GET /x%20y%0D%0A?a%20b HTTP/1.1\r\n"));
    CHECK(head.find("Injected") == std::string::npos);
    CHECK(head.find("X-Fine: ok\r\n") != std::string::npos);
  }

  TEST_CASE("connecting: a bad endpoint is invalid_argument, a refused port unavailable") {
    for (const char* bad : {"nohost", ":80", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:99999",
                            "example.com:80", "127.0.0.1:8x"}) {
      CAPTURE(bad);
      CHECK(Connect(bad).status.code() == ErrorCode::kInvalidArgument);
    }
    // A port nothing listens on (bound and closed).
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    acceptor.close();
    CHECK(Connect("127.0.0.1:" + std::to_string(port)).status.code() ==
          ErrorCode::kUnavailable);
  }

  TEST_CASE("connecting to a listening port gives a connected socket") {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    Connected c = Connect("127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
    REQUIRE(c.status.ok());
    CHECK(c.open);
  }
}

}  // namespace
}  // namespace agentcore::server
