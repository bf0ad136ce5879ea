// SPDX-License-Identifier: Apache-2.0
// WebSocket frames a hostile client sends (issue 13 §5): a header declaring a payload over
// the message limit is refused with 1009 from the header alone, before any payload byte; a
// 64-bit length with the top bit set is a protocol error (1002); and the protocol violations
// that already close correctly stay that way, on the wire.
#include "ws/websocket_codec.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "server/hostile/hostile_table.hpp"
#include "server/websocket_test_client.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kLimit = 1024 * 1024;  // the server's default ws_max_message_bytes
constexpr std::uint32_t kMask = 0x11223344;

/// A masked client frame header declaring `length` payload bytes (no payload).
std::string Header(std::uint8_t first_byte, std::uint64_t length, bool masked = true) {
  std::string h;
  h.push_back(static_cast<char>(first_byte));
  std::uint8_t mask_bit = masked ? 0x80 : 0;
  if (length < 126) {
    h.push_back(static_cast<char>(mask_bit | length));
  } else if (length < 65536) {
    h.push_back(static_cast<char>(mask_bit | 126));
    h.push_back(static_cast<char>(length >> 8));
    h.push_back(static_cast<char>(length & 0xFF));
  } else {
    h.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      h.push_back(static_cast<char>((length >> shift) & 0xFF));
    }
  }
  if (masked) h.append("\x11\x22\x33\x44", 4);
  return h;
}

std::string Client(WebSocketOpcode op, std::string_view payload, bool fin = true) {
  return EncodeWebSocketFrame(op, payload, fin, kMask);
}

/// The error after feeding `wire` whole, and after feeding it byte by byte (must agree).
std::optional<WebSocketError> FeedBoth(const std::string& wire, std::size_t limit = kLimit) {
  WebSocketDecoder whole(limit);
  std::vector<WebSocketEvent> events;
  auto a = whole.Feed(wire, &events);
  WebSocketDecoder bytewise(limit);
  std::optional<WebSocketError> b;
  for (std::size_t i = 0; i < wire.size() && !b; ++i) {
    b = bytewise.Feed(std::string_view(wire).substr(i, 1), &events);
  }
  CHECK(a.has_value() == b.has_value());
  if (a && b) CHECK(a->code == b->code);
  return a;
}

}  // namespace

TEST_SUITE("hostile/ws_codec") {
  TEST_CASE("a header declaring more than the limit is refused with 1009 before any payload") {
    const std::uint64_t lengths[] = {kLimit + 1, 2 * kLimit, std::uint64_t{1} << 32,
                                     (std::uint64_t{1} << 63) - 1};
    for (std::uint64_t length : lengths) {
      for (int first : {0x81, 0x82, 0x01, 0x02}) {  // text, binary, with and without FIN
        INFO(length, " ", int(first));
        auto error = FeedBoth(Header(static_cast<std::uint8_t>(first), length));
        REQUIRE(error);
        CHECK(error->code == kCloseMessageTooBig);
      }
    }
  }

  TEST_CASE("a continuation header that takes the message past the limit is refused with 1009") {
    std::string first = Client(WebSocketOpcode::kText, std::string(kLimit - 10, 'a'), false);
    auto error = FeedBoth(first + Header(0x80, 11));
    REQUIRE(error);
    CHECK(error->code == kCloseMessageTooBig);
    CHECK_FALSE(FeedBoth(first + Header(0x80, 10)));  // exactly the limit: waits for payload
  }

  TEST_CASE("a 64-bit length with the top bit set is a protocol error from the header") {
    for (std::uint64_t length : {std::uint64_t{1} << 63, ~std::uint64_t{0}}) {
      auto error = FeedBoth(Header(0x82, length));
      REQUIRE(error);
      CHECK(error->code == kCloseProtocolError);
    }
  }

  TEST_CASE("header checks keep the order of the frames: an earlier frame's error comes first") {
    std::string bad_utf8 = Client(WebSocketOpcode::kText, "\xFF");
    auto error = FeedBoth(bad_utf8 + Header(0x82, std::uint64_t{1} << 32));
    REQUIRE(error);
    CHECK(error->code == kCloseInvalidPayload);
    // Events before the oversized header are still delivered.
    WebSocketDecoder decoder(kLimit);
    std::vector<WebSocketEvent> events;
    auto late = decoder.Feed(Client(WebSocketOpcode::kText, "ok") + Header(0x81, kLimit + 1),
                             &events);
    REQUIRE(late);
    CHECK(late->code == kCloseMessageTooBig);
    REQUIRE(events.size() == 1);
    CHECK(events[0].payload == "ok");
  }

  TEST_CASE("an unmasked or reserved-bit oversized header is still a protocol error") {
    auto unmasked = FeedBoth(Header(0x82, std::uint64_t{1} << 32, /*masked=*/false));
    REQUIRE(unmasked);
    CHECK(unmasked->code == kCloseProtocolError);
    auto rsv = FeedBoth(Header(0xC2, std::uint64_t{1} << 32));
    REQUIRE(rsv);
    CHECK(rsv->code == kCloseProtocolError);
  }

  TEST_CASE("on the wire an oversized frame header gets a 1009 close without its payload") {
    HostileServer hs;
    for (std::uint64_t length : {std::uint64_t{2} << 20, std::uint64_t{1} << 32,
                                 (std::uint64_t{1} << 63) - 1}) {
      INFO(length);
      agentcore::testing::TestWebSocket ws(hs.server().port());
      auto head = ws.Handshake("/stream", "Cookie: " + hs.server().cookie() + "\r\n");
      REQUIRE(head.status == 101);
      auto start = std::chrono::steady_clock::now();
      ws.SendRaw(Header(0x81, length));
      auto event = ws.Next(2s);
      REQUIRE(event);
      CHECK(event->kind == WebSocketEvent::Kind::kClose);
      CHECK(event->close_code == kCloseMessageTooBig);
      CHECK(std::chrono::steady_clock::now() - start < 1000ms);
      CHECK(ws.WaitClosed(2s));
    }
    CHECK(hs.Healthy());
  }

  TEST_CASE("WebSocket protocol violations close with the right code and leave data intact") {
    HostileServer hs;
    auto frame = [](WebSocketOpcode op, std::string_view payload, bool fin = true) {
      return Client(op, payload, fin);
    };
    std::string rsv1 = frame(WebSocketOpcode::kText, "{}");
    rsv1[0] = static_cast<char>(rsv1[0] | 0x40);
    std::string rsv2 = frame(WebSocketOpcode::kText, "{}");
    rsv2[0] = static_cast<char>(rsv2[0] | 0x20);
    std::string rsv3 = frame(WebSocketOpcode::kPing, "");
    rsv3[0] = static_cast<char>(rsv3[0] | 0x10);
    std::string opcode3 = frame(WebSocketOpcode::kText, "x");
    opcode3[0] = static_cast<char>(0x83);
    std::string opcode_b = frame(WebSocketOpcode::kPing, "x");
    opcode_b[0] = static_cast<char>(0x8B);
    std::string unmasked = EncodeWebSocketFrame(WebSocketOpcode::kText, "{}");
    std::string unmasked_ping = EncodeWebSocketFrame(WebSocketOpcode::kPing, "x");
    std::string big_ping = Header(0x89, 126) + std::string(126, 'p');
    std::string big_close = Header(0x88, 200) + std::string(200, 'c');
    std::string close_1_byte = Header(0x88, 1) + "x";
    auto close_with = [&](std::uint16_t code, std::string_view reason) {
      std::string payload;
      payload.push_back(static_cast<char>(code >> 8));
      payload.push_back(static_cast<char>(code & 0xFF));
      payload.append(reason);
      return frame(WebSocketOpcode::kClose, payload);
    };
    const std::vector<HostileWsCase> cases = {
        {"unmasked text frame", unmasked, kCloseProtocolError},
        {"unmasked ping", unmasked_ping, kCloseProtocolError},
        {"RSV1 set", rsv1, kCloseProtocolError},
        {"RSV2 set", rsv2, kCloseProtocolError},
        {"RSV3 on a ping", rsv3, kCloseProtocolError},
        {"reserved data opcode 3", opcode3, kCloseProtocolError},
        {"reserved control opcode 0xB", opcode_b, kCloseProtocolError},
        {"fragmented ping", frame(WebSocketOpcode::kPing, "x", false), kCloseProtocolError},
        {"fragmented close", frame(WebSocketOpcode::kClose, "", false), kCloseProtocolError},
        {"ping of 126 bytes", big_ping, kCloseProtocolError},
        {"close of 200 bytes", big_close, kCloseProtocolError},
        {"close with a 1-byte body", close_1_byte, kCloseProtocolError},
        {"close code 1005", close_with(1005, ""), kCloseProtocolError},
        {"close code 999", close_with(999, ""), kCloseProtocolError},
        {"close code 5000", close_with(5000, ""), kCloseProtocolError},
        {"close reason not UTF-8", close_with(1000, "\xC3\x28"), kCloseInvalidPayload},
        {"continuation without a message", frame(WebSocketOpcode::kContinuation, "x"),
         kCloseProtocolError},
        {"new text inside a fragmented message",
         frame(WebSocketOpcode::kText, "a", false) + frame(WebSocketOpcode::kText, "b"),
         kCloseProtocolError},
        {"text that is not UTF-8", frame(WebSocketOpcode::kText, "\xFF\xFE"), kCloseInvalidPayload},
        {"overlong UTF-8", frame(WebSocketOpcode::kText, "\xC0\xAF"), kCloseInvalidPayload},
        {"UTF-16 surrogate in UTF-8", frame(WebSocketOpcode::kText, "\xED\xA0\x80"),
         kCloseInvalidPayload},
        {"UTF-8 cut between fragments and never finished",
         frame(WebSocketOpcode::kText, "\xE2\x82", false) +
             frame(WebSocketOpcode::kContinuation, "x"),
         kCloseInvalidPayload},
        {"non-minimal 16-bit length", std::string("\x81\xFE\x00\x05", 4) +
                                          std::string("\x11\x22\x33\x44", 4) + "hello",
         kCloseProtocolError},
        {"64-bit length with the top bit", Header(0x82, std::uint64_t{1} << 63),
         kCloseProtocolError},
        {"2 MiB text header", Header(0x81, 2 * kLimit), kCloseMessageTooBig},
        {"2^32 binary header", Header(0x82, std::uint64_t{1} << 32), kCloseMessageTooBig},
        {"2^63-1 header", Header(0x81, (std::uint64_t{1} << 63) - 1), kCloseMessageTooBig},
        {"fragments summing past the limit",
         frame(WebSocketOpcode::kText, std::string(kLimit / 2 + 1, 'a'), false) +
             Header(0x80, kLimit / 2 + 1),
         kCloseMessageTooBig},
    };
    CHECK(RunHostileWsTable(hs, cases) == static_cast<int>(cases.size()));
  }
}

}  // namespace agentcore::server::testing
