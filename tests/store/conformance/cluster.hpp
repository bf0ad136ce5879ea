// SPDX-License-Identifier: Apache-2.0
// Store conformance cases: clusters (issue 17, docs/cluster.md): cluster events through the
// change feed and leases (free, expired, own, another's, concurrent acquirers, renew, release,
// list), with their bad input. Included by store/store_conformance.hpp only.
#ifndef AGENTCORE_STORE_CASE
#error "include store/store_conformance.hpp, not this part"
#endif

namespace agentcore::conformance {

inline ClusterEvent LinesEvent(std::string channel_id, std::string payload,
                               std::string origin = "node-a") {
  ClusterEvent e;
  e.kind = ClusterEvent::Kind::kLines;
  e.origin = std::move(origin);
  e.channel_id = std::move(channel_id);
  e.payload = std::move(payload);
  return e;
}

inline std::vector<ClusterEvent> ClusterEventsOf(const std::vector<StoreChange>& changes) {
  std::vector<ClusterEvent> out;
  for (const StoreChange& c : changes) {
    if (c.kind == StoreChange::Kind::kCluster) out.push_back(c.cluster);
  }
  return out;
}

}  // namespace agentcore::conformance

TEST_SUITE("StoreConformance") {
  using namespace agentcore;               // NOLINT: test-local brevity
  using namespace agentcore::conformance;  // NOLINT

  // --- Cluster events ---------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("delivers cluster events to subscribers in order, fields intact") {
    F f;
    World w = MakeWorld(f.store());
    RecordingListener l;
    auto sub = Must(f.store().Subscribe(&l));
    std::vector<ClusterEvent> first{LinesEvent(w.channel.id, "{\"lines\":[1]}"),
                                    LinesEvent(w.channel.id, "line two\nwith 'quotes' é")};
    ClusterEvent wake;
    wake.kind = ClusterEvent::Kind::kAgentWake;
    wake.origin = "node-b";
    wake.channel_id = w.channel.id;
    wake.key = "writer";
    MustOk(f.store().AppendClusterEvents(first));
    Message between = Must(f.store().AppendMessage(TextMessage(w.channel, "between")));
    MustOk(f.store().AppendClusterEvents(std::span(&wake, 1)));
    MustOk(f.store().AppendClusterEvents({}));  // nothing: no event, no error
    REQUIRE(l.WaitFor([](const StoreChange& c) {
      return c.kind == StoreChange::Kind::kCluster && c.cluster.key == "writer";
    }));
    std::vector<StoreChange> all = l.changes();
    std::vector<ClusterEvent> got = ClusterEventsOf(all);
    REQUIRE(got.size() == 3);
    CHECK(got[0].kind == ClusterEvent::Kind::kLines);
    CHECK(got[0].payload == "{\"lines\":[1]}");
    CHECK(got[0].origin == "node-a");
    CHECK(got[0].channel_id == w.channel.id);
    CHECK(got[0].key.empty());
    CHECK(got[1].payload == "line two\nwith 'quotes' é");
    CHECK(got[2].kind == ClusterEvent::Kind::kAgentWake);
    CHECK(got[2].origin == "node-b");
    CHECK(got[2].key == "writer");
    CHECK(got[2].payload.empty());
    // The message appended between the two calls arrives between them.
    auto pos = [&](auto pred) {
      return std::find_if(all.begin(), all.end(), pred) - all.begin();
    };
    const auto msg = pos([&](const StoreChange& c) { return c.id == between.id; });
    const auto second = pos([](const StoreChange& c) {
      return c.kind == StoreChange::Kind::kCluster && c.cluster.payload.starts_with("line two");
    });
    const auto third = pos([](const StoreChange& c) {
      return c.kind == StoreChange::Kind::kCluster && c.cluster.key == "writer";
    });
    CHECK(second < msg);
    CHECK(msg < third);
    for (const StoreChange& c : all) {
      if (c.kind != StoreChange::Kind::kCluster) continue;
      CHECK(c.channel_id == c.cluster.channel_id);
      CHECK(c.id == c.cluster.key);
    }
  }

  AGENTCORE_STORE_CASE("keeps one thread's cluster events in order under concurrent appends") {
    F f;
    World w = MakeWorld(f.store());
    RecordingListener l;
    auto sub = Must(f.store().Subscribe(&l));
    constexpr int kThreads = 4, kEach = 40;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          ClusterEvent e = LinesEvent(w.channel.id, std::to_string(i), "node-" + std::to_string(t));
          if (!f.store().AppendClusterEvents(std::span(&e, 1)).ok()) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
    std::vector<ClusterEvent> got;
    for (int i = 0; i < 500; ++i) {
      got = ClusterEventsOf(l.changes());
      if (got.size() >= kThreads * kEach) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(got.size() == kThreads * kEach);
    std::map<std::string, int> next;
    for (const ClusterEvent& e : got) {
      CHECK(std::stoi(e.payload) == next[e.origin]);
      next[e.origin] = std::stoi(e.payload) + 1;
    }
    CHECK(next.size() == kThreads);
  }

  AGENTCORE_STORE_CASE("refuses bad cluster events and appends none of the call") {
    F f;
    World w = MakeWorld(f.store());
    RecordingListener l;
    auto sub = Must(f.store().Subscribe(&l));
    const ClusterEvent good = LinesEvent(w.channel.id, "ok");
    std::vector<ClusterEvent> bad;
    ClusterEvent e = good;
    e.origin = "";
    bad.push_back(e);
    e = good;
    e.origin = std::string(kMaxKeyBytes + 1, 'o');
    bad.push_back(e);
    e = good;
    e.channel_id = "";
    bad.push_back(e);
    e = good;
    e.channel_id = kBadUtf8;
    bad.push_back(e);
    e = good;
    e.key = std::string(kMaxKeyBytes + 1, 'k');
    bad.push_back(e);
    e = good;
    e.payload = std::string("nul \0 byte", 10);
    bad.push_back(e);
    e = good;
    e.payload = kLoneSurrogate;
    bad.push_back(e);
    e = good;
    e.payload = std::string((16u << 20) + 1, 'x');  // over max_content_bytes
    bad.push_back(e);
    e = good;
    e.kind = static_cast<ClusterEvent::Kind>(7);
    bad.push_back(e);
    for (const ClusterEvent& b : bad) {
      const std::vector<ClusterEvent> call{good, b};  // the good one goes neither
      CHECK(CodeOf(f.store().AppendClusterEvents(call)) == ErrorCode::kInvalidArgument);
    }
    for (const std::string& meta : SqlMetaStrings()) {  // data, never SQL
      ClusterEvent m = LinesEvent(w.channel.id, meta, "node-meta");
      m.key = meta;
      MustOk(f.store().AppendClusterEvents(std::span(&m, 1)));
    }
    ClusterEvent marker = LinesEvent(w.channel.id, "marker", "node-end");
    MustOk(f.store().AppendClusterEvents(std::span(&marker, 1)));
    REQUIRE(l.WaitFor([](const StoreChange& c) { return c.cluster.origin == "node-end"; }));
    std::vector<ClusterEvent> got = ClusterEventsOf(l.changes());
    REQUIRE(got.size() == SqlMetaStrings().size() + 1);
    for (std::size_t i = 0; i < SqlMetaStrings().size(); ++i) {
      CHECK(got[i].payload == SqlMetaStrings()[i]);
      CHECK(got[i].key == SqlMetaStrings()[i]);
    }
    Must(f.store().GetChannel(w.channel.id));  // the schema survived the meta strings
  }

  // --- Leases -----------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("takes a free lease, keeps it from others until it expires, then hands it over") {
    F f;
    Lease a = Must(f.store().AcquireLease("agent:ch/writer", "node-a", 1000, 11000));
    CHECK(a.key == "agent:ch/writer");
    CHECK(a.owner == "node-a");
    CHECK(a.expires_at == 11000);
    // Another owner before expiry: refused, told who holds it; nothing changes.
    Lease b = Must(f.store().AcquireLease("agent:ch/writer", "node-b", 5000, 15000));
    CHECK(b.owner == "node-a");
    CHECK(b.expires_at == 11000);
    // The owner again: extended (or shortened: `until` is what it asks for).
    Lease a2 = Must(f.store().AcquireLease("agent:ch/writer", "node-a", 6000, 16000));
    CHECK(a2.owner == "node-a");
    CHECK(a2.expires_at == 16000);
    // Expired at `now` (expires_at <= now): another owner takes it.
    Lease b2 = Must(f.store().AcquireLease("agent:ch/writer", "node-b", 16000, 26000));
    CHECK(b2.owner == "node-b");
    CHECK(b2.expires_at == 26000);
    Lease a3 = Must(f.store().AcquireLease("agent:ch/writer", "node-a", 16001, 26001));
    CHECK(a3.owner == "node-b");
    auto listed = Must(f.store().ListLeases("", std::nullopt, 10));
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].owner == "node-b");
    CHECK(listed[0].expires_at == 26000);
  }

  AGENTCORE_STORE_CASE("hands a contended lease to exactly one of many concurrent acquirers") {
    F f;
    constexpr int kThreads = 8, kRounds = 5;
    for (int round = 0; round < kRounds; ++round) {
      const std::string key = "session:s" + std::to_string(round);
      std::vector<std::string> winners(kThreads);
      std::atomic<int> failures{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          const std::string me = "node-" + std::to_string(t);
          auto r = f.store().AcquireLease(key, me, 100, 10100);
          if (!r.ok()) {
            ++failures;
            return;
          }
          winners[static_cast<std::size_t>(t)] = r->owner;
        });
      }
      for (auto& th : threads) th.join();
      CHECK(failures == 0);
      std::set<std::string> holders(winners.begin(), winners.end());
      CHECK(holders.size() == 1);  // everyone was told the same holder
      const std::string holder = *holders.begin();
      CHECK(holder.starts_with("node-"));
      auto listed = Must(f.store().ListLeases(key, std::nullopt, 10));
      REQUIRE(listed.size() == 1);
      CHECK(listed[0].owner == holder);
    }
  }

  AGENTCORE_STORE_CASE("renews only the owner's leases, expired ones included, in key order") {
    F f;
    Must(f.store().AcquireLease("session:b", "node-a", 0, 100));
    Must(f.store().AcquireLease("agent:c/x", "node-a", 0, 5000));
    Must(f.store().AcquireLease("janitor", "node-b", 0, 100));
    Must(f.store().AcquireLease("session:gone", "node-a", 0, 100));
    // node-b takes node-a's expired session:gone; node-a can no longer renew it.
    CHECK(Must(f.store().AcquireLease("session:gone", "node-b", 200, 9000)).owner == "node-b");
    auto renewed = Must(f.store().RenewLeases("node-a", 20000));
    CHECK(renewed == std::vector<std::string>{"agent:c/x", "session:b"});  // session:b had expired
    for (const Lease& l : Must(f.store().ListLeases("", std::nullopt, 10))) {
      if (l.owner == "node-a") CHECK(l.expires_at == 20000);
      if (l.key == "janitor") CHECK(l.expires_at == 100);
      if (l.key == "session:gone") CHECK(l.expires_at == 9000);
    }
    CHECK(Must(f.store().RenewLeases("node-nobody", 20000)).empty());
  }

  AGENTCORE_STORE_CASE("releases the owner's named leases, or all of them, and never another's") {
    F f;
    Must(f.store().AcquireLease("agent:c/x", "node-a", 0, 5000));
    Must(f.store().AcquireLease("agent:c/y", "node-a", 0, 5000));
    Must(f.store().AcquireLease("session:s", "node-a", 0, 5000));
    Must(f.store().AcquireLease("janitor", "node-b", 0, 5000));
    const std::vector<std::string> some{"agent:c/x", "janitor", "no-such-key"};
    MustOk(f.store().ReleaseLeases("node-a", some));  // janitor is node-b's: kept
    auto keys = [&] {
      std::vector<std::string> out;
      for (const Lease& l : Must(f.store().ListLeases("", std::nullopt, 10))) out.push_back(l.key);
      return out;
    };
    CHECK(keys() == std::vector<std::string>{"agent:c/y", "janitor", "session:s"});
    // Released: free for anyone at once, before its expiry.
    CHECK(Must(f.store().AcquireLease("agent:c/x", "node-b", 1, 5000)).owner == "node-b");
    MustOk(f.store().ReleaseLeases("node-a", {}));  // every lease of node-a
    CHECK(keys() == std::vector<std::string>{"agent:c/x", "janitor"});
    MustOk(f.store().ReleaseLeases("node-c", {}));  // holds none: fine
    CHECK(keys().size() == 2);
  }

  AGENTCORE_STORE_CASE("lists leases by prefix and expiry, bytewise, at most the limit") {
    F f;
    for (const char* key : {"agent:a/1", "agent:a/2", "agent:b/1", "agent%x", "agent_y",
                            "session:1", "janitor"}) {
      Must(f.store().AcquireLease(key, "node-a", 0, std::string_view(key).ends_with("1") ? 50 : 500));
    }
    auto keys = [](const std::vector<Lease>& v) {
      std::vector<std::string> out;
      for (const Lease& l : v) out.push_back(l.key);
      return out;
    };
    CHECK(keys(Must(f.store().ListLeases("agent:", std::nullopt, 10))) ==
          std::vector<std::string>{"agent:a/1", "agent:a/2", "agent:b/1"});  // % and _ literal
    CHECK(keys(Must(f.store().ListLeases("agent%", std::nullopt, 10))) ==
          std::vector<std::string>{"agent%x"});
    CHECK(keys(Must(f.store().ListLeases("agent:", 50, 10))) ==
          std::vector<std::string>{"agent:a/1", "agent:b/1"});
    CHECK(keys(Must(f.store().ListLeases("", 49, 10))).empty());
    CHECK(keys(Must(f.store().ListLeases("", std::nullopt, 3))) ==
          std::vector<std::string>{"agent%x", "agent:a/1", "agent:a/2"});  // '%' < ':' bytewise
    CHECK(Must(f.store().ListLeases("", std::nullopt, 0)).empty());
    CHECK(Must(f.store().ListLeases("zzz", std::nullopt, 10)).empty());
    CHECK(Must(f.store().ListLeases("", std::nullopt, kMaxPageSize + 5)).size() == 7);
  }

  AGENTCORE_STORE_CASE("refuses bad lease input and changes nothing") {
    F f;
    Must(f.store().AcquireLease("janitor", "node-a", 0, 5000));
    const std::string long_key(kMaxLeaseKeyBytes + 1, 'k');
    const std::string long_owner(kMaxKeyBytes + 1, 'o');
    // A key longer than one id is fine up to kMaxLeaseKeyBytes: agent:<channel>/<callsign>.
    const std::string two_ids = "agent:" + std::string(kMaxKeyBytes, 'c') + "/" +
                                std::string(kMaxKeyBytes, 's');
    CHECK(Must(f.store().AcquireLease(two_ids, "node-a", 0, 10)).key == two_ids);
    for (const std::string& key : {std::string(), long_key, kBadUtf8, std::string("a\0b", 3)}) {
      CHECK(CodeOf(f.store().AcquireLease(key, "node-a", 0, 10)) == ErrorCode::kInvalidArgument);
      const std::vector<std::string> keys{"janitor", key};
      CHECK(CodeOf(f.store().ReleaseLeases("node-a", keys)) == ErrorCode::kInvalidArgument);
    }
    CHECK(CodeOf(f.store().ListLeases(long_key, std::nullopt, 10)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().ListLeases(kOverlong, std::nullopt, 10)) ==
          ErrorCode::kInvalidArgument);
    for (const std::string& owner : {std::string(), long_owner, kLoneSurrogate}) {
      CHECK(CodeOf(f.store().AcquireLease("k", owner, 0, 10)) == ErrorCode::kInvalidArgument);
      CHECK(CodeOf(f.store().RenewLeases(owner, 10)) == ErrorCode::kInvalidArgument);
      CHECK(CodeOf(f.store().ReleaseLeases(owner, {})) == ErrorCode::kInvalidArgument);
    }
    CHECK(CodeOf(f.store().AcquireLease("k", "node-a", 100, 100)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().AcquireLease("k", "node-a", 100, 99)) == ErrorCode::kInvalidArgument);
    for (const std::string& meta : SqlMetaStrings()) {  // data, never SQL
      CHECK(Must(f.store().AcquireLease(meta, meta.substr(0, 10), 0, 10)).key == meta);
    }
    auto all = Must(f.store().ListLeases("", std::nullopt, 100));
    CHECK(all.size() == 2 + SqlMetaStrings().size());
    auto janitor = Must(f.store().ListLeases("janitor", std::nullopt, 10));
    REQUIRE(janitor.size() == 1);
    CHECK(janitor[0].owner == "node-a");  // the refused release kept it
    CHECK(janitor[0].expires_at == 5000);
  }

  AGENTCORE_STORE_CASE("migration 11 adds the leases and takes them away again") {
    F f;
    const int latest = Must(f.store().SchemaVersion());
    REQUIRE(latest >= 11);
    Must(f.store().AcquireLease("janitor", "node-a", 0, 5000));
    MustOk(f.store().MigrateTo(10));
    CHECK_FALSE(f.store().AcquireLease("janitor", "node-a", 0, 5000).ok());  // no table
    MustOk(f.store().MigrateTo(latest));
    CHECK(Must(f.store().ListLeases("", std::nullopt, 10)).empty());
    CHECK(Must(f.store().AcquireLease("janitor", "node-b", 0, 5000)).owner == "node-b");
  }
}
