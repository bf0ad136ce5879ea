// SPDX-License-Identifier: Apache-2.0
// The umbrella header compiles on its own and exposes the whole API.
#include <agentcore/agentcore.hpp>

#include <doctest/doctest.h>

#include <cstring>

TEST_SUITE("Umbrella") {
  TEST_CASE("includes every public header and the version") {
    CHECK(std::strlen(AGENTCORE_VERSION_STRING) > 0);
    CHECK(agentcore::FrameKindName(agentcore::FrameKind::kSet) == "set");
    CHECK(agentcore::ParseMentions("@fox").mentions.size() == 1);
    CHECK(agentcore::IsFinalRunState(agentcore::RunState::kSucceeded));
  }
}
