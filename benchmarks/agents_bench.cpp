// SPDX-License-Identifier: Apache-2.0
// agentcore-bench agents --agents N [--messages M] [--drivers D] [--interval-ms P]
//                        [--echo-agent PATH]
//
// The whole agent loop on one machine: an in-process agentcore-server (SQLite, dev auth, the
// local process runtime) with N echo agents (examples/echo-agent) in N channels, one SSE
// subscriber per channel, and D driver threads posting "@echo msg-<channel>-<k>" messages
// (each channel waits for its reply before its next message). With --interval-ms P (default
// 1000) each channel gets a message every P ms, evenly spread, so the offered load is N / P
// messages per second: the latency at a stated load. With --interval-ms 0 each driver sends a
// burst of one message per channel and awaits the replies (closed loop): the throughput, with
// every channel's message queued behind the others'. Measures:
//  * activation -> checkin: POST /channels/:id/agents sent -> agent_state online at the
//    subscriber;
//  * message -> first frame: POST /channels/:id/messages sent -> the reply's start frame at the
//    subscriber;
//  * replies/s over the message phase; lost (no complete reply within 30 s) and duplicated
//    (a reply completed twice) messages.
// With --runtime docker (--docker-host unix://…, default $DOCKER_HOST; --agent-image IMAGE,
// default localhost/agentcore-echo-agent:latest) the agents are containers on a Docker/Podman
// engine (benchmarks/container_activation.sh). --one-at-a-time waits for each agent's checkin
// before adding the next (the latency of one activation, not of a burst). The activation line
// carries the process's resident memory once every agent is online (rssMiB: the in-process
// server and this harness's subscribers).
// Last line: {"summary":true,"agents":N,"checkinP50Ms":…,"checkinP99Ms":…,"firstFrameP50Ms":…,
// "firstFrameP99Ms":…,"repliesPerSec":…,"lost":0,"duplicated":0}.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "app.hpp"
#include "bench_main.hpp"
#include "bench_util.hpp"

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using agentcore::bench::Arg;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// This process's resident memory (VmRSS) in MiB; 0 when /proc cannot be read.
double RssMiB() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  double kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::atof(line + 6);
  }
  std::fclose(f);
  return kib / 1024;
}

double Ms(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct ChannelState {
  std::string id;
  int fd = -1;
  std::string buffer;
  bool head_done = false;
  // Guarded by Bench::mu.
  SteadyClock::time_point add_sent{};
  SteadyClock::time_point online_at{};
  std::string token;  // the outstanding message's token; empty when idle
  SteadyClock::time_point post_sent{};
  SteadyClock::time_point first_frame{};
  bool have_first = false;
  std::map<std::string, int> completed;  // token -> complete replies seen
};

struct Bench {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ChannelState> channels;
  std::atomic<bool> stop{false};
};

int Connect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void HandleLine(Bench& b, ChannelState& c, std::string_view line, SteadyClock::time_point now) {
  if (line.rfind("data: ", 0) != 0) return;
  line.remove_prefix(6);
  std::lock_guard lock(b.mu);
  if (line.find(R"("type":"agent_state")") != std::string_view::npos) {
    if (line.find(R"("state":"online")") != std::string_view::npos &&
        c.online_at == SteadyClock::time_point{}) {
      c.online_at = now;
      b.cv.notify_all();
    }
    return;
  }
  if (line.find(R"("m":{)") != std::string_view::npos) {
    if (!c.token.empty() && !c.have_first) {
      c.first_frame = now;
      c.have_first = true;
    }
    return;
  }
  if (line.find(R"("v":{"type":"agent")") != std::string_view::npos) {
    std::size_t at = line.find("msg-");
    if (at == std::string_view::npos) return;
    std::size_t end = line.find_first_of("\" \\", at);
    std::string token(line.substr(at, end - at));
    ++c.completed[token];
    if (token == c.token) {
      c.token.clear();
      b.cv.notify_all();
    }
  }
}

void ReadLoop(Bench& b) {
  std::vector<pollfd> fds;
  for (ChannelState& c : b.channels) fds.push_back(pollfd{c.fd, POLLIN, 0});
  char buf[16384];
  while (!b.stop) {
    int n = ::poll(fds.data(), fds.size(), 100);
    if (n <= 0) continue;
    auto now = SteadyClock::now();
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        fds[i].fd = -1;
        continue;
      }
      ChannelState& c = b.channels[i];
      c.buffer.append(buf, static_cast<std::size_t>(got));
      if (!c.head_done) {
        std::size_t end = c.buffer.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        c.buffer.erase(0, end + 4);
        c.head_done = true;
      }
      std::size_t start = 0;
      for (;;) {
        std::size_t nl = c.buffer.find('\n', start);
        if (nl == std::string::npos) break;
        HandleLine(b, c, std::string_view(c.buffer).substr(start, nl - start), now);
        start = nl + 1;
      }
      c.buffer.erase(0, start);
    }
  }
}

}  // namespace

int RunAgentsBench(int argc, char** argv) {
  using namespace agentcore;
  using namespace agentcore::server;
  const int n = std::atoi(Arg(argc, argv, "--agents", "20").c_str());
  const int messages = std::atoi(Arg(argc, argv, "--messages", "5").c_str());
  const int drivers = std::max(1, std::atoi(Arg(argc, argv, "--drivers", "8").c_str()));
  // 0: closed loop (bursts, the throughput figure); P > 0: each channel gets a message every
  // P ms (the latency figure at a stated offered load).
  const double interval_ms = std::atof(Arg(argc, argv, "--interval-ms", "1000").c_str());
  const std::string echo = Arg(argc, argv, "--echo-agent", AGENTCORE_BENCH_ECHO_AGENT);
  const std::string runtime = Arg(argc, argv, "--runtime", "local");
  const char* docker_env = std::getenv("DOCKER_HOST");
  const std::string docker_host =
      Arg(argc, argv, "--docker-host", docker_env != nullptr ? docker_env : "");
  const std::string agent_image = Arg(argc, argv, "--agent-image", "");
  const bool one_at_a_time = agentcore::bench::Flag(argc, argv, "--one-at-a-time");
  if (n <= 0 || messages <= 0 || interval_ms < 0) {
    std::fprintf(stderr,
                 "usage: agentcore-bench agents --agents N [--messages M] [--drivers D] "
                 "[--interval-ms P]\n");
    return 2;
  }
  char dir_template[] = "/tmp/agentcore-bench-agents-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return 1;
  const std::string dir = dir_template;

  ServerConfig config;
  config.host = "127.0.0.1";
  config.port = 0;
  config.database_url = "sqlite://" + dir + "/bench.db";
  config.data_dir = dir + "/data";
  config.auth_mode = "dev";
  config.threads = 2;
  config.access_log = false;
  config.agent_commands["*"] = {echo};
  config.agent_kill_grace = 1000ms;
  if (runtime == "docker") {
    config.runtime = "docker";
    config.agent_commands.clear();
    config.docker_host = docker_host;
    if (!agent_image.empty()) config.agent_images["*"] = agent_image;
    config.runtime_instance = "bench-" + std::to_string(::getpid());
  }
  // Every agent runs in the one space of the bench login: no caps (issue 13 §2's defaults
  // would stop at 20).
  config.max_agents_per_space = 0;
  config.max_running_agents_per_space = 0;
  auto opened = App::Open(config);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<App> app = std::move(*opened);
  if (Status s = app->Start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(app->port());
  std::unique_ptr<HttpClient> client = NewHttpClient();
  auto call = [&](HttpClient& c, const std::string& method, const std::string& path,
                  const std::string& body, const std::string& cookie) {
    HttpRequest req;
    req.method = method;
    req.url = base + path;
    req.body = body;
    req.headers = {{"Content-Type", "application/json"}};
    if (!cookie.empty()) req.headers.emplace_back("Cookie", cookie);
    auto r = c.Send(req);
    if (!r.ok()) {
      std::fprintf(stderr, "%s %s: %s\n", method.c_str(), path.c_str(),
                   r.status().ToString().c_str());
      std::exit(1);
    }
    return *std::move(r);
  };
  HttpResponse login = call(*client, "POST", "/auth/dev/login", R"({"callsign":"bench"})", "");
  std::string cookie(login.Header("Set-Cookie").value_or(""));
  cookie = cookie.substr(0, cookie.find(';'));

  Bench b;
  b.channels.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    HttpResponse r = call(*client, "POST", "/channels",
                          R"({"name":"bench-)" + std::to_string(i) + "\"}", cookie);
    b.channels[i].id = *ParseJson(r.body)->Find("channel")->FindString("id");
    int fd = Connect(app->port());
    if (fd < 0) return 1;
    std::string head = "GET /channels/" + b.channels[i].id +
                       "/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nCookie: " +
                       cookie + "\r\n\r\n";
    if (::write(fd, head.data(), head.size()) != static_cast<ssize_t>(head.size())) return 1;
    b.channels[i].fd = fd;
  }
  while (app->broadcaster().SubscriberCount() < static_cast<std::size_t>(n)) {
    std::this_thread::sleep_for(5ms);
  }
  std::thread reader([&b] { ReadLoop(b); });

  // --- Activation: add every agent, wait for every checkin.
  auto run_drivers = [&](auto body) {
    std::vector<std::thread> threads;
    for (int d = 0; d < drivers; ++d) {
      threads.emplace_back([&, d] {
        std::unique_ptr<HttpClient> c = NewHttpClient();
        for (int i = d; i < n; i += drivers) body(*c, i);
      });
    }
    for (std::thread& t : threads) t.join();
  };
  run_drivers([&](HttpClient& c, int i) {
    {
      std::lock_guard lock(b.mu);
      b.channels[i].add_sent = SteadyClock::now();
    }
    HttpResponse r = call(c, "POST", "/channels/" + b.channels[i].id + "/agents",
                          R"({"callsign":"echo","agentType":"echo"})", cookie);
    if (r.status != 201) std::fprintf(stderr, "add agent: %d %s\n", r.status, r.body.c_str());
    if (one_at_a_time) {
      std::unique_lock lock(b.mu);
      b.cv.wait_for(lock, 60s,
                    [&] { return b.channels[i].online_at != SteadyClock::time_point{}; });
    }
  });
  std::vector<double> checkin_ms;
  {
    std::unique_lock lock(b.mu);
    b.cv.wait_for(lock, 180s, [&] {
      for (const ChannelState& c : b.channels) {
        if (c.online_at == SteadyClock::time_point{}) return false;
      }
      return true;
    });
    for (const ChannelState& c : b.channels) {
      if (c.online_at != SteadyClock::time_point{}) checkin_ms.push_back(Ms(c.add_sent, c.online_at));
    }
  }
  std::printf(
      "{\"bench\":\"agents_activation\",\"runtime\":\"%s\",\"oneAtATime\":%s,\"agents\":%d,"
      "\"checkedIn\":%zu,\"p50Ms\":%.2f,\"p99Ms\":%.2f,\"maxMs\":%.2f,\"rssMiB\":%.1f}\n",
      runtime.c_str(), one_at_a_time ? "true" : "false", n, checkin_ms.size(),
      Percentile(checkin_ms, 0.5), Percentile(checkin_ms, 0.99), Percentile(checkin_ms, 1.0),
      RssMiB());
  std::fflush(stdout);

  // --- Messages. Each channel has at most one message outstanding: its next message is sent
  // only after the reply to the previous one completed.
  std::vector<double> first_frame_ms;
  std::mutex results_mu;
  std::atomic<int> lost{0};
  // Waits for channel i's outstanding reply; records its first-frame latency or a loss.
  auto await_reply = [&](std::unique_lock<std::mutex>& lock, int i) {
    ChannelState& ch = b.channels[i];
    if (ch.token.empty() && !ch.have_first) return;  // nothing outstanding
    bool done = b.cv.wait_for(lock, 30s, [&] { return ch.token.empty(); });
    if (!done) {
      ++lost;
      ch.token.clear();
    } else if (ch.have_first) {
      std::lock_guard r(results_mu);
      first_frame_ms.push_back(Ms(ch.post_sent, ch.first_frame));
    }
    ch.have_first = false;
  };
  auto post = [&](HttpClient& c, int i, int k) {
    std::string token = "msg-" + std::to_string(i) + "-" + std::to_string(k);
    {
      std::lock_guard lock(b.mu);
      ChannelState& ch = b.channels[i];
      ch.token = token;
      ch.have_first = false;
      ch.post_sent = SteadyClock::now();
    }
    HttpResponse r = call(c, "POST", "/channels/" + b.channels[i].id + "/messages",
                          R"({"content":"@echo )" + token +
                              R"(","sender":"bench","senderType":"user"})",
                          cookie);
    if (r.status != 201) std::fprintf(stderr, "post: %d %s\n", r.status, r.body.c_str());
  };
  const auto phase_start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int d = 0; d < drivers; ++d) {
    threads.emplace_back([&, d] {
      std::unique_ptr<HttpClient> c = NewHttpClient();
      std::vector<int> mine;
      for (int i = d; i < n; i += drivers) mine.push_back(i);
      for (int k = 0; k < messages; ++k) {
        if (interval_ms == 0) {
          // Closed loop: a burst of one message per channel, then every reply awaited.
          for (int i : mine) post(*c, i, k);
          std::unique_lock lock(b.mu);
          for (int i : mine) await_reply(lock, i);
          continue;
        }
        // Paced: channel i's k-th message is due at start + (k + i / n) * interval, so the
        // offered load is n / interval messages per second, spread evenly.
        for (int i : mine) {
          auto due = phase_start + std::chrono::duration_cast<SteadyClock::duration>(
                                       std::chrono::duration<double, std::milli>(
                                           interval_ms * (k + static_cast<double>(i) / n)));
          std::this_thread::sleep_until(due);
          {
            std::unique_lock lock(b.mu);
            await_reply(lock, i);  // normally long done; if not, this message is late
          }
          post(*c, i, k);
        }
      }
      std::unique_lock lock(b.mu);
      for (int i : mine) await_reply(lock, i);
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = Ms(phase_start, SteadyClock::now()) / 1000.0;
  std::this_thread::sleep_for(200ms);  // late duplicates would show up here
  int duplicated = 0;
  int replies = 0;
  {
    std::lock_guard lock(b.mu);
    for (const ChannelState& c : b.channels) {
      for (const auto& [token, count] : c.completed) {
        replies += 1;
        if (count > 1) duplicated += count - 1;
      }
    }
  }
  b.stop = true;
  reader.join();
  app->Stop();
  for (ChannelState& c : b.channels) ::close(c.fd);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  const double replies_per_sec = seconds > 0 ? replies / seconds : 0;
  std::printf(
      "{\"bench\":\"agents_messages\",\"agents\":%d,\"messages\":%d,\"intervalMs\":%g,"
      "\"replies\":%d,\"seconds\":%.2f,\"firstFrameP50Ms\":%.2f,\"firstFrameP99Ms\":%.2f,"
      "\"firstFrameMaxMs\":%.2f}\n",
      n, n * messages, interval_ms, replies, seconds, Percentile(first_frame_ms, 0.5),
      Percentile(first_frame_ms, 0.99), Percentile(first_frame_ms, 1.0));
  std::printf(
      "{\"summary\":true,\"agents\":%d,\"checkinP50Ms\":%.2f,\"checkinP99Ms\":%.2f,"
      "\"firstFrameP50Ms\":%.2f,\"firstFrameP99Ms\":%.2f,\"repliesPerSec\":%.1f,\"lost\":%d,"
      "\"duplicated\":%d,\"intervalMs\":%g}\n",
      n, Percentile(checkin_ms, 0.5), Percentile(checkin_ms, 0.99),
      Percentile(first_frame_ms, 0.5), Percentile(first_frame_ms, 0.99), replies_per_sec,
      lost.load(), duplicated, interval_ms);
  return lost.load() == 0 && duplicated == 0 ? 0 : 1;
}
