// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL change log (migration 0011, docs/cluster.md): several stores on one database
// see each other's changes and cluster events in order; a transaction that commits late is
// not skipped; a terminated listener loses nothing; wake-ups are coalesced; no trigger NOTIFYs
// any more; retention; migration 11 down and up.
#include <agentcore/store/store.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <libpq-fe.h>

#include "store/pg_test_schema.hpp"
#include "support/recording_store_listener.hpp"

namespace agentcore::testing {
namespace {

using namespace std::chrono_literals;

template <typename T>
T Must(Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

void MustOk(const Status& s) { REQUIRE_MESSAGE(s.ok(), s.ToString()); }

using Recorder = RecordingStoreListener;

// The payloads of the cluster events among `changes`, in order.
std::vector<std::string> Payloads(const std::vector<StoreChange>& changes) {
  std::vector<std::string> out;
  for (const StoreChange& c : changes) {
    if (c.kind == StoreChange::Kind::kCluster) out.push_back(c.cluster.payload);
  }
  return out;
}

auto HasPayload(std::string payload) {
  return [payload = std::move(payload)](const std::vector<StoreChange>& changes) {
    auto p = Payloads(changes);
    return std::find(p.begin(), p.end(), payload) != p.end();
  };
}

Status AppendEvent(Store& store, const std::string& payload, const std::string& origin = "n1") {
  ClusterEvent e;
  e.kind = ClusterEvent::Kind::kLines;
  e.origin = origin;
  e.channel_id = "ch";
  e.payload = payload;
  return store.AppendClusterEvents(std::span(&e, 1));
}

// A plain libpq connection held by the test (a transaction across calls, LISTEN).
class RawConn {
 public:
  explicit RawConn(const std::string& url) : c_(PQconnectdb(url.c_str())) {
    REQUIRE(PQstatus(c_) == CONNECTION_OK);
  }
  ~RawConn() { PQfinish(c_); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  void Exec(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    const std::string error = PQresultErrorMessage(r);
    PQclear(r);
    REQUIRE_MESSAGE((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK), sql << ": " << error);
  }
  // Notifications received so far on `channel` (after a LISTEN).
  int CountNotifications(const std::string& channel) {
    PQconsumeInput(c_);
    int n = 0;
    while (PGnotify* note = PQnotifies(c_)) {
      if (channel == note->relname) ++n;
      PQfreemem(note);
    }
    return n;
  }

 private:
  PGconn* c_;
};

Channel MakeChannel(Store& store, const std::string& name) {
  Space s;
  s.id = "acme";
  s.name = "Acme";
  Must(store.EnsureSpace(s));
  NewChannel c;
  c.space_id = "acme";
  c.name = name;
  return Must(store.CreateChannel(c));
}

NewMessage Text(const Channel& ch, std::string text) {
  NewMessage m;
  m.channel_id = ch.id;
  m.sender = "alice";
  m.sender_type = "user";
  m.type = "user";
  m.content = Json(std::move(text));
  return m;
}

}  // namespace

TEST_SUITE("PostgresChangeLog") {

TEST_CASE("two stores see each other's messages and cluster events, each writer's in order") {
  PgTestSchema db;
  auto a = db.Open();
  auto b = db.Open();
  Recorder seen_by_a, seen_by_b;
  auto sub_a = Must(a->Subscribe(&seen_by_a));
  auto sub_b = Must(b->Subscribe(&seen_by_b));
  const Channel ch = MakeChannel(*a, "general");
  constexpr int kEach = 100;
  std::thread wa([&] {
    for (int i = 0; i < kEach; ++i) MustOk(AppendEvent(*a, "a" + std::to_string(i), "node-a"));
  });
  std::thread wb([&] {
    for (int i = 0; i < kEach; ++i) {
      MustOk(AppendEvent(*b, "b" + std::to_string(i), "node-b"));
      if (i % 10 == 0) Must(b->AppendMessage(Text(ch, "m" + std::to_string(i))));
    }
  });
  wa.join();
  wb.join();
  for (Recorder* r : {&seen_by_a, &seen_by_b}) {
    REQUIRE(r->WaitUntil([](const std::vector<StoreChange>& c) {
      return Payloads(c).size() >= 2 * kEach;
    }));
    const std::vector<StoreChange> all = r->changes();
    std::map<std::string, int> next;  // origin -> the index expected next
    for (const std::string& p : Payloads(all)) {
      const std::string origin = p.substr(0, 1);
      CHECK(std::stoi(p.substr(1)) == next[origin]);
      next[origin] = std::stoi(p.substr(1)) + 1;
    }
    CHECK(next["a"] == kEach);
    CHECK(next["b"] == kEach);
    CHECK(Payloads(all).size() == 2 * kEach);  // no duplicates
    // b's messages come between its events as it wrote them: after "b0", before "b10"...
    std::vector<std::string> b_order;
    for (const StoreChange& c : all) {
      if (c.kind == StoreChange::Kind::kCluster && c.cluster.origin == "node-b" &&
          c.cluster.payload.ends_with("0")) {
        b_order.push_back(c.cluster.payload);
      } else if (c.kind == StoreChange::Kind::kMessageCreated) {
        b_order.push_back("msg");
      }
    }
    REQUIRE(b_order.size() == 20);
    for (std::size_t i = 0; i < b_order.size(); i += 2) {
      CHECK(b_order[i] == "b" + std::to_string(i * 5));
      CHECK(b_order[i + 1] == "msg");
    }
  }
}

TEST_CASE("waits for a transaction that took its place early and commits late, skipping nothing") {
  PgTestSchema db;
  auto store = db.Open();
  Recorder seen;
  auto sub = Must(store->Subscribe(&seen));
  // A transaction writes a log row (through the message trigger's sibling: a cluster row,
  // inserted by hand) and stays open: its xid and id come before the next writes'.
  RawConn early(db.url());
  early.Exec("BEGIN");
  early.Exec("INSERT INTO change_log (kind, channel_id, ref_id, origin, payload) "
             "VALUES ('l', 'ch', '', 'raw', 'early')");
  MustOk(AppendEvent(*store, "late"));  // commits first, with a greater xid and id
  // The listener must not deliver "late" while "early" may still come before it.
  CHECK_FALSE(seen.WaitUntil(HasPayload("late"), 600ms));
  early.Exec("COMMIT");
  REQUIRE(seen.WaitUntil(HasPayload("late")));
  CHECK(Payloads(seen.changes()) == std::vector<std::string>{"early", "late"});

  // Rolled back: never delivered, and it holds nothing up once it ended.
  early.Exec("BEGIN");
  early.Exec("INSERT INTO change_log (kind, channel_id, ref_id, origin, payload) "
             "VALUES ('l', 'ch', '', 'raw', 'rolled back')");
  MustOk(AppendEvent(*store, "after"));
  early.Exec("ROLLBACK");
  REQUIRE(seen.WaitUntil(HasPayload("after")));
  CHECK(Payloads(seen.changes()) == std::vector<std::string>{"early", "late", "after"});
}

TEST_CASE("loses nothing while the listener's connection is terminated again and again") {
  PgTestSchema db;
  auto store = db.Open();
  auto writer = db.Open();  // another process's writes, as in a cluster
  Recorder seen;
  auto sub = Must(store->Subscribe(&seen));
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread w([&] {
    while (!stop) {
      const Status s = AppendEvent(*writer, std::to_string(written.load()));
      REQUIRE_MESSAGE(s.ok(), s.ToString());
      ++written;
    }
  });
  int terminated = 0;
  for (int round = 0; round < 10; ++round) {
    std::this_thread::sleep_for(50ms);
    terminated += db.TerminateWhere("application_name = 'agentcore-listener'");
  }
  stop = true;
  w.join();
  MESSAGE("terminated the listener ", terminated, " times during ", written.load(), " events");
  CHECK(terminated >= 2);
  const int n = written.load();
  REQUIRE(seen.WaitUntil(HasPayload(std::to_string(n - 1))));
  const std::vector<std::string> got = Payloads(seen.changes());
  REQUIRE(got.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) CHECK(got[static_cast<std::size_t>(i)] == std::to_string(i));
}

TEST_CASE("reads a change nobody announced at the poll interval") {
  PgTestSchema db;
  auto store = db.Open();
  Recorder seen;
  auto sub = Must(store->Subscribe(&seen));
  // Written by hand: no NOTIFY follows, so only the poll finds it.
  const auto start = std::chrono::steady_clock::now();
  db.Query("INSERT INTO change_log (kind, channel_id, ref_id, origin, payload) "
           "VALUES ('w', 'ch', 'writer', 'psql', '')");
  REQUIRE(seen.WaitUntil([](const std::vector<StoreChange>& c) {
    return !c.empty() && c.back().cluster.kind == ClusterEvent::Kind::kAgentWake;
  }));
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited < 2s);  // the default poll interval is 250 ms
  const StoreChange c = seen.changes().back();
  CHECK(c.kind == StoreChange::Kind::kCluster);
  CHECK(c.cluster.origin == "psql");
  CHECK(c.cluster.key == "writer");
  // A row of a kind this version does not know (a newer server's) is skipped, not fatal.
  db.Query("INSERT INTO change_log (kind, channel_id, ref_id) VALUES ('?', 'ch', 'x')");
  MustOk(AppendEvent(*store, "after unknown"));
  REQUIRE(seen.WaitUntil(HasPayload("after unknown")));
  CHECK(seen.changes().size() == 2);
}

TEST_CASE("wakes the listeners with at most one NOTIFY per millisecond, and after the last write") {
  PgTestSchema db;
  auto store = db.Open();
  RawConn listener(db.url());
  listener.Exec("LISTEN agentcore_wake");
  const Channel ch = MakeChannel(*store, "general");
  constexpr int kThreads = 32, kEach = 20;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) Must(store->AppendMessage(Text(ch, "x")));
    });
  }
  for (auto& t : threads) t.join();
  // Collect until 200 ms pass without one: the last coalesced NOTIFY waits for its commit's
  // flush, which a loaded disk makes slow.
  int notes = 0;
  for (int quiet = 0; quiet < 4;) {
    std::this_thread::sleep_for(50ms);
    const int n = listener.CountNotifications("agentcore_wake");
    notes += n;
    quiet = n == 0 ? quiet + 1 : 0;
  }
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                            start).count();
  const int appends = kThreads * kEach;
  MESSAGE(appends, " appends, ", elapsed_ms, " ms until quiet: ", notes, " wake-ups");
  CHECK(notes >= 1);
  CHECK(notes <= elapsed_ms + 2);
  CHECK(notes < kThreads * kEach);
  // Writes that log nothing wake nobody.
  Space s;
  s.id = "quiet";
  s.name = "Quiet";
  Must(store->EnsureSpace(s));
  Must(store->GetChannel(ch.id));
  std::this_thread::sleep_for(50ms);
  CHECK(listener.CountNotifications("agentcore_wake") == 0);
  // A lease is not a change either; a cluster event is.
  Must(store->AcquireLease("janitor", "n1", 0, 10));
  std::this_thread::sleep_for(50ms);
  CHECK(listener.CountNotifications("agentcore_wake") == 0);
  MustOk(AppendEvent(*store, "wake"));
  std::this_thread::sleep_for(50ms);
  CHECK(listener.CountNotifications("agentcore_wake") == 1);
}

TEST_CASE("no trigger NOTIFYs: the triggers write the log, in the writing transaction") {
  PgTestSchema db;
  auto store = db.Open();
  const std::string in_schema = "pronamespace = current_schema()::regnamespace";
  CHECK(db.Value("SELECT count(*) FROM pg_proc WHERE " + in_schema +
                 " AND prosrc LIKE '%pg_notify%'") == "0");
  CHECK(db.Value("SELECT count(*) FROM pg_proc WHERE " + in_schema +
                 " AND proname = 'agentcore_notify_entries'") == "0");
  CHECK(db.Value("SELECT count(*) FROM pg_proc WHERE " + in_schema +
                 " AND prosrc LIKE '%INSERT INTO change_log%'") == "3");
  CHECK(db.Value("SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger t JOIN "
                 "pg_class c ON c.oid = t.tgrelid WHERE NOT tgisinternal AND c.relnamespace = "
                 "current_schema()::regnamespace") ==
        "messages_deleted,messages_inserted,messages_touch_channels,messages_updated,"
        "roster_deleted,roster_inserted,roster_updated,run_events_added");
  // One row per changed row, with the writer's transaction id.
  const Channel ch = MakeChannel(*store, "general");
  const Message m = Must(store->AppendMessage(Text(ch, "x")));
  CHECK(db.Value("SELECT kind::text || ' ' || ref_id FROM change_log WHERE kind = 'c'") ==
        "c " + m.id);
  // A session with another search_path still logs into the store's schema.
  db.Query("SET search_path = pg_catalog; UPDATE " + db.schema() +
           ".messages SET is_complete = false WHERE id = '" + m.id + "'");
  CHECK(db.Value("SELECT count(*) FROM change_log WHERE kind = 'u'") == "1");
}

TEST_CASE("purges the log's rows older than the retention bound") {
  PgTestSchema db;
  auto store = db.Open();
  MustOk(AppendEvent(*store, "one"));
  MustOk(AppendEvent(*store, "two"));
  CHECK(Must(store->PurgeChangeLog(0)) == 0);  // stamped by the database's clock: not older
  const UnixMillis future =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch()).count() + 60'000;
  CHECK(Must(store->PurgeChangeLog(future)) == 2);
  CHECK(db.Value("SELECT count(*) FROM change_log") == "0");
  // The feed goes on after a purge.
  Recorder seen;
  auto sub = Must(store->Subscribe(&seen));
  MustOk(AppendEvent(*store, "three"));
  CHECK(seen.WaitUntil(HasPayload("three")));
}

TEST_CASE("migration 11 goes down to 0004's NOTIFY triggers and up again") {
  PgTestSchema db;
  auto store = db.Open();
  const Channel ch = MakeChannel(*store, "general");
  Must(store->AcquireLease("janitor", "n1", 0, 10));
  MustOk(store->MigrateTo(10));
  CHECK(db.Value("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND "
                 "tablename IN ('change_log', 'leases')") == "0");
  RawConn listener(db.url());
  listener.Exec("LISTEN agentcore_changes");
  const Message m = Must(store->AppendMessage(Text(ch, "at version 10")));
  bool notified = false;
  for (int i = 0; i < 200 && !notified; ++i) {
    notified = listener.CountNotifications("agentcore_changes") > 0;
    if (!notified) std::this_thread::sleep_for(10ms);
  }
  CHECK(notified);
  CHECK(store->AcquireLease("janitor", "n1", 0, 10).status().code() == ErrorCode::kInternal);
  MustOk(store->MigrateTo(11));
  Recorder seen;
  auto sub = Must(store->Subscribe(&seen));
  MustOk(AppendEvent(*store, "back"));
  CHECK(seen.WaitUntil(HasPayload("back")));
  CHECK(Must(store->AcquireLease("janitor", "n1", 0, 10)).owner == "n1");
  CHECK(Must(store->GetMessage(m.id)).content == Json("at version 10"));
}

}  // TEST_SUITE

}  // namespace agentcore::testing
