// SPDX-License-Identifier: Apache-2.0
// agentcore-runs-bench: issue 15's run benchmarks against a running agentcore-server on
// loopback (benchmarks/runs.sh starts one). Every line it prints is JSON: one line per pass,
// then one summary line per case with the median over the passes.
//
//   agentcore-runs-bench --case throughput --port P --key K [--concurrency 1,8,64] [--runs 128]
//   agentcore-runs-bench --case sse_fanout --port P --key K [--clients 1000] [--clauses 200]
//   agentcore-runs-bench --case overhead   --port P --key K --builder PATH [--runs 20]
// common: [--passes 3] [--prefix TEXT: project ids, unique per invocation]
//
// Method.
// * Every run is created with `POST /v1/projects/:p/runs` and `"stream": true`, so the create
//   request's response IS the run's SSE stream (what a client sees): create -> first event is
//   the time from writing the request to parsing the first event (`queued`), create -> done the
//   time to the `done` event. A run ending in `error` counts as failed.
// * throughput: C projects (fresh per pass), one client thread per project running its runs
//   one after another (one run at a time per project is the service's rule). The first run of
//   each project spawns its builder process ("cold", reported alone); after a barrier the
//   thread runs runs/C more ("warm"); runs/s = warm runs / wall time of the warm part.
// * sse_fanout: a project is warmed up (one run), a blocker run (`sleep 1500`) is queued, then
//   the measured run (N clauses `create f<i>.txt with x` and a `run seq 1 100`) is queued
//   behind it; the clients (one epoll loop, plain sockets) connect to its stream and read its
//   history (`queued`) before it starts. Run events carry no server timestamp, so each live
//   event's latency at a client is its arrival there minus its arrival at the FIRST client that
//   got it (the spread of delivery); p50/p99/max over every (event, client). Every client must
//   see seq 1..done exactly once: missed and duplicated events are counted, and so are clients
//   whose history arrived after the run started (lateClients: they would measure catch-up).
//   The readers are benchmarks/sse_reader.hpp (strict chunked decoding: a bad body fails it).
// * overhead: the same builder-agent binary and prompt, two ways, both sequential (C = 1):
//   - agentcore: a real run on the server, create -> done;
//   - alone: this program is a "null server" on 127.0.0.1 speaking the builder's protocol
//     (docs/runs.md): POST /agents/checkin and /agents/heartbeat answered as spec cast §5.4/5.5
//     say, GET /agents/task answering the current task (the same JSON fields the server sends,
//     the project's conversation growing with each succeeded run as the server's does) or 204,
//     POST /tymbal/<channel>/stream de-chunked and parsed with the library's Tymbal parser
//     (every frame; the plan frame kept for the build task; the run_result frame ends the
//     phase), answered with the server's summary object; the doorbell is a real POST /message
//     to the agent's endpoint with its token. The body is parsed when the upload completes
//     (the server parses as lines arrive); the agent closes the upload right after run_result,
//     so the difference is one loopback round trip at most. Nothing is stored.
//   Warm: the builder already running (one warm-up run each way), timed from ringing the
//   doorbell (alone) / sending create (agentcore) to the build's run_result (alone) / `done`
//   (agentcore). Cold: alone spawns builder-agent per run (posix_spawn, timed from the spawn to
//   run_result, the agent stopped afterwards, untimed); agentcore creates a fresh project per
//   run (its builder spawned by the local runtime). overhead = median(agentcore) -
//   median(alone); the target is <= 2 ms per run. Where the time goes: an `overhead_stages`
//   line per pass holds, for the warm runs, the median first arrival of each event label after
//   create (agentcore) and of each null-server stage after the doorbell (alone: task:plan,
//   result:plan, task:build, result:build).

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>
#include <agentcore/tymbal/parser.hpp>

#include "bench_util.hpp"
#include "sse_reader.hpp"
#include "support/http_listener.hpp"

extern char** environ;

namespace {

using agentcore::Json;
using agentcore::bench::Arg;
using agentcore::bench::Flag;
using agentcore::bench::Median;
using agentcore::bench::ChunkedDecoder;
using agentcore::bench::SseEvent;
using agentcore::bench::SseParser;
using Clock = std::chrono::steady_clock;

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "agentcore-runs-bench: %s\n", message.c_str());
  std::fflush(stdout);
  std::_Exit(1);
}

double Pct(std::vector<double> v, double q) {  // sorted[round(q * (n - 1))]
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

double R3(double x) { return static_cast<double>(static_cast<long long>(x * 1000 + 0.5)) / 1000; }

void Print(const Json& line) {
  std::printf("%s\n", agentcore::ToJson(line).c_str());
  std::fflush(stdout);
}

// --- API client -----------------------------------------------------------------------------

struct Api {
  int port = 0;
  std::string key;
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
  }
};

void CreateProject(agentcore::HttpClient& client, const Api& api, const std::string& id) {
  agentcore::HttpRequest req;
  req.method = "POST";
  req.url = api.Url("/v1/projects");
  req.headers = {{"X-Agent-Api-Key", api.key}, {"Content-Type", "application/json"}};
  req.body = "{\"id\":\"" + id + "\"}";
  req.timeout = std::chrono::milliseconds(10'000);
  auto r = client.Send(req);
  if (!r.ok()) Die("create project " + id + ": " + r.status().ToString());
  if (r->status != 201 && r->status != 200) {
    Die("create project " + id + " answered " + std::to_string(r->status) + " " + r->body);
  }
}

/// Creates a run (Idempotency-Key = key) without following it; returns its id.
std::string QueueRun(agentcore::HttpClient& client, const Api& api, const std::string& project,
                     const std::string& key, const std::string& prompt) {
  agentcore::HttpRequest req;
  req.method = "POST";
  req.url = api.Url("/v1/projects/" + project + "/runs");
  req.headers = {{"X-Agent-Api-Key", api.key},
                 {"Content-Type", "application/json"},
                 {"Idempotency-Key", key}};
  req.body = agentcore::ToJson(Json(agentcore::JsonObject{{"prompt", Json(prompt)}}));
  req.timeout = std::chrono::milliseconds(10'000);
  auto r = client.Send(req);
  if (!r.ok()) Die("create run: " + r.status().ToString());
  if (r->status != 202) Die("create run answered " + std::to_string(r->status) + " " + r->body);
  auto v = agentcore::ParseJson(r->body);
  const std::string* id = v.ok() ? v->FindString("id") : nullptr;
  if (id == nullptr) Die("create run: no id in " + r->body);
  return *id;
}

struct RunTiming {
  double first_event_ms = 0;
  double done_ms = 0;
  bool ok = false;
  long events = 0;
  /// Each event's label (`type`, or `status:<status>`) and arrival after create, in order.
  std::vector<std::pair<std::string, double>> trace;
};

std::string Label(const SseEvent& e) {
  if (e.type != "status") return e.type;
  const std::size_t at = e.data.find("\"status\":\"");
  if (at == std::string::npos) return e.type;
  const std::size_t from = at + 10;
  return "status:" + e.data.substr(from, e.data.find('"', from) - from);
}

/// Creates a run with "stream": true and reads its event stream to the end.
RunTiming StreamRun(agentcore::HttpClient& client, const Api& api, const std::string& project,
                    const std::string& key, const std::string& prompt) {
  agentcore::HttpRequest req;
  req.method = "POST";
  req.url = api.Url("/v1/projects/" + project + "/runs");
  req.headers = {{"X-Agent-Api-Key", api.key},
                 {"Content-Type", "application/json"},
                 {"Accept", "text/event-stream"},
                 {"Idempotency-Key", key}};
  req.body = agentcore::ToJson(
      Json(agentcore::JsonObject{{"prompt", Json(prompt)}, {"stream", Json(true)}}));
  req.timeout = std::chrono::milliseconds(120'000);
  RunTiming t;
  SseParser sse;
  bool finished = false;
  const auto t0 = Clock::now();
  auto r = client.SendWithBodyCallback(req, [&](std::string_view chunk) {
    sse.Feed(chunk, [&](const SseEvent& e) {
      const auto now = Clock::now();
      if (t.events++ == 0) t.first_event_ms = MsBetween(t0, now);
      t.trace.emplace_back(Label(e), MsBetween(t0, now));
      if (e.type == "done" || e.type == "error") {
        t.done_ms = MsBetween(t0, now);
        t.ok = e.type == "done" && e.data.find("\"status\":\"succeeded\"") != std::string::npos;
        finished = true;
      }
    });
    return !finished;
  });
  if (!r.ok()) Die("run stream: " + r.status().ToString());
  if (r->status != 200) Die("run stream answered " + std::to_string(r->status));
  if (!finished) Die("run stream ended without done/error");
  return t;
}

// --- throughput -----------------------------------------------------------------------------

int RunThroughput(const Api& api, int argc, char** argv) {
  const int passes = std::atoi(Arg(argc, argv, "--passes", "3").c_str());
  const long total = std::atol(Arg(argc, argv, "--runs", "128").c_str());
  const std::string prefix = Arg(argc, argv, "--prefix", "b");
  std::vector<int> concurrency;
  {
    std::stringstream ss(Arg(argc, argv, "--concurrency", "1,8,64"));
    std::string item;
    while (std::getline(ss, item, ',')) concurrency.push_back(std::atoi(item.c_str()));
  }
  for (int c : concurrency) {
    if (c <= 0) Die("bad --concurrency");
    const long per = std::max<long>(2, total / c);
    std::vector<double> rps, fe50, fe99, dn50, dn99, cold50, cold99;
    long failed_all = 0;
    for (int pass = 0; pass < passes; ++pass) {
      std::vector<std::string> projects;
      auto setup = agentcore::NewHttpClient();
      for (int j = 0; j < c; ++j) {
        projects.push_back(prefix + "-tp" + std::to_string(c) + "-" + std::to_string(pass) + "-" +
                           std::to_string(j));
        CreateProject(*setup, api, projects.back());
      }
      std::mutex mu;
      std::vector<double> first, done, cold_done;
      long failed = 0;
      std::barrier sync(c + 1);
      std::vector<std::thread> threads;
      for (int j = 0; j < c; ++j) {
        threads.emplace_back([&, j] {
          auto client = agentcore::NewHttpClient();
          const std::string& p = projects[static_cast<std::size_t>(j)];
          RunTiming cold = StreamRun(*client, api, p, p + "-cold", "create f0.txt with x");
          {
            std::lock_guard lock(mu);
            cold_done.push_back(cold.done_ms);
            if (!cold.ok) ++failed;
          }
          sync.arrive_and_wait();  // every builder spawned
          sync.arrive_and_wait();  // start together
          for (long i = 1; i <= per; ++i) {
            RunTiming t = StreamRun(*client, api, p, p + "-" + std::to_string(i),
                                    "create f" + std::to_string(i) + ".txt with x");
            std::lock_guard lock(mu);
            first.push_back(t.first_event_ms);
            done.push_back(t.done_ms);
            if (!t.ok) ++failed;
          }
        });
      }
      sync.arrive_and_wait();
      const auto t0 = Clock::now();
      sync.arrive_and_wait();
      for (auto& t : threads) t.join();
      const double wall_s = MsBetween(t0, Clock::now()) / 1000;
      const double runs_s = static_cast<double>(done.size()) / wall_s;
      failed_all += failed;
      rps.push_back(runs_s);
      fe50.push_back(Pct(first, 0.5));
      fe99.push_back(Pct(first, 0.99));
      dn50.push_back(Pct(done, 0.5));
      dn99.push_back(Pct(done, 0.99));
      cold50.push_back(Pct(cold_done, 0.5));
      cold99.push_back(Pct(cold_done, 0.99));
      Print(Json(agentcore::JsonObject{
          {"case", Json("throughput")}, {"pass", Json(pass)}, {"concurrency", Json(c)},
          {"warmRuns", Json(static_cast<double>(done.size()))}, {"runsPerSec", Json(R3(runs_s))},
          {"firstEventP50Ms", Json(R3(fe50.back()))}, {"firstEventP99Ms", Json(R3(fe99.back()))},
          {"doneP50Ms", Json(R3(dn50.back()))}, {"doneP99Ms", Json(R3(dn99.back()))},
          {"coldDoneP50Ms", Json(R3(cold50.back()))}, {"coldDoneP99Ms", Json(R3(cold99.back()))},
          {"failed", Json(failed)}}));
    }
    Print(Json(agentcore::JsonObject{
        {"case", Json("throughput")}, {"summary", Json(true)}, {"concurrency", Json(c)},
        {"passes", Json(passes)}, {"runsPerSec", Json(R3(Median(rps)))},
        {"firstEventP50Ms", Json(R3(Median(fe50)))}, {"firstEventP99Ms", Json(R3(Median(fe99)))},
        {"doneP50Ms", Json(R3(Median(dn50)))}, {"doneP99Ms", Json(R3(Median(dn99)))},
        {"coldDoneP50Ms", Json(R3(Median(cold50)))}, {"coldDoneP99Ms", Json(R3(Median(cold99)))},
        {"follow", Json("sse (create with stream:true)")}, {"failed", Json(failed_all)}}));
  }
  return 0;
}

// --- sse_fanout -----------------------------------------------------------------------------

/// One SSE client on a plain non-blocking socket, driven by the fan-out's epoll loop.
struct FanClient {
  int fd = -1;
  std::string in;  // bytes before the body (response head)
  bool head_done = false;
  bool chunked = false;
  ChunkedDecoder chunks;
  SseParser sse;
  std::vector<std::pair<long, Clock::time_point>> got;  // (seq, arrival)
  bool done = false;
  bool failed = false;
};

/// Feeds body bytes (de-chunked when the response is chunked) to the client's SSE parser.
void FeedBody(FanClient& c, std::string_view bytes, Clock::time_point now) {
  auto deliver = [&](std::string_view data) {
    c.sse.Feed(data, [&](const SseEvent& e) {
      c.got.emplace_back(e.seq, now);
      if (e.type == "done" || e.type == "error") c.done = true;
    });
  };
  if (!c.chunked) return deliver(bytes);
  c.chunks.Feed(bytes, deliver);
  if (c.chunks.failed()) c.failed = true;
  if (c.chunks.done()) c.done = true;
}

int ConnectNonBlocking(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) Die(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    Die(std::string("connect: ") + std::strerror(errno));
  }
  return fd;
}

void RaiseFileLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

int RunSseFanout(const Api& api, int argc, char** argv) {
  const int passes = std::atoi(Arg(argc, argv, "--passes", "3").c_str());
  const int nclients = std::atoi(Arg(argc, argv, "--clients", "1000").c_str());
  const int clauses = std::atoi(Arg(argc, argv, "--clauses", "200").c_str());
  const std::string prefix = Arg(argc, argv, "--prefix", "b");
  RaiseFileLimit();
  std::string prompt;
  for (int i = 0; i < clauses; ++i) prompt += "create f" + std::to_string(i) + ".txt with x\n";
  prompt += "run seq 1 100";
  std::vector<double> p50s, p99s, maxs;
  long missed_all = 0, dup_all = 0, failed_all = 0, late_all = 0;
  for (int pass = 0; pass < passes; ++pass) {
    auto client = agentcore::NewHttpClient();
    const std::string project = prefix + "-fan-" + std::to_string(pass);
    CreateProject(*client, api, project);
    (void)StreamRun(*client, api, project, project + "-warm", "create w.txt with x");
    (void)QueueRun(*client, api, project, project + "-blocker", "sleep 1500");
    const std::string run = QueueRun(*client, api, project, project + "-fan", prompt);
    const std::string request = "GET /v1/projects/" + project + "/runs/" + run +
                                "/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Agent-Api-Key: " +
                                api.key + "\r\nAccept: text/event-stream\r\n\r\n";
    std::vector<FanClient> clients(static_cast<std::size_t>(nclients));
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    for (std::size_t i = 0; i < clients.size(); ++i) {
      clients[i].fd = ConnectNonBlocking(api.port);
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.u64 = i;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, clients[i].fd, &ev);
    }
    std::vector<bool> sent(clients.size(), false);
    std::size_t open = clients.size();
    bool warned = false;
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    std::vector<epoll_event> events(256);
    char buf[65536];
    while (open > 0 && Clock::now() < deadline) {
      int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
      const auto now = Clock::now();
      for (int k = 0; k < n; ++k) {
        FanClient& c = clients[events[static_cast<std::size_t>(k)].data.u64];
        const std::size_t idx = events[static_cast<std::size_t>(k)].data.u64;
        if (!sent[idx]) {
          if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
              static_cast<ssize_t>(request.size())) {
            c.failed = true;
          }
          sent[idx] = true;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = idx;
          ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
          if (c.failed) {
            ::close(c.fd);
            --open;
          }
          continue;
        }
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r <= 0) {
          if (r < 0 && errno == EAGAIN) continue;
          if (!c.done) c.failed = true;
          ::close(c.fd);
          --open;
          continue;
        }
        std::string_view bytes(buf, static_cast<std::size_t>(r));
        if (!c.head_done) {
          c.in.append(bytes);
          std::size_t end = c.in.find("\r\n\r\n");
          if (end == std::string::npos) continue;
          c.head_done = true;
          if (c.in.rfind("HTTP/1.1 200", 0) != 0) {
            if (!warned) std::fprintf(stderr, "fanout: %s\n", c.in.substr(0, 200).c_str());
            warned = true;
            c.failed = true;
            ::close(c.fd);
            --open;
            continue;
          }
          std::string head = c.in.substr(0, end);
          std::transform(head.begin(), head.end(), head.begin(), ::tolower);
          c.chunked = head.find("transfer-encoding: chunked") != std::string::npos;
          std::string rest = c.in.substr(end + 4);
          FeedBody(c, rest, now);
        } else {
          FeedBody(c, bytes, now);
        }
        if (c.done || c.failed) {
          ::close(c.fd);
          --open;
        }
      }
    }
    ::close(ep);
    // Reference: the first arrival of each seq over all clients.
    std::map<long, Clock::time_point> first;
    long last_seq = 0;
    for (const auto& c : clients) {
      for (const auto& [seq, at] : c.got) {
        auto it = first.find(seq);
        if (it == first.end() || at < it->second) first[seq] = at;
        last_seq = std::max(last_seq, seq);
      }
    }
    std::vector<double> lat;
    long missed = 0, dup = 0, failed = 0, late = 0;
    const auto live_from = first.count(2) != 0 ? first[2] : Clock::time_point::max();
    for (const auto& c : clients) {
      if (c.failed || !c.done) ++failed;
      // A client whose history came after the run had started measured catch-up, not fan-out.
      if (!c.got.empty() && c.got.front().second > live_from) ++late;
      std::vector<int> seen(static_cast<std::size_t>(last_seq + 1), 0);
      for (const auto& [seq, at] : c.got) {
        if (seq < 1 || seq > last_seq) continue;
        if (++seen[static_cast<std::size_t>(seq)] > 1) ++dup;
        if (seq >= 2) lat.push_back(MsBetween(first[seq], at));
      }
      for (long s = 1; s <= last_seq; ++s) {
        if (seen[static_cast<std::size_t>(s)] == 0) ++missed;
      }
    }
    p50s.push_back(Pct(lat, 0.5));
    p99s.push_back(Pct(lat, 0.99));
    maxs.push_back(lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()));
    missed_all += missed;
    dup_all += dup;
    failed_all += failed;
    late_all += late;
    Print(Json(agentcore::JsonObject{
        {"case", Json("sse_fanout")}, {"pass", Json(pass)}, {"clients", Json(nclients)},
        {"events", Json(last_seq)}, {"p50Ms", Json(R3(p50s.back()))},
        {"p99Ms", Json(R3(p99s.back()))}, {"maxMs", Json(R3(maxs.back()))},
        {"missed", Json(missed)}, {"duplicated", Json(dup)}, {"failedClients", Json(failed)},
        {"lateClients", Json(late)}}));
  }
  Print(Json(agentcore::JsonObject{
      {"case", Json("sse_fanout")}, {"summary", Json(true)}, {"clients", Json(nclients)},
      {"passes", Json(passes)}, {"p50Ms", Json(R3(Median(p50s)))},
      {"p99Ms", Json(R3(Median(p99s)))}, {"maxMs", Json(R3(Median(maxs)))},
      {"reference", Json("first client's arrival of the same event")},
      {"missed", Json(missed_all)}, {"duplicated", Json(dup_all)},
      {"failedClients", Json(failed_all)}, {"lateClients", Json(late_all)}}));
  return 0;
}

// --- overhead: the null server --------------------------------------------------------------

/// Serves the builder's side of the hub (see the header comment) for one agent.
class NullServer {
 public:
  NullServer(std::string workspace, std::string token)
      : workspace_(std::move(workspace)), token_(std::move(token)) {}

  void Start() {
    using example_http::HttpReply;
    using example_http::HttpRequest;
    std::vector<example_http::HttpRoute> routes;
    routes.push_back({"POST", "/agents/checkin", [this](const HttpRequest& r) { return Checkin(r); }});
    routes.push_back({"POST", "/agents/heartbeat", [](const HttpRequest& r) -> HttpReply {
                        auto v = agentcore::ParseJson(r.body);
                        if (!v.ok()) return {400, R"({"error":"Invalid JSON body"})"};
                        if (v->FindString("agentId") == nullptr) {
                          return {400, R"({"error":"agentId is required"})"};
                        }
                        return {200, R"({"ok":true,"timestamp":"2026-12-07T00:00:00.000Z"})"};
                      }});
    routes.push_back({"GET", "/agents/task", [this](const HttpRequest& r) { return Task(r); }});
    routes.push_back({"POST", "/tymbal/" + std::string(kChannel) + "/stream",
                      [this](const HttpRequest& r) { return Stream(r); }});
    example_http::HttpListenerOptions o;
    o.max_body_bytes = 64 * 1024 * 1024;
    auto l = example_http::HttpListener::Start(o, std::move(routes));
    if (!l.ok()) Die("null server: " + l.status().ToString());
    listener_ = std::move(*l);
  }
  ~NullServer() {
    if (listener_) listener_->Stop();
  }

  static constexpr std::string_view kChannel = "nullchannel";
  std::uint16_t port() const { return listener_->port(); }
  std::string agent_id() const { return "platform:" + std::string(kChannel) + ":builder"; }

  /// Sets the run's plan task (call before ringing / spawning).
  void Begin(std::string run_id, std::string prompt) {
    std::lock_guard lock(mu_);
    run_ = std::move(run_id);
    prompt_ = std::move(prompt);
    phase_ = "plan";
    plan_ = Json();
    finished_ = false;
    ok_ = false;
    marks_.clear();
  }

  /// The stages of the last run: (label, time), first occurrence of each label.
  std::vector<std::pair<std::string, Clock::time_point>> Marks() {
    std::lock_guard lock(mu_);
    return marks_;
  }

  /// Waits for the build's run_result; true when ok.
  bool WaitDone(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, limit, [this] { return finished_; })) Die("null server: run timed out");
    return ok_;
  }

  /// Waits for a checkin; returns the agent's endpoint.
  std::string WaitCheckin(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, limit, [this] { return !endpoint_.empty(); })) {
      Die("null server: no checkin");
    }
    return endpoint_;
  }
  void ForgetCheckin() {
    std::lock_guard lock(mu_);
    endpoint_.clear();
  }

 private:
  bool Authorized(const example_http::HttpRequest& r) const {
    auto a = r.Find("Authorization");
    return a && (*a == "Container " + token_ || *a == "Bearer " + token_);
  }

  example_http::HttpReply Checkin(const example_http::HttpRequest& r) {
    auto v = agentcore::ParseJson(r.body);
    if (!v.ok() || !v->is_object()) return {400, R"({"error":"Invalid JSON body"})"};
    const std::string* pv = v->FindString("protocolVersion");
    if (pv == nullptr || *pv != "3.0") {
      return {400, R"({"error":"Unsupported protocol version. Expected \"3.0\""})"};
    }
    const std::string* id = v->FindString("agentId");
    const std::string* ep = v->FindString("endpoint");
    if (id == nullptr || ep == nullptr || id->empty() || ep->empty()) {
      return {400, R"({"error":"agentId and endpoint are required"})"};
    }
    if (*id != agent_id()) return {404, R"({"error":"Agent not found in roster"})"};
    {
      std::lock_guard lock(mu_);
      endpoint_ = *ep;
    }
    cv_.notify_all();
    return {200, agentcore::ToJson(Json(agentcore::JsonObject{
                     {"ok", Json(true)}, {"agentId", Json(*id)}, {"delivered", Json(0)}}))};
  }

  example_http::HttpReply Task(const example_http::HttpRequest& r) {
    if (!Authorized(r)) return {401, R"({"error":"Invalid token"})"};
    std::lock_guard lock(mu_);
    if (finished_ || run_.empty()) return {204, ""};
    Mark("task:" + phase_);
    agentcore::JsonArray conv;
    for (const auto& [role, content] : conversation_) {
      conv.push_back(Json(agentcore::JsonObject{{"role", Json(role)}, {"content", Json(content)}}));
    }
    Json task(agentcore::JsonObject{
        {"runId", Json(run_)}, {"phase", Json(phase_)}, {"attempt", Json(1)},
        {"prompt", Json(prompt_)}, {"workspace", Json(workspace_)},
        {"readOnly", Json(phase_ == "plan")}, {"plan", plan_}, {"conversation", Json(conv)},
        {"deadlineMs", Json(600000)}});
    return {200, agentcore::ToJson(task)};
  }

  struct Sink : agentcore::FrameSink {
    std::uint64_t frames = 0, invalid = 0;
    std::vector<agentcore::TymbalFrame> sets;
    void OnFrame(const agentcore::TymbalFrame& f, std::uint64_t) override {
      ++frames;
      if (f.kind == agentcore::FrameKind::kSet) sets.push_back(f);
    }
    void OnInvalidLine(std::uint64_t, std::string_view) override { ++invalid; }
  };

  example_http::HttpReply Stream(const example_http::HttpRequest& r) {
    if (!Authorized(r)) return {401, R"({"error":"Invalid token"})"};
    agentcore::FrameParser parser;
    Sink sink;
    parser.Feed(r.body, sink);
    parser.Finish(sink);
    bool notify = false;
    {
      std::lock_guard lock(mu_);
      for (const auto& f : sink.sets) {
        const std::string* run = f.value.FindString("run");
        const std::string* type = f.value.FindString("type");
        if (run == nullptr || type == nullptr || *run != run_) continue;
        if (*type == "plan") {
          if (const Json* p = f.value.Find("plan")) plan_ = *p;
        } else if (*type == "run_result") {
          const Json* ok = f.value.Find("ok");
          const bool good = ok != nullptr && ok->is_bool() && ok->as_bool();
          Mark("result:" + phase_);
          if (phase_ == "plan" && good && !plan_.is_null()) {
            phase_ = "build";  // the agent asks for its task again right after this answer
          } else {
            ok_ = good && phase_ == "build";
            finished_ = true;
            notify = true;
            if (ok_) {
              const std::string* summary = f.value.FindString("summary");
              conversation_.emplace_back("user", prompt_);
              conversation_.emplace_back("assistant", summary ? *summary : "");
            }
          }
        }
      }
    }
    if (notify) cv_.notify_all();
    return {200, agentcore::ToJson(Json(agentcore::JsonObject{
                     {"ok", Json(sink.invalid == 0)},
                     {"frames", Json(static_cast<double>(sink.frames))},
                     {"persisted", Json(static_cast<double>(sink.frames))},
                     {"invalid", Json(static_cast<double>(sink.invalid))},
                     {"errors", Json(agentcore::JsonArray{})}}))};
  }

  void Mark(const std::string& label) {  // REQUIRES: mu_ held
    for (const auto& m : marks_) {
      if (m.first == label) return;
    }
    marks_.emplace_back(label, Clock::now());
  }

  const std::string workspace_;
  const std::string token_;
  std::vector<std::pair<std::string, Clock::time_point>> marks_;
  std::unique_ptr<example_http::HttpListener> listener_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string endpoint_;
  std::string run_, prompt_, phase_;
  Json plan_;
  bool finished_ = false, ok_ = false;
  std::vector<std::pair<std::string, std::string>> conversation_;
};

pid_t SpawnAgent(const std::string& builder, const NullServer& ns, const std::string& token,
                 const std::string& log) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view s(*e);
    if (s.rfind("CAST_", 0) == 0 || s.rfind("AGENT_API_KEY", 0) == 0) continue;
    env.emplace_back(s);
  }
  env.push_back("CAST_API_URL=http://127.0.0.1:" + std::to_string(ns.port()));
  env.push_back("CAST_AGENT_ID=" + ns.agent_id());
  env.push_back("CAST_AUTH_TOKEN=" + token);
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string arg0 = builder;
  char* args[] = {arg0.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, builder.c_str(), &fa, nullptr, args, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) Die("spawn " + builder + ": " + std::strerror(rc));
  return pid;
}

void StopAgent(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
}

void Ring(agentcore::HttpClient& client, const std::string& endpoint, const std::string& token) {
  agentcore::HttpRequest req;
  req.method = "POST";
  req.url = endpoint + "/message";
  req.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  req.body = R"({"content":"run","sender":"hub"})";
  req.timeout = std::chrono::milliseconds(10'000);
  auto r = client.Send(req);
  if (!r.ok() || r->status != 202) Die("doorbell failed");
}

int RunOverhead(const Api& api, int argc, char** argv) {
  const int passes = std::atoi(Arg(argc, argv, "--passes", "3").c_str());
  const int runs = std::atoi(Arg(argc, argv, "--runs", "20").c_str());
  const std::string builder = Arg(argc, argv, "--builder", "");
  const std::string prefix = Arg(argc, argv, "--prefix", "b");
  if (builder.empty()) Die("--builder PATH is required");
  const std::string prompt = "create f.txt with x";
  std::vector<double> warm_core, warm_alone, cold_core, cold_alone;
  const std::string token = "nulltoken-" + std::to_string(::getpid());
  for (int pass = 0; pass < passes; ++pass) {
    const std::string tmp =
        (std::filesystem::temp_directory_path() /
         ("agentcore-runs-bench-" + std::to_string(::getpid()) + "-" + std::to_string(pass)))
            .string();
    std::filesystem::create_directories(tmp + "/ws");
    const std::string log = tmp + "/agent.log";
    auto client = agentcore::NewHttpClient();
    // Warm, alone.
    std::vector<double> wa;
    std::map<std::string, std::vector<double>> alone_stages;
    {
      NullServer ns(tmp + "/ws", token);
      ns.Start();
      ns.Begin("warmup", prompt);
      pid_t pid = SpawnAgent(builder, ns, token, log);
      ns.WaitCheckin(std::chrono::seconds(30));
      if (!ns.WaitDone(std::chrono::seconds(60))) Die("null server: warm-up run failed");
      const std::string endpoint = ns.WaitCheckin(std::chrono::seconds(1));
      for (int i = 0; i < runs; ++i) {
        ns.Begin("run-" + std::to_string(i), prompt);
        const auto t0 = Clock::now();
        Ring(*client, endpoint, token);
        if (!ns.WaitDone(std::chrono::seconds(60))) Die("null server: run failed");
        wa.push_back(MsBetween(t0, Clock::now()));
        for (const auto& [label, at] : ns.Marks()) alone_stages[label].push_back(MsBetween(t0, at));
      }
      StopAgent(pid);
    }
    // Warm, agentcore.
    std::vector<double> wc;
    std::map<std::string, std::vector<double>> stages;  // first arrival of each label
    {
      const std::string p = prefix + "-ovw-" + std::to_string(pass);
      CreateProject(*client, api, p);
      (void)StreamRun(*client, api, p, p + "-warm", prompt);
      for (int i = 0; i < runs; ++i) {
        RunTiming t = StreamRun(*client, api, p, p + "-" + std::to_string(i), prompt);
        if (!t.ok) Die("agentcore run failed");
        wc.push_back(t.done_ms);
        std::map<std::string, double> seen;
        for (const auto& [label, ms] : t.trace) seen.emplace(label, ms);
        for (const auto& [label, ms] : seen) stages[label].push_back(ms);
      }
    }
    // Cold, alone: a spawn per run.
    std::vector<double> ca;
    {
      NullServer ns(tmp + "/ws", token);
      ns.Start();
      for (int i = 0; i < runs; ++i) {
        ns.ForgetCheckin();
        ns.Begin("cold-" + std::to_string(i), prompt);
        const auto t0 = Clock::now();
        pid_t pid = SpawnAgent(builder, ns, token, log);
        if (!ns.WaitDone(std::chrono::seconds(60))) Die("null server: cold run failed");
        ca.push_back(MsBetween(t0, Clock::now()));
        StopAgent(pid);
      }
    }
    // Cold, agentcore: a fresh project (and builder) per run.
    std::vector<double> cc;
    for (int i = 0; i < runs; ++i) {
      const std::string p = prefix + "-ovc-" + std::to_string(pass) + "-" + std::to_string(i);
      CreateProject(*client, api, p);
      RunTiming t = StreamRun(*client, api, p, p + "-cold", prompt);
      if (!t.ok) Die("agentcore cold run failed");
      cc.push_back(t.done_ms);
    }
    std::filesystem::remove_all(tmp);
    {
      agentcore::JsonObject st;
      for (auto& [label, v] : stages) st.push_back({label, Json(R3(Median(v)))});
      agentcore::JsonObject sa;
      for (auto& [label, v] : alone_stages) sa.push_back({label, Json(R3(Median(v)))});
      Print(Json(agentcore::JsonObject{{"case", Json("overhead_stages")}, {"pass", Json(pass)},
                                       {"warmAgentcoreFirstArrivalMs", Json(st)},
                                       {"warmAloneMs", Json(sa)}}));
    }
    warm_alone.push_back(Median(wa));
    warm_core.push_back(Median(wc));
    cold_alone.push_back(Median(ca));
    cold_core.push_back(Median(cc));
    Print(Json(agentcore::JsonObject{
        {"case", Json("overhead")}, {"pass", Json(pass)}, {"runs", Json(runs)},
        {"warmAloneMs", Json(R3(warm_alone.back()))}, {"warmAgentcoreMs", Json(R3(warm_core.back()))},
        {"warmOverheadMs", Json(R3(warm_core.back() - warm_alone.back()))},
        {"coldAloneMs", Json(R3(cold_alone.back()))}, {"coldAgentcoreMs", Json(R3(cold_core.back()))},
        {"coldOverheadMs", Json(R3(cold_core.back() - cold_alone.back()))}}));
  }
  const double wo = Median(warm_core) - Median(warm_alone);
  const double co = Median(cold_core) - Median(cold_alone);
  Print(Json(agentcore::JsonObject{
      {"case", Json("overhead")}, {"summary", Json(true)}, {"passes", Json(passes)},
      {"runs", Json(runs)}, {"warmAloneMs", Json(R3(Median(warm_alone)))},
      {"warmAgentcoreMs", Json(R3(Median(warm_core)))}, {"warmOverheadMs", Json(R3(wo))},
      {"coldAloneMs", Json(R3(Median(cold_alone)))},
      {"coldAgentcoreMs", Json(R3(Median(cold_core)))}, {"coldOverheadMs", Json(R3(co))},
      {"targetMs", Json(2)}, {"warmTargetMet", Json(wo <= 2)}, {"coldTargetMet", Json(co <= 2)}}));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Api api;
  api.port = std::atoi(Arg(argc, argv, "--port", "0").c_str());
  api.key = Arg(argc, argv, "--key", "");
  if (api.port <= 0 || api.key.empty()) Die("--port P and --key K are required");
  const std::string c = Arg(argc, argv, "--case", "");
  if (c == "throughput") return RunThroughput(api, argc, argv);
  if (c == "sse_fanout") return RunSseFanout(api, argc, argv);
  if (c == "overhead") return RunOverhead(api, argc, argv);
  Die("--case throughput | sse_fanout | overhead");
}
