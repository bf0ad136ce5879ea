// SPDX-License-Identifier: Apache-2.0
// What only the PostgreSQL store has: several stores on one database, connections the server
// takes away, commits whose outcome is unknown, group commit, concurrent migrations.
#include <agentcore/store/store.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <libpq-fe.h>

#include <agentcore/ulid.hpp>

#include "store/pg_test_schema.hpp"
#include "support/recording_store_listener.hpp"
#include "support/manual_clock.hpp"

namespace agentcore::testing {
namespace {

using namespace std::chrono_literals;

template <typename T>
T Must(Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

void MustOk(const Status& s) { REQUIRE_MESSAGE(s.ok(), s.ToString()); }

template <typename T>
ErrorCode CodeOf(const Result<T>& r) {
  return r.ok() ? ErrorCode::kOk : r.status().code();
}

using Recorder = RecordingStoreListener;

auto Is(StoreChange::Kind kind, std::string channel_id, std::string id) {
  return [=](const StoreChange& c) {
    return c.kind == kind && c.channel_id == channel_id && c.id == id;
  };
}

Channel MakeChannel(Store& store, const std::string& space_id, const std::string& name,
                    const std::string& id = "") {
  Space s;
  s.id = space_id;
  s.name = space_id;
  Must(store.EnsureSpace(s));
  NewChannel c;
  c.id = id;
  c.space_id = space_id;
  c.name = name;
  return Must(store.CreateChannel(c));
}

NewMessage Text(const Channel& ch, std::string text, std::string id = "") {
  NewMessage m;
  m.id = std::move(id);
  m.channel_id = ch.id;
  m.sender = "alice";
  m.sender_type = "user";
  m.type = "user";
  m.content = Json(std::move(text));
  return m;
}

// Waits until a listening backend is connected to the test database again.
void WaitForListener(const PgTestSchema& db) {
  for (int i = 0; i < 500; ++i) {
    if (db.Value("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND application_name = 'agentcore-listener'") != "0") {
      return;
    }
    std::this_thread::sleep_for(10ms);
  }
  FAIL("the store's listener did not reconnect");
}

}  // namespace

TEST_SUITE("PostgresStore") {

TEST_CASE("two stores on one database see each other's changes through the change log") {
  PgTestSchema db;
  auto a = db.Open();
  auto b = db.Open();
  Recorder seen_by_a;
  Recorder seen_by_b;
  auto sub_a = Must(a->Subscribe(&seen_by_a));
  auto sub_b = Must(b->Subscribe(&seen_by_b));
  // Ids holding what was migration 0004's payload separator arrive intact.
  const Channel ch = MakeChannel(*a, "acme", "general", "chan|1|x");

  const Message m = Must(b->AppendMessage(Text(ch, "hello", "msg|2")));
  CHECK(seen_by_a.WaitFor(Is(StoreChange::Kind::kMessageCreated, ch.id, "msg|2")));
  CHECK(seen_by_b.WaitFor(Is(StoreChange::Kind::kMessageCreated, ch.id, "msg|2")));

  MessagePatch patch;
  patch.content = Json("hello, world");
  Must(b->UpdateMessage(m.id, patch));
  CHECK(seen_by_a.WaitFor(Is(StoreChange::Kind::kMessageUpdated, ch.id, m.id)));

  NewRosterEntry e;
  e.channel_id = ch.id;
  e.callsign = "bot|7";
  e.agent_type = "claude";
  Must(a->AddRosterEntry(e));
  CHECK(seen_by_b.WaitFor(Is(StoreChange::Kind::kRosterChanged, ch.id, "bot|7")));
  MustOk(a->RemoveRosterEntry(ch.id, "bot|7"));

  NewRun run_in;
  run_in.id = "run-1";
  Must(b->CreateRun(run_in));
  Must(b->AppendRunEvent("run-1", "started", Json::Object()));
  const RunEventRecord second = Must(b->AppendRunEvent("run-1", "progress", Json(1)));
  CHECK(second.seq == 2);
  CHECK(seen_by_a.WaitFor([](const StoreChange& c) {
    return c.kind == StoreChange::Kind::kRunEvent && c.channel_id == "run-1" &&
           c.id == "run-1" && c.seq == 2;
  }));

  MustOk(b->DeleteMessage(m.id));
  CHECK(seen_by_a.WaitFor(Is(StoreChange::Kind::kMessageDeleted, ch.id, m.id)));
  // Two roster changes (add, remove) reached a as well.
  const auto changes = seen_by_a.changes();
  CHECK(std::count_if(changes.begin(), changes.end(), [](const StoreChange& c) {
          return c.kind == StoreChange::Kind::kRosterChanged;
        }) == 2);
}

TEST_CASE("notifies a change written by any session, and only once it commits") {
  PgTestSchema db;
  auto store = db.Open();
  Recorder seen;
  auto sub = Must(store->Subscribe(&seen));
  const Channel ch = MakeChannel(*store, "acme", "general");
  const Message m = Must(store->AppendMessage(Text(ch, "one")));
  const Message marker = Must(store->AppendMessage(Text(ch, "two")));
  REQUIRE(seen.WaitFor(Is(StoreChange::Kind::kMessageCreated, ch.id, marker.id)));

  // Rolled back: nothing is delivered. Then a committed change from plain SQL: delivered.
  db.Query("BEGIN; UPDATE messages SET is_complete = false WHERE id = '" + m.id +
           "'; ROLLBACK");
  db.Query("UPDATE messages SET is_complete = false WHERE id = '" + marker.id + "'");
  REQUIRE(seen.WaitFor(Is(StoreChange::Kind::kMessageUpdated, ch.id, marker.id)));
  CHECK_FALSE(seen.WaitFor(Is(StoreChange::Kind::kMessageUpdated, ch.id, m.id), 0ms));
  CHECK(Must(store->GetMessage(m.id)).is_complete);
}

TEST_CASE("delivers every row of one big statement, over several pages of the log") {
  PgTestSchema db;
  auto store = db.Open();
  Recorder seen;
  auto sub = Must(store->Subscribe(&seen));
  // A channel id and message ids near the 255-byte limit; 300 rows are more than one page
  // (PgListener::kPageRows).
  const Channel ch = MakeChannel(*store, "acme", "general", std::string(250, 'c'));
  db.Query("INSERT INTO messages (id, space_id, channel_id, sender, sender_type, type, content, "
           "\"timestamp\", is_complete, metadata) SELECT lpad(g::text, 250, 'm'), 'acme', '" +
           ch.id + "', 'alice', 'user', 'user', '\"x\"', 1, true, 'null' "
           "FROM generate_series(1, 300) g");
  const std::string last(247, 'm');
  CHECK(seen.WaitFor(Is(StoreChange::Kind::kMessageCreated, ch.id, last + "300")));
  std::set<std::string> ids;
  for (const StoreChange& c : seen.changes()) {
    if (c.kind == StoreChange::Kind::kMessageCreated) ids.insert(c.id);
  }
  CHECK(ids.size() == 300);
}

TEST_CASE("replaces connections the server closed while idle, without an unknown outcome") {
  PgTestSchema db;
  ManualClock clock;
  auto store = db.Open(&clock);
  Recorder seen;
  auto sub = Must(store->Subscribe(&seen));
  const Channel ch = MakeChannel(*store, "acme", "general");
  Must(store->AppendMessage(Text(ch, "warm up the writer")));
  Must(store->GetChannel(ch.id));
  // Pool, writer and listener connections: at least three (and the notifier's, once its
  // thread has connected for the append's wake-up: not awaited here).
  CHECK(db.TerminateAll() >= 3);

  // The first call on each replaced connection is a write: none may be reported as unknown.
  const Message m = Must(store->AppendMessage(Text(ch, "after the kill")));
  Must(store->CreateChannel([&] {
    NewChannel c;
    c.space_id = "acme";
    c.name = "second";
    return c;
  }()));
  CHECK(Must(store->GetMessage(m.id)).content == Json("after the kill"));

  // The listener reconnects by itself, delivers what was written while it was away (the log
  // keeps it), and delivers again.
  WaitForListener(db);
  CHECK(seen.WaitFor(Is(StoreChange::Kind::kMessageCreated, ch.id, m.id)));
  const Message later = Must(store->AppendMessage(Text(ch, "heard")));
  CHECK(seen.WaitFor(Is(StoreChange::Kind::kMessageCreated, ch.id, later.id)));
}

TEST_CASE("reports a write cut off in flight as unknown outcome and applies a retry once") {
  PgTestSchema db;
  auto store = db.Open();
  const Channel ch = MakeChannel(*store, "acme", "general");
  const Message old = Must(store->AppendMessage(Text(ch, "before")));

  // A session holds the channel's row lock for a second: the group commit's batch sends its
  // inserts, then waits on the channel update, inside its transaction and before COMMIT.
  const std::string id = NewUlid();
  std::thread locker([&] {
    db.Query("BEGIN; SELECT 1 FROM channels WHERE id = '" + ch.id + "' FOR UPDATE; "
             "SELECT pg_sleep(1); COMMIT");
  });
  auto wait_for = [&](const std::string& where) {
    for (int i = 0; i < 500; ++i) {
      if (db.Value("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND " + where) != "0") {
        return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  };
  REQUIRE(wait_for("wait_event = 'PgSleep'"));  // the lock is held
  Result<Message> cut = Status(ErrorCode::kInternal, "not run");
  std::thread appender([&] { cut = store->AppendMessage(Text(ch, "in flight", id)); });
  const bool blocked = wait_for("wait_event_type = 'Lock'");
  // The writer's backend waits for the lock with its batch sent: kill it there.
  CHECK(blocked);
  CHECK(db.TerminateWhere("wait_event_type = 'Lock'") == 1);
  appender.join();
  locker.join();
  CHECK(CodeOf(cut) == ErrorCode::kUnknownOutcome);

  // The caller retries with the same id: applied exactly once.
  Result<Message> retry = store->AppendMessage(Text(ch, "in flight", id));
  CHECK((retry.ok() || CodeOf(retry) == ErrorCode::kAlreadyExists));
  CHECK(db.Value("SELECT count(*) FROM messages WHERE id = '" + id + "'") == "1");
  CHECK(Must(store->GetMessage(old.id)).content == Json("before"));
}

TEST_CASE("keeps every acknowledged write while the server terminates connections") {
  PgTestSchema db;
  auto store = db.Open(nullptr, 4);
  const Channel a = MakeChannel(*store, "acme", "a");
  const Channel b = MakeChannel(*store, "acme", "b");

  std::atomic<bool> stop{false};
  std::atomic<int> unknown{0};
  std::atomic<int> unavailable{0};
  std::mutex mu;
  std::set<std::string> acked;
  std::vector<std::string> failures;
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      const Channel& ch = t % 2 == 0 ? a : b;
      while (!stop) {
        const std::string id = NewUlid();
        // Retry with the same id until the outcome is known: ok, or kAlreadyExists after an
        // unknown outcome (the earlier attempt was applied).
        for (int attempt = 0;; ++attempt) {
          Result<Message> r = store->AppendMessage(Text(ch, "under fire", id));
          if (r.ok() || (attempt > 0 && CodeOf(r) == ErrorCode::kAlreadyExists)) {
            std::lock_guard lock(mu);
            acked.insert(id);
            break;
          }
          if (CodeOf(r) == ErrorCode::kUnknownOutcome) {
            ++unknown;
          } else if (CodeOf(r) == ErrorCode::kUnavailable) {
            ++unavailable;
            std::this_thread::sleep_for(5ms);
          } else {
            std::lock_guard lock(mu);
            failures.push_back(r.status().ToString());
            return;
          }
        }
      }
    });
  }
  int terminated = 0;
  for (int round = 0; round < 20; ++round) {
    std::this_thread::sleep_for(40ms);
    terminated += db.TerminateWhere("application_name = 'agentcore'");
  }
  stop = true;
  for (std::thread& w : writers) w.join();
  CHECK(failures.empty());
  MESSAGE("terminated ", terminated, " connections; ", unknown.load(), " unknown outcomes, ",
          unavailable.load(), " unavailable; ", acked.size(), " messages acknowledged");
  CHECK(terminated > 0);
  REQUIRE(!acked.empty());

  // Every acknowledged id is stored, once; nothing else is (every attempt ended known).
  std::set<std::string> stored;
  for (const auto& row : db.Query("SELECT id FROM messages")) stored.insert(row[0]);
  CHECK(stored == acked);
  // And the store still works.
  Must(store->AppendMessage(Text(a, "still here")));
}

TEST_CASE("commits concurrent appends together: fewer transactions than messages") {
  PgTestSchema db;
  auto store = db.Open();
  std::vector<Channel> channels;
  for (int i = 0; i < 8; ++i) channels.push_back(MakeChannel(*store, "acme", "c" + std::to_string(i)));
  constexpr int kThreads = 64;
  constexpr int kPerThread = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!store->AppendMessage(Text(channels[t % 8], "m")).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(db.Value("SELECT count(*) FROM messages") == std::to_string(kThreads * kPerThread));
  // xmin is the inserting transaction: group commit puts many messages in each.
  const int transactions = std::stoi(db.Value("SELECT count(DISTINCT xmin::text) FROM messages"));
  MESSAGE((kThreads * kPerThread), " messages in ", transactions, " transactions");
  CHECK(transactions * 4 <= kThreads * kPerThread);
  // last_active_at follows the newest message of each channel.
  for (const Channel& ch : channels) {
    CHECK(Must(store->GetChannel(ch.id)).last_active_at ==
          std::stoll(db.Value("SELECT max(\"timestamp\") FROM messages WHERE channel_id = '" +
                              ch.id + "'")));
  }
}

TEST_CASE("reads a small channel's page through its index when another channel dominates") {
  PgTestSchema db;
  // PostgreSQL switches a prepared statement to its generic plan, which knows nothing about
  // the channel, once that looks no dearer than the custom plans it made so far. Force it
  // from the first execution: the plan must still be a range scan of (channel_id, seq), not a
  // walk of every id filtered by channel, which reads 100,000 rows for a five-message page.
  PostgresStoreOptions options;
  options.url = db.url();
  const std::string search_path = "search_path%3D" + db.schema();
  const std::size_t at = options.url.find(search_path);
  REQUIRE(at != std::string::npos);
  options.url.insert(at + search_path.size(), "%20-c%20plan_cache_mode%3Dforce_generic_plan");
  auto store = Must(OpenPostgresStore(options));
  const Channel big = MakeChannel(*store, "acme", "big");
  const Channel small = MakeChannel(*store, "acme", "small");
  db.Query("INSERT INTO messages (id, space_id, channel_id, sender, sender_type, type, content, "
           "\"timestamp\", is_complete, metadata) SELECT lpad(g::text, 26, '0'), 'acme', '" +
           big.id + "', 'alice', 'user', 'user', '\"x\"', 1, true, 'null' "
           "FROM generate_series(1, 100000) g");
  for (int i = 0; i < 5; ++i) Must(store->AppendMessage(Text(small, "hi")));
  db.Query("ANALYZE messages");
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    PageRequest page;
    page.after = "";
    page.limit = 50;
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(Must(store->ListMessages(small.id, page)).messages.size() == 5);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  MESSAGE("median page read ", ms[ms.size() / 2], " ms");
  CHECK(ms[ms.size() / 2] < 5.0);  // the index: ~0.05 ms; the walk: ~25 ms
}

TEST_CASE("opens from several servers at once and migrates exactly once") {
  PgTestSchema db;
  std::vector<std::thread> threads;
  std::vector<Result<std::unique_ptr<Store>>> opened;
  for (int i = 0; i < 4; ++i) opened.emplace_back(Status(ErrorCode::kInternal, "not run"));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      PostgresStoreOptions o;
      o.url = db.url();
      opened[static_cast<std::size_t>(i)] = OpenPostgresStore(o);
    });
  }
  for (std::thread& t : threads) t.join();
  for (auto& r : opened) CHECK_MESSAGE(r.ok(), r.status().ToString());
  const int latest = Must((*opened[0])->SchemaVersion());
  CHECK(db.Value("SELECT count(*) FROM schema_version") == std::to_string(latest));
}

TEST_CASE("refuses a database whose schema is newer than the library and leaves it alone") {
  PgTestSchema db;
  {
    auto store = db.Open();
    MakeChannel(*store, "acme", "general");
  }
  db.Query("INSERT INTO schema_version (version, name) VALUES (99, 'from the future')");
  PostgresStoreOptions o;
  o.url = db.url();
  Result<std::unique_ptr<Store>> opened = OpenPostgresStore(o);
  CHECK(CodeOf(opened) == ErrorCode::kNotSupported);
  CHECK(db.Value("SELECT max(version) FROM schema_version") == "99");
  CHECK(db.Value("SELECT count(*) FROM channels") == "1");
  CHECK(CodeOf(OpenStore(db.url())) == ErrorCode::kNotSupported);
}

TEST_CASE("migration 6 numbers an old database's messages in id order; new ones come after") {
  PgTestSchema db;
  auto store = db.Open();
  const Channel ch = MakeChannel(*store, "acme", "general");
  const std::vector<std::string> ids = {"01JGZ5V7A1B2C3D4E5F6G7H8J3", "01JGZ5V7A1B2C3D4E5F6G7H8J1",
                                        "01JGZ5V7A1B2C3D4E5F6G7H8J2"};
  for (const std::string& id : ids) {  // inserted out of id order
    NewMessage in = Text(ch, id);
    in.id = id;
    Must(store->AppendMessage(in));
  }
  MustOk(store->MigrateTo(5));  // an old database: no seq
  MustOk(store->MigrateTo(6));
  auto page = Must(store->ListMessages(ch.id, PageRequest{}));
  REQUIRE(page.messages.size() == 3);
  CHECK(page.messages[0].id == ids[1]);
  CHECK(page.messages[1].id == ids[2]);
  CHECK(page.messages[2].id == ids[0]);
  CHECK(page.messages[0].seq == 1);
  CHECK(page.messages[2].seq == 3);
  CHECK(Must(store->AppendMessage(Text(ch, "new"))).seq == 4);
}

TEST_CASE("migrates down and up again with data in place") {
  PgTestSchema db;
  auto store = db.Open();
  const int latest = Must(store->SchemaVersion());
  REQUIRE(latest >= 9);
  const Channel ch = MakeChannel(*store, "acme", "general");
  const Message m = Must(store->AppendMessage(Text(ch, "keep me")));
  NewRun run_in;
  run_in.id = "run-1";
  Must(store->CreateRun(run_in));
  Artifact art;
  art.channel_id = ch.id;
  art.slug = "notes";
  Must(store->PutArtifact(art, "blob bytes"));
  User user;
  user.external_id = "dev:1";
  user = Must(store->CreateUser(user));
  Space owned;
  owned.id = "owned";
  owned.owner_id = user.id;
  Must(store->EnsureSpace(owned));
  CostRecord cost;
  cost.channel_id = ch.id;
  cost.callsign = "writer";
  cost.cost_usd = 0.5;
  MustOk(store->UpsertCost(cost));

  NewRun later;
  later.id = "run-2";
  later.project_id = "p";
  later.available_at = 777;
  Must(store->CreateRun(later));
  Must(store->CreateProject(Project{"acme", "default", "Default", ch.id, Json(), 0, 0}));
  MustOk(store->PutModelPrice(ModelPrice{"openai", "gpt-4o-mini", 0.15, 0.6, true, 0}));
  WebhookDelivery hook;
  hook.id = "evt-1";
  hook.run_id = "run-1";
  hook.url = "https://hooks.example";
  Must(store->EnqueueWebhook(hook));

  ApiKey key;
  key.space_id = "acme";
  key.name = "ci";
  key.key_hash = std::string(64, 'a');
  key.tier = "pro";
  key.requests_per_minute = 5;
  key.max_running_sessions = 2;
  key.admin = true;
  const ApiKey made = Must(store->CreateApiKey(key));
  // 9 -> 8: api_keys lose tier, limits and admin; the keys stay. 8 -> 9: back, with none.
  MustOk(store->MigrateTo(8));
  CHECK(db.Value("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                 "current_schema() AND table_name = 'api_keys' AND column_name IN ('tier', "
                 "'requests_per_minute', 'max_running_sessions', 'admin')") == "0");
  CHECK(db.Value("SELECT count(*) FROM api_keys") == "1");
  MustOk(store->MigrateTo(9));
  const ApiKey back = Must(store->FindApiKeyByHash(key.key_hash));
  CHECK(back.id == made.id);
  CHECK(back.tier.empty());
  CHECK(back.requests_per_minute == 0);
  CHECK(back.max_running_sessions == 0);
  CHECK_FALSE(back.admin);

  // 7 -> 6: projects, model_prices, webhook_deliveries, the queue's indexes and
  // runs.available_at go; the runs stay.
  MustOk(store->MigrateTo(6));
  CHECK(Must(store->SchemaVersion()) == 6);
  CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname IN ('projects', 'model_prices', "
                 "'webhook_deliveries', 'webhook_deliveries_due', 'runs_queue', "
                 "'runs_queue_project', 'runs_active') "
                 "AND relnamespace = current_schema()::regnamespace") == "0");
  CHECK(db.Value("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                 "current_schema() AND table_name = 'runs' AND column_name = 'available_at'") ==
        "0");
  CHECK(db.Value("SELECT count(*) FROM runs") == "2");
  // 6 -> 7 again: the runs read back, due at once (available_at defaults to 0).
  MustOk(store->MigrateTo(7));
  CHECK(Must(store->GetRun("run-2")).available_at == 0);
  CHECK(CodeOf(store->GetProject("acme", "default")) == ErrorCode::kNotFound);
  CHECK(Must(store->ListModelPrices()).empty());
  CHECK(Must(store->ListDueWebhooks(0, 10)).empty());
  CHECK(Must(store->ClaimRun(RunClaim{"w", 0, 100})).has_value());
  MustOk(store->MigrateTo(6));

  // 6 -> 5: messages.seq (and its sequence) goes; the messages stay. (Below 6 the store's
  // message queries, which read seq, no longer apply: messages are read raw.)
  MustOk(store->MigrateTo(5));
  CHECK(db.Value("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                 "current_schema() AND table_name = 'messages' AND column_name = 'seq'") == "0");
  CHECK(db.Value("SELECT content::text FROM messages WHERE id = '" + m.id + "'") == "\"keep me\"");

  // 5 -> 4: users, cost_records and spaces.owner_id go; the spaces stay.
  MustOk(store->MigrateTo(4));
  CHECK(Must(store->SchemaVersion()) == 4);
  CHECK(db.Value("SELECT count(*) FROM pg_class WHERE relname IN ('users', 'cost_records', "
                 "'users_external_id', 'spaces_created', 'spaces_owner_created') "
                 "AND relnamespace = current_schema()::regnamespace") == "0");
  CHECK(db.Value("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                 "current_schema() AND table_name = 'spaces' AND column_name = 'owner_id'") ==
        "0");
  CHECK(db.Value("SELECT count(*) FROM spaces") == "2");
  CHECK(CodeOf(store->GetUser(user.id)) == ErrorCode::kInternal);  // no such table

  // 4 -> 3: the change feed's triggers go; the data and the writes stay.
  MustOk(store->MigrateTo(3));
  CHECK(Must(store->SchemaVersion()) == 3);
  CHECK(db.Value("SELECT string_agg(tgname, ',') FROM pg_trigger WHERE NOT tgisinternal") ==
        "messages_touch_channels");
  db.Query("INSERT INTO messages (id, space_id, channel_id, sender, sender_type, type, content, "
           "\"timestamp\", is_complete, metadata) VALUES ('01JGZ5V7A1B2C3D4E5F6G7H8J0', 'acme', '" +
           ch.id + "', 'alice', 'user', 'user', '\"written at version 3\"', 1, true, 'null')");
  CHECK(Must(store->ReadArtifactBlob(ch.id, "notes")) == "blob bytes");

  // 3 -> 1: runs, artifacts and keys go; channels and messages stay.
  MustOk(store->MigrateTo(1));
  CHECK(CodeOf(store->GetRun("run-1")) == ErrorCode::kInternal);  // no such table
  CHECK(db.Value("SELECT content::text FROM messages WHERE id = '" + m.id + "'") == "\"keep me\"");

  // 1 -> 6: everything works again, and the messages survived the round trip.
  MustOk(store->MigrateTo(latest));
  CHECK(Must(store->SchemaVersion()) == latest);
  CHECK(CodeOf(store->GetRun("run-1")) == ErrorCode::kNotFound);
  CHECK(CodeOf(store->GetUser(user.id)) == ErrorCode::kNotFound);
  CHECK(Must(store->ListCosts(ch.id)).empty());
  CHECK(Must(store->GetSpace("owned")).owner_id.empty());  // prepared before, replanned now
  owned.id = "owned-2";
  CHECK(Must(store->EnsureSpace(owned)).owner_id == user.id);
  MustOk(store->UpsertCost(cost));
  Must(store->CreateRun(run_in));
  PageRequest all;
  all.limit = 10;
  CHECK(Must(store->ListMessages(ch.id, all)).messages.size() == 2);
  Recorder seen;
  auto sub = Must(store->Subscribe(&seen));
  const Message fresh = Must(store->AppendMessage(Text(ch, "notified again")));
  CHECK(seen.WaitFor(Is(StoreChange::Kind::kMessageCreated, ch.id, fresh.id)));
  std::string versions = "1";
  for (int v = 2; v <= latest; ++v) versions += "," + std::to_string(v);
  CHECK(db.Value("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version") ==
        versions);
}

TEST_CASE("reports an unreachable server as unavailable") {
  PostgresStoreOptions o;
  // A port nothing listens on (the discard port), with a short connect timeout.
  o.url = "postgresql://postgres@127.0.0.1:9/none?connect_timeout=2";
  CHECK(CodeOf(OpenPostgresStore(o)) == ErrorCode::kUnavailable);
  o.url = "";
  CHECK(CodeOf(OpenPostgresStore(o)) == ErrorCode::kInvalidArgument);
  o.url = "postgresql://postgres@127.0.0.1:9/none";
  o.pool_size = 0;
  CHECK(CodeOf(OpenPostgresStore(o)) == ErrorCode::kInvalidArgument);
}

TEST_CASE("stores each roster status as its name and reads the name back") {
  PgTestSchema db;
  auto store = db.Open();
  const Channel ch = MakeChannel(*store, "acme", "general");
  for (RosterStatus status : kAllRosterStatuses) {
    NewRosterEntry e;
    e.channel_id = ch.id;
    e.callsign = std::string(RosterStatusName(status));
    e.status = status;
    Must(store->AddRosterEntry(e));
    CHECK(Must(store->GetRosterEntry(ch.id, e.callsign)).status == status);
    CHECK(db.Value("SELECT status FROM roster WHERE callsign = '" + e.callsign + "'") ==
          RosterStatusName(status));
  }
}

TEST_CASE("reads a stored roster status that is not one of the six as active") {
  PgTestSchema db;
  auto store = db.Open();
  const Channel ch = MakeChannel(*store, "acme", "general");
  NewRosterEntry e;
  e.channel_id = ch.id;
  e.callsign = "fox";
  e.status = RosterStatus::kPaused;
  Must(store->AddRosterEntry(e));
  // Texts older tools (or Cast, which stores any string) may have left in the column.
  for (const char* text : {"sleeping", "", "PAUSED", " archived", "archived ", "unknown"}) {
    CAPTURE(text);
    db.Query(std::string("UPDATE roster SET status = '") + text + "'");
    CHECK(Must(store->GetRosterEntry(ch.id, "fox")).status == RosterStatus::kActive);
    CHECK(Must(store->ListRoster(ch.id)).at(0).status == RosterStatus::kActive);
  }
}

TEST_CASE("skips a queued run another transaction locks and keeps its project's younger runs") {
  PgTestSchema db;
  ManualClock clock;
  auto store = db.Open(&clock);
  const Run r1 = Must(store->CreateRun(NewRun{"", "p1", Json()}));
  clock.Advance(1);
  const Run r2 = Must(store->CreateRun(NewRun{"", "p1", Json()}));
  clock.Advance(1);
  const Run r3 = Must(store->CreateRun(NewRun{"", "p2", Json()}));
  // Another writer holds r1's row (a cancel in flight, say).
  std::unique_ptr<PGconn, void (*)(PGconn*)> holder(PQconnectdb(db.url().c_str()), PQfinish);
  REQUIRE(PQstatus(holder.get()) == CONNECTION_OK);
  auto exec = [&](const std::string& sql) {
    std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(holder.get(), sql.c_str()), PQclear);
    const ExecStatusType st = PQresultStatus(r.get());
    REQUIRE_MESSAGE((st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK),
                    PQerrorMessage(holder.get()));
  };
  exec("BEGIN");
  exec("SELECT id FROM runs WHERE id = '" + r1.id + "' FOR UPDATE");
  RunClaim claim;
  claim.worker_id = "w";
  claim.now = clock.NowMillis();
  claim.lease_until = claim.now + 1000;
  // Neither blocks on the lock nor takes p1's younger run out of order.
  std::optional<Run> got = Must(store->ClaimRun(claim));
  REQUIRE(got.has_value());
  CHECK(got->id == r3.id);
  CHECK_FALSE(Must(store->ClaimRun(claim)).has_value());
  CHECK(Must(store->GetRun(r2.id)).state == RunState::kQueued);
  exec("ROLLBACK");
  got = Must(store->ClaimRun(claim));
  REQUIRE(got.has_value());
  CHECK(got->id == r1.id);
}

TEST_CASE("two stores on one database never claim two runs of one project at once") {
  PgTestSchema db;
  ManualClock clock;
  auto a = db.Open(&clock);
  auto b = db.Open(&clock);
  for (int round = 0; round < 20; ++round) {
    const std::string project = "p" + std::to_string(round);
    Must(a->CreateRun(NewRun{"", project, Json()}));
    Must(a->CreateRun(NewRun{"", project, Json()}));
    std::atomic<int> ready{0};
    std::optional<Run> got[2];
    Status failed[2];
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        Store& store = t == 0 ? *a : *b;
        ++ready;
        while (ready.load() < 2) std::this_thread::yield();
        auto r = store.ClaimRun(RunClaim{"w" + std::to_string(t), clock.NowMillis(), 1});
        if (r.ok()) {
          got[t] = *r;
        } else {
          failed[t] = r.status();
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(failed[0].ok());
    CHECK(failed[1].ok());
    CHECK(got[0].has_value() + got[1].has_value() == 1);
    for (auto& g : got) {
      if (g) Must(a->TransitionRun(g->id, RunState::kPlanning, RunState::kSucceeded, RunUpdate{}));
    }
    std::optional<Run> second = Must(b->ClaimRun(RunClaim{"w", clock.NowMillis(), 1}));
    REQUIRE(second.has_value());
    CHECK(second->project_id == project);
    Must(b->TransitionRun(second->id, RunState::kPlanning, RunState::kSucceeded, RunUpdate{}));
  }
}

}  // TEST_SUITE("PostgresStore")

}  // namespace agentcore::testing
