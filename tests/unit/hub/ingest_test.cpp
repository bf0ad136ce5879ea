// SPDX-License-Identifier: Apache-2.0
// Tymbal ingest through the hub (spec cast §4.8, §4.8.1, §2.9, §2.10), without HTTP: what is
// stored, what is published and in which order.
#include <agentcore/hub/ingest.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/hub/hub.hpp>
#include <agentcore/tymbal/parser.hpp>

#include "store/temp_dir.hpp"
#include "support/manual_clock.hpp"
#include "support/recording_publisher.hpp"
#include "support/test_hub.hpp"

namespace agentcore {
namespace {

using testing::ManualClock;
using testing::RecordingPublisher;
using testing::TempDir;
using namespace std::chrono_literals;

const std::string kSpace = "space1";
const std::string kId = "01JGZ5V7A1B2C3D4E5F6G7H8J9";

/// A hub on an in-memory SQLite store with two channels, "ch1" and "ch2". `async_writes`
/// false forces the blocking path (the path of a store without native async writes).
struct Fixture {
  ManualClock clock;
  RecordingPublisher publisher;
  TempDir dir;
  std::unique_ptr<Hub> hub;
  IngestTarget target{kSpace, "ch1", false};

  explicit Fixture(bool async_writes = true) {
    HubOptions o = testing::TestHubOptions(&clock, &publisher, dir);
    o.ingest.async_writes = async_writes;
    hub = testing::OpenTestHub(std::move(o));
    Space space;
    space.id = kSpace;
    space.name = "Acme";
    REQUIRE(hub->store().EnsureSpace(space).ok());
    for (const char* id : {"ch1", "ch2"}) {
      NewChannel c;
      c.id = id;
      c.space_id = kSpace;
      c.name = id;
      REQUIRE(hub->store().CreateChannel(c).ok());
    }
  }
  Ingest& ingest() { return hub->ingest(); }
  Store& store() { return hub->store(); }

  static TymbalFrame Frame(std::string_view line) {
    Result<TymbalFrame> frame = ParseFrame(line);
    REQUIRE(frame.ok());
    return std::move(*frame);
  }
  /// ApplyAsync, waited for (no resume executor: it finishes on the reporting thread).
  Status ApplyAsync(std::string_view line, const IngestTarget& to) {
    std::promise<Status> done;
    ingest().ApplyAsync(Frame(line), to, nullptr, [&done](Status s) { done.set_value(s); });
    return done.get_future().get();
  }
  Status Apply(std::string_view line, bool async, const IngestTarget& to) {
    return async ? ApplyAsync(line, to) : ingest().Apply(Frame(line), to);
  }
  Status Apply(std::string_view line, bool async) { return Apply(line, async, target); }
  std::string Authorization(std::string channel, std::string space = kSpace) {
    return "Container " + hub->ContainerToken(AgentIdentity{space, channel, "echo"});
  }
};

std::string SetLine(const std::string& id, const std::string& value) {
  return R"({"i":")" + id + R"(","t":"2026-01-04T10:00:01.250Z","v":)" + value + "}";
}
const std::string kSet = SetLine(kId, R"({"type":"agent","content":"Hello","sender":"echo"})");

/// Commits `session`, waiting for its report.
Status Commit(IngestSession& session, bool force = false) {
  std::promise<Status> done;
  session.Commit(force, [&done](Status s) { done.set_value(s); });
  return done.get_future().get();
}
void Interrupt(IngestSession& session) {
  std::promise<void> done;
  session.Interrupt([&done] { done.set_value(); });
  done.get_future().get();
}
void AcceptAll(IngestSession& session, const std::vector<std::string>& lines) {
  for (const std::string& line : lines) CHECK(session.Accept(Fixture::Frame(line)).ok());
}

const std::string kStreamId = "01JGZ5V7A1B2C3D4E5F6G7H8S1";
const std::string kStart =
    R"({"i":")" + kStreamId + R"(","m":{"type":"agent","sender":"echo","senderType":"agent"}})";
const std::string kAppend1 = R"({"i":")" + kStreamId + R"(","a":"Hel"})";
const std::string kAppend2 = R"({"i":")" + kStreamId + R"(","a":"lo"})";
const std::string kStreamSet =
    SetLine(kStreamId, R"({"type":"agent","content":"Hello","sender":"echo"})");

TEST_SUITE("Ingest") {
  TEST_CASE("a set frame is stored, then published with its message id as event id") {
    for (bool async : {true, false}) {
      for (bool native : {true, false}) {
        CAPTURE(async);
        CAPTURE(native);
        Fixture f(native);
        REQUIRE(f.Apply(kSet, async).ok());
        Result<Message> m = f.store().GetMessage(kId);
        REQUIRE(m.ok());
        CHECK(m->content == Json("Hello"));
        CHECK(m->sender == "echo");
        CHECK(m->sender_type == "agent");
        CHECK(m->is_complete);
        CHECK(m->metadata == ParseJson(R"({"fromTymbal":true,"method":"agent_output"})").value());
        auto lines = f.publisher.Lines();
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].channel_id == "ch1");
        CHECK(lines[0].event_id == kId);
        CHECK(m->seq > 0);
        CHECK(lines[0].seq == m->seq);  // subscribers dedupe replay and live lines by seq
        CHECK(lines[0].line == kSet.substr(0, kSet.size() - 1) + R"(,"c":"ch1"})");
      }
    }
  }

  TEST_CASE("a retried set frame is neither stored nor published again") {
    for (bool async : {true, false}) {
      Fixture f;
      REQUIRE(f.Apply(kSet, async).ok());
      REQUIRE(f.Apply(SetLine(kId, R"({"type":"agent","content":"Changed"})"), async).ok());
      CHECK(f.store().GetMessage(kId)->content == Json("Hello"));
      CHECK(f.publisher.Lines().size() == 1);
    }
  }

  TEST_CASE("a set frame whose id another channel holds fails and is not published") {
    for (bool async : {true, false}) {
      Fixture f;
      REQUIRE(f.Apply(kSet, async).ok());
      IngestTarget other{kSpace, "ch2", false};
      Status s = f.Apply(kSet, async, other);
      CHECK(s.code() == ErrorCode::kAlreadyExists);
      CHECK(f.publisher.Lines().size() == 1);
      CHECK(f.store().GetMessage(kId)->channel_id == "ch1");
    }
  }

  // Issue 13 §3/§4: one id rule on every way in (single and batch lines: Apply/ApplyAsync;
  // streamed uploads: IngestSession::Accept), decided here, not by the server.
  const std::vector<std::pair<const char*, std::string>> kBadIds = {
      {"empty", ""},
      {"25 characters", "01JGZ5V7A1B2C3D4E5F6G7H8J"},
      {"27 characters", "01JGZ5V7A1B2C3D4E5F6G7H8J9K"},
      {"lower case", "01jgz5v7a1b2c3d4e5f6g7h8j9"},
      {"U", "01JGZ5V7A1B2C3D4E5F6G7H8JU"},
      {"I", "01JGZ5V7A1B2C3D4E5F6G7H8JI"},
      {"L", "01JGZ5V7A1B2C3D4E5F6G7H8JL"},
      {"O", "01JGZ5V7A1B2C3D4E5F6G7H8JO"},
      {"NUL", "01JGZ5V7A1B2C3D4E5F6G7\\u0000H8J"},
      {"300 bytes", std::string(300, 'A')},
      {"unicode, 26 bytes", "\u00c0\u00c0\u00c0\u00c0\u00c0\u00c0\u00c0\u00c0\u00c0\u00c0\u00c0\u00c0\u00c0"},
      {"time past 48 bits", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
      {"Cast's test id", "01J001"},
  };

  TEST_CASE("a set or start frame whose id is not a ULID is refused, nothing stored or published") {
    for (bool async : {true, false}) {
      for (bool native : {true, false}) {
        Fixture f(native);
        for (const auto& bad : kBadIds) {
          const std::string& id = bad.second;
          CAPTURE(bad.first);
          for (const std::string& line :
               {SetLine(id, R"({"type":"agent","content":"x","sender":"echo"})"),
                SetLine(id, R"({"type":"cost","sender":"echo","totalCostUsd":1})"),
                R"({"i":")" + id + R"(","m":{"sender":"echo"}})"}) {
            Status s = f.Apply(line, async);
            CHECK(s.code() == ErrorCode::kInvalidArgument);
            CHECK(s.message() == kMessageIdNotUlid);
          }
        }
        CHECK(f.publisher.Lines().empty());
        CHECK(f.store().ListMessages("ch1", PageRequest{})->messages.empty());
        CHECK(f.store().ListCosts("ch1")->empty());
      }
    }
  }

  TEST_CASE("appends, resets and control frames are not held to the id rule") {
    Fixture f;
    CHECK(f.Apply(R"({"i":"m1","a":"x"})", false).ok());
    CHECK(f.Apply(R"({"i":"m1","v":null})", false).ok());
    CHECK(f.publisher.Lines().size() == 2);
  }

  TEST_CASE("the largest ULID and the smallest are valid ids") {
    Fixture f;
    CHECK(f.Apply(SetLine("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", R"({"content":"a"})"), false).ok());
    CHECK(f.Apply(SetLine("00000000000000000000000000", R"({"content":"b"})"), false).ok());
  }

  TEST_CASE("a streamed upload refuses frames whose id is not a ULID and takes the rest") {
    Fixture f;
    std::unique_ptr<IngestSession> session = f.ingest().NewSession(f.target);
    for (const auto& bad : kBadIds) {
      const std::string& id = bad.second;
      CAPTURE(bad.first);
      Status start = session->Accept(Fixture::Frame(R"({"i":")" + id + R"(","m":{"sender":"echo"}})"));
      CHECK(start.code() == ErrorCode::kInvalidArgument);
      Status set = session->Accept(
          Fixture::Frame(SetLine(id, R"({"type":"agent","content":"x","sender":"echo"})")));
      CHECK(set.code() == ErrorCode::kInvalidArgument);
      CHECK(set.message() == kMessageIdNotUlid);
    }
    CHECK(session->frames() == 0);
    AcceptAll(*session, {kStart, kAppend1, kStreamSet});
    REQUIRE(Commit(*session).ok());
    auto page = f.store().ListMessages("ch1", PageRequest{});
    REQUIRE(page->messages.size() == 1);
    CHECK(page->messages[0].id == kStreamId);
  }

  TEST_CASE("a streamed set frame is published with the seq its message got at the start") {
    for (bool native : {true, false}) {
      Fixture f(native);
      REQUIRE(f.Apply(kSet, true).ok());  // another message first: the stream's seq is not 1
      std::unique_ptr<IngestSession> session = f.ingest().NewSession(f.target);
      AcceptAll(*session, {kStart, kAppend1});
      REQUIRE(Commit(*session).ok());
      const std::uint64_t seq = f.store().GetMessage(kStreamId)->seq;
      AcceptAll(*session, {kAppend2, kStreamSet});
      REQUIRE(Commit(*session).ok());
      CHECK(f.store().GetMessage(kStreamId)->seq == seq);  // completed in place
      auto events = f.publisher.Matching(R"("v":)");
      REQUIRE(events.size() == 2);
      CHECK(events[1].event_id == kStreamId);
      CHECK(events[1].seq == seq);
      CHECK(events[0].seq < seq);
    }
  }

  TEST_CASE("a set frame for a channel that does not exist fails and is not published") {
    for (bool async : {true, false}) {
      for (bool native : {true, false}) {
        Fixture f(native);
        IngestTarget nowhere{kSpace, "no-such-channel", false};
        CHECK_FALSE(f.Apply(kSet, async, nowhere).ok());
        CHECK(f.store().GetMessage(kId).status().code() == ErrorCode::kNotFound);
        CHECK(f.publisher.Lines().empty());
      }
    }
  }

  TEST_CASE("a tool_call's input becomes args; the legacy route keeps input beside it") {
    const std::string id = "01JGZ5V7A1B2C3D4E5F6G7H8K0";
    const std::string tool = SetLine(
        id,
        R"({"type":"tool_call","sender":"echo","toolCallId":"t1","name":"ls","input":{"p":1}})");
    SUBCASE("main route") {
      Fixture f;
      REQUIRE(f.Apply(tool, true).ok());
      Result<Message> m = f.store().GetMessage(id);
      REQUIRE(m.ok());
      CHECK(m->content.Find("input") == nullptr);
      CHECK(*m->content.Find("args") == ParseJson(R"({"p":1})").value());
      CHECK(f.publisher.Lines()[0].line.find(R"("name":"ls","args":{"p":1}},"c":"ch1"})") !=
            std::string::npos);
    }
    SUBCASE("legacy route") {
      Fixture f;
      IngestTarget legacy{kSpace, "ch1", true};
      REQUIRE(f.Apply(tool, false, legacy).ok());
      Result<Message> m = f.store().GetMessage(id);
      REQUIRE(m.ok());
      CHECK(m->content.Find("input") != nullptr);
      CHECK(m->content.Find("args") != nullptr);
      const std::string line = f.publisher.Lines()[0].line;
      CHECK(line.find(R"("c":)") == std::string::npos);  // §4.8: no channel on the legacy route
      CHECK(line.find(R"("input":{"p":1},"args":{"p":1})") != std::string::npos);
    }
    SUBCASE("args present already: nothing changes") {
      Json v = ParseJson(R"({"type":"tool_call","input":1,"args":2})").value();
      Json before = v;
      NormalizeToolCall(&v, false);
      CHECK(v == before);
      Json not_a_tool = ParseJson(R"({"type":"agent","input":1})").value();
      NormalizeToolCall(&not_a_tool, false);
      CHECK(not_a_tool.Find("args") == nullptr);
    }
  }

  TEST_CASE("a cost frame upserts the cost record and is published; no message") {
    for (bool async : {true, false}) {
      for (bool native : {true, false}) {
        Fixture f(native);
        const std::string id = "01JGZ5V7A1B2C3D4E5F6G7H8C1";
        REQUIRE(
            f.Apply(
                 SetLine(id, R"({"type":"cost","sender":"echo","totalCostUsd":0.5,"numTurns":2})"),
                 async)
                .ok());
        Result<std::vector<CostRecord>> costs = f.store().ListCosts("ch1");
        REQUIRE(costs.ok());
        REQUIRE(costs->size() == 1);
        CHECK((*costs)[0].cost_usd == doctest::Approx(0.5));
        CHECK((*costs)[0].num_turns == 2);
        CHECK(f.store().GetMessage(id).status().code() == ErrorCode::kNotFound);
        REQUIRE(f.publisher.Lines().size() == 1);
        CHECK(f.publisher.Lines()[0].event_id == id);
      }
    }
  }

  TEST_CASE("a cost frame without a sender is published and not stored") {
    for (bool async : {true, false}) {
      Fixture f;
      const std::string id = "01JGZ5V7A1B2C3D4E5F6G7H8C2";
      REQUIRE(f.Apply(SetLine(id, R"({"type":"cost","totalCostUsd":1})"), async).ok());
      CHECK(f.store().ListCosts("ch1")->empty());
      CHECK(f.store().GetMessage(id).status().code() == ErrorCode::kNotFound);
      CHECK(f.publisher.Lines().size() == 1);
    }
  }

  TEST_CASE("a reset deletes its message, then is published; an unknown id is published too") {
    for (bool async : {true, false}) {
      Fixture f;
      REQUIRE(f.Apply(kSet, async).ok());
      f.publisher.Clear();
      const std::string reset = R"({"i":")" + kId + R"(","v":null})";
      REQUIRE(f.Apply(reset, async).ok());
      CHECK(f.store().GetMessage(kId).status().code() == ErrorCode::kNotFound);
      auto lines = f.publisher.Lines();
      REQUIRE(lines.size() == 1);
      CHECK(lines[0].line == R"({"i":")" + kId + R"(","v":null,"c":"ch1"})");
      CHECK(lines[0].event_id.empty());
      // Nothing to delete: not an error, still published (§4.8.1).
      REQUIRE(f.Apply(R"({"i":"01JGZ5V7A1B2C3D4E5F6G7H8ZZ","v":null})", async).ok());
      CHECK(f.publisher.Lines().size() == 2);
    }
  }

  TEST_CASE("a reset never deletes another channel's message") {
    for (bool async : {true, false}) {
      Fixture f;
      REQUIRE(f.Apply(kSet, async).ok());
      IngestTarget other{kSpace, "ch2", false};
      REQUIRE(f.Apply(R"({"i":")" + kId + R"(","v":null})", async, other).ok());
      CHECK(f.store().GetMessage(kId).ok());
      IngestTarget other_space{"space2", "ch1", false};
      REQUIRE(f.Apply(R"({"i":")" + kId + R"(","v":null})", async, other_space).ok());
      CHECK(f.store().GetMessage(kId).ok());
    }
  }

  TEST_CASE("frames that store nothing are only published, with the channel last") {
    Fixture f;
    REQUIRE(f.Apply(R"({"i":"x1","a":"hi","bq":"1"})", false).ok());
    REQUIRE(f.Apply(R"({"i":"x1","a":"ho","c":"elsewhere","z":1})", true).ok());
    auto lines = f.publisher.Lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].line == R"({"i":"x1","a":"hi","bq":"1","c":"ch1"})");
    CHECK(lines[1].line == R"({"i":"x1","a":"ho","c":"ch1","z":1})");  // replaced in place
    CHECK(f.store().GetMessage("x1").status().code() == ErrorCode::kNotFound);
  }

  TEST_CASE("a container token for this channel gives its space as the target") {
    Fixture f;
    Result<IngestTarget> t = f.ingest().ChannelTarget(f.Authorization("ch1"), "ch1");
    REQUIRE(t.ok());
    CHECK(t->space_id == kSpace);
    CHECK(t->channel_id == "ch1");
    CHECK_FALSE(t->legacy);
  }

  TEST_CASE("a container token for another channel is refused") {
    Fixture f;
    Result<IngestTarget> t = f.ingest().ChannelTarget(f.Authorization("ch2"), "ch1");
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().code() == ErrorCode::kPermissionDenied);
    CHECK(t.status().message() == "container token is for another channel");
  }

  TEST_CASE("missing, malformed and forged container tokens are unauthenticated") {
    Fixture f;
    for (std::string_view bad : {"", "Bearer abc", "Container not.atoken", "Agent"}) {
      CAPTURE(bad);
      Result<IngestTarget> t = f.ingest().ChannelTarget(bad, "ch1");
      REQUIRE_FALSE(t.ok());
      CHECK(t.status().code() == ErrorCode::kUnauthenticated);
    }
    CHECK(f.ingest().ChannelTarget("", "ch1").status().message() == "Missing Authorization header");
  }

  TEST_CASE("a target must be an existing channel of the token's space, on every route") {
    Fixture f;
    Result<IngestTarget> t = f.ingest().StreamTarget(f.Authorization("ch1"), "ch1");
    REQUIRE(t.ok());
    CHECK(t->space_id == kSpace);
    // A well-signed token for a channel that does not exist, or one that could not exist:
    // answered like a missing channel.
    for (const std::string& id : {std::string("nope"), std::string(300, 'x'),
                                  std::string("a\x01b"), std::string("\xff\xfe")}) {
      CAPTURE(id);
      for (bool stream : {false, true}) {
        Result<IngestTarget> bad =
            stream ? f.ingest().StreamTarget(f.Authorization(id), id)
                   : f.ingest().ChannelTarget(f.Authorization(id), id);
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.status().code() == ErrorCode::kNotFound);
        CHECK(bad.status().message() == "Channel not found");
      }
    }
    // A token signed for a space that does not hold the channel (issue 13: it used to reach
    // the store, answer 500 and publish non-set frames into the channel). Changed from the
    // stream route's earlier kNotFound: every ingest route answers it alike.
    for (bool stream : {false, true}) {
      Result<IngestTarget> foreign =
          stream ? f.ingest().StreamTarget(f.Authorization("ch1", "other-space"), "ch1")
                 : f.ingest().ChannelTarget(f.Authorization("ch1", "other-space"), "ch1");
      REQUIRE_FALSE(foreign.ok());
      CHECK(foreign.status().code() == ErrorCode::kPermissionDenied);
      CHECK(foreign.status().message() == "container token is for another space");
    }
    // The token checks come first.
    CHECK(f.ingest().StreamTarget("", "ch1").status().code() == ErrorCode::kUnauthenticated);
    CHECK(f.ingest().StreamTarget(f.Authorization("ch2"), "ch1").status().code() ==
          ErrorCode::kPermissionDenied);
  }

  TEST_CASE("a channel's space is read from the store once, then remembered") {
    Fixture f;
    CHECK(f.ingest().ChannelTargetReadsStore("ch1"));
    REQUIRE(f.ingest().ChannelTarget(f.Authorization("ch1"), "ch1").ok());
    CHECK_FALSE(f.ingest().ChannelTargetReadsStore("ch1"));
    // Remembered for the space check too: another space is still refused.
    CHECK(f.ingest().ChannelTarget(f.Authorization("ch1", "other"), "ch1").status().code() ==
          ErrorCode::kPermissionDenied);
    // Missing channels are not remembered (one may be created later); impossible ids never
    // reach the store.
    CHECK(f.ingest().ChannelTarget(f.Authorization("ch3"), "ch3").status().code() ==
          ErrorCode::kNotFound);
    CHECK(f.ingest().ChannelTargetReadsStore("ch3"));
    CHECK_FALSE(f.ingest().ChannelTargetReadsStore(std::string(300, 'x')));
    CHECK_FALSE(f.ingest().ChannelTargetReadsStore(""));
  }

  TEST_CASE("a legacy thread id names the space and channel; open skips the token") {
    Fixture f;
    Result<IngestTarget> t =
        f.ingest().LegacyTarget("space1:ch1:echo", f.Authorization("ch1"), false);
    REQUIRE(t.ok());
    CHECK(t->space_id == kSpace);
    CHECK(t->channel_id == "ch1");
    CHECK(t->legacy);
    Result<IngestTarget> open = f.ingest().LegacyTarget("space1:ch2", "", true);
    REQUIRE(open.ok());
    CHECK(open->space_id == kSpace);
    CHECK(open->channel_id == "ch2");
    // Open, but the thread's space must hold the channel (it used to reach the store: 500).
    for (std::string_view bad : {"anyspace:ch9", "anyspace:ch1", "space1:ch9"}) {
      CAPTURE(bad);
      Result<IngestTarget> refused = f.ingest().LegacyTarget(bad, "", true);
      CHECK(refused.status().code() == ErrorCode::kNotFound);
      CHECK(refused.status().message() == "Channel not found");
    }
  }

  TEST_CASE("bad legacy thread ids are refused before the token is looked at") {
    Fixture f;
    for (std::string_view bad : {"nocolon", ":ch1", "space1:", ""}) {
      CAPTURE(bad);
      for (bool open : {false, true}) {
        Result<IngestTarget> t = f.ingest().LegacyTarget(bad, f.Authorization("ch1"), open);
        REQUIRE_FALSE(t.ok());
        CHECK(t.status().code() == ErrorCode::kInvalidArgument);
        CHECK(t.status().message() == "Thread ID must be spaceId:channelId[:callsign]");
      }
    }
  }

  TEST_CASE("the legacy route without open needs a token for that channel and space") {
    Fixture f;
    CHECK(f.ingest().LegacyTarget("space1:ch1", "", false).status().code() ==
          ErrorCode::kUnauthenticated);
    CHECK(f.ingest().LegacyTarget("space1:ch1", f.Authorization("ch2"), false).status().code() ==
          ErrorCode::kPermissionDenied);
    Result<IngestTarget> space =
        f.ingest().LegacyTarget("space1:ch1", f.Authorization("ch1", "space2"), false);
    CHECK(space.status().code() == ErrorCode::kPermissionDenied);
    CHECK(space.status().message() == "container token is for another space");
  }
}

TEST_SUITE("IngestSession") {
  TEST_CASE("start, appends and set in one piece make one complete message, lines in order") {
    for (bool native : {true, false}) {
      CAPTURE(native);
      Fixture f(native);
      auto session = f.ingest().NewSession(f.target);
      AcceptAll(*session, {kStart, kAppend1, kAppend2, kStreamSet});
      CHECK(session->Pending());
      REQUIRE(Commit(*session).ok());
      Result<Message> m = f.store().GetMessage(kStreamId);
      REQUIRE(m.ok());
      CHECK(m->is_complete);
      CHECK(m->content == Json("Hello"));
      CHECK(session->frames() == 4);
      CHECK(session->persisted() == 2);
      auto lines = f.publisher.Lines();
      REQUIRE(lines.size() == 4);
      std::vector<std::string> sent = {kStart, kAppend1, kAppend2, kStreamSet};
      for (std::size_t i = 0; i < 4; ++i) {
        CHECK(lines[i].line == sent[i].substr(0, sent[i].size() - 1) + R"(,"c":"ch1"})");
        CHECK(lines[i].call == lines[0].call);  // one publish for the piece
      }
      CHECK(lines[3].event_id == kStreamId);
      CHECK(lines[0].event_id.empty());
      CHECK_FALSE(session->Pending());
    }
  }

  TEST_CASE("progress is saved once the interval passed, and not before") {
    for (bool native : {true, false}) {
      CAPTURE(native);
      Fixture f(native);
      auto session = f.ingest().NewSession(f.target);
      AcceptAll(*session, {kStart, kAppend1});
      REQUIRE(Commit(*session).ok());
      CHECK(f.store().GetMessage(kStreamId)->content == Json(""));  // the start only
      CHECK(session->Accept(Fixture::Frame(kAppend2)).ok());
      REQUIRE(Commit(*session).ok());
      CHECK(f.store().GetMessage(kStreamId)->content == Json(""));  // too soon
      CHECK_FALSE(session->Pending());
      f.clock.Advance(999);
      CHECK_FALSE(session->Pending());
      f.clock.Advance(1);
      CHECK(session->Pending());
      REQUIRE(Commit(*session).ok());
      Result<Message> m = f.store().GetMessage(kStreamId);
      CHECK(m->content == Json("Hello"));
      CHECK_FALSE(m->is_complete);
      CHECK_FALSE(session->Pending());
    }
  }

  TEST_CASE("a forced save writes the text at once") {
    Fixture f;
    auto session = f.ingest().NewSession(f.target);
    AcceptAll(*session, {kStart, kAppend1});
    REQUIRE(Commit(*session, true).ok());
    CHECK(f.store().GetMessage(kStreamId)->content == Json("Hel"));
  }

  TEST_CASE("an interrupted upload marks its open message interrupted") {
    for (bool native : {true, false}) {
      Fixture f(native);
      auto session = f.ingest().NewSession(f.target);
      AcceptAll(*session, {kStart, kAppend1});
      REQUIRE(Commit(*session).ok());
      CHECK(session->Accept(Fixture::Frame(kAppend2)).ok());
      Interrupt(*session);
      Result<Message> m = f.store().GetMessage(kStreamId);
      REQUIRE(m.ok());
      CHECK_FALSE(m->is_complete);
      CHECK(m->content == Json("Hello"));
      CHECK(m->metadata.Find("interrupted") != nullptr);
      CHECK(m->metadata.Find("streaming") == nullptr);
    }
  }

  TEST_CASE("a resumed upload restarts its open message at the start frame") {
    for (bool native : {true, false}) {
      Fixture f(native);
      {
        auto first = f.ingest().NewSession(f.target);
        AcceptAll(*first, {kStart, kAppend1, kAppend2});
        REQUIRE(Commit(*first, true).ok());
        CHECK(f.store().GetMessage(kStreamId)->content == Json("Hello"));
      }
      auto resumed = f.ingest().NewSession(f.target);
      AcceptAll(*resumed, {kStart});
      REQUIRE(Commit(*resumed).ok());
      CHECK(f.store().GetMessage(kStreamId)->content == Json(""));
      AcceptAll(*resumed, {kAppend1, kAppend2, kStreamSet});
      REQUIRE(Commit(*resumed).ok());
      CHECK(f.store().GetMessage(kStreamId)->is_complete);
      CHECK(resumed->persisted() == 2);
    }
  }

  TEST_CASE("an upload sent again after it finished stores and publishes nothing new") {
    for (bool native : {true, false}) {
      Fixture f(native);
      auto first = f.ingest().NewSession(f.target);
      AcceptAll(*first, {kStart, kAppend1, kAppend2, kStreamSet});
      REQUIRE(Commit(*first).ok());
      f.publisher.Clear();
      auto again = f.ingest().NewSession(f.target);
      AcceptAll(*again, {kStart});
      REQUIRE(Commit(*again).ok());
      AcceptAll(*again, {kAppend1, kAppend2, kStreamSet});
      REQUIRE(Commit(*again).ok());
      CHECK(again->persisted() == 0);
      CHECK(f.publisher.Lines().empty());
      CHECK(f.store().GetMessage(kStreamId)->content == Json("Hello"));
    }
  }

  TEST_CASE("a start whose id another channel holds fails with kAlreadyExists") {
    for (bool native : {true, false}) {
      CAPTURE(native);
      Fixture f(native);
      IngestTarget other{kSpace, "ch2", false};
      REQUIRE(f.Apply(kStreamSet, true, other).ok());
      f.publisher.Clear();
      auto session = f.ingest().NewSession(f.target);
      AcceptAll(*session, {R"({"i":"a1","a":"x","c":"z"})", kStart, kAppend1});
      Status s = Commit(*session);
      CHECK(s.code() == ErrorCode::kAlreadyExists);
      CHECK(s.message() == "message id " + kStreamId + " is taken by another channel");
      Result<Message> m = f.store().GetMessage(kStreamId);
      REQUIRE(m.ok());
      CHECK(m->channel_id == "ch2");
      CHECK(m->is_complete);
      // The line before the failed write went out; the start and what followed did not.
      auto lines = f.publisher.Lines();
      REQUIRE(lines.size() == 1);
      CHECK(lines[0].line == R"({"i":"a1","a":"x","c":"ch1"})");
    }
  }

  TEST_CASE("a streamed set frame whose id another channel holds stops the piece there") {
    for (bool native : {true, false}) {
      CAPTURE(native);
      Fixture f(native);
      IngestTarget other{kSpace, "ch2", false};
      REQUIRE(f.Apply(kSet, true, other).ok());
      f.publisher.Clear();
      auto session = f.ingest().NewSession(f.target);
      AcceptAll(*session, {kStart, kAppend1, kSet, kAppend2});
      CHECK(Commit(*session).code() == ErrorCode::kAlreadyExists);
      CHECK(f.store().GetMessage(kId)->channel_id == "ch2");
      // The start and the append went out; the failed set frame and what followed did not.
      CHECK(f.publisher.Lines().size() == 2);
      CHECK(session->persisted() == 1);
    }
  }

  TEST_CASE("a commit with nothing taken reports at once and publishes nothing") {
    Fixture f;
    auto session = f.ingest().NewSession(f.target);
    CHECK_FALSE(session->Pending());
    CHECK(Commit(*session).ok());
    CHECK(Commit(*session, true).ok());
    CHECK(f.publisher.Lines().empty());
    CHECK(session->frames() == 0);
  }

  TEST_CASE("an append before its start is published and stores nothing") {
    Fixture f;
    auto session = f.ingest().NewSession(f.target);
    AcceptAll(*session, {kAppend1});
    f.clock.Advance(5'000);
    REQUIRE(Commit(*session, true).ok());
    CHECK(f.store().GetMessage(kStreamId).status().code() == ErrorCode::kNotFound);
    CHECK(f.publisher.Lines().size() == 1);  // §2.10: receivers ignore it too
    CHECK(session->persisted() == 0);
  }

  TEST_CASE("a reset in a stream deletes the message first, then publishes") {
    for (bool native : {true, false}) {
      Fixture f(native);
      auto session = f.ingest().NewSession(f.target);
      AcceptAll(*session, {kStart, kAppend1, kStreamSet});
      REQUIRE(Commit(*session).ok());
      f.publisher.Clear();
      const std::string reset = R"({"i":")" + kStreamId + R"(","v":null})";
      AcceptAll(*session, {reset});
      REQUIRE(Commit(*session).ok());
      CHECK(f.store().GetMessage(kStreamId).status().code() == ErrorCode::kNotFound);
      REQUIRE(f.publisher.Lines().size() == 1);
      CHECK(f.publisher.Lines()[0].line == reset.substr(0, reset.size() - 1) + R"(,"c":"ch1"})");
    }
  }
}

}  // namespace
}  // namespace agentcore
