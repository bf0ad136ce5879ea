// SPDX-License-Identifier: Apache-2.0
// The session routes over HTTP (docs/sessions.md "Routes", "Attach protocol", "Proxies"):
// the wire format of both families, the attach WebSocket, the events stream, the workspace
// files and Octo's proxies, against a real in-process server. The service's rules are tested
// in tests/unit/hub/sessions_test.cpp; here the session processes are the fake runtime's
// (tests/support/fake_session_runtime.hpp), driven by the test, and the proxies' upstreams are
// small servers of this file on 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/sessions.hpp>
#include <agentcore/json.hpp>
#include <agentcore/ulid.hpp>

#include "server/server_fixture.hpp"
#include "server/websocket_test_client.hpp"
#include "support/fake_session_runtime.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;
using agentcore::testing::FakeSessionProcess;
using agentcore::testing::FakeSessionRuntime;
using agentcore::testing::ReadHead;
using agentcore::testing::TestHead;
using agentcore::testing::TestSocket;
using agentcore::testing::TestSseReader;
using agentcore::testing::TestWebSocket;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr std::uint16_t kCloseUnsupportedData = 1003;  // RFC 6455 §7.4.1

ServerFixtureOptions WithRuntime(std::shared_ptr<FakeSessionRuntime> runtime,
                                 std::function<void(ServerConfig&)> tweak) {
  ServerFixtureOptions o;
  o.tweak = [runtime, tweak](ServerConfig& c) {
    c.sessions.sandbox = runtime;
    if (tweak) tweak(c);
  };
  return o;
}

/// A server whose sandbox runtime is the fake one, logged in as alice.
struct SessionsServer {
  explicit SessionsServer(std::function<void(ServerConfig&)> tweak = {})
      : server(WithRuntime(runtime, std::move(tweak))) {
    server.Login("alice");
  }

  HttpResponse Call(const std::string& method, const std::string& path, std::string body = {},
                    Headers headers = {}) {
    return server.Call(method, path, std::move(body), true, std::move(headers));
  }
  /// POST <family>/sessions with `body`: the envelope (REQUIRE 201).
  Json Create(const std::string& body = R"({"command":["cat"]})",
              const std::string& family = "/v1") {
    HttpResponse r = Call("POST", family + "/sessions", body);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return ParseJson(r.body).value();
  }
  std::string CreateId(const std::string& body = R"({"command":["cat"]})") {
    return *Create(body).FindString("id");
  }
  FakeSessionProcess& Process(const std::string& id) {
    FakeSessionProcess* p = runtime->process(id);
    REQUIRE(p != nullptr);
    return *p;
  }
  std::string CookieHeader() const { return "Cookie: " + server.cookie() + "\r\n"; }
  std::string Workspace(const std::string& id) {
    return server.app().config().data_dir + "/sessions/" + id + "/workspace";
  }

  std::shared_ptr<FakeSessionRuntime> runtime = std::make_shared<FakeSessionRuntime>();
  ServerFixture server;
};

std::string StatusOf(const HttpResponse& r) {
  return *ParseJson(r.body).value().FindString("status");
}

/// `{"error":"<message>","code":"<code>"}`: the error form of the session routes.
void CheckError(const HttpResponse& r, int status, std::string_view code) {
  CHECK_MESSAGE(r.status == status, r.body);
  Result<Json> body = ParseJson(r.body);
  REQUIRE_MESSAGE(body.ok(), r.body);
  REQUIRE(body->FindString("code") != nullptr);
  CHECK(*body->FindString("code") == code);
  REQUIRE(body->FindString("error") != nullptr);
  CHECK(!body->FindString("error")->empty());
  CHECK(body->as_object().size() == 2);
}

/// Polls `done` for up to `timeout`.
bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5000ms) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

/// One attach message: its type byte and payload.
struct AttachMessage {
  int type = 0;
  std::string payload;
};

/// Attach messages until the close frame (its code in `*close_code`), merging consecutive
/// stdout or stderr messages (the service may split or join output as it came).
std::vector<AttachMessage> ReadUntilClose(TestWebSocket& ws, std::uint16_t* close_code,
                                          std::chrono::milliseconds timeout = 5000ms) {
  std::vector<AttachMessage> out;
  *close_code = 0;
  for (;;) {
    auto e = ws.Next(timeout);
    if (!e) break;
    if (e->kind == WebSocketEvent::Kind::kClose) {
      *close_code = e->close_code;
      break;
    }
    if (e->kind != WebSocketEvent::Kind::kBinary || e->payload.empty()) {
      out.push_back({-1, e->payload});
      continue;
    }
    int type = static_cast<unsigned char>(e->payload[0]);
    std::string payload = e->payload.substr(1);
    if (!out.empty() && out.back().type == type && (type == 0x02 || type == 0x03)) {
      out.back().payload += payload;
    } else {
      out.push_back({type, std::move(payload)});
    }
  }
  return out;
}

std::string ExitPayload(int code) {
  std::string p(4, '\0');
  auto u = static_cast<std::uint32_t>(code);
  p[0] = static_cast<char>(u >> 24);
  p[1] = static_cast<char>(u >> 16);
  p[2] = static_cast<char>(u >> 8);
  p[3] = static_cast<char>(u);
  return p;
}

std::string Binary(char type, std::string_view payload = {}) {
  std::string m(1, type);
  m.append(payload);
  return m;
}

// --- a small upstream for the proxies ---------------------------------------------------

/// A port on 127.0.0.1 that nothing listens on (bound, then closed).
std::uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Listens on 127.0.0.1:`port`; for each connection reads the request head (and a body of
/// its Content-Length), records it, and answers: an HTTP response naming the path, or with
/// `websocket_echo` a 101 and then every byte echoed back until the client closes.
class Upstream {
 public:
  Upstream(std::uint16_t port, bool websocket_echo) : websocket_echo_(websocket_echo) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Upstream() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string in;
      char buf[4096];
      std::size_t head_end;
      while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      if (head_end == std::string::npos) {
        ::close(c);
        continue;
      }
      std::string head = in.substr(0, head_end + 4);
      std::string rest = in.substr(head_end + 4);
      std::size_t length = 0;
      if (auto at = head.find("Content-Length: "); at != std::string::npos) {
        length = std::stoul(head.substr(at + 16));
      }
      while (!websocket_echo_ && rest.size() < length) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        rest.append(buf, static_cast<std::size_t>(n));
      }
      {
        std::lock_guard lock(mu_);
        requests_.push_back(head + rest);
      }
      if (websocket_echo_) {
        std::string reply =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: upstream\r\n\r\n" + rest;
        ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        for (;;) {
          ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          ::send(c, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
        }
      } else {
        std::string first_line = head.substr(0, head.find("\r\n"));
        std::string body = "upstream saw " + first_line + " body=" + rest;
        std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      }
      ::close(c);
    }
  }

  const bool websocket_echo_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

std::string ExposedBody(std::uint16_t port) {
  return R"({"command":["cat"],"network":"exposed","ports":[{"name":"web","port":)" +
         std::to_string(port) + "}]}";
}

TEST_SUITE("server/sessions") {
  TEST_CASE("the lifecycle on both families: create 201, get, stop, resume, upgrade, delete 204") {
    SessionsServer t;
    for (std::string family : {"/v1", "/api"}) {
      CAPTURE(family);
      HttpResponse created = t.Call("POST", family + "/sessions",
                                    R"({"command":["cat"],"env":{"SECRET":"hunter2"}})");
      REQUIRE_MESSAGE(created.status == 201, created.body);
      Json envelope = ParseJson(created.body).value();
      std::string id = *envelope.FindString("id");
      CHECK(*envelope.FindString("status") == "running");
      CHECK(created.body.find("hunter2") == std::string::npos);  // env names only
      CHECK(created.Header("Location").value_or("") == family + "/sessions/" + id);

      HttpResponse got = t.Call("GET", family + "/sessions/" + id);
      CHECK(got.status == 200);
      CHECK(StatusOf(got) == "running");
      HttpResponse stopped = t.Call("POST", family + "/sessions/" + id + "/stop");
      CHECK(stopped.status == 200);
      CHECK(StatusOf(stopped) == "stopped");
      HttpResponse resumed = t.Call("POST", family + "/sessions/" + id + "/resume");
      CHECK(resumed.status == 200);
      CHECK(StatusOf(resumed) == "running");
      HttpResponse upgraded = t.Call("POST", family + "/sessions/" + id + "/upgrade");
      CHECK(upgraded.status == 200);
      CHECK(StatusOf(upgraded) == "running");
      CHECK(ParseJson(upgraded.body).value().Find("generation")->as_number() >
            ParseJson(resumed.body).value().Find("generation")->as_number());

      HttpResponse deleted = t.Call("DELETE", family + "/sessions/" + id);
      CHECK(deleted.status == 204);
      CHECK(deleted.body.empty());
      CheckError(t.Call("GET", family + "/sessions/" + id), 404, "not_found");
      CheckError(t.Call("DELETE", family + "/sessions/" + id), 404, "not_found");
    }
  }

  TEST_CASE("list filters by status and pages with nextCursor; a bad limit is 400") {
    SessionsServer t;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(t.CreateId());
    REQUIRE(t.Call("POST", "/v1/sessions/" + ids[0] + "/stop").status == 200);

    HttpResponse first = t.Call("GET", "/v1/sessions?limit=2");
    REQUIRE(first.status == 200);
    Json page = ParseJson(first.body).value();
    REQUIRE(page.Find("sessions")->as_array().size() == 2);
    REQUIRE(page.FindString("nextCursor") != nullptr);
    HttpResponse second =
        t.Call("GET", "/v1/sessions?limit=2&cursor=" + *page.FindString("nextCursor"));
    REQUIRE(second.status == 200);
    Json rest = ParseJson(second.body).value();
    CHECK(rest.Find("sessions")->as_array().size() == 1);
    CHECK(rest.Find("nextCursor")->is_null());

    Json running = ParseJson(t.Call("GET", "/api/sessions?status=running").body).value();
    CHECK(running.Find("sessions")->as_array().size() == 2);
    Json stopped = ParseJson(t.Call("GET", "/v1/sessions?status=stopped").body).value();
    REQUIRE(stopped.Find("sessions")->as_array().size() == 1);
    CHECK(*stopped.Find("sessions")->as_array()[0].FindString("id") == ids[0]);

    CheckError(t.Call("GET", "/v1/sessions?limit=ten"), 400, "invalid_argument");
    CheckError(t.Call("GET", "/v1/sessions?status=sleeping"), 400, "invalid_argument");
  }

  TEST_CASE("bad bodies are 400 invalid_argument, nothing started") {
    SessionsServer t;
    CheckError(t.Call("POST", "/v1/sessions", "{not json"), 400, "invalid_argument");
    CheckError(t.Call("POST", "/v1/sessions", "[1,2]"), 400, "invalid_argument");
    CheckError(t.Call("POST", "/api/sessions", R"({"command":5})"), 400, "invalid_argument");
    CheckError(t.Call("POST", "/v1/sessions", R"({"command":["cat"],"env":{"A":1}})"), 400,
               "invalid_argument");
    CheckError(t.Call("POST", "/v1/sessions", R"({"command":["cat"],"network":"moon"})"), 400,
               "invalid_argument");
    CheckError(t.Call("POST", "/v1/sessions", "{}"), 400, "invalid_argument");
    CHECK(t.runtime->started() == 0);
  }

  TEST_CASE("no credentials is 401 on every route; another space's session is 404") {
    SessionsServer t;
    std::string id = t.CreateId();
    for (const auto& route : std::vector<std::pair<std::string, std::string>>{
             {"POST", "/v1/sessions"},
             {"GET", "/v1/sessions"},
             {"GET", "/api/sessions/" + id},
             {"POST", "/v1/sessions/" + id + "/stop"},
             {"DELETE", "/api/sessions/" + id},
             {"GET", "/v1/sessions/" + id + "/files"},
             {"GET", "/v1/usage"},
             {"GET", "/sessions/" + id + "/web/"}}) {
      CAPTURE(route.second);
      HttpResponse r = t.server.Call(route.first, route.second, {}, /*with_cookie=*/false);
      CheckError(r, 401, "unauthenticated");
    }
    HttpResponse wrong = t.server.Call("GET", "/v1/sessions", {}, false,
                                       {{"Authorization", "Bearer not-a-key"}});
    CHECK(wrong.status == 401);

    t.server.Login("mallory");  // another user: another space
    CheckError(t.Call("GET", "/v1/sessions/" + id), 404, "not_found");
    CheckError(t.Call("POST", "/api/sessions/" + id + "/stop"), 404, "not_found");
    CheckError(t.Call("DELETE", "/v1/sessions/" + id), 404, "not_found");
    CheckError(t.Call("GET", "/v1/sessions/" + id + "/files/a.txt"), 404, "not_found");
    CHECK(ParseJson(t.Call("GET", "/v1/sessions").body).value().Find("sessions")->as_array()
              .empty());
  }

  TEST_CASE("over the running cap: 429 rate_limited with Retry-After; a stop makes room") {
    SessionsServer t([](ServerConfig& c) { c.max_running_sessions = 2; });
    std::string a = t.CreateId();
    t.CreateId();
    HttpResponse refused = t.Call("POST", "/v1/sessions", R"({"command":["cat"]})");
    CheckError(refused, 429, "rate_limited");
    CHECK(refused.Header("Retry-After").value_or("") == "1");
    REQUIRE(t.Call("POST", "/v1/sessions/" + a + "/stop").status == 200);
    t.CreateId();
    CheckError(t.Call("POST", "/api/sessions/" + a + "/resume"), 429, "rate_limited");
  }

  TEST_CASE("usage of the caller's key; another key's is for an administrator") {
    SessionsServer t;
    t.CreateId();
    HttpResponse usage = t.Call("GET", "/v1/usage");
    REQUIRE_MESSAGE(usage.status == 200, usage.body);
    Json u = ParseJson(usage.body).value();
    CHECK(u.Find("sessions")->as_number() == 1);
    CHECK(u.Find("running")->as_number() == 1);
    CHECK(u.Find("sessionSeconds") != nullptr);
    CHECK(t.Call("GET", "/api/usage").status == 200);
    CheckError(t.Call("GET", "/v1/usage?key=someone-else"), 403, "permission_denied");
  }

  TEST_CASE("attach: stdout, stderr and the exit code in order, then close 1000") {
    SessionsServer t;
    std::string id = t.CreateId();
    TestWebSocket ws(t.server.port());
    TestHead head = ws.Handshake("/v1/sessions/" + id + "/attach", t.CookieHeader());
    REQUIRE_MESSAGE(head.status == 101, head.raw);
    FakeSessionProcess& p = t.Process(id);
    p.Emit(SessionStream::kStdout, "out-1 ");
    p.Emit(SessionStream::kStdout, "out-2");
    p.Emit(SessionStream::kStderr, "err-1");
    p.Exit(3, "exited with code 3");
    std::uint16_t code = 0;
    std::vector<AttachMessage> got = ReadUntilClose(ws, &code);
    REQUIRE(got.size() == 3);
    CHECK(got[0].type == 0x02);
    CHECK(got[0].payload == "out-1 out-2");
    CHECK(got[1].type == 0x03);
    CHECK(got[1].payload == "err-1");
    CHECK(got[2].type == 0x04);
    CHECK(got[2].payload == ExitPayload(3));
    CHECK(code == kCloseNormal);
    // The exit is recorded by the service's executor: soon after the exit frame.
    CHECK(Eventually([&] { return StatusOf(t.Call("GET", "/v1/sessions/" + id)) == "failed"; }));
  }

  TEST_CASE("attach: stdin reaches the command in order, 0x06 closes it and is confirmed") {
    SessionsServer t;
    std::string id = t.CreateId();
    FakeSessionProcess& p = t.Process(id);
    p.EchoStdin(true);
    TestWebSocket ws(t.server.port());
    REQUIRE(ws.Handshake("/api/sessions/" + id + "/attach", t.CookieHeader()).status == 101);
    for (int i = 0; i < 20; ++i) {
      REQUIRE(ws.SendFrame(WebSocketOpcode::kBinary, Binary(0x01, std::to_string(i) + ",")));
    }
    std::string expected;
    for (int i = 0; i < 20; ++i) expected += std::to_string(i) + ",";
    CHECK(Eventually([&] { return p.stdin_bytes() == expected; }));
    std::string echoed;
    while (echoed.size() < expected.size()) {
      auto e = ws.Next();
      REQUIRE(e.has_value());
      REQUIRE(e->kind == WebSocketEvent::Kind::kBinary);
      REQUIRE(e->payload[0] == 0x02);
      echoed += e->payload.substr(1);
    }
    CHECK(echoed == expected);
    REQUIRE(ws.SendFrame(WebSocketOpcode::kBinary, Binary(0x06)));
    auto confirm = ws.Next();
    REQUIRE(confirm.has_value());
    CHECK(confirm->payload == Binary(0x06));
    CHECK(p.stdin_closed());
  }

  TEST_CASE("attach: a text message, an empty or unknown message is closed 1003") {
    SessionsServer t;
    std::string id = t.CreateId();
    for (int variant = 0; variant < 3; ++variant) {
      CAPTURE(variant);
      TestWebSocket ws(t.server.port());
      REQUIRE(ws.Handshake("/v1/sessions/" + id + "/attach", t.CookieHeader()).status == 101);
      if (variant == 0) ws.SendText("hello");
      if (variant == 1) ws.SendFrame(WebSocketOpcode::kBinary, "");
      if (variant == 2) ws.SendFrame(WebSocketOpcode::kBinary, Binary(0x07, "x"));
      std::uint16_t code = 0;
      ReadUntilClose(ws, &code);
      CHECK(code == kCloseUnsupportedData);
      CHECK(ws.WaitClosed());
    }
    CHECK(t.Process(id).stdin_bytes().empty());
  }

  TEST_CASE("attach handshake: no credentials 401, unknown session 404, not an upgrade 426") {
    SessionsServer t;
    std::string id = t.CreateId();
    {
      TestWebSocket ws(t.server.port());
      TestHead head = ws.Handshake("/v1/sessions/" + id + "/attach", "");
      CHECK(head.status == 401);
    }
    {
      TestWebSocket ws(t.server.port());
      TestHead head = ws.Handshake("/v1/sessions/nope/attach", t.CookieHeader());
      CHECK(head.status == 404);
      CHECK(head.rest.find("\"code\":\"not_found\"") != std::string::npos);
    }
    CheckError(t.Call("GET", "/v1/sessions/" + id + "/attach"), 426, "upgrade_required");
  }

  TEST_CASE("attach: a client that does not read is closed 1008 too slow; others go on") {
    SessionsServer t([](ServerConfig& c) {
      c.sessions.attach_buffer_bytes = 64 * 1024;
      c.subscriber_backlog_bytes = 64 * 1024;
    });
    std::string id = t.CreateId();
    TestWebSocket slow(t.server.port(), /*receive_buffer=*/4096);
    REQUIRE(slow.Handshake("/v1/sessions/" + id + "/attach", t.CookieHeader()).status == 101);
    TestWebSocket fast(t.server.port());
    REQUIRE(fast.Handshake("/v1/sessions/" + id + "/attach", t.CookieHeader()).status == 101);
    FakeSessionProcess& p = t.Process(id);
    const std::string chunk(16 * 1024, 'x');
    std::size_t fast_got = 0;
    const std::size_t total = 200 * chunk.size();
    for (int i = 0; i < 200; ++i) {
      p.Emit(SessionStream::kStdout, chunk);
      // The fast client keeps up.
      while (fast_got + 2 * chunk.size() < static_cast<std::size_t>(i + 1) * chunk.size()) {
        auto e = fast.Next();
        REQUIRE(e.has_value());
        fast_got += e->payload.size() - 1;
      }
    }
    while (fast_got < total) {
      auto e = fast.Next();
      REQUIRE(e.has_value());
      REQUIRE(e->kind == WebSocketEvent::Kind::kBinary);
      fast_got += e->payload.size() - 1;
    }
    CHECK(fast_got == total);
    // The slow one now reads: some output, then the close, well short of everything.
    std::uint16_t code = 0;
    std::vector<AttachMessage> got = ReadUntilClose(slow, &code);
    CHECK(code == kClosePolicyViolation);
    std::size_t slow_got = 0;
    for (const AttachMessage& m : got) slow_got += m.payload.size();
    CHECK(slow_got < total);
  }

  TEST_CASE("re-attach after stop and resume sees the tail of earlier output first") {
    SessionsServer t;
    std::string id = t.CreateId();
    t.Process(id).Emit(SessionStream::kStdout, "before-stop\n");
    REQUIRE(t.Call("POST", "/v1/sessions/" + id + "/stop").status == 200);
    {
      // Attached to a stopped session: the tail, the last exit code, then close 1000.
      TestWebSocket ws(t.server.port());
      REQUIRE(ws.Handshake("/v1/sessions/" + id + "/attach", t.CookieHeader()).status == 101);
      std::uint16_t code = 0;
      std::vector<AttachMessage> got = ReadUntilClose(ws, &code);
      REQUIRE(got.size() >= 2);
      CHECK(got[0].type == 0x02);
      CHECK(got[0].payload.find("before-stop") != std::string::npos);
      CHECK(got.back().type == 0x04);
      CHECK(code == kCloseNormal);
    }
    REQUIRE(t.Call("POST", "/v1/sessions/" + id + "/resume").status == 200);
    TestWebSocket ws(t.server.port());
    REQUIRE(ws.Handshake("/v1/sessions/" + id + "/attach", t.CookieHeader()).status == 101);
    t.Process(id).Emit(SessionStream::kStdout, "after-resume\n");
    std::string seen;
    while (seen.find("after-resume") == std::string::npos) {
      auto e = ws.Next();
      REQUIRE(e.has_value());
      REQUIRE(e->kind == WebSocketEvent::Kind::kBinary);
      seen += e->payload.substr(1);
    }
    CHECK(seen.find("before-stop") < seen.find("after-resume"));
  }

  TEST_CASE("server shutdown closes attach sockets with 1001 before sessions stop") {
    auto t = std::make_unique<SessionsServer>();
    std::string id = t->CreateId();
    TestWebSocket ws(t->server.port());
    REQUIRE(ws.Handshake("/v1/sessions/" + id + "/attach", t->CookieHeader()).status == 101);
    std::thread stopper([&] { t->server.app().Stop(); });
    std::uint16_t code = 0;
    std::vector<AttachMessage> got = ReadUntilClose(ws, &code);
    stopper.join();
    CHECK(code == kCloseGoingAway);
    for (const AttachMessage& m : got) CHECK(m.type != 0x04);  // no exit frame overtook it
  }

  TEST_CASE("events: the state now, then every change in order, as SSE") {
    SessionsServer t;
    std::string id = t.CreateId();
    TestSocket socket(t.server.port());
    socket.Send("GET /v1/sessions/" + id + "/events HTTP/1.1\r\nHost: x\r\n" + t.CookieHeader() +
                "\r\n");
    TestHead head = ReadHead(socket);
    REQUIRE(head.status == 200);
    CHECK(head.Header("Content-Type") == "text/event-stream");
    TestSseReader reader(&socket, head.rest);
    auto next_state = [&]() -> Json {
      for (;;) {
        auto e = reader.Next();
        REQUIRE(e.has_value());
        if (!e->comment.empty()) continue;
        CHECK(e->event == "state");
        return ParseJson(e->data).value();
      }
    };
    Json first = next_state();
    CHECK(first.Find("seq")->as_number() == 1);
    CHECK(*first.FindString("status") == "running");
    REQUIRE(t.Call("POST", "/v1/sessions/" + id + "/stop").status == 200);
    Json stopped = next_state();
    CHECK(stopped.Find("seq")->as_number() == 2);
    CHECK(*stopped.FindString("status") == "stopped");
    REQUIRE(t.Call("POST", "/v1/sessions/" + id + "/resume").status == 200);
    std::vector<std::string> states;
    for (;;) {
      Json change = next_state();
      states.push_back(*change.FindString("status"));
      if (states.back() == "running") break;
    }
    CHECK(states.front() == "creating");
    REQUIRE(t.Call("DELETE", "/v1/sessions/" + id).status == 204);
    std::string last;
    while (last != "deleted") last = *next_state().FindString("status");
    // The stream ends after the deleted event.
    std::string tail;
    bool closed = false;
    for (int i = 0; i < 100 && !closed; ++i) closed = socket.ReadSome(&tail, 50ms) < 0;
    CHECK(closed);
    CheckError(t.Call("GET", "/v1/sessions/" + id + "/events"), 404, "not_found");
  }

  TEST_CASE("files: upload 201, list, download the same bytes") {
    SessionsServer t;
    std::string id = t.CreateId();
    std::string bytes(100'000, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
    HttpResponse put = t.Call("PUT", "/v1/sessions/" + id + "/files/src/data.bin", bytes);
    REQUIRE_MESSAGE(put.status == 201, put.body);
    Json written = ParseJson(put.body).value();
    CHECK(*written.FindString("path") == "src/data.bin");
    CHECK(written.Find("size")->as_number() == 100'000);
    std::ifstream on_disk(t.Workspace(id) + "/src/data.bin", std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(on_disk), {}) == bytes);

    HttpResponse list = t.Call("GET", "/api/sessions/" + id + "/files?path=src");
    REQUIRE_MESSAGE(list.status == 200, list.body);
    Json entries = ParseJson(list.body).value();
    REQUIRE(entries.Find("entries")->as_array().size() == 1);
    const Json& e = entries.Find("entries")->as_array()[0];
    CHECK(*e.FindString("path") == "src/data.bin");
    CHECK(*e.FindString("type") == "file");
    CHECK(e.Find("size")->as_number() == 100'000);
    CHECK(e.FindString("modifiedAt") != nullptr);
    HttpResponse root = t.Call("GET", "/v1/sessions/" + id + "/files");
    CHECK(root.body.find("\"directory\"") != std::string::npos);

    HttpResponse got = t.Call("GET", "/v1/sessions/" + id + "/files/src/data.bin");
    REQUIRE(got.status == 200);
    CHECK(got.Header("Content-Type").value_or("") == "application/octet-stream");
    CHECK(got.body == bytes);
    CheckError(t.Call("GET", "/v1/sessions/" + id + "/files/missing.txt"), 404, "not_found");
  }

  TEST_CASE("files: traversal by .., %2e%2e, an absolute path or a symlink is refused") {
    SessionsServer t;
    std::string id = t.CreateId();
    const std::string outside = t.server.app().config().data_dir + "/outside";
    std::filesystem::create_directories(outside);
    {
      std::ofstream(outside + "/secret.txt") << "do not read";
    }
    std::filesystem::create_directory_symlink(outside, t.Workspace(id) + "/link");
    const std::string base = "/v1/sessions/" + id + "/files/";
    for (std::string path : {"../outside/x.txt", "%2e%2e/outside/x.txt", "a/%2E%2E/%2e%2e/x.txt",
                             "%2Fetc%2Fpasswd", "link/x.txt", "link/secret.txt"}) {
      CAPTURE(path);
      HttpResponse put = t.Call("PUT", base + path, "pwned");
      CHECK((put.status == 400 || put.status == 404));
      HttpResponse get = t.Call("GET", base + path);
      CHECK((get.status == 400 || get.status == 404));
      CHECK(get.body.find("do not read") == std::string::npos);
    }
    CHECK(std::filesystem::exists(outside + "/secret.txt"));
    CHECK(!std::filesystem::exists(outside + "/x.txt"));
    CHECK(!std::filesystem::exists(t.server.app().config().data_dir + "/sessions/" + id +
                                   "/x.txt"));
    CHECK(!std::filesystem::exists("/etc/passwd.x"));
    HttpResponse listed = t.Call("GET", "/v1/sessions/" + id + "/files?path=link");
    CHECK((listed.status == 400 || listed.status == 404));
    CheckError(t.Call("GET", "/v1/sessions/" + id + "/files?path=..%2F.."), 400,
               "invalid_argument");
    CheckError(t.Call("GET", base + "bad%zzescape"), 400, "invalid_argument");
  }

  TEST_CASE("files: an upload over max_file_bytes is 413 and nothing is written") {
    SessionsServer t([](ServerConfig& c) { c.sessions.max_file_bytes = 1000; });
    std::string id = t.CreateId();
    HttpResponse big = t.Call("PUT", "/v1/sessions/" + id + "/files/big.bin", std::string(1001, 'b'));
    CHECK(big.status == 413);
    CHECK(!std::filesystem::exists(t.Workspace(id) + "/big.bin"));
    CHECK(t.Call("PUT", "/v1/sessions/" + id + "/files/ok.bin", std::string(1000, 'b')).status ==
          201);
    CheckError(t.Call("PUT", "/v1/sessions/nope/files/ok.bin", "x"), 404, "not_found");
  }

  TEST_CASE("proxy: 503 with Retry-After before the service listens, then forwarded") {
    SessionsServer t;
    const std::uint16_t port = FreePort();
    std::string id = t.CreateId(ExposedBody(port));
    HttpResponse early = t.Call("GET", "/sessions/" + id + "/web/index.html");
    CheckError(early, 503, "unavailable");
    CHECK(early.Header("Retry-After").value_or("") == "1");

    Upstream upstream(port, /*websocket_echo=*/false);
    // An API key of alice's space as the credential: the upstream must not see it.
    std::string key = NewApiKey();
    ApiKey record;
    record.id = NewUlid();
    record.space_id = t.server.space_id();
    record.name = "proxy";
    record.key_hash = ApiKeyHash(key);
    record.prefix = ApiKeyPrefix(key);
    REQUIRE(t.server.app().store().CreateApiKey(record).ok());
    HttpResponse r = t.server.Call("POST", "/sessions/" + id + "/web/api/v1/x%20y?q=1&r=two",
                                   "payload", /*with_cookie=*/false,
                                   {{"Authorization", "Bearer " + key},
                                    {"X-Custom", "kept"},
                                    {"Cookie", "theirs=1; cast_session=abc"},
                                    {"Connection", "keep-alive, X-Hop"},
                                    {"X-Hop", "dropped"},
                                    {"Keep-Alive", "timeout=5"}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.body == "upstream saw POST /api/v1/x%20y?q=1&r=two HTTP/1.1 body=payload");
    std::vector<std::string> seen = upstream.requests();
    REQUIRE(seen.size() == 1);
    const std::string& head = seen[0];
    CHECK(head.find("X-Custom: kept\r\n") != std::string::npos);
    CHECK(head.find("Connection: close\r\n") != std::string::npos);
    CHECK(head.find("X-Forwarded-For: 127.0.0.1\r\n") != std::string::npos);
    CHECK(head.find("X-Forwarded-Proto: http\r\n") != std::string::npos);
    CHECK(head.find("Content-Length: 7\r\n") != std::string::npos);
    CHECK(head.find(key) == std::string::npos);
    CHECK(head.find("Authorization") == std::string::npos);
    CHECK(head.find("Keep-Alive") == std::string::npos);
    CHECK(head.find("X-Hop") == std::string::npos);
    CHECK(head.find("Cookie: theirs=1\r\n") != std::string::npos);
    CHECK(head.find("cast_session") == std::string::npos);

    // The root of the service, with and without the trailing slash.
    CHECK(t.Call("GET", "/sessions/" + id + "/web").body.starts_with("upstream saw GET / "));
    CHECK(t.Call("GET", "/sessions/" + id + "/web/").body.starts_with("upstream saw GET / "));
  }

  TEST_CASE("proxy: a WebSocket upgrade is tunnelled both ways, the upstream's 101 passed on") {
    SessionsServer t;
    const std::uint16_t port = FreePort();
    std::string id = t.CreateId(
        R"({"command":["cat"],"network":"exposed","ports":[{"name":"terminal","port":)" +
        std::to_string(port) + "}]}");
    Upstream upstream(port, /*websocket_echo=*/true);
    for (std::string path : {"/sessions/" + id + "/terminal", "/session/" + id + "/term"}) {
      CAPTURE(path);
      TestWebSocket ws(t.server.port());
      TestHead head = ws.Handshake(path, t.CookieHeader());
      REQUIRE_MESSAGE(head.status == 101, head.raw);
      CHECK(head.Header("Sec-WebSocket-Accept") == "upstream");
      // The echo sends our masked frame back; a server may not mask, so read raw bytes.
      std::string frame = EncodeWebSocketFrame(WebSocketOpcode::kText, "ping through", true,
                                               0x01020304);
      REQUIRE(ws.SendRaw(frame));
      std::string back;
      while (back.size() < frame.size()) {
        REQUIRE(ws.socket().ReadSome(&back, 5000ms) > 0);
      }
      CHECK(back == frame);
    }
    std::vector<std::string> seen = upstream.requests();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].find("Connection: Upgrade\r\n") != std::string::npos);
    CHECK(seen[0].find("Upgrade: websocket\r\n") != std::string::npos);
    CHECK(seen[0].find("Sec-WebSocket-Key: ") != std::string::npos);
  }

  TEST_CASE("proxy: unknown service 404; stopped, deleted or missing session 502") {
    SessionsServer t;
    const std::uint16_t port = FreePort();
    std::string id = t.CreateId(ExposedBody(port));
    CheckError(t.Call("GET", "/sessions/" + id + "/nosuch/"), 404, "not_found");
    REQUIRE(t.Call("POST", "/v1/sessions/" + id + "/stop").status == 200);
    HttpResponse stopped = t.Call("GET", "/sessions/" + id + "/web/");
    CHECK(stopped.status == 502);
    CHECK(stopped.body == R"({"error":"session is not running","code":"bad_gateway"})");
    CHECK(t.Call("GET", "/sessions/missing/web/").body == stopped.body);
    t.server.Login("mallory");
    CHECK(t.Call("GET", "/sessions/" + id + "/web/").status == 502);  // nothing revealed
  }

  TEST_CASE("a session process gone from outside is failed when fetched") {
    SessionsServer t;
    std::string id = t.CreateId();
    t.Process(id).Vanish();
    HttpResponse got = t.Call("GET", "/v1/sessions/" + id);
    REQUIRE(got.status == 200);
    CHECK(StatusOf(got) == "failed");
  }
}

// --- with the real bubblewrap runtime (the hub's default sandbox) ------------------------

/// A server on the hub's own sandbox runtime (bubblewrap), logged in as alice.
struct BwrapServer {
  BwrapServer() : server(ServerFixtureOptions{}) {
    REQUIRE_MESSAGE(std::filesystem::exists("/usr/bin/bwrap"),
                    "bubblewrap is not installed (scripts/install-deps.sh)");
    server.Login("alice");
  }
  HttpResponse Call(const std::string& method, const std::string& path, std::string body = {}) {
    return server.Call(method, path, std::move(body));
  }
  std::string CreateId(const std::string& body) {
    HttpResponse r = Call("POST", "/v1/sessions", body);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    Json envelope = ParseJson(r.body).value();
    REQUIRE_MESSAGE(*envelope.FindString("status") == "running", r.body);
    return *envelope.FindString("id");
  }
  std::string CookieHeader() const { return "Cookie: " + server.cookie() + "\r\n"; }
  ServerFixture server;
};

TEST_SUITE("server/sessions/bwrap") {
  TEST_CASE("with bubblewrap: cat echoes stdin through the attach; 0x06 ends it with exit 0") {
    BwrapServer t;
    std::string id = t.CreateId(R"({"command":["cat"]})");
    TestWebSocket ws(t.server.port());
    REQUIRE(ws.Handshake("/v1/sessions/" + id + "/attach", t.CookieHeader()).status == 101);
    REQUIRE(ws.SendFrame(WebSocketOpcode::kBinary, Binary(0x01, "hello sandbox\n")));
    REQUIRE(ws.SendFrame(WebSocketOpcode::kBinary, Binary(0x06)));
    std::uint16_t code = 0;
    std::vector<AttachMessage> got = ReadUntilClose(ws, &code, 10'000ms);
    std::string out;
    std::vector<int> types;
    for (const AttachMessage& m : got) {
      types.push_back(m.type);
      if (m.type == 0x02) out += m.payload;
    }
    CHECK(out == "hello sandbox\n");
    REQUIRE(!got.empty());
    CHECK(got.back().type == 0x04);
    CHECK(got.back().payload == ExitPayload(0));
    CHECK(std::count(types.begin(), types.end(), 0x06) == 1);
    CHECK(code == kCloseNormal);
  }

  TEST_CASE("with bubblewrap: stdout, stderr and the exit code arrive in order") {
    BwrapServer t;
    std::string id = t.CreateId(
        R"({"command":["/bin/sh","-c","echo out; sleep 0.2; echo err >&2; sleep 0.2; exit 7"]})");
    TestWebSocket ws(t.server.port());
    REQUIRE(ws.Handshake("/api/sessions/" + id + "/attach", t.CookieHeader()).status == 101);
    std::uint16_t code = 0;
    std::vector<AttachMessage> got = ReadUntilClose(ws, &code, 10'000ms);
    REQUIRE(got.size() == 3);
    CHECK(got[0].type == 0x02);
    CHECK(got[0].payload == "out\n");
    CHECK(got[1].type == 0x03);
    CHECK(got[1].payload == "err\n");
    CHECK(got[2].type == 0x04);
    CHECK(got[2].payload == ExitPayload(7));
    CHECK(code == kCloseNormal);
  }

  TEST_CASE("with bubblewrap: a real HTTP server inside answers through the proxy") {
    BwrapServer t;
    const std::uint16_t port = FreePort();
    // It listens only after a second: the proxy answers 503 until then.
    std::string id = t.CreateId(
        R"({"command":["/bin/sh","-c","sleep 1; exec /usr/bin/python3 -m http.server )" +
        std::to_string(port) +
        R"( --bind 127.0.0.1"],"network":"exposed","ports":[{"name":"web","port":)" +
        std::to_string(port) + "}]}");
    HttpResponse early = t.Call("GET", "/sessions/" + id + "/web/hello.txt");
    CheckError(early, 503, "unavailable");
    CHECK(early.Header("Retry-After").value_or("") == "1");
    REQUIRE(t.Call("PUT", "/v1/sessions/" + id + "/files/hello.txt", "from the workspace\n")
                .status == 201);
    HttpResponse served;
    CHECK(Eventually(
        [&] {
          served = t.Call("GET", "/sessions/" + id + "/web/hello.txt");
          return served.status == 200;
        },
        10'000ms));
    CHECK(served.body == "from the workspace\n");
    REQUIRE(t.Call("POST", "/v1/sessions/" + id + "/stop").status == 200);
    HttpResponse gone = t.Call("GET", "/sessions/" + id + "/web/hello.txt");
    CHECK(gone.status == 502);
    CHECK(gone.body == R"({"error":"session is not running","code":"bad_gateway"})");
  }

  TEST_CASE("with bubblewrap: the session process killed from outside is failed") {
    BwrapServer t;
    std::string id = t.CreateId(R"({"command":["sleep","600"]})");
    Result<Session> row = t.server.app().store().GetSession(id);
    REQUIRE(row.ok());
    REQUIRE(row->container_id.rfind("pid:", 0) == 0);
    const int pid = std::stoi(row->container_id.substr(4));
    REQUIRE(pid > 1);
    REQUIRE(::kill(pid, SIGKILL) == 0);
    CHECK(Eventually([&] { return StatusOf(t.Call("GET", "/v1/sessions/" + id)) == "failed"; },
                     10'000ms));
    Json got = ParseJson(t.Call("GET", "/api/sessions/" + id).body).value();
    CHECK(!got.FindString("reason")->empty());
    CHECK(!got.Find("exitCode")->is_null());
  }
}

}  // namespace
}  // namespace agentcore::server::testing
