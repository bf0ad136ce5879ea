// SPDX-License-Identifier: Apache-2.0
// Store conformance cases: users, space owners and the space listing, cost records, what the
// roster listing includes, and migration 0005 (users, spaces.owner_id, cost_records) going down
// and up. Included by store/store_conformance.hpp only.
#ifndef AGENTCORE_STORE_CASE
#error "include store/store_conformance.hpp, not this part"
#endif

namespace agentcore::conformance {

inline User MakeUser(std::string external_id, std::string callsign) {
  User u;
  u.external_id = std::move(external_id);
  u.callsign = std::move(callsign);
  u.email = u.callsign + "@example.com";
  u.avatar_url = "https://example.com/" + u.callsign + ".png";
  return u;
}

inline CostRecord Cost(const Channel& ch, std::string callsign, double usd) {
  CostRecord c;
  c.channel_id = ch.id;
  c.callsign = std::move(callsign);
  c.cost_usd = usd;
  return c;
}

inline std::vector<std::string> Callsigns(const std::vector<CostRecord>& costs) {
  std::vector<std::string> out;
  for (const CostRecord& c : costs) out.push_back(c.callsign);
  return out;
}

}  // namespace agentcore::conformance

TEST_SUITE("StoreConformance") {
  using namespace agentcore;               // NOLINT: test-local brevity
  using namespace agentcore::conformance;  // NOLINT

  // --- Users ------------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("creates a user with a new id and finds it by id and by external id") {
    F f;
    f.clock().Advance(5);
    User in = MakeUser("dev:01HZX", "alice");
    in.disclaimer_accepted_version = "2024-01";
    in.created_at = 1;  // ignored: the store's clock
    in.updated_at = 2;
    User u = Must(f.store().CreateUser(in));
    CHECK(IsUlid(u.id));
    CHECK(u.external_id == "dev:01HZX");
    CHECK(u.created_at == f.clock().NowMillis());
    CHECK(u.updated_at == u.created_at);
    f.clock().Advance(100);
    User got = Must(f.store().GetUser(u.id));
    CHECK(got.id == u.id);
    CHECK(got.external_id == in.external_id);
    CHECK(got.callsign == "alice");
    CHECK(got.email == "alice@example.com");
    CHECK(got.avatar_url == in.avatar_url);
    CHECK(got.disclaimer_accepted_version == "2024-01");
    CHECK(got.created_at == u.created_at);
    CHECK(got.updated_at == u.updated_at);
    CHECK(Must(f.store().FindUserByExternalId("dev:01HZX")).id == u.id);

    User given = MakeUser("", "bob");
    given.id = "user-bob";
    CHECK(Must(f.store().CreateUser(given)).id == "user-bob");
    CHECK(Must(f.store().GetUser("user-bob")).callsign == "bob");

    CHECK(CodeOf(f.store().GetUser("missing")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().FindUserByExternalId("dev:missing")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().FindUserByExternalId("DEV:01HZX")) == ErrorCode::kNotFound);  // exact
  }

  AGENTCORE_STORE_CASE("refuses a taken user id or external id, but not two empty external ids") {
    F f;
    User a = Must(f.store().CreateUser(MakeUser("sso:1", "alice")));
    User same_id = MakeUser("sso:2", "other");
    same_id.id = a.id;
    CHECK(CodeOf(f.store().CreateUser(same_id)) == ErrorCode::kAlreadyExists);
    User same_external = MakeUser("sso:1", "mallory");
    same_external.id = "user-mallory";
    CHECK(CodeOf(f.store().CreateUser(same_external)) == ErrorCode::kAlreadyExists);
    // Nothing of the refused ones was stored.
    CHECK(CodeOf(f.store().GetUser("user-mallory")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().FindUserByExternalId("sso:2")) == ErrorCode::kNotFound);
    User still = Must(f.store().GetUser(a.id));
    CHECK(still.callsign == "alice");
    CHECK(still.external_id == "sso:1");
    CHECK(Must(f.store().FindUserByExternalId("sso:1")).id == a.id);

    // No external id is not a value: any number of users may have none, and callsigns repeat.
    // (So is no email: a non-empty one is unique since migration 0010, accounts.hpp.)
    User no_email = MakeUser("", "alice");
    no_email.email.clear();
    User x = Must(f.store().CreateUser(no_email));
    User y = Must(f.store().CreateUser(no_email));
    CHECK(x.id != y.id);
    CHECK(Must(f.store().GetUser(x.id)).external_id.empty());
    CHECK(Must(f.store().GetUser(y.id)).callsign == "alice");
  }

  AGENTCORE_STORE_CASE("rejects bad user input and stores nothing") {
    F f;
    const std::string b = kBadUtf8;
    const std::string long_key(kMaxKeyBytes + 1, 'u');
    std::vector<std::pair<std::string, Status>> calls;
    auto create = [&](std::string what, User u) {
      u.id = "user-bad";
      calls.emplace_back(std::move(what), f.store().CreateUser(u).status());
    };
    User u = MakeUser("ext", "alice");
    u.external_id = b;
    create("external id utf-8", u);
    u = MakeUser("ext", b);
    create("callsign utf-8", u);
    u = MakeUser("ext", "alice");
    u.email = kLoneSurrogate;
    create("email utf-8", u);
    u = MakeUser("ext", "alice");
    u.avatar_url = kOverlong;
    create("avatar utf-8", u);
    u = MakeUser("ext", "alice");
    u.avatar_url = std::string(SqliteStoreOptions().max_content_bytes + 1, 'a');
    create("avatar too big", u);
    u = MakeUser("ext", "alice");
    u.disclaimer_accepted_version = std::string("v\0", 2);
    create("disclaimer NUL", u);
    u = MakeUser(long_key, "alice");
    create("external id too long", u);
    u = MakeUser("ext", long_key);
    create("callsign too long", u);
    {
      User bad_id = MakeUser("ext", "alice");
      bad_id.id = long_key;
      calls.emplace_back("id too long", f.store().CreateUser(bad_id).status());
      bad_id.id = b;
      calls.emplace_back("id utf-8", f.store().CreateUser(bad_id).status());
    }
    calls.emplace_back("get empty", f.store().GetUser("").status());
    calls.emplace_back("get utf-8", f.store().GetUser(b).status());
    calls.emplace_back("get too long", f.store().GetUser(long_key).status());
    calls.emplace_back("find empty", f.store().FindUserByExternalId("").status());
    calls.emplace_back("find utf-8", f.store().FindUserByExternalId(b).status());
    for (const auto& entry : calls) {
      const auto& what = entry.first;  // not a structured binding: clang 14 cannot capture one
      const auto& s = entry.second;
      CAPTURE(what);
      CHECK(s.code() == ErrorCode::kInvalidArgument);
    }
    CHECK(CodeOf(f.store().GetUser("user-bad")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().FindUserByExternalId("ext")) == ErrorCode::kNotFound);
    // Exactly at the key limit is fine.
    User edge = MakeUser(std::string(kMaxKeyBytes, 'e'), std::string(kMaxKeyBytes, 'c'));
    edge.id = std::string(kMaxKeyBytes, 'i');
    edge.email = std::string(kMaxKeyBytes, 'm');
    CHECK(Must(f.store().CreateUser(edge)).id == edge.id);
    CHECK(Must(f.store().FindUserByExternalId(edge.external_id)).callsign == edge.callsign);
  }

  AGENTCORE_STORE_CASE("keeps SQL metacharacters in user, space owner and cost fields as data") {
    F f;
    World w = MakeWorld(f.store());
    for (const std::string& s : SqlMetaStrings()) {
      CAPTURE(s);
      User u;
      u.id = "u" + s;
      u.external_id = s;
      u.callsign = s;
      u.email = s;
      u.avatar_url = s;
      u.disclaimer_accepted_version = s;
      Must(f.store().CreateUser(u));
      User got = Must(f.store().FindUserByExternalId(s));
      CHECK(got.id == "u" + s);
      CHECK(got.email == s);
      CHECK(got.disclaimer_accepted_version == s);
      Space sp;
      sp.id = "sp" + s;
      sp.owner_id = s;
      CHECK(Must(f.store().EnsureSpace(sp)).owner_id == s);
      CostRecord c = Cost(w.channel, s, 1);
      c.usage = Json::Object();
      c.usage.Set(s, s);
      MustOk(f.store().UpsertCost(c));
    }
    auto costs = Must(f.store().ListCosts(w.channel.id));
    REQUIRE(costs.size() == SqlMetaStrings().size());
    for (const CostRecord& c : costs) CHECK(c.usage.Find(c.callsign) != nullptr);
    CHECK(Must(f.store().ListSpaces(100)).size() == SqlMetaStrings().size() + 1);
    CHECK(Must(f.store().GetChannel(w.channel.id)).name == "general");
  }

  // --- Space owners and the space listing -------------------------------------------------------

  AGENTCORE_STORE_CASE("stores a space's owner id and keeps it when ensured again") {
    F f;
    User owner = Must(f.store().CreateUser(MakeUser("dev:1", "alice")));
    Space s;
    s.id = "acme";
    s.name = "Acme";
    s.owner_callsign = "alice";
    s.owner_id = owner.id;
    Space a = Must(f.store().EnsureSpace(s));
    CHECK(a.owner_id == owner.id);
    CHECK(a.owner_callsign == "alice");
    s.owner_id = "someone-else";
    CHECK(Must(f.store().EnsureSpace(s)).owner_id == owner.id);  // the existing one, unchanged
    CHECK(Must(f.store().GetSpace("acme")).owner_id == owner.id);
    Space unowned;
    unowned.id = "loose";
    CHECK(Must(f.store().EnsureSpace(unowned)).owner_id.empty());
    // A label: an owner that is no user is stored as given.
    Space dangling;
    dangling.id = "dangling";
    dangling.owner_id = "no-such-user";
    CHECK(Must(f.store().EnsureSpace(dangling)).owner_id == "no-such-user");
    Space bad;
    bad.id = "bad";
    bad.owner_id = kBadUtf8;
    CHECK(CodeOf(f.store().EnsureSpace(bad)) == ErrorCode::kInvalidArgument);
    bad.owner_id = std::string(kMaxKeyBytes + 1, 'o');
    CHECK(CodeOf(f.store().EnsureSpace(bad)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().GetSpace("bad")) == ErrorCode::kNotFound);
  }

  AGENTCORE_STORE_CASE("lists spaces oldest first, ties by id, at most limit") {
    F f;
    CHECK(Must(f.store().ListSpaces(10)).empty());
    auto ensure = [&](std::string id, std::string owner) {
      Space s;
      s.id = std::move(id);
      s.name = "n-" + s.id;
      s.owner_id = std::move(owner);
      return Must(f.store().EnsureSpace(s));
    };
    ensure("m-second", "u2");
    ensure("b-second", "u3");  // the same millisecond: id order
    f.clock().Advance(-1000);  // an older created_at comes first whatever the insert order
    ensure("z-first", "u1");
    f.clock().Advance(5000);
    ensure("a-last", "");
    std::vector<Space> all = Must(f.store().ListSpaces(100));
    std::vector<std::string> ids;
    for (const Space& s : all) ids.push_back(s.id);
    CHECK(ids == std::vector<std::string>{"z-first", "b-second", "m-second", "a-last"});
    CHECK(all[0].owner_id == "u1");
    CHECK(all[0].name == "n-z-first");
    CHECK(all[1].owner_id == "u3");
    CHECK(all[3].owner_id.empty());
    CHECK(all[0].created_at < all[1].created_at);
    CHECK(all[1].created_at == all[2].created_at);
    std::vector<Space> two = Must(f.store().ListSpaces(2));
    REQUIRE(two.size() == 2);
    CHECK(two[0].id == "z-first");
    CHECK(two[1].id == "b-second");
    CHECK(Must(f.store().ListSpaces(0)).empty());
    CHECK(Must(f.store().ListSpaces(static_cast<std::size_t>(-1))).size() == 4);  // clamped
  }

  // --- Roster listing ---------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("lists every roster entry whatever its status, archived ones included") {
    F f;
    World w = MakeWorld(f.store());
    Must(f.store().AddRosterEntry(Agent(w.channel, "first")));
    f.clock().Advance(1);
    Must(f.store().AddRosterEntry(Agent(w.channel, "second")));
    f.clock().Advance(1);
    Must(f.store().AddRosterEntry(Agent(w.channel, "third")));
    RosterPatch archive;
    archive.status = RosterStatus::kArchived;
    Must(f.store().UpdateRosterEntry(w.channel.id, "first", archive));
    RosterPatch offline;
    offline.status = RosterStatus::kOffline;
    Must(f.store().UpdateRosterEntry(w.channel.id, "third", offline));
    std::vector<RosterEntry> roster = Must(f.store().ListRoster(w.channel.id));
    REQUIRE(roster.size() == 3);
    CHECK(roster[0].callsign == "first");
    CHECK(roster[0].status == RosterStatus::kArchived);
    CHECK(roster[1].callsign == "second");
    CHECK(roster[1].status == RosterStatus::kActive);
    CHECK(roster[2].callsign == "third");
    CHECK(roster[2].status == RosterStatus::kOffline);
  }

  // --- Cost records -----------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("upserts one cost record per agent and channel, replacing the totals") {
    F f;
    World w = MakeWorld(f.store());
    CHECK(Must(f.store().ListCosts(w.channel.id)).empty());
    CostRecord first = Cost(w.channel, "writer", 0.1);
    first.duration_ms = 1500;
    first.num_turns = 2;
    first.usage = Json::Object();
    first.usage.Set("input_tokens", 1200);
    first.usage.Set("output_tokens", 340);
    Json per_model = Json::Object();
    per_model.Set("costUSD", 0.1);
    per_model.Set("inputTokens", 1200);
    first.model_usage = Json::Object();
    first.model_usage.Set("claude-sonnet", per_model);
    first.updated_at = 99;  // ignored: the store's clock
    MustOk(f.store().UpsertCost(first));
    std::vector<CostRecord> costs = Must(f.store().ListCosts(w.channel.id));
    REQUIRE(costs.size() == 1);
    CHECK(costs[0].space_id == w.space.id);  // empty: the channel's
    CHECK(costs[0].channel_id == w.channel.id);
    CHECK(costs[0].callsign == "writer");
    CHECK(costs[0].cost_usd == 0.1);  // exactly
    CHECK(costs[0].duration_ms == 1500);
    CHECK(costs[0].num_turns == 2);
    CHECK(costs[0].usage == first.usage);
    CHECK(costs[0].model_usage == first.model_usage);
    CHECK(costs[0].updated_at == f.clock().NowMillis());

    // The next report holds the new running totals and replaces the record whole.
    f.clock().Advance(60'000);
    CostRecord second = Cost(w.channel, "writer", 0.30000000000000004);
    second.space_id = w.space.id;  // the channel's own space is fine too
    second.duration_ms = 4'000'000'000'000;  // beyond 32 bits
    second.num_turns = 7;
    second.usage = Json::Object();
    second.usage.Set("input_tokens", 5000);
    MustOk(f.store().UpsertCost(second));
    costs = Must(f.store().ListCosts(w.channel.id));
    REQUIRE(costs.size() == 1);
    CHECK(costs[0].cost_usd == 0.30000000000000004);
    CHECK(costs[0].duration_ms == 4'000'000'000'000);
    CHECK(costs[0].num_turns == 7);
    CHECK(costs[0].usage == second.usage);
    CHECK(costs[0].model_usage.is_null());  // replaced, not merged
    CHECK(costs[0].updated_at == f.clock().NowMillis());

    // Totals may also go down (a restarted agent reports from zero): still a plain replace.
    MustOk(f.store().UpsertCost(Cost(w.channel, "writer", 0)));
    costs = Must(f.store().ListCosts(w.channel.id));
    REQUIRE(costs.size() == 1);
    CHECK(costs[0].cost_usd == 0);
    CHECK(costs[0].num_turns == 0);
    CHECK(costs[0].usage.is_null());
  }

  AGENTCORE_STORE_CASE("lists a channel's costs highest first, ties by callsign, per channel") {
    F f;
    World w = MakeWorld(f.store());
    NewChannel other_in;
    other_in.space_id = w.space.id;
    other_in.name = "other";
    Channel other = Must(f.store().CreateChannel(other_in));
    MustOk(f.store().UpsertCost(Cost(w.channel, "cheap", 0.25)));
    MustOk(f.store().UpsertCost(Cost(w.channel, "pricey", 1234.5678901234567)));
    MustOk(f.store().UpsertCost(Cost(w.channel, "zed", 3.5)));
    MustOk(f.store().UpsertCost(Cost(w.channel, "alpha", 3.5)));
    MustOk(f.store().UpsertCost(Cost(w.channel, "huge", 1e300)));
    MustOk(f.store().UpsertCost(Cost(other, "pricey", 9)));
    std::vector<CostRecord> costs = Must(f.store().ListCosts(w.channel.id));
    CHECK(Callsigns(costs) ==
          std::vector<std::string>{"huge", "pricey", "alpha", "zed", "cheap"});
    REQUIRE(costs.size() == 5);
    CHECK(costs[0].cost_usd == 1e300);
    CHECK(costs[1].cost_usd == 1234.5678901234567);
    // Raising one agent's total moves it up; the other channel's record is separate.
    MustOk(f.store().UpsertCost(Cost(w.channel, "cheap", 5000)));
    CHECK(Callsigns(Must(f.store().ListCosts(w.channel.id))) ==
          std::vector<std::string>{"huge", "cheap", "pricey", "alpha", "zed"});
    std::vector<CostRecord> in_other = Must(f.store().ListCosts(other.id));
    REQUIRE(in_other.size() == 1);
    CHECK(in_other[0].callsign == "pricey");
    CHECK(in_other[0].cost_usd == 9);
    CHECK(in_other[0].channel_id == other.id);
  }

  AGENTCORE_STORE_CASE("refuses costs for a missing channel, another space, bad numbers or text") {
    F f;
    World w = MakeWorld(f.store());
    Space s2;
    s2.id = "space-2";
    Must(f.store().EnsureSpace(s2));
    MustOk(f.store().UpsertCost(Cost(w.channel, "keep", 2)));

    CHECK(CodeOf(f.store().UpsertCost(Cost(Channel{}, "x", 1))) == ErrorCode::kInvalidArgument);
    Channel missing;
    missing.id = "no-such-channel";
    CHECK(CodeOf(f.store().UpsertCost(Cost(missing, "x", 1))) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().ListCosts("no-such-channel")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().ListCosts("")) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().ListCosts(kBadUtf8)) == ErrorCode::kInvalidArgument);

    std::vector<std::pair<std::string, Status>> calls;
    auto upsert = [&](std::string what, CostRecord c) {
      calls.emplace_back(std::move(what), f.store().UpsertCost(c));
    };
    CostRecord c = Cost(w.channel, "keep", 100);
    c.space_id = "space-2";  // exists, but is not the channel's
    CHECK(CodeOf(f.store().UpsertCost(c)) == ErrorCode::kInvalidArgument);
    c.space_id = "no-such-space";
    CHECK(CodeOf(f.store().UpsertCost(c)) == ErrorCode::kInvalidArgument);
    upsert("negative cost", Cost(w.channel, "keep", -0.01));
    upsert("nan cost", Cost(w.channel, "keep", std::numeric_limits<double>::quiet_NaN()));
    upsert("infinite cost", Cost(w.channel, "keep", std::numeric_limits<double>::infinity()));
    c = Cost(w.channel, "keep", 100);
    c.duration_ms = -1;
    upsert("negative duration", c);
    c = Cost(w.channel, "keep", 100);
    c.num_turns = -1;
    upsert("negative turns", c);
    upsert("empty callsign", Cost(w.channel, "", 100));
    upsert("callsign utf-8", Cost(w.channel, kBadUtf8, 100));
    upsert("callsign too long", Cost(w.channel, std::string(kMaxKeyBytes + 1, 'c'), 100));
    c = Cost(w.channel, "keep", 100);
    c.space_id = kBadUtf8;
    upsert("space utf-8", c);
    c = Cost(w.channel, "keep", 100);
    c.usage = Json(JsonObject{{kBadUtf8, Json(1)}});
    upsert("usage key utf-8", c);
    Json deep = Json(1);
    for (int i = 0; i <= kMaxJsonDepth; ++i) deep = Json(JsonArray{deep});
    c = Cost(w.channel, "keep", 100);
    c.model_usage = deep;
    upsert("model usage too deep", c);
    for (const auto& entry : calls) {
      const auto& what = entry.first;  // not a structured binding: clang 14 cannot capture one
      const auto& st = entry.second;
      CAPTURE(what);
      CHECK(st.code() == ErrorCode::kInvalidArgument);
    }
    // Nothing changed.
    std::vector<CostRecord> costs = Must(f.store().ListCosts(w.channel.id));
    REQUIRE(costs.size() == 1);
    CHECK(costs[0].callsign == "keep");
    CHECK(costs[0].cost_usd == 2);
    CHECK(costs[0].space_id == w.space.id);
  }

  // --- Migration 0005 ---------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("migrating below version 5 and back drops users and costs, keeps spaces") {
    F f;
    const int latest = Must(f.store().SchemaVersion());
    REQUIRE(latest >= 5);
    World w = MakeWorld(f.store());
    User u = Must(f.store().CreateUser(MakeUser("dev:1", "alice")));
    Space owned;
    owned.id = "owned";
    owned.owner_id = u.id;
    Must(f.store().EnsureSpace(owned));
    MustOk(f.store().UpsertCost(Cost(w.channel, "writer", 1.5)));
    Message m = Must(f.store().AppendMessage(TextMessage(w.channel, "kept")));

    MustOk(f.store().MigrateTo(4));
    CHECK(Must(f.store().SchemaVersion()) == 4);
    CHECK_FALSE(f.store().GetUser(u.id).ok());  // the table is gone
    CHECK_FALSE(f.store().ListCosts(w.channel.id).ok());
    CHECK(Must(f.store().GetChannel(w.channel.id)).name == "general");  // older tables remain

    MustOk(f.store().MigrateTo(latest));
    CHECK(Must(f.store().SchemaVersion()) == latest);
    // (read back at the latest version: the store's message queries need migration 6's seq)
    CHECK(Must(f.store().GetMessage(m.id)).content == Json("kept"));
    CHECK(CodeOf(f.store().GetUser(u.id)) == ErrorCode::kNotFound);  // back, empty
    CHECK(CodeOf(f.store().FindUserByExternalId("dev:1")) == ErrorCode::kNotFound);
    CHECK(Must(f.store().ListCosts(w.channel.id)).empty());
    Space back = Must(f.store().GetSpace("owned"));  // the space survived, its owner id did not
    CHECK(back.owner_id.empty());
    CHECK(Must(f.store().ListSpaces(10)).size() == 2);
    // Usable again, the external id's uniqueness included.
    User again = Must(f.store().CreateUser(MakeUser("dev:1", "alice")));
    CHECK(CodeOf(f.store().CreateUser(MakeUser("dev:1", "eve"))) == ErrorCode::kAlreadyExists);
    Space owned2;
    owned2.id = "owned-2";
    owned2.owner_id = again.id;
    CHECK(Must(f.store().EnsureSpace(owned2)).owner_id == again.id);
    MustOk(f.store().UpsertCost(Cost(w.channel, "writer", 2.5)));
    CHECK(Must(f.store().ListCosts(w.channel.id)).at(0).cost_usd == 2.5);
  }

}  // TEST_SUITE("StoreConformance")
