// SPDX-License-Identifier: Apache-2.0
// The hub's cluster parts that need no PostgreSQL (docs/cluster.md): the kLines payload codec,
// node ids, lease keys, and a SQLite hub, which is never clustered and keeps its single-node
// behaviour (Ready, Drain). The multi-node cases are in cluster_pgtest.cpp.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

#include <doctest/doctest.h>

#include <functional>
#include <thread>

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

/// Records the cluster events of a store's feed.
class EventRecorder final : public StoreListener {
 public:
  void OnChange(const StoreChange& c) override {
    if (c.kind != StoreChange::Kind::kCluster) return;
    std::lock_guard lock(mu_);
    events_.push_back(c.cluster);
  }
  std::vector<ClusterEvent> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<ClusterEvent> events_;
};

/// A link on a SQLite store (which keeps leases and an in-process feed): the appender's and
/// the leases' rules without PostgreSQL.
struct LinkFixture {
  explicit LinkFixture(std::size_t queue_bytes = 8u << 20) {
    Result<std::unique_ptr<Store>> opened = OpenStore("sqlite::memory:");
    REQUIRE(opened.ok());
    store = *std::move(opened);
    clock.Set(1'000'000);
    options.lease = 3'000ms;
    options.line_queue_bytes = queue_bytes;
  }
  std::unique_ptr<ClusterLink> Link(const std::string& node) {
    return std::make_unique<ClusterLink>(*store, clock, node, options, ClusterLink::Sinks{});
  }
  /// Another node, running: a link publishes lines only while one is there (and it answers
  /// the hello of a link that starts).
  std::unique_ptr<ClusterLink> Peer() {
    std::unique_ptr<ClusterLink> peer = Link("node-peer");
    REQUIRE(peer->Start().ok());
    return peer;
  }
  testing::ManualClock clock;
  ClusterOptions options;
  std::unique_ptr<Store> store;
};

bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(5ms);
  return done();
}

TEST_SUITE("ClusterLink") {
  TEST_CASE("queued lines are appended in order as kLines events of the node") {
    LinkFixture f;
    EventRecorder recorder;
    Result<std::unique_ptr<StoreSubscription>> sub = f.store->Subscribe(&recorder);
    REQUIRE(sub.ok());
    std::unique_ptr<ClusterLink> peer = f.Peer();
    std::unique_ptr<ClusterLink> link = f.Link("node-1");
    link->RefreshPeers(f.clock.NowMillis());
    for (int i = 0; i < 50; ++i) {
      const std::string line = R"({"i":)" + std::to_string(i) + "}";
      const PublishedLine one{line, "", 0};
      link->Enqueue(i % 2 == 0 ? "c1" : "c2", std::span<const PublishedLine>(&one, 1));
    }
    REQUIRE(link->Start().ok());
    REQUIRE(Eventually([&] { return link->stats().events_appended >= 50; }));
    link->Close(true);
    std::vector<ClusterEvent> got = recorder.events();
    std::vector<ClusterEvent> lines;
    for (ClusterEvent& e : got) {
      if (e.kind == ClusterEvent::Kind::kLines && e.origin == "node-1") {
        lines.push_back(std::move(e));
      }
    }
    REQUIRE(lines.size() == 50);
    for (int i = 0; i < 50; ++i) {
      CHECK(lines[i].origin == "node-1");
      CHECK(lines[i].channel_id == (i % 2 == 0 ? "c1" : "c2"));
      std::optional<std::vector<OwnedLine>> decoded = DecodeLines(lines[i].payload);
      REQUIRE(decoded.has_value());
      REQUIRE(decoded->size() == 1);
      CHECK(decoded->front().line == R"({"i":)" + std::to_string(i) + "}");
    }
    CHECK(link->stats().lines_dropped == 0);
    CHECK(link->stats().events_appended == 50);
  }

  TEST_CASE("a full queue drops the oldest live-only lines first, never blocking, counted") {
    LinkFixture f(/*queue_bytes=*/20'000);
    std::unique_ptr<ClusterLink> peer = f.Peer();
    std::unique_ptr<ClusterLink> link = f.Link("node-1");  // not started: nothing drains
    link->RefreshPeers(f.clock.NowMillis());
    const std::string big(1'000, 'x');
    for (int i = 0; i < 40; ++i) {
      const std::string id = "EV" + std::to_string(i);
      const PublishedLine stored{big, id, static_cast<std::uint64_t>(i + 1)};
      const PublishedLine live{big, "", 0};
      link->Enqueue("c1", std::span<const PublishedLine>(i % 4 == 0 ? &stored : &live, 1));
    }
    const ClusterStats stats = link->stats();
    CHECK(stats.lines_queued == 40);
    CHECK(stats.lines_dropped >= 20);  // ~20 KB of 40 KB
    CHECK(stats.lines_dropped <= 30);  // the 10 stored lines were not needed to make room
    EventRecorder recorder;
    Result<std::unique_ptr<StoreSubscription>> sub = f.store->Subscribe(&recorder);
    REQUIRE(sub.ok());
    REQUIRE(link->Start().ok());
    link->Close(true);  // appends what is left
    auto stored_lines = [&] {
      std::size_t n = 0;
      for (const ClusterEvent& e : recorder.events()) {
        if (e.kind != ClusterEvent::Kind::kLines) continue;
        std::optional<std::vector<OwnedLine>> decoded = DecodeLines(e.payload);
        REQUIRE(decoded.has_value());
        for (const OwnedLine& l : *decoded) n += l.event_id.empty() ? 0 : 1;
      }
      return n;
    };
    CHECK(Eventually([&] { return stored_lines() == 10; }));  // every stored line went out
  }

  TEST_CASE("a node alone appends no lines, counts them, and publishes once another joins") {
    LinkFixture f;
    EventRecorder recorder;
    Result<std::unique_ptr<StoreSubscription>> sub = f.store->Subscribe(&recorder);
    REQUIRE(sub.ok());
    std::unique_ptr<ClusterLink> link = f.Link("node-1");
    REQUIRE(link->Start().ok());
    CHECK(link->peers().empty());
    const PublishedLine one{R"({"t":"alone"})", "", 0};
    for (int i = 0; i < 5; ++i) link->Enqueue("c1", std::span<const PublishedLine>(&one, 1));
    CHECK(link->stats().lines_unshared == 5);
    CHECK(link->stats().lines_queued == 0);
    // The peer's Start returns once node-1 answered its hello: node-1 publishes from then on.
    std::unique_ptr<ClusterLink> peer = f.Peer();
    CHECK(link->peers() == std::vector<std::string>{"node-peer"});
    CHECK(peer->peers() == std::vector<std::string>{"node-1"});
    const PublishedLine two{R"({"t":"together"})", "", 0};
    link->Enqueue("c1", std::span<const PublishedLine>(&two, 1));
    CHECK(Eventually([&] { return link->stats().events_appended == 1; }));
    // The peer gone (its node lease handed back), node-1 drops it at its next refresh.
    peer->Close(true);
    link->RefreshPeers(f.clock.NowMillis());
    CHECK(link->peers().empty());
    link->Enqueue("c1", std::span<const PublishedLine>(&one, 1));
    CHECK(link->stats().lines_unshared == 6);
    std::vector<std::string> hellos;  // "origin>key"
    for (const ClusterEvent& e : recorder.events()) {
      if (e.kind == ClusterEvent::Kind::kNodeHello) hellos.push_back(e.origin + ">" + e.key);
    }
    // Each joined with an empty key; node-1 answered node-peer's join (node-peer may also
    // have answered node-1's, if that reached its feed: answering twice is harmless).
    for (const char* expected : {"node-1>", "node-peer>", "node-1>node-peer"}) {
      CAPTURE(expected);
      CHECK(std::count(hellos.begin(), hellos.end(), expected) == 1);
    }
    link->Close(true);
  }

  TEST_CASE("one lease holder at a time; renewals keep it, Drain hands everything back") {
    LinkFixture f;
    std::unique_ptr<ClusterLink> a = f.Link("node-a");
    std::unique_ptr<ClusterLink> b = f.Link("node-b");
    std::string owner;
    CHECK(a->HoldOrTake("agent:c1/bot", &owner));
    CHECK(owner == "node-a");
    CHECK(a->Holds("agent:c1/bot"));
    CHECK_FALSE(b->HoldOrTake("agent:c1/bot", &owner));
    CHECK(owner == "node-a");
    CHECK_FALSE(b->Holds("agent:c1/bot"));
    // Renewed by A: still A's after more than a lease.
    f.clock.Advance(2'000);
    a->RenewNow();
    CHECK(a->last_renewed() == f.clock.NowMillis());
    f.clock.Advance(2'000);
    CHECK(a->Holds("agent:c1/bot"));
    CHECK_FALSE(b->HoldOrTake("agent:c1/bot"));
    CHECK(b->ListExpired("agent:", 10).empty());
    // Not renewed: expired, listed, and B takes it; A learns it at its next renewal.
    f.clock.Advance(3'000);
    CHECK_FALSE(a->Holds("agent:c1/bot"));
    REQUIRE(b->ListExpired("agent:", 10).size() == 1);
    CHECK(b->HoldOrTake("agent:c1/bot"));
    a->RenewNow();
    CHECK_FALSE(a->Holds("agent:c1/bot"));
    CHECK_FALSE(a->HoldOrTake("agent:c1/bot", &owner));
    CHECK(owner == "node-b");
    // Drain: B's leases go back at once, and B takes none any more.
    CHECK(b->HoldOrTake("session:S1"));
    b->Drain();
    CHECK(b->draining());
    CHECK_FALSE(b->Holds("session:S1"));
    CHECK_FALSE(b->HoldOrTake("janitor"));
    CHECK(a->HoldOrTake("agent:c1/bot"));
    CHECK(a->HoldOrTake("session:S1"));
    CHECK_FALSE(a->Holder("nothing:here").has_value());
    CHECK(a->Holder("session:S1")->owner == "node-a");
    a->Release("session:S1");
    CHECK_FALSE(a->Holder("session:S1").has_value());
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

  TEST_CASE("OpenHub refuses a lease outside 30 ms to an hour, and takes both bounds") {
    using std::chrono::milliseconds;
    for (milliseconds lease : {milliseconds(0), milliseconds(29), milliseconds(-5),
                               milliseconds(3'600'001), milliseconds(1LL << 60)}) {
      CAPTURE(lease.count());
      testing::ManualClock clock;
      testing::TempDir dir;
      HubOptions o = testing::TestHubOptions(&clock, nullptr, dir);
      o.cluster.lease = lease;
      Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(o));
      REQUIRE_FALSE(opened.ok());
      CHECK(opened.status().code() == ErrorCode::kInvalidArgument);
      CHECK(opened.status().message().find("cluster lease must be between 30 and 3600000 ms") !=
            std::string::npos);
    }
    for (milliseconds lease : {ClusterOptions::kMinLease, ClusterOptions::kMaxLease}) {
      testing::ManualClock clock;
      testing::TempDir dir;
      HubOptions o = testing::TestHubOptions(&clock, nullptr, dir);
      o.cluster.lease = lease;
      CHECK(OpenHub(std::move(o)).ok());
    }
  }

  TEST_CASE("lease keys are the documented ones") {
    CHECK(AgentLeaseKey("C1", "bot") == "agent:C1/bot");
    CHECK(SessionLeaseKey("S1") == "session:S1");
    CHECK(kJanitorLeaseKey == "janitor");
    CHECK(kNodeLeasePrefix == "node:");
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
