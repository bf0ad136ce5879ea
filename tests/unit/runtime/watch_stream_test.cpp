// SPDX-License-Identifier: Apache-2.0
#include "runtime/kubernetes/watch_stream.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

using agentcore::ErrorCode;
using agentcore::internal::WatchEvent;
using agentcore::internal::WatchStreamDecoder;

TEST_SUITE("runtime/watch_stream") {
  TEST_CASE("splits events across any chunking") {
    const std::string stream =
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
        "\r\n"
        "{\"type\":\"MODIFIED\",\"object\":{\"status\":{\"phase\":\"Running\"}}}\r\n"
        "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n";
    for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
      WatchStreamDecoder d;
      std::vector<WatchEvent> events;
      for (std::size_t off = 0; off < stream.size(); off += chunk) {
        REQUIRE(d.Feed(std::string_view(stream).substr(off, chunk), &events).ok());
      }
      CHECK(d.Finish().ok());
      REQUIRE(events.size() == 3);
      CHECK(events[0].type == "ADDED");
      CHECK(events[1].type == "MODIFIED");
      CHECK(events[2].type == "BOOKMARK");
      CHECK(*events[0].object.Find("metadata")->FindString("name") == "a");
    }
  }

  TEST_CASE("an event without its newline is pending until the next bytes") {
    WatchStreamDecoder d;
    std::vector<WatchEvent> events;
    REQUIRE(d.Feed("{\"type\":\"DELETED\",\"object\":{}}", &events).ok());
    CHECK(events.empty());
    CHECK(d.Finish().code() == ErrorCode::kInvalidArgument);
    REQUIRE(d.Feed("\n", &events).ok());
    CHECK(events.size() == 1);
    CHECK(d.Finish().ok());
  }

  TEST_CASE("rejects lines that are not watch events and stays failed") {
    const char* bad[] = {
        "not json\n",
        "[1,2]\n",
        "{\"object\":{}}\n",
        "{\"type\":\"\",\"object\":{}}\n",
        "{\"type\":3,\"object\":{}}\n",
        "{\"type\":\"ADDED\"}\n",
        "{\"type\":\"ADDED\",\"object\":\"pod\"}\n",
        "{\"type\":\"ADDED\",\"object\":{}} trailing\n",
    };
    for (const char* line : bad) {
      WatchStreamDecoder d;
      std::vector<WatchEvent> events;
      agentcore::Status st = d.Feed(line, &events);
      CHECK_MESSAGE(st.code() == ErrorCode::kInvalidArgument, line);
      CHECK(st.message().starts_with("kubernetes watch: "));
      CHECK(events.empty());
      CHECK(d.Feed("{\"type\":\"ADDED\",\"object\":{}}\n", &events).code() ==
            ErrorCode::kInvalidArgument);
      CHECK(events.empty());
    }
  }

  TEST_CASE("a line longer than the limit is refused without buffering it all") {
    WatchStreamDecoder d;
    std::vector<WatchEvent> events;
    const std::string piece(1024 * 1024, 'x');
    agentcore::Status st;
    for (int i = 0; i < 6 && st.ok(); ++i) st = d.Feed(piece, &events);
    CHECK(st.code() == ErrorCode::kInvalidArgument);
    CHECK(st.message().find("longer than") != std::string::npos);
  }
}
