// SPDX-License-Identifier: Apache-2.0
// The real agentcore-server binary killed with SIGKILL while clients POST messages: after a
// restart on the same database, every message that was answered 201 is there.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "store/temp_dir.hpp"

extern char** environ;

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

/// agentcore-server as a child process on a fixed database file and a free port.
class ServerProcess {
 public:
  ServerProcess(const std::string& db, int port) : port_(port) {
    std::vector<std::string> args = {AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port",
                                     std::to_string(port), "--database-url", "sqlite://" + db,
                                     "--auth-mode", "dev", "--no-access-log", "--threads", "2"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    REQUIRE(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    auto client = NewHttpClient();
    for (int i = 0; i < 200; ++i) {
      HttpRequest req;
      req.url = Url("/health");
      req.timeout = 1s;
      auto r = client->Send(req);
      if (r.ok() && r->status == 200) return;
      std::this_thread::sleep_for(25ms);
    }
    FAIL("server did not start");
  }
  ~ServerProcess() { Kill(SIGKILL); }
  void Kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  pid_t pid_ = -1;
  int port_;
};

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST_CASE("SIGKILL during a POST load loses no message that was answered 201") {
  agentcore::testing::TempDir dir;
  const std::string db = dir.File("server.db");
  const int port = FreePort();
  std::string cookie;
  std::string channel;
  std::set<std::string> acked;
  {
    ServerProcess server(db, port);
    auto client = NewHttpClient();
    HttpRequest login;
    login.method = "POST";
    login.url = server.Url("/auth/dev/login");
    login.body = R"({"callsign":"alice"})";
    auto r = client->Send(login);
    REQUIRE(r.ok());
    REQUIRE(r->status == 201);
    std::string set_cookie(*r->Header("Set-Cookie"));
    cookie = set_cookie.substr(0, set_cookie.find(';'));
    HttpRequest create;
    create.method = "POST";
    create.url = server.Url("/channels");
    create.headers = {{"Cookie", cookie}};
    create.body = R"({"name":"crash"})";
    auto c = client->Send(create);
    REQUIRE(c.ok());
    REQUIRE(c->status == 201);
    channel = *ParseJson(c->body)->Find("channel")->FindString("id");

    std::mutex mu;
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 8; ++w) {
      writers.emplace_back([&, w] {
        auto own = NewHttpClient();
        for (int i = 0; !stop.load(); ++i) {
          HttpRequest post;
          post.method = "POST";
          post.url = server.Url("/channels/" + channel + "/messages");
          post.headers = {{"Cookie", cookie}, {"Content-Type", "application/json"}};
          post.body = R"({"sender":"alice","content":"w)" + std::to_string(w) + "-" +
                      std::to_string(i) + R"("})";
          post.timeout = 5s;
          auto res = own->Send(post);
          if (!res.ok() || res->status != 201) continue;  // killed mid-request: no promise made
          auto body = ParseJson(res->body);
          if (!body.ok()) continue;
          std::lock_guard lock(mu);
          acked.insert(*body->Find("message")->FindString("id"));
          answered.fetch_add(1);
        }
      });
    }
    while (answered.load() < 300) std::this_thread::sleep_for(5ms);
    server.Kill(SIGKILL);
    stop.store(true);
    for (auto& t : writers) t.join();
  }
  REQUIRE(acked.size() >= 300);

  ServerProcess restarted(db, port);
  auto client = NewHttpClient();
  std::set<std::string> stored;
  std::string after;
  for (;;) {
    HttpRequest get;
    get.url = restarted.Url("/channels/" + channel + "/messages?limit=1000" +
                            (after.empty() ? "" : "&since=" + after));
    get.headers = {{"Cookie", cookie}};
    auto r = client->Send(get);
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    auto page = ParseJson(r->body);
    REQUIRE(page.ok());
    const auto& messages = page->Find("messages")->as_array();
    if (messages.empty()) break;
    for (const Json& m : messages) stored.insert(*m.FindString("id"));
    after = *messages.back().FindString("id");
    if (messages.size() < 1000) break;  // the last page
  }
  std::size_t missing = 0;
  for (const std::string& id : acked) missing += stored.count(id) == 0 ? 1 : 0;
  CAPTURE(acked.size());
  CAPTURE(stored.size());
  CHECK(missing == 0);
}

}  // namespace
}  // namespace agentcore::server::testing
