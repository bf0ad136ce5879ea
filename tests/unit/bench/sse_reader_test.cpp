// SPDX-License-Identifier: Apache-2.0
// benchmarks/sse_reader.hpp: what agentcore-runs-bench reads run event streams with.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "../../../benchmarks/sse_reader.hpp"

namespace {

using agentcore::bench::ChunkedDecoder;
using agentcore::bench::SseEvent;
using agentcore::bench::SseParser;

std::vector<SseEvent> ParseInPieces(std::string_view text, std::size_t piece) {
  SseParser p;
  std::vector<SseEvent> out;
  for (std::size_t i = 0; i < text.size(); i += piece) {
    p.Feed(text.substr(i, piece), [&](const SseEvent& e) { out.push_back(e); });
  }
  return out;
}

struct Decoded {
  std::string body;
  bool failed = false;
  bool done = false;
};

Decoded Dechunk(std::string_view wire, std::size_t piece) {
  ChunkedDecoder d;
  Decoded r;
  for (std::size_t i = 0; i < wire.size(); i += piece) {
    d.Feed(wire.substr(i, piece), [&](std::string_view data) { r.body.append(data); });
  }
  r.failed = d.failed();
  r.done = d.done();
  return r;
}

}  // namespace

TEST_SUITE("bench/sse_reader") {
  TEST_CASE("run events split anywhere parse to the same id, type and data, pings skipped") {
    const std::string text =
        "id: 1\nevent: status\ndata: {\"status\":\"queued\"}\n\n"
        ": ping\n\n"
        "id: 2\r\nevent: token\r\ndata: a\r\ndata: b\r\n\r\n"
        "id: 15\nevent: done\ndata: {}\n\n";
    for (std::size_t piece : {1u, 2u, 7u, 1000u}) {
      CAPTURE(piece);
      std::vector<SseEvent> events = ParseInPieces(text, piece);
      REQUIRE(events.size() == 3);
      CHECK(events[0].seq == 1);
      CHECK(events[0].type == "status");
      CHECK(events[0].data == "{\"status\":\"queued\"}");
      CHECK(events[1].seq == 2);
      CHECK(events[1].data == "a\nb");
      CHECK(events[2].seq == 15);
      CHECK(events[2].type == "done");
    }
  }

  TEST_CASE("an event without its blank line is not dispatched, and a bad id is -1") {
    CHECK(ParseInPieces("id: 1\nevent: status\ndata: x\n", 3).empty());
    std::vector<SseEvent> e = ParseInPieces("id: 1x\nevent: token\n\nid: \nevent: t\n\n", 4);
    REQUIRE(e.size() == 2);
    CHECK(e[0].seq == -1);
    CHECK(e[1].seq == -1);
  }

  TEST_CASE("a non-numeric id (a channel stream's message id) is kept as sent") {
    std::vector<SseEvent> e =
        ParseInPieces("id: 01JABCDEFGHJKMNPQRSTVWXYZ0\ndata: {\"i\":1}\n\ndata: {}\n\n", 5);
    REQUIRE(e.size() == 2);
    CHECK(e[0].id == "01JABCDEFGHJKMNPQRSTVWXYZ0");
    CHECK(e[0].seq == -1);
    CHECK(e[0].data == "{\"i\":1}");
    CHECK(e[1].id.empty());  // each event carries its own id only
  }

  TEST_CASE("an event longer than the limit fails the parser and frees what it held") {
    // A line that never ends, fed in small pieces: the parser stops at the limit.
    SseParser endless(1024);
    std::size_t events = 0;
    const std::string piece(100, 'x');
    endless.Feed("data: ", [&](const SseEvent&) { ++events; });
    for (int i = 0; i < 100 && !endless.failed(); ++i) {
      endless.Feed(piece, [&](const SseEvent&) { ++events; });
    }
    CHECK(endless.failed());
    endless.Feed("\n\n", [&](const SseEvent&) { ++events; });  // ignored once failed
    CHECK(events == 0);
    // Many data lines of one event add up the same way.
    SseParser many(1024);
    for (int i = 0; i < 20; ++i) {
      many.Feed("data: " + piece + "\n", [&](const SseEvent&) { ++events; });
    }
    CHECK(many.failed());
    CHECK(events == 0);
    // At the limit's side: events under it go through, one after another.
    SseParser fine(1024);
    for (int i = 0; i < 50; ++i) {
      fine.Feed("event: e\ndata: " + piece + "\n\n", [&](const SseEvent& e) {
        CHECK(e.data == piece);
        ++events;
      });
    }
    CHECK_FALSE(fine.failed());
    CHECK(events == 50);
  }

  TEST_CASE("a chunked body split anywhere decodes to its data and ends at the zero chunk") {
    const std::string wire = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n";
    for (std::size_t piece : {1u, 3u, 1000u}) {
      CAPTURE(piece);
      Decoded d = Dechunk(wire, piece);
      CHECK_FALSE(d.failed);
      CHECK(d.done);
      CHECK(d.body == "hello 0123456789");
    }
  }

  TEST_CASE("malformed chunked bodies fail and deliver nothing after the fault") {
    Decoded bad_size = Dechunk("zz\r\nhello\r\n", 2);
    CHECK(bad_size.failed);
    CHECK(bad_size.body.empty());
    Decoded no_crlf = Dechunk("5\r\nhelloXX3\r\nabc\r\n", 1);
    CHECK(no_crlf.failed);
    CHECK(no_crlf.body.empty());
    Decoded too_big = Dechunk("2000000\r\n", 1);
    CHECK(too_big.failed);
    Decoded long_line = Dechunk(std::string(100, '1'), 10);
    CHECK(long_line.failed);
    Decoded empty_size = Dechunk("\r\nabc", 1);
    CHECK(empty_size.failed);
    // Data after the last chunk is ignored, not an error.
    Decoded after = Dechunk("3\r\nabc\r\n0\r\n\r\n3\r\nxyz\r\n", 4);
    CHECK(after.done);
    CHECK_FALSE(after.failed);
    CHECK(after.body == "abc");
  }
}
