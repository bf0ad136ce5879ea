// SPDX-License-Identifier: Apache-2.0
// agentcore-bench store --backend sqlite --writers N [--messages M] [--repeat R]
//                       [--sync normal|full] [--raw-checkpoint auto|off] [--dir D]
// agentcore-bench store --backend sqlite --page-read [--rows 1000000] [--reads 10000]
//
// Append mode: N threads append ~1 KB messages to one channel of a fresh database through the
// Store (group commit); each pass prints acknowledged appends per second and the p50/p99 ack
// latency, then the raw limit measured in the same pass: a bare sqlite3 loop inserting the
// same rows (same schema, pragmas and synchronous setting, fresh file) with one prepared
// statement, 1000 rows per transaction. After the pass the store is reopened and every
// acknowledged id looked up ("lost" must be 0). The last line is the summary (medians).
//
// Page-read mode: fills one channel with --rows messages through the raw loop, then times
// --reads random page reads of 50 messages through the Store (cursors before/after a random
// message, and the newest page).
#include <sqlite3.h>
#include <stdlib.h>

#include <agentcore/json_writer.hpp>
#include <agentcore/store/store.hpp>
#include <agentcore/ulid.hpp>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bench_main.hpp"
#include "bench_util.hpp"

namespace {

using SteadyClock = std::chrono::steady_clock;
using agentcore::bench::Arg;
using agentcore::bench::Flag;
using agentcore::bench::Median;
using agentcore::bench::MillisSince;

constexpr std::size_t kContentChars = 1000;  // ~1 KB of JSON per message
constexpr int kRawBatch = 1000;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "store bench: %s\n", what.c_str());
  std::exit(2);
}

int IntArg(int argc, char** argv, std::string_view name, int fallback) {
  const std::string s = Arg(argc, argv, name, "");
  if (s.empty()) return fallback;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) {
    Die("bad value for " + std::string(name) + ": " + s);
  }
  return v;
}

template <typename T>
T Must(agentcore::Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// A private directory for one pass's files, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& base) {
    std::string tmpl = base + "/agentcore-store-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) Die("cannot create a directory under " + base);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const char* name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Target {
  std::unique_ptr<agentcore::Store> store;
  std::string space_id = "bench";
  std::string channel_id;
};

Target OpenWithChannel(const std::string& path, bool full) {
  agentcore::SqliteStoreOptions o;
  o.path = path;
  o.synchronous_full = full;
  Target t;
  t.store = Must(agentcore::OpenSqliteStore(o), "open");
  agentcore::Space s;
  s.id = t.space_id;
  Must(t.store->EnsureSpace(s), "ensure space");
  agentcore::NewChannel c;
  c.space_id = t.space_id;
  c.name = "bench";
  t.channel_id = Must(t.store->CreateChannel(c), "create channel").id;
  return t;
}

std::string Text(std::size_t n) {
  std::string text = "benchmark message ";
  while (text.size() < kContentChars) text += "lorem ipsum dolor sit amet ";
  text.resize(kContentChars);
  text += std::to_string(n);
  return text;
}

struct AppendPass {
  double seconds = 0;
  std::vector<double> latency_ms;
  std::vector<std::string> acked;
  int failures = 0;
};

AppendPass AppendFromThreads(agentcore::Store& store, const std::string& channel_id, int writers,
                             int messages) {
  AppendPass pass;
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(writers));
  std::vector<std::vector<std::string>> ids(static_cast<std::size_t>(writers));
  std::atomic<int> failures{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      const int n = messages / writers + (t < messages % writers ? 1 : 0);
      auto& my_lat = lat[static_cast<std::size_t>(t)];
      auto& my_ids = ids[static_cast<std::size_t>(t)];
      my_lat.reserve(static_cast<std::size_t>(n));
      agentcore::NewMessage m;
      m.channel_id = channel_id;
      m.sender = "writer-" + std::to_string(t);
      m.sender_type = "agent";
      m.type = "agent_message";
      const std::string text = Text(static_cast<std::size_t>(t));
      ++ready;
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < n; ++i) {
        m.content = agentcore::Json(text);
        const auto t0 = SteadyClock::now();
        auto r = store.AppendMessage(m);
        my_lat.push_back(MillisSince(t0));
        if (r.ok()) {
          my_ids.push_back(std::move(r->id));
        } else {
          ++failures;
        }
      }
    });
  }
  while (ready.load() < writers) std::this_thread::yield();
  const auto t0 = SteadyClock::now();
  go = true;
  for (auto& th : threads) th.join();
  pass.seconds = MillisSince(t0) / 1000;
  for (auto& v : lat) pass.latency_ms.insert(pass.latency_ms.end(), v.begin(), v.end());
  for (auto& v : ids) pass.acked.insert(pass.acked.end(), v.begin(), v.end());
  pass.failures = failures.load();
  return pass;
}

// Acknowledged ids missing from the channel, read back page by page.
std::int64_t CountLost(agentcore::Store& store, const std::string& channel_id,
                       const std::vector<std::string>& acked) {
  std::unordered_set<std::string> stored;
  agentcore::PageRequest page;
  page.limit = agentcore::kMaxPageSize;
  page.after = "";
  for (;;) {
    auto p = Must(store.ListMessages(channel_id, page), "list messages");
    for (auto& m : p.messages) stored.insert(m.id);
    if (!p.has_more) break;
    page.after = p.messages.back().id;
  }
  std::int64_t lost = 0;
  for (const std::string& id : acked) lost += stored.count(id) == 0 ? 1 : 0;
  return lost;
}

void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Die(std::string("sqlite: ") + (err != nullptr ? err : "?"));
  }
}

// The raw limit: `rows` inserts of the store's message rows into `path` (whose schema and
// channel the store created) with one prepared statement, kRawBatch rows per transaction,
// under the store's pragmas. Ids and JSON are made before the clock starts. Returns rows/s.
double RawInserts(const std::string& path, bool full, bool checkpoints, const Target& target,
                  int rows, std::vector<std::string>* ids_out = nullptr) {
  agentcore::UlidGenerator ulids;
  std::vector<std::string> ids(static_cast<std::size_t>(rows));
  for (auto& id : ids) id = ulids.Next();
  std::string content;
  agentcore::AppendJsonString(Text(0), &content);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    Die("raw open failed");
  }
  Exec(db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000");
  Exec(db, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  // SQLite's default: the committing connection checkpoints once the WAL passes 1000 pages.
  // The store does the same checkpoints on a thread of its own; "off" gives the loop none.
  Exec(db, checkpoints ? "PRAGMA wal_autocheckpoint = 1000" : "PRAGMA wal_autocheckpoint = 0");
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v3(db,
                         "INSERT INTO messages (id, space_id, channel_id, sender, sender_type, "
                         "type, content, timestamp, is_complete, addressed_agents, metadata, "
                         "state) VALUES (?1, ?2, ?3, ?4, 'agent', 'agent_message', ?5, ?6, 1, "
                         "NULL, NULL, NULL)",
                         -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) {
    Die(std::string("raw prepare: ") + sqlite3_errmsg(db));
  }
  const auto t0 = SteadyClock::now();
  for (int i = 0; i < rows; ++i) {
    if (i % kRawBatch == 0) Exec(db, "BEGIN");
    const std::string& id = ids[static_cast<std::size_t>(i)];
    sqlite3_bind_text(st, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, target.space_id.data(), static_cast<int>(target.space_id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 3, target.channel_id.data(), static_cast<int>(target.channel_id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 4, "writer-0", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, content.data(), static_cast<int>(content.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, 1767225600000 + i);
    if (sqlite3_step(st) != SQLITE_DONE) Die(std::string("raw insert: ") + sqlite3_errmsg(db));
    sqlite3_reset(st);
    if (i % kRawBatch == kRawBatch - 1 || i == rows - 1) Exec(db, "COMMIT");
  }
  const double seconds = MillisSince(t0) / 1000;
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (ids_out != nullptr) *ids_out = std::move(ids);
  return rows / seconds;
}

void PrintLine(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int RunAppend(int argc, char** argv, const std::string& base) {
  const int writers = IntArg(argc, argv, "--writers", 64);
  const int messages = IntArg(argc, argv, "--messages", 50000);
  const int repeat = IntArg(argc, argv, "--repeat", 3);
  const std::string sync = Arg(argc, argv, "--sync", "normal");
  if (sync != "normal" && sync != "full") Die("--sync is normal or full");
  const bool full = sync == "full";
  const std::string raw_checkpoint = Arg(argc, argv, "--raw-checkpoint", "auto");
  if (raw_checkpoint != "auto" && raw_checkpoint != "off") Die("--raw-checkpoint is auto or off");

  std::vector<double> acked_per_s, p50s, p99s, raw_per_s, ratios;
  std::int64_t lost_total = 0;
  for (int pass = 1; pass <= repeat; ++pass) {
    ScratchDir dir(base);
    AppendPass run;
    std::int64_t lost = 0;
    {
      Target t = OpenWithChannel(dir.File("store.db"), full);
      run = AppendFromThreads(*t.store, t.channel_id, writers, messages);
      t.store.reset();  // close, then reopen: acked means durable across a close/open
      agentcore::SqliteStoreOptions o;
      o.path = dir.File("store.db");
      auto reopened = Must(agentcore::OpenSqliteStore(o), "reopen");
      lost = CountLost(*reopened, t.channel_id, run.acked);
    }
    // The same rows through the bare loop, on a fresh file with the same schema and pragmas.
    double raw;
    {
      Target t = OpenWithChannel(dir.File("raw.db"), full);
      t.store.reset();
      raw = RawInserts(dir.File("raw.db"), full, raw_checkpoint == "auto", t, messages);
    }
    const double per_s = static_cast<double>(run.acked.size()) / run.seconds;
    const double p50 = Percentile(run.latency_ms, 0.50);
    const double p99 = Percentile(run.latency_ms, 0.99);
    acked_per_s.push_back(per_s);
    p50s.push_back(p50);
    p99s.push_back(p99);
    raw_per_s.push_back(raw);
    ratios.push_back(per_s / raw);
    lost_total += lost;
    std::string out;
    agentcore::JsonWriter w(&out);
    w.BeginObject()
        .Field("bench", "store_append")
        .Field("backend", "sqlite")
        .Field("pass", pass)
        .Field("writers", writers)
        .Field("messages", messages)
        .Field("synchronous", sync)
        .Key("seconds")
        .Number(run.seconds)
        .Key("ackedPerSec")
        .Number(per_s)
        .Key("p50Ms")
        .Number(p50)
        .Key("p99Ms")
        .Number(p99)
        .Key("rawLimitPerSec")
        .Number(raw)
        .Key("ratio")
        .Number(per_s / raw)
        .Field("failed", run.failures)
        .Field("lost", lost)
        .EndObject();
    PrintLine(out);
  }
  std::string out;
  agentcore::JsonWriter w(&out);
  w.BeginObject()
      .Field("summary", true)
      .Field("backend", "sqlite")
      .Field("writers", writers)
      .Key("ackedPerSec")
      .Number(Median(acked_per_s))
      .Key("p50Ms")
      .Number(Median(p50s))
      .Key("p99Ms")
      .Number(Median(p99s))
      .Key("rawLimitPerSec")
      .Number(Median(raw_per_s))
      .Key("ratio")
      .Number(Median(ratios))
      .Field("synchronous", sync)
      .Field("rawCheckpoint", raw_checkpoint)
      .Field("lost", lost_total)
      .EndObject();
  PrintLine(out);
  return lost_total == 0 ? 0 : 1;
}

int RunPageRead(int argc, char** argv, const std::string& base) {
  const int rows = IntArg(argc, argv, "--rows", 1000000);
  const int reads = IntArg(argc, argv, "--reads", 10000);
  constexpr std::size_t kPage = 50;
  ScratchDir dir(base);
  const std::string path = dir.File("pages.db");
  Target t = OpenWithChannel(path, false);
  t.store.reset();
  std::vector<std::string> ids;
  const auto fill0 = SteadyClock::now();
  const double raw = RawInserts(path, false, true, t, rows, &ids);
  const double fill_s = MillisSince(fill0) / 1000;

  agentcore::SqliteStoreOptions o;
  o.path = path;
  auto store = Must(agentcore::OpenSqliteStore(o), "open");
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::size_t> pick(0, ids.size() - 1);
  auto read_one = [&](int kind, std::vector<double>* lat) {
    agentcore::PageRequest page;
    page.limit = kPage;
    if (kind == 0) page.before = ids[pick(rng)];
    if (kind == 1) page.after = ids[pick(rng)];
    const auto t0 = SteadyClock::now();
    auto p = Must(store->ListMessages(t.channel_id, page), "page read");
    if (lat != nullptr) lat->push_back(MillisSince(t0));
    if (p.messages.empty()) Die("empty page");
  };
  for (int i = 0; i < 200; ++i) read_one(i % 3, nullptr);  // warm the statement caches
  std::vector<double> all, by_kind[3];
  for (int i = 0; i < reads; ++i) {
    const int kind = i % 3;  // before a random id, after a random id, the newest page
    std::vector<double> one;
    read_one(kind, &one);
    all.push_back(one[0]);
    by_kind[kind].push_back(one[0]);
  }
  std::string out;
  agentcore::JsonWriter w(&out);
  w.BeginObject()
      .Field("summary", true)
      .Field("bench", "store_page_read")
      .Field("backend", "sqlite")
      .Field("rows", rows)
      .Field("pageSize", static_cast<std::int64_t>(kPage))
      .Field("reads", reads)
      .Key("fillSeconds")
      .Number(fill_s)
      .Key("fillRowsPerSec")
      .Number(raw)
      .Key("p50Ms")
      .Number(Percentile(all, 0.50))
      .Key("p99Ms")
      .Number(Percentile(all, 0.99))
      .Key("maxMs")
      .Number(Percentile(all, 1.0))
      .Key("p99BeforeMs")
      .Number(Percentile(by_kind[0], 0.99))
      .Key("p99AfterMs")
      .Number(Percentile(by_kind[1], 0.99))
      .Key("p99NewestMs")
      .Number(Percentile(by_kind[2], 0.99))
      .EndObject();
  PrintLine(out);
  return 0;
}

}  // namespace

int RunStoreBench(int argc, char** argv) {
  const std::string backend = Arg(argc, argv, "--backend", "sqlite");
#ifdef AGENTCORE_BENCH_POSTGRES
  if (backend == "postgres") return RunPostgresStoreBench(argc, argv);
#endif
  if (backend != "sqlite") Die("--backend " + backend + " is not built into this bench");
  const char* tmp = ::getenv("TMPDIR");
  const std::string base = Arg(argc, argv, "--dir", tmp != nullptr && *tmp ? tmp : "/tmp");
  if (Flag(argc, argv, "--page-read")) return RunPageRead(argc, argv, base);
  return RunAppend(argc, argv, base);
}
