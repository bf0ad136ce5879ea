// SPDX-License-Identifier: Apache-2.0
// The hub's agent service without HTTP (hub/agents.hpp): each orchestration rule of spec cast
// §3.4, §4.6, §5.2–§5.9 against a fake runtime, a fake push transport, a manual clock and an
// inline executor (tests/support/fake_runtime.hpp: posted work has run when a call returns).
#include <agentcore/hub/agents.hpp>

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/hub/channels.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/json.hpp>

#include "store/temp_dir.hpp"
#include "support/fake_agent_transport.hpp"
#include "support/fake_runtime.hpp"
#include "support/manual_clock.hpp"
#include "support/recording_publisher.hpp"

namespace agentcore {
namespace {

using testing::FakeAgentTransport;
using testing::FakeRuntime;
using testing::InlineExecutor;
using testing::ManualClock;
using testing::RecordingPublisher;
using testing::TempDir;

constexpr std::string_view kEndpoint = "http://127.0.0.1:7001";

/// A hub with one fake runtime for every agent type, and a channel "general" of space "s1".
class Fixture {
 public:
  explicit Fixture(std::string store_url = "sqlite::memory:", bool stop_agents_on_close = true,
                   std::size_t max_agents = 50, std::size_t max_running = 20) {
    HubOptions o;
    o.max_agents_per_space = max_agents;
    o.max_running_agents_per_space = max_running;
    o.store_url = std::move(store_url);
    o.clock = &clock;
    o.publisher = &publisher;
    o.executor = &executor;
    o.transport = &transport;
    o.api_url = "http://127.0.0.1:3234";
    o.stop_agents_on_close = stop_agents_on_close;
    o.runtimes.push_back(testing::FakeRuntimeSpec(&runtime_));
    Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(o));
    REQUIRE(opened.ok());
    hub = *std::move(opened);
    Space space;
    space.id = "s1";
    space.name = "Space";
    space.owner_callsign = "alice";
    REQUIRE(hub->store().EnsureSpace(space).ok());
    Result<Channel> existing = hub->store().GetChannel("c1");
    if (!existing.ok()) {
      NewChannel channel;
      channel.id = "c1";
      channel.space_id = "s1";
      channel.name = "general";
      REQUIRE(hub->store().CreateChannel(channel).ok());
    }
  }

  AgentService& agents() { return hub->agents(); }
  FakeRuntime& runtime() { return *runtime_; }
  static AgentIdentity Agent(const std::string& callsign) { return {"s1", "c1", callsign}; }

  /// Stores a message from @alice and delivers it to `callsigns`.
  Message Post(const std::string& text, const std::vector<std::string>& callsigns) {
    NewMessage in;
    in.space_id = "s1";
    in.channel_id = "c1";
    in.sender = "alice";
    in.sender_type = "user";
    in.type = "message";
    in.content = Json(text);
    Result<Message> stored = hub->store().AppendMessage(in);
    REQUIRE(stored.ok());
    agents().Deliver(*stored, callsigns);
    return *stored;
  }
  /// A roster entry stored directly (no activation, nothing published).
  void Roster(const std::string& callsign, RosterStatus status = RosterStatus::kActive) {
    NewRosterEntry e;
    e.channel_id = "c1";
    e.callsign = callsign;
    e.agent_type = "echo";
    e.status = status;
    REQUIRE(hub->store().AddRosterEntry(e).ok());
  }
  std::size_t Pending(const std::string& callsign) {
    Result<std::vector<PendingDelivery>> p = hub->store().TakePending("c1", callsign, 100);
    REQUIRE(p.ok());
    return p->size();
  }
  RosterEntry Entry(const std::string& callsign) {
    Result<RosterEntry> e = hub->store().GetRosterEntry("c1", callsign);
    REQUIRE(e.ok());
    return *e;
  }
  std::size_t States(std::string_view state) {
    return publisher.Matching("\"state\":\"" + std::string(state) + "\"").size();
  }
  void Sweep() { agents().Sweep(clock.NowMillis()); }

  ManualClock clock;
  RecordingPublisher publisher;
  InlineExecutor executor;
  FakeAgentTransport transport;
  std::unique_ptr<Hub> hub;

 private:
  FakeRuntime* runtime_ = nullptr;
};

/// A session of space `space`.
Principal Caller(std::string space) {
  Principal p;
  p.space_id = std::move(space);
  p.user_id = "u1";
  p.mode = "dev";
  return p;
}

Json Body(std::string_view text) {
  Result<Json> json = ParseJson(text);
  REQUIRE(json.ok());
  return *std::move(json);
}

/// An agent added, started and checked in.
void Online(Fixture& fx, const std::string& callsign) {
  REQUIRE(fx.agents().AddAgent(Fixture::Agent(callsign), "echo").ok());
  REQUIRE(fx.agents().Checkin(Fixture::Agent(callsign), std::string(kEndpoint), Json()).ok());
}

TEST_SUITE("AgentService") {
  TEST_CASE("add agent stores and publishes summon, agent_joined and connecting in that order") {
    Fixture fx;
    Result<RosterEntry> entry = fx.agents().AddAgent(Fixture::Agent("echo"), "echo");
    REQUIRE(entry.ok());
    CHECK(entry->status == RosterStatus::kActive);
    std::vector<RecordingPublisher::Line> lines = fx.publisher.Lines();
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].line.find("\"action\":\"summon\"") != std::string::npos);
    CHECK(lines[0].event_id == *entry->readmark);  // the summon message, readmark set to it
    CHECK(lines[1].line.find("\"action\":\"agent_joined\"") != std::string::npos);
    CHECK(lines[2].line.find("\"state\":\"connecting\"") != std::string::npos);
    // Then activated, with the container token and the API URL.
    std::vector<ActivateRequest> started = fx.runtime().activations();
    REQUIRE(started.size() == 1);
    CHECK(started[0].agent_id == "s1:c1:echo");
    CHECK(started[0].agent_type == "echo");
    CHECK(started[0].api_url == "http://127.0.0.1:3234");
    CHECK(started[0].auth_token == fx.hub->ContainerToken(Fixture::Agent("echo")));
  }

  TEST_CASE("add agent swallows an activation failure") {
    Fixture fx;
    fx.runtime().FailNextActivations(1);
    CHECK(fx.agents().AddAgent(Fixture::Agent("echo"), "echo").ok());
    CHECK(fx.Entry("echo").status == RosterStatus::kActive);
  }

  TEST_CASE("add agent refuses a callsign already in the roster, archived included") {
    Fixture fx;
    fx.Roster("gone", RosterStatus::kArchived);
    Result<RosterEntry> again = fx.agents().AddAgent(Fixture::Agent("gone"), "echo");
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().code() == ErrorCode::kAlreadyExists);
    CHECK(again.status().message() == "Agent already in roster");
    CHECK(fx.publisher.Lines().empty());
    CHECK(fx.runtime().activations().empty());
  }

  TEST_CASE("heartbeat and checkin of an agent not in the roster are kNotFound") {
    Fixture fx;
    Result<UnixMillis> beat = fx.agents().Heartbeat(Fixture::Agent("ghost"));
    REQUIRE_FALSE(beat.ok());
    CHECK(beat.status().code() == ErrorCode::kNotFound);
    CHECK(beat.status().message() == "Agent not found in roster");
    Result<CheckinOutcome> in =
        fx.agents().Checkin(Fixture::Agent("ghost"), std::string(kEndpoint), Json());
    REQUIRE_FALSE(in.ok());
    CHECK(in.status().code() == ErrorCode::kNotFound);
    CHECK(fx.publisher.Lines().empty());
  }

  TEST_CASE("a heartbeat is stored and publishes online, except for a paused agent") {
    Fixture fx;
    fx.Roster("echo");
    fx.Roster("sleepy", RosterStatus::kPaused);
    Result<UnixMillis> at = fx.agents().Heartbeat(Fixture::Agent("echo"));
    REQUIRE(at.ok());
    CHECK(*at == fx.clock.NowMillis());
    CHECK(fx.Entry("echo").last_heartbeat == *at);
    CHECK(fx.States("online") == 1);
    REQUIRE(fx.agents().Heartbeat(Fixture::Agent("sleepy")).ok());
    CHECK(fx.States("online") == 1);
  }

  TEST_CASE("staleness: online at exactly 60 s, stale at 60.001 s, then re-activated") {
    Fixture fx;
    Online(fx, "echo");
    fx.clock.Advance(60'000);
    fx.Sweep();
    CHECK(fx.States("offline") == 0);
    Result<AgentPresence> presence = fx.agents().Presence(Fixture::Agent("echo"));
    REQUIRE(presence.ok());
    CHECK(presence->online);
    CHECK(presence->endpoint == std::string(kEndpoint));

    fx.clock.Advance(1);
    fx.Sweep();
    CHECK(fx.States("offline") == 1);
    presence = fx.agents().Presence(Fixture::Agent("echo"));
    REQUIRE(presence.ok());
    CHECK_FALSE(presence->online);
    CHECK_FALSE(presence->endpoint.has_value());

    // The next message stops the silent process, starts a new one and waits for its checkin.
    fx.Post("@echo still there?", {"echo"});
    std::vector<FakeRuntime::SuspendCall> stopped = fx.runtime().suspends();
    REQUIRE(stopped.size() == 1);
    CHECK(stopped[0].reason == "restart");
    CHECK(fx.runtime().activations().size() == 2);
    CHECK(fx.transport.Records().empty());
    CHECK(fx.Pending("echo") == 1);
  }

  TEST_CASE("activation timeout at 180 s: the process is stopped, offline published, queue kept") {
    Fixture fx;
    REQUIRE(fx.agents().AddAgent(Fixture::Agent("echo"), "echo").ok());
    fx.Post("@echo hello", {"echo"});  // activation under way: queued, not started twice
    CHECK(fx.runtime().activations().size() == 1);
    fx.clock.Advance(180'000);
    fx.Sweep();
    CHECK(fx.runtime().suspends().empty());
    CHECK(fx.States("offline") == 0);

    fx.clock.Advance(1);
    fx.Sweep();
    std::vector<FakeRuntime::SuspendCall> stopped = fx.runtime().suspends();
    REQUIRE(stopped.size() == 1);
    CHECK(stopped[0].agent_id == "s1:c1:echo");
    CHECK(stopped[0].reason == "activation timeout");
    CHECK(fx.States("offline") == 1);
    CHECK(fx.Pending("echo") == 1);
    // A later sweep reports nothing new.
    fx.clock.Advance(10'000);
    fx.Sweep();
    CHECK(fx.States("offline") == 1);
  }

  TEST_CASE("a failed push restarts the agent and the message is delivered exactly once") {
    Fixture fx;
    Online(fx, "echo");
    fx.transport.FailNext(1);
    fx.Post("hello", {"echo"});
    REQUIRE(fx.transport.Records().size() == 1);
    CHECK_FALSE(fx.transport.Records()[0].accepted);
    // §3.4 step 3: callback cleared, connecting, the old process stopped, a new one started.
    CHECK_FALSE(fx.Entry("echo").callback_url.has_value());
    CHECK(fx.runtime().suspends().size() == 1);
    CHECK(fx.runtime().activations().size() == 2);
    CHECK(fx.Pending("echo") == 1);

    Result<CheckinOutcome> in =
        fx.agents().Checkin(Fixture::Agent("echo"), std::string(kEndpoint), Json());
    REQUIRE(in.ok());
    CHECK(in->delivered == 1);
    std::vector<AgentPush> accepted = fx.transport.Accepted();
    REQUIRE(accepted.size() == 1);
    CHECK(accepted[0].content == "--- @alice in #general says:\nhello");
    CHECK(fx.Pending("echo") == 0);
    // Nothing is pushed twice: another checkin finds the queue empty.
    in = fx.agents().Checkin(Fixture::Agent("echo"), std::string(kEndpoint), Json());
    REQUIRE(in.ok());
    CHECK(in->delivered == 0);
    CHECK(fx.transport.Records().size() == 2);
  }

  TEST_CASE("an online agent gets each message pushed directly, in Cast's format") {
    Fixture fx;
    Online(fx, "echo");
    Message m = fx.Post("hi there", {"echo"});
    std::vector<AgentPush> accepted = fx.transport.Accepted();
    REQUIRE(accepted.size() == 1);
    CHECK(accepted[0].url == std::string(kEndpoint) + "/message");
    CHECK(accepted[0].content == "Message from @alice: hi there");
    CHECK(accepted[0].body ==
          "{\"content\":\"Message from @alice: hi there\",\"agentId\":\"s1:c1:echo\"}");
    CHECK(fx.Entry("echo").readmark == m.id);
    CHECK(fx.States("pending") == 1);
    CHECK(fx.Pending("echo") == 0);
  }

  TEST_CASE("the runtime's route hints go as headers with every push and win over stored ones") {
    Fixture fx;
    REQUIRE(fx.agents().AddAgent(Fixture::Agent("echo"), "echo").ok());
    Json live = Json::Object();
    live.Set("fly-force-instance-id", "e2865machine");
    fx.runtime().SetRouteHints("s1:c1:echo", live);
    fx.Post("queued", {"echo"});
    // The agent checks in with a stale hint of its own and another header.
    Json stale = Json::Object();
    stale.Set("fly-force-instance-id", "old-machine");
    stale.Set("x-extra", "kept");
    REQUIRE(fx.agents().Checkin(Fixture::Agent("echo"), std::string(kEndpoint), stale).ok());
    fx.Post("direct", {"echo"});
    std::vector<AgentPush> accepted = fx.transport.Accepted();
    REQUIRE(accepted.size() == 2);
    for (const AgentPush& push : accepted) {
      std::vector<std::string> machine;
      bool extra = false;
      for (const auto& [name, value] : push.headers) {
        if (name == "fly-force-instance-id") machine.push_back(value);
        extra |= name == "x-extra" && value == "kept";
      }
      CHECK(machine == std::vector<std::string>{"e2865machine"});
      CHECK(extra);
    }
  }

  TEST_CASE("checkin drains the backlog in one push, acknowledges it and sets the readmark") {
    Fixture fx;
    REQUIRE(fx.agents().AddAgent(Fixture::Agent("echo"), "echo").ok());
    fx.Post("first", {"echo"});
    Message second = fx.Post("second", {"echo"});
    CHECK(fx.transport.Records().empty());
    Json hints = Json::Object();
    hints.Set("fly-force-instance-id", "m1");
    Result<CheckinOutcome> in =
        fx.agents().Checkin(Fixture::Agent("echo"), std::string(kEndpoint) + "/", hints);
    REQUIRE(in.ok());
    CHECK(in->delivered == 2);
    std::vector<AgentPush> accepted = fx.transport.Accepted();
    REQUIRE(accepted.size() == 1);
    CHECK(accepted[0].url == std::string(kEndpoint) + "/message");
    CHECK(accepted[0].content ==
          "--- @alice in #general says:\nfirst\n\n--- @alice in #general says:\nsecond");
    bool bearer = false;
    bool hint = false;
    for (const auto& [name, value] : accepted[0].headers) {
      bearer |= name == "Authorization" &&
                value == "Bearer " + fx.hub->ContainerToken(Fixture::Agent("echo"));
      hint |= name == "fly-force-instance-id" && value == "m1";
    }
    CHECK(bearer);
    CHECK(hint);
    CHECK(fx.Entry("echo").readmark == second.id);
    CHECK(fx.Pending("echo") == 0);
    CHECK(fx.runtime().checkins().size() == 1);
  }

  TEST_CASE("a push refused at checkin keeps the backlog and answers delivered 0") {
    Fixture fx;
    REQUIRE(fx.agents().AddAgent(Fixture::Agent("echo"), "echo").ok());
    fx.Post("first", {"echo"});
    fx.transport.FailNext(1);
    Result<CheckinOutcome> in =
        fx.agents().Checkin(Fixture::Agent("echo"), std::string(kEndpoint), Json());
    REQUIRE(in.ok());
    CHECK(in->delivered == 0);
    CHECK(fx.Pending("echo") == 1);
  }

  TEST_CASE("reconcile after a restart clears dead callbacks; the queue is pushed at checkin") {
    TempDir dir;
    const std::string url = "sqlite://" + dir.File("hub.db");
    {
      Fixture before(url, /*stop_agents_on_close=*/false);  // a crash leaves the agent running
      Online(before, "echo");
      PendingDelivery queued;  // stored, then the process died before pushing it
      Message m = before.Post("unpushed", {});
      queued.channel_id = "c1";
      queued.callsign = "echo";
      queued.message_id = m.id;
      queued.enqueued_at = before.clock.NowMillis();
      REQUIRE(before.hub->store().EnqueuePending(queued).ok());
      CHECK(before.runtime().shutdowns() == 0);
    }
    Fixture after(url);
    after.runtime().SetOrphans({"s1:c1:echo"});
    REQUIRE(after.hub->agents().Reconcile().ok());
    CHECK_FALSE(after.Entry("echo").callback_url.has_value());
    Result<AgentPresence> presence = after.agents().Presence(Fixture::Agent("echo"));
    REQUIRE(presence.ok());
    CHECK_FALSE(presence->online);

    Result<CheckinOutcome> in =
        after.agents().Checkin(Fixture::Agent("echo"), std::string(kEndpoint), Json());
    REQUIRE(in.ok());
    CHECK(in->delivered == 1);
    REQUIRE(after.transport.Accepted().size() == 1);
    CHECK(after.transport.Accepted()[0].content == "--- @alice in #general says:\nunpushed");
  }

  TEST_CASE("a message to a paused agent is queued and does not activate it") {
    Fixture fx;
    REQUIRE(fx.agents().AddAgent(Fixture::Agent("echo"), "echo").ok());
    REQUIRE(fx.agents().ApplyRosterAction(Fixture::Agent("echo"), RosterAction::kPause).ok());
    CHECK(fx.runtime().suspends().size() == 1);
    CHECK(fx.runtime().suspends()[0].reason == "manual");
    CHECK(fx.States("paused") == 1);
    const std::size_t connecting = fx.States("connecting");
    fx.Post("@echo wake up", {"echo"});
    CHECK(fx.runtime().activations().size() == 1);
    CHECK(fx.States("connecting") == connecting);
    CHECK(fx.Pending("echo") == 1);
  }

  TEST_CASE("an archived agent is skipped") {
    Fixture fx;
    REQUIRE(fx.agents().AddAgent(Fixture::Agent("echo"), "echo").ok());
    REQUIRE(fx.agents().ApplyRosterAction(Fixture::Agent("echo"), RosterAction::kDismiss).ok());
    CHECK(fx.Entry("echo").status == RosterStatus::kArchived);
    CHECK(fx.publisher.Matching("\"action\":\"dismiss\"").size() == 1);
    fx.Post("@echo anyone?", {"echo"});
    CHECK(fx.runtime().activations().size() == 1);
    CHECK(fx.Pending("echo") == 0);
  }

  TEST_CASE("unknown and empty callsigns are skipped") {
    Fixture fx;
    fx.Post("@nobody", {"", "nobody"});
    CHECK(fx.runtime().activations().empty());
    CHECK(fx.publisher.Lines().empty());
  }

  TEST_CASE("activate: a spawn failure surfaces as kUnavailable and publishes offline") {
    Fixture fx;
    fx.Roster("echo", RosterStatus::kPaused);
    fx.runtime().FailNextActivations(1);
    Result<RosterEntry> r =
        fx.agents().ApplyRosterAction(Fixture::Agent("echo"), RosterAction::kActivate);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kUnavailable);
    CHECK(fx.States("connecting") == 1);
    CHECK(fx.States("offline") == 1);
    CHECK(fx.Entry("echo").status == RosterStatus::kActive);  // the roster change stays
  }

  TEST_CASE("unarchive swallows a spawn failure") {
    Fixture fx;
    fx.Roster("echo", RosterStatus::kArchived);
    fx.runtime().FailNextActivations(1);
    Result<RosterEntry> r =
        fx.agents().ApplyRosterAction(Fixture::Agent("echo"), RosterAction::kUnarchive);
    REQUIRE(r.ok());
    CHECK(r->status == RosterStatus::kActive);
    CHECK(fx.States("offline") == 0);
  }

  TEST_CASE("roster actions Cast refuses answer kInvalidArgument with Cast's text") {
    Fixture fx;
    fx.Roster("p", RosterStatus::kPaused);
    fx.Roster("a");
    fx.Roster("x", RosterStatus::kArchived);
    struct Case {
      std::string callsign;
      RosterAction action;
      std::string text;
    };
    for (const Case& c : {Case{"p", RosterAction::kPause, "Agent is already paused"},
                          Case{"a", RosterAction::kResume, "Agent is not paused"},
                          Case{"x", RosterAction::kActivate, "Cannot activate archived agent"},
                          Case{"a", RosterAction::kUnarchive, "Agent is not dismissed"},
                          Case{"x", RosterAction::kDismiss, "Agent is already dismissed"}}) {
      CAPTURE(c.text);
      Result<RosterEntry> r = fx.agents().ApplyRosterAction(Fixture::Agent(c.callsign), c.action);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == ErrorCode::kInvalidArgument);
      CHECK(r.status().message() == c.text);
    }
    CHECK(fx.publisher.Lines().empty());
    CHECK(fx.runtime().suspends().empty());
  }

  TEST_CASE("remove is not a lifecycle action") {
    Fixture fx;
    fx.Roster("a");
    Result<RosterEntry> r =
        fx.agents().ApplyRosterAction(Fixture::Agent("a"), RosterAction::kRemove);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
    CHECK(fx.Entry("a").status == RosterStatus::kActive);
  }

  TEST_CASE("roster actions and activation of an agent not in the roster are kNotFound") {
    Fixture fx;
    Result<RosterEntry> r =
        fx.agents().ApplyRosterAction(Fixture::Agent("ghost"), RosterAction::kPause);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kNotFound);
    CHECK(r.status().message() == "Agent not found in roster");
    Status s = fx.agents().Activate(Fixture::Agent("ghost"));
    CHECK(s.code() == ErrorCode::kNotFound);
    CHECK(fx.runtime().activations().empty());
  }

  TEST_CASE("add agent refuses an empty callsign or agent type") {
    Fixture fx;
    for (const auto& [callsign, type] : std::vector<std::pair<std::string, std::string>>{
             {"", "echo"}, {"echo", ""}}) {
      Result<RosterEntry> r = fx.agents().AddAgent(Fixture::Agent(callsign), type);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == ErrorCode::kInvalidArgument);
      CHECK(r.status().message() == "callsign and agentType are required");
    }
    CHECK(fx.publisher.Lines().empty());
    CHECK(fx.runtime().activations().empty());
  }

  TEST_CASE("add agent refuses a callsign with ':' or control characters, nothing stored") {
    Fixture fx;
    for (const std::string& callsign : {"a:b", "echo:", "a\tb", "\x01"}) {
      CAPTURE(callsign);
      Result<RosterEntry> r = fx.agents().AddAgent(Fixture::Agent(callsign), "echo");
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == ErrorCode::kInvalidArgument);
      CHECK(r.status().message() == "callsign must not contain ':' or control characters");
      Json body = Json::Object();
      body.Set("callsign", callsign);
      body.Set("agentType", "echo");
      Result<RosterEntry> from_body = fx.agents().AddAgent(Caller("s1"), "c1", body);
      CHECK(from_body.status().code() == ErrorCode::kInvalidArgument);
    }
    CHECK(fx.publisher.Lines().empty());
    CHECK(fx.runtime().activations().empty());
  }

  TEST_CASE("add agent from a request body adds to the caller's channel and activates it") {
    Fixture fx;
    for (std::string_view body : {R"({"callsign":"echo","agentType":"echo"})",
                                  R"({"callsign":"fox","agentType":"echo","runtimeId":""})",
                                  R"({"callsign":"owl","agentType":"echo","runtimeId":null})",
                                  R"({"callsign":"cat","agentType":"echo","runtimeId":0})"}) {
      CAPTURE(body);
      Result<RosterEntry> entry = fx.agents().AddAgent(Caller("s1"), "c1", Body(body));
      REQUIRE(entry.ok());
      CHECK(entry->channel_id == "c1");
      CHECK(entry->agent_type == "echo");
      CHECK(entry->status == RosterStatus::kActive);
    }
    CHECK(fx.runtime().activations().size() == 4);
  }

  TEST_CASE("add agent from a request body refuses in Cast's order and publishes nothing") {
    Fixture fx;
    struct Case {
      std::string_view channel;
      std::string_view body;
      ErrorCode code;
      std::string_view message;
    };
    const std::string long_callsign(256, 'a');
    const std::string too_long = R"({"callsign":")" + long_callsign + R"(","agentType":"echo"})";
    for (const Case& c : {
             Case{"c1", R"({"agentType":"echo"})", ErrorCode::kInvalidArgument,
                  "callsign and agentType are required"},
             Case{"c1", R"({"callsign":"echo","agentType":""})", ErrorCode::kInvalidArgument,
                  "callsign and agentType are required"},
             Case{"c1", R"({"callsign":7,"agentType":"echo"})", ErrorCode::kInvalidArgument,
                  "callsign and agentType are required"},
             Case{"c1", too_long, ErrorCode::kInvalidArgument,
                  "callsign is too long (max 255 bytes)"},
             // The body is checked before the channel.
             Case{"nope", R"({"callsign":"echo"})", ErrorCode::kInvalidArgument,
                  "callsign and agentType are required"},
             Case{"nope", R"({"callsign":"echo","agentType":"echo"})", ErrorCode::kNotFound,
                  "Channel not found"},
             // The channel is looked up before the runtime.
             Case{"nope", R"({"callsign":"echo","agentType":"echo","runtimeId":"r1"})",
                  ErrorCode::kNotFound, "Channel not found"},
             Case{"c1", R"({"callsign":"echo","agentType":"echo","runtimeId":"r1"})",
                  ErrorCode::kNotFound, "Runtime not found"},
             Case{"c1", R"({"callsign":"echo","agentType":"echo","runtimeId":true})",
                  ErrorCode::kNotFound, "Runtime not found"},
         }) {
      CAPTURE(c.body);
      Result<RosterEntry> r = fx.agents().AddAgent(Caller("s1"), c.channel, Body(c.body));
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == c.code);
      CHECK(r.status().message() == c.message);
    }
    // Another space's channel is answered like a missing one (spec cast §8 #16).
    Result<RosterEntry> other =
        fx.agents().AddAgent(Caller("s2"), "c1", Body(R"({"callsign":"echo","agentType":"echo"})"));
    REQUIRE_FALSE(other.ok());
    CHECK(other.status().code() == ErrorCode::kNotFound);
    CHECK(other.status().message() == "Channel not found");
    CHECK(fx.publisher.Lines().empty());
    CHECK(fx.runtime().activations().empty());
  }

  TEST_CASE("a lifecycle action by callsign applies to the caller's channel") {
    Fixture fx;
    fx.Roster("a");
    Result<RosterEntry> paused =
        fx.agents().ApplyRosterAction(Caller("s1"), "c1", "a", RosterAction::kPause);
    REQUIRE(paused.ok());
    CHECK(paused->status == RosterStatus::kPaused);
    CHECK(fx.Entry("a").status == RosterStatus::kPaused);
    Result<RosterEntry> again =
        fx.agents().ApplyRosterAction(Caller("s1"), "c1", "a", RosterAction::kPause);
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("a lifecycle action outside the caller's channel or with a bad callsign is not found") {
    Fixture fx;
    fx.Roster("a");
    struct Case {
      std::string space;
      std::string channel;
      std::string callsign;
    };
    for (const Case& c : {Case{"s2", "c1", "a"}, Case{"s1", "nope", "a"}, Case{"s1", "", "a"},
                          Case{"s1", "c1", "ghost"}, Case{"s1", "c1", std::string(256, 'a')},
                          Case{"s1", "c1", std::string("a\0b", 3)}}) {
      CAPTURE(c.channel);
      CAPTURE(c.callsign);
      Result<RosterEntry> r = fx.agents().ApplyRosterAction(Caller(c.space), c.channel, c.callsign,
                                                            RosterAction::kPause);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == ErrorCode::kNotFound);
      CHECK(r.status().message() == "Agent not found in roster");
    }
    CHECK(fx.Entry("a").status == RosterStatus::kActive);
    CHECK(fx.publisher.Lines().empty());
  }

  TEST_CASE("the roster agent of the caller's channel is found, archived ones too") {
    Fixture fx;
    fx.Roster("a");
    fx.Roster("old", RosterStatus::kArchived);
    for (const char* callsign : {"a", "old"}) {
      CAPTURE(callsign);
      Result<AgentIdentity> found = fx.agents().FindRosterAgent(Caller("s1"), "c1", callsign);
      REQUIRE(found.ok());
      CHECK(*found == (AgentIdentity{"s1", "c1", callsign}));
    }
  }

  TEST_CASE("a roster agent outside the caller's channel or with a bad callsign is not found") {
    Fixture fx;
    fx.Roster("a");
    // The channel first (its own text), then the callsign.
    for (const char* channel : {"nope", ""}) {
      Result<AgentIdentity> r = fx.agents().FindRosterAgent(Caller("s1"), channel, "a");
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == ErrorCode::kNotFound);
      CHECK(r.status().message() == "Channel not found");
    }
    CHECK(fx.agents().FindRosterAgent(Caller("s2"), "c1", "a").status().message() ==
          "Channel not found");
    for (const std::string& callsign :
         {std::string("ghost"), std::string(256, 'a'), std::string("a\0b", 3), std::string()}) {
      Result<AgentIdentity> r = fx.agents().FindRosterAgent(Caller("s1"), "c1", callsign);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == ErrorCode::kNotFound);
      CHECK(r.status().message() == "Agent not found in roster");
    }
  }

  TEST_CASE("add agent to a channel that does not exist fails and publishes nothing") {
    Fixture fx;
    Result<RosterEntry> r = fx.agents().AddAgent(AgentIdentity{"s1", "nochannel", "echo"}, "echo");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kInternal);
    CHECK(fx.publisher.Lines().empty());
    CHECK(fx.runtime().activations().empty());
  }

  TEST_CASE("checkin and heartbeat with an empty callsign or unknown channel are kNotFound") {
    Fixture fx;
    for (const AgentIdentity& agent :
         {AgentIdentity{"s1", "c1", ""}, AgentIdentity{"s1", "nochannel", "echo"}}) {
      Result<CheckinOutcome> in = fx.agents().Checkin(agent, std::string(kEndpoint), Json());
      REQUIRE_FALSE(in.ok());
      CHECK(in.status().code() == ErrorCode::kNotFound);
      Result<UnixMillis> beat = fx.agents().Heartbeat(agent);
      REQUIRE_FALSE(beat.ok());
      CHECK(beat.status().code() == ErrorCode::kNotFound);
    }
    CHECK(fx.publisher.Lines().empty());
  }

  TEST_CASE("checkin with route hints that are not an object keeps the stored hints") {
    Fixture fx;
    REQUIRE(fx.agents().AddAgent(Fixture::Agent("echo"), "echo").ok());
    Json hints = Json::Object();
    hints.Set("x-machine", "m1");
    REQUIRE(fx.agents().Checkin(Fixture::Agent("echo"), std::string(kEndpoint), hints).ok());
    REQUIRE(fx.agents().Checkin(Fixture::Agent("echo"), std::string(kEndpoint), Json("junk")).ok());
    RosterEntry entry = fx.Entry("echo");
    const Json* kept = entry.route_hints.Find("x-machine");
    REQUIRE(kept != nullptr);
    CHECK(kept->as_string() == "m1");
  }

  TEST_CASE("a heartbeat of an archived agent is stored but not published") {
    Fixture fx;
    fx.Roster("gone", RosterStatus::kArchived);
    REQUIRE(fx.agents().Heartbeat(Fixture::Agent("gone")).ok());
    CHECK(fx.Entry("gone").last_heartbeat.has_value());
    CHECK(fx.publisher.Lines().empty());
  }

  TEST_CASE("a sweep at a time before the last checkin fires nothing") {
    Fixture fx;
    Online(fx, "echo");
    fx.agents().Sweep(fx.clock.NowMillis() - 1'000'000);
    CHECK(fx.States("offline") == 0);
    CHECK(fx.runtime().suspends().empty());
  }

  TEST_CASE("a roster action outside the enumerators is kInvalidArgument") {
    Fixture fx;
    fx.Roster("a");
    Result<RosterEntry> r =
        fx.agents().ApplyRosterAction(Fixture::Agent("a"), static_cast<RosterAction>(99));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
    CHECK(fx.publisher.Lines().empty());
  }

  TEST_CASE("presence of an unknown agent is offline with no heartbeat") {
    Fixture fx;
    Result<AgentPresence> p = fx.agents().Presence(Fixture::Agent("ghost"));
    REQUIRE(p.ok());
    CHECK_FALSE(p->online);
    CHECK_FALSE(p->endpoint.has_value());
    CHECK_FALSE(p->last_heartbeat.has_value());
  }

  TEST_CASE("a runtime failure publishes offline; the next message starts the agent again") {
    Fixture fx;
    Online(fx, "echo");
    fx.runtime().Exit("s1:c1:echo", AgentEventKind::kFailed, "exited with code 3");
    CHECK(fx.States("offline") == 1);
    CHECK_FALSE(fx.Entry("echo").callback_url.has_value());
    fx.Post("@echo again", {"echo"});
    CHECK(fx.runtime().activations().size() == 2);
  }

  TEST_CASE("an agent removed from its roster is stopped by the sweep") {
    Fixture fx;
    Online(fx, "echo");
    RosterPatch archived;
    archived.status = RosterStatus::kArchived;
    REQUIRE(fx.hub->store().UpdateRosterEntry("c1", "echo", archived).ok());
    fx.clock.Advance(1'000);
    fx.Sweep();
    std::vector<FakeRuntime::SuspendCall> stopped = fx.runtime().suspends();
    REQUIRE(stopped.size() == 1);
    CHECK(stopped[0].reason == "removed");
  }

  TEST_CASE("logs are read through the runtime that runs the agent") {
    Fixture fx;
    Online(fx, "echo");
    fx.runtime().SetLog("s1:c1:echo", "hello log");
    Result<LogChunk> chunk = fx.agents().ReadLog(Fixture::Agent("echo"), 6, 100);
    REQUIRE(chunk.ok());
    CHECK(chunk->data == "log");
    CHECK(chunk->next_offset == 9);
  }

  TEST_CASE("logs of an agent that wrote none are kNotFound; an offset past the end is refused") {
    Fixture fx;
    fx.Roster("quiet");
    Result<LogChunk> none = fx.agents().ReadLog(Fixture::Agent("quiet"), 0, 100);
    REQUIRE_FALSE(none.ok());
    CHECK(none.status().code() == ErrorCode::kNotFound);
    fx.runtime().SetLog("s1:c1:quiet", "ab");
    Result<LogChunk> past = fx.agents().ReadLog(Fixture::Agent("quiet"), 3, 100);
    REQUIRE_FALSE(past.ok());
    CHECK(past.status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("close stops the agents and clears their callbacks; later activations fail") {
    Fixture fx;
    Online(fx, "echo");
    fx.hub->Close();
    CHECK(fx.runtime().shutdowns() == 1);
    CHECK_FALSE(fx.Entry("echo").callback_url.has_value());
    Status s = fx.agents().Activate(Fixture::Agent("echo"));
    CHECK(s.code() == ErrorCode::kUnavailable);
  }

  TEST_CASE("the API URL set after start reaches later activations") {
    Fixture fx;
    fx.agents().SetApiUrl("http://127.0.0.1:41000");
    CHECK(fx.agents().api_url() == "http://127.0.0.1:41000");
    REQUIRE(fx.agents().AddAgent(Fixture::Agent("echo"), "echo").ok());
    REQUIRE(fx.runtime().activations().size() == 1);
    CHECK(fx.runtime().activations()[0].api_url == "http://127.0.0.1:41000");
  }
}

TEST_SUITE("AgentService caps") {
  // A fixture whose space may hold `max_agents` agents and run `max_running` of them.
  std::unique_ptr<Fixture> Capped(std::size_t max_agents, std::size_t max_running) {
    return std::make_unique<Fixture>("sqlite::memory:", true, max_agents, max_running);
  }

  TEST_CASE("an add past the running cap is refused: nothing stored, published or started") {
    auto fx = Capped(0, 2);
    REQUIRE(fx->agents().AddAgent(Fixture::Agent("a"), "echo").ok());
    REQUIRE(fx->agents().AddAgent(Fixture::Agent("b"), "echo").ok());
    const std::size_t lines = fx->publisher.Lines().size();
    Result<RosterEntry> third = fx->agents().AddAgent(Fixture::Agent("c"), "echo");
    REQUIRE_FALSE(third.ok());
    CHECK(third.status().code() == ErrorCode::kRateLimited);
    CHECK(third.status().message() ==
          "space \"s1\" already runs 2 agents, the most it may run at once; pause or dismiss "
          "one first");
    CHECK(fx->hub->store().GetRosterEntry("c1", "c").status().code() == ErrorCode::kNotFound);
    CHECK(fx->publisher.Lines().size() == lines);
    CHECK(fx->runtime().activations().size() == 2);
    // A paused agent no longer runs: its place is free.
    REQUIRE(fx->agents().ApplyRosterAction(Fixture::Agent("a"), RosterAction::kPause).ok());
    CHECK(fx->agents().AddAgent(Fixture::Agent("c"), "echo").ok());
    CHECK(fx->runtime().activations().size() == 3);
  }

  TEST_CASE("an activation past the running cap is refused and changes nothing") {
    auto fx = Capped(0, 1);
    REQUIRE(fx->agents().AddAgent(Fixture::Agent("a"), "echo").ok());
    fx->Roster("b", RosterStatus::kPaused);
    const RosterEntry before = fx->Entry("b");
    const std::size_t lines = fx->publisher.Lines().size();
    Result<RosterEntry> r =
        fx->agents().ApplyRosterAction(Fixture::Agent("b"), RosterAction::kActivate);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kRateLimited);
    CHECK(fx->Entry("b").status == before.status);
    CHECK(fx->publisher.Lines().size() == lines);
    CHECK(fx->runtime().activations().size() == 1);
    Status direct = fx->agents().Activate(Fixture::Agent("b"));
    CHECK(direct.code() == ErrorCode::kRateLimited);
    CHECK(fx->runtime().activations().size() == 1);
    // Activating the running one again is no new start: allowed.
    CHECK(fx->agents().Activate(Fixture::Agent("a")).ok());
  }

  TEST_CASE("a message to an agent past the running cap is queued, not started") {
    auto fx = Capped(0, 1);
    REQUIRE(fx->agents().AddAgent(Fixture::Agent("a"), "echo").ok());
    fx->Roster("b");
    fx->Post("@b hi", {"b"});
    CHECK(fx->runtime().activations().size() == 1);
    CHECK(fx->Pending("b") == 1);
    // Once a stops, the next message starts b.
    REQUIRE(fx->agents().ApplyRosterAction(Fixture::Agent("a"), RosterAction::kPause).ok());
    fx->Post("@b again", {"b"});
    CHECK(fx->runtime().activations().size() == 2);
  }

  TEST_CASE("an add past the agent cap is refused, by either route, and unarchive too") {
    auto fx = Capped(2, 0);
    REQUIRE(fx->agents().AddAgent(Fixture::Agent("a"), "echo").ok());
    REQUIRE(fx->agents().AddAgent(Fixture::Agent("b"), "echo").ok());
    const std::size_t lines = fx->publisher.Lines().size();
    Result<RosterEntry> third = fx->agents().AddAgent(Fixture::Agent("c"), "echo");
    REQUIRE_FALSE(third.ok());
    CHECK(third.status().code() == ErrorCode::kRateLimited);
    CHECK(third.status().message() ==
          "space \"s1\" already has 2 agents, the most it may have; dismiss or remove one first");
    Result<RosterEntry> raw =
        fx->hub->channels().AddToRoster(Caller("s1"), "c1", Body(R"({"callsign":"c","agentType":"x"})"));
    REQUIRE_FALSE(raw.ok());
    CHECK(raw.status().code() == ErrorCode::kRateLimited);
    CHECK(fx->hub->store().GetRosterEntry("c1", "c").status().code() == ErrorCode::kNotFound);
    CHECK(fx->publisher.Lines().size() == lines);
    CHECK(fx->runtime().activations().size() == 2);
    // A dismissed (archived) agent does not count; bringing it back does.
    REQUIRE(fx->agents().ApplyRosterAction(Fixture::Agent("a"), RosterAction::kDismiss).ok());
    REQUIRE(fx->agents().AddAgent(Fixture::Agent("c"), "echo").ok());
    Result<RosterEntry> back =
        fx->agents().ApplyRosterAction(Fixture::Agent("a"), RosterAction::kUnarchive);
    REQUIRE_FALSE(back.ok());
    CHECK(back.status().code() == ErrorCode::kRateLimited);
    CHECK(fx->Entry("a").status == RosterStatus::kArchived);
  }

  TEST_CASE("caps of 0 mean no cap, and one space's agents do not count for another") {
    auto fx = Capped(0, 0);
    for (int i = 0; i < 60; ++i) {
      REQUIRE(fx->agents().AddAgent(Fixture::Agent("a" + std::to_string(i)), "echo").ok());
    }
    CHECK(fx->runtime().activations().size() == 60);
    auto other = Capped(1, 1);
    Space space;
    space.id = "s2";
    space.name = "Other";
    space.owner_callsign = "bob";
    REQUIRE(other->hub->store().EnsureSpace(space).ok());
    NewChannel channel;
    channel.id = "c2";
    channel.space_id = "s2";
    channel.name = "general";
    REQUIRE(other->hub->store().CreateChannel(channel).ok());
    REQUIRE(other->agents().AddAgent(Fixture::Agent("a"), "echo").ok());
    CHECK(other->agents().AddAgent(AgentIdentity{"s2", "c2", "b"}, "echo").ok());
  }
}

}  // namespace
}  // namespace agentcore
