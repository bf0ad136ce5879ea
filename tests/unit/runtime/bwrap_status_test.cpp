// SPDX-License-Identifier: Apache-2.0
#include "runtime/sandbox/bwrap_status.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using agentcore::ErrorCode;
using agentcore::internal::BwrapStatusLines;
using agentcore::internal::ParseBwrapStatusLine;

TEST_SUITE("runtime/bwrap_status") {
  TEST_CASE("reads the child-pid line and the exit-code line bwrap writes") {
    auto start = ParseBwrapStatusLine(
        R"({ "child-pid": 5149, "cgroup-namespace": 4026532179, "ipc-namespace": 4026532177 })");
    REQUIRE(start.ok());
    CHECK(start->child_pid == 5149);
    CHECK_FALSE(start->exit_code.has_value());
    auto end = ParseBwrapStatusLine(R"({ "exit-code": 137 })");
    REQUIRE(end.ok());
    CHECK(end->exit_code == 137);
    CHECK_FALSE(end->child_pid.has_value());
    auto other = ParseBwrapStatusLine(R"({"something-new": true})");
    REQUIRE(other.ok());
    CHECK_FALSE(other->child_pid.has_value());
    CHECK_FALSE(other->exit_code.has_value());
  }

  TEST_CASE("rejects what bwrap cannot have written") {
    for (const char* bad :
         {"", "not json", "[1]", "5", "\"child-pid\"", R"({"child-pid": "12"})",
          R"({"child-pid": 1})", R"({"child-pid": 0})", R"({"child-pid": -5})",
          R"({"child-pid": 12.5})", R"({"child-pid": 1e300})", R"({"child-pid": 2147483648})",
          R"({"exit-code": -1})", R"({"exit-code": 256})", R"({"exit-code": null})",
          R"({"exit-code": 3.5})", R"({"exit-code": 3} trailing)", "{\"exit-code\": 3"}) {
      auto parsed = ParseBwrapStatusLine(bad);
      CHECK_MESSAGE(!parsed.ok(), bad);
      if (!parsed.ok()) CHECK(parsed.status().code() == ErrorCode::kInvalidArgument);
    }
  }

  TEST_CASE("splits lines across reads and skips blank ones") {
    std::vector<std::string> lines;
    BwrapStatusLines splitter([&](std::string_view l) { lines.emplace_back(l); });
    REQUIRE(splitter.Feed("{\"a\"").ok());
    REQUIRE(splitter.Feed(":1}\n\n{\"b\":2}").ok());
    CHECK(lines == std::vector<std::string>{"{\"a\":1}"});
    REQUIRE(splitter.Feed("\n").ok());
    CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
  }

  TEST_CASE("a line over the limit is kTooLarge, and stays so") {
    std::vector<std::string> lines;
    BwrapStatusLines splitter([&](std::string_view l) { lines.emplace_back(l); }, 8);
    REQUIRE(splitter.Feed("12345678\n").ok());
    CHECK(splitter.Feed("12345").ok());
    agentcore::Status too_long = splitter.Feed("6789");
    CHECK(too_long.code() == ErrorCode::kTooLarge);
    CHECK(splitter.Feed("\n{}\n").code() == ErrorCode::kTooLarge);
    CHECK(lines == std::vector<std::string>{"12345678"});
  }
}

}  // namespace
