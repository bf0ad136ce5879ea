// SPDX-License-Identifier: Apache-2.0
#include "ws/websocket_codec.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace agentcore::server {
namespace {

constexpr std::uint32_t kMask = 0x37FA213D;

std::string Client(WebSocketOpcode op, std::string_view payload, bool fin = true) {
  return EncodeWebSocketFrame(op, payload, fin, kMask);
}

std::string Bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s.push_back(static_cast<char>(v));
  return s;
}

struct Decoded {
  std::vector<WebSocketEvent> events;
  std::optional<WebSocketError> error;
};

/// Feeds `wire` in pieces of `piece` bytes (0: all at once).
Decoded Decode(std::string_view wire, std::size_t piece = 0, std::size_t max = 1 << 20) {
  WebSocketDecoder decoder(max);
  Decoded out;
  if (piece == 0) piece = wire.size() == 0 ? 1 : wire.size();
  for (std::size_t at = 0; at < wire.size() && !out.error; at += piece) {
    out.error = decoder.Feed(wire.substr(at, piece), &out.events);
  }
  return out;
}

/// The close code the decoder ends with (0: none), checked to be the same whether the input
/// arrives whole or byte by byte.
std::uint16_t ErrorCode(std::string_view wire, std::size_t max = 1 << 20) {
  Decoded whole = Decode(wire, 0, max);
  Decoded bytewise = Decode(wire, 1, max);
  std::uint16_t a = whole.error ? whole.error->code : 0;
  std::uint16_t b = bytewise.error ? bytewise.error->code : 0;
  CHECK(a == b);
  return a;
}

std::string Dump(const std::vector<WebSocketEvent>& events) {
  std::string s;
  for (const auto& e : events) {
    s += std::to_string(static_cast<int>(e.kind)) + ":" + std::to_string(e.close_code) + ":" +
         e.payload + "|";
  }
  return s;
}

}  // namespace

TEST_SUITE("WebSocketCodec") {
  TEST_CASE("encodes a short server text frame unmasked with FIN") {
    CHECK(EncodeWebSocketText("hello") == Bytes({0x81, 0x05}) + "hello");
    CHECK(EncodeWebSocketText("") == Bytes({0x81, 0x00}));
  }

  TEST_CASE("uses the shortest length form at every boundary") {
    struct Row {
      std::size_t size;
      std::string header;
    };
    const Row rows[] = {
        {125, Bytes({0x81, 125})},
        {126, Bytes({0x81, 126, 0x00, 126})},
        {65535, Bytes({0x81, 126, 0xFF, 0xFF})},
        {65536, Bytes({0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0})},
    };
    for (const Row& row : rows) {
      CAPTURE(row.size);
      std::string payload(row.size, 'x');
      std::string frame = EncodeWebSocketText(payload);
      CHECK(frame.size() == row.header.size() + row.size);
      CHECK(frame.substr(0, row.header.size()) == row.header);
      CHECK(frame.substr(row.header.size()) == payload);
    }
  }

  TEST_CASE("encodes close frames with a code and a reason cut at a character boundary") {
    CHECK(EncodeWebSocketClose(kCloseNormal) == Bytes({0x88, 0x02, 0x03, 0xE8}));
    CHECK(EncodeWebSocketClose(kCloseGoingAway, "bye") ==
          Bytes({0x88, 0x05, 0x03, 0xE9}) + "bye");
    CHECK(EncodeWebSocketClose(kCloseNoStatus) == Bytes({0x88, 0x00}));
    // 122 ASCII bytes then a 2-byte character: it does not fit in 123 bytes and is dropped.
    std::string reason(122, 'a');
    reason += "\xC3\xA9";
    std::string frame = EncodeWebSocketClose(kClosePolicyViolation, reason);
    CHECK(static_cast<unsigned char>(frame[1]) == 2 + 122);
    CHECK(IsValidUtf8(frame.substr(4)));
  }

  TEST_CASE("encodes a pong echoing the ping") {
    CHECK(EncodeWebSocketPong("abc") == Bytes({0x8A, 0x03}) + "abc");
  }

  TEST_CASE("masks client frames with the given key") {
    std::string frame = Client(WebSocketOpcode::kText, "Hi!!!");
    REQUIRE(frame.size() == 2 + 4 + 5);
    CHECK(static_cast<unsigned char>(frame[0]) == 0x81);
    CHECK(static_cast<unsigned char>(frame[1]) == (0x80 | 5));
    CHECK(frame.substr(2, 4) == Bytes({0x37, 0xFA, 0x21, 0x3D}));
    CHECK(static_cast<unsigned char>(frame[6]) == ('H' ^ 0x37));
    CHECK(static_cast<unsigned char>(frame[10]) == ('!' ^ 0x37));
  }

  TEST_CASE("encodes an unmasked frame right after a masked one on the same thread") {
    // wslay keeps a masked frame's flag in its context: the encoder must not inherit it.
    CHECK(Client(WebSocketOpcode::kText, "abc").size() == 2 + 4 + 3);
    CHECK(EncodeWebSocketText("abc") == Bytes({0x81, 0x03}) + "abc");
    CHECK(EncodeWebSocketPong("p") == Bytes({0x8A, 0x01}) + "p");
  }

  TEST_CASE("decodes a masked text message fed whole and byte by byte") {
    std::string wire = Client(WebSocketOpcode::kText, R"({"request":"sync"})");
    for (std::size_t piece : {0, 1, 2, 5}) {
      Decoded d = Decode(wire, piece);
      REQUIRE_FALSE(d.error);
      REQUIRE(d.events.size() == 1);
      CHECK(d.events[0].kind == WebSocketEvent::Kind::kText);
      CHECK(d.events[0].payload == R"({"request":"sync"})");
    }
  }

  TEST_CASE("decodes empty messages and empty control frames") {
    std::string wire = Client(WebSocketOpcode::kText, "") + Client(WebSocketOpcode::kPing, "") +
                       Client(WebSocketOpcode::kBinary, "");
    Decoded d = Decode(wire, 1);
    REQUIRE_FALSE(d.error);
    REQUIRE(d.events.size() == 3);
    CHECK(d.events[0].kind == WebSocketEvent::Kind::kText);
    CHECK(d.events[1].kind == WebSocketEvent::Kind::kPing);
    CHECK(d.events[2].kind == WebSocketEvent::Kind::kBinary);
  }

  TEST_CASE("reassembles fragments with control frames in between") {
    std::string wire = Client(WebSocketOpcode::kText, "Hel", false) +
                       Client(WebSocketOpcode::kPing, "p1") +
                       Client(WebSocketOpcode::kContinuation, "lo, ", false) +
                       Client(WebSocketOpcode::kPong, "p2") +
                       Client(WebSocketOpcode::kContinuation, "world", true);
    Decoded d = Decode(wire);
    REQUIRE_FALSE(d.error);
    REQUIRE(d.events.size() == 3);
    CHECK(d.events[0].kind == WebSocketEvent::Kind::kPing);
    CHECK(d.events[0].payload == "p1");
    CHECK(d.events[1].kind == WebSocketEvent::Kind::kPong);
    CHECK(d.events[2].kind == WebSocketEvent::Kind::kText);
    CHECK(d.events[2].payload == "Hello, world");
  }

  TEST_CASE("gives the same events for every split of the input into two pieces") {
    std::string big(70000, 'z');  // a 64-bit length, and more than wslay's 4 KiB buffer
    std::string wire = Client(WebSocketOpcode::kPing, "ping") +
                       Client(WebSocketOpcode::kText, "caf\xC3", false) +
                       Client(WebSocketOpcode::kContinuation, "\xA9 ", false) +
                       Client(WebSocketOpcode::kContinuation, std::string(300, 'y'), true) +
                       Client(WebSocketOpcode::kBinary, big) +
                       EncodeWebSocketFrame(WebSocketOpcode::kClose,
                                            Bytes({0x03, 0xE8}) + "done", true, kMask);
    Decoded whole = Decode(wire);
    REQUIRE_FALSE(whole.error);
    REQUIRE(whole.events.size() == 4);
    CHECK(whole.events[1].payload == "caf\xC3\xA9 " + std::string(300, 'y'));
    CHECK(whole.events[2].payload == big);
    CHECK(whole.events[3].kind == WebSocketEvent::Kind::kClose);
    CHECK(whole.events[3].close_code == 1000);
    CHECK(whole.events[3].payload == "done");
    std::string expected = Dump(whole.events);
    // Every split inside the small frames, and a sample of splits inside the large one.
    for (std::size_t at = 0; at <= wire.size(); at += (at < 400 || at > wire.size() - 64) ? 1 : 997) {
      WebSocketDecoder decoder(1 << 20);
      std::vector<WebSocketEvent> events;
      REQUIRE_FALSE(decoder.Feed(std::string_view(wire).substr(0, at), &events));
      REQUIRE_FALSE(decoder.Feed(std::string_view(wire).substr(at), &events));
      REQUIRE(Dump(events) == expected);
    }
    CHECK(Dump(Decode(wire, 1).events) == expected);
  }

  TEST_CASE("decodes random piece sizes the same way") {
    std::mt19937 rng(7);
    std::string wire;
    for (int i = 0; i < 50; ++i) {
      wire += Client(WebSocketOpcode::kText, std::string(static_cast<std::size_t>(rng() % 9000), 'a'));
    }
    Decoded whole = Decode(wire);
    REQUIRE(whole.events.size() == 50);
    WebSocketDecoder decoder(1 << 20);
    std::vector<WebSocketEvent> events;
    for (std::size_t at = 0; at < wire.size();) {
      std::size_t n = 1 + rng() % 5000;
      REQUIRE_FALSE(decoder.Feed(std::string_view(wire).substr(at, n), &events));
      at += n;
    }
    CHECK(Dump(events) == Dump(whole.events));
  }

  TEST_CASE("holds no buffer between whole frames") {
    WebSocketDecoder decoder(1 << 20);
    std::vector<WebSocketEvent> events;
    std::string wire = Client(WebSocketOpcode::kText, std::string(5000, 'q'));
    CHECK(decoder.idle());
    REQUIRE_FALSE(decoder.Feed(std::string_view(wire).substr(0, 100), &events));
    CHECK_FALSE(decoder.idle());
    CHECK(decoder.HeapBytesForTesting() > 0);
    REQUIRE_FALSE(decoder.Feed(std::string_view(wire).substr(100), &events));
    CHECK(events.size() == 1);
    CHECK(decoder.idle());
    CHECK(decoder.HeapBytesForTesting() == 0);
    // A fragment boundary keeps the partial message, nothing more.
    REQUIRE_FALSE(decoder.Feed(Client(WebSocketOpcode::kText, "part", false), &events));
    CHECK_FALSE(decoder.idle());
    REQUIRE_FALSE(decoder.Feed(Client(WebSocketOpcode::kContinuation, "ial"), &events));
    CHECK(decoder.idle());
    CHECK(events.back().payload == "partial");
  }

  TEST_CASE("accepts a message of exactly the limit") {
    Decoded d = Decode(Client(WebSocketOpcode::kText, std::string(10, 'a')), 1, 10);
    CHECK_FALSE(d.error);
    CHECK(d.events.size() == 1);
    Decoded f = Decode(Client(WebSocketOpcode::kText, "aaaaa", false) +
                           Client(WebSocketOpcode::kContinuation, "bbbbb"),
                       1, 10);
    CHECK_FALSE(f.error);
    CHECK(f.events.size() == 1);
  }

  TEST_CASE("ignores input after a close frame") {
    std::string wire = Client(WebSocketOpcode::kClose, "") + Client(WebSocketOpcode::kText, "x") +
                       "garbage";
    WebSocketDecoder decoder(100);
    std::vector<WebSocketEvent> events;
    CHECK_FALSE(decoder.Feed(wire, &events));
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == WebSocketEvent::Kind::kClose);
    CHECK(events[0].close_code == kCloseNoStatus);
    CHECK(decoder.finished());
    CHECK_FALSE(decoder.Feed(Client(WebSocketOpcode::kText, "y"), &events));
    CHECK(events.size() == 1);
  }

  TEST_CASE("accepts close codes a peer may send") {
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
      CAPTURE(code);
      Decoded d = Decode(Client(WebSocketOpcode::kClose, Bytes({code >> 8, code & 0xFF})));
      REQUIRE_FALSE(d.error);
      CHECK(d.events.at(0).close_code == code);
    }
  }

  TEST_CASE("refuses an unmasked client frame") {
    CHECK(ErrorCode(EncodeWebSocketText("hi")) == kCloseProtocolError);
    CHECK(ErrorCode(EncodeWebSocketFrame(WebSocketOpcode::kPing, "")) == kCloseProtocolError);
  }

  TEST_CASE("refuses reserved bits") {
    for (int bit : {0x40, 0x20, 0x10}) {
      std::string wire = Client(WebSocketOpcode::kText, "hi");
      wire[0] = static_cast<char>(static_cast<unsigned char>(wire[0]) | bit);
      CHECK(ErrorCode(wire) == kCloseProtocolError);
    }
  }

  TEST_CASE("refuses unknown opcodes") {
    for (int op : {0x3, 0x7, 0xB, 0xF}) {
      CAPTURE(op);
      std::string wire = EncodeWebSocketFrame(static_cast<WebSocketOpcode>(op), "x", true, kMask);
      CHECK(ErrorCode(wire) == kCloseProtocolError);
    }
  }

  TEST_CASE("refuses a continuation without a message") {
    CHECK(ErrorCode(Client(WebSocketOpcode::kContinuation, "x")) == kCloseProtocolError);
  }

  TEST_CASE("refuses a new message inside a fragmented one") {
    std::string wire = Client(WebSocketOpcode::kText, "a", false) + Client(WebSocketOpcode::kText, "b");
    CHECK(ErrorCode(wire) == kCloseProtocolError);
    std::string binary =
        Client(WebSocketOpcode::kBinary, "a", false) + Client(WebSocketOpcode::kText, "b");
    CHECK(ErrorCode(binary) == kCloseProtocolError);
  }

  TEST_CASE("refuses a fragmented control frame") {
    CHECK(ErrorCode(Client(WebSocketOpcode::kPing, "x", false)) == kCloseProtocolError);
    CHECK(ErrorCode(Client(WebSocketOpcode::kClose, "", false)) == kCloseProtocolError);
  }

  TEST_CASE("refuses a control frame over 125 bytes") {
    // Built by hand: the encoder will not make one. Ping, masked, 16-bit length 126.
    std::string wire = Bytes({0x89, 0x80 | 126, 0x00, 126, 0, 0, 0, 0}) + std::string(126, 'p');
    CHECK(ErrorCode(wire) == kCloseProtocolError);
    CHECK(EncodeWebSocketFrame(WebSocketOpcode::kPing, std::string(126, 'p')).empty());
  }

  TEST_CASE("refuses non-minimal payload lengths") {
    // 16-bit form for 5 bytes, 64-bit form for 200 bytes, and a length with the top bit set.
    CHECK(ErrorCode(Bytes({0x81, 0x80 | 126, 0x00, 0x05, 0, 0, 0, 0}) + "hello") ==
          kCloseProtocolError);
    CHECK(ErrorCode(Bytes({0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 0}) +
                    std::string(200, 'x')) == kCloseProtocolError);
    CHECK(ErrorCode(Bytes({0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})) ==
          kCloseProtocolError);
  }

  TEST_CASE("refuses a message over the limit") {
    CHECK(ErrorCode(Client(WebSocketOpcode::kText, std::string(11, 'a')), 10) ==
          kCloseMessageTooBig);
    CHECK(ErrorCode(Client(WebSocketOpcode::kBinary, std::string(11, 'a')), 10) ==
          kCloseMessageTooBig);
    std::string fragments = Client(WebSocketOpcode::kText, "aaaaaa", false) +
                            Client(WebSocketOpcode::kContinuation, "bbbbb");
    CHECK(ErrorCode(fragments, 10) == kCloseMessageTooBig);
  }

  TEST_CASE("refuses an oversized message from its header, before the payload arrives") {
    std::string wire = Client(WebSocketOpcode::kBinary, std::string(100000, 'a'));
    WebSocketDecoder decoder(1000);
    std::vector<WebSocketEvent> events;
    auto error = decoder.Feed(std::string_view(wire).substr(0, 20), &events);
    REQUIRE(error);
    CHECK(error->code == kCloseMessageTooBig);
    CHECK(decoder.finished());
  }

  TEST_CASE("refuses a text message that is not UTF-8") {
    const std::string bad[] = {
        "\xFF",          "\xC0\x80",         "\xE0\x80\x80",     "\xED\xA0\x80",
        "\xF4\x90\x80\x80", "\xC3",          "abc\xE2\x82",      "\xF8\x88\x80\x80\x80",
    };
    for (const std::string& text : bad) {
      CAPTURE(text.size());
      CHECK(ErrorCode(Client(WebSocketOpcode::kText, text)) == kCloseInvalidPayload);
    }
    // Split across fragments, and not completed by the last one.
    CHECK(ErrorCode(Client(WebSocketOpcode::kText, "\xE2\x82", false) +
                    Client(WebSocketOpcode::kContinuation, "")) == kCloseInvalidPayload);
  }

  TEST_CASE("accepts any bytes in a binary message") {
    Decoded d = Decode(Client(WebSocketOpcode::kBinary, std::string("\xFF\xFE\x00", 3)), 1);
    CHECK_FALSE(d.error);
    REQUIRE(d.events.size() == 1);
    CHECK(d.events[0].payload == std::string("\xFF\xFE\x00", 3));
  }

  TEST_CASE("refuses malformed close frames") {
    CHECK(ErrorCode(Client(WebSocketOpcode::kClose, Bytes({0x03}))) == kCloseProtocolError);
    for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000}) {
      CAPTURE(code);
      CHECK(ErrorCode(Client(WebSocketOpcode::kClose, Bytes({code >> 8, code & 0xFF}))) ==
            kCloseProtocolError);
    }
    CHECK(ErrorCode(Client(WebSocketOpcode::kClose, Bytes({0x03, 0xE8, 0xFF}))) ==
          kCloseInvalidPayload);
  }

  TEST_CASE("reports events decoded before an error") {
    std::string wire = Client(WebSocketOpcode::kText, "ok") + EncodeWebSocketText("unmasked");
    Decoded d = Decode(wire);
    REQUIRE(d.error);
    CHECK(d.error->code == kCloseProtocolError);
    REQUIRE(d.events.size() == 1);
    CHECK(d.events[0].payload == "ok");
  }
}

TEST_SUITE("IsValidUtf8") {
  TEST_CASE("accepts well-formed text") {
    CHECK(IsValidUtf8(""));
    CHECK(IsValidUtf8("plain ASCII that is longer than eight bytes"));
    CHECK(IsValidUtf8("\xC2\x80\xDF\xBF"));                  // U+0080, U+07FF
    CHECK(IsValidUtf8("\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"));  // U+0800, U+D7FF, U+E000
    CHECK(IsValidUtf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));  // U+10000, U+10FFFF
    CHECK(IsValidUtf8("emoji \xF0\x9F\x98\x80 end"));
  }

  TEST_CASE("refuses overlong forms, surrogates, out-of-range and cut sequences") {
    const char* bad[] = {
        "\x80",         "\xBF",         "\xC0\xAF",     "\xC1\xBF",         "\xE0\x9F\xBF",
        "\xED\xA0\x80", "\xED\xBF\xBF", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
        "\xFE",         "\xC2",         "\xE1\x80",     "\xF1\x80\x80",     "\xC2\x41",
        "12345678\xE1\x80\x41",
    };
    for (const char* text : bad) {
      CAPTURE(std::string_view(text));
      CHECK_FALSE(IsValidUtf8(text));
    }
  }
}

}  // namespace agentcore::server
