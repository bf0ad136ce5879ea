// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/hub.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include <doctest/doctest.h>

#include <agentcore/hub/event_frames.hpp>

#include "store/temp_dir.hpp"
#include "support/manual_clock.hpp"
#include "support/recording_publisher.hpp"
#include "support/test_hub.hpp"

namespace agentcore {
namespace {

using testing::ManualClock;
using testing::RecordingPublisher;
using testing::TempDir;
using testing::TestHubOptions;

TEST_SUITE("Hub") {
  TEST_CASE("opens on an in-memory store with the default local runtime") {
    ManualClock clock;
    RecordingPublisher publisher;
    TempDir dir;
    HubOptions o = TestHubOptions(&clock, &publisher, dir);
    Result<std::unique_ptr<Hub>> hub = OpenHub(std::move(o));
    REQUIRE(hub.ok());
    Hub& h = **hub;
    CHECK(h.runtimes().Find("local") != nullptr);
    // No command configured: no runtime starts any type; agents check in from elsewhere.
    CHECK(h.runtimes().ForType("engineer") == nullptr);
    CHECK(h.NewId() < h.NewId());
    CHECK(h.container_secret() == kDevContainerSecret);
  }

  TEST_CASE("fails to open with the runtime's error, naming the runtime") {
    HubOptions o;
    o.store_url = "sqlite::memory:";
    RuntimeSpec broken;
    broken.name = "broken";
    broken.agent_types = {"*"};
    broken.open = [](const RuntimeOptions&) -> Result<std::unique_ptr<Runtime>> {
      return Status(ErrorCode::kUnavailable, "engine is gone");
    };
    o.runtimes.push_back(std::move(broken));
    Result<std::unique_ptr<Hub>> hub = OpenHub(std::move(o));
    REQUIRE_FALSE(hub.ok());
    CHECK(hub.status().code() == ErrorCode::kUnavailable);
    CHECK(hub.status().message() == "runtime \"broken\": engine is gone");
  }

  TEST_CASE("refuses two runtimes that claim one agent type") {
    HubOptions o;
    o.store_url = "sqlite::memory:";
    for (const char* name : {"a", "b"}) {
      RuntimeSpec spec;
      spec.name = name;
      spec.agent_types = {"engineer"};
      spec.open = [](const RuntimeOptions&) -> Result<std::unique_ptr<Runtime>> {
        return Status(ErrorCode::kInternal, "never opened");
      };
      o.runtimes.push_back(std::move(spec));
    }
    Result<std::unique_ptr<Hub>> hub = OpenHub(std::move(o));
    REQUIRE_FALSE(hub.ok());
    CHECK(hub.status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("fails to open on a bad store url") {
    HubOptions o;
    o.store_url = "mysql://nowhere";
    Result<std::unique_ptr<Hub>> hub = OpenHub(std::move(o));
    CHECK_FALSE(hub.ok());
  }

  TEST_CASE("publishes through the publisher, and posts work to its executor") {
    ManualClock clock;
    RecordingPublisher publisher;
    TempDir dir;
    HubOptions o = TestHubOptions(&clock, &publisher, dir);
    Result<std::unique_ptr<Hub>> hub = OpenHub(std::move(o));
    REQUIRE(hub.ok());
    (*hub)->Publish("ch1", AgentStateFrameLine("id1", "t", "ch1", "echo", "online"));
    std::atomic<bool> ran{false};
    (*hub)->Post([&ran] { ran = true; });
    for (int i = 0; i < 200 && !ran; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(ran);
    auto lines = publisher.Lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].channel_id == "ch1");
    CHECK(lines[0].line ==
          R"({"i":"id1","t":"t","v":{"type":"agent_state","sender":"echo","state":"online"},"c":"ch1"})");
    CHECK(lines[0].event_id.empty());
  }
}

}  // namespace
}  // namespace agentcore
