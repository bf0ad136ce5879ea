// SPDX-License-Identifier: Apache-2.0
// End to end: GET /channels/:channelId/events (Server-Sent Events) against a real server.
#include "sse.hpp"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "server/stream_test_fixture.hpp"
#include "server/websocket_test_client.hpp"
#include "ws/sync_frames.hpp"

namespace agentcore::testing {
namespace {

struct SseConnection {
  std::unique_ptr<TestSocket> socket;
  TestHead head;
  std::unique_ptr<TestSseReader> reader;
};

SseConnection OpenEvents(StreamTestServer& server, std::string_view target,
                         std::string_view extra_headers, int receive_buffer = 0) {
  SseConnection c;
  c.socket = std::make_unique<TestSocket>(server.port(), receive_buffer);
  c.socket->Send("GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n" +
                 std::string(extra_headers) + "\r\n");
  c.head = ReadHead(*c.socket);
  c.reader = std::make_unique<TestSseReader>(c.socket.get(), c.head.rest);
  return c;
}

// The next event that is not a comment.
std::optional<TestSseEvent> NextEvent(SseConnection& c, std::chrono::milliseconds timeout = 5000ms) {
  for (;;) {
    auto e = c.reader->Next(timeout);
    if (!e || e->comment.empty()) return e;
  }
}

// Waits until `n` stream subscribers are registered (the subscription is made right after the
// head is written, on the connection's thread).
void WaitSubscribers(StreamTestServer& server, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server.app().broadcaster().SubscriberCount() < n &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  REQUIRE(server.app().broadcaster().SubscriberCount() >= n);
}

}  // namespace

TEST_SUITE("ServerSentEvents") {
  TEST_CASE("requires a session or an API key") {
    StreamTestServer server;
    std::string channel = server.NewChannel("c");
    for (std::string headers : {std::string(), std::string("Cookie: cast_session=bad\r\n"),
                                std::string("Authorization: Bearer ak_nope\r\n")}) {
      CAPTURE(headers);
      SseConnection c = OpenEvents(server, "/channels/" + channel + "/events", headers);
      CHECK(c.head.status == 401);
      CHECK(c.head.rest.find(R"({"error":"Authentication required"})") != std::string::npos);
    }
  }

  TEST_CASE("answers 404 for a channel that does not exist or is another space's") {
    StreamTestServer server;
    std::string foreign = server.NewChannel("theirs", "space-2");
    for (std::string id : {std::string("NOPE"), foreign}) {
      SseConnection c = OpenEvents(server, "/channels/" + id + "/events", server.cookie());
      CHECK(c.head.status == 404);
      CHECK(c.head.rest.find(R"({"error":"Channel not found"})") != std::string::npos);
    }
  }

  TEST_CASE("streams the channel's frames live with their message ids") {
    StreamTestServer server;
    std::string channel = server.NewChannel("live");
    std::string other = server.NewChannel("other");
    SseConnection c = OpenEvents(server, "/channels/" + channel + "/events", server.cookie());
    REQUIRE(c.head.status == 200);
    CHECK(c.head.Header("Content-Type") == "text/event-stream");
    CHECK(c.head.Header("Cache-Control") == "no-cache");
    WaitSubscribers(server, 1);
    std::vector<Message> sent;
    for (int i = 0; i < 50; ++i) {
      server.Post(other, "not here");
      sent.push_back(server.Post(channel, "e" + std::to_string(i)));
    }
    server.app().Publish(channel, "", R"({"i":"X1","a":"streaming"})");  // live-only: no id
    for (const Message& m : sent) {
      auto e = NextEvent(c);
      REQUIRE(e);
      CHECK(e->id == m.id);
      CHECK(e->data == server::SetFrameLineForMessage(m));
    }
    auto live = NextEvent(c);
    REQUIRE(live);
    CHECK(live->id.empty());
    CHECK(live->data == R"({"i":"X1","a":"streaming"})");
  }

  TEST_CASE("a reconnect with Last-Event-ID gets exactly the missed messages, then live ones") {
    StreamTestServer server;
    std::string channel = server.NewChannel("resume");
    std::vector<Message> stored;
    for (int i = 0; i < 6; ++i) stored.push_back(server.Store(channel, "s" + std::to_string(i)));

    for (std::string how : {"header", "query"}) {
      CAPTURE(how);
      std::string target = "/channels/" + channel + "/events";
      std::string headers = server.cookie();
      if (how == "header") {
        headers += "Last-Event-ID: " + stored[2].id + "\r\n";
      } else {
        target += "?lastEventId=" + stored[2].id;
      }
      // The previous round's connection is closed: wait until the server dropped it.
      auto gone = std::chrono::steady_clock::now() + 5s;
      while (server.app().broadcaster().SubscriberCount() != 0 &&
             std::chrono::steady_clock::now() < gone) {
        std::this_thread::sleep_for(2ms);
      }
      SseConnection c = OpenEvents(server, target, headers);
      REQUIRE(c.head.status == 200);
      WaitSubscribers(server, 1);
      // A late broadcast of a message the replay also carries must not arrive twice.
      server.Publish(stored[4]);
      Message fresh = server.Post(channel, "fresh " + how);
      std::vector<std::string> expected;
      for (std::size_t i = 3; i < stored.size(); ++i) expected.push_back(stored[i].id);
      expected.push_back(fresh.id);
      std::vector<std::string> ids;
      for (std::size_t i = 0; i < expected.size(); ++i) {
        auto e = NextEvent(c);
        REQUIRE(e);
        ids.push_back(e->id);
        if (i + 3 < stored.size()) CHECK(e->data == server::SetFrameLineForMessage(stored[3 + i]));
      }
      CHECK(ids == expected);
      CHECK_FALSE(NextEvent(c, 300ms));
      stored.push_back(fresh);
    }
  }

  TEST_CASE("after replaying an agent's far-future message id, newer messages still arrive live") {
    // Ordering is the store's seq, not the ids: an agent may choose any ULID (issue 13 §3).
    StreamTestServer server;
    std::string channel = server.NewChannel("future");
    Message first = server.Store(channel, "first");
    agentcore::NewMessage future;
    future.id = "7ZZZZZZZZZAAAAAAAAAAAAAAAA";
    future.space_id = server.space_id();
    future.channel_id = channel;
    future.sender = "agent";
    future.sender_type = "agent";
    future.type = "agent";
    future.content = Json("from the future");
    REQUIRE(server.app().store().AppendMessage(future).ok());

    SseConnection c = OpenEvents(server, "/channels/" + channel + "/events",
                                 server.cookie() + "Last-Event-ID: " + first.id + "\r\n");
    REQUIRE(c.head.status == 200);
    auto replayed = NextEvent(c);
    REQUIRE(replayed);
    CHECK(replayed->id == future.id);
    WaitSubscribers(server, 1);
    Message fresh = server.Post(channel, "after the future");
    auto live = NextEvent(c);
    REQUIRE(live);
    CHECK(live->id == fresh.id);
  }

  TEST_CASE("replays more than one store page in order") {
    StreamTestServer server;
    std::string channel = server.NewChannel("long");
    std::vector<std::string> ids;
    for (int i = 0; i < 1100; ++i) ids.push_back(server.Store(channel, "p" + std::to_string(i)).id);
    SseConnection c = OpenEvents(server, "/channels/" + channel + "/events",
                                 server.cookie() + "Last-Event-ID: " + ids[0] + "\r\n");
    REQUIRE(c.head.status == 200);
    for (std::size_t i = 1; i < ids.size(); ++i) {
      auto e = NextEvent(c);
      REQUIRE(e);
      REQUIRE(e->id == ids[i]);
    }
    CHECK_FALSE(NextEvent(c, 200ms));
  }

  TEST_CASE("sends a heartbeat comment while idle") {
    StreamTestServer server(
        [](server::ServerConfig& config) { config.sse_heartbeat = std::chrono::milliseconds(100); });
    std::string channel = server.NewChannel("quiet");
    SseConnection c = OpenEvents(server, "/channels/" + channel + "/events", server.cookie());
    REQUIRE(c.head.status == 200);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 2; ++i) {
      auto e = c.reader->Next(2s);
      REQUIRE(e);
      CHECK(e->comment == "heartbeat");
    }
    CHECK(std::chrono::steady_clock::now() - start < 1500ms);
  }

  TEST_CASE("ends the stream of a reader that stops reading, at the write deadline") {
    // Issue 13 §1: a full backlog no longer drops a reader (it catches up from the store); one
    // that takes no byte for the write deadline is dropped.
    StreamTestServer server([](server::ServerConfig& config) {
      config.subscriber_backlog_bytes = 64 * 1024;
      config.write_timeout = std::chrono::milliseconds(500);
    });
    std::string channel = server.NewChannel("flood");
    SseConnection c = OpenEvents(server, "/channels/" + channel + "/events", server.cookie(), 4096);
    REQUIRE(c.head.status == 200);
    WaitSubscribers(server, 1);
    std::string line = R"({"i":"B","a":")" + std::string(8192, 'b') + R"("})";
    // Frames keep coming (the deadline needs bytes waiting for the client: an empty queue is
    // not waiting on it, whatever the kernel holds).
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (int i = 0; server.app().broadcaster().SubscriberCount() != 0 &&
                    std::chrono::steady_clock::now() < deadline;
         ++i) {
      server.app().Publish(channel, "", line);
      if (i % 100 == 99) std::this_thread::sleep_for(20ms);
    }
    CHECK(server.app().broadcaster().SubscriberCount() == 0);
    // What the kernel still held drains, then the stream ends.
    std::string sink;
    bool closed = false;
    auto until = std::chrono::steady_clock::now() + 10s;
    while (!closed && std::chrono::steady_clock::now() < until) {
      closed = c.socket->ReadSome(&sink, 1000ms) < 0;
      sink.clear();
    }
    CHECK(closed);
  }
}

}  // namespace agentcore::testing
