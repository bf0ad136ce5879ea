// SPDX-License-Identifier: Apache-2.0
#include <agentcore/runtime/agent.hpp>

#include <string>
#include <string_view>

#include <doctest/doctest.h>

using agentcore::ErrorCode;
using agentcore::kMaxRuntimeAgentIdBytes;
using agentcore::SplitRuntimeAgentId;
using agentcore::ValidateRuntimeAgentId;

TEST_SUITE("runtime/agent_id") {
  TEST_CASE("SplitRuntimeAgentId returns the three parts as views into the id") {
    const std::string id = "acme:01HCHANNEL:echo-1";
    auto parts = SplitRuntimeAgentId(id);
    REQUIRE(parts.has_value());
    CHECK(parts->space == "acme");
    CHECK(parts->channel == "01HCHANNEL");
    CHECK(parts->callsign == "echo-1");
    CHECK(parts->space.data() == id.data());
    CHECK(parts->channel.data() == id.data() + 5);
    CHECK(parts->callsign.data() == id.data() + 16);

    auto one = SplitRuntimeAgentId("a:b:c");
    REQUIRE(one.has_value());
    CHECK(one->space == "a");
    CHECK(one->channel == "b");
    CHECK(one->callsign == "c");
  }

  TEST_CASE("SplitRuntimeAgentId keeps characters other than ':' inside the parts") {
    auto parts = SplitRuntimeAgentId("sp ace:ch/an%nel:call.sign~");
    REQUIRE(parts.has_value());
    CHECK(parts->space == "sp ace");
    CHECK(parts->channel == "ch/an%nel");
    CHECK(parts->callsign == "call.sign~");
  }

  TEST_CASE("SplitRuntimeAgentId refuses every id ValidateRuntimeAgentId refuses, with its error") {
    const std::string too_long = std::string(kMaxRuntimeAgentIdBytes - 4, 's') + ":c:xyz";
    for (std::string_view bad :
         {std::string_view(""), std::string_view("abc"), std::string_view("a:b"),
          std::string_view(":b:c"), std::string_view("a::c"), std::string_view("a:b:"),
          std::string_view("a:b:c:d"), std::string_view("a:b:c:"), std::string_view("::"),
          std::string_view("a\0:b:c", 6), std::string_view(too_long)}) {
      CAPTURE(bad);
      auto parts = SplitRuntimeAgentId(bad);
      REQUIRE_FALSE(parts.has_value());
      CHECK(parts.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parts.error().message() == ValidateRuntimeAgentId(bad).message());
    }
    CHECK(SplitRuntimeAgentId("a:b:c:d").error().message() ==
          "invalid agent id \"a:b:c:d\": expected {spaceId}:{channelId}:{callsign}");
  }

  TEST_CASE("SplitRuntimeAgentId accepts an id of exactly the longest allowed size") {
    const std::string longest =
        std::string(256, 's') + ":" + std::string(256, 'c') + ":" + std::string(256, 'x');
    REQUIRE(longest.size() == kMaxRuntimeAgentIdBytes);
    auto parts = SplitRuntimeAgentId(longest);
    REQUIRE(parts.has_value());
    CHECK(parts->space.size() == 256);
    CHECK(parts->channel.size() == 256);
    CHECK(parts->callsign == std::string(256, 'x'));
    CHECK_FALSE(SplitRuntimeAgentId(longest + "x").has_value());
  }
}
