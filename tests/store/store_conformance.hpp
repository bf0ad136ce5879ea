// SPDX-License-Identifier: Apache-2.0
#pragma once

// The Store conformance suite: every case runs against every backend, so SQLite and PostgreSQL
// (and any later Store) are held to one behaviour. Include it in exactly one translation unit
// of a test binary, after defining the fixtures to run:
//
//   #define AGENTCORE_STORE_FIXTURES SqliteFileFixture, SqliteMemoryFixture
//   #include "store/store_conformance.hpp"
//
// A fixture is a default-constructible class that opens a fresh, empty, migrated store whose
// clock is a ManualClock, and offers:
//
//   agentcore::Store& store();
//   agentcore::testing::ManualClock& clock();  // the store's clock (options.clock)
//
// Name it for the test output with TYPE_TO_STRING_AS("sqlite-file", SqliteFileFixture). The
// store's max_content_bytes must be the default (16 MiB). The change feed cases wait up to
// kFeedWait for notifications, so a backend may deliver them asynchronously (LISTEN/NOTIFY).

#include <doctest/doctest.h>

#include <agentcore/json.hpp>
#include <agentcore/store/records.hpp>
#include <agentcore/store/store.hpp>
#include <agentcore/ulid.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/manual_clock.hpp"

#ifndef AGENTCORE_STORE_FIXTURES
#error "define AGENTCORE_STORE_FIXTURES (a list of fixture types) before including this header"
#endif

namespace agentcore::conformance {

inline constexpr std::chrono::seconds kFeedWait{5};

// Strings that would break a query built by concatenation; bound parameters keep them data.
inline const std::vector<std::string>& SqlMetaStrings() {
  static const std::vector<std::string> v = {
      "'; DROP TABLE messages; --",
      "\" OR 1=1 --",
      "Robert'); DELETE FROM channels WHERE ('1'='1",
      "%_\\ LIKE '%' ESCAPE '\\'",
      "?1 ?2 :name @p $q",
      "*/ SELECT * FROM api_keys /*",
  };
  return v;
}

inline const std::string kBadUtf8 = std::string("bad \xff\xfe utf8");
inline const std::string kLoneSurrogate = std::string("\xed\xa0\x80");  // U+D800 in UTF-8
inline const std::string kOverlong = std::string("\xc0\xaf");           // overlong '/'

template <typename T>
T Must(Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

inline void MustOk(const Status& s) { REQUIRE_MESSAGE(s.ok(), s.ToString()); }

template <typename T>
ErrorCode CodeOf(const Result<T>& r) {
  return r.ok() ? ErrorCode::kOk : r.status().code();
}
inline ErrorCode CodeOf(const Status& s) { return s.code(); }

// A space with one channel: most cases start here.
struct World {
  Space space;
  Channel channel;
};

inline World MakeWorld(Store& store, std::string_view space_id = "space-1",
                       std::string_view channel_name = "general") {
  World w;
  Space s;
  s.id = std::string(space_id);
  s.name = "Acme";
  s.owner_callsign = "alice";
  w.space = Must(store.EnsureSpace(s));
  NewChannel c;
  c.space_id = w.space.id;
  c.name = std::string(channel_name);
  c.tagline = "talk";
  w.channel = Must(store.CreateChannel(c));
  return w;
}

inline NewMessage TextMessage(const Channel& ch, std::string text, std::string sender = "alice") {
  NewMessage m;
  m.channel_id = ch.id;
  m.sender = std::move(sender);
  m.sender_type = "user";
  m.type = "user";
  m.content = Json(std::move(text));
  return m;
}

inline NewRosterEntry Agent(const Channel& ch, std::string callsign) {
  NewRosterEntry e;
  e.channel_id = ch.id;
  e.callsign = std::move(callsign);
  e.agent_type = "claude";
  return e;
}

inline std::vector<std::string> Ids(const std::vector<Message>& messages) {
  std::vector<std::string> ids;
  for (const Message& m : messages) ids.push_back(m.id);
  return ids;
}

inline std::size_t MessageCount(Store& store, const std::string& channel_id) {
  std::size_t n = 0;
  PageRequest page;
  page.limit = kMaxPageSize;
  page.after = "";
  for (;;) {
    MessagePage p = Must(store.ListMessages(channel_id, page));
    n += p.messages.size();
    if (!p.has_more) return n;
    page.after = p.messages.back().id;
  }
}

// Records every change; waits for a condition with a deadline.
class RecordingListener final : public StoreListener {
 public:
  void OnChange(const StoreChange& change) override {
    std::lock_guard lock(mu_);
    changes_.push_back(change);
    cv_.notify_all();
  }
  // True once a change matching `pred` arrived (within kFeedWait).
  template <typename Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kFeedWait,
                        [&] { return std::any_of(changes_.begin(), changes_.end(), pred); });
  }
  std::vector<StoreChange> changes() {
    std::lock_guard lock(mu_);
    return changes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StoreChange> changes_;
};

inline auto Is(StoreChange::Kind kind, std::string id) {
  return [kind, id = std::move(id)](const StoreChange& c) { return c.kind == kind && c.id == id; };
}

}  // namespace agentcore::conformance

namespace doctest {
template <>
struct StringMaker<agentcore::ErrorCode> {
  static String convert(agentcore::ErrorCode c) {
    return std::string(agentcore::ErrorCodeName(c)).c_str();
  }
};
}  // namespace doctest

// Every case below is a template over the fixture types.
#define AGENTCORE_STORE_CASE(name) TEST_CASE_TEMPLATE(name, F, AGENTCORE_STORE_FIXTURES)

TEST_SUITE("StoreConformance") {
  using namespace agentcore;               // NOLINT: test-local brevity
  using namespace agentcore::conformance;  // NOLINT

  // --- Schema -----------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("opens at the newest schema version and refuses unknown versions") {
    F f;
    const int latest = Must(f.store().SchemaVersion());
    CHECK(latest >= 1);
    CHECK(CodeOf(f.store().MigrateTo(latest + 1)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().MigrateTo(-1)) == ErrorCode::kInvalidArgument);
    MustOk(f.store().MigrateTo(latest));  // already there: a no-op
    CHECK(Must(f.store().SchemaVersion()) == latest);
  }

  AGENTCORE_STORE_CASE("migrates down to an empty schema and back up") {
    F f;
    const int latest = Must(f.store().SchemaVersion());
    MustOk(f.store().MigrateTo(0));
    CHECK(Must(f.store().SchemaVersion()) == 0);
    MustOk(f.store().MigrateTo(latest));
    CHECK(Must(f.store().SchemaVersion()) == latest);
    World w = MakeWorld(f.store());  // the schema works again
    CHECK(Must(f.store().GetChannel(w.channel.id)).name == "general");
  }

  // --- Spaces and channels ----------------------------------------------------------------------

  AGENTCORE_STORE_CASE("ensures a space idempotently and gets it back") {
    F f;
    Space s;
    s.id = "acme";
    s.name = "Acme";
    s.owner_callsign = "alice";
    Space a = Must(f.store().EnsureSpace(s));
    CHECK(a.id == "acme");
    CHECK(a.name == "Acme");
    CHECK(a.created_at == f.clock().NowMillis());
    f.clock().Advance(1000);
    s.name = "Renamed";
    Space b = Must(f.store().EnsureSpace(s));  // the existing one, unchanged
    CHECK(b.name == "Acme");
    CHECK(b.created_at == a.created_at);
    CHECK(Must(f.store().GetSpace("acme")).owner_callsign == "alice");
  }

  AGENTCORE_STORE_CASE("reports a missing space as not found") {
    F f;
    CHECK(CodeOf(f.store().GetSpace("nope")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().ListChannels("nope", true)) == ErrorCode::kNotFound);
    NewChannel c;
    c.space_id = "nope";
    c.name = "general";
    CHECK(CodeOf(f.store().CreateChannel(c)) == ErrorCode::kNotFound);
  }

  AGENTCORE_STORE_CASE("rejects a space without an id or with a bad one") {
    F f;
    Space s;
    CHECK(CodeOf(f.store().EnsureSpace(s)) == ErrorCode::kInvalidArgument);
    s.id = std::string(kMaxKeyBytes + 1, 'x');
    CHECK(CodeOf(f.store().EnsureSpace(s)) == ErrorCode::kInvalidArgument);
    s.id = kBadUtf8;
    CHECK(CodeOf(f.store().EnsureSpace(s)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().GetSpace("")) == ErrorCode::kInvalidArgument);
    s.id = std::string(kMaxKeyBytes, 'x');  // exactly at the limit is fine
    CHECK(Must(f.store().EnsureSpace(s)).id.size() == kMaxKeyBytes);
  }

  AGENTCORE_STORE_CASE("creates a channel with a new id and finds it by id and by name") {
    F f;
    World w = MakeWorld(f.store());
    CHECK(IsUlid(w.channel.id));
    CHECK(w.channel.space_id == "space-1");
    CHECK(w.channel.tagline == "talk");
    CHECK_FALSE(w.channel.archived);
    CHECK(w.channel.created_at == f.clock().NowMillis());
    CHECK(w.channel.last_active_at == w.channel.created_at);
    Channel by_id = Must(f.store().GetChannel(w.channel.id));
    CHECK(by_id.name == "general");
    Channel by_name = Must(f.store().FindChannelByName("space-1", "general"));
    CHECK(by_name.id == w.channel.id);
    CHECK(CodeOf(f.store().GetChannel("missing")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().FindChannelByName("space-1", "missing")) == ErrorCode::kNotFound);
  }

  AGENTCORE_STORE_CASE("refuses a channel whose id or name is taken in its space") {
    F f;
    World w = MakeWorld(f.store());
    NewChannel same_name;
    same_name.space_id = w.space.id;
    same_name.name = "general";
    CHECK(CodeOf(f.store().CreateChannel(same_name)) == ErrorCode::kAlreadyExists);
    NewChannel same_id;
    same_id.id = w.channel.id;
    same_id.space_id = w.space.id;
    same_id.name = "other";
    CHECK(CodeOf(f.store().CreateChannel(same_id)) == ErrorCode::kAlreadyExists);
    // The same name in another space is fine.
    Space other;
    other.id = "space-2";
    Must(f.store().EnsureSpace(other));
    same_name.space_id = "space-2";
    CHECK(Must(f.store().CreateChannel(same_name)).name == "general");
    CHECK(Must(f.store().ListChannels(w.space.id, true)).size() == 1);
  }

  AGENTCORE_STORE_CASE("lists channels newest first and archived ones only when asked") {
    F f;
    World w = MakeWorld(f.store(), "space-1", "first");
    f.clock().Advance(10);
    NewChannel c;
    c.space_id = w.space.id;
    c.name = "second";
    Channel second = Must(f.store().CreateChannel(c));
    f.clock().Advance(10);
    c.name = "third";
    Channel third = Must(f.store().CreateChannel(c));
    ChannelPatch archive;
    archive.archived = true;
    Must(f.store().UpdateChannel(second.id, archive));
    auto live = Must(f.store().ListChannels(w.space.id, false));
    REQUIRE(live.size() == 2);
    CHECK(live[0].id == third.id);
    CHECK(live[1].id == w.channel.id);
    auto all = Must(f.store().ListChannels(w.space.id, true));
    REQUIRE(all.size() == 3);
    CHECK(all[1].id == second.id);
    CHECK(all[1].archived);
  }

  AGENTCORE_STORE_CASE("updates a channel's fields and leaves unset ones alone") {
    F f;
    World w = MakeWorld(f.store());
    f.clock().Advance(5);
    ChannelPatch p;
    p.mission = "ship it";
    Channel a = Must(f.store().UpdateChannel(w.channel.id, p));
    CHECK(a.mission == "ship it");
    CHECK(a.tagline == "talk");
    CHECK(a.name == "general");
    CHECK(a.updated_at == w.channel.created_at + 5);
    ChannelPatch rename;
    rename.name = "random";
    rename.tagline = "";
    Channel b = Must(f.store().UpdateChannel(w.channel.id, rename));
    CHECK(b.name == "random");
    CHECK(b.tagline.empty());
    CHECK(b.mission == "ship it");
    CHECK(Must(f.store().FindChannelByName(w.space.id, "random")).id == w.channel.id);
  }

  AGENTCORE_STORE_CASE("refuses renaming a channel onto a taken name or updating a missing one") {
    F f;
    World w = MakeWorld(f.store());
    NewChannel c;
    c.space_id = w.space.id;
    c.name = "other";
    Channel other = Must(f.store().CreateChannel(c));
    ChannelPatch p;
    p.name = "general";
    CHECK(CodeOf(f.store().UpdateChannel(other.id, p)) == ErrorCode::kAlreadyExists);
    CHECK(Must(f.store().GetChannel(other.id)).name == "other");
    CHECK(CodeOf(f.store().UpdateChannel("missing", p)) == ErrorCode::kNotFound);
    p.name = "";
    CHECK(CodeOf(f.store().UpdateChannel(other.id, p)) == ErrorCode::kInvalidArgument);
    ChannelPatch bad;
    bad.tagline = kBadUtf8;
    CHECK(CodeOf(f.store().UpdateChannel(other.id, bad)) == ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().GetChannel(other.id)).tagline.empty());
  }

  AGENTCORE_STORE_CASE("rejects channels with missing or malformed fields") {
    F f;
    World w = MakeWorld(f.store());
    NewChannel c;
    c.space_id = w.space.id;
    CHECK(CodeOf(f.store().CreateChannel(c)) == ErrorCode::kInvalidArgument);  // no name
    c.name = "x";
    c.space_id = "";
    CHECK(CodeOf(f.store().CreateChannel(c)) == ErrorCode::kInvalidArgument);
    c.space_id = w.space.id;
    c.mission = kLoneSurrogate;
    CHECK(CodeOf(f.store().CreateChannel(c)) == ErrorCode::kInvalidArgument);
    c.mission = std::string("nul\0byte", 8);
    CHECK(CodeOf(f.store().CreateChannel(c)) == ErrorCode::kInvalidArgument);
    c.mission = "";
    c.name = kOverlong;
    CHECK(CodeOf(f.store().CreateChannel(c)) == ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().ListChannels(w.space.id, true)).size() == 1);
  }

  // --- Roster -----------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("adds, gets and lists roster entries in creation order") {
    F f;
    World w = MakeWorld(f.store());
    NewRosterEntry a = Agent(w.channel, "writer");
    a.props = Json::Object();
    a.props.Set("model", "opus");
    RosterEntry ea = Must(f.store().AddRosterEntry(a));
    CHECK(IsUlid(ea.id));
    CHECK(ea.status == "active");
    CHECK(ea.props == a.props);
    f.clock().Advance(1);
    RosterEntry eb = Must(f.store().AddRosterEntry(Agent(w.channel, "reviewer")));
    auto list = Must(f.store().ListRoster(w.channel.id));
    REQUIRE(list.size() == 2);
    CHECK(list[0].callsign == "writer");
    CHECK(list[1].callsign == "reviewer");
    CHECK(list[1].id == eb.id);
    RosterEntry got = Must(f.store().GetRosterEntry(w.channel.id, "writer"));
    CHECK(got.agent_type == "claude");
    CHECK(got.props == a.props);
    CHECK_FALSE(got.callback_url.has_value());
    CHECK(got.route_hints.is_null());
  }

  AGENTCORE_STORE_CASE("refuses a callsign taken in the channel but allows it in another") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    CHECK(CodeOf(f.store().AddRosterEntry(Agent(w.channel, "writer"))) ==
          ErrorCode::kAlreadyExists);
    NewChannel c;
    c.space_id = w.space.id;
    c.name = "other";
    Channel other = Must(f.store().CreateChannel(c));
    CHECK(Must(f.store().AddRosterEntry(Agent(other, "writer"))).channel_id == other.id);
    CHECK(Must(f.store().ListRoster(w.channel.id)).size() == 1);
  }

  AGENTCORE_STORE_CASE("patches roster fields, clears the callback url and leaves the rest alone") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    RosterPatch p;
    p.status = "busy";
    p.callback_url = "http://10.0.0.7:8080/agent";
    p.last_heartbeat = 1234;
    p.route_hints = Json::Object();
    p.route_hints->Set("fly-force-instance-id", "abc");
    p.container_token_hash = std::string(64, 'a');
    RosterEntry a = Must(f.store().UpdateRosterEntry(w.channel.id, "writer", p));
    CHECK(a.status == "busy");
    CHECK(a.callback_url == "http://10.0.0.7:8080/agent");
    CHECK(a.last_heartbeat == 1234);
    CHECK(a.route_hints == *p.route_hints);
    CHECK(a.container_token_hash == std::string(64, 'a'));
    CHECK(a.agent_type == "claude");
    RosterPatch q;
    q.clear_callback_url = true;
    q.route_hints = Json();  // null clears
    q.readmark = "01JZZZZZZZZZZZZZZZZZZZZZZZ";
    RosterEntry b = Must(f.store().UpdateRosterEntry(w.channel.id, "writer", q));
    CHECK_FALSE(b.callback_url.has_value());
    CHECK(b.route_hints.is_null());
    CHECK(b.readmark == "01JZZZZZZZZZZZZZZZZZZZZZZZ");
    CHECK(b.status == "busy");
    CHECK(b.last_heartbeat == 1234);
    CHECK(Must(f.store().GetRosterEntry(w.channel.id, "writer")).readmark == b.readmark);
  }

  AGENTCORE_STORE_CASE("removes a roster entry") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    MustOk(f.store().RemoveRosterEntry(w.channel.id, "writer"));
    CHECK(CodeOf(f.store().GetRosterEntry(w.channel.id, "writer")) == ErrorCode::kNotFound);
    CHECK(Must(f.store().ListRoster(w.channel.id)).empty());
    CHECK(CodeOf(f.store().RemoveRosterEntry(w.channel.id, "writer")) == ErrorCode::kNotFound);
    // The callsign is free again.
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
  }

  AGENTCORE_STORE_CASE("reports missing roster entries and channels as not found") {
    F f;
    World w = MakeWorld(f.store());
    CHECK(CodeOf(f.store().AddRosterEntry(Agent(Channel{}, "x"))) == ErrorCode::kInvalidArgument);
    Channel ghost;
    ghost.id = "ghost";
    CHECK(CodeOf(f.store().AddRosterEntry(Agent(ghost, "x"))) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().ListRoster("ghost")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().GetRosterEntry(w.channel.id, "x")) == ErrorCode::kNotFound);
    RosterPatch p;
    p.status = "idle";
    CHECK(CodeOf(f.store().UpdateRosterEntry(w.channel.id, "x", p)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().RemoveRosterEntry("ghost", "x")) == ErrorCode::kNotFound);
  }

  AGENTCORE_STORE_CASE("rejects malformed roster input and leaves the entry as it was") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    CHECK(CodeOf(f.store().AddRosterEntry(Agent(w.channel, ""))) == ErrorCode::kInvalidArgument);
    NewRosterEntry bad_props = Agent(w.channel, "other");
    bad_props.props = Json::Object();
    bad_props.props.Set(kBadUtf8, 1);  // the key is not UTF-8
    CHECK(CodeOf(f.store().AddRosterEntry(bad_props)) == ErrorCode::kInvalidArgument);
    NewRosterEntry no_status = Agent(w.channel, "other");
    no_status.status = "";
    CHECK(CodeOf(f.store().AddRosterEntry(no_status)) == ErrorCode::kInvalidArgument);
    RosterPatch both;
    both.callback_url = "http://x";
    both.clear_callback_url = true;
    CHECK(CodeOf(f.store().UpdateRosterEntry(w.channel.id, "writer", both)) ==
          ErrorCode::kInvalidArgument);
    RosterPatch bad_current;
    bad_current.status = "idle";
    bad_current.current = Json(kBadUtf8);
    CHECK(CodeOf(f.store().UpdateRosterEntry(w.channel.id, "writer", bad_current)) ==
          ErrorCode::kInvalidArgument);
    RosterEntry e = Must(f.store().GetRosterEntry(w.channel.id, "writer"));
    CHECK(e.status == "active");
    CHECK(Must(f.store().ListRoster(w.channel.id)).size() == 1);
  }

  // --- Messages ---------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("appends a message with a new ULID and reads it back unchanged") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage in = TextMessage(w.channel, "hello @writer");
    in.addressed_agents = std::vector<std::string>{"writer", "reviewer"};
    in.metadata = Json::Object();
    in.metadata.Set("method", "send_message");
    in.state = "pending";
    Message m = Must(f.store().AppendMessage(in));
    CHECK(IsUlid(m.id));
    CHECK(m.space_id == w.space.id);
    CHECK(m.timestamp == f.clock().NowMillis());
    Message got = Must(f.store().GetMessage(m.id));
    CHECK(got.id == m.id);
    CHECK(got.channel_id == w.channel.id);
    CHECK(got.space_id == w.space.id);
    CHECK(got.sender == "alice");
    CHECK(got.sender_type == "user");
    CHECK(got.type == "user");
    CHECK(got.content == Json("hello @writer"));
    CHECK(got.is_complete);
    CHECK(got.addressed_agents == in.addressed_agents);
    CHECK(got.metadata == in.metadata);
    CHECK(got.state == "pending");
    CHECK(got.timestamp == m.timestamp);
  }

  AGENTCORE_STORE_CASE("keeps structured content, empty mention lists and explicit timestamps") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage in = TextMessage(w.channel, "");
    auto parsed =
        ParseJson(R"({"kind":"tool_call","args":[1,2.5,"x",null,true,{"n":{}}],"u":"é✓😀"})");
    REQUIRE(parsed.ok());
    in.content = *parsed;
    in.addressed_agents = std::vector<std::string>{};
    in.timestamp = 42;
    in.is_complete = false;
    Message got = Must(f.store().GetMessage(Must(f.store().AppendMessage(in)).id));
    CHECK(got.content == *parsed);
    REQUIRE(got.addressed_agents.has_value());
    CHECK(got.addressed_agents->empty());
    CHECK(got.timestamp == 42);
    CHECK_FALSE(got.is_complete);
    CHECK(got.metadata.is_null());
    CHECK_FALSE(got.state.has_value());
  }

  AGENTCORE_STORE_CASE("refuses a message id that is taken and keeps the first message") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage in = TextMessage(w.channel, "first");
    in.id = "01HZZZZZZZZZZZZZZZZZZZZZZZ";
    Must(f.store().AppendMessage(in));
    in.content = Json("second");
    CHECK(CodeOf(f.store().AppendMessage(in)) == ErrorCode::kAlreadyExists);
    CHECK(Must(f.store().GetMessage(in.id)).content == Json("first"));
    CHECK(MessageCount(f.store(), w.channel.id) == 1);
  }

  AGENTCORE_STORE_CASE("refuses a message for a missing channel or for the wrong space") {
    F f;
    World w = MakeWorld(f.store());
    Channel ghost;
    ghost.id = "ghost";
    CHECK(CodeOf(f.store().AppendMessage(TextMessage(ghost, "x"))) == ErrorCode::kNotFound);
    NewMessage wrong = TextMessage(w.channel, "x");
    wrong.space_id = "other-space";
    CHECK(CodeOf(f.store().AppendMessage(wrong)) == ErrorCode::kInvalidArgument);
    NewMessage right = TextMessage(w.channel, "x");
    right.space_id = w.space.id;
    Must(f.store().AppendMessage(right));
    CHECK(MessageCount(f.store(), w.channel.id) == 1);
  }

  AGENTCORE_STORE_CASE("updates a streaming message in place and completes it") {
    F f;
    World w = MakeWorld(f.store());
    NewMessage in = TextMessage(w.channel, "Hel", "writer");
    in.is_complete = false;
    in.type = "agent";
    Message m = Must(f.store().AppendMessage(in));
    MessagePatch grow;
    grow.content = Json("Hello");
    Message a = Must(f.store().UpdateMessage(m.id, grow));
    CHECK(a.content == Json("Hello"));
    CHECK_FALSE(a.is_complete);
    MessagePatch done;
    done.is_complete = true;
    done.metadata = Json::Object();
    done.metadata->Set("fromTymbal", true);
    done.state = "completed";
    done.type = "agent_message";
    Message b = Must(f.store().UpdateMessage(m.id, done));
    CHECK(b.content == Json("Hello"));
    CHECK(b.is_complete);
    CHECK(b.type == "agent_message");
    CHECK(b.state == "completed");
    Message got = Must(f.store().GetMessage(m.id));
    CHECK(got.metadata == *done.metadata);
    CHECK(got.timestamp == m.timestamp);
    MessagePatch clear;
    clear.metadata = Json();
    CHECK(Must(f.store().UpdateMessage(m.id, clear)).metadata.is_null());
  }

  AGENTCORE_STORE_CASE("deletes a message and reports missing messages as not found") {
    F f;
    World w = MakeWorld(f.store());
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "bye")));
    MustOk(f.store().DeleteMessage(m.id));
    CHECK(CodeOf(f.store().GetMessage(m.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().DeleteMessage(m.id)) == ErrorCode::kNotFound);
    MessagePatch p;
    p.content = Json("x");
    CHECK(CodeOf(f.store().UpdateMessage(m.id, p)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().GetMessage("")) == ErrorCode::kInvalidArgument);
  }

  AGENTCORE_STORE_CASE("rejects invalid UTF-8 anywhere in a message and stores nothing") {
    F f;
    World w = MakeWorld(f.store());
    const std::vector<std::string> bad = {kBadUtf8, kLoneSurrogate, kOverlong,
                                          std::string("\xe2\x82", 2),
                                          std::string("\xf5\x80\x80\x80")};
    for (const std::string& b : bad) {
      CAPTURE(b.size());
      NewMessage content = TextMessage(w.channel, b);
      CHECK(CodeOf(f.store().AppendMessage(content)) == ErrorCode::kInvalidArgument);
      NewMessage key = TextMessage(w.channel, "");
      key.content = Json::Object();
      key.content.Set(b, "v");
      CHECK(CodeOf(f.store().AppendMessage(key)) == ErrorCode::kInvalidArgument);
      NewMessage nested = TextMessage(w.channel, "");
      nested.content = Json(JsonArray{Json(JsonArray{Json(b)})});
      CHECK(CodeOf(f.store().AppendMessage(nested)) == ErrorCode::kInvalidArgument);
      NewMessage sender = TextMessage(w.channel, "ok", b);
      CHECK(CodeOf(f.store().AppendMessage(sender)) == ErrorCode::kInvalidArgument);
      NewMessage agents = TextMessage(w.channel, "ok");
      agents.addressed_agents = std::vector<std::string>{"fine", b};
      CHECK(CodeOf(f.store().AppendMessage(agents)) == ErrorCode::kInvalidArgument);
      NewMessage meta = TextMessage(w.channel, "ok");
      meta.metadata = Json::Object();
      meta.metadata.Set("k", b);
      CHECK(CodeOf(f.store().AppendMessage(meta)) == ErrorCode::kInvalidArgument);
    }
    CHECK(MessageCount(f.store(), w.channel.id) == 0);
  }

  AGENTCORE_STORE_CASE("rejects invalid UTF-8 in a message update and keeps the old content") {
    F f;
    World w = MakeWorld(f.store());
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "good")));
    MessagePatch p;
    p.content = Json(kBadUtf8);
    CHECK(CodeOf(f.store().UpdateMessage(m.id, p)) == ErrorCode::kInvalidArgument);
    MessagePatch q;
    q.state = kLoneSurrogate;
    CHECK(CodeOf(f.store().UpdateMessage(m.id, q)) == ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().GetMessage(m.id)).content == Json("good"));
  }

  AGENTCORE_STORE_CASE("rejects oversized content and stores nothing") {
    F f;
    World w = MakeWorld(f.store());
    const std::size_t limit = SqliteStoreOptions().max_content_bytes;
    // As JSON the string gains two quotes: limit - 2 characters fit exactly.
    Message fits =
        Must(f.store().AppendMessage(TextMessage(w.channel, std::string(limit - 2, 'a'))));
    CHECK(CodeOf(f.store().AppendMessage(TextMessage(w.channel, std::string(limit - 1, 'a')))) ==
          ErrorCode::kInvalidArgument);
    MessagePatch grow;
    grow.content = Json(std::string(limit, 'b'));
    CHECK(CodeOf(f.store().UpdateMessage(fits.id, grow)) == ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().GetMessage(fits.id)).content.as_string().front() == 'a');
    CHECK(MessageCount(f.store(), w.channel.id) == 1);
  }

  AGENTCORE_STORE_CASE("rejects NUL bytes, JSON nested too deep and oversized keys in messages") {
    F f;
    World w = MakeWorld(f.store());
    CHECK(CodeOf(f.store().AppendMessage(TextMessage(w.channel, std::string("a\0b", 3)))) ==
          ErrorCode::kInvalidArgument);
    Json deep = Json("leaf");
    for (int i = 0; i < kMaxJsonDepth + 1; ++i) deep = Json(JsonArray{deep});
    NewMessage d = TextMessage(w.channel, "");
    d.content = deep;
    CHECK(CodeOf(f.store().AppendMessage(d)) == ErrorCode::kInvalidArgument);
    NewMessage long_id = TextMessage(w.channel, "x");
    long_id.id = std::string(kMaxKeyBytes + 1, '0');
    CHECK(CodeOf(f.store().AppendMessage(long_id)) == ErrorCode::kInvalidArgument);
    NewMessage no_sender = TextMessage(w.channel, "x", "");
    CHECK(CodeOf(f.store().AppendMessage(no_sender)) == ErrorCode::kInvalidArgument);
    NewMessage no_channel = TextMessage(w.channel, "x");
    no_channel.channel_id = "";
    CHECK(CodeOf(f.store().AppendMessage(no_channel)) == ErrorCode::kInvalidArgument);
    CHECK(MessageCount(f.store(), w.channel.id) == 0);
  }

  AGENTCORE_STORE_CASE("keeps a channel's last_active_at at its newest message") {
    F f;
    World w = MakeWorld(f.store());
    f.clock().Advance(100);
    Message a = Must(f.store().AppendMessage(TextMessage(w.channel, "a")));
    CHECK(Must(f.store().GetChannel(w.channel.id)).last_active_at == a.timestamp);
    NewMessage old = TextMessage(w.channel, "backfilled");
    old.timestamp = 5;  // an older timestamp never moves it back
    Must(f.store().AppendMessage(old));
    CHECK(Must(f.store().GetChannel(w.channel.id)).last_active_at == a.timestamp);
  }

  // --- Message pages ----------------------------------------------------------------------------

  // Appends n messages ("m0".."m<n-1>" as content) with store-made, increasing ids.
  template <typename Fx>
  std::vector<std::string> Fill(Fx & f, const Channel& ch, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(Must(f.store().AppendMessage(TextMessage(ch, "m" + std::to_string(i)))).id);
      f.clock().Advance(1);
    }
    return ids;
  }

  std::vector<std::string> Slice(const std::vector<std::string>& v, std::size_t from,
                                 std::size_t to) {
    return std::vector<std::string>(v.begin() + static_cast<std::ptrdiff_t>(from),
                                    v.begin() + static_cast<std::ptrdiff_t>(to));
  }

  AGENTCORE_STORE_CASE("lists the newest page oldest first when no cursor is given") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 12);
    PageRequest page;
    page.limit = 5;
    MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 7, 12));
    CHECK(p.has_more);
    page.limit = 12;
    p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == ids);
    CHECK_FALSE(p.has_more);
  }

  AGENTCORE_STORE_CASE("pages forward with after until has_more is false") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 11);
    PageRequest page;
    page.limit = 4;
    page.after = "";  // before every id
    std::vector<std::string> seen;
    std::vector<bool> more;
    for (;;) {
      MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
      for (auto& id : Ids(p.messages)) seen.push_back(id);
      more.push_back(p.has_more);
      if (!p.has_more) break;
      page.after = p.messages.back().id;
    }
    CHECK(seen == ids);
    CHECK(more == std::vector<bool>{true, true, false});
    page.after = ids.back();
    MessagePage end = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(end.messages.empty());
    CHECK_FALSE(end.has_more);
  }

  AGENTCORE_STORE_CASE("pages backward with before, each page oldest first") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 10);
    PageRequest page;
    page.limit = 4;
    page.before = ids[9];
    MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 5, 9));
    CHECK(p.has_more);
    page.before = ids[5];
    p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 1, 5));
    CHECK(p.has_more);
    page.before = ids[1];
    p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 0, 1));
    CHECK_FALSE(p.has_more);
  }

  AGENTCORE_STORE_CASE("reads between two cursors and uses cursors that are not message ids") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 10);
    PageRequest page;
    page.after = ids[2];
    page.before = ids[8];
    page.limit = 3;
    MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 3, 6));
    CHECK(p.has_more);
    page.limit = 5;
    p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(ids, 3, 8));
    CHECK_FALSE(p.has_more);
    PageRequest beyond;
    beyond.after = "~";  // sorts after every ULID
    CHECK(Must(f.store().ListMessages(w.channel.id, beyond)).messages.empty());
    PageRequest all;
    all.before = "~";
    all.limit = 100;
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, all)).messages) == ids);
  }

  AGENTCORE_STORE_CASE("clamps the page limit to between 1 and kMaxPageSize") {
    F f;
    World w = MakeWorld(f.store());
    Fill(f, w.channel, 3);
    PageRequest zero;
    zero.limit = 0;
    MessagePage p = Must(f.store().ListMessages(w.channel.id, zero));
    CHECK(p.messages.size() == 1);
    CHECK(p.has_more);
    PageRequest huge;
    huge.limit = kMaxPageSize * 10;
    CHECK(Must(f.store().ListMessages(w.channel.id, huge)).messages.size() == 3);
  }

  AGENTCORE_STORE_CASE("keeps a page to one channel") {
    F f;
    World w = MakeWorld(f.store());
    NewChannel c;
    c.space_id = w.space.id;
    c.name = "other";
    Channel other = Must(f.store().CreateChannel(c));
    auto mine = Fill(f, w.channel, 3);
    Fill(f, other, 3);
    auto more = Fill(f, w.channel, 2);
    PageRequest page;
    page.limit = 100;
    auto got = Ids(Must(f.store().ListMessages(w.channel.id, page)).messages);
    mine.insert(mine.end(), more.begin(), more.end());
    CHECK(got == mine);
  }

  AGENTCORE_STORE_CASE("filters a page for an agent: messages addressed to it or sent by it") {
    F f;
    World w = MakeWorld(f.store());
    std::vector<std::string> expected;
    auto add = [&](std::string sender, std::optional<std::vector<std::string>> to, bool keep) {
      NewMessage m = TextMessage(w.channel, "x", std::move(sender));
      m.addressed_agents = std::move(to);
      std::string id = Must(f.store().AppendMessage(m)).id;
      if (keep) expected.push_back(id);
    };
    add("alice", std::vector<std::string>{"writer"}, true);
    add("alice", std::vector<std::string>{"reviewer"}, false);
    add("writer", std::nullopt, true);
    add("alice", std::nullopt, false);
    add("alice", std::vector<std::string>{"reviewer", "writer"}, true);
    add("alice", std::vector<std::string>{"writer2"}, false);  // a prefix is not a match
    add("reviewer", std::vector<std::string>{}, false);
    PageRequest page;
    page.for_agent = "writer";
    page.limit = 2;
    MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == Slice(expected, 1, 3));
    CHECK(p.has_more);
    page.limit = 10;
    p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == expected);
    CHECK_FALSE(p.has_more);
    page.after = expected[0];
    CHECK(Ids(Must(f.store().ListMessages(w.channel.id, page)).messages) == Slice(expected, 1, 3));
  }

  AGENTCORE_STORE_CASE("filters a page by message types") {
    F f;
    World w = MakeWorld(f.store());
    std::vector<std::string> kept;
    const char* types[] = {"user", "tool_call", "agent_message", "thinking", "user"};
    for (const char* t : types) {
      NewMessage m = TextMessage(w.channel, "x");
      m.type = t;
      std::string id = Must(f.store().AppendMessage(m)).id;
      if (std::string_view(t) == "user" || std::string_view(t) == "agent_message") {
        kept.push_back(id);
      }
    }
    PageRequest page;
    page.types = {"user", "agent_message"};
    MessagePage p = Must(f.store().ListMessages(w.channel.id, page));
    CHECK(Ids(p.messages) == kept);
    page.types = {"nothing"};
    CHECK(Must(f.store().ListMessages(w.channel.id, page)).messages.empty());
  }

  AGENTCORE_STORE_CASE("lists an empty channel as an empty page and a missing one as not found") {
    F f;
    World w = MakeWorld(f.store());
    MessagePage p = Must(f.store().ListMessages(w.channel.id, PageRequest{}));
    CHECK(p.messages.empty());
    CHECK_FALSE(p.has_more);
    CHECK(CodeOf(f.store().ListMessages("ghost", PageRequest{})) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().ListMessages("", PageRequest{})) == ErrorCode::kInvalidArgument);
  }

  AGENTCORE_STORE_CASE("rejects malformed page requests") {
    F f;
    World w = MakeWorld(f.store());
    PageRequest a;
    a.after = kBadUtf8;
    CHECK(CodeOf(f.store().ListMessages(w.channel.id, a)) == ErrorCode::kInvalidArgument);
    PageRequest b;
    b.before = std::string(kMaxKeyBytes + 1, 'Z');
    CHECK(CodeOf(f.store().ListMessages(w.channel.id, b)) == ErrorCode::kInvalidArgument);
    PageRequest c;
    c.for_agent = kLoneSurrogate;
    CHECK(CodeOf(f.store().ListMessages(w.channel.id, c)) == ErrorCode::kInvalidArgument);
    PageRequest d;
    d.types = {"user", ""};
    CHECK(CodeOf(f.store().ListMessages(w.channel.id, d)) == ErrorCode::kInvalidArgument);
  }

  AGENTCORE_STORE_CASE("treats SQL metacharacters in cursors and filters as data") {
    F f;
    World w = MakeWorld(f.store());
    auto ids = Fill(f, w.channel, 3);
    for (const std::string& s : SqlMetaStrings()) {
      CAPTURE(s);
      PageRequest page;
      page.for_agent = s;
      page.types = {s};
      page.before = s;
      CHECK(Must(f.store().ListMessages(w.channel.id, page)).messages.empty());
      PageRequest after;
      after.after = s;
      auto got = Must(f.store().ListMessages(w.channel.id, after));
      std::vector<std::string> later;  // plain string comparison, as for any cursor
    for (const std::string& id : ids) {
      if (id > s) later.push_back(id);
    }
    CHECK(Ids(got.messages) == later);
    }
    CHECK(MessageCount(f.store(), w.channel.id) == 3);
  }

  // --- Pending deliveries -----------------------------------------------------------------------

  AGENTCORE_STORE_CASE("hands out a pending delivery at least once until it is acknowledged") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "@writer go")));
    PendingDelivery d;
    d.channel_id = w.channel.id;
    d.callsign = "writer";
    d.message_id = m.id;
    MustOk(f.store().EnqueuePending(d));
    MustOk(f.store().EnqueuePending(d));  // twice is a no-op
    auto first = Must(f.store().TakePending(w.channel.id, "writer", 10));
    REQUIRE(first.size() == 1);
    CHECK(first[0].message_id == m.id);
    CHECK(first[0].attempts == 1);
    CHECK(first[0].enqueued_at == f.clock().NowMillis());
    auto second = Must(f.store().TakePending(w.channel.id, "writer", 10));  // not acked: again
    REQUIRE(second.size() == 1);
    CHECK(second[0].attempts == 2);
    MustOk(f.store().AckPending(w.channel.id, "writer", {m.id, "unknown-id"}));
    CHECK(Must(f.store().TakePending(w.channel.id, "writer", 10)).empty());
    MustOk(f.store().AckPending(w.channel.id, "writer", {m.id}));  // acking again is harmless
  }

  AGENTCORE_STORE_CASE("takes pending deliveries oldest message first and at most limit") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    Must(f.store().AddRosterEntry(Agent(w.channel, "reviewer")));
    auto ids = Fill(f, w.channel, 5);
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {  // queued newest first
      MustOk(f.store().EnqueuePending({w.channel.id, "writer", *it, 0, 0}));
    }
    MustOk(f.store().EnqueuePending({w.channel.id, "reviewer", ids[0], 0, 0}));
    auto got = Must(f.store().TakePending(w.channel.id, "writer", 3));
    REQUIRE(got.size() == 3);
    CHECK(got[0].message_id == ids[0]);
    CHECK(got[1].message_id == ids[1]);
    CHECK(got[2].message_id == ids[2]);
    CHECK(Must(f.store().TakePending(w.channel.id, "writer", 0)).empty());
    MustOk(f.store().AckPending(w.channel.id, "writer", {ids[0], ids[1], ids[2]}));
    auto rest = Must(f.store().TakePending(w.channel.id, "writer", 100));
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].attempts == 1);
    CHECK(Must(f.store().TakePending(w.channel.id, "reviewer", 100)).size() == 1);
  }

  AGENTCORE_STORE_CASE("refuses pending deliveries for missing roster entries or messages") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "x")));
    CHECK(CodeOf(f.store().EnqueuePending({w.channel.id, "nobody", m.id, 0, 0})) ==
          ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().EnqueuePending({w.channel.id, "writer", "no-message", 0, 0})) ==
          ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().TakePending(w.channel.id, "nobody", 10)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().EnqueuePending({w.channel.id, "", m.id, 0, 0})) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().AckPending(w.channel.id, "writer", {kBadUtf8})) ==
          ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().TakePending(w.channel.id, "writer", 10)).empty());
  }

  AGENTCORE_STORE_CASE("drops pending deliveries with their roster entry or message") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    Must(f.store().AddRosterEntry(Agent(w.channel, "reviewer")));
    Message a = Must(f.store().AppendMessage(TextMessage(w.channel, "a")));
    Message b = Must(f.store().AppendMessage(TextMessage(w.channel, "b")));
    MustOk(f.store().EnqueuePending({w.channel.id, "writer", a.id, 0, 0}));
    MustOk(f.store().EnqueuePending({w.channel.id, "writer", b.id, 0, 0}));
    MustOk(f.store().EnqueuePending({w.channel.id, "reviewer", a.id, 0, 0}));
    MustOk(f.store().DeleteMessage(a.id));
    auto left = Must(f.store().TakePending(w.channel.id, "writer", 10));
    REQUIRE(left.size() == 1);
    CHECK(left[0].message_id == b.id);
    CHECK(Must(f.store().TakePending(w.channel.id, "reviewer", 10)).empty());
    MustOk(f.store().RemoveRosterEntry(w.channel.id, "writer"));
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));  // same callsign, fresh queue
    CHECK(Must(f.store().TakePending(w.channel.id, "writer", 10)).empty());
  }

  // --- Runs and run events ----------------------------------------------------------------------

  AGENTCORE_STORE_CASE("creates a queued run and reads it back") {
    F f;
    NewRun in;
    in.project_id = "proj";
    in.input = Json::Object();
    in.input.Set("prompt", "build a todo app");
    Run r = Must(f.store().CreateRun(in));
    CHECK(IsUlid(r.id));
    CHECK(r.state == RunState::kQueued);
    CHECK(r.attempts == 0);
    Run got = Must(f.store().GetRun(r.id));
    CHECK(got.project_id == "proj");
    CHECK(got.input == in.input);
    CHECK(got.result.is_null());
    CHECK_FALSE(got.lease_expires_at.has_value());
    CHECK(got.created_at == f.clock().NowMillis());
    in.id = r.id;
    CHECK(CodeOf(f.store().CreateRun(in)) == ErrorCode::kAlreadyExists);
    CHECK(CodeOf(f.store().GetRun("missing")) == ErrorCode::kNotFound);
  }

  AGENTCORE_STORE_CASE("moves a run by compare-and-set and applies the update with it") {
    F f;
    Run r = Must(f.store().CreateRun(NewRun{"", "proj", Json()}));
    f.clock().Advance(7);
    RunUpdate claim;
    claim.attempts = 1;
    claim.worker_id = "w1";
    claim.lease_expires_at = std::optional<UnixMillis>(5000);
    Run a = Must(f.store().TransitionRun(r.id, RunState::kQueued, RunState::kPlanning, claim));
    CHECK(a.state == RunState::kPlanning);
    CHECK(a.attempts == 1);
    CHECK(a.worker_id == "w1");
    CHECK(a.lease_expires_at == 5000);
    CHECK(a.updated_at == r.created_at + 7);
    RunUpdate heartbeat;  // a self-transition renews the lease
    heartbeat.lease_expires_at = std::optional<UnixMillis>(9000);
    CHECK(Must(f.store().TransitionRun(r.id, RunState::kPlanning, RunState::kPlanning, heartbeat))
              .lease_expires_at == 9000);
    RunUpdate done;
    done.result = Json::Object();
    done.result->Set("url", "https://x");
    done.lease_expires_at = std::optional<UnixMillis>();  // {nullopt} clears
    Must(f.store().TransitionRun(r.id, RunState::kPlanning, RunState::kBuilding, RunUpdate{}));
    Run b = Must(f.store().TransitionRun(r.id, RunState::kBuilding, RunState::kSucceeded, done));
    CHECK(b.state == RunState::kSucceeded);
    CHECK(b.result == *done.result);
    CHECK_FALSE(b.lease_expires_at.has_value());
    CHECK(b.attempts == 1);
    CHECK(b.worker_id == "w1");
    Run got = Must(f.store().GetRun(r.id));
    CHECK(got.state == RunState::kSucceeded);
    CHECK(got.result == *done.result);
  }

  AGENTCORE_STORE_CASE("refuses a transition from a state the run is no longer in") {
    F f;
    Run r = Must(f.store().CreateRun(NewRun{"", "proj", Json()}));
    Must(f.store().TransitionRun(r.id, RunState::kQueued, RunState::kPlanning, RunUpdate{}));
    RunUpdate u;
    u.worker_id = "late";
    CHECK(CodeOf(f.store().TransitionRun(r.id, RunState::kQueued, RunState::kPlanning, u)) ==
          ErrorCode::kConflict);
    Run got = Must(f.store().GetRun(r.id));
    CHECK(got.state == RunState::kPlanning);
    CHECK(got.worker_id.empty());
    CHECK(CodeOf(f.store().TransitionRun("missing", RunState::kQueued, RunState::kPlanning, u)) ==
          ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().TransitionRun(r.id, static_cast<RunState>(99), RunState::kPlanning,
                                         u)) == ErrorCode::kInvalidArgument);
    RunUpdate bad;
    bad.error = kBadUtf8;
    CHECK(CodeOf(f.store().TransitionRun(r.id, RunState::kPlanning, RunState::kFailed, bad)) ==
          ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().GetRun(r.id)).state == RunState::kPlanning);
  }

  AGENTCORE_STORE_CASE("lets exactly one of several racing claims win") {
    F f;
    Run r = Must(f.store().CreateRun(NewRun{"", "proj", Json()}));
    std::atomic<int> won{0}, conflicts{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        RunUpdate u;
        u.worker_id = "w" + std::to_string(i);
        auto res = f.store().TransitionRun(r.id, RunState::kQueued, RunState::kPlanning, u);
        if (res.ok()) ++won;
        if (CodeOf(res) == ErrorCode::kConflict) ++conflicts;
      });
    }
    for (auto& t : threads) t.join();
    CHECK(won == 1);
    CHECK(conflicts == 7);
  }

  AGENTCORE_STORE_CASE("lists runs newest first, filtered by project, states and lease") {
    F f;
    auto make = [&](std::string project) {
      Run r = Must(f.store().CreateRun(NewRun{"", std::move(project), Json()}));
      f.clock().Advance(1);
      return r;
    };
    Run a = make("p1");
    Run b = make("p2");
    Run c = make("p1");
    RunUpdate lease;
    lease.lease_expires_at = std::optional<UnixMillis>(100);
    Must(f.store().TransitionRun(a.id, RunState::kQueued, RunState::kPlanning, lease));
    lease.lease_expires_at = std::optional<UnixMillis>(300);
    Must(f.store().TransitionRun(b.id, RunState::kQueued, RunState::kPlanning, lease));
    auto ids = [](const std::vector<Run>& runs) {
      std::vector<std::string> v;
      for (const Run& r : runs) v.push_back(r.id);
      return v;
    };
    CHECK(ids(Must(f.store().ListRuns(RunFilter{}))) == std::vector<std::string>{c.id, b.id, a.id});
    RunFilter p1;
    p1.project_id = "p1";
    CHECK(ids(Must(f.store().ListRuns(p1))) == std::vector<std::string>{c.id, a.id});
    RunFilter planning;
    planning.states = {RunState::kPlanning};
    CHECK(ids(Must(f.store().ListRuns(planning))) == std::vector<std::string>{b.id, a.id});
    RunFilter stale;
    stale.lease_before = 200;
    CHECK(ids(Must(f.store().ListRuns(stale))) == std::vector<std::string>{a.id});
    RunFilter one;
    one.limit = 1;
    CHECK(ids(Must(f.store().ListRuns(one))) == std::vector<std::string>{c.id});
    RunFilter bad;
    bad.states = {static_cast<RunState>(42)};
    CHECK(CodeOf(f.store().ListRuns(bad)) == ErrorCode::kInvalidArgument);
  }

  AGENTCORE_STORE_CASE("numbers run events from 1 without gaps and lists them after a seq") {
    F f;
    Run r = Must(f.store().CreateRun(NewRun{"", "proj", Json()}));
    Run other = Must(f.store().CreateRun(NewRun{"", "proj", Json()}));
    for (int i = 1; i <= 5; ++i) {
      Json data = Json::Object();
      data.Set("i", i);
      RunEventRecord e = Must(f.store().AppendRunEvent(r.id, "log", data));
      CHECK(e.seq == static_cast<std::uint64_t>(i));
      CHECK(e.run_id == r.id);
    }
    CHECK(Must(f.store().AppendRunEvent(other.id, "log", Json())).seq == 1);
    auto all = Must(f.store().ListRunEvents(r.id, 0, 100));
    REQUIRE(all.size() == 5);
    CHECK(all[0].seq == 1);
    CHECK(all[4].seq == 5);
    CHECK(all[4].data.Find("i")->as_number() == 5);
    CHECK(all[0].type == "log");
    auto after = Must(f.store().ListRunEvents(r.id, 3, 100));
    REQUIRE(after.size() == 2);
    CHECK(after[0].seq == 4);
    CHECK(Must(f.store().ListRunEvents(r.id, 1, 2)).back().seq == 3);
    CHECK(Must(f.store().ListRunEvents(r.id, 5, 100)).empty());
    CHECK(Must(f.store().ListRunEvents(r.id, UINT64_MAX, 100)).empty());
  }

  AGENTCORE_STORE_CASE("numbers concurrent run events without gaps or duplicates") {
    F f;
    Run r = Must(f.store().CreateRun(NewRun{"", "proj", Json()}));
    constexpr int kThreads = 8, kEach = 25;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kEach; ++i) CHECK(f.store().AppendRunEvent(r.id, "tick", Json()).ok());
      });
    }
    for (auto& t : threads) t.join();
    auto events = Must(f.store().ListRunEvents(r.id, 0, kMaxPageSize));
    REQUIRE(events.size() == kThreads * kEach);
    for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].seq == i + 1);
  }

  AGENTCORE_STORE_CASE("refuses run events for a missing run or with bad input") {
    F f;
    Run r = Must(f.store().CreateRun(NewRun{"", "proj", Json()}));
    CHECK(CodeOf(f.store().AppendRunEvent("missing", "log", Json())) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().ListRunEvents("missing", 0, 10)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().AppendRunEvent(r.id, "", Json())) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().AppendRunEvent(r.id, "log", Json(kBadUtf8))) ==
          ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().AppendRunEvent(r.id, "log", Json())).seq == 1);  // no gap left behind
  }

  // --- Sessions and teams -----------------------------------------------------------------------

  AGENTCORE_STORE_CASE("puts, replaces, lists and deletes sessions") {
    F f;
    Session s;
    s.id = "sess-1";
    s.owner_id = "user-1";
    s.state = SessionState::kCreating;
    s.generation = 1;
    s.image = "octo:1";
    Session a = Must(f.store().PutSession(s));
    CHECK(a.created_at == f.clock().NowMillis());
    f.clock().Advance(50);
    s.state = SessionState::kRunning;
    s.container_id = "c-123";
    s.metadata = Json::Object();
    s.metadata.Set("port", 8080);
    Session b = Must(f.store().PutSession(s));
    CHECK(b.state == SessionState::kRunning);
    CHECK(b.created_at == a.created_at);
    CHECK(b.updated_at == a.created_at + 50);
    Session got = Must(f.store().GetSession("sess-1"));
    CHECK(got.container_id == "c-123");
    CHECK(got.metadata == s.metadata);
    CHECK(got.generation == 1);
    Session other = s;
    other.id = "sess-2";
    Must(f.store().PutSession(other));
    other.id = "sess-3";
    other.owner_id = "user-2";
    Must(f.store().PutSession(other));
    auto mine = Must(f.store().ListSessions("user-1"));
    REQUIRE(mine.size() == 2);
    CHECK(mine[0].id == "sess-1");
    CHECK(mine[1].id == "sess-2");
    MustOk(f.store().DeleteSession("sess-1"));
    CHECK(CodeOf(f.store().GetSession("sess-1")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().DeleteSession("sess-1")) == ErrorCode::kNotFound);
    CHECK(Must(f.store().ListSessions("nobody")).empty());
  }

  AGENTCORE_STORE_CASE("rejects sessions with bad input") {
    F f;
    Session s;
    CHECK(CodeOf(f.store().PutSession(s)) == ErrorCode::kInvalidArgument);  // no id
    s.id = "s";
    s.state = static_cast<SessionState>(17);
    CHECK(CodeOf(f.store().PutSession(s)) == ErrorCode::kInvalidArgument);
    s.state = SessionState::kRunning;
    s.image = kBadUtf8;
    CHECK(CodeOf(f.store().PutSession(s)) == ErrorCode::kInvalidArgument);
    s.image = "";
    s.metadata = Json(kOverlong);
    CHECK(CodeOf(f.store().PutSession(s)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().GetSession("s")) == ErrorCode::kNotFound);
  }

  AGENTCORE_STORE_CASE("creates, lists, updates and deletes teams") {
    F f;
    Team t;
    t.space_id = "space-1";
    t.name = "crew";
    t.spec = Json::Object();
    t.spec.Set("agents", Json::Array());
    Team a = Must(f.store().CreateTeam(t));
    CHECK(IsUlid(a.id));
    f.clock().Advance(1);
    t.name = "crew-2";
    Team b = Must(f.store().CreateTeam(t));
    auto list = Must(f.store().ListTeams("space-1"));
    REQUIRE(list.size() == 2);
    CHECK(list[0].id == a.id);
    CHECK(list[1].id == b.id);
    f.clock().Advance(9);
    Json spec = Json::Object();
    spec.Set("agents", Json(JsonArray{Json("writer")}));
    Team u = Must(f.store().UpdateTeamSpec(a.id, spec));
    CHECK(u.spec == spec);
    CHECK(u.updated_at == a.created_at + 10);
    CHECK(Must(f.store().GetTeam(a.id)).spec == spec);
    MustOk(f.store().DeleteTeam(a.id));
    CHECK(CodeOf(f.store().GetTeam(a.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().DeleteTeam(a.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().UpdateTeamSpec(a.id, spec)) == ErrorCode::kNotFound);
    CHECK(Must(f.store().ListTeams("space-9")).empty());
  }

  AGENTCORE_STORE_CASE("refuses duplicate team ids and names and bad team input") {
    F f;
    Team t;
    t.id = "team-1";
    t.space_id = "space-1";
    t.name = "crew";
    Must(f.store().CreateTeam(t));
    t.name = "other";
    CHECK(CodeOf(f.store().CreateTeam(t)) == ErrorCode::kAlreadyExists);
    t.id = "team-2";
    t.name = "crew";
    CHECK(CodeOf(f.store().CreateTeam(t)) == ErrorCode::kAlreadyExists);
    t.space_id = "space-2";
    Must(f.store().CreateTeam(t));  // same name, other space
    t.id = "team-3";
    t.name = "";
    CHECK(CodeOf(f.store().CreateTeam(t)) == ErrorCode::kInvalidArgument);
    t.name = "x";
    t.spec = Json(kBadUtf8);
    CHECK(CodeOf(f.store().CreateTeam(t)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().UpdateTeamSpec("team-1", Json(kBadUtf8))) ==
          ErrorCode::kInvalidArgument);
  }

  // --- API keys and idempotency -----------------------------------------------------------------

  AGENTCORE_STORE_CASE("finds a live api key by its hash and not once it is revoked") {
    F f;
    ApiKey k;
    k.space_id = "space-1";
    k.name = "ci";
    k.key_hash = std::string(64, 'f');
    k.prefix = "ak_live_";
    ApiKey a = Must(f.store().CreateApiKey(k));
    CHECK(IsUlid(a.id));
    CHECK_FALSE(a.revoked);
    ApiKey found = Must(f.store().FindApiKeyByHash(k.key_hash));
    CHECK(found.id == a.id);
    CHECK(found.name == "ci");
    CHECK(found.prefix == "ak_live_");
    CHECK(CodeOf(f.store().FindApiKeyByHash(std::string(64, 'e'))) == ErrorCode::kNotFound);
    MustOk(f.store().RevokeApiKey(a.id));
    CHECK(CodeOf(f.store().FindApiKeyByHash(k.key_hash)) == ErrorCode::kNotFound);
    auto list = Must(f.store().ListApiKeys("space-1"));
    REQUIRE(list.size() == 1);
    CHECK(list[0].revoked);
    CHECK(CodeOf(f.store().RevokeApiKey("missing")) == ErrorCode::kNotFound);
  }

  AGENTCORE_STORE_CASE("refuses duplicate api key ids and hashes and keeps last use monotonic") {
    F f;
    ApiKey k;
    k.id = "key-1";
    k.space_id = "space-1";
    k.key_hash = "hash-1";
    Must(f.store().CreateApiKey(k));
    k.key_hash = "hash-2";
    CHECK(CodeOf(f.store().CreateApiKey(k)) == ErrorCode::kAlreadyExists);
    k.id = "key-2";
    k.key_hash = "hash-1";
    CHECK(CodeOf(f.store().CreateApiKey(k)) == ErrorCode::kAlreadyExists);
    k.key_hash = "";
    CHECK(CodeOf(f.store().CreateApiKey(k)) == ErrorCode::kInvalidArgument);
    MustOk(f.store().TouchApiKey("key-1", 500));
    MustOk(f.store().TouchApiKey("key-1", 400));
    CHECK(Must(f.store().FindApiKeyByHash("hash-1")).last_used_at == 500);
    CHECK(CodeOf(f.store().TouchApiKey("missing", 1)) == ErrorCode::kNotFound);
    CHECK(Must(f.store().ListApiKeys("space-1")).size() == 1);
  }

  AGENTCORE_STORE_CASE("stores an idempotency record once per scope and key") {
    F f;
    IdempotencyRecord r;
    r.scope = "key-1";
    r.key = "req-42";
    r.request_hash = "h1";
    r.status_code = 201;
    r.response_body = R"({"id":"x"})";
    r.expires_at = f.clock().NowMillis() + 1000;
    IdempotencyRecord a = Must(f.store().PutIdempotency(r));
    CHECK(a.request_hash == "h1");
    CHECK(a.created_at == f.clock().NowMillis());
    IdempotencyRecord again = r;
    again.request_hash = "h2";
    again.status_code = 500;
    IdempotencyRecord b = Must(f.store().PutIdempotency(again));  // the stored one comes back
    CHECK(b.request_hash == "h1");
    CHECK(b.status_code == 201);
    CHECK(b.response_body == r.response_body);
    IdempotencyRecord other_scope = again;
    other_scope.scope = "key-2";
    CHECK(Must(f.store().PutIdempotency(other_scope)).request_hash == "h2");
    CHECK(Must(f.store().GetIdempotency("key-1", "req-42")).status_code == 201);
    CHECK(CodeOf(f.store().GetIdempotency("key-1", "req-43")) == ErrorCode::kNotFound);
    r.scope = "";
    CHECK(CodeOf(f.store().PutIdempotency(r)) == ErrorCode::kInvalidArgument);
    r.scope = "s";
    r.response_body = kBadUtf8;
    CHECK(CodeOf(f.store().PutIdempotency(r)) == ErrorCode::kInvalidArgument);
  }

  AGENTCORE_STORE_CASE("treats expired idempotency records as absent and purges them") {
    F f;
    const UnixMillis t0 = f.clock().NowMillis();
    IdempotencyRecord r;
    r.scope = "s";
    r.key = "k";
    r.request_hash = "old";
    r.expires_at = t0 + 100;
    Must(f.store().PutIdempotency(r));
    IdempotencyRecord keep = r;
    keep.key = "k2";
    keep.expires_at = t0 + 1000;
    Must(f.store().PutIdempotency(keep));
    f.clock().Set(t0 + 100);  // live through its last millisecond
    CHECK(Must(f.store().GetIdempotency("s", "k")).request_hash == "old");
    f.clock().Set(t0 + 101);
    CHECK(CodeOf(f.store().GetIdempotency("s", "k")) == ErrorCode::kNotFound);
    IdempotencyRecord fresh = r;
    fresh.request_hash = "new";
    fresh.expires_at = t0 + 500;
    CHECK(Must(f.store().PutIdempotency(fresh)).request_hash == "new");  // replaces the expired
    CHECK(Must(f.store().PurgeExpiredIdempotency(t0 + 500)) == 0);
    CHECK(Must(f.store().PurgeExpiredIdempotency(t0 + 501)) == 1);
    CHECK(Must(f.store().PurgeExpiredIdempotency(t0 + 5000)) == 1);
    CHECK(CodeOf(f.store().GetIdempotency("s", "k2")) == ErrorCode::kNotFound);
  }

  // --- Artifacts --------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("stores an artifact blob and reads it back byte for byte") {
    F f;
    World w = MakeWorld(f.store());
    Artifact meta;
    meta.channel_id = w.channel.id;
    meta.slug = "design-doc";
    meta.type = "doc";
    meta.title = "Design";
    meta.content_type = "application/octet-stream";
    meta.props = Json::Object();
    meta.props.Set("labels", Json(JsonArray{Json("a")}));
    std::string blob;
    for (int i = 0; i < 70000; ++i) blob.push_back(static_cast<char>(i % 256));  // NULs included
    Artifact a = Must(f.store().PutArtifact(meta, blob));
    CHECK(a.version == 1);
    CHECK(a.size == blob.size());
    CHECK(IsUlid(a.id));
    CHECK(Must(f.store().ReadArtifactBlob(w.channel.id, "design-doc")) == blob);
    Artifact got = Must(f.store().GetArtifact(w.channel.id, "design-doc"));
    CHECK(got.id == a.id);
    CHECK(got.title == "Design");
    CHECK(got.props == meta.props);
    CHECK(got.size == blob.size());
    Artifact empty = meta;
    empty.slug = "empty";
    Must(f.store().PutArtifact(empty, ""));
    CHECK(Must(f.store().ReadArtifactBlob(w.channel.id, "empty")).empty());
  }

  AGENTCORE_STORE_CASE("bumps the artifact version on each replace and keeps its id") {
    F f;
    World w = MakeWorld(f.store());
    Artifact meta;
    meta.channel_id = w.channel.id;
    meta.slug = "notes";
    meta.title = "v1";
    Artifact a = Must(f.store().PutArtifact(meta, "one"));
    f.clock().Advance(3);
    meta.title = "v2";
    Artifact b = Must(f.store().PutArtifact(meta, "two!"));
    CHECK(b.id == a.id);
    CHECK(b.version == 2);
    CHECK(b.created_at == a.created_at);
    CHECK(b.updated_at == a.created_at + 3);
    CHECK(b.size == 4);
    Artifact c = Must(f.store().PutArtifact(meta, "three"));
    CHECK(c.version == 3);
    CHECK(Must(f.store().ReadArtifactBlob(w.channel.id, "notes")) == "three");
    CHECK(Must(f.store().GetArtifact(w.channel.id, "notes")).title == "v2");
  }

  AGENTCORE_STORE_CASE("lists and deletes artifacts and reports missing ones") {
    F f;
    World w = MakeWorld(f.store());
    Artifact meta;
    meta.channel_id = w.channel.id;
    for (const char* slug : {"b", "a", "c"}) {
      meta.slug = slug;
      Must(f.store().PutArtifact(meta, slug));
    }
    auto list = Must(f.store().ListArtifacts(w.channel.id));
    REQUIRE(list.size() == 3);
    CHECK(list[0].slug == "a");
    CHECK(list[2].slug == "c");
    MustOk(f.store().DeleteArtifact(w.channel.id, "b"));
    CHECK(CodeOf(f.store().GetArtifact(w.channel.id, "b")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().ReadArtifactBlob(w.channel.id, "b")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().DeleteArtifact(w.channel.id, "b")) == ErrorCode::kNotFound);
    CHECK(Must(f.store().ListArtifacts(w.channel.id)).size() == 2);
    CHECK(CodeOf(f.store().ListArtifacts("ghost")) == ErrorCode::kNotFound);
  }

  AGENTCORE_STORE_CASE("refuses artifacts for missing channels or with bad input") {
    F f;
    World w = MakeWorld(f.store());
    Artifact meta;
    meta.channel_id = "ghost";
    meta.slug = "x";
    CHECK(CodeOf(f.store().PutArtifact(meta, "data")) == ErrorCode::kNotFound);
    meta.channel_id = w.channel.id;
    meta.slug = "";
    CHECK(CodeOf(f.store().PutArtifact(meta, "data")) == ErrorCode::kInvalidArgument);
    meta.slug = "x";
    meta.title = kBadUtf8;
    CHECK(CodeOf(f.store().PutArtifact(meta, "data")) == ErrorCode::kInvalidArgument);
    meta.title = "";
    meta.props = Json(kLoneSurrogate);
    CHECK(CodeOf(f.store().PutArtifact(meta, "data")) == ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().ListArtifacts(w.channel.id)).empty());
  }

  // --- Change feed ------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("notifies subscribers of message creation, update and deletion") {
    F f;
    World w = MakeWorld(f.store());
    RecordingListener l;
    auto sub = Must(f.store().Subscribe(&l));
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "a")));
    MessagePatch p;
    p.content = Json("b");
    Must(f.store().UpdateMessage(m.id, p));
    MustOk(f.store().DeleteMessage(m.id));
    CHECK(l.WaitFor(Is(StoreChange::Kind::kMessageDeleted, m.id)));
    std::vector<StoreChange::Kind> kinds;
    for (const StoreChange& c : l.changes()) {
      if (c.id != m.id) continue;
      kinds.push_back(c.kind);
      CHECK(c.channel_id == w.channel.id);
    }
    CHECK(kinds == std::vector<StoreChange::Kind>{StoreChange::Kind::kMessageCreated,
                                                  StoreChange::Kind::kMessageUpdated,
                                                  StoreChange::Kind::kMessageDeleted});
  }

  AGENTCORE_STORE_CASE("notifies subscribers of roster changes and run events") {
    F f;
    World w = MakeWorld(f.store());
    RecordingListener l;
    auto sub = Must(f.store().Subscribe(&l));
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    CHECK(l.WaitFor(Is(StoreChange::Kind::kRosterChanged, "writer")));
    Run r = Must(f.store().CreateRun(NewRun{"", "proj", Json()}));
    Must(f.store().AppendRunEvent(r.id, "log", Json()));
    Must(f.store().AppendRunEvent(r.id, "log", Json()));
    CHECK(l.WaitFor([&](const StoreChange& c) {
      return c.kind == StoreChange::Kind::kRunEvent && c.id == r.id && c.seq == 2;
    }));
    RosterPatch p;
    p.status = "idle";
    Must(f.store().UpdateRosterEntry(w.channel.id, "writer", p));
    MustOk(f.store().RemoveRosterEntry(w.channel.id, "writer"));
    bool saw_three = false;
    for (int i = 0; i < 500 && !saw_three; ++i) {
      auto all = l.changes();
      saw_three = std::count_if(all.begin(), all.end(), [&](const StoreChange& c) {
                    return c.kind == StoreChange::Kind::kRosterChanged && c.id == "writer" &&
                           c.channel_id == w.channel.id;
                  }) == 3;
      if (!saw_three) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(saw_three);
  }

  AGENTCORE_STORE_CASE("does not notify for failed writes nor after unsubscribing") {
    F f;
    World w = MakeWorld(f.store());
    RecordingListener l;
    auto sub = Must(f.store().Subscribe(&l));
    NewMessage dup = TextMessage(w.channel, "a");
    dup.id = "dup-id";
    Must(f.store().AppendMessage(dup));
    CHECK(CodeOf(f.store().AppendMessage(dup)) == ErrorCode::kAlreadyExists);
    Channel ghost;
    ghost.id = "ghost";
    NewMessage lost = TextMessage(ghost, "x");
    lost.id = "lost-id";
    CHECK(CodeOf(f.store().AppendMessage(lost)) == ErrorCode::kNotFound);
    Message marker = Must(f.store().AppendMessage(TextMessage(w.channel, "marker")));
    REQUIRE(l.WaitFor(Is(StoreChange::Kind::kMessageCreated, marker.id)));
    auto changes = l.changes();
    CHECK(std::count_if(changes.begin(), changes.end(),
                        [](const StoreChange& c) { return c.id == "dup-id"; }) == 1);
    CHECK(std::none_of(changes.begin(), changes.end(),
                       [](const StoreChange& c) { return c.id == "lost-id"; }));
    sub.reset();
    const std::size_t before = l.changes().size();
    Must(f.store().AppendMessage(TextMessage(w.channel, "unheard")));
    RecordingListener second;  // a later subscriber still hears later writes
    auto sub2 = Must(f.store().Subscribe(&second));
    Message heard = Must(f.store().AppendMessage(TextMessage(w.channel, "heard")));
    CHECK(second.WaitFor(Is(StoreChange::Kind::kMessageCreated, heard.id)));
    CHECK(l.changes().size() == before);
    CHECK(CodeOf(f.store().Subscribe(nullptr)) == ErrorCode::kInvalidArgument);
  }

  // --- Concurrency ------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("keeps every message of 64 concurrent writers exactly once, in id order") {
    F f;
    World w = MakeWorld(f.store());
    std::vector<Channel> channels{w.channel};
    for (int i = 1; i < 8; ++i) {
      NewChannel c;
      c.space_id = w.space.id;
      c.name = "c" + std::to_string(i);
      channels.push_back(Must(f.store().CreateChannel(c)));
    }
    constexpr int kThreads = 64, kEach = 12;
    std::vector<std::vector<std::string>> acked(kThreads);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const Channel& ch = channels[static_cast<std::size_t>(t % 8)];
        for (int i = 0; i < kEach; ++i) {
          auto m = f.store().AppendMessage(TextMessage(
              ch, "t" + std::to_string(t) + "-" + std::to_string(i), "w" + std::to_string(t)));
          if (!m.ok()) {
            ++failures;
            continue;
          }
          acked[static_cast<std::size_t>(t)].push_back(m->id);
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
    std::set<std::string> all_acked;
    for (auto& v : acked) all_acked.insert(v.begin(), v.end());
    CHECK(all_acked.size() == kThreads * kEach);
    std::set<std::string> stored;
    for (const Channel& ch : channels) {
      PageRequest page;
      page.limit = kMaxPageSize;
      MessagePage p = Must(f.store().ListMessages(ch.id, page));
      CHECK_FALSE(p.has_more);
      CHECK(p.messages.size() == 8 * kEach);  // 64 threads over 8 channels
      auto ids = Ids(p.messages);
      CHECK(std::is_sorted(ids.begin(), ids.end()));
      // Each writer's messages appear in the order it appended them.
      std::map<std::string, int> last_index;
      for (const Message& m : p.messages) {
        CHECK(m.channel_id == ch.id);
        const std::string& text = m.content.as_string();
        const int index = std::stoi(text.substr(text.find('-') + 1));
        auto [it, inserted] = last_index.emplace(m.sender, index);
        if (!inserted) {
          CHECK(index > it->second);
          it->second = index;
        }
        CHECK(stored.insert(m.id).second);  // exactly once
      }
    }
    CHECK(stored == all_acked);
  }

  // --- Bad input across every call --------------------------------------------------------------

  AGENTCORE_STORE_CASE("treats SQL metacharacters in every string field as data") {
    F f;
    for (const std::string& s : SqlMetaStrings()) {
      CAPTURE(s);
      Space sp;
      sp.id = s;
      sp.name = s;
      sp.owner_callsign = s;
      CHECK(Must(f.store().EnsureSpace(sp)).name == s);
      NewChannel nc;
      nc.id = "ch" + s;
      nc.space_id = s;
      nc.name = s;
      nc.tagline = s;
      nc.mission = s;
      Channel ch = Must(f.store().CreateChannel(nc));
      CHECK(Must(f.store().FindChannelByName(s, s)).id == ch.id);
      CHECK(Must(f.store().GetChannel(ch.id)).mission == s);
      NewRosterEntry re;
      re.id = "re" + s;
      re.channel_id = ch.id;
      re.callsign = s;
      re.agent_type = s;
      re.status = s;
      re.runtime_id = s;
      re.props = Json(s);
      Must(f.store().AddRosterEntry(re));
      RosterPatch rp;
      rp.callback_url = s;
      rp.readmark = s;
      rp.container_token_hash = s;
      rp.current = Json::Object();
      rp.current->Set(s, s);
      RosterEntry e = Must(f.store().UpdateRosterEntry(ch.id, s, rp));
      CHECK(e.callback_url == s);
      CHECK(e.current == *rp.current);
      CHECK(e.runtime_id == s);
      NewMessage nm;
      nm.id = "m" + s;
      nm.space_id = s;
      nm.channel_id = ch.id;
      nm.sender = s;
      nm.sender_type = s;
      nm.type = s;
      nm.content = Json(s);
      nm.addressed_agents = std::vector<std::string>{s};
      nm.metadata = Json::Object();
      nm.metadata.Set(s, s);
      nm.state = s;
      Message m = Must(f.store().AppendMessage(nm));
      Message got = Must(f.store().GetMessage(m.id));
      CHECK(got.sender == s);
      CHECK(got.type == s);
      CHECK(got.content == Json(s));
      CHECK(got.addressed_agents == nm.addressed_agents);
      CHECK(got.metadata == nm.metadata);
      PageRequest page;
      page.for_agent = s;
      page.types = {s};
      CHECK(Ids(Must(f.store().ListMessages(ch.id, page)).messages) ==
            std::vector<std::string>{m.id});
      MustOk(f.store().EnqueuePending({ch.id, s, m.id, 0, 0}));
      CHECK(Must(f.store().TakePending(ch.id, s, 5)).size() == 1);
      MustOk(f.store().AckPending(ch.id, s, {m.id}));
      Run run = Must(f.store().CreateRun(NewRun{"run" + s, s, Json(s)}));
      RunUpdate ru;
      ru.error = s;
      ru.worker_id = s;
      CHECK(Must(f.store().TransitionRun(run.id, RunState::kQueued, RunState::kFailed, ru)).error ==
            s);
      CHECK(Must(f.store().AppendRunEvent(run.id, s, Json(s))).type == s);
      Session se;
      se.id = "se" + s;
      se.owner_id = s;
      se.image = s;
      se.container_id = s;
      CHECK(Must(f.store().PutSession(se)).image == s);
      CHECK(Must(f.store().ListSessions(s)).size() == 1);
      Team t;
      t.id = "t" + s;
      t.space_id = s;
      t.name = s;
      CHECK(Must(f.store().CreateTeam(t)).name == s);
      ApiKey k;
      k.id = "k" + s;
      k.space_id = s;
      k.name = s;
      k.key_hash = "h" + s;
      k.prefix = s;
      Must(f.store().CreateApiKey(k));
      CHECK(Must(f.store().FindApiKeyByHash("h" + s)).name == s);
      IdempotencyRecord ir;
      ir.scope = s;
      ir.key = s;
      ir.request_hash = s;
      ir.response_body = s;
      ir.expires_at = f.clock().NowMillis() + 10;
      Must(f.store().PutIdempotency(ir));
      CHECK(Must(f.store().GetIdempotency(s, s)).response_body == s);
      Artifact a;
      a.channel_id = ch.id;
      a.slug = s;
      a.type = s;
      a.title = s;
      a.tldr = s;
      a.status = s;
      a.content_type = s;
      Must(f.store().PutArtifact(a, s));
      CHECK(Must(f.store().ReadArtifactBlob(ch.id, s)) == s);
      CHECK(Must(f.store().GetArtifact(ch.id, s)).title == s);
    }
    // Nothing was dropped or deleted along the way.
    for (const std::string& s : SqlMetaStrings()) {
      CHECK(Must(f.store().ListChannels(s, true)).size() == 1);
      CHECK(MessageCount(f.store(), "ch" + s) == 1);
    }
  }

  AGENTCORE_STORE_CASE("rejects invalid UTF-8 in every string field and changes nothing") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "writer")));
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "keep")));
    Run run = Must(f.store().CreateRun(NewRun{"", "p", Json()}));
    const std::string b = kBadUtf8;
    std::vector<std::pair<std::string, Status>> calls;
    auto call = [&](std::string what, Status s) { calls.emplace_back(std::move(what), s); };
    call("space name", f.store().EnsureSpace(Space{"s2", b, "", 0}).status());
    call("space owner", f.store().EnsureSpace(Space{"s2", "", b, 0}).status());
    call("get space", f.store().GetSpace(b).status());
    call("channel id", f.store().CreateChannel(NewChannel{b, w.space.id, "n", "", ""}).status());
    call("channel tagline",
         f.store().CreateChannel(NewChannel{"", w.space.id, "n", b, ""}).status());
    call("find channel", f.store().FindChannelByName(w.space.id, b).status());
    call("list channels", f.store().ListChannels(b, true).status());
    {
      NewRosterEntry e = Agent(w.channel, "x");
      e.agent_type = b;
      call("roster agent type", f.store().AddRosterEntry(e).status());
      e.agent_type = "";
      e.runtime_id = b;
      call("roster runtime", f.store().AddRosterEntry(e).status());
    }
    {
      RosterPatch p;
      p.callback_url = b;
      call("roster callback", f.store().UpdateRosterEntry(w.channel.id, "writer", p).status());
      RosterPatch q;
      q.readmark = b;
      call("roster readmark", f.store().UpdateRosterEntry(w.channel.id, "writer", q).status());
      RosterPatch r;
      r.props = Json(JsonObject{{b, Json(1)}});
      call("roster props", f.store().UpdateRosterEntry(w.channel.id, "writer", r).status());
    }
    call("get roster", f.store().GetRosterEntry(w.channel.id, b).status());
    call("remove roster", f.store().RemoveRosterEntry(w.channel.id, b));
    {
      NewMessage n = TextMessage(w.channel, "x");
      n.sender_type = b;
      call("message sender type", f.store().AppendMessage(n).status());
      n.sender_type = "user";
      n.type = b;
      call("message type", f.store().AppendMessage(n).status());
      n.type = "user";
      n.state = b;
      call("message state", f.store().AppendMessage(n).status());
      MessagePatch p;
      p.metadata = Json(b);
      call("message patch metadata", f.store().UpdateMessage(m.id, p).status());
    }
    call("delete message", f.store().DeleteMessage(b));
    call("enqueue", f.store().EnqueuePending({w.channel.id, "writer", b, 0, 0}));
    call("take", f.store().TakePending(w.channel.id, b, 1).status());
    call("run project", f.store().CreateRun(NewRun{"", b, Json()}).status());
    call("run input", f.store().CreateRun(NewRun{"", "p", Json(b)}).status());
    {
      RunUpdate u;
      u.worker_id = b;
      call("run worker",
           f.store().TransitionRun(run.id, RunState::kQueued, RunState::kPlanning, u).status());
      RunUpdate v;
      v.result = Json(b);
      call("run result",
           f.store().TransitionRun(run.id, RunState::kQueued, RunState::kPlanning, v).status());
    }
    call("run filter", f.store().ListRuns(RunFilter{b, {}, std::nullopt, 10}).status());
    call("run events", f.store().ListRunEvents(b, 0, 10).status());
    {
      Session s;
      s.id = "s";
      s.owner_id = b;
      call("session owner", f.store().PutSession(s).status());
    }
    call("sessions list", f.store().ListSessions(b).status());
    {
      Team t;
      t.space_id = b;
      t.name = "n";
      call("team space", f.store().CreateTeam(t).status());
    }
    {
      ApiKey k;
      k.key_hash = "h";
      k.name = b;
      call("api key name", f.store().CreateApiKey(k).status());
      k.name = "";
      k.prefix = b;
      call("api key prefix", f.store().CreateApiKey(k).status());
    }
    call("find api key", f.store().FindApiKeyByHash(b).status());
    call("idempotency key",
         f.store().PutIdempotency(IdempotencyRecord{"s", b, "", 200, "", 0, 10}).status());
    call("idempotency get", f.store().GetIdempotency(b, "k").status());
    {
      Artifact a;
      a.channel_id = w.channel.id;
      a.slug = b;
      call("artifact slug", f.store().PutArtifact(a, "x").status());
      a.slug = "ok";
      a.tldr = b;
      call("artifact tldr", f.store().PutArtifact(a, "x").status());
      a.tldr = "";
      a.content_type = b;
      call("artifact content type", f.store().PutArtifact(a, "x").status());
    }
    call("artifact read", f.store().ReadArtifactBlob(w.channel.id, b).status());
    for (const auto& [what, s] : calls) {
      CAPTURE(what);
      CHECK(s.code() == ErrorCode::kInvalidArgument);
    }
    // Nothing changed.
    CHECK(CodeOf(f.store().GetSpace("s2")) == ErrorCode::kNotFound);
    CHECK(Must(f.store().ListChannels(w.space.id, true)).size() == 1);
    CHECK(Must(f.store().ListRoster(w.channel.id)).size() == 1);
    RosterEntry e = Must(f.store().GetRosterEntry(w.channel.id, "writer"));
    CHECK_FALSE(e.callback_url.has_value());
    CHECK(e.props.is_null());
    CHECK(MessageCount(f.store(), w.channel.id) == 1);
    CHECK(Must(f.store().GetMessage(m.id)).metadata.is_null());
    CHECK(Must(f.store().ListRuns(RunFilter{})).size() == 1);
    CHECK(Must(f.store().GetRun(run.id)).state == RunState::kQueued);
    CHECK(CodeOf(f.store().GetSession("s")) == ErrorCode::kNotFound);
    CHECK(Must(f.store().ListArtifacts(w.channel.id)).empty());
  }

}  // TEST_SUITE("StoreConformance")

#undef AGENTCORE_STORE_CASE
