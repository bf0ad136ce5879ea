// SPDX-License-Identifier: Apache-2.0
// agentcore-bench store --backend postgres [--url URL] [--writers N] [--messages M]
//                       [--repeat R] [--raw-seconds S]
//
// N threads append ~1 KB messages to one channel through the PostgreSQL store (pipelined group
// commit, message_writer.hpp); each pass prints acknowledged appends per second and the p50/p99
// ack latency, then, in the same pass and on the same server, the pgbench-style reference: N
// connections each running single-row INSERT transactions (autocommit, one prepared statement)
// of the same rows for S seconds:
//
//  * rawLimitPerSec: into a copy of the messages table (same columns and indexes, no change-feed
//    trigger), i.e. what the server commits when every message is its own transaction;
//  * rawWithFeedPerSec: into the store's own messages table, whose trigger feeds the change
//    feed: until migration 0011 a NOTIFY, which serializes commits (why the store batches);
//    since, a change_log row per message (docs/storage-postgres.md, "Change feed"). The
//    wake-up NOTIFY the store sends afterwards is not in this figure (the raw connections are
//    not the store).
//
// clientCpuUsPerMsg is this process's CPU time per acknowledged append (the 64 callers, the
// writer and listener threads; the server's CPU is not in it). After the pass the store is
// closed, reopened, and every acknowledged id read back ("lost" must be 0). Each pass works in a schema of its own, dropped afterwards. The server comes from
// --url or AGENTCORE_BENCH_PG_URL; benchmarks/store_bench_pg.sh starts a private one. The last
// line is the summary (medians).
#include <libpq-fe.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <agentcore/json_writer.hpp>
#include <agentcore/store/store.hpp>
#include <agentcore/ulid.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bench_main.hpp"
#include "bench_util.hpp"

namespace {

using SteadyClock = std::chrono::steady_clock;
using agentcore::bench::Arg;
using agentcore::bench::Median;
using agentcore::bench::MillisSince;

constexpr std::size_t kContentChars = 1000;  // ~1 KB of JSON per message

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "store bench (postgres): %s\n", what.c_str());
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

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string Text(std::size_t n) {
  std::string text = "benchmark message ";
  while (text.size() < kContentChars) text += "lorem ipsum dolor sit amet ";
  text.resize(kContentChars);
  text += std::to_string(n);
  return text;
}

// --- libpq helpers for the schema and the reference loop

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;

Conn Connect(const std::string& url) {
  Conn c(PQconnectdb(url.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) Die(std::string("connect: ") + PQerrorMessage(c.get()));
  PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
  return c;
}

void Exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  const std::string err = PQresultErrorMessage(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Die(sql + ": " + err);
}

std::string PercentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// `url` with search_path set to `schema`, as a postgresql:// URL (what OpenStore takes).
std::string UrlWithSchema(const std::string& url, const std::string& schema) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (opts == nullptr) Die(std::string("the url does not parse: ") + (err != nullptr ? err : ""));
  std::string db = "postgres";
  std::string out;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    const std::string_view k = o->keyword;
    if (o->val == nullptr || *o->val == '\0' || k == "options") continue;
    if (k == "dbname") {
      db = o->val;
      continue;
    }
    out += '&';
    out += k;
    out += '=';
    out += PercentEncode(o->val);
  }
  PQconninfoFree(opts);
  return "postgresql:///" + PercentEncode(db) + "?options=" +
         PercentEncode("-c search_path=" + schema) + out;
}

// One pass's schema: created empty, dropped with everything in it.
class Schema {
 public:
  Schema(const std::string& url, int pass)
      : admin_url_(url), name_("bench_" + std::to_string(::getpid()) + "_" + std::to_string(pass)) {
    Conn c = Connect(admin_url_);
    Exec(c.get(), "DROP SCHEMA IF EXISTS " + name_ + " CASCADE; CREATE SCHEMA " + name_);
    url_ = UrlWithSchema(admin_url_, name_);
  }
  ~Schema() {
    Conn c = Connect(admin_url_);
    Exec(c.get(), "DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
  }
  const std::string& url() const { return url_; }

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// --- The store pass

// CPU time of this process (every thread), in milliseconds.
double ProcessCpuMs() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto ms = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3;
  };
  return ms(u.ru_utime) + ms(u.ru_stime);
}

struct AppendPass {
  double seconds = 0;
  double client_cpu_ms = 0;  // this process's CPU while appending
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
  const double cpu0 = ProcessCpuMs();
  const auto t0 = SteadyClock::now();
  go = true;
  for (auto& th : threads) th.join();
  pass.seconds = MillisSince(t0) / 1000;
  pass.client_cpu_ms = ProcessCpuMs() - cpu0;
  for (auto& v : lat) pass.latency_ms.insert(pass.latency_ms.end(), v.begin(), v.end());
  for (auto& v : ids) pass.acked.insert(pass.acked.end(), v.begin(), v.end());
  pass.failures = failures.load();
  return pass;
}

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

// --- The pgbench-style reference

// `connections` connections insert single rows into `table`, each its own transaction, for
// `seconds`; rows committed per second.
double SingleRowInserts(const std::string& url, const std::string& table,
                        const std::string& space_id, const std::string& channel_id,
                        int connections, int seconds) {
  std::string content;
  agentcore::AppendJsonString(Text(0), &content);
  std::vector<Conn> conns;
  for (int i = 0; i < connections; ++i) {
    conns.push_back(Connect(url));
    PGresult* r = PQprepare(conns.back().get(), "ins",
                            ("INSERT INTO " + table +
                             " (id, space_id, channel_id, sender, sender_type, type, content, "
                             "\"timestamp\", is_complete, metadata) "
                             "VALUES ($1, $2, $3, $4, 'agent', 'agent_message', $5::json, "
                             "$6::bigint, true, 'null')")
                                .c_str(),
                            0, nullptr);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) Die(std::string("prepare: ") + PQerrorMessage(conns.back().get()));
  }
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> committed{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] {
      PGconn* c = conns[static_cast<std::size_t>(i)].get();
      agentcore::UlidGenerator ids;
      const std::string sender = "writer-" + std::to_string(i);
      std::int64_t n = 0;
      ++ready;
      while (!go.load()) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string id = ids.Next();
        const std::string ts = std::to_string(1767225600000 + n);
        const char* values[] = {id.c_str(), space_id.c_str(), channel_id.c_str(),
                                sender.c_str(), content.c_str(), ts.c_str()};
        PGresult* r = PQexecPrepared(c, "ins", 6, values, nullptr, nullptr, 0);
        const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) Die(std::string("reference insert: ") + PQerrorMessage(c));
        ++n;
      }
      committed += n;
    });
  }
  while (ready.load() < connections) std::this_thread::yield();
  const auto t0 = SteadyClock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  return static_cast<double>(committed.load()) / (MillisSince(t0) / 1000);
}

void PrintLine(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int RunPostgresStoreBench(int argc, char** argv) {
  std::string url = Arg(argc, argv, "--url", "");
  if (url.empty()) {
    const char* env = ::getenv("AGENTCORE_BENCH_PG_URL");
    if (env != nullptr) url = env;
  }
  if (url.empty()) {
    Die("no server: pass --url or set AGENTCORE_BENCH_PG_URL, or run "
        "benchmarks/store_bench_pg.sh, which starts a private one");
  }
  const int writers = IntArg(argc, argv, "--writers", 64);
  const int messages = IntArg(argc, argv, "--messages", 100000);
  const int repeat = IntArg(argc, argv, "--repeat", 3);
  const int raw_seconds = IntArg(argc, argv, "--raw-seconds", 5);

  std::vector<double> acked_per_s, p50s, p99s, raw_per_s, feed_per_s;
  std::int64_t lost_total = 0;
  int failed_total = 0;
  for (int pass = 1; pass <= repeat; ++pass) {
    Schema schema(url, pass);
    agentcore::PostgresStoreOptions o;
    o.url = schema.url();
    AppendPass run;
    std::int64_t lost = 0;
    std::string space_id = "bench";
    std::string channel_id;
    {
      auto store = Must(agentcore::OpenPostgresStore(o), "open");
      agentcore::Space s;
      s.id = space_id;
      Must(store->EnsureSpace(s), "ensure space");
      agentcore::NewChannel c;
      c.space_id = space_id;
      c.name = "bench";
      channel_id = Must(store->CreateChannel(c), "create channel").id;
      run = AppendFromThreads(*store, channel_id, writers, messages);
      store.reset();  // close, then reopen: acknowledged means committed, whatever the process
      auto reopened = Must(agentcore::OpenPostgresStore(o), "reopen");
      lost = CountLost(*reopened, channel_id, run.acked);
    }
    double raw = 0;
    double with_feed = 0;
    {
      Conn c = Connect(schema.url());
      Exec(c.get(), "CREATE TABLE raw_messages (LIKE messages INCLUDING ALL)");
      raw = SingleRowInserts(schema.url(), "raw_messages", space_id, channel_id, writers,
                             raw_seconds);
      with_feed = SingleRowInserts(schema.url(), "messages", space_id, channel_id, writers,
                                   raw_seconds);
    }
    const double per_s = static_cast<double>(run.acked.size()) / run.seconds;
    const double p50 = Percentile(run.latency_ms, 0.50);
    const double p99 = Percentile(run.latency_ms, 0.99);
    acked_per_s.push_back(per_s);
    p50s.push_back(p50);
    p99s.push_back(p99);
    raw_per_s.push_back(raw);
    feed_per_s.push_back(with_feed);
    lost_total += lost;
    failed_total += run.failures;
    std::string out;
    agentcore::JsonWriter w(&out);
    w.BeginObject()
        .Field("bench", "store_append")
        .Field("backend", "postgres")
        .Field("pass", pass)
        .Field("writers", writers)
        .Field("messages", messages)
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
        .Key("rawWithFeedPerSec")
        .Number(with_feed)
        .Key("ratio")
        .Number(per_s / raw)
        .Key("clientCpuUsPerMsg")
        .Number(run.client_cpu_ms * 1000 / static_cast<double>(std::max<std::size_t>(run.acked.size(), 1)))
        .Field("failed", run.failures)
        .Field("lost", lost)
        .EndObject();
    PrintLine(out);
  }
  std::string out;
  agentcore::JsonWriter w(&out);
  w.BeginObject()
      .Field("summary", true)
      .Field("backend", "postgres")
      .Field("writers", writers)
      .Key("ackedPerSec")
      .Number(Median(acked_per_s))
      .Key("p50Ms")
      .Number(Median(p50s))
      .Key("p99Ms")
      .Number(Median(p99s))
      .Key("rawLimitPerSec")
      .Number(Median(raw_per_s))
      .Key("rawWithFeedPerSec")
      .Number(Median(feed_per_s))
      .Key("ratio")
      .Number(Median(acked_per_s) / Median(raw_per_s))
      .Field("failed", failed_total)
      .Field("lost", lost_total)
      .EndObject();
  PrintLine(out);
  return lost_total == 0 && failed_total == 0 ? 0 : 1;
}
