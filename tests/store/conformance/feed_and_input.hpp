// SPDX-License-Identifier: Apache-2.0
// Store conformance cases: The change feed, concurrent writers, and bad input across every call.
// Included by store/store_conformance.hpp only.
#ifndef AGENTCORE_STORE_CASE
#error "include store/store_conformance.hpp, not this part"
#endif

TEST_SUITE("StoreConformance") {
  using namespace agentcore;               // NOLINT: test-local brevity
  using namespace agentcore::conformance;  // NOLINT

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
    p.status = RosterStatus::kIdle;
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

  AGENTCORE_STORE_CASE("keeps every message of 64 concurrent writers exactly once, in seq order") {
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
      // Pages follow seq (issue 13), strictly increasing; concurrent writers' ids need not.
      for (std::size_t i = 1; i < p.messages.size(); ++i) {
        CHECK(p.messages[i - 1].seq < p.messages[i].seq);
      }
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
    call("space name", f.store().EnsureSpace(Space{"s2", b, "", "", 0}).status());
    call("space owner", f.store().EnsureSpace(Space{"s2", "", b, "", 0}).status());
    call("space owner id", f.store().EnsureSpace(Space{"s2", "", "", b, 0}).status());
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
    call("run filter", f.store().ListRuns(RunFilter{b, {}, std::nullopt, 10, ""}).status());
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
    for (const auto& entry : calls) {
      const auto& what = entry.first;  // not a structured binding: clang 14 cannot capture one
      const auto& s = entry.second;
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

  AGENTCORE_STORE_CASE("rejects empty keys in every lookup and delete") {
    F f;
    World w = MakeWorld(f.store());
    std::vector<std::pair<std::string, Status>> calls = {
        {"get channel", f.store().GetChannel("").status()},
        {"find channel", f.store().FindChannelByName(w.space.id, "").status()},
        {"update channel", f.store().UpdateChannel("", ChannelPatch{}).status()},
        {"get roster", f.store().GetRosterEntry("", "x").status()},
        {"list roster", f.store().ListRoster("").status()},
        {"update roster", f.store().UpdateRosterEntry(w.channel.id, "", RosterPatch{}).status()},
        {"remove roster", f.store().RemoveRosterEntry("", "x")},
        {"update message", f.store().UpdateMessage("", MessagePatch{}).status()},
        {"delete message", f.store().DeleteMessage("")},
        {"take pending", f.store().TakePending(w.channel.id, "", 1).status()},
        {"ack pending", f.store().AckPending("", "x", {})},
        {"get run", f.store().GetRun("").status()},
        {"transition run",
         f.store().TransitionRun("", RunState::kQueued, RunState::kPlanning, RunUpdate{}).status()},
        {"append run event", f.store().AppendRunEvent("", "log", Json()).status()},
        {"list run events", f.store().ListRunEvents("", 0, 1).status()},
        {"get session", f.store().GetSession("").status()},
        {"delete session", f.store().DeleteSession("")},
        {"get team", f.store().GetTeam("").status()},
        {"list teams", f.store().ListTeams("").status()},
        {"update team", f.store().UpdateTeamSpec("", Json()).status()},
        {"delete team", f.store().DeleteTeam("")},
        {"find api key", f.store().FindApiKeyByHash("").status()},
        {"revoke api key", f.store().RevokeApiKey("")},
        {"touch api key", f.store().TouchApiKey("", 1)},
        {"get idempotency", f.store().GetIdempotency("s", "").status()},
        {"get artifact", f.store().GetArtifact(w.channel.id, "").status()},
        {"read artifact", f.store().ReadArtifactBlob("", "x").status()},
        {"list artifacts", f.store().ListArtifacts("").status()},
        {"delete artifact", f.store().DeleteArtifact(w.channel.id, "")},
    };
    for (const auto& entry : calls) {
      const auto& what = entry.first;  // not a structured binding: clang 14 cannot capture one
      const auto& s = entry.second;
      CAPTURE(what);
      CHECK(s.code() == ErrorCode::kInvalidArgument);
    }
  }

  AGENTCORE_STORE_CASE("rejects keys longer than kMaxKeyBytes in every kind of record") {
    F f;
    World w = MakeWorld(f.store());
    const std::string k(kMaxKeyBytes + 1, 'k');
    std::vector<std::pair<std::string, Status>> calls;
    calls.emplace_back("channel name",
                       f.store().CreateChannel(NewChannel{"", w.space.id, k, "", ""}).status());
    calls.emplace_back("callsign", f.store().AddRosterEntry(Agent(w.channel, k)).status());
    calls.emplace_back("sender", f.store().AppendMessage(TextMessage(w.channel, "x", k)).status());
    calls.emplace_back("run id", f.store().CreateRun(NewRun{k, "p", Json()}).status());
    calls.emplace_back("run event type", f.store().AppendRunEvent("r", k, Json()).status());
    Session s;
    s.id = k;
    calls.emplace_back("session id", f.store().PutSession(s).status());
    Team t;
    t.space_id = w.space.id;
    t.name = k;
    calls.emplace_back("team name", f.store().CreateTeam(t).status());
    ApiKey a;
    a.key_hash = k;
    calls.emplace_back("api key hash", f.store().CreateApiKey(a).status());
    calls.emplace_back(
        "idempotency scope",
        f.store().PutIdempotency(IdempotencyRecord{k, "k", "", 200, "", 0, 1}).status());
    Artifact art;
    art.channel_id = w.channel.id;
    art.slug = k;
    calls.emplace_back("artifact slug", f.store().PutArtifact(art, "x").status());
    for (const auto& entry : calls) {
      const auto& what = entry.first;  // not a structured binding: clang 14 cannot capture one
      const auto& st = entry.second;
      CAPTURE(what);
      CHECK(st.code() == ErrorCode::kInvalidArgument);
    }
    CHECK(Must(f.store().ListChannels(w.space.id, true)).size() == 1);
    CHECK(Must(f.store().ListRoster(w.channel.id)).empty());
    CHECK(Must(f.store().ListRuns(RunFilter{})).empty());
  }

  AGENTCORE_STORE_CASE("rejects oversized text outside messages") {
    F f;
    World w = MakeWorld(f.store());
    const std::string big(SqliteStoreOptions().max_content_bytes + 1, 't');
    CHECK(CodeOf(f.store().CreateChannel(NewChannel{"", w.space.id, "n", big, ""})) ==
          ErrorCode::kInvalidArgument);
    ChannelPatch p;
    p.mission = big;
    CHECK(CodeOf(f.store().UpdateChannel(w.channel.id, p)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().PutIdempotency(IdempotencyRecord{"s", "k", "", 200, big, 0, 1})) ==
          ErrorCode::kInvalidArgument);
    Artifact a;
    a.channel_id = w.channel.id;
    a.slug = "s";
    a.tldr = big;
    CHECK(CodeOf(f.store().PutArtifact(a, "x")) == ErrorCode::kInvalidArgument);
    Run r = Must(f.store().CreateRun(NewRun{"", "p", Json()}));
    RunUpdate u;
    u.result = Json(big);
    CHECK(CodeOf(f.store().TransitionRun(r.id, RunState::kQueued, RunState::kFailed, u)) ==
          ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().GetRun(r.id)).state == RunState::kQueued);
    CHECK(Must(f.store().GetChannel(w.channel.id)).mission.empty());
    CHECK(Must(f.store().ListArtifacts(w.channel.id)).empty());
  }

  AGENTCORE_STORE_CASE("rejects JSON nested too deep in every JSON field") {
    F f;
    World w = MakeWorld(f.store());
    Json deep = Json(1);
    for (int i = 0; i <= kMaxJsonDepth; ++i) {
      JsonObject o;
      o.push_back({"d", deep});
      deep = Json(std::move(o));
    }
    NewRosterEntry e = Agent(w.channel, "x");
    e.props = deep;
    CHECK(CodeOf(f.store().AddRosterEntry(e)) == ErrorCode::kInvalidArgument);
    NewMessage m = TextMessage(w.channel, "x");
    m.metadata = deep;
    CHECK(CodeOf(f.store().AppendMessage(m)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().CreateRun(NewRun{"", "p", deep})) == ErrorCode::kInvalidArgument);
    Run r = Must(f.store().CreateRun(NewRun{"", "p", Json()}));
    CHECK(CodeOf(f.store().AppendRunEvent(r.id, "log", deep)) == ErrorCode::kInvalidArgument);
    Session s;
    s.id = "s";
    s.metadata = deep;
    CHECK(CodeOf(f.store().PutSession(s)) == ErrorCode::kInvalidArgument);
    Team t;
    t.space_id = w.space.id;
    t.name = "t";
    t.spec = deep;
    CHECK(CodeOf(f.store().CreateTeam(t)) == ErrorCode::kInvalidArgument);
    Artifact a;
    a.channel_id = w.channel.id;
    a.slug = "a";
    a.props = deep;
    CHECK(CodeOf(f.store().PutArtifact(a, "x")) == ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().ListRoster(w.channel.id)).empty());
    CHECK(MessageCount(f.store(), w.channel.id) == 0);
    CHECK(Must(f.store().ListRunEvents(r.id, 0, 10)).empty());
  }

  AGENTCORE_STORE_CASE("reports not found for every lookup of a missing record") {
    F f;
    World w = MakeWorld(f.store());
    std::vector<std::pair<std::string, Status>> calls = {
        {"space", f.store().GetSpace("nope").status()},
        {"channel", f.store().GetChannel("nope").status()},
        {"roster", f.store().GetRosterEntry(w.channel.id, "nope").status()},
        {"message", f.store().GetMessage("nope").status()},
        {"run", f.store().GetRun("nope").status()},
        {"run events", f.store().ListRunEvents("nope", 0, 1).status()},
        {"session", f.store().GetSession("nope").status()},
        {"team", f.store().GetTeam("nope").status()},
        {"api key", f.store().FindApiKeyByHash("nope").status()},
        {"revoke", f.store().RevokeApiKey("nope")},
        {"touch", f.store().TouchApiKey("nope", 1)},
        {"idempotency", f.store().GetIdempotency("s", "nope").status()},
        {"artifact", f.store().GetArtifact(w.channel.id, "nope").status()},
        {"blob", f.store().ReadArtifactBlob(w.channel.id, "nope").status()},
        {"delete artifact", f.store().DeleteArtifact(w.channel.id, "nope")},
        {"artifacts of a missing channel", f.store().ListArtifacts("nope").status()},
        {"pending of a missing channel", f.store().TakePending("nope", "x", 1).status()},
    };
    for (const auto& entry : calls) {
      const auto& what = entry.first;  // not a structured binding: clang 14 cannot capture one
      const auto& s = entry.second;
      CAPTURE(what);
      CHECK(s.code() == ErrorCode::kNotFound);
    }
  }

}  // TEST_SUITE("StoreConformance")
