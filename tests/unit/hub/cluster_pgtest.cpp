// SPDX-License-Identifier: Apache-2.0
// Several hubs on one PostgreSQL database (docs/cluster.md), as several servers are: each hub
// opens its own store on one private schema, in one process. Lines fan out through the change
// log, agents are driven by the node holding their lease, a dead node's agents are taken over,
// Drain hands the leases back.
#include <agentcore/hub/hub.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/hub/agents.hpp>
#include <agentcore/hub/runs.hpp>
#include <agentcore/hub/sessions.hpp>

#include "store/pg_test_schema.hpp"
#include "store/temp_dir.hpp"
#include "support/fake_agent_transport.hpp"
#include "support/fake_builder.hpp"
#include "support/fake_runtime.hpp"
#include "support/fake_session_runtime.hpp"
#include "support/recording_publisher.hpp"
#include "support/recording_store_listener.hpp"

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
       bool stop_agents_on_close = true, std::chrono::milliseconds staleness = {},
       std::string api_url = "http://127.0.0.1:3234") {
    HubOptions o;
    if (staleness.count() > 0) o.policy.heartbeat_staleness = staleness;
    o.store_url = url;
    o.publisher = &publisher;
    o.executor = &executor;
    o.transport = &transport;
    o.api_url = std::move(api_url);
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

/// How many kLines events carrying `text` the store's feed has shown `listener`.
std::size_t LinesEventsWith(RecordingStoreListener& listener, std::string_view text) {
  std::size_t n = 0;
  for (const StoreChange& c : listener.changes()) {
    n += c.kind == StoreChange::Kind::kCluster && c.cluster.kind == ClusterEvent::Kind::kLines &&
         c.cluster.payload.find(text) != std::string::npos;
  }
  return n;
}

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
    CHECK(Eventually([&] { return b.hub->Ready(1s).ok(); }));
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

  TEST_CASE("a node alone writes no lines; a node that joins hears every line from its open on") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a");
    RecordingStoreListener feed;
    Result<std::unique_ptr<StoreSubscription>> sub = a.hub->store().Subscribe(&feed);
    REQUIRE(sub.ok());
    for (int i = 0; i < 20; ++i) a.hub->Publish("c1", R"({"t":"alone"})");
    // A wake arrives within the 20 ms poll: a kLines event would be in the feed by now.
    a.hub->Publish("c1", R"({"t":"marker"})", "01HMARKER", 7);
    std::this_thread::sleep_for(300ms);
    CHECK(LinesEventsWith(feed, "alone") == 0);
    CHECK(LinesEventsWith(feed, "marker") == 0);
    // b's OpenHub returns once a answered its hello: a's very next line reaches b.
    Node b(schema.url(), "node-b");
    a.hub->Publish("c1", R"({"t":"together"})");
    CHECK(Eventually([&] { return !b.publisher.Matching("together").empty(); }));
    CHECK(Eventually([&] { return LinesEventsWith(feed, "together") > 0; }));
    std::this_thread::sleep_for(100ms);
    CHECK(LinesEventsWith(feed, "together") == 1);
    CHECK(b.publisher.Matching("alone").empty());
  }

  TEST_CASE("nodes that open together each hear the other's lines from their open on") {
    PgTestSchema schema;
    std::unique_ptr<Node> a;
    std::unique_ptr<Node> b;
    std::thread open_a([&] { a = std::make_unique<Node>(schema.url(), "node-a"); });
    std::thread open_b([&] { b = std::make_unique<Node>(schema.url(), "node-b"); });
    open_a.join();
    open_b.join();
    REQUIRE(a);
    REQUIRE(b);
    a->hub->Publish("c1", R"({"t":"from-a"})");
    b->hub->Publish("c1", R"({"t":"from-b"})");
    CHECK(Eventually([&] { return !b->publisher.Matching("from-a").empty(); }));
    CHECK(Eventually([&] { return !a->publisher.Matching("from-b").empty(); }));
  }

  TEST_CASE("a node stops writing lines once the last other node has left") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a", 600ms);  // peers refreshed every 200 ms
    RecordingStoreListener feed;
    Result<std::unique_ptr<StoreSubscription>> sub = a.hub->store().Subscribe(&feed);
    REQUIRE(sub.ok());
    auto b = std::make_unique<Node>(schema.url(), "node-b", 600ms);
    a.hub->Publish("c1", R"({"t":"while-b"})");
    CHECK(Eventually([&] { return LinesEventsWith(feed, "while-b") == 1; }));
    b->hub->Close();  // hands its node lease back
    b.reset();
    int n = 0;
    CHECK(Eventually([&] {
      const std::string text = "after-b-" + std::to_string(n++);
      a.hub->Publish("c1", R"({"t":")" + text + R"("})");
      std::this_thread::sleep_for(100ms);
      return LinesEventsWith(feed, text) == 0;
    }));
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

  TEST_CASE("heartbeats stored by another node keep the owner's agent online") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a", 10s, true, 400ms);
    Node b(schema.url(), "node-b", 10s, true, 400ms);
    Seed(*a.hub);
    REQUIRE(a.agents().Checkin(kBot, "http://bot", Json()).ok());
    const std::string offline = R"("state":"offline")";
    // Its heartbeats reach B only; A's sweep past the staleness finds them in the store.
    std::this_thread::sleep_for(250ms);
    REQUIRE(b.agents().Heartbeat(kBot).ok());
    std::this_thread::sleep_for(250ms);
    a.agents().Sweep(a.hub->clock().NowMillis());
    CHECK(a.publisher.Matching(offline).empty());
    // No heartbeat anywhere: stale, as on one node.
    std::this_thread::sleep_for(450ms);
    a.agents().Sweep(a.hub->clock().NowMillis());
    CHECK(a.publisher.Matching(offline).size() == 1);
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

  TEST_CASE("a dead node's live agent is adopted when its URL is shared, restarted when not") {
    // The URL the dead node gave its agents: one both nodes advertise (a load balancer's), or
    // the dead node's own, which no live node serves (the agent reaches nobody any more).
    for (const bool shared : {true, false}) {
      CAPTURE(shared);
      PgTestSchema schema;
      auto a = std::make_unique<Node>(schema.url(), "node-a", 300ms,
                                      /*stop_agents_on_close=*/false, 0ms,
                                      shared ? "http://lb" : "http://node-a");
      Node b(schema.url(), "node-b", 300ms, true, 0ms, shared ? "http://lb" : "http://node-b");
      Seed(*a->hub);
      REQUIRE(a->agents().Checkin(kBot, "http://bot", Json()).ok());
      CHECK(LeaseOwner(*b.hub, "api-url:node-a/" + std::string(shared ? "http://lb"
                                                                       : "http://node-a")) ==
            "node-a");
      a->hub->Close();  // as a crash: the leases are not handed back
      a.reset();
      std::this_thread::sleep_for(400ms);  // the leases expire; the agent's heartbeat is fresh
      b.agents().Sweep(b.hub->clock().NowMillis());
      REQUIRE(Eventually([&] { return LeaseOwner(*b.hub, kBotLease) == "node-b"; }));
      Result<RosterEntry> entry = b.hub->store().GetRosterEntry("c1", "bot");
      REQUIRE(entry.ok());
      if (shared) {
        CHECK(b.runtime->activations().empty());  // adopted: still reachable
        CHECK(entry->callback_url == std::optional<std::string>("http://bot"));
      } else {
        REQUIRE(b.runtime->activations().size() == 1);  // started again, told B's URL
        CHECK(b.runtime->activations()[0].api_url == "http://node-b");
        CHECK(!entry->callback_url.has_value());  // nothing pushed to the unreachable one
      }
    }
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
    // A request still in flight on the draining node: queued there, pushed by another node.
    const Message late = Store(*a.hub, "delivered on the draining node");
    a.agents().Deliver(late, {"bot"});
    CHECK(Eventually([&] { return PushesTo(b, "http://bot") == 1; }));
    CHECK(LeaseOwner(*a.hub, kBotLease) == "node-b");
    const Message m = Store(*b.hub, "after the drain");
    b.agents().Deliver(m, {"bot"});
    CHECK(Eventually([&] { return PushesTo(b, "http://bot") == 2; }));
    CHECK(a.transport.Accepted().empty());
    CHECK(LeaseOwner(*a.hub, kBotLease) == "node-b");
    // A checkin landing on the draining node is stored and handed on: delivered 0 there.
    Result<CheckinOutcome> in = a.agents().Checkin(kBot, "http://bot", Json());
    REQUIRE(in.ok());
    CHECK(in->delivered == 0);
  }

  TEST_CASE("a session another live node runs: attach answers session_elsewhere; expired: failed") {
    PgTestSchema schema;
    Node b(schema.url(), "node-b", 300ms);
    Principal caller;
    caller.kind = Principal::Kind::kApiKey;
    caller.space_id = "s1";
    caller.api_key_id = "key-1";
    // A session that node-x started (its record and its lease), as node-x left them.
    const UnixMillis now = b.hub->clock().NowMillis();
    Session s;
    s.id = "01HSESSIONONX";
    s.owner_id = "s1";
    s.state = SessionState::kRunning;
    s.api_key_id = "key-1";
    s.instance = "instance-of-x";
    s.spec = Json::Object();
    s.started_at = now;
    REQUIRE(b.hub->store().PutSession(s).ok());
    Result<Lease> lease =
        b.hub->store().AcquireLease("session:01HSESSIONONX", "node-x", now, now + 400);
    REQUIRE(lease.ok());
    REQUIRE(lease->owner == "node-x");
    Result<std::unique_ptr<SessionAttachment>> attach =
        b.hub->sessions().Attach(caller, s.id, [] {});
    REQUIRE_FALSE(attach.ok());
    CHECK(attach.status().code() == ErrorCode::kConflict);
    CHECK(SessionErrorCode(attach.status()) == "session_elsewhere");
    CHECK(attach.status().message().find("node-x") != std::string::npos);
    // What works through the store works anywhere.
    Result<Session> got = b.hub->sessions().Get(caller, s.id);
    REQUIRE(got.ok());
    CHECK(got->state == SessionState::kRunning);
    // A sweep before the lease expired leaves it alone...
    b.hub->sessions().Sweep(b.hub->clock().NowMillis());
    CHECK(b.hub->store().GetSession(s.id)->state == SessionState::kRunning);
    // ... and after it, fails it: node-x is gone, and its process with it.
    std::this_thread::sleep_for(450ms);
    b.hub->sessions().Sweep(b.hub->clock().NowMillis());
    Result<Session> after = b.hub->store().GetSession(s.id);
    REQUIRE(after.ok());
    CHECK(after->state == SessionState::kFailed);
    CHECK(after->reason == "its server stopped");
    CHECK(LeaseOwner(*b.hub, "session:01HSESSIONONX").empty());  // handed back
  }

  TEST_CASE("a session created on a node holds its lease until it stops") {
    PgTestSchema schema;
    auto sandbox = std::make_shared<FakeSessionRuntime>("sandbox");
    TempDir dir;
    HubOptions o;
    o.store_url = schema.url();
    o.local_process.data_dir = dir.path();
    o.sessions.sandbox = sandbox;
    o.cluster.node_id = "node-s";
    Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(o));
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    Hub& hub = **opened;
    Principal caller;
    caller.kind = Principal::Kind::kApiKey;
    caller.space_id = "s1";
    caller.api_key_id = "key-1";
    Result<Session> created =
        hub.sessions().Create(caller, ParseJson(R"({"command":["sleep","1000"]})").value());
    REQUIRE_MESSAGE(created.ok(), created.status().ToString());
    CHECK(LeaseOwner(hub, "session:" + created->id) == "node-s");
    // Its own node attaches.
    CHECK(hub.sessions().Attach(caller, created->id, [] {}).ok());
    REQUIRE(hub.sessions().Stop(caller, created->id).ok());
    CHECK(LeaseOwner(hub, "session:" + created->id).empty());
  }

  TEST_CASE("a run watched on one node receives the events another node appends") {
    PgTestSchema schema;
    Node a(schema.url(), "node-a");
    Node b(schema.url(), "node-b");
    Space space;
    space.id = "s1";
    space.name = "Space";
    REQUIRE(b.hub->store().EnsureSpace(space).ok());
    Principal caller;
    caller.kind = Principal::Kind::kApiKey;
    caller.space_id = "s1";
    caller.user_id = "u1";
    Json project = Json::Object();
    project.Set("id", "p");
    REQUIRE(b.hub->runs().CreateProject(caller, project).ok());
    Json body = Json::Object();
    body.Set("prompt", "build it");
    Result<RunCreated> run = b.hub->runs().CreateRun(caller, "p", "k1", body);
    REQUIRE(run.ok());
    std::mutex mu;
    std::vector<RunEventRecord> seen;
    Result<std::unique_ptr<RunWatch>> watch =
        b.hub->runs().Watch(caller, "p", run->run.id, 0, [&](const RunEventRecord& e) {
          std::lock_guard lock(mu);
          seen.push_back(e);
        });
    REQUIRE(watch.ok());
    std::size_t history = 0;
    {
      std::lock_guard lock(mu);
      history = seen.size();
    }
    // Node A drives the run (its worker appends the events; its store is another process's).
    for (int i = 0; i < 5; ++i) {
      Json data = Json::Object();
      data.Set("i", i);
      REQUIRE(a.hub->store().AppendRunEvent(run->run.id, "log", data).ok());
    }
    REQUIRE(Eventually([&] {
      std::lock_guard lock(mu);
      return seen.size() == history + 5;
    }));
    std::this_thread::sleep_for(100ms);
    std::lock_guard lock(mu);
    REQUIRE(seen.size() == history + 5);  // none twice
    for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i].seq == seen[i - 1].seq + 1);
    CHECK(seen.back().type == "log");
  }

  TEST_CASE("a run a dead node held is requeued and finished by another; a watcher elsewhere follows") {
    PgTestSchema schema;
    FakeBuilder builder;
    FakeAgentTransport unused;
    TempDir dir_a, dir_b;
    auto open = [&](const std::string& id, TempDir& dir, AgentTransport* transport,
                    std::size_t max_runs) {
      HubOptions o;
      o.store_url = schema.url();
      o.transport = transport;
      o.local_process.data_dir = dir.path();
      o.runs.auto_git_commit = false;
      o.runs.retry_base_delay = 10ms;
      o.runs.max_concurrent_runs = max_runs;
      o.runs.instance = "same-path";  // both nodes' data directories look alike
      o.cluster.node_id = id;
      o.cluster.poll_interval = 20ms;
      Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(o));
      REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
      return *std::move(opened);
    };
    std::unique_ptr<Hub> a = open("node-a", dir_a, &unused, 0);  // serves the API only
    std::unique_ptr<Hub> b = open("node-b", dir_b, &builder, 8);
    builder.Attach(b.get());
    CHECK(a->runs().worker_id() != b->runs().worker_id());
    CHECK(b->runs().worker_id().find("same-path@node-b/") == 0);
    Space space;
    space.id = "s1";
    space.name = "Space";
    REQUIRE(a->store().EnsureSpace(space).ok());
    Principal caller;
    caller.kind = Principal::Kind::kApiKey;
    caller.space_id = "s1";
    caller.user_id = "u1";
    Json pbody = Json::Object();
    pbody.Set("id", "p");
    Result<ProjectResult> project = a->runs().CreateProject(caller, pbody);
    REQUIRE(project.ok());
    Json body = Json::Object();
    body.Set("prompt", "build it");
    Result<RunCreated> run = a->runs().CreateRun(caller, "p", "k1", body);
    REQUIRE(run.ok());
    // A third node claimed it and died (its lease runs out in 300 ms).
    const UnixMillis now = a->clock().NowMillis();
    Result<std::optional<Run>> held =
        a->store().ClaimRun(RunClaim{"same-path@node-dead/abc", now, now + 300});
    REQUIRE(held.ok());
    REQUIRE(held->has_value());
    std::mutex mu;
    std::vector<RunEventRecord> seen;
    Result<std::unique_ptr<RunWatch>> watch =
        a->runs().Watch(caller, "p", run->run.id, 0, [&](const RunEventRecord& e) {
          std::lock_guard lock(mu);
          seen.push_back(e);
        });
    REQUIRE(watch.ok());
    // B starts: the dead node's run is no orphan of B's (another node), so it waits for expiry.
    REQUIRE(b->agents()
                .Checkin(AgentIdentity{"s1", project->project.channel_id, "builder"},
                         "http://fake-builder", nullptr)
                .ok());
    REQUIRE(b->runs().Start().ok());
    CHECK(a->store().GetRun(run->run.id)->worker_id == "same-path@node-dead/abc");
    const bool finished = Eventually([&] {
      b->runs().Sweep(b->clock().NowMillis());
      Result<Run> r = a->store().GetRun(run->run.id);
      return r.ok() && IsFinalRunState(r->state);
    });
    REQUIRE(finished);
    Result<Run> done = a->store().GetRun(run->run.id);
    CHECK(done->state == RunState::kSucceeded);
    CHECK(done->attempts == 2);  // the dead node's claim cost one
    // A's watcher saw every event B appended, in order, ending with done.
    REQUIRE(Eventually([&] {
      std::lock_guard lock(mu);
      return !seen.empty() && seen.back().type == "done";
    }));
    std::lock_guard lock(mu);
    for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i].seq == i + 1);
    b->Close();
    a->Close();
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
