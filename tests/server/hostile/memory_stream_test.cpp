// SPDX-License-Identifier: Apache-2.0
// Issue 13 §1: memory a client can pin through `/stream` and `/channels/:id/events`. Every byte
// queued for a connection counts toward one budget; replies and replays are streamed from the
// store as the client reads; a client that reads nothing is closed after the write deadline; a
// client that reads is never dropped for a burst.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <agentcore/json.hpp>

#include "server/raw_client.hpp"
#include "server/stream_test_fixture.hpp"
#include "server/websocket_test_client.hpp"
#include "ws/stream_session.hpp"
#include "ws/sync_frames.hpp"
#include "ws/websocket_codec.hpp"

namespace agentcore::testing {
namespace {

using server::WebSocketEvent;
using server::WebSocketOpcode;

std::string SyncRequest(std::string_view channel_id, std::string_view extra = {}) {
  return R"({"request":"sync","channelId":")" + std::string(channel_id) + "\"" +
         std::string(extra) + "}";
}

std::string UpgradeRequest(const StreamTestServer& server) {
  return "GET /stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         server.cookie() + "\r\n";
}

// `count` stored user messages of `bytes` characters each, oldest first.
std::vector<Message> StoreMany(StreamTestServer& server, const std::string& channel, int count,
                               std::size_t bytes) {
  std::vector<Message> stored;
  for (int i = 0; i < count; ++i) {
    stored.push_back(server.Store(channel, std::string(bytes, static_cast<char>('a' + i % 26))));
  }
  return stored;
}

struct RawFrame {
  int opcode = 0;
  bool fin = false;
  std::string payload;
};

// Unmasked server frames from `*buffer`, reading from `socket` until a data frame with FIN
// (the end of a message) or a close arrives.
std::vector<RawFrame> ReadMessageFrames(TestSocket& socket, std::string* buffer,
                                        std::chrono::milliseconds timeout = 10s) {
  std::vector<RawFrame> frames;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (buffer->size() >= 2) {
      const auto* p = reinterpret_cast<const unsigned char*>(buffer->data());
      std::size_t header = 2;
      std::uint64_t size = p[1] & 0x7F;
      if (size == 126) {
        if (buffer->size() < 4) break;
        size = (std::uint64_t{p[2]} << 8) | p[3];
        header = 4;
      } else if (size == 127) {
        if (buffer->size() < 10) break;
        size = 0;
        for (int i = 2; i < 10; ++i) size = (size << 8) | p[i];
        header = 10;
      }
      if (buffer->size() < header + size) break;
      RawFrame frame;
      frame.fin = (p[0] & 0x80) != 0;
      frame.opcode = p[0] & 0x0F;
      frame.payload = buffer->substr(header, size);
      buffer->erase(0, header + size);
      frames.push_back(std::move(frame));
      const RawFrame& last = frames.back();
      if (last.opcode == 0x8 || (last.fin && last.opcode < 0x8)) return frames;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || socket.ReadSome(buffer, left) < 0) return frames;
  }
}

// The reply a sync of `window` (oldest first) must carry, without its last line.
std::string ExpectedLines(const std::vector<Message>& window) {
  std::string out;
  for (const Message& m : window) out += server::SetFrameLineForMessage(m) + "\n";
  return out;
}

// Checks a sync reply: the set frames of `window`, then the sync response.
void CheckReply(const std::string& reply, const std::vector<Message>& window, bool has_more) {
  std::string lines = ExpectedLines(window);
  REQUIRE(reply.size() > lines.size());
  CHECK(reply.compare(0, lines.size(), lines) == 0);
  auto last = ParseJson(reply.substr(lines.size()));
  REQUIRE(last.ok());
  CHECK(last->Find("sync") != nullptr);
  REQUIRE(last->Find("hasMore") != nullptr);
  CHECK(last->Find("hasMore")->as_bool() == has_more);
  if (window.empty()) {
    CHECK(last->Find("oldestId") == nullptr);
  } else {
    REQUIRE(last->Find("oldestId") != nullptr);
    CHECK(last->Find("oldestId")->as_string() == window.front().id);
  }
}

// A line's message id when it is a set frame (`"v"` present), else empty.
std::string SetFrameId(const std::string& line) {
  auto frame = ParseJson(line);
  if (!frame.ok() || frame->Find("v") == nullptr || frame->Find("i") == nullptr) return {};
  return frame->Find("i")->as_string();
}

void WaitSubscribers(StreamTestServer& server, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server.app().broadcaster().SubscriberCount() != n &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK(server.app().broadcaster().SubscriberCount() == n);
}

// The server still answers: a new WebSocket syncs the channel and gets a live message.
void CheckStillServes(StreamTestServer& server, const std::string& channel) {
  TestWebSocket ws(server.port());
  REQUIRE(ws.Handshake("/stream", server.cookie()).status == 101);
  REQUIRE(ws.SendText(SyncRequest(channel, R"(,"limit":1)")));
  auto reply = ws.NextText(10s);
  REQUIRE(reply);
  Message m = server.Post(channel, "still here");
  CHECK(ws.NextText(10s) == server::SetFrameLineForMessage(m));
}

constexpr std::size_t kSmallBudget = 64 * 1024;
constexpr std::size_t kPageSlack = server::kPageBytes + 128 * 1024;  // one page, one message

}  // namespace

TEST_SUITE("hostile/memory") {
  TEST_CASE("a sync reply larger than the budget is one fragmented message, byte-identical") {
    StreamTestServer server(
        [](server::ServerConfig& c) { c.subscriber_backlog_bytes = kSmallBudget; });
    std::string channel = server.NewChannel("big-sync");
    std::vector<Message> stored = StoreMany(server, channel, 200, 3000);  // about 640 KB
    server::StreamSession::ResetPeakBudgetBytesForTesting();

    struct Row {
      std::string extra;
      std::vector<Message> window;
      bool has_more;
    };
    std::vector<Row> rows = {
        {R"(,"limit":1000)", stored, false},  // newest 1000: the whole channel
        {R"(,"limit":150)", {stored.begin() + 50, stored.end()}, true},  // newest 150
        {R"(,"limit":100,"before":")" + stored[180].id + "\"",
         {stored.begin() + 80, stored.begin() + 180}, true},  // a page before a cursor
        {R"(,"limit":100,"since":")" + stored[9].id + "\"",
         {stored.begin() + 10, stored.begin() + 110}, true},  // ascending from a cursor
        {R"(,"limit":500,"since":")" + stored[9].id + "\"", {stored.begin() + 10, stored.end()},
         false},
        {R"(,"limit":5)", {stored.end() - 5, stored.end()}, true},  // small: one frame
    };
    for (const Row& row : rows) {
      CAPTURE(row.extra);
      // On the wire: a text frame without FIN, continuations, the last with FIN.
      TestSocket raw(server.port());
      raw.Send(UpgradeRequest(server));
      TestHead head = ReadHead(raw);
      REQUIRE(head.status == 101);
      raw.Send(server::EncodeWebSocketFrame(WebSocketOpcode::kText,
                                            SyncRequest(channel, row.extra), true, 0x01020304));
      std::string buffer = head.rest;
      std::vector<RawFrame> frames = ReadMessageFrames(raw, &buffer);
      REQUIRE(!frames.empty());
      CHECK(frames.front().opcode == 0x1);
      CHECK(frames.back().fin);
      std::string payload;
      for (std::size_t i = 0; i < frames.size(); ++i) {
        if (i > 0) CHECK(frames[i].opcode == 0x0);
        if (i + 1 < frames.size()) CHECK_FALSE(frames[i].fin);
        payload += frames[i].payload;
      }
      if (row.window.size() > 5) {
        CHECK(frames.size() > 1);  // more than one page: streamed
      } else {
        CHECK(frames.size() == 1);  // one page: one frame, as Cast sends it
      }
      CheckReply(payload, row.window, row.has_more);

      // To a client's decoder: one text message.
      TestWebSocket ws(server.port());
      REQUIRE(ws.Handshake("/stream", server.cookie()).status == 101);
      REQUIRE(ws.SendText(SyncRequest(channel, row.extra)));
      auto reply = ws.NextText(10s);
      REQUIRE(reply);
      CHECK(*reply == payload.substr(0, payload.rfind('\n')) + reply->substr(reply->rfind('\n')));
      CheckReply(*reply, row.window, row.has_more);
    }
    CHECK(server::StreamSession::PeakBudgetBytesForTesting() <= kSmallBudget + kPageSlack);
  }

  TEST_CASE("live frames published during a streamed sync reply follow it, none inside it") {
    StreamTestServer server(
        [](server::ServerConfig& c) { c.subscriber_backlog_bytes = kSmallBudget; });
    std::string channel = server.NewChannel("sync-and-live");
    std::vector<Message> stored = StoreMany(server, channel, 120, 3000);
    TestWebSocket ws(server.port());
    REQUIRE(ws.Handshake("/stream", server.cookie()).status == 101);
    REQUIRE(ws.SendText(SyncRequest(channel, R"(,"limit":1000)")));
    std::vector<Message> live;
    WaitSubscribers(server, 1);
    for (int i = 0; i < 20; ++i) {
      live.push_back(server.Post(channel, "live " + std::to_string(i) + std::string(3000, 'l')));
    }
    auto reply = ws.NextText(10s);
    REQUIRE(reply);
    CHECK(reply->rfind(server::SetFrameLineForMessage(stored.front()), 0) == 0);
    // Every live message is in the reply (stored before the read began) or arrives after it,
    // whole and in order.
    std::size_t next = 0;
    while (next < live.size() &&
           reply->find(server::SetFrameLineForMessage(live[next])) != std::string::npos) {
      ++next;
    }
    while (next < live.size()) {
      auto got = ws.NextText(10s);
      REQUIRE(got);
      if (*got == server::SetFrameLineForMessage(live[next])) ++next;
    }
  }

  TEST_CASE("a sync client that reads nothing is closed with 1008 after the write deadline") {
    constexpr std::size_t kBudget = 256 * 1024;
    StreamTestServer server([](server::ServerConfig& c) {
      c.subscriber_backlog_bytes = kBudget;
      c.write_timeout = std::chrono::milliseconds(300);
    });
    std::string channel = server.NewChannel("stuck-sync");
    StoreMany(server, channel, 40, 100 * 1024);  // 4 MB
    server::StreamSession::ResetPeakBudgetBytesForTesting();

    TestWebSocket slow(server.port(), 4096);
    REQUIRE(slow.Handshake("/stream", server.cookie()).status == 101);
    REQUIRE(slow.SendText(SyncRequest(channel, R"(,"limit":1000)")));
    std::this_thread::sleep_for(700ms);  // reads nothing: past the deadline
    CHECK(server::StreamSession::PeakBudgetBytesForTesting() <= kBudget + kPageSlack);

    // What the kernel held, the rest of a frame partly written, then the close frame.
    std::optional<WebSocketEvent> close;
    for (int i = 0; i < 1000; ++i) {
      auto e = slow.Next(5s);
      if (!e) break;
      if (e->kind == WebSocketEvent::Kind::kClose) {
        close = std::move(e);
        break;
      }
    }
    REQUIRE(close);
    CHECK(close->close_code == 1008);
    CHECK(slow.WaitClosed(5s));
    WaitSubscribers(server, 0);
    CheckStillServes(server, channel);
  }

  TEST_CASE("a client that sends pings and reads nothing is bounded and closed at the deadline") {
    constexpr std::size_t kBudget = 64 * 1024;
    StreamTestServer server([](server::ServerConfig& c) {
      c.subscriber_backlog_bytes = kBudget;
      c.write_timeout = std::chrono::milliseconds(300);
    });
    std::string channel = server.NewChannel("pinger");
    server::StreamSession::ResetPeakBudgetBytesForTesting();
    TestWebSocket pinger(server.port(), 4096);
    REQUIRE(pinger.Handshake("/stream", server.cookie()).status == 101);
    // 4 MB of pongs asked for; the client's send blocks once the server stops reading.
    std::string ping = server::EncodeWebSocketFrame(WebSocketOpcode::kPing,
                                                    std::string(125, 'p'), true, 0x0A0B0C0D);
    std::string burst;
    for (int i = 0; i < 256; ++i) burst += ping;
    std::atomic<bool> stop{false};
    std::thread sender([&] {
      for (int i = 0; i < 128 && !stop; ++i) {
        if (!pinger.SendRaw(burst)) break;
      }
    });
    std::this_thread::sleep_for(1000ms);
    CHECK(server::StreamSession::PeakBudgetBytesForTesting() <= kBudget + 32 * 1024);
    std::optional<WebSocketEvent> close;
    for (int i = 0; i < 100000; ++i) {
      auto e = pinger.Next(5s);
      if (!e) break;
      if (e->kind == WebSocketEvent::Kind::kClose) {
        close = std::move(e);
        break;
      }
    }
    stop = true;
    sender.join();  // the server closed the connection: a blocked send fails
    REQUIRE(close);
    CHECK(close->close_code == 1008);
    CheckStillServes(server, channel);
  }

  TEST_CASE("an SSE replay to a client that reads nothing is paced and ends at the deadline") {
    constexpr std::size_t kBudget = 256 * 1024;
    StreamTestServer server([](server::ServerConfig& c) {
      c.subscriber_backlog_bytes = kBudget;
      c.write_timeout = std::chrono::milliseconds(300);
    });
    std::string channel = server.NewChannel("stuck-sse");
    StoreMany(server, channel, 40, 100 * 1024);  // 4 MB
    server::StreamSession::ResetPeakBudgetBytesForTesting();

    TestSocket slow(server.port(), 4096);
    REQUIRE(slow.Send("GET /channels/" + channel +
                      "/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 0\r\n" + server.cookie() +
                      "\r\n"));
    std::this_thread::sleep_for(700ms);
    CHECK(server::StreamSession::PeakBudgetBytesForTesting() <= kBudget + kPageSlack);
    // The stream ends: what the kernel held, then EOF.
    std::string received;
    bool closed = false;
    auto until = std::chrono::steady_clock::now() + 5s;
    while (!closed && std::chrono::steady_clock::now() < until) {
      closed = slow.ReadSome(&received, 1000ms) < 0;
    }
    CHECK(closed);
    // Not the whole channel, nor what the kernel would buffer on its own (several MiB): the
    // send buffer is sized from the budget.
    CAPTURE(received.size());
    CHECK(received.size() < kBudget + kPageSlack + 512 * 1024);
    WaitSubscribers(server, 0);
    CheckStillServes(server, channel);
  }

  TEST_CASE("a reading client gets every set frame of a 15 MB streamed burst with a 1 MiB budget") {
    StreamTestServer server([](server::ServerConfig& c) {
      c.subscriber_backlog_bytes = 1024 * 1024;
      c.write_timeout = std::chrono::milliseconds(5000);
    });
    std::string channel = server.NewChannel("burst");
    // It reads all the time, but slower than the upload arrives (as a browser on a slower
    // link would): the burst outgrows its budget.
    TestWebSocket reader(server.port(), 64 * 1024);
    REQUIRE(reader.Handshake("/stream", server.cookie()).status == 101);
    REQUIRE(reader.SendText(SyncRequest(channel, R"(,"limit":1)")));
    REQUIRE(reader.NextText(10s));

    // 30 messages: a start, 4 appends of 64 KB and a set frame of 256 KB each: 15 MB.
    constexpr int kMessages = 30;
    std::vector<std::string> ids;
    std::string body;
    const std::string piece(64 * 1024, 'x');
    for (int i = 0; i < kMessages; ++i) {
      char id[32];
      std::snprintf(id, sizeof id, "01JGZ5V7A1B2C3D4E5F6G7H%03d", i);
      ids.emplace_back(id);
      body += R"({"i":")" + ids.back() +
              R"(","m":{"type":"agent","sender":"echo","senderType":"agent"}})" "\n";
      for (int a = 0; a < 4; ++a) body += R"({"i":")" + ids.back() + R"(","a":")" + piece + "\"}\n";
      body += R"({"i":")" + ids.back() +
              R"(","t":"2026-01-04T10:00:01.250Z","v":{"type":"agent","content":")" + piece +
              piece + piece + piece +
              R"(","sender":"echo","senderType":"agent"}})" "\n";
    }
    AgentIdentity agent{server.space_id(), channel, "echo"};
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", body.size());
    std::string request = "POST /tymbal/" + channel +
                          "/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Container " +
                          server.app().ContainerToken(agent) +
                          "\r\nTransfer-Encoding: chunked\r\n\r\n" + size + body + "\r\n0\r\n\r\n";
    server::testing::RawClient upload(server.port());
    std::thread uploader([&] { REQUIRE(upload.Send(request)); });

    // A message may first arrive open (replayed from the store while streaming); its last set
    // frame is the whole message.
    std::map<std::string, std::size_t> last_size;
    auto complete = [&] {
      if (last_size.size() < ids.size()) return false;
      for (const auto& [id, bytes] : last_size) {
        if (bytes <= 4 * piece.size()) return false;
      }
      return true;
    };
    bool closed = false;
    while (!complete()) {
      auto e = reader.Next(20s);
      if (!e) break;
      if (e->kind == WebSocketEvent::Kind::kClose) {
        closed = true;
        break;
      }
      if (e->kind != WebSocketEvent::Kind::kText) continue;
      std::this_thread::sleep_for(5ms);
      std::string id = SetFrameId(e->payload);
      if (!id.empty()) last_size[id] = e->payload.size();
    }
    uploader.join();
    CHECK(upload.ReadResponses(1, 20s).find(" 200 ") != std::string::npos);
    CHECK_FALSE(closed);
    CHECK(last_size.size() == ids.size());
    CHECK(complete());
    for (const auto& [id, bytes] : last_size) {
      if (bytes <= 4 * piece.size()) {
        auto stored = server.app().store().GetMessage(id);
        MESSAGE("incomplete: " << id << " " << bytes << " stored complete="
                               << (stored.ok() ? int(stored->is_complete) : -1));
      }
    }
    // Still live afterwards.
    Message m = server.Post(channel, "after the burst");
    for (int i = 0; i < 1000; ++i) {
      auto got = reader.NextText(10s);
      REQUIRE(got);
      if (*got == server::SetFrameLineForMessage(m)) break;
    }
  }
}

}  // namespace agentcore::testing
