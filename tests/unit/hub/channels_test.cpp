// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/channels.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/hub/event_frames.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/json.hpp>

#include "store/temp_dir.hpp"
#include "support/manual_clock.hpp"
#include "support/recording_publisher.hpp"
#include "support/test_hub.hpp"

namespace agentcore {
namespace {

using testing::ManualClock;
using testing::RecordingPublisher;
using testing::TempDir;

Json Body(std::string_view text) {
  Result<Json> json = ParseJson(text);
  REQUIRE(json.ok());
  return *std::move(json);
}

// A hub on an in-memory SQLite store; space "acme" (owner "alice") with channel "ops".
struct Fixture {
  explicit Fixture(std::size_t routing_cache_bytes = 1u << 20) {
    HubOptions o = testing::TestHubOptions(&clock, &publisher, dir);
    o.routing_cache_bytes = routing_cache_bytes;
    hub = testing::OpenTestHub(std::move(o));
    REQUIRE(hub->store().EnsureSpace(Space{"acme", "Acme", "alice", "", 0}).ok());
    REQUIRE(hub->store().EnsureSpace(Space{"evil", "Evil", "eve", "", 0}).ok());
    alice.space_id = "acme";
    alice.user_id = "u-alice";
    eve.space_id = "evil";
    eve.user_id = "u-eve";
    Result<Channel> created = channels().Create(alice, Body(R"({"name":"ops"})"));
    REQUIRE(created.ok());
    channel = created->id;
  }
  ChannelService& channels() { return hub->channels(); }
  /// The published lines of stored messages (they carry an event id); delivering a message
  /// also publishes agent states.
  std::vector<RecordingPublisher::Line> StoredMessageLines() const {
    std::vector<RecordingPublisher::Line> out;
    for (RecordingPublisher::Line& l : publisher.Lines()) {
      if (!l.event_id.empty()) out.push_back(std::move(l));
    }
    return out;
  }
  void AddAgent(std::string_view callsign, std::string_view status = "active") {
    std::string body = R"({"callsign":")" + std::string(callsign) +
                       R"(","agentType":"engineer","status":")" + std::string(status) + "\"}";
    REQUIRE(channels().AddToRoster(alice, channel, Body(body)).ok());
    clock.Advance(1);  // roster order is by creation time
  }
  void PutArtifact(std::string_view slug, std::string_view type) {
    Artifact a;
    a.id = hub->NewId();
    a.channel_id = channel;
    a.slug = slug;
    a.type = type;
    a.title = "t";
    a.content_type = "text/plain";
    REQUIRE(hub->store().PutArtifact(a, "blob").ok());
  }
  Result<PostedMessage> Post(std::string_view body, const Principal* who = nullptr) {
    return channels().PostMessage(who != nullptr ? *who : alice, channel, Body(body));
  }
  std::size_t StoredMessages() {
    PageRequest page;
    page.limit = 100;
    Result<MessagePage> listed = hub->store().ListMessages(channel, page);
    REQUIRE(listed.ok());
    return listed->messages.size();
  }

  ManualClock clock;
  RecordingPublisher publisher;
  TempDir dir;
  std::unique_ptr<Hub> hub;
  Principal alice;
  Principal eve;
  std::string channel;
};

void CheckError(const Status& s, ErrorCode code, std::string_view message) {
  CHECK(s.code() == code);
  CHECK(s.message() == message);
}

std::vector<std::string> Addressed(const Message& m) {
  return m.addressed_agents.value_or(std::vector<std::string>{});
}

TEST_SUITE("ChannelService") {
  // --- Posting: validation order (spec cast §4.7), each step's error winning over later ones

  TEST_CASE("post validation: step 1, sender and content required, wins over everything") {
    Fixture f;
    for (std::string_view body :
         {R"({})", R"({"sender":"alice"})", R"({"content":"hi"})", R"({"sender":"","content":"x"})",
          R"({"sender":"alice","content":""})", R"({"sender":1,"content":"x"})",
          R"({"sender":"alice","content":{"a":1},"senderType":"robot","attachSlugs":"x"})"}) {
      CAPTURE(body);
      Result<PostedMessage> r = f.channels().PostMessage(f.eve, "nope", Body(body));
      REQUIRE_FALSE(r.ok());
      CheckError(r.status(), ErrorCode::kInvalidArgument, "sender and content are required");
    }
    CHECK(f.StoredMessages() == 0);
  }

  TEST_CASE("post validation: step 2, key and text checks, win over senderType") {
    Fixture f;
    const std::string long_sender(300, 'a');
    Result<PostedMessage> r =
        f.Post(R"({"sender":")" + long_sender + R"(","content":"x","senderType":"robot"})");
    REQUIRE_FALSE(r.ok());
    CheckError(r.status(), ErrorCode::kInvalidArgument, "sender is too long (max 255 bytes)");
    r = f.Post(R"({"sender":"alice","content":"a\u0000b","senderType":"robot"})");
    REQUIRE_FALSE(r.ok());
    CheckError(r.status(), ErrorCode::kInvalidArgument, "content must not contain NUL characters");
  }

  TEST_CASE("post validation: step 3, senderType, wins over attachSlugs and the channel") {
    Fixture f;
    struct Case {
      std::string_view sender_type;
      std::string_view shown;
    };
    for (const Case& c : {Case{R"("robot")", "robot"}, Case{"1", "1"},
                          Case{R"({"a":1})", "[object Object]"}, Case{"null", "null"}}) {
      CAPTURE(c.sender_type);
      Result<PostedMessage> r = f.channels().PostMessage(
          f.alice, "nope",
          Body(R"({"sender":"a","content":"x","attachSlugs":5,"senderType":)" +
               std::string(c.sender_type) + "}"));
      REQUIRE_FALSE(r.ok());
      CheckError(r.status(), ErrorCode::kInvalidArgument,
                 "Invalid senderType: " + std::string(c.shown) + ". Must be 'user' or 'agent'");
    }
  }

  TEST_CASE("post validation: step 4, attachSlugs, wins over a missing channel") {
    Fixture f;
    for (std::string_view slugs : {R"("a")", R"([1])", R"(["a",null])", R"({})"}) {
      CAPTURE(slugs);
      Result<PostedMessage> r = f.channels().PostMessage(
          f.alice, "nope",
          Body(R"({"sender":"a","content":"x","attachSlugs":)" + std::string(slugs) + "}"));
      REQUIRE_FALSE(r.ok());
      CheckError(r.status(), ErrorCode::kInvalidArgument,
                 "attachSlugs must be an array of strings");
    }
  }

  TEST_CASE("post validation: step 5, attachments must be assets of the channel") {
    Fixture f;
    f.PutArtifact("logo", "asset");
    f.PutArtifact("plan", "document");
    Result<PostedMessage> r = f.Post(R"({"sender":"a","content":"x","attachSlugs":["nope"]})");
    REQUIRE_FALSE(r.ok());
    CheckError(r.status(), ErrorCode::kNotFound, "Artifact not found: nope");
    r = f.Post(R"({"sender":"a","content":"x","attachSlugs":["logo","plan"]})");
    REQUIRE_FALSE(r.ok());
    CheckError(r.status(), ErrorCode::kInvalidArgument,
               "Artifact 'plan' is not an asset (type: document)");
    // A channel the caller cannot see has no visible artifact: step 5's text wins over 6's.
    r = f.Post(R"({"sender":"e","content":"x","attachSlugs":["logo"]})", &f.eve);
    REQUIRE_FALSE(r.ok());
    CheckError(r.status(), ErrorCode::kNotFound, "Artifact not found: logo");
    CHECK(f.StoredMessages() == 0);
  }

  TEST_CASE("post validation: step 6, a missing or malformed channel is not found") {
    Fixture f;
    for (std::string_view id : {"nope", "", "01JGZ5V7A1B2C3D4E5F6G7H8R1"}) {
      Result<PostedMessage> r =
          f.channels().PostMessage(f.alice, id, Body(R"({"sender":"a","content":"x"})"));
      REQUIRE_FALSE(r.ok());
      CheckError(r.status(), ErrorCode::kNotFound, "Channel not found or has no roster");
    }
  }

  TEST_CASE("a channel of another space is answered like a missing one, cached or not") {
    Fixture f;
    REQUIRE(f.Post(R"({"sender":"alice","content":"hi"})").ok());  // routing now cached
    for (int i = 0; i < 2; ++i) {
      Result<PostedMessage> r = f.Post(R"({"sender":"eve","content":"x"})", &f.eve);
      REQUIRE_FALSE(r.ok());
      CheckError(r.status(), ErrorCode::kNotFound, "Channel not found or has no roster");
    }
    CheckError(f.channels().Find(f.eve, f.channel).status(), ErrorCode::kNotFound,
               "Channel not found");
    CheckError(f.channels().GetWithRoster(f.eve, f.channel).status(), ErrorCode::kNotFound,
               "Channel not found");
    CheckError(f.channels().Update(f.eve, f.channel, Body(R"({"name":"x"})")).status(),
               ErrorCode::kNotFound, "Channel not found");
    CheckError(f.channels().RemoveFromRoster(f.eve, f.channel, "e1"), ErrorCode::kNotFound,
               "Channel not found");
    CheckError(f.channels()
                   .AddToRoster(f.eve, f.channel, Body(R"({"callsign":"x","agentType":"y"})"))
                   .status(),
               ErrorCode::kNotFound, "Channel not found");
    CHECK(f.StoredMessages() == 1);
  }

  // --- Posting: routing, storing, publishing

  TEST_CASE("stores and publishes the message once, with its id as event id") {
    Fixture f;
    f.PutArtifact("logo", "asset");
    Result<PostedMessage> r =
        f.Post(R"({"sender":"alice","content":"hello","attachSlugs":["logo"]})");
    REQUIRE(r.ok());
    CHECK(r->message.sender == "alice");
    CHECK(r->message.sender_type == "user");
    CHECK(r->message.type == "user");
    CHECK(r->message.content == Json("hello"));
    CHECK(r->attachment_slugs == std::vector<std::string>{"logo"});
    CHECK(f.StoredMessages() == 1);
    std::vector<RecordingPublisher::Line> lines = f.publisher.Lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].channel_id == f.channel);
    CHECK(lines[0].event_id == r->message.id);
    CHECK(lines[0].line == PostedMessageFrameLine(r->message));
    CHECK(lines[0].line.find(R"("attachmentSlugs":["logo"])") != std::string::npos);
  }

  TEST_CASE("routes @mentions to agents and a human's unaddressed message to the leader") {
    Fixture f;
    f.AddAgent("fox");
    f.AddAgent("owl");
    Result<PostedMessage> r = f.Post(R"({"sender":"alice","content":"@owl look"})");
    REQUIRE(r.ok());
    CHECK(Addressed(r->message) == std::vector<std::string>{"owl"});
    CHECK(r->targets == std::vector<std::string>{"owl"});
    CHECK_FALSE(r->is_broadcast);
    // No mention from a human: the leader (the first agent) gets it (spec cast §3.4).
    r = f.Post(R"({"sender":"alice","content":"anyone?"})");
    REQUIRE(r.ok());
    CHECK(r->targets == std::vector<std::string>{"fox"});
    // No mention from an agent: nobody.
    r = f.Post(R"({"sender":"fox","content":"done","senderType":"agent"})");
    REQUIRE(r.ok());
    CHECK(r->message.type == "agent_message");
    CHECK(r->targets.empty());
    CHECK_FALSE(r->message.addressed_agents.has_value());
    // The space owner is a user: addressed, but never invoked.
    r = f.Post(R"({"sender":"fox","content":"@alice done","senderType":"agent","type":"event"})");
    REQUIRE(r.ok());
    CHECK(r->message.type == "event");
    CHECK(Addressed(r->message) == std::vector<std::string>{"alice"});
    CHECK(r->targets.empty());
  }

  TEST_CASE("@channel reaches every agent and publishes broadcast: true") {
    Fixture f;
    f.AddAgent("fox");
    f.AddAgent("owl");
    f.publisher.Clear();
    Result<PostedMessage> r = f.Post(R"({"sender":"alice","content":"@channel standup"})");
    REQUIRE(r.ok());
    CHECK(r->is_broadcast);
    CHECK(r->targets == std::vector<std::string>{"fox", "owl"});
    std::vector<RecordingPublisher::Line> lines = f.StoredMessageLines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].line.find(R"("broadcast":true)") != std::string::npos);
    // Delivered: when the post returns, the message waits in each target's queue.
    for (const char* callsign : {"fox", "owl"}) {
      Result<std::vector<PendingDelivery>> pending =
          f.hub->store().TakePending(f.channel, callsign, 10);
      REQUIRE(pending.ok());
      REQUIRE(pending->size() == 1);
      CHECK((*pending)[0].message_id == r->message.id);
    }
  }

  TEST_CASE("a human message in a channel without agents is addressed to nobody") {
    Fixture f;
    Result<PostedMessage> r = f.Post(R"({"sender":"alice","content":"hello?"})");
    REQUIRE(r.ok());
    CHECK_FALSE(r->message.addressed_agents.has_value());
    CHECK(r->targets.empty());
  }

  TEST_CASE("the routing cache is invalidated by roster changes") {
    for (std::size_t cache_bytes : {std::size_t{1} << 20, std::size_t{0}}) {
      CAPTURE(cache_bytes);
      Fixture f(cache_bytes);
      CHECK(f.Post(R"({"sender":"alice","content":"@owl hi"})")->targets.empty());
      CHECK(f.Post(R"({"sender":"alice","content":"@owl hi"})")->targets.empty());
      f.AddAgent("owl");
      CHECK(f.Post(R"({"sender":"alice","content":"@owl hi"})")->targets ==
            std::vector<std::string>{"owl"});
      RosterPatch archive;
      archive.status = RosterStatus::kArchived;
      REQUIRE(f.hub->store().UpdateRosterEntry(f.channel, "owl", archive).ok());
      CHECK(f.Post(R"({"sender":"alice","content":"@owl hi"})")->targets.empty());
      ChannelService::CacheStats stats = f.channels().routing_cache_stats();
      if (cache_bytes == 0) {
        CHECK(stats.hits == 0);
        CHECK(stats.misses == 0);
        CHECK(stats.bytes == 0);
      } else {
        CHECK(stats.hits >= 1);    // the second post
        CHECK(stats.misses >= 3);  // first post, after the add, after the archive
        CHECK(stats.bytes > 0);
      }
    }
  }

  TEST_CASE("the async form stores, publishes and answers through the callback") {
    Fixture f;
    f.AddAgent("fox");
    f.publisher.Clear();
    std::promise<Result<PostedMessage>> done;
    f.channels().PostMessageAsync(
        f.alice, f.channel, Body(R"({"sender":"alice","content":"@fox go"})"),
        [&done](Result<PostedMessage> r) { done.set_value(std::move(r)); });
    std::future<Result<PostedMessage>> answer = done.get_future();
    REQUIRE(answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    Result<PostedMessage> r = answer.get();
    REQUIRE(r.ok());
    CHECK(r->targets == std::vector<std::string>{"fox"});
    REQUIRE(f.StoredMessageLines().size() == 1);
    CHECK(f.StoredMessageLines()[0].event_id == r->message.id);
    CHECK(f.StoredMessages() == 1);
    // Delivered before the callback ran.
    Result<std::vector<PendingDelivery>> pending = f.hub->store().TakePending(f.channel, "fox", 10);
    REQUIRE(pending.ok());
    CHECK(pending->size() == 1);
  }

  TEST_CASE("the async form reports a validation error on the calling thread") {
    Fixture f;
    bool called = false;
    f.channels().PostMessageAsync(f.alice, f.channel, Body(R"({"sender":"alice"})"),
                                  [&called](Result<PostedMessage> r) {
                                    called = true;
                                    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
                                  });
    CHECK(called);
    CHECK(f.publisher.Lines().empty());
  }

  // --- Channels

  TEST_CASE("creates, lists most recently active first, and updates channels") {
    Fixture f;
    // The store stamps channels and messages with its own (system) clock, in milliseconds.
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    Result<Channel> dev =
        f.channels().Create(f.alice, Body(R"({"name":"dev","tagline":"build","mission":null})"));
    REQUIRE(dev.ok());
    CHECK(dev->tagline == "build");
    Result<std::vector<Channel>> before = f.channels().List(f.alice);
    REQUIRE(before.ok());
    REQUIRE(before->size() == 2);
    CHECK((*before)[0].name == "dev");
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    REQUIRE(f.Post(R"({"sender":"alice","content":"bump ops"})").ok());
    Result<std::vector<Channel>> listed = f.channels().List(f.alice);
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 2);
    CHECK((*listed)[0].name == "ops");
    CHECK((*listed)[1].name == "dev");
    CHECK(f.channels().List(f.eve)->empty());
    Result<Channel> renamed = f.channels().Update(f.alice, dev->id, Body(R"({"name":"dev2"})"));
    REQUIRE(renamed.ok());
    CHECK(renamed->name == "dev2");
    CHECK(renamed->tagline == "build");
    REQUIRE(f.channels().Update(f.alice, dev->id, Body(R"({"archived":true})")).ok());
    CHECK(f.channels().List(f.alice)->size() == 1);
  }

  TEST_CASE("a duplicate channel name is kAlreadyExists, on create and rename") {
    Fixture f;
    CheckError(f.channels().Create(f.alice, Body(R"({"name":"ops"})")).status(),
               ErrorCode::kAlreadyExists, "Channel name already exists");
    Result<Channel> dev = f.channels().Create(f.alice, Body(R"({"name":"dev"})"));
    REQUIRE(dev.ok());
    CheckError(f.channels().Update(f.alice, dev->id, Body(R"({"name":"ops"})")).status(),
               ErrorCode::kAlreadyExists, "Channel name already exists");
    // Another space may use the name.
    CHECK(f.channels().Create(f.eve, Body(R"({"name":"ops"})")).ok());
  }

  TEST_CASE("rejects bad channel bodies with Cast's texts") {
    Fixture f;
    struct Case {
      std::string_view body;
      std::string_view message;
    };
    for (const Case& c : {
             Case{R"({})", "Channel name is required"},
             Case{R"({"name":""})", "Channel name is required"},
             Case{R"({"name":7})", "Channel name is required"},
             Case{R"({"name":"x","tagline":5})", "tagline must be a string"},
             Case{R"({"name":"x","mission":"a\u0000"})", "mission must not contain NUL characters"},
             Case{R"({"name":"a\u0000"})", "name must not contain NUL characters"},
         }) {
      CAPTURE(c.body);
      CheckError(f.channels().Create(f.alice, Body(c.body)).status(), ErrorCode::kInvalidArgument,
                 c.message);
    }
    for (const Case& c : {
             Case{R"({"name":""})", "Channel name is required"},
             Case{R"({"name":7})", "name must be a string"},
             Case{R"({"archived":"yes"})", "archived must be a boolean"},
             Case{R"({"tagline":[]})", "tagline must be a string"},
         }) {
      CAPTURE(c.body);
      // Body errors come before the lookup: even an unknown channel reports them.
      CheckError(f.channels().Update(f.alice, "nope", Body(c.body)).status(),
                 ErrorCode::kInvalidArgument, c.message);
    }
    CheckError(f.channels().Update(f.alice, "nope", Body(R"({"name":"x"})")).status(),
               ErrorCode::kNotFound, "Channel not found");
  }

  // --- Roster

  TEST_CASE("adds, lists and removes roster entries by entry id") {
    Fixture f;
    Result<RosterEntry> added = f.channels().AddToRoster(
        f.alice, f.channel, Body(R"({"callsign":"fox","agentType":"engineer"})"));
    REQUIRE(added.ok());
    CHECK(added->status == RosterStatus::kActive);
    Result<ChannelWithRoster> loaded = f.channels().GetWithRoster(f.alice, f.channel);
    REQUIRE(loaded.ok());
    REQUIRE(loaded->roster.size() == 1);
    CHECK(f.channels().RemoveFromRoster(f.alice, f.channel, "no-such-entry").ok());
    CHECK(f.channels().GetWithRoster(f.alice, f.channel)->roster.size() == 1);
    CHECK(f.channels().RemoveFromRoster(f.alice, f.channel, added->id).ok());
    CHECK(f.channels().GetWithRoster(f.alice, f.channel)->roster.empty());
  }

  TEST_CASE("the visible roster leaves archived entries out, the archived list keeps only them") {
    Fixture f;
    f.AddAgent("fox");
    f.AddAgent("owl", "archived");
    f.AddAgent("cat", "paused");
    Result<ChannelWithRoster> visible = f.channels().GetWithVisibleRoster(f.alice, f.channel);
    REQUIRE(visible.ok());
    CHECK(visible->channel.id == f.channel);
    REQUIRE(visible->roster.size() == 2);
    CHECK(visible->roster[0].callsign == "fox");
    CHECK(visible->roster[1].callsign == "cat");
    Result<std::vector<RosterEntry>> archived = f.channels().ListArchivedAgents(f.alice, f.channel);
    REQUIRE(archived.ok());
    REQUIRE(archived->size() == 1);
    CHECK((*archived)[0].callsign == "owl");
  }

  TEST_CASE("an empty channel has an empty visible roster and no archived agents") {
    Fixture f;
    CHECK(f.channels().GetWithVisibleRoster(f.alice, f.channel)->roster.empty());
    CHECK(f.channels().ListArchivedAgents(f.alice, f.channel)->empty());
  }

  TEST_CASE("roster views refuse unknown, malformed and other spaces' channels") {
    Fixture f;
    f.AddAgent("owl", "archived");
    for (std::string_view id :
         {std::string_view("nope"), std::string_view(""), std::string_view("a\0b", 3)}) {
      CAPTURE(id);
      CheckError(f.channels().GetWithVisibleRoster(f.alice, id).status(), ErrorCode::kNotFound,
                 "Channel not found");
      CheckError(f.channels().ListArchivedAgents(f.alice, id).status(), ErrorCode::kNotFound,
                 "Channel not found");
    }
    CheckError(f.channels().GetWithVisibleRoster(f.eve, f.channel).status(), ErrorCode::kNotFound,
               "Channel not found");
    CheckError(f.channels().ListArchivedAgents(f.eve, f.channel).status(), ErrorCode::kNotFound,
               "Channel not found");
  }

  TEST_CASE("a stream finds the caller's channel") {
    Fixture f;
    Result<Channel> found = f.channels().FindForStream(f.alice, f.channel);
    REQUIRE(found.ok());
    CHECK(found->id == f.channel);
    CHECK(found->space_id == "acme");
  }

  TEST_CASE("a stream tells another space's channel (forbidden) from a missing one") {
    Fixture f;
    CheckError(f.channels().FindForStream(f.eve, f.channel).status(), ErrorCode::kPermissionDenied,
               "Not authorized for this channel");
    for (std::string_view id :
         {std::string_view("nope"), std::string_view(""), std::string_view("a\0b", 3)}) {
      CAPTURE(id);
      CheckError(f.channels().FindForStream(f.alice, id).status(), ErrorCode::kNotFound,
                 "Channel not found");
    }
    CheckError(f.channels().FindForStream(f.alice, std::string(256, 'c')).status(),
               ErrorCode::kNotFound, "Channel not found");
  }

  TEST_CASE("ids that could not name a channel are not found by any lookup, never a store error") {
    Fixture f;
    // Issue 13: invalid UTF-8 reached the store, whose kInvalidArgument came back as kInternal
    // (500 on every /channels/:id route, server_error on a WebSocket sync).
    for (const std::string& id :
         {std::string(), std::string(256, 'c'), std::string(1000, 'c'), std::string("a\0b", 3),
          std::string("\xff\xfe"), std::string("\xc3"), std::string("\xed\xa0\x80"),
          std::string("a\tb"), std::string("\x7f"), std::string("\r\n")}) {
      CAPTURE(id);
      CHECK_FALSE(IsPossibleId(id));
      CheckError(f.channels().Find(f.alice, id).status(), ErrorCode::kNotFound,
                 "Channel not found");
      CheckError(f.channels().FindForStream(f.alice, id).status(), ErrorCode::kNotFound,
                 "Channel not found");
      CheckError(f.channels().GetWithRoster(f.alice, id).status(), ErrorCode::kNotFound,
                 "Channel not found");
      CheckError(f.channels()
                     .PostMessage(f.alice, id, Body(R"({"sender":"alice","content":"hi"})"))
                     .status(),
                 ErrorCode::kNotFound, "Channel not found or has no roster");
    }
    for (std::string_view id : {"nope", "..", "a b", "a:b:c", "\xc3\xa9t\xc3\xa9", "%00"}) {
      CAPTURE(id);
      CHECK(IsPossibleId(id));
      CheckError(f.channels().Find(f.alice, id).status(), ErrorCode::kNotFound,
                 "Channel not found");
    }
    CHECK(IsPossibleId(std::string(255, 'c')));
  }

  TEST_CASE("callsigns with ':' or control characters are refused at add, nothing stored") {
    Fixture f;
    // Issue 13 / spec cast §5.1: the agentId spaceId:channelId:callsign must split back.
    for (std::string_view callsign :
         {"a:b", ":", "fox:", ":fox", "a\tb", "a\nb", "\x01", "a\x7f", "a:b:c"}) {
      CAPTURE(callsign);
      CHECK(CheckCallsign(callsign).message() ==
            "callsign must not contain ':' or control characters");
      Json body = Json::Object();
      body.Set("callsign", std::string(callsign));
      body.Set("agentType", "echo");
      CheckError(f.channels().AddToRoster(f.alice, f.channel, body).status(),
                 ErrorCode::kInvalidArgument,
                 "callsign must not contain ':' or control characters");
      CheckError(RequireAgentFields(body).status(), ErrorCode::kInvalidArgument,
                 "callsign must not contain ':' or control characters");
    }
    CHECK(f.channels().GetWithRoster(f.alice, f.channel)->roster.empty());
    for (std::string_view ok : {"fox", "fox-2", "owl_1", "a.b", "\xc3\xa9t\xc3\xa9", "a b"}) {
      CAPTURE(ok);
      CHECK(CheckCallsign(ok).ok());
    }
  }

  TEST_CASE("rejects bad roster bodies in Cast's order") {
    Fixture f;
    struct Case {
      std::string_view body;
      ErrorCode code;
      std::string_view message;
    };
    for (const Case& c : {
             Case{R"({"agentType":"e"})", ErrorCode::kInvalidArgument,
                  "callsign and agentType are required"},
             Case{R"({"callsign":"","agentType":"e","status":"bogus"})",
                  ErrorCode::kInvalidArgument, "callsign and agentType are required"},
             Case{R"({"callsign":"f","agentType":"e","status":3})", ErrorCode::kInvalidArgument,
                  "status must be a string"},
             Case{R"({"callsign":"f","agentType":"e","status":"sleeping"})",
                  ErrorCode::kInvalidArgument,
                  "Invalid status: sleeping. Must be one of active, idle, busy, offline, paused, "
                  "archived"},
             Case{R"({"callsign":"f","agentType":"e","runtimeId":"r1"})", ErrorCode::kNotFound,
                  "Runtime not found"},
         }) {
      CAPTURE(c.body);
      CheckError(f.channels().AddToRoster(f.alice, f.channel, Body(c.body)).status(), c.code,
                 c.message);
    }
    // A bad status wins over a missing channel.
    CheckError(
        f.channels()
            .AddToRoster(f.alice, "nope", Body(R"({"callsign":"f","agentType":"e","status":"x"})"))
            .status(),
        ErrorCode::kInvalidArgument,
        "Invalid status: x. Must be one of active, idle, busy, offline, paused, archived");
    REQUIRE(f.channels()
                .AddToRoster(f.alice, f.channel, Body(R"({"callsign":"f","agentType":"e"})"))
                .ok());
    CheckError(f.channels()
                   .AddToRoster(f.alice, f.channel, Body(R"({"callsign":"f","agentType":"e"})"))
                   .status(),
               ErrorCode::kAlreadyExists, "Failed to add to roster");
    CHECK(f.channels().GetWithRoster(f.alice, f.channel)->roster.size() == 1);
  }

  TEST_CASE("input rules: keys, text and JavaScript truthiness") {
    CHECK(CheckKey("callsign", std::string(255, 'a')).ok());
    CHECK(CheckKey("callsign", std::string(256, 'a')).message() ==
          "callsign is too long (max 255 bytes)");
    CHECK(CheckText("content", std::string_view("a\0b", 3)).message() ==
          "content must not contain NUL characters");
    CHECK(CheckKey("sender", "\xff").message() == "sender must be valid UTF-8");
    CHECK(CheckKey("sender", "\xc3\xa9").ok());
    CHECK_FALSE(IsTruthy(nullptr));
    Json body = Body(R"({"a":0,"b":"","c":null,"d":false,"e":"x","f":[],"g":1})");
    for (std::string_view falsy : {"a", "b", "c", "d", "missing"}) {
      CHECK_FALSE(IsTruthy(body.Find(falsy)));
    }
    for (std::string_view truthy : {"e", "f", "g"}) CHECK(IsTruthy(body.Find(truthy)));
  }
}

}  // namespace
}  // namespace agentcore
