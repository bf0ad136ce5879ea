// SPDX-License-Identifier: Apache-2.0
// End to end: the WebSocket `/stream` of spec cast §4.10 against a real server.
#include "ws/websocket_session.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <agentcore/json.hpp>
#include <agentcore/json_writer.hpp>

#include <agentcore/tymbal/parser.hpp>

#include "handlers/frame_ingest.hpp"
#include "server/raw_client.hpp"
#include "server/stream_test_fixture.hpp"
#include "server/websocket_test_client.hpp"
#include "ws/sync_frames.hpp"

namespace agentcore::testing {
namespace {

using server::WebSocketEvent;
using server::WebSocketOpcode;

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

std::string SyncRequest(std::string_view channel_id, std::string_view extra = {}) {
  std::string s = R"({"request":"sync","channelId":")" + std::string(channel_id) + "\"";
  s += extra;
  s += "}";
  return s;
}

// Connects, upgrades with the fixture's cookie and syncs `channel_id`; returns the reply.
std::string Subscribe(TestWebSocket& ws, StreamTestServer& server, std::string_view channel_id) {
  TestHead head = ws.Handshake("/stream", server.cookie());
  REQUIRE(head.status == 101);
  REQUIRE(ws.SendText(SyncRequest(channel_id, R"(,"limit":1)")));
  auto reply = ws.NextText();
  REQUIRE(reply);
  return *reply;
}

// A set frame line of about `bytes` bytes, as the broadcaster would carry it.
std::string BigLine(std::string_view channel_id, int n, std::size_t bytes) {
  std::string line;
  JsonWriter(&line)
      .BeginObject()
      .Field("i", "M" + std::to_string(n))
      .Field("t", "2026-01-04T10:00:00.000Z")
      .Key("v")
      .BeginObject()
      .Field("type", "agent")
      .Field("content", std::string(bytes, 'x'))
      .EndObject()
      .Field("c", channel_id)
      .EndObject();
  return line;
}

}  // namespace

TEST_SUITE("WebSocketStream") {
  TEST_CASE("refuses an upgrade without a valid session with a bare 401 and closes") {
    StreamTestServer server;
    for (std::string headers : {std::string(), std::string("Cookie: cast_session=nope\r\n"),
                                std::string("Cookie: other=1\r\n")}) {
      CAPTURE(headers);
      TestWebSocket ws(server.port());
      TestHead head = ws.Handshake("/stream", headers);
      CHECK(head.raw == "HTTP/1.1 401 Unauthorized\r\n\r\n");
      CHECK(head.rest.empty());
      CHECK(ws.WaitClosed());
    }
  }

  TEST_CASE("accepts the handshake with the RFC 6455 accept value") {
    StreamTestServer server;
    TestWebSocket ws(server.port());
    TestHead head = ws.Handshake("/stream", server.cookie());
    CHECK(head.status == 101);
    CHECK(head.Header("Upgrade") == "websocket");
    CHECK(head.Header("Connection") == "Upgrade");
    // RFC 6455 §1.3's example key and answer.
    CHECK(head.Header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  }

  TEST_CASE("refuses requests that are not WebSocket handshakes") {
    StreamTestServer server;
    SUBCASE("a plain GET") {
      TestSocket s(server.port());
      s.Send("GET /stream HTTP/1.1\r\nHost: x\r\n" + server.cookie() + "\r\n");
      CHECK(ReadHead(s).status == 426);
    }
    SUBCASE("another version") {
      TestSocket s(server.port());
      s.Send("GET /stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n" +
             server.cookie() + "\r\n");
      TestHead head = ReadHead(s);
      CHECK(head.status == 426);
      CHECK(head.Header("Sec-WebSocket-Version") == "13");
    }
    SUBCASE("a bad key") {
      TestSocket s(server.port());
      s.Send("GET /stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n" +
             server.cookie() + "\r\n");
      CHECK(ReadHead(s).status == 400);
    }
  }

  TEST_CASE("answers a sync for an unknown or foreign channel with Cast's errors") {
    StreamTestServer server;
    std::string foreign = server.NewChannel("elsewhere", "space-2");
    TestWebSocket ws(server.port());
    REQUIRE(ws.Handshake("/stream", server.cookie()).status == 101);

    ws.SendText(R"({"request":"sync"})");  // still on __pending__
    CHECK(ws.NextText() == R"({"error":"channel_not_found","message":"Channel not found"})");
    ws.SendText(SyncRequest("NOPE"));
    CHECK(ws.NextText() == R"({"error":"channel_not_found","message":"Channel not found"})");
    ws.SendText(SyncRequest(foreign));
    CHECK(ws.NextText() == R"({"error":"forbidden","message":"Not authorized for this channel"})");
    // Not sync requests: ignored, and the connection stays usable.
    ws.SendText("not json");
    ws.SendText(R"({"i":"01J","a":"text"})");
    ws.SendFrame(WebSocketOpcode::kBinary, "\x01\x02");
    std::string mine = server.NewChannel("mine");
    ws.SendText(SyncRequest(mine));
    auto reply = ws.NextText();
    REQUIRE(reply);
    CHECK(reply->rfind(R"({"sync":")", 0) == 0);
    CHECK(reply->find(R"("hasMore":false})") != std::string::npos);
  }

  TEST_CASE("sync returns stored messages in the §4.10 form") {
    StreamTestServer server;
    std::string channel = server.NewChannel("general");
    std::vector<Message> stored;
    for (int i = 0; i < 5; ++i) stored.push_back(server.Store(channel, "m" + std::to_string(i)));

    TestWebSocket ws(server.port());
    REQUIRE(ws.Handshake("/stream", server.cookie()).status == 101);

    SUBCASE("newest `limit`, oldest first, with hasMore and oldestId") {
      ws.SendText(SyncRequest(channel, R"(,"limit":2,"token":"ignored")"));
      auto reply = ws.NextText();
      REQUIRE(reply);
      auto lines = SplitLines(*reply);
      REQUIRE(lines.size() == 3);
      CHECK(lines[0] == server::SetFrameLineForMessage(stored[3]));
      CHECK(lines[1] == server::SetFrameLineForMessage(stored[4]));
      auto sync = ParseJson(lines[2]);
      REQUIRE(sync.ok());
      CHECK(sync->FindString("sync") != nullptr);
      CHECK(*sync->Find("hasMore") == Json(true));
      CHECK(*sync->FindString("oldestId") == stored[3].id);
      CHECK(lines[0] == R"({"i":")" + stored[3].id + R"(","t":")" +
                            FormatIsoTimestamp(stored[3].timestamp) +
                            R"(","v":{"type":"user","content":"m3","sender":"alice",)"
                            R"("senderType":"user"},"c":")" + channel + R"("})");
    }
    SUBCASE("since and before are exclusive id cursors") {
      ws.SendText(SyncRequest(channel, R"(,"since":")" + stored[0].id + R"(","limit":2)"));
      auto lines = SplitLines(ws.NextText().value_or(""));
      REQUIRE(lines.size() == 3);
      CHECK(lines[0] == server::SetFrameLineForMessage(stored[1]));
      CHECK(lines[1] == server::SetFrameLineForMessage(stored[2]));
      ws.SendText(SyncRequest(channel, R"(,"before":")" + stored[2].id + R"(")"));
      lines = SplitLines(ws.NextText().value_or(""));
      REQUIRE(lines.size() == 3);
      CHECK(lines[0] == server::SetFrameLineForMessage(stored[0]));
      CHECK(lines[2].find(R"("hasMore":false,"oldestId":")" + stored[0].id) != std::string::npos);
    }
    SUBCASE("an empty channel has no oldestId") {
      std::string empty = server.NewChannel("empty");
      ws.SendText(SyncRequest(empty));
      auto reply = ws.NextText();
      REQUIRE(reply);
      CHECK(reply->find('\n') == std::string::npos);
      CHECK(reply->find("oldestId") == std::string::npos);
    }
  }

  TEST_CASE("sync writes tool calls and tool results in their own shapes") {
    StreamTestServer server;
    std::string channel = server.NewChannel("tools");
    NewMessage call;
    call.space_id = server.space_id();
    call.channel_id = channel;
    call.sender = "bot";
    call.sender_type = "agent";
    call.type = "tool_call";
    call.content = *ParseJson(
        R"({"type":"tool_call","toolCallId":"t1","name":"grep","args":{"q":"x"},"extra":1})");
    call.metadata = *ParseJson(R"({"fromTymbal":true,"method":"agent_output"})");
    REQUIRE(server.app().store().AppendMessage(call).ok());
    NewMessage result = call;
    result.type = "tool_result";
    result.content = *ParseJson(
        R"({"type":"tool_result","toolCallId":"t1","name":"grep","content":"hit","isError":false})");
    REQUIRE(server.app().store().AppendMessage(result).ok());
    NewMessage text = call;
    text.type = "agent";
    text.content = Json("hello");
    text.metadata = *ParseJson(R"({"method":"send_message","attachmentSlugs":["a"]})");
    REQUIRE(server.app().store().AppendMessage(text).ok());

    TestWebSocket ws(server.port());
    REQUIRE(ws.Handshake("/stream", server.cookie()).status == 101);
    ws.SendText(SyncRequest(channel));
    auto lines = SplitLines(ws.NextText().value_or(""));
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].find(R"("v":{"type":"tool_call","sender":"bot","senderType":"agent",)"
                        R"("toolCallId":"t1","name":"grep","args":{"q":"x"}})") !=
          std::string::npos);
    CHECK(lines[1].find(R"("v":{"type":"tool_result","sender":"bot","senderType":"agent",)"
                        R"("toolCallId":"t1","content":"hit","isError":false})") !=
          std::string::npos);
    CHECK(lines[2].find(R"("v":{"type":"agent","content":"hello","sender":"bot",)"
                        R"("senderType":"agent","method":"send_message","attachmentSlugs":["a"]})") !=
          std::string::npos);
  }

  TEST_CASE("a subscriber receives every frame published after its sync, in order") {
    StreamTestServer server;
    std::string channel = server.NewChannel("live");
    std::string other = server.NewChannel("other");
    TestWebSocket ws(server.port());
    Subscribe(ws, server, channel);
    std::vector<std::string> sent;
    for (int i = 0; i < 200; ++i) {
      if (i % 10 == 0) server.Post(other, "elsewhere");  // never delivered here
      sent.push_back(server::SetFrameLineForMessage(server.Post(channel, "n" + std::to_string(i))));
    }
    for (const std::string& line : sent) {
      auto got = ws.NextText();
      REQUIRE(got);
      REQUIRE(*got == line);
    }
    CHECK_FALSE(ws.Next(200ms));
  }

  TEST_CASE("each sync moves the one subscription") {
    StreamTestServer server;
    std::string a = server.NewChannel("a");
    std::string b = server.NewChannel("b");
    TestWebSocket ws(server.port());
    Subscribe(ws, server, a);
    ws.SendText(SyncRequest(b, R"(,"limit":1)"));
    REQUIRE(ws.NextText());
    server.Post(a, "to a");
    Message to_b = server.Post(b, "to b");
    CHECK(ws.NextText() == server::SetFrameLineForMessage(to_b));
    CHECK_FALSE(ws.Next(200ms));
  }

  TEST_CASE("answers pings and echoes a close") {
    StreamTestServer server;
    TestWebSocket ws(server.port());
    REQUIRE(ws.Handshake("/stream", server.cookie()).status == 101);
    ws.SendFrame(WebSocketOpcode::kPing, "are you there");
    auto pong = ws.Next();
    REQUIRE(pong);
    CHECK(pong->kind == WebSocketEvent::Kind::kPong);
    CHECK(pong->payload == "are you there");
    ws.SendFrame(WebSocketOpcode::kClose, std::string("\x03\xE8", 2) + "bye");
    auto close = ws.Next();
    REQUIRE(close);
    CHECK(close->kind == WebSocketEvent::Kind::kClose);
    CHECK(close->close_code == 1000);
    CHECK(ws.WaitClosed());
  }

  TEST_CASE("closes with the code of a protocol violation") {
    StreamTestServer server([](server::ServerConfig& c) { c.ws_max_message_bytes = 1024; });
    struct Row {
      const char* name;
      std::string bytes;
      std::uint16_t code;
    };
    std::vector<Row> rows = {
        {"unmasked", server::EncodeWebSocketText("hi"), 1002},
        {"too big", server::EncodeWebSocketFrame(WebSocketOpcode::kText, std::string(1025, 'a'),
                                                 true, 0x01020304),
         1009},
        {"not UTF-8", server::EncodeWebSocketFrame(WebSocketOpcode::kText, "\xC0\xAF", true, 7),
         1007},
        {"stray continuation",
         server::EncodeWebSocketFrame(WebSocketOpcode::kContinuation, "x", true, 7), 1002},
    };
    for (const Row& row : rows) {
      CAPTURE(row.name);
      TestWebSocket ws(server.port());
      REQUIRE(ws.Handshake("/stream", server.cookie()).status == 101);
      ws.SendRaw(row.bytes);
      auto close = ws.Next();
      REQUIRE(close);
      CHECK(close->kind == WebSocketEvent::Kind::kClose);
      CHECK(close->close_code == row.code);
      CHECK(ws.WaitClosed());
    }
  }

  TEST_CASE("decodes frames sent with the upgrade request") {
    StreamTestServer server;
    std::string channel = server.NewChannel("eager");
    TestSocket s(server.port());
    s.Send("GET /stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
           server.cookie() + "\r\n" +
           server::EncodeWebSocketFrame(WebSocketOpcode::kText, SyncRequest(channel), true, 9));
    TestHead head = ReadHead(s);
    REQUIRE(head.status == 101);
    server::WebSocketDecoder decoder(1 << 20, false);
    std::vector<WebSocketEvent> events;
    std::string data = head.rest;
    for (int i = 0; i < 50 && events.empty(); ++i) {
      decoder.Feed(data, &events);
      data.clear();
      if (events.empty()) s.ReadSome(&data, 100ms);
    }
    REQUIRE(events.size() == 1);
    CHECK(events[0].payload.rfind(R"({"sync":")", 0) == 0);
  }

  TEST_CASE("closes a consumer that stops reading, at the write deadline") {
    // Issue 13 §1: a full backlog no longer drops a reader (it catches up from the store); one
    // that takes no byte for the write deadline is closed.
    constexpr std::size_t kBacklog = 64 * 1024;
    StreamTestServer server([](server::ServerConfig& c) {
      c.subscriber_backlog_bytes = kBacklog;
      c.write_timeout = std::chrono::milliseconds(500);
    });
    std::string channel = server.NewChannel("firehose");
    TestWebSocket slow(server.port(), 4096);
    Subscribe(slow, server, channel);
    TestWebSocket fast(server.port());
    Subscribe(fast, server, channel);
    REQUIRE(server.app().broadcaster().SubscriberCount() == 2);

    // 2,000 frames of 8 KiB: 16 MiB, far more than the kernel buffers plus the backlog. The
    // publisher stays at most a few frames ahead of the fast reader, which therefore never
    // has a backlog, while the slow one falls behind by everything.
    constexpr int kFrames = 2000;
    std::atomic<int> received{0};
    std::atomic<bool> reader_done{false};
    std::thread publisher([&] {
      for (int i = 0; i < kFrames && !reader_done; ++i) {
        while (i - received.load() > 4 && !reader_done) std::this_thread::sleep_for(100us);
        server.app().Publish(channel, "", BigLine(channel, i, 8 * 1024));
      }
    });
    bool in_order = true;
    while (received < kFrames) {
      auto got = fast.NextText(10s);
      if (!got) break;
      in_order = in_order && got->find(R"("i":"M)" + std::to_string(received) + "\"") == 1;
      ++received;
    }
    reader_done = true;
    publisher.join();
    CHECK(received == kFrames);
    CHECK(in_order);
    // The slow one was closed at the deadline: unsubscribed on the server, connection closed.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (server.app().broadcaster().SubscriberCount() != 1 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    CHECK(server.app().broadcaster().SubscriberCount() == 1);
    CHECK(slow.WaitClosed(10s));
    // And the server still serves.
    TestWebSocket again(server.port());
    Subscribe(again, server, channel);
    Message m = server.Post(channel, "still here");
    CHECK(again.NextText() == server::SetFrameLineForMessage(m));
  }

  TEST_CASE("says goodbye with 1001 when the server stops") {
    auto server = std::make_unique<StreamTestServer>();
    std::string channel = server->NewChannel("bye");
    TestWebSocket ws(server->port());
    Subscribe(ws, *server, channel);
    std::thread stopper([&] { server->app().Stop(); });
    auto close = ws.Next(5s);
    REQUIRE(close);
    CHECK(close->kind == WebSocketEvent::Kind::kClose);
    CHECK(close->close_code == 1001);
    ws.SendFrame(WebSocketOpcode::kClose, std::string("\x03\xE9", 2));
    CHECK(ws.WaitClosed());
    stopper.join();
  }

  TEST_CASE("a streamed upload reaches a subscriber frame by frame, in order, retries dropped") {
    StreamTestServer server;
    std::string channel = server.NewChannel("streamed");
    TestWebSocket ws(server.port());
    Subscribe(ws, server, channel);
    AgentIdentity agent{server.space_id(), channel, "echo"};
    const std::string id = "01JGZ5V7A1B2C3D4E5F6G7H8S2";
    const std::string set = R"({"i":")" + id +
                            R"(","t":"2026-01-04T10:00:01.250Z","v":{"type":"agent","content":"abcd","sender":"echo","senderType":"agent"}})";
    // Several frames in one chunk (one body piece, one batch), then one frame per chunk, with
    // the set frame sent twice: the retry is neither stored again nor broadcast.
    std::vector<std::string> first = {
        R"({"i":")" + id + R"(","m":{"type":"agent","sender":"echo","senderType":"agent"}})",
        R"({"i":")" + id + R"(","a":"a","bq":"1"})", R"({"i":")" + id + R"(","a":"b"})",
        R"({"i":")" + id + R"(","a":"c"})"};
    std::vector<std::string> rest = {R"({"i":")" + id + R"(","a":"d"})", set, set};
    auto chunk = [](const std::string& data) {
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      return std::string(size) + data + "\r\n";
    };
    std::string body;
    for (const std::string& line : first) body += line + "\n";
    std::string request = "POST /tymbal/" + channel +
                          "/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Container " +
                          server.app().ContainerToken(agent) +
                          "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(body);
    for (const std::string& line : rest) request += chunk(line + "\n");
    request += "0\r\n\r\n";
    server::testing::RawClient upload(server.port());
    REQUIRE(upload.Send(request));
    std::string response = upload.ReadResponses(1, 10s);
    CHECK(response.find("\"frames\":7") != std::string::npos);
    CHECK(response.find("\"persisted\":2") != std::string::npos);  // the start and one set

    server::IngestTarget target{server.space_id(), channel, false};
    std::vector<std::string> expected;
    for (const std::string& line : first) {
      expected.push_back(server::BroadcastLine(*ParseFrame(line), target));
    }
    expected.push_back(server::BroadcastLine(*ParseFrame(rest[0]), target));
    expected.push_back(server::BroadcastLine(*ParseFrame(set), target));
    // `c` goes after the frame's own keys and its extra keys, as Cast serializes it.
    CHECK(expected[1] == R"({"i":")" + id + R"(","a":"a","bq":"1","c":")" + channel + R"("})");
    for (const std::string& line : expected) {
      auto got = ws.NextText();
      REQUIRE(got);
      CHECK(*got == line);
    }
    CHECK_FALSE(ws.Next(300ms));
    auto stored = server.app().store().GetMessage(id);
    REQUIRE(stored.ok());
    CHECK(stored->is_complete);
    CHECK(stored->content == Json("abcd"));
  }
}

}  // namespace agentcore::testing
