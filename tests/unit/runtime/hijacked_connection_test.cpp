// SPDX-License-Identifier: Apache-2.0
#include "runtime/docker/hijacked_connection.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <doctest/doctest.h>

using agentcore::ErrorCode;
using agentcore::internal::DecodeChunkedPrefix;
using agentcore::internal::HijackedConnection;
using agentcore::internal::HttpResponseHead;
using agentcore::internal::OpenHijackedConnection;
using agentcore::internal::ParseHttpResponseHead;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kPodmanUpgrade =
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

HttpResponseHead ParseOk(std::string_view bytes) {
  auto r = ParseHttpResponseHead(bytes);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  REQUIRE(r->has_value());
  return **r;
}

ErrorCode ParseError(std::string_view bytes, std::size_t max = 16 * 1024) {
  auto r = ParseHttpResponseHead(bytes, max);
  REQUIRE_FALSE(r.ok());
  return r.status().code();
}

// A unix socket server answering one connection with `answer` (then closing, unless `hold`).
class OneShotServer {
 public:
  OneShotServer(std::string answer, bool hold = false) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "agentcore-hj-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/s.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    thread_ = std::thread([this, answer = std::move(answer), hold] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      // Read the request head.
      std::string in;
      char buf[1024];
      while (in.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      request_ = in;
      if (!answer.empty()) (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      if (hold) {
        // Echo what the client writes after the upgrade until it shuts its side.
        for (;;) {
          const ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          (void)::send(c, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
        }
      } else if (answer.empty()) {
        std::this_thread::sleep_for(milliseconds(700));  // say nothing: the client times out
      }
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& path() const { return path_; }
  std::string request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
  std::thread thread_;
  std::string request_;
};

}  // namespace

TEST_SUITE("runtime/hijacked_connection") {
  TEST_CASE("parses Podman's upgrade head and leaves the stream's bytes after it") {
    const std::string bytes = std::string(kPodmanUpgrade) + "\x01\x00\x00\x00";
    const HttpResponseHead head = ParseOk(bytes);
    CHECK(head.status == 101);
    CHECK(head.reason == "UPGRADED");
    CHECK(head.size == kPodmanUpgrade.size());
    REQUIRE(head.headers.size() == 3);
    CHECK(head.headers[0].first == "Content-Type");
    CHECK(head.Header("upgrade") == "tcp");
    CHECK(head.Header("CONNECTION") == "Upgrade");
    CHECK_FALSE(head.Header("Content-Length").has_value());
  }

  TEST_CASE("accepts bare LF line ends, no reason, empty values and trims spaces") {
    const HttpResponseHead head = ParseOk("HTTP/1.0 200\nX-A:  v a \t\nX-Empty:\n\n");
    CHECK(head.status == 200);
    CHECK(head.reason.empty());
    CHECK(head.Header("x-a") == "v a");
    CHECK(head.Header("x-empty") == "");
  }

  TEST_CASE("an incomplete head is not an error yet, at any cut") {
    for (std::size_t n = 0; n < kPodmanUpgrade.size(); ++n) {
      CAPTURE(n);
      auto r = ParseHttpResponseHead(kPodmanUpgrade.substr(0, n));
      REQUIRE(r.ok());
      CHECK_FALSE(r->has_value());
    }
  }

  TEST_CASE("rejects malformed status lines") {
    for (const char* bad : {"HTTP/2 101 X\r\n\r\n", "http/1.1 101 X\r\n\r\n",
                            "HTTP/1.1 10 X\r\n\r\n",
                            "HTTP/1.1 1a1 X\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n",
                            "HTTP/1.1  101 X\r\n\r\n", "HTTP/1.1 101X\r\n\r\n",
                            "HTTP/1.1 101 bad\x01reason\r\n\r\n", "HTTP/1.x 101 X\r\n\r\n",
                            "garbage\r\n\r\n", "\r\n\r\n"}) {
      CAPTURE(bad);
      CHECK(ParseError(bad) == ErrorCode::kInvalidArgument);
    }
  }

  TEST_CASE("rejects malformed header lines") {
    for (const char* bad :
         {"HTTP/1.1 101 X\r\nNoColon\r\n\r\n", "HTTP/1.1 101 X\r\n: empty name\r\n\r\n",
          "HTTP/1.1 101 X\r\nBad Name: v\r\n\r\n", "HTTP/1.1 101 X\r\nA: v\r\n folded\r\n\r\n",
          "HTTP/1.1 101 X\r\nA: v\x7f\r\n\r\n", "HTTP/1.1 101 X\r\nA: v\rw\r\n\r\n",
          "HTTP/1.1 101 X\r\nA(b): v\r\n\r\n"}) {
      CAPTURE(bad);
      CHECK(ParseError(bad) == ErrorCode::kInvalidArgument);
    }
    // NUL inside a value.
    CHECK(ParseError(std::string_view("HTTP/1.1 101 X\r\nA: v\0w\r\n\r\n", 27)) ==
          ErrorCode::kInvalidArgument);
  }

  TEST_CASE("a head over the limit or with too many fields is kTooLarge") {
    std::string endless = "HTTP/1.1 101 X\r\n";
    while (endless.size() < 200) endless += "A: b\r\n";
    CHECK(ParseError(endless, 100) == ErrorCode::kTooLarge);
    // Complete, but ends past the limit.
    CHECK(ParseError(endless + "\r\n", 100) == ErrorCode::kTooLarge);
    // Fits exactly.
    const std::string exact = std::string(kPodmanUpgrade);
    auto fits = ParseHttpResponseHead(exact, exact.size());
    REQUIRE(fits.ok());
    CHECK(fits->has_value());
    std::string many = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 101; ++i) many += "A: b\r\n";
    CHECK(ParseError(many + "\r\n") == ErrorCode::kTooLarge);
  }

  TEST_CASE("decodes a chunked error body as far as it goes") {
    CHECK(DecodeChunkedPrefix("5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n") ==
          std::make_pair(std::string("hello world"), true));
    CHECK(DecodeChunkedPrefix("5\r\nhel") == std::make_pair(std::string("hel"), false));
    CHECK(DecodeChunkedPrefix("zz\r\nhello") == std::make_pair(std::string(), false));
    CHECK(DecodeChunkedPrefix("") == std::make_pair(std::string(), false));
  }

  TEST_CASE("an upgrade hands over the socket with the bytes read past the head") {
    OneShotServer server(std::string(kPodmanUpgrade) + "early", /*hold=*/true);
    auto conn = OpenHijackedConnection(server.path(), "/v1.41/containers/x/attach?stream=1",
                                       milliseconds(5000));
    REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());
    CHECK(conn->TakeLeftover() == "early");
    CHECK(conn->TakeLeftover().empty());
    // The socket is the caller's, blocking, both ways.
    REQUIRE(::send(conn->fd(), "ping", 4, MSG_NOSIGNAL) == 4);
    char buf[8] = {};
    std::size_t got = 0;
    while (got < 4) {
      const ssize_t n = ::recv(conn->fd(), buf + got, 4 - got, 0);
      REQUIRE(n > 0);
      got += static_cast<std::size_t>(n);
    }
    CHECK(std::string_view(buf, 4) == "ping");
    ::shutdown(conn->fd(), SHUT_WR);
    const std::string request = server.request();
    CHECK(request.rfind("POST /v1.41/containers/x/attach?stream=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(request.find("\r\nConnection: Upgrade\r\n") != std::string::npos);
    CHECK(request.find("\r\nUpgrade: tcp\r\n") != std::string::npos);
  }

  TEST_CASE("an error answer keeps the engine's message and code") {
    OneShotServer server(
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 42\r\n\r\n"
        "{\"message\":\"no such container: x\"}      \n");
    auto conn = OpenHijackedConnection(server.path(), "/x", milliseconds(5000));
    REQUIRE_FALSE(conn.ok());
    CHECK(conn.status().code() == ErrorCode::kNotFound);
    CHECK(conn.status().message() == "404 no such container: x");
  }

  TEST_CASE("a chunked error answer is decoded for its message") {
    OneShotServer server(
        "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
        "c\r\n{\"message\":\"\r\n5\r\nboom\"\r\n1\r\n}\r\n0\r\n\r\n");
    auto conn = OpenHijackedConnection(server.path(), "/x", milliseconds(5000));
    REQUIRE_FALSE(conn.ok());
    CHECK(conn.status().code() == ErrorCode::kInternal);
    CHECK(conn.status().message() == "500 boom");
  }

  TEST_CASE("a garbage answer, a silent engine and a missing socket are clear errors") {
    {
      OneShotServer server("SSH-2.0-nope\r\n\r\n");
      auto conn = OpenHijackedConnection(server.path(), "/x", milliseconds(5000));
      CHECK(conn.status().code() == ErrorCode::kInvalidArgument);
    }
    {
      OneShotServer server("");  // reads the request, answers nothing
      const auto t0 = std::chrono::steady_clock::now();
      auto conn = OpenHijackedConnection(server.path(), "/x", milliseconds(300));
      CHECK(conn.status().code() == ErrorCode::kDeadlineExceeded);
      CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(3000));
    }
    {
      OneShotServer server("HTTP/1.1 101 UPGR");  // then closes mid-head
      auto conn = OpenHijackedConnection(server.path(), "/x", milliseconds(5000));
      CHECK(conn.status().code() == ErrorCode::kUnavailable);
    }
    auto missing = OpenHijackedConnection("/nonexistent/agentcore.sock", "/x", milliseconds(500));
    CHECK(missing.status().code() == ErrorCode::kUnavailable);
    CHECK(missing.status().message().find("/nonexistent/agentcore.sock") != std::string::npos);
    auto too_long = OpenHijackedConnection(std::string(200, 'x'), "/x", milliseconds(500));
    CHECK(too_long.status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("HijackedConnection owns and closes its descriptor; moves transfer it") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    {
      HijackedConnection a(fds[0], "x");
      HijackedConnection b(std::move(a));
      CHECK(a.fd() == -1);  // NOLINT(bugprone-use-after-move): checking the moved-from state
      CHECK(b.fd() == fds[0]);
      HijackedConnection c;
      c = std::move(b);
      CHECK(c.fd() == fds[0]);
    }
    char ch;
    CHECK(::recv(fds[1], &ch, 1, 0) == 0);  // the peer was closed exactly once
    ::close(fds[1]);
  }
}
