// SPDX-License-Identifier: Apache-2.0
// Issue 13 §1, the acceptance test: clients that ask for large replies and never read them
// cannot pin the server's memory, and the memory comes back after they leave. Measured on the
// real binary (its VmRSS), so allocator retention counts too.

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "server/server_process.hpp"
#include "server/websocket_test_client.hpp"
#include "store/temp_dir.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;
using agentcore::testing::TestHead;
using agentcore::testing::TestSocket;
using agentcore::testing::TestWebSocket;

constexpr std::size_t kMiB = 1024 * 1024;

// Under a sanitizer the allocator is the sanitizer's (a quarantine of freed memory, shadow
// pages), not the server's jemalloc: its RSS says nothing about what a client can pin. The
// behaviour (budgets, deadlines) is tested under sanitizers in memory_stream_test.cpp.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif
constexpr int kReceiveBuffer = 4096;  // the clients' SO_RCVBUF: they never read anyway

std::size_t PeakRss(const ServerProcess& server, std::chrono::milliseconds during) {
  std::size_t peak = 0;
  auto end = std::chrono::steady_clock::now() + during;
  while (std::chrono::steady_clock::now() < end) {
    peak = std::max(peak, server.RssBytes());
    std::this_thread::sleep_for(50ms);
  }
  return peak;
}

TEST_SUITE("hostile/memory") {
  TEST_CASE(
      "30 non-reading sync clients and 10 non-reading SSE replays of 20 MB cannot pin "
      "memory, and it returns after they close" * doctest::skip(kSanitized)) {
    agentcore::testing::TempDir dir;
    ServerProcess server(dir.File("server.db"), FreePort());
    auto client = NewHttpClient();

    HttpRequest login;
    login.method = "POST";
    login.url = server.Url("/auth/dev/login");
    login.body = R"({"callsign":"alice"})";
    auto logged_in = client->Send(login);
    REQUIRE(logged_in.ok());
    REQUIRE(logged_in->status == 201);
    std::string set_cookie(*logged_in->Header("Set-Cookie"));
    const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));

    HttpRequest create;
    create.method = "POST";
    create.url = server.Url("/channels");
    create.headers = {{"Cookie", cookie}};
    create.body = R"({"name":"big"})";
    auto created = client->Send(create);
    REQUIRE(created.ok());
    REQUIRE(created->status == 201);
    const std::string channel = *ParseJson(created->body)->Find("channel")->FindString("id");

    // 20 MB of messages: 22 of 900 KB among 400 small ones.
    std::string first_id;
    std::size_t stored_bytes = 0;
    for (int i = 0; i < 422; ++i) {
      const bool big = i % 19 == 0 && i / 19 < 22;
      std::string content = big ? std::string(900 * 1024, 'x') : "small " + std::to_string(i);
      HttpRequest post;
      post.method = "POST";
      post.url = server.Url("/channels/" + channel + "/messages");
      post.headers = {{"Cookie", cookie}, {"Content-Type", "application/json"}};
      post.body = R"({"sender":"alice","content":")" + content + R"("})";
      auto posted = client->Send(post);
      REQUIRE(posted.ok());
      REQUIRE(posted->status == 201);
      if (first_id.empty()) first_id = *ParseJson(posted->body)->Find("message")->FindString("id");
      stored_bytes += content.size();
    }
    REQUIRE(stored_bytes >= 20 * 1000 * 1000);

    std::this_thread::sleep_for(1s);
    const std::size_t start = server.RssBytes();
    REQUIRE(start > 0);

    std::vector<std::unique_ptr<TestWebSocket>> syncs;
    for (int i = 0; i < 30; ++i) {
      auto ws = std::make_unique<TestWebSocket>(static_cast<std::uint16_t>(server.port()),
                                                kReceiveBuffer);
      TestHead head = ws->Handshake("/stream", "Cookie: " + cookie + "\r\n");
      REQUIRE(head.status == 101);
      REQUIRE(ws->SendText(R"({"request":"sync","channelId":")" + channel + R"(","limit":1000})"));
      syncs.push_back(std::move(ws));
    }
    std::vector<std::unique_ptr<TestSocket>> replays;
    for (int i = 0; i < 10; ++i) {
      auto sse =
          std::make_unique<TestSocket>(static_cast<std::uint16_t>(server.port()), kReceiveBuffer);
      // Every message but the first is replayed.
      REQUIRE(sse->Send("GET /channels/" + channel + "/events HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        "Cookie: " + cookie + "\r\nLast-Event-ID: " + first_id + "\r\n\r\n"));
      replays.push_back(std::move(sse));
    }

    const std::size_t peak = PeakRss(server, 6s);
    CAPTURE(start / kMiB);
    CAPTURE(peak / kMiB);
    CHECK(peak < start + 64 * kMiB);

    syncs.clear();
    replays.clear();
    std::this_thread::sleep_for(10s);
    const std::size_t after = server.RssBytes();
    CAPTURE(after / kMiB);
    CHECK(after < start + 32 * kMiB);

    // And the server still answers.
    HttpRequest health;
    health.url = server.Url("/health");
    auto healthy = client->Send(health);
    REQUIRE(healthy.ok());
    CHECK(healthy->status == 200);
  }

}  // TEST_SUITE

}  // namespace
}  // namespace agentcore::server::testing
