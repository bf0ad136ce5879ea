// SPDX-License-Identifier: Apache-2.0
// Store conformance cases: Schema, spaces, channels and roster. Included by
// store/store_conformance.hpp only.
#ifndef AGENTCORE_STORE_CASE
#error "include store/store_conformance.hpp, not this part"
#endif

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
    CHECK(ea.status == RosterStatus::kActive);
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
    p.status = RosterStatus::kBusy;
    p.callback_url = "http://10.0.0.7:8080/agent";
    p.last_heartbeat = 1234;
    p.route_hints = Json::Object();
    p.route_hints->Set("fly-force-instance-id", "abc");
    p.container_token_hash = std::string(64, 'a');
    RosterEntry a = Must(f.store().UpdateRosterEntry(w.channel.id, "writer", p));
    CHECK(a.status == RosterStatus::kBusy);
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
    CHECK(b.status == RosterStatus::kBusy);
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
    p.status = RosterStatus::kIdle;
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
    NewRosterEntry bad_status = Agent(w.channel, "other");
    bad_status.status = static_cast<RosterStatus>(42);  // not one of the six
    CHECK(CodeOf(f.store().AddRosterEntry(bad_status)) == ErrorCode::kInvalidArgument);
    RosterPatch both;
    both.callback_url = "http://x";
    both.clear_callback_url = true;
    CHECK(CodeOf(f.store().UpdateRosterEntry(w.channel.id, "writer", both)) ==
          ErrorCode::kInvalidArgument);
    RosterPatch bad_current;
    bad_current.status = RosterStatus::kIdle;
    bad_current.current = Json(kBadUtf8);
    CHECK(CodeOf(f.store().UpdateRosterEntry(w.channel.id, "writer", bad_current)) ==
          ErrorCode::kInvalidArgument);
    RosterEntry e = Must(f.store().GetRosterEntry(w.channel.id, "writer"));
    CHECK(e.status == RosterStatus::kActive);
    CHECK(Must(f.store().ListRoster(w.channel.id)).size() == 1);
  }

}  // TEST_SUITE("StoreConformance")
