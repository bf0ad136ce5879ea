// SPDX-License-Identifier: Apache-2.0
// Several hubs on one PostgreSQL database (docs/cluster.md), as several servers are: each hub
// opens its own store on one private schema, in one process. Lines fan out through the change
// log, agents are driven by the node holding their lease, a dead node's agents are taken over,
// Drain hands the leases back.
#include <agentcore/hub/hub.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/hub/agents.hpp>

#include "store/pg_test_schema.hpp"
#include "store/temp_dir.hpp"
#include "support/fake_agent_transport.hpp"
#include "support/fake_runtime.hpp"
#include "support/recording_publisher.hpp"

namespace agentcore::testing {
namespace {

using namespace std::chrono_literals;

/// Waits up to 10 s for `done`, polling.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

/// One node: a hub on the shared schema with its own publisher, transport and fake runtime.
struct Node {
  Node(const std::string& url, std::string id, std::chrono::milliseconds lease = 10s,
       bool stop_agents_on_close = true) {
    HubOptions o;
    o.store_url = url;
    o.publisher = &publisher;
    o.executor = &executor;
    o.transport = &transport;
    o.api_url = "http://127.0.0.1:3234";
    o.stop_agents_on_close = stop_agents_on_close;
    o.local_process.data_dir = dir.path();
    o.runtimes.push_back(FakeRuntimeSpec(&runtime));
    o.cluster.node_id = std::move(id);
    o.cluster.lease = lease;
    o.cluster.poll_interval = 20ms;
    Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(o));
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    hub = *std::move(opened);
  }
  AgentService& agents() { return hub->agents(); }

  TempDir dir;
  RecordingPublisher publisher;
  InlineExecutor executor;
  FakeAgentTransport transport;
  FakeRuntime* runtime = nullptr;
  std::unique_ptr<Hub> hub;
};

const AgentIdentity kBot{"s1", "c1", "bot"};

/// Space s1, channel c1 and the roster entry "bot", through `hub`'s store.
void Seed(Hub& hub) {
  Space space;
  space.id = "s1";
  space.name = "Space";
  space.owner_callsign = "alice";
  REQUIRE(hub.store().EnsureSpace(space).ok());
  NewChannel channel;
  channel.id = "c1";
  channel.space_id = "s1";
  channel.name = "general";
  REQUIRE(hub.store().CreateChannel(channel).ok());
  NewRosterEntry e;
  e.channel_id = "c1";
  e.callsign = "bot";
  e.agent_type = "echo";
  REQUIRE(hub.store().AddRosterEntry(e).ok());
}

Message Store(Hub& hub, const std::string& text) {
  NewMessage in;
  in.space_id = "s1";
  in.channel_id = "c1";
  in.sender = "alice";
  in.sender_type = "user";
  in.type = "message";
  in.content = Json(text);
  Result<Message> stored = hub.store().AppendMessage(in);
  REQUIRE(stored.ok());
  return *stored;
}

std::string LeaseOwner(Hub& hub, const std::string& key) {
  Result<std::vector<Lease>> leases = hub.store().ListLeases(key, std::nullopt, 10);
  REQUIRE_MESSAGE(leases.ok(), leases.status().ToString());
  for (const Lease& l : *leases) {
    if (l.key == key) return l.owner;
  }
  return {};
}

std::size_t PushesTo(const Node& node, std::string_view endpoint) {
  std::size_t n = 0;
  for (const AgentPush& p : node.transport.Accepted()) n += p.endpoint == endpoint ? 1 : 0;
  return n;
}

const std::string kBotLease = "agent:c1/bot";

TEST_SUITE("HubCluster") {
  TEST_CASE("two hubs on PostgreSQL are clustered under their node ids") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a");
    Node b(schema.url(), "node-b");
    CHECK(a.hub->clustered());
    CHECK(a.hub->node_id() == "node-a");
    CHECK(b.hub->node_id() == "node-b");
    // Ready once the first renewal went through; not while draining.
    CHECK(Eventually([&] { return a.hub->Ready(1s).ok(); }));
    a.hub->Drain();
    CHECK(a.hub->Ready(1s).code() == ErrorCode::kUnavailable);
    CHECK(a.hub->Ready(1s).message() == "draining");
    CHECK(b.hub->Ready(1s).ok());
  }

  TEST_CASE("a hub's lines reach the other hub's publisher in order, and its own once") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a");
    Node b(schema.url(), "node-b");
    constexpr int kLines = 200;
    std::vector<std::string> texts;
    for (int i = 0; i < kLines; ++i) {
      texts.push_back(R"({"t":"x","i":)" + std::to_string(i) + R"(,"odd":"a:1:b\n"})");
      if (i % 3 == 0) {
        a.hub->Publish("c1", texts.back());  // live-only
      } else {
        a.hub->Publish("c1", texts.back(), "01HEVENT" + std::to_string(i), 1000 + i);
      }
    }
    REQUIRE(Eventually([&] { return b.publisher.Lines().size() >= kLines; }));
    std::vector<RecordingPublisher::Line> got = b.publisher.Lines();
    REQUIRE(got.size() == kLines);
    for (int i = 0; i < kLines; ++i) {
      CHECK(got[i].channel_id == "c1");
      CHECK(got[i].line == texts[i]);
      CHECK(got[i].event_id == (i % 3 == 0 ? "" : "01HEVENT" + std::to_string(i)));
      CHECK(got[i].seq == (i % 3 == 0 ? 0u : 1000u + i));
    }
    // Back the other way; and nobody hears its own lines twice.
    b.hub->Publish("c2", R"({"from":"b"})");
    REQUIRE(Eventually([&] { return !a.publisher.Matching(R"("from":"b")").empty(); }));
    std::this_thread::sleep_for(100ms);
    CHECK(a.publisher.Lines().size() == kLines + 1);
    CHECK(b.publisher.Lines().size() == kLines + 1);
  }

  TEST_CASE("hubs build lines without local subscribers when clustered") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a");
    CHECK(a.hub->HasSubscribers());
  }

  TEST_CASE("a message delivered on a node without the agent's lease is pushed by its owner") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a");
    Node b(schema.url(), "node-b");
    Seed(*a.hub);
    Result<CheckinOutcome> in = a.agents().Checkin(kBot, "http://bot-a", Json());
    REQUIRE(in.ok());
    CHECK(LeaseOwner(*a.hub, kBotLease) == "node-a");
    const Message m = Store(*b.hub, "hello");
    b.agents().Deliver(m, {"bot"});
    REQUIRE(Eventually([&] { return PushesTo(a, "http://bot-a") == 1; }));
    CHECK(b.transport.Accepted().empty());  // one drain cluster-wide
    CHECK(a.transport.Accepted()[0].content.find("hello") != std::string::npos);
    CHECK(b.runtime->activations().empty());  // B never started the agent
    std::this_thread::sleep_for(100ms);
    CHECK(PushesTo(a, "http://bot-a") == 1);  // nothing pushed twice
  }

  TEST_CASE("a checkin on a non-owner answers delivered 0 and the owner pushes the queue") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a");
    Node b(schema.url(), "node-b");
    Seed(*a.hub);
    REQUIRE(a.agents().Checkin(kBot, "http://bot-1", Json()).ok());
    const Message m = Store(*a.hub, "queued while it restarts");
    PendingDelivery d;
    d.channel_id = "c1";
    d.callsign = "bot";
    d.message_id = m.id;
    REQUIRE(a.hub->store().EnqueuePending(d).ok());
    // The agent restarted and its new checkin lands on B.
    Result<CheckinOutcome> again = b.agents().Checkin(kBot, "http://bot-2", Json());
    REQUIRE(again.ok());
    CHECK(again->delivered == 0);
    // A read the new endpoint from the store and pushed there.
    REQUIRE(Eventually([&] { return PushesTo(a, "http://bot-2") == 1; }));
    CHECK(b.transport.Accepted().empty());
    CHECK(LeaseOwner(*a.hub, kBotLease) == "node-a");
  }

  TEST_CASE("a checkin on a node takes a free lease and delivers at once, as on one node") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a");
    Node b(schema.url(), "node-b");
    Seed(*a.hub);
    const Message m = Store(*a.hub, "waiting");
    PendingDelivery d;
    d.channel_id = "c1";
    d.callsign = "bot";
    d.message_id = m.id;
    REQUIRE(a.hub->store().EnqueuePending(d).ok());
    Result<CheckinOutcome> in = b.agents().Checkin(kBot, "http://bot-b", Json());
    REQUIRE(in.ok());
    CHECK(in->delivered == 1);
    CHECK(LeaseOwner(*a.hub, kBotLease) == "node-b");
  }

  TEST_CASE("a dead node's agent is taken over by another node once its lease expired") {
    PgTestSchema schema;
    auto a = std::make_unique<Node>(schema.url(), "node-a", 300ms,
                                    /*stop_agents_on_close=*/false);
    Node b(schema.url(), "node-b", 300ms);
    Seed(*a->hub);
    REQUIRE(a->agents().Checkin(kBot, "http://bot", Json()).ok());
    CHECK(LeaseOwner(*b.hub, kBotLease) == "node-a");
    a->hub->Close();  // as a crash: the lease is not handed back
    a.reset();
    const Message m = Store(*b.hub, "after the crash");
    b.agents().Deliver(m, {"bot"});  // A still holds the lease: queued, A woken (in vain)
    CHECK(b.transport.Accepted().empty());
    std::this_thread::sleep_for(400ms);  // the lease expires
    b.agents().Sweep(b.hub->clock().NowMillis());
    REQUIRE(Eventually([&] { return PushesTo(b, "http://bot") == 1; }));
    CHECK(LeaseOwner(*b.hub, kBotLease) == "node-b");
  }

  TEST_CASE("Drain hands the node's leases back: another node takes over at once") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a");
    Node b(schema.url(), "node-b");
    Seed(*a.hub);
    REQUIRE(a.agents().Checkin(kBot, "http://bot", Json()).ok());
    REQUIRE(LeaseOwner(*a.hub, kBotLease) == "node-a");
    a.hub->Drain();
    CHECK(LeaseOwner(*a.hub, kBotLease).empty());
    const Message m = Store(*b.hub, "after the drain");
    b.agents().Deliver(m, {"bot"});
    CHECK(Eventually([&] { return PushesTo(b, "http://bot") == 1; }));
    CHECK(a.transport.Accepted().empty());
    CHECK(LeaseOwner(*a.hub, kBotLease) == "node-b");
  }

  TEST_CASE("without ClusterOptions::enabled a PostgreSQL hub is alone: no lease, no fan-out") {
    PgTestSchema schema;
    TempDir dir;
    RecordingPublisher publisher;
    HubOptions o;
    o.store_url = schema.url();
    o.publisher = &publisher;
    o.local_process.data_dir = dir.path();
    o.cluster.enabled = false;
    Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(o));
    REQUIRE(opened.ok());
    Hub& hub = **opened;
    CHECK_FALSE(hub.clustered());
    CHECK_FALSE(hub.node_id().empty());
    Seed(hub);
    REQUIRE(hub.agents().Checkin(kBot, "http://bot", Json()).ok());
    CHECK(LeaseOwner(hub, kBotLease).empty());
    CHECK(hub.Ready(1s).ok());
  }
}

}  // namespace
}  // namespace agentcore::testing
