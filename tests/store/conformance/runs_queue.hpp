// SPDX-License-Identifier: Apache-2.0
// Store conformance cases for issue 15 (docs/runs.md): projects, the run queue (ClaimRun,
// RenewRunLease, available_at), ListRuns pages, model prices and the webhook outbox. Included
// by store/store_conformance.hpp only.
#ifndef AGENTCORE_STORE_CASE
#error "include store/store_conformance.hpp, not this part"
#endif

namespace agentcore::conformance {

inline Project MakeProject(std::string space_id, std::string id, std::string channel_id = "ch-1") {
  Project p;
  p.space_id = std::move(space_id);
  p.id = std::move(id);
  p.name = "Project " + p.id;
  p.channel_id = std::move(channel_id);
  return p;
}

inline RunClaim Claim(std::string worker, UnixMillis now, UnixMillis lease_until = 0) {
  RunClaim c;
  c.worker_id = std::move(worker);
  c.now = now;
  c.lease_until = lease_until == 0 ? now + 30'000 : lease_until;
  return c;
}

inline std::vector<std::string> RunIds(const std::vector<Run>& runs) {
  std::vector<std::string> v;
  for (const Run& r : runs) v.push_back(r.id);
  return v;
}

inline std::vector<std::string> ProjectIds(const std::vector<Project>& projects) {
  std::vector<std::string> v;
  for (const Project& p : projects) v.push_back(p.id);
  return v;
}

/// ClaimRun(first) and ClaimRun(second) on two threads released together; their answers in
/// that order.
inline std::vector<Result<std::optional<Run>>> ClaimAtOnce(Store& store, const RunClaim& first,
                                                           const RunClaim& second) {
  std::atomic<int> ready{0};
  std::vector<Result<std::optional<Run>>> got(2, Status(ErrorCode::kInternal, "not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < 2) std::this_thread::yield();
      got[static_cast<std::size_t>(t)] = store.ClaimRun(t == 0 ? first : second);
    });
  }
  for (auto& t : threads) t.join();
  return got;
}

inline WebhookDelivery Delivery(std::string id, UnixMillis next_attempt_at) {
  WebhookDelivery d;
  d.id = std::move(id);
  d.run_id = "run-1";
  d.url = "https://hooks.example/runs";
  d.body = R"({"id":"run-1","status":"succeeded"})";
  d.next_attempt_at = next_attempt_at;
  return d;
}

}  // namespace agentcore::conformance

TEST_SUITE("StoreConformance") {
  using namespace agentcore;               // NOLINT: test-local brevity
  using namespace agentcore::conformance;  // NOLINT

  // --- Projects ----------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("creates a project, reads it back and refuses the same id twice") {
    F f;
    Project in = MakeProject("space-1", "default", "chan-9");
    in.settings = Json::Object();
    in.settings.Set("model", "gpt-4o-mini");
    in.created_at = 1;  // ignored: the store's clock
    f.clock().Advance(5);
    Project p = Must(f.store().CreateProject(in));
    CHECK(p.created_at == f.clock().NowMillis());
    CHECK(p.updated_at == p.created_at);
    Project got = Must(f.store().GetProject("space-1", "default"));
    CHECK(got.space_id == "space-1");
    CHECK(got.id == "default");
    CHECK(got.name == "Project default");
    CHECK(got.channel_id == "chan-9");
    CHECK(got.settings == in.settings);
    CHECK(got.created_at == p.created_at);
    CHECK(CodeOf(f.store().CreateProject(in)) == ErrorCode::kAlreadyExists);
    // The same id in another space is another project; null settings stay null.
    Project other = Must(f.store().CreateProject(MakeProject("space-2", "default")));
    CHECK(Must(f.store().GetProject("space-2", "default")).settings.is_null());
    CHECK(other.space_id == "space-2");
    CHECK(CodeOf(f.store().GetProject("space-1", "missing")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().GetProject("space-3", "default")) == ErrorCode::kNotFound);
    CHECK(Must(f.store().GetProject("space-1", "default")).channel_id == "chan-9");  // unchanged
  }

  AGENTCORE_STORE_CASE("lists a space's projects in id order, page by page after a cursor") {
    F f;
    // Created out of order, in two spaces; ids use every allowed character class.
    for (const char* id : {"b-2", "A.1", "c_3", "a", "Z", "0"}) {
      Must(f.store().CreateProject(MakeProject("space-1", id)));
    }
    Must(f.store().CreateProject(MakeProject("space-2", "b-3")));
    ProjectFilter all;
    all.space_id = "space-1";
    CHECK(ProjectIds(Must(f.store().ListProjects(all))) ==
          std::vector<std::string>{"0", "A.1", "Z", "a", "b-2", "c_3"});  // bytewise
    ProjectFilter page;
    page.space_id = "space-1";
    page.limit = 4;
    std::vector<std::string> walked;
    for (int i = 0; i < 10; ++i) {
      auto got = Must(f.store().ListProjects(page));
      if (got.empty()) break;
      CHECK(got.size() <= 4);
      for (const Project& p : got) walked.push_back(p.id);
      page.after_id = got.back().id;
    }
    CHECK(walked == std::vector<std::string>{"0", "A.1", "Z", "a", "b-2", "c_3"});
    ProjectFilter after;
    after.space_id = "space-1";
    after.after_id = "B";  // not an id: the cursor is a bound, not a row
    CHECK(ProjectIds(Must(f.store().ListProjects(after))) ==
          std::vector<std::string>{"Z", "a", "b-2", "c_3"});
    ProjectFilter none;
    none.space_id = "space-1";
    none.limit = 0;
    CHECK(Must(f.store().ListProjects(none)).empty());
    ProjectFilter empty_space;
    empty_space.space_id = "nobody";  // a label: no projects, not kNotFound
    CHECK(Must(f.store().ListProjects(empty_space)).empty());
    ProjectFilter huge;
    huge.space_id = "space-2";
    huge.limit = 1'000'000;  // clamped
    CHECK(ProjectIds(Must(f.store().ListProjects(huge))) == std::vector<std::string>{"b-3"});
  }

  AGENTCORE_STORE_CASE("refuses projects with bad input and stores nothing") {
    F f;
    auto bad = [&](Project p, const char* why) {
      CAPTURE(why);
      CHECK(CodeOf(f.store().CreateProject(p)) == ErrorCode::kInvalidArgument);
    };
    bad(MakeProject("", "default"), "empty space");
    bad(MakeProject("space-1", ""), "empty id");
    bad(MakeProject("space-1", "default", ""), "empty channel");
    bad(MakeProject("space-1", std::string(129, 'a')), "id over 128 characters");
    for (const char* id : {"has space", "slash/no", "colon:no", "star*", "quote'", "semi;",
                           "per%cent", "tab\t", "é"}) {
      bad(MakeProject("space-1", id), id);
    }
    bad(MakeProject("space-1", std::string("nul\0byte", 8)), "NUL in id");
    bad(MakeProject(kBadUtf8, "default"), "bad UTF-8 space");
    bad(MakeProject("space-1", "default", kBadUtf8), "bad UTF-8 channel");
    bad(MakeProject(std::string(kMaxKeyBytes + 1, 's'), "default"), "space over kMaxKeyBytes");
    Project bad_name = MakeProject("space-1", "default");
    bad_name.name = kLoneSurrogate;
    bad(bad_name, "bad UTF-8 name");
    bad_name.name = std::string(kMaxKeyBytes + 1, 'n');
    bad(bad_name, "name over kMaxKeyBytes");
    for (Json settings : {Json("text"), Json(1), Json(true), Json::Array()}) {
      Project p = MakeProject("space-1", "default");
      p.settings = settings;
      bad(p, "settings neither an object nor null");
    }
    Project bad_settings = MakeProject("space-1", "default");
    bad_settings.settings = Json::Object();
    bad_settings.settings.Set("k", kBadUtf8);
    bad(bad_settings, "bad UTF-8 inside settings");
    for (const std::string& meta : SqlMetaStrings()) bad(MakeProject("space-1", meta), "SQL");
    // The longest id is fine; bad lookups are invalid, unknown good ones not found.
    Must(f.store().CreateProject(MakeProject("space-1", std::string(128, 'a'))));
    CHECK(CodeOf(f.store().GetProject("", "default")) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().GetProject("space-1", "")) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().GetProject("space-1", "has space")) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().GetProject("space-1", std::string(129, 'a'))) ==
          ErrorCode::kInvalidArgument);
    ProjectFilter no_space;
    CHECK(CodeOf(f.store().ListProjects(no_space)) == ErrorCode::kInvalidArgument);
    ProjectFilter bad_cursor;
    bad_cursor.space_id = "space-1";
    bad_cursor.after_id = kOverlong;
    CHECK(CodeOf(f.store().ListProjects(bad_cursor)) == ErrorCode::kInvalidArgument);
    ProjectFilter all;
    all.space_id = "space-1";
    CHECK(Must(f.store().ListProjects(all)).size() == 1);  // only the good one
  }

  // --- The run queue -----------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("claims the oldest due run of an idle project and leases it to the worker") {
    F f;
    CHECK_FALSE(Must(f.store().ClaimRun(Claim("w1", 0))).has_value());  // empty queue
    Run a = Must(f.store().CreateRun(NewRun{"", "p1", Json()}));
    f.clock().Advance(1);
    Run b = Must(f.store().CreateRun(NewRun{"", "p2", Json()}));
    f.clock().Advance(1);
    Run c = Must(f.store().CreateRun(NewRun{"", "p3", Json()}));
    f.clock().Advance(10);
    const UnixMillis now = f.clock().NowMillis();

    std::optional<Run> first = Must(f.store().ClaimRun(Claim("w1", now, now + 500)));
    REQUIRE(first.has_value());
    CHECK(first->id == a.id);
    CHECK(first->state == RunState::kPlanning);
    CHECK(first->attempts == 1);
    CHECK(first->worker_id == "w1");
    CHECK(first->lease_expires_at == now + 500);
    CHECK(first->updated_at == now);
    CHECK(first->created_at == a.created_at);
    Run stored = Must(f.store().GetRun(a.id));
    CHECK(stored.state == RunState::kPlanning);
    CHECK(stored.attempts == 1);
    CHECK(stored.worker_id == "w1");
    CHECK(stored.lease_expires_at == now + 500);

    CHECK(Must(f.store().ClaimRun(Claim("w2", now))).value().id == b.id);
    CHECK(Must(f.store().ClaimRun(Claim("w3", now))).value().id == c.id);
    CHECK_FALSE(Must(f.store().ClaimRun(Claim("w4", now))).has_value());

    // A requeued run is claimed again and uses another attempt; the claim replaces the worker
    // and the lease.
    RunUpdate requeue;
    requeue.lease_expires_at = std::optional<UnixMillis>();
    Must(f.store().TransitionRun(a.id, RunState::kPlanning, RunState::kQueued, requeue));
    std::optional<Run> again = Must(f.store().ClaimRun(Claim("w5", now, now + 900)));
    REQUIRE(again.has_value());
    CHECK(again->id == a.id);
    CHECK(again->attempts == 2);
    CHECK(again->worker_id == "w5");
    CHECK(again->lease_expires_at == now + 900);
  }

  AGENTCORE_STORE_CASE("does not claim a queued run before its available_at") {
    F f;
    const UnixMillis t0 = f.clock().NowMillis();
    NewRun later{"", "p1", Json()};
    later.available_at = t0 + 1000;
    Run r = Must(f.store().CreateRun(later));
    CHECK(r.available_at == t0 + 1000);
    CHECK(Must(f.store().GetRun(r.id)).available_at == t0 + 1000);
    f.clock().Advance(1);
    Run other = Must(f.store().CreateRun(NewRun{"", "p2", Json()}));  // younger but due
    CHECK(Must(f.store().ClaimRun(Claim("w", t0 + 999))).value().id == other.id);
    CHECK_FALSE(Must(f.store().ClaimRun(Claim("w", t0 + 999))).has_value());
    CHECK(Must(f.store().GetRun(r.id)).state == RunState::kQueued);
    CHECK(Must(f.store().ClaimRun(Claim("w", t0 + 1000))).value().id == r.id);  // due exactly
  }

  AGENTCORE_STORE_CASE("claims one run per project at a time and other projects' runs meanwhile") {
    F f;
    Run p1a = Must(f.store().CreateRun(NewRun{"", "p1", Json()}));
    f.clock().Advance(1);
    Run p1b = Must(f.store().CreateRun(NewRun{"", "p1", Json()}));
    f.clock().Advance(1);
    Run p2a = Must(f.store().CreateRun(NewRun{"", "p2", Json()}));
    const UnixMillis now = f.clock().NowMillis();
    CHECK(Must(f.store().ClaimRun(Claim("w", now))).value().id == p1a.id);
    // p1 is busy: its second run waits, p2's younger run goes first.
    CHECK(Must(f.store().ClaimRun(Claim("w", now))).value().id == p2a.id);
    CHECK_FALSE(Must(f.store().ClaimRun(Claim("w", now))).has_value());
    // Building is busy too.
    Must(f.store().TransitionRun(p1a.id, RunState::kPlanning, RunState::kBuilding, RunUpdate{}));
    CHECK_FALSE(Must(f.store().ClaimRun(Claim("w", now))).has_value());
    // A final state frees the project, whichever it is.
    Must(f.store().TransitionRun(p1a.id, RunState::kBuilding, RunState::kFailed, RunUpdate{}));
    CHECK(Must(f.store().ClaimRun(Claim("w", now))).value().id == p1b.id);
    // A run that is not due does not hold its project: a cancelled or waiting one neither.
    Run p3_wait = Must(f.store().CreateRun(NewRun{"", "p3", Json(), now + 60'000}));
    f.clock().Advance(1);
    Run p3_due = Must(f.store().CreateRun(NewRun{"", "p3", Json()}));
    CHECK(Must(f.store().ClaimRun(Claim("w", now + 1))).value().id == p3_due.id);
    CHECK(Must(f.store().GetRun(p3_wait.id)).state == RunState::kQueued);
  }

  AGENTCORE_STORE_CASE("refuses a claim without a valid worker id") {
    F f;
    Must(f.store().CreateRun(NewRun{"", "p1", Json()}));
    CHECK(CodeOf(f.store().ClaimRun(Claim("", 0))) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().ClaimRun(Claim(kBadUtf8, 0))) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().ClaimRun(Claim(std::string(kMaxKeyBytes + 1, 'w'), 0))) ==
          ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().ListRuns(RunFilter{})).at(0).state == RunState::kQueued);  // untouched
  }

  AGENTCORE_STORE_CASE("renews a lease only for the worker that holds a running run") {
    F f;
    Run queued = Must(f.store().CreateRun(NewRun{"", "p1", Json()}));
    f.clock().Advance(1);
    Run r = Must(f.store().CreateRun(NewRun{"", "p2", Json()}));
    RunUpdate claim;
    claim.worker_id = "w1";
    claim.lease_expires_at = std::optional<UnixMillis>(100);
    Must(f.store().TransitionRun(r.id, RunState::kQueued, RunState::kPlanning, claim));
    f.clock().Advance(5);
    MustOk(f.store().RenewRunLease(r.id, "w1", 700));
    Run got = Must(f.store().GetRun(r.id));
    CHECK(got.lease_expires_at == 700);
    CHECK(got.updated_at == f.clock().NowMillis());
    CHECK(got.state == RunState::kPlanning);
    Must(f.store().TransitionRun(r.id, RunState::kPlanning, RunState::kBuilding, RunUpdate{}));
    MustOk(f.store().RenewRunLease(r.id, "w1", 800));  // building too
    CHECK(Must(f.store().GetRun(r.id)).lease_expires_at == 800);

    CHECK(CodeOf(f.store().RenewRunLease(r.id, "w2", 9999)) == ErrorCode::kConflict);
    CHECK(CodeOf(f.store().RenewRunLease(queued.id, "w1", 9999)) == ErrorCode::kConflict);
    CHECK(CodeOf(f.store().RenewRunLease(queued.id, "", 9999)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().RenewRunLease("", "w1", 9999)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().RenewRunLease(kBadUtf8, "w1", 9999)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().RenewRunLease("missing", "w1", 9999)) == ErrorCode::kNotFound);
    Must(f.store().TransitionRun(r.id, RunState::kBuilding, RunState::kSucceeded, RunUpdate{}));
    CHECK(CodeOf(f.store().RenewRunLease(r.id, "w1", 9999)) == ErrorCode::kConflict);  // ended
    CHECK(Must(f.store().GetRun(r.id)).lease_expires_at == 800);
    CHECK_FALSE(Must(f.store().GetRun(queued.id)).lease_expires_at.has_value());
  }

  AGENTCORE_STORE_CASE("lets only one of two racing claims take a run of a project with two") {
    F f;
    constexpr int kRounds = 20;
    for (int round = 0; round < kRounds; ++round) {
      const std::string project = "race-" + std::to_string(round);
      Run older = Must(f.store().CreateRun(NewRun{"", project, Json()}));
      Must(f.store().CreateRun(NewRun{"", project, Json()}));
      const auto got = ClaimAtOnce(f.store(), Claim("w0", f.clock().NowMillis()),
                                   Claim("w1", f.clock().NowMillis()));
      int claimed = 0;
      for (auto& g : got) {
        REQUIRE_MESSAGE(g.ok(), g.status().ToString());
        if (g->has_value()) {
          ++claimed;
          CHECK((*g)->id == older.id);
        }
      }
      CHECK(claimed == 1);
      // Finish it, so the next round's claims see only the new project's runs... and this
      // project's second run, which the next round may claim: drain it now.
      Must(f.store().TransitionRun(older.id, RunState::kPlanning, RunState::kCancelled,
                                   RunUpdate{}));
      std::optional<Run> second = Must(f.store().ClaimRun(Claim("w", f.clock().NowMillis())));
      REQUIRE(second.has_value());
      CHECK(second->project_id == project);
      Must(f.store().TransitionRun(second->id, RunState::kPlanning, RunState::kSucceeded,
                                   RunUpdate{}));
    }
  }

  AGENTCORE_STORE_CASE("lets one of two racing claims with different clocks take a project") {
    // The older run waits for a backoff that only one claimer's clock has passed: each claimer
    // alone would take a different run of the project (the older one, or the younger due one),
    // so only the claims' serialization keeps the second one out.
    F f;
    constexpr int kRounds = 30;
    int both = 0;
    for (int round = 0; round < kRounds; ++round) {
      const std::string project = "skew-" + std::to_string(round);
      const UnixMillis base = f.clock().NowMillis();
      Run older = Must(f.store().CreateRun(NewRun{"", project, Json(), base + 100}));
      Run younger = Must(f.store().CreateRun(NewRun{"", project, Json()}));
      const auto got = ClaimAtOnce(f.store(), Claim("w0", base + 100), Claim("w1", base));
      std::vector<std::string> claimed;
      for (auto& g : got) {
        REQUIRE_MESSAGE(g.ok(), g.status().ToString());
        if (g->has_value()) claimed.push_back((*g)->id);
      }
      if (claimed.size() == 2) ++both;
      CHECK(claimed.size() == 1);
      for (const std::string& id : claimed) {
        Must(f.store().TransitionRun(id, RunState::kPlanning, RunState::kCancelled, RunUpdate{}));
      }
      for (const Run& r : {older, younger}) {  // drain the round's project
        if (Must(f.store().GetRun(r.id)).state == RunState::kQueued) {
          Must(f.store().TransitionRun(r.id, RunState::kQueued, RunState::kCancelled, RunUpdate{}));
        }
      }
    }
    CHECK(both == 0);
  }

  AGENTCORE_STORE_CASE("hands each of 200 runs of 50 projects to 8 claimers once, in order") {
    F f;
    constexpr int kProjects = 50, kPerProject = 4, kThreads = 8;
    std::map<std::string, std::vector<std::string>> by_project;  // oldest first
    for (int i = 0; i < kPerProject; ++i) {
      for (int p = 0; p < kProjects; ++p) {
        const std::string project = "proj-" + std::to_string(p);
        by_project[project].push_back(Must(f.store().CreateRun(NewRun{"", project, Json()})).id);
        f.clock().Advance(1);
      }
    }
    const UnixMillis now = f.clock().NowMillis();
    std::set<std::string> seen;
    // Rounds: nothing finishes during a round, so any second claim of a busy project would
    // still be visible at its end. Each round hands out exactly one run per project, the
    // project's oldest left.
    for (int round = 0; round < kPerProject; ++round) {
      std::mutex mu;
      std::vector<Run> claimed;
      std::atomic<int> errors{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (;;) {
            auto got = f.store().ClaimRun(Claim("w" + std::to_string(t), now));
            if (!got.ok()) {
              ++errors;
              return;
            }
            if (!got->has_value()) return;
            std::lock_guard lock(mu);
            claimed.push_back(std::move(**got));
          }
        });
      }
      for (auto& t : threads) t.join();
      CHECK(errors == 0);
      REQUIRE(claimed.size() == kProjects);
      std::set<std::string> projects;
      for (const Run& r : claimed) {
        CHECK(projects.insert(r.project_id).second);
        CHECK(seen.insert(r.id).second);
        CHECK(r.id == by_project[r.project_id][static_cast<std::size_t>(round)]);
        CHECK(r.attempts == 1);
      }
      for (const Run& r : claimed) {
        Must(f.store().TransitionRun(r.id, RunState::kPlanning, RunState::kSucceeded, RunUpdate{}));
      }
    }
    CHECK(seen.size() == kProjects * kPerProject);
    CHECK_FALSE(Must(f.store().ClaimRun(Claim("w", now))).has_value());
  }

  AGENTCORE_STORE_CASE("lets 8 claimers finish 200 runs of 50 projects, one per project at once") {
    F f;
    constexpr int kProjects = 50, kPerProject = 4, kThreads = 8;
    for (int i = 0; i < kPerProject * kProjects; ++i) {
      Must(f.store().CreateRun(NewRun{"", "proj-" + std::to_string(i % kProjects), Json()}));
      f.clock().Advance(1);
    }
    const UnixMillis now = f.clock().NowMillis();
    std::mutex mu;
    std::set<std::string> running;  // projects a claimer holds
    std::map<std::string, int> claims;
    std::atomic<int> overlaps{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        int idle = 0;
        while (idle < 50) {  // the others may still free projects: look again a few times
          auto got = f.store().ClaimRun(Claim("w" + std::to_string(t), now));
          if (!got.ok()) {
            ++errors;
            return;
          }
          if (!got->has_value()) {
            ++idle;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            continue;
          }
          idle = 0;
          const Run& r = **got;
          {
            std::lock_guard lock(mu);
            if (!running.insert(r.project_id).second) ++overlaps;
            ++claims[r.id];
          }
          // The store agrees: this is the project's only run in planning or building.
          RunFilter busy;
          busy.project_id = r.project_id;
          busy.states = {RunState::kPlanning, RunState::kBuilding};
          auto active = f.store().ListRuns(busy);
          if (!active.ok() || active->size() != 1) ++overlaps;
          {
            // Released before the run leaves planning: the next claim of the project can only
            // commit after the transition below.
            std::lock_guard lock(mu);
            running.erase(r.project_id);
          }
          if (!f.store()
                   .TransitionRun(r.id, RunState::kPlanning, RunState::kSucceeded, RunUpdate{})
                   .ok()) {
            ++errors;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(errors == 0);
    CHECK(overlaps == 0);
    CHECK(claims.size() == kProjects * kPerProject);
    for (const auto& claimed : claims) CHECK_MESSAGE(claimed.second == 1, claimed.first);
    RunFilter left;
    left.states = {RunState::kQueued, RunState::kPlanning};
    CHECK(Must(f.store().ListRuns(left)).empty());
  }

  AGENTCORE_STORE_CASE("applies available_at with a transition and reports the last event seq") {
    F f;
    Run r = Must(f.store().CreateRun(NewRun{"", "p1", Json()}));
    CHECK(r.available_at == 0);
    CHECK(r.last_event_seq == 0);
    Must(f.store().AppendRunEvent(r.id, "status", Json()));
    Must(f.store().AppendRunEvent(r.id, "status", Json()));
    CHECK(Must(f.store().GetRun(r.id)).last_event_seq == 2);
    const UnixMillis now = f.clock().NowMillis();
    Run claimed = Must(f.store().ClaimRun(Claim("w", now))).value();
    CHECK(claimed.last_event_seq == 2);
    // A failed attempt requeued with a backoff.
    RunUpdate retry;
    retry.available_at = now + 2000;
    retry.lease_expires_at = std::optional<UnixMillis>();
    retry.error = "timeout";
    Run requeued =
        Must(f.store().TransitionRun(r.id, RunState::kPlanning, RunState::kQueued, retry));
    CHECK(requeued.available_at == now + 2000);
    CHECK(requeued.error == "timeout");
    CHECK(Must(f.store().GetRun(r.id)).available_at == now + 2000);
    CHECK_FALSE(Must(f.store().ClaimRun(Claim("w", now + 1999))).has_value());
    // An update without available_at keeps it.
    Must(f.store().TransitionRun(r.id, RunState::kQueued, RunState::kQueued, RunUpdate{}));
    CHECK(Must(f.store().GetRun(r.id)).available_at == now + 2000);
    Run again = Must(f.store().ClaimRun(Claim("w", now + 2000))).value();
    CHECK(again.attempts == 2);
    // The conflict of a compare-and-set leaves available_at alone.
    RunUpdate late;
    late.available_at = 5;
    CHECK(CodeOf(f.store().TransitionRun(r.id, RunState::kQueued, RunState::kQueued, late)) ==
          ErrorCode::kConflict);
    CHECK(Must(f.store().GetRun(r.id)).available_at == now + 2000);
  }

  // --- ListRuns pages ------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("walks every run exactly once, newest first, page by page with before_id") {
    F f;
    std::vector<std::string> created;
    for (int i = 0; i < 23; ++i) {
      // Pairs share a created_at, so the id breaks ties.
      created.push_back(Must(f.store().CreateRun(NewRun{"", i % 3 == 0 ? "p1" : "p2", Json()})).id);
      if (i % 2 == 1) f.clock().Advance(1);
    }
    std::vector<std::string> newest_first(created.rbegin(), created.rend());
    RunFilter page;
    page.limit = 5;
    std::vector<std::string> walked;
    for (int i = 0; i < 20; ++i) {
      auto got = Must(f.store().ListRuns(page));
      if (got.empty()) break;
      for (const Run& r : got) walked.push_back(r.id);
      page.before_id = got.back().id;
    }
    CHECK(walked == newest_first);
    // With a project filter: the cursor may be any run, even one of another project.
    RunFilter p1;
    p1.project_id = "p1";
    p1.before_id = created[10];
    std::vector<std::string> expected;
    for (int i = 9; i >= 0; --i) {
      if (i % 3 == 0) expected.push_back(created[static_cast<std::size_t>(i)]);
    }
    CHECK(RunIds(Must(f.store().ListRuns(p1))) == expected);
    RunFilter oldest;
    oldest.before_id = created[0];
    CHECK(Must(f.store().ListRuns(oldest)).empty());
    RunFilter unknown;
    unknown.before_id = "01JGZ5V7A1B2C3D4E5F6G7H8J0";
    CHECK(CodeOf(f.store().ListRuns(unknown)) == ErrorCode::kNotFound);
    RunFilter bad;
    bad.before_id = kBadUtf8;
    CHECK(CodeOf(f.store().ListRuns(bad)) == ErrorCode::kInvalidArgument);
    bad.before_id = std::string(kMaxKeyBytes + 1, 'x');
    CHECK(CodeOf(f.store().ListRuns(bad)) == ErrorCode::kInvalidArgument);
    RunFilter zero;
    zero.before_id = created[5];
    zero.limit = 0;
    CHECK(Must(f.store().ListRuns(zero)).empty());
  }

  // --- Model prices ------------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("stores model prices, replaces them by provider and model, hides inactive") {
    F f;
    ModelPrice mini{"openai", "gpt-4o-mini", 0.15, 0.6, true, 0};
    MustOk(f.store().PutModelPrice(mini));
    ModelPrice got = Must(f.store().GetModelPrice("openai", "gpt-4o-mini"));
    CHECK(got.input_usd_per_mtok == 0.15);
    CHECK(got.output_usd_per_mtok == 0.6);
    CHECK(got.active);
    CHECK(got.updated_at == f.clock().NowMillis());
    f.clock().Advance(10);
    mini.input_usd_per_mtok = 0.2;
    mini.output_usd_per_mtok = 0;  // free output is a price
    MustOk(f.store().PutModelPrice(mini));
    got = Must(f.store().GetModelPrice("openai", "gpt-4o-mini"));
    CHECK(got.input_usd_per_mtok == 0.2);
    CHECK(got.output_usd_per_mtok == 0);
    CHECK(got.updated_at == f.clock().NowMillis());
    MustOk(f.store().PutModelPrice(ModelPrice{"anthropic", "claude", 3, 15, true, 0}));
    MustOk(f.store().PutModelPrice(ModelPrice{"openai", "gpt-old", 1e-7, 123456.789, false, 0}));
    CHECK(CodeOf(f.store().GetModelPrice("openai", "gpt-old")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().GetModelPrice("openai", "missing")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().GetModelPrice("OpenAI", "gpt-4o-mini")) == ErrorCode::kNotFound);
    auto all = Must(f.store().ListModelPrices());
    REQUIRE(all.size() == 3);
    CHECK(all[0].provider == "anthropic");
    CHECK(all[1].model == "gpt-4o-mini");
    CHECK(all[2].model == "gpt-old");
    CHECK_FALSE(all[2].active);
    CHECK(all[2].input_usd_per_mtok == 1e-7);  // doubles round-trip exactly
    CHECK(all[2].output_usd_per_mtok == 123456.789);
    // Reactivated by a put.
    MustOk(f.store().PutModelPrice(ModelPrice{"openai", "gpt-old", 1, 2, true, 0}));
    CHECK(Must(f.store().GetModelPrice("openai", "gpt-old")).output_usd_per_mtok == 2);
  }

  AGENTCORE_STORE_CASE("refuses model prices that are negative, not finite or unnamed") {
    F f;
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (ModelPrice p :
         {ModelPrice{"", "m", 1, 1, true, 0}, ModelPrice{"p", "", 1, 1, true, 0},
          ModelPrice{"p", "m", -0.01, 1, true, 0}, ModelPrice{"p", "m", 1, -1, true, 0},
          ModelPrice{"p", "m", nan, 1, true, 0}, ModelPrice{"p", "m", 1, nan, true, 0},
          ModelPrice{"p", "m", inf, 1, true, 0}, ModelPrice{"p", "m", 1, -inf, true, 0},
          ModelPrice{kBadUtf8, "m", 1, 1, true, 0},
          ModelPrice{"p", std::string(kMaxKeyBytes + 1, 'm'), 1, 1, true, 0}}) {
      CAPTURE(p.provider);
      CAPTURE(p.input_usd_per_mtok);
      CHECK(CodeOf(f.store().PutModelPrice(p)) == ErrorCode::kInvalidArgument);
    }
    CHECK(Must(f.store().ListModelPrices()).empty());
    CHECK(CodeOf(f.store().GetModelPrice("", "m")) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().GetModelPrice("p", kBadUtf8)) == ErrorCode::kInvalidArgument);
  }

  // --- Webhook outbox ----------------------------------------------------------------------------

  AGENTCORE_STORE_CASE("enqueues a webhook once per id and returns the first on a retry") {
    F f;
    WebhookDelivery d = Delivery("evt-1", 100);
    d.created_at = 1;  // ignored
    f.clock().Advance(3);
    WebhookDelivery stored = Must(f.store().EnqueueWebhook(d));
    CHECK(stored.id == "evt-1");
    CHECK(stored.run_id == "run-1");
    CHECK(stored.url == d.url);
    CHECK(stored.body == d.body);
    CHECK(stored.attempts == 0);
    CHECK(stored.next_attempt_at == 100);
    CHECK_FALSE(stored.delivered_at.has_value());
    CHECK_FALSE(stored.gave_up);
    CHECK(stored.last_error.empty());
    CHECK(stored.created_at == f.clock().NowMillis());
    f.clock().Advance(3);
    WebhookDelivery retry = Delivery("evt-1", 999);
    retry.body = "another body";
    retry.url = "https://elsewhere.example";
    WebhookDelivery again = Must(f.store().EnqueueWebhook(retry));
    CHECK(again.body == d.body);
    CHECK(again.url == d.url);
    CHECK(again.next_attempt_at == 100);
    CHECK(again.created_at == stored.created_at);
    auto due = Must(f.store().ListDueWebhooks(1000, 10));
    REQUIRE(due.size() == 1);
    CHECK(due[0].body == d.body);
  }

  AGENTCORE_STORE_CASE("lists due webhooks oldest first up to the limit, without finished ones") {
    F f;
    Must(f.store().EnqueueWebhook(Delivery("evt-c", 300)));
    Must(f.store().EnqueueWebhook(Delivery("evt-a", 100)));
    Must(f.store().EnqueueWebhook(Delivery("evt-b2", 200)));
    Must(f.store().EnqueueWebhook(Delivery("evt-b1", 200)));
    Must(f.store().EnqueueWebhook(Delivery("evt-later", 5000)));
    auto ids = [](const std::vector<WebhookDelivery>& v) {
      std::vector<std::string> out;
      for (const WebhookDelivery& d : v) out.push_back(d.id);
      return out;
    };
    CHECK(ids(Must(f.store().ListDueWebhooks(300, 10))) ==
          std::vector<std::string>{"evt-a", "evt-b1", "evt-b2", "evt-c"});
    CHECK(ids(Must(f.store().ListDueWebhooks(300, 2))) ==
          std::vector<std::string>{"evt-a", "evt-b1"});
    CHECK(ids(Must(f.store().ListDueWebhooks(199, 10))) == std::vector<std::string>{"evt-a"});
    CHECK(Must(f.store().ListDueWebhooks(99, 10)).empty());
    CHECK(Must(f.store().ListDueWebhooks(300, 0)).empty());

    // A failed attempt moves it back; delivered and given-up ones leave the list for good.
    WebhookUpdate failed;
    failed.attempts = 1;
    failed.next_attempt_at = 250;
    failed.last_error = "HTTP 502";
    MustOk(f.store().UpdateWebhook("evt-a", failed));
    WebhookUpdate delivered;
    delivered.attempts = 1;
    delivered.next_attempt_at = 200;
    delivered.delivered_at = 210;
    MustOk(f.store().UpdateWebhook("evt-b1", delivered));
    WebhookUpdate gave_up;
    gave_up.attempts = 8;
    gave_up.next_attempt_at = 0;
    gave_up.gave_up = true;
    gave_up.last_error = "connection refused";
    MustOk(f.store().UpdateWebhook("evt-c", gave_up));
    auto due = Must(f.store().ListDueWebhooks(10'000, 10));
    CHECK(ids(due) == std::vector<std::string>{"evt-b2", "evt-a", "evt-later"});
    REQUIRE(due.size() == 3);
    CHECK(due[1].attempts == 1);
    CHECK(due[1].last_error == "HTTP 502");
    CHECK(due[1].next_attempt_at == 250);
    // The stored rows keep the outcome (read back through an idempotent enqueue).
    WebhookDelivery b1 = Must(f.store().EnqueueWebhook(Delivery("evt-b1", 0)));
    CHECK(b1.delivered_at == 210);
    CHECK(b1.attempts == 1);
    WebhookDelivery c = Must(f.store().EnqueueWebhook(Delivery("evt-c", 0)));
    CHECK(c.gave_up);
    CHECK(c.attempts == 8);
    CHECK(c.last_error == "connection refused");
    CHECK(ids(Must(f.store().ListDueWebhooks(10'000, 10))) ==
          std::vector<std::string>{"evt-b2", "evt-a", "evt-later"});
  }

  AGENTCORE_STORE_CASE("refuses webhook deliveries and updates with bad input") {
    F f;
    auto bad = [&](WebhookDelivery d, const char* why) {
      CAPTURE(why);
      CHECK(CodeOf(f.store().EnqueueWebhook(d)) == ErrorCode::kInvalidArgument);
    };
    WebhookDelivery d = Delivery("", 0);
    bad(d, "empty id");
    d = Delivery("evt", 0);
    d.run_id = "";
    bad(d, "empty run id");
    d = Delivery("evt", 0);
    d.url = "";
    bad(d, "empty url");
    d = Delivery("evt", 0);
    d.url = kBadUtf8;
    bad(d, "bad UTF-8 url");
    d = Delivery("evt", 0);
    d.body = std::string("nul\0body", 8);
    bad(d, "NUL in body");
    d = Delivery("evt", 0);
    d.body = kLoneSurrogate;
    bad(d, "bad UTF-8 body");
    d = Delivery("evt", 0);
    d.body = std::string((16u << 20) + 1, 'x');
    bad(d, "body over max_content_bytes");
    d = Delivery(std::string(kMaxKeyBytes + 1, 'e'), 0);
    bad(d, "id over kMaxKeyBytes");
    d = Delivery("evt", 0);
    d.last_error = kOverlong;
    bad(d, "bad UTF-8 last error");
    CHECK(Must(f.store().ListDueWebhooks(UnixMillis{1} << 50, 10)).empty());

    Must(f.store().EnqueueWebhook(Delivery("evt", 0)));
    CHECK(CodeOf(f.store().UpdateWebhook("missing", WebhookUpdate{})) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().UpdateWebhook("", WebhookUpdate{})) == ErrorCode::kInvalidArgument);
    WebhookUpdate bad_error;
    bad_error.last_error = kBadUtf8;
    bad_error.gave_up = true;
    CHECK(CodeOf(f.store().UpdateWebhook("evt", bad_error)) == ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().ListDueWebhooks(0, 10)).size() == 1);  // unchanged
  }
}  // TEST_SUITE("StoreConformance")
