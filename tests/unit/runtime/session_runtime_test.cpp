// SPDX-License-Identifier: Apache-2.0
#include <agentcore/runtime/session_runtime.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

using agentcore::ErrorCode;
using agentcore::ParseSessionNetwork;
using agentcore::SessionNetwork;
using agentcore::SessionNetworkName;

TEST_SUITE("runtime/session_runtime") {
  TEST_CASE("network names round-trip") {
    for (SessionNetwork n :
         {SessionNetwork::kNone, SessionNetwork::kOutgoing, SessionNetwork::kExposed}) {
      auto parsed = ParseSessionNetwork(SessionNetworkName(n));
      REQUIRE(parsed.ok());
      CHECK(*parsed == n);
    }
    CHECK(SessionNetworkName(SessionNetwork::kNone) == "none");
    CHECK(SessionNetworkName(SessionNetwork::kOutgoing) == "outgoing");
    CHECK(SessionNetworkName(SessionNetwork::kExposed) == "exposed");
    CHECK(SessionNetworkName(static_cast<SessionNetwork>(9)) == "unknown");
  }

  TEST_CASE("an unknown network name is kInvalidArgument naming the choices") {
    for (const char* bad : {"", "None", "bridge", " none", "none ", "exposed\n", "unknown"}) {
      auto parsed = ParseSessionNetwork(bad);
      REQUIRE_FALSE(parsed.ok());
      CHECK(parsed.status().code() == ErrorCode::kInvalidArgument);
    }
    CHECK(ParseSessionNetwork("bridge").status().message() ==
          "unknown network \"bridge\" (none, outgoing or exposed)");
  }

  TEST_CASE("a huge network name is cut in the message") {
    const std::string huge(10'000, 'x');
    auto parsed = ParseSessionNetwork(huge);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().message().size() < 200);
  }
}

}  // namespace
