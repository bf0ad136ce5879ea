// SPDX-License-Identifier: Apache-2.0
// Connections and deadlines (issue 13 §5): the connection limit comes from RLIMIT_NOFILE and
// is answered with a prompt 503 (also when the descriptors run out first); a request must
// arrive whole within its deadline however it is trickled; a streamed upload must keep a
// minimum rate.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "http/http_server.hpp"
#include "server/hostile/hostile_table.hpp"
#include "server/raw_client.hpp"
#include "server/server_fixture.hpp"
#include "server/server_process.hpp"
#include "store/temp_dir.hpp"

extern char** environ;

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kHealth = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

/// agentcore-server as a child process whose RLIMIT_NOFILE (soft and hard) is `nofile`.
class LimitedServer {
 public:
  LimitedServer(rlim_t nofile, std::vector<std::string> extra) : port_(FreePort()) {
    std::vector<std::string> args = {AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port",
                                     std::to_string(port_), "--database-url",
                                     "sqlite://" + dir_.File("server.db"), "--data-dir",
                                     dir_.File("data"), "--auth-mode", "dev", "--no-access-log",
                                     "--threads", "1", "--blocking-threads", "2"};
    for (std::string& e : extra) args.push_back(std::move(e));
    // The shell sets the limit (soft and hard) and execs the server: no fork in this
    // multi-threaded process.
    std::vector<std::string> shell = {"/bin/sh", "-c",
                                      "ulimit -n " + std::to_string(nofile) + " && exec \"$0\" \"$@\""};
    for (std::string& a : args) shell.push_back(std::move(a));
    std::vector<char*> argv;
    for (std::string& a : shell) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    REQUIRE(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 200; ++i) {
      RawClient c(static_cast<std::uint16_t>(port_));
      if (c.connected() && c.Send(kHealth) &&
          c.ReadResponses(1, 1s).rfind("HTTP/1.1 200", 0) == 0) {
        return;
      }
      std::this_thread::sleep_for(25ms);
    }
    FAIL("server did not start");
  }
  ~LimitedServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  std::uint16_t port() const { return static_cast<std::uint16_t>(port_); }

 private:
  agentcore::testing::TempDir dir_;
  int port_;
  pid_t pid_ = -1;
};

/// Opens connections that each get a /health answer, until one does not (at most `max`).
/// Returns the open ones; `*refused` is the first that did not get a 200.
std::vector<std::unique_ptr<RawClient>> FillUp(std::uint16_t port, int max,
                                               std::unique_ptr<RawClient>* refused,
                                               std::chrono::milliseconds* refused_after) {
  std::vector<std::unique_ptr<RawClient>> open;
  for (int i = 0; i < max; ++i) {
    auto start = Clock::now();
    auto c = std::make_unique<RawClient>(port);
    if (c->connected()) c->Send(kHealth);
    c->ReadResponses(1, 1500ms);
    if (!c->connected() || c->received().rfind("HTTP/1.1 200", 0) != 0) {
      *refused_after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
      *refused = std::move(c);
      return open;
    }
    open.push_back(std::move(c));
  }
  return open;
}

/// A body trickled one byte every `gap`, up to `bytes` bytes or until the server answers.
/// Returns the time from the head to the answer (or to the end of the trickle).
std::chrono::milliseconds Trickle(RawClient& c, std::string_view bytes,
                                  std::chrono::milliseconds gap) {
  auto start = Clock::now();
  for (char ch : bytes) {
    if (c.closed() || !c.received().empty()) break;
    if (!c.Send(std::string_view(&ch, 1))) break;
    c.ReadUntil("\r\n\r\n", gap);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

}  // namespace

TEST_SUITE("hostile/http_connections") {
  TEST_CASE("the default connection limit leaves 64 descriptors and an eighth of the limit") {
    CHECK(DefaultMaxConnections(128) == 48);
    CHECK(DefaultMaxConnections(1024) == 832);
    CHECK(DefaultMaxConnections(1048576) == 1048576 - 64 - 131072);
    CHECK(DefaultMaxConnections(40) == 8);  // never below 8
    CHECK(DefaultMaxConnections() > 0);
    rlimit limit{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    CHECK(DefaultMaxConnections() == DefaultMaxConnections(limit.rlim_cur));
  }

  TEST_CASE("a connection past --max-connections gets a JSON 503 within a second, then "
            "/health works again once others close") {
    ServerFixture server(ServerFixtureOptions{.tweak = [](ServerConfig& c) {
      c.limits.max_connections = 3;
    }});
    std::unique_ptr<RawClient> refused;
    std::chrono::milliseconds after{};
    auto open = FillUp(server.port(), 10, &refused, &after);
    CHECK(open.size() == 3);
    REQUIRE(refused);
    CHECK(after < 1000ms);
    CHECK(refused->received().rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
    CHECK(refused->received().find("Connection: close\r\n") != std::string::npos);
    CHECK(refused->WaitClosed(2s));
    auto body = ParseJson(FirstBody(refused->received()));
    REQUIRE(body.ok());
    CHECK(*body->FindString("error") == "too_many_connections");
    open.clear();
    std::this_thread::sleep_for(100ms);
    RawClient again(server.port());
    REQUIRE(again.Send(kHealth));
    CHECK(again.ReadResponses(1, 1s).rfind("HTTP/1.1 200", 0) == 0);
  }

  TEST_CASE("with 128 descriptors and no --max-connections, connection 49 gets a prompt 503") {
    LimitedServer server(128, {});
    std::unique_ptr<RawClient> refused;
    std::chrono::milliseconds after{};
    auto open = FillUp(server.port(), 120, &refused, &after);
    CHECK(open.size() == DefaultMaxConnections(128));
    REQUIRE(refused);
    CHECK(after < 1000ms);
    CHECK(refused->received().rfind("HTTP/1.1 503", 0) == 0);
    open.clear();
    std::this_thread::sleep_for(200ms);
    RawClient again(server.port());
    REQUIRE(again.Send(kHealth));
    CHECK(again.ReadResponses(1, 1s).rfind("HTTP/1.1 200", 0) == 0);
  }

  TEST_CASE("when descriptors run out before the limit, a new connection gets a 503 at once "
            "instead of waiting in the accept queue") {
    LimitedServer server(128, {"--max-connections", "1000"});
    std::unique_ptr<RawClient> refused;
    std::chrono::milliseconds after{};
    auto open = FillUp(server.port(), 200, &refused, &after);
    CHECK(open.size() > 40);
    REQUIRE(refused);
    CHECK(after < 1000ms);
    CHECK(refused->received().rfind("HTTP/1.1 503", 0) == 0);
    // A few more are refused the same way, none waits.
    for (int i = 0; i < 3; ++i) {
      RawClient more(server.port());
      auto start = Clock::now();
      CHECK(more.WaitClosed(1s));
      CHECK(Clock::now() - start < 1000ms);
    }
    open.clear();
    std::this_thread::sleep_for(200ms);
    RawClient again(server.port());
    REQUIRE(again.Send(kHealth));
    CHECK(again.ReadResponses(1, 1s).rfind("HTTP/1.1 200", 0) == 0);
  }

  TEST_CASE("a body trickled a byte at a time gets a JSON 408 at the whole-request deadline") {
    ServerFixture server(ServerFixtureOptions{.tweak = [](ServerConfig& c) {
      c.limits.body_timeout = 500ms;       // each byte comes well within this
      c.limits.request_timeout = 1000ms;   // the whole request does not
    }});
    server.Login();
    RawClient c(server.port());
    REQUIRE(c.Send("POST /channels HTTP/1.1\r\nHost: x\r\nCookie: " + server.cookie() +
                   "\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n"));
    auto took = Trickle(c, R"({"name":"trickled-channel-name-that-never-ends-xxxxxxxxxxxxx"})", 100ms);
    CHECK(took < 2500ms);
    CHECK(c.received().rfind("HTTP/1.1 408 Request Timeout\r\n", 0) == 0);
    CHECK(c.WaitClosed(2s));
    auto body = ParseJson(FirstBody(c.received()));
    REQUIRE(body.ok());
    CHECK(*body->FindString("error") == "request_timeout");
    CHECK(server.Call("GET", "/health", {}, false).status == 200);
  }

  TEST_CASE("a head trickled a byte at a time gets a 408 at the head deadline") {
    ServerFixture server(ServerFixtureOptions{.tweak = [](ServerConfig& c) {
      c.limits.header_timeout = 800ms;
    }});
    RawClient c(server.port());
    auto took = Trickle(c, "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'a'),
                        50ms);
    CHECK(took < 2000ms);
    CHECK(c.received().rfind("HTTP/1.1 408", 0) == 0);
    CHECK(c.WaitClosed(2s));
  }

  TEST_CASE("a streamed upload slower than the minimum rate gets a 408; a faster one may run "
            "past the request deadline") {
    HostileServer hs([](ServerConfig& c) {
      c.limits.body_timeout = 5000ms;
      c.limits.request_timeout = 500ms;
      c.limits.stream_min_bytes_per_second = 200;
      c.limits.stream_rate_window = 400ms;
    });
    const std::string head = hs.Fill(
        "POST /tymbal/{channel}/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Container {token}"
        "\r\nTransfer-Encoding: chunked\r\n\r\n");
    // One start frame, made 760 bytes long with JSON whitespace.
    const std::string line = R"({"i":"01JGZ5V7A1B2C3D4E5F6G7H8S1","m":{"type":"agent",)" +
                             std::string(650, ' ') +
                             R"("sender":"probe","senderType":"agent"}})" + "\n";
    SUBCASE("slow: a byte per 100 ms against 200 bytes per second") {
      RawClient c(hs.server().port());
      REQUIRE(c.Send(head));
      auto start = Clock::now();
      for (int i = 0; i < 30 && c.received().empty() && !c.closed(); ++i) {
        c.Send(ChunkOf(std::string(1, ' ')));
        c.ReadUntil("\r\n\r\n", 100ms);
      }
      CHECK(Clock::now() - start < 2000ms);
      CHECK(c.received().rfind("HTTP/1.1 408", 0) == 0);
      CHECK(c.WaitClosed(2s));
    }
    SUBCASE("fast enough: 60 bytes per 100 ms for 1.2 s") {
      RawClient c(hs.server().port());
      REQUIRE(c.Send(head));
      const std::string& body = line;
      REQUIRE(body.size() > 720);
      for (std::size_t at = 0; at < 720; at += 60) {
        REQUIRE(c.Send(ChunkOf(body.substr(at, 60))));
        c.ReadUntil("\r\n\r\n", 100ms);
        REQUIRE(c.received().empty());
      }
      REQUIRE(c.Send(ChunkOf(body.substr(720)) + "0\r\n\r\n"));
      c.ReadResponses(1, 5s);
      CHECK(c.received().rfind("HTTP/1.1 200", 0) == 0);
    }
    CHECK(hs.Healthy());
  }
}

}  // namespace agentcore::server::testing
