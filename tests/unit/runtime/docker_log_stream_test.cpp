// SPDX-License-Identifier: Apache-2.0
#include "runtime/docker/docker_log_stream.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

using agentcore::ErrorCode;
using agentcore::internal::DecodeDockerLogs;
using agentcore::internal::DockerEventLines;
using agentcore::internal::DockerLogStream;

namespace {

std::string Frame(int stream, std::string_view payload) {
  std::string out;
  out += static_cast<char>(stream);
  out.append(3, '\0');
  const auto n = static_cast<std::uint32_t>(payload.size());
  out += static_cast<char>((n >> 24) & 0xff);
  out += static_cast<char>((n >> 16) & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  out += static_cast<char>(n & 0xff);
  out += payload;
  return out;
}

struct Collected {
  std::string out, err;
  std::vector<int> streams;
};

DockerLogStream::Sink Into(Collected* c) {
  return [c](int stream, std::string_view data) {
    CHECK_FALSE(data.empty());
    c->streams.push_back(stream);
    (stream == 2 ? c->err : c->out).append(data);
  };
}

}  // namespace

TEST_SUITE("runtime/docker_log_stream") {
  TEST_CASE("frames are decoded whatever the chunk boundaries") {
    const std::string body = Frame(1, "hello ") + Frame(2, "oops\n") + Frame(1, "") +
                             Frame(1, std::string(300, 'x')) + Frame(0, "in");
    for (std::size_t chunk = 1; chunk <= body.size(); ++chunk) {
      Collected c;
      DockerLogStream stream(false, Into(&c));
      for (std::size_t i = 0; i < body.size(); i += chunk) {
        REQUIRE(stream.Feed(std::string_view(body).substr(i, chunk)).ok());
      }
      CHECK(stream.Finish().ok());
      CHECK(c.out == "hello " + std::string(300, 'x') + "in");
      CHECK(c.err == "oops\n");
    }
  }

  TEST_CASE("stdout and stderr stay interleaved as written") {
    std::string out;
    REQUIRE(DecodeDockerLogs(Frame(1, "a") + Frame(2, "b") + Frame(1, "c"), false, &out).ok());
    CHECK(out == "abc");
  }

  TEST_CASE("a stream type above 2 is rejected and the error sticks") {
    Collected c;
    DockerLogStream stream(false, Into(&c));
    CHECK(stream.Feed(Frame(1, "ok")).ok());
    auto s = stream.Feed(Frame(3, "bad"));
    CHECK(s.code() == ErrorCode::kInvalidArgument);
    CHECK(s.message().find("bad frame header") != std::string::npos);
    CHECK(stream.Feed(Frame(1, "more")).code() == ErrorCode::kInvalidArgument);
    CHECK(stream.Finish().code() == ErrorCode::kInvalidArgument);
    CHECK(c.out == "ok");
  }

  TEST_CASE("non-zero padding bytes in a header are rejected") {
    for (int i = 1; i <= 3; ++i) {
      std::string f = Frame(1, "x");
      f[static_cast<std::size_t>(i)] = 1;
      Collected c;
      DockerLogStream stream(false, Into(&c));
      CHECK(stream.Feed(f).code() == ErrorCode::kInvalidArgument);
      CHECK(c.out.empty());
    }
  }

  TEST_CASE("a frame longer than the limit is rejected before any of it is delivered") {
    Collected c;
    DockerLogStream stream(false, Into(&c), 16);
    CHECK(stream.Feed(Frame(1, std::string(16, 'a'))).ok());
    auto s = stream.Feed(Frame(1, std::string(17, 'b')));
    CHECK(s.code() == ErrorCode::kInvalidArgument);
    CHECK(s.message().find("exceeds the limit") != std::string::npos);
    CHECK(c.out == std::string(16, 'a'));
    // The default limit refuses a 4 GiB header.
    DockerLogStream big(false, Into(&c));
    CHECK(big.Feed(std::string("\x01\0\0\0\xff\xff\xff\xff", 8)).code() ==
          ErrorCode::kInvalidArgument);
  }

  TEST_CASE("a body that ends inside a header or a payload is reported by Finish") {
    Collected c;
    DockerLogStream in_header(false, Into(&c));
    REQUIRE(in_header.Feed(Frame(1, "abc").substr(0, 5)).ok());
    CHECK_FALSE(in_header.AtFrameBoundary());
    CHECK(in_header.Finish().code() == ErrorCode::kInvalidArgument);
    DockerLogStream in_payload(false, Into(&c));
    REQUIRE(in_payload.Feed(Frame(1, "abc").substr(0, 9)).ok());
    CHECK(in_payload.Finish().code() == ErrorCode::kInvalidArgument);
    std::string out;
    CHECK(DecodeDockerLogs(Frame(1, "abc").substr(0, 10), false, &out).code() ==
          ErrorCode::kInvalidArgument);
  }

  TEST_CASE("raw mode passes the bytes through as stdout") {
    Collected c;
    DockerLogStream stream(true, Into(&c));
    const std::string bytes = Frame(3, "not a frame");  // would be a bad header if framed
    CHECK(stream.Feed(bytes).ok());
    CHECK(stream.Feed("").ok());
    CHECK(stream.Finish().ok());
    CHECK(c.out == bytes);
    CHECK(c.streams == std::vector<int>{1});
  }
}

TEST_SUITE("runtime/docker_event_lines") {
  TEST_CASE("lines are split across chunks, CRLF and blank lines handled") {
    const std::string body = "{\"a\":1}\n\r\n  \n{\"b\":2}\r\n{\"c\":";
    for (std::size_t chunk = 1; chunk <= body.size(); ++chunk) {
      std::vector<std::string> lines;
      DockerEventLines splitter([&](std::string_view l) { lines.emplace_back(l); });
      for (std::size_t i = 0; i < body.size(); i += chunk) {
        REQUIRE(splitter.Feed(std::string_view(body).substr(i, chunk)).ok());
      }
      CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});  // the last is partial
    }
  }

  TEST_CASE("a line over the limit is refused and the error sticks") {
    std::vector<std::string> lines;
    DockerEventLines splitter([&](std::string_view l) { lines.emplace_back(l); }, 8);
    CHECK(splitter.Feed("12345678\n").ok());
    CHECK(splitter.Feed("12345").ok());
    CHECK(splitter.Feed("6789").code() == ErrorCode::kTooLarge);
    CHECK(splitter.Feed("\nok\n").code() == ErrorCode::kTooLarge);
    CHECK(lines == std::vector<std::string>{"12345678"});
  }
}
