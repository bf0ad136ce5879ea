// SPDX-License-Identifier: Apache-2.0
// Store conformance cases: Runs and run events, sessions, teams, API keys, idempotency records,
// artifacts. Included by store/store_conformance.hpp only.
#ifndef AGENTCORE_STORE_CASE
#error "include store/store_conformance.hpp, not this part"
#endif

TEST_SUITE("StoreConformance") {
  using namespace agentcore;               // NOLINT: test-local brevity
  using namespace agentcore::conformance;  // NOLINT

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

  AGENTCORE_STORE_CASE("appends a batch of run events in order after the single ones") {
    F f;
    Run r = Must(f.store().CreateRun(NewRun{"", "proj", Json()}));
    Must(f.store().AppendRunEvent(r.id, "status", Json("first")));
    std::vector<std::pair<std::string, Json>> batch = {
        {"token", Json("a")}, {"tool", Json::Object()}, {"token", Json()}};
    std::vector<RunEventRecord> appended = Must(f.store().AppendRunEvents(r.id, batch));
    REQUIRE(appended.size() == 3);
    CHECK(appended[0].seq == 2);
    CHECK(appended[2].seq == 4);
    CHECK(appended[1].type == "tool");
    CHECK(Must(f.store().AppendRunEvent(r.id, "done", Json())).seq == 5);
    auto all = Must(f.store().ListRunEvents(r.id, 0, 100));
    REQUIRE(all.size() == 5);
    CHECK(all[1].data.as_string() == "a");
    CHECK(all[3].data.is_null());
    CHECK(Must(f.store().GetRun(r.id)).last_event_seq == 5);
    CHECK(Must(f.store().AppendRunEvents(r.id, {})).empty());
    CHECK(CodeOf(f.store().AppendRunEvents("nope", batch)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().ListRunEvents("nope", 0, 10)) == ErrorCode::kNotFound);
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

  AGENTCORE_STORE_CASE("stores an api key's tier, own limits and admin flag") {
    F f;
    ApiKey k;
    k.space_id = "space-1";
    k.name = "pro";
    k.key_hash = std::string(64, 'a');
    k.tier = "pro";
    k.requests_per_minute = 4'000'000'000u;  // the whole uint32 range survives
    k.max_running_sessions = 7;
    k.admin = true;
    ApiKey created = Must(f.store().CreateApiKey(k));
    CHECK(created.tier == "pro");
    CHECK(created.requests_per_minute == 4'000'000'000u);
    CHECK(created.max_running_sessions == 7);
    CHECK(created.admin);
    ApiKey found = Must(f.store().FindApiKeyByHash(k.key_hash));
    CHECK(found.tier == "pro");
    CHECK(found.requests_per_minute == 4'000'000'000u);
    CHECK(found.max_running_sessions == 7);
    CHECK(found.admin);
    ApiKey plain;
    plain.space_id = "space-1";
    plain.name = "plain";
    plain.key_hash = std::string(64, 'b');
    Must(f.store().CreateApiKey(plain));
    ApiKey back = Must(f.store().FindApiKeyByHash(plain.key_hash));
    CHECK(back.tier.empty());
    CHECK(back.requests_per_minute == 0);
    CHECK(back.max_running_sessions == 0);
    CHECK_FALSE(back.admin);
    auto list = Must(f.store().ListApiKeys("space-1"));
    REQUIRE(list.size() == 2);
    int admins = 0;
    for (const ApiKey& x : list) admins += x.admin ? 1 : 0;
    CHECK(admins == 1);
    MustOk(f.store().RevokeApiKey(created.id));
    list = Must(f.store().ListApiKeys("space-1"));
    for (const ApiKey& x : list) {
      if (x.id == created.id) CHECK(x.tier == "pro");  // revocation keeps the limits
    }
    ApiKey bad = plain;
    bad.key_hash = std::string(64, 'c');
    bad.tier = std::string(300, 't');
    CHECK(CodeOf(f.store().CreateApiKey(bad)) == ErrorCode::kInvalidArgument);
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

}  // TEST_SUITE("StoreConformance")
