// SPDX-License-Identifier: Apache-2.0
// The hub's cluster parts that need no PostgreSQL (docs/cluster.md): the kLines payload codec,
// node ids, lease keys, and a SQLite hub, which is never clustered and keeps its single-node
// behaviour (Ready, Drain). The multi-node cases are in cluster_pgtest.cpp.
#include <string>
#include <vector>

#include <unistd.h>

#include <doctest/doctest.h>

#include <agentcore/hub/hub.hpp>

#include "hub/cluster_internal.hpp"
#include "store/temp_dir.hpp"
#include "support/manual_clock.hpp"
#include "support/recording_publisher.hpp"
#include "support/test_hub.hpp"

namespace agentcore::hub_internal {
namespace {

using namespace std::chrono_literals;

TEST_SUITE("ClusterLines") {
  TEST_CASE("lines round-trip with their event ids and seqs, whatever bytes they hold") {
    const std::string odd = "{\"a\":\"1:2:3:\",\"b\":\"\xc3\xa9\"}";
    const std::vector<PublishedLine> lines = {
        {R"({"t":"set"})", "01HZZZEVENT", 42},
        {odd, "", 0},
        {"", "", 0},  // an empty line survives too
        {"12:34:", "01HEV2", 18'446'744'073'709'551'615ull},
    };
    const std::string payload = EncodeLines(lines);
    std::optional<std::vector<OwnedLine>> back = DecodeLines(payload);
    REQUIRE(back.has_value());
    REQUIRE(back->size() == lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
      CHECK((*back)[i].line == lines[i].line);
      CHECK((*back)[i].event_id == lines[i].event_id);
      CHECK((*back)[i].seq == lines[i].seq);
    }
    CHECK(DecodeLines("")->empty());
    CHECK(EncodeLines({}).empty());
  }

  TEST_CASE("a malformed payload is refused whole, never read past its end") {
    for (const char* bad : {"x", "1", "1:", "1:ev", "1:ev:", "1:ev:5:abc", "1:ev:-1:",
                            "-1:ev:1:a", "1:ev:99999999999999999999999:a", "1:ev:1a:b",
                            "1:ev:1:ab", ":ev:1:a", "1:ev:1:a2:"}) {
      CAPTURE(bad);
      CHECK_FALSE(DecodeLines(bad).has_value());
    }
    // An event id longer than a key is not an event id.
    CHECK_FALSE(DecodeLines("1:" + std::string(kMaxKeyBytes + 1, 'E') + ":1:a").has_value());
  }
}

TEST_SUITE("ClusterNames") {
  TEST_CASE("node ids name the host and the process, and differ at every start") {
    const std::string a = MakeNodeId();
    const std::string b = MakeNodeId();
    CHECK(a != b);
    CHECK(a.size() <= kMaxKeyBytes);
    CHECK(a.find("-" + std::to_string(getpid()) + "-") != std::string::npos);
  }

  TEST_CASE("node ids are short names: letters, digits, dot, dash, underscore") {
    CHECK(IsValidNodeId("agentcore-0"));
    CHECK(IsValidNodeId("node_1.eu-west"));
    CHECK(IsValidNodeId(std::string(kMaxNodeIdBytes, 'n')));
    CHECK_FALSE(IsValidNodeId(""));
    CHECK_FALSE(IsValidNodeId(std::string(kMaxNodeIdBytes + 1, 'n')));
    for (const char* bad : {"a b", "a/b", "a:b", "a@b", "n\n", "\xc3\xa9t\xc3\xa9"}) {
      CAPTURE(bad);
      CHECK_FALSE(IsValidNodeId(bad));
    }
    CHECK(IsValidNodeId(MakeNodeId()));
  }

  TEST_CASE("OpenHub refuses a malformed node id, and nothing is opened") {
    testing::ManualClock clock;
    testing::TempDir dir;
    HubOptions o = testing::TestHubOptions(&clock, nullptr, dir);
    o.cluster.node_id = "no spaces/please";
    Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(o));
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().code() == ErrorCode::kInvalidArgument);
    CHECK(opened.status().message().find("node id") != std::string::npos);
  }

  TEST_CASE("lease keys are the documented ones") {
    CHECK(AgentLeaseKey("C1", "bot") == "agent:C1/bot");
    CHECK(SessionLeaseKey("S1") == "session:S1");
    CHECK(kJanitorLeaseKey == "janitor");
  }
}

TEST_SUITE("HubOneNode") {
  TEST_CASE("a SQLite hub is never clustered, and builds no lines without subscribers") {
    testing::ManualClock clock;
    testing::TempDir dir;
    HubOptions o = testing::TestHubOptions(&clock, nullptr, dir);
    o.cluster.node_id = "only-node";
    std::unique_ptr<Hub> hub = testing::OpenTestHub(std::move(o));
    CHECK_FALSE(hub->clustered());
    CHECK(hub->node_id() == "only-node");
    CHECK(hub->cluster_link() == nullptr);
    CHECK_FALSE(hub->HasSubscribers());
  }

  TEST_CASE("a SQLite hub without a node id makes one up") {
    testing::ManualClock clock;
    testing::TempDir dir;
    std::unique_ptr<Hub> hub =
        testing::OpenTestHub(testing::TestHubOptions(&clock, nullptr, dir));
    CHECK(hub->node_id().find(std::to_string(getpid())) != std::string::npos);
  }

  TEST_CASE("Ready is OK until Drain, then unavailable with the reason; Close too") {
    testing::ManualClock clock;
    testing::RecordingPublisher publisher;
    testing::TempDir dir;
    std::unique_ptr<Hub> hub =
        testing::OpenTestHub(testing::TestHubOptions(&clock, &publisher, dir));
    CHECK(hub->Ready(1s).ok());
    CHECK(hub->Ready(1s).ok());  // a second probe as the first
    CHECK_FALSE(hub->draining());
    hub->Drain();
    CHECK(hub->draining());
    Status s = hub->Ready(1s);
    CHECK(s.code() == ErrorCode::kUnavailable);
    CHECK(s.message() == "draining");
    hub->Drain();  // idempotent
    hub->Close();
    CHECK(hub->Ready(1s).code() == ErrorCode::kUnavailable);
    // Publishing still reaches the local publisher only.
    hub->Publish("c1", R"({"x":1})");
    CHECK(publisher.Lines().size() == 1);
  }
}

}  // namespace
}  // namespace agentcore::hub_internal
