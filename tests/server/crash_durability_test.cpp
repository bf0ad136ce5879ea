// SPDX-License-Identifier: Apache-2.0
// The real agentcore-server binary killed with SIGKILL while clients POST messages: after a
// restart on the same database, every message that was answered 201 is there.

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

#include "server/server_process.hpp"
#include "store/temp_dir.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

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
