// SPDX-License-Identifier: Apache-2.0
// agentcore-sessions-bench: issue 16's session benchmarks (docs/benchmarks.md "Sessions").
// benchmarks/sessions.sh starts a private agentcore-server and drives this program; every line
// it prints is JSON.
//
//   --case first_byte  --port P --key K [--n 50] [--image IMG]   agentcore: create -> 1st byte
//   --case bare_bwrap  [--n 50]                                   the limit: bwrap alone
//   --case bare_podman --podman-args ARGS --image IMG [--n 50]    the limit: podman run alone
//   --case throughput  --port P --key K [--mib 256]               attach stdout MiB/s
//   --case bare_pipe   [--mib 256]                                the limit: the same via a pipe
//   --case concurrent  --port P --key K --server-pid PID [--n 200] [--clients 32]
//
// Method.
// * first_byte: the command is `/bin/sh -c 'echo ready; sleep 30'` (`sleep` so the session is
//   still running when the client attaches). Timed from writing `POST /v1/sessions` (which
//   answers once the sandbox/container runs) through the attach WebSocket's handshake to the
//   first 0x02 (stdout) message. The session is then deleted (untimed). p50/p99 of n.
// * bare_bwrap: the same command under `bwrap` with the sandbox runtime's flags (a private
//   namespace of each kind, no network, read-only system, a tmpfs /tmp, a bound workspace,
//   caps dropped), spawned with posix_spawn and a stdout pipe; timed from the spawn to the
//   first byte read, the sandbox then killed (untimed). bare_podman: `podman ARGS run --rm
//   --network none IMG /bin/sh -c 'echo ready'` (ARGS: the engine's storage), from the spawn
//   to its first stdout byte.
// * throughput: a session running `head -c 1 >/dev/null; head -c N /dev/zero` (it waits for a
//   stdin byte, so no output is produced before the client attached); attach, send 0x01 "g",
//   count stdout payload bytes until the 0x04 exit message. MiB/s over that span. bare_pipe:
//   `/bin/sh -c 'head -c N /dev/zero'` spawned with a pipe, read to EOF in 256 KiB reads.
//   Both readers use 256 KiB reads; the WebSocket reader parses frame headers in place.
// * concurrent: n sessions running `sleep 600` created by `clients` threads at once; time
//   from the first create to the last create's answer (every answer `running`), then the
//   server's VmRSS and VmHWM (from /proc/PID/status) with all n running; then all deleted.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/runtime/session_runtime.hpp>

#include "bench_util.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using agentcore::Json;
using agentcore::JsonObject;
using agentcore::bench::Arg;
using agentcore::bench::MillisSince;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "agentcore-sessions-bench: %s\n", what.c_str());
  std::exit(1);
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

void PrintLatencies(const char* name, const char* runtime, const std::vector<double>& ms) {
  Print(Json(JsonObject{{"case", Json(name)},
                        {"runtime", Json(runtime)},
                        {"n", Json(static_cast<double>(ms.size()))},
                        {"p50_ms", Json(R3(Pct(ms, 0.5)))},
                        {"p99_ms", Json(R3(Pct(ms, 0.99)))},
                        {"max_ms", Json(R3(Pct(ms, 1.0)))}}));
}

// --- the server's API ------------------------------------------------------------------------

struct Api {
  int port = 0;
  std::string key;
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
  }
};

// Creates a session; returns its id. Dies unless it answers 201 with status running.
std::string CreateSession(agentcore::HttpClient& client, const Api& api,
                          const std::vector<std::string>& command, const std::string& image) {
  agentcore::JsonArray argv;
  for (const std::string& a : command) argv.emplace_back(a);
  JsonObject body{{"command", Json(std::move(argv))}};
  if (!image.empty()) body.push_back({"image", Json(image)});
  agentcore::HttpRequest req;
  req.method = "POST";
  req.url = api.Url("/v1/sessions");
  req.headers = {{"Authorization", "Bearer " + api.key}, {"Content-Type", "application/json"}};
  req.body = agentcore::ToJson(Json(std::move(body)));
  req.timeout = std::chrono::milliseconds(120'000);
  auto r = client.Send(req);
  if (!r.ok()) Die("create session: " + r.status().ToString());
  if (r->status != 201) Die("create session answered " + std::to_string(r->status) + " " + r->body);
  auto parsed = agentcore::ParseJson(r->body);
  if (!parsed.ok()) Die("create session: bad JSON " + r->body);
  const Json* id = parsed->Find("id");
  const Json* status = parsed->Find("status");
  if (id == nullptr || !id->is_string()) Die("create session: no id in " + r->body);
  if (status == nullptr || !status->is_string() || status->as_string() != "running") {
    Die("create session: not running: " + r->body);
  }
  return id->as_string();
}

void DeleteSession(agentcore::HttpClient& client, const Api& api, const std::string& id) {
  agentcore::HttpRequest req;
  req.method = "DELETE";
  req.url = api.Url("/v1/sessions/" + id);
  req.headers = {{"Authorization", "Bearer " + api.key}};
  req.timeout = std::chrono::milliseconds(60'000);
  auto r = client.Send(req);
  if (!r.ok() || (r->status != 204 && r->status != 200)) {
    Die("delete session " + id + ": " + (r.ok() ? std::to_string(r->status) + " " + r->body
                                                : r.status().ToString()));
  }
}

// --- a lean WebSocket client for the attach protocol -----------------------------------------

class AttachClient {
 public:
  AttachClient(const Api& api, const std::string& session_id) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(api.port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      Die("attach: connect failed");
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const std::string request = "GET /v1/sessions/" + session_id +
                                "/attach HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: "
                                "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                                "Authorization: Bearer " + api.key + "\r\n\r\n";
    SendAll(request);
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) Die("attach: no handshake answer");
    }
    if (buf_.rfind("HTTP/1.1 101", 0) != 0) Die("attach: " + buf_.substr(0, buf_.find('\r')));
    buf_.erase(0, end + 4);
  }
  ~AttachClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  AttachClient(const AttachClient&) = delete;
  AttachClient& operator=(const AttachClient&) = delete;

  // One binary message (type byte + payload), masked as a client must.
  void Send(std::uint8_t type, std::string_view payload) {
    std::string frame;
    frame.push_back(static_cast<char>(0x82));
    const std::size_t n = payload.size() + 1;
    if (n < 126) {
      frame.push_back(static_cast<char>(0x80 | n));
    } else {
      frame.push_back(static_cast<char>(0x80 | 126));
      frame.push_back(static_cast<char>(n >> 8));
      frame.push_back(static_cast<char>(n & 0xff));
    }
    const unsigned char mask[4] = {1, 2, 3, 4};
    frame.append(reinterpret_cast<const char*>(mask), 4);
    std::string data(1, static_cast<char>(type));
    data.append(payload);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(data[i] ^ mask[i % 4]);
    frame += data;
    SendAll(frame);
  }

  // Reads messages until `on_message(type, payload bytes, payload size)` returns false. Frames
  // of one message arrive unfragmented from the server (one type byte at the front). Dies on a
  // close or EOF before that.
  template <typename F>
  void Read(F&& on_message) {
    for (;;) {
      while (buf_.size() - pos_ >= 2) {
        const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
        const unsigned opcode = p[0] & 0x0f;
        std::size_t header = 2;
        std::uint64_t len = p[1] & 0x7f;
        if (len == 126) {
          if (buf_.size() - pos_ < 4) break;
          len = (std::uint64_t{p[2]} << 8) | p[3];
          header = 4;
        } else if (len == 127) {
          if (buf_.size() - pos_ < 10) break;
          len = 0;
          for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
          header = 10;
        }
        if (buf_.size() - pos_ < header + len) break;
        const char* payload = buf_.data() + pos_ + header;
        pos_ += header + len;
        if (opcode == 0x8) Die("attach: closed by the server");
        if (opcode != 0x2 || len == 0) continue;  // pings and the like
        if (!on_message(static_cast<std::uint8_t>(payload[0]), payload + 1, len - 1)) return;
      }
      if (pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
      }
      if (!Fill()) Die("attach: connection ended");
    }
  }

 private:
  void SendAll(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) Die("attach: send failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  bool Fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 60'000) <= 0) return false;
    const std::size_t old = buf_.size();
    buf_.resize(old + kRead);
    ssize_t n = ::recv(fd_, buf_.data() + old, kRead, 0);
    buf_.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
    return n > 0;
  }
  static constexpr std::size_t kRead = 256 * 1024;
  int fd_ = -1;
  std::string buf_;
  std::size_t pos_ = 0;
};

// --- spawning the bare tools -----------------------------------------------------------------

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of its stdout
};

Child Spawn(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) Die("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Child c;
  if (posix_spawnp(&c.pid, args[0], &actions, nullptr, args.data(), environ) != 0) {
    Die("cannot run " + argv[0]);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  c.out = fds[0];
  return c;
}

void Reap(Child& c, bool kill_it) {
  if (kill_it) ::kill(c.pid, SIGKILL);
  ::close(c.out);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
}

// The time from spawning `argv` to its first stdout byte.
double FirstByteMs(const std::vector<std::string>& argv, bool kill_after) {
  const auto t0 = Clock::now();
  Child c = Spawn(argv);
  char byte;
  if (::read(c.out, &byte, 1) != 1) Die(argv[0] + ": no output");
  const double ms = MillisSince(t0);
  Reap(c, kill_after);
  return ms;
}

// The sandbox runtime's flags (runtime/sandbox), for the bare-bwrap limit.
std::vector<std::string> BwrapArgv(const std::string& workspace, const std::string& script) {
  std::vector<std::string> argv = {"bwrap", "--unshare-all", "--die-with-parent",
                                   "--new-session", "--cap-drop", "ALL"};
  for (const std::string& p : agentcore::SandboxRuntimeOptions().read_only_paths) {
    if (::access(p.c_str(), F_OK) == 0) argv.insert(argv.end(), {"--ro-bind", p, p});
  }
  argv.insert(argv.end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind",
                           workspace, "/workspace", "--remount-ro", "/", "--chdir", "/workspace",
                           "--clearenv",
                           "--setenv", "PATH", "/usr/bin:/bin", "/bin/sh", "-c", script});
  return argv;
}

// --- cases -----------------------------------------------------------------------------------

constexpr const char* kReadyScript = "echo ready; sleep 30";

int RunFirstByte(const Api& api, int n, const std::string& image) {
  auto client = agentcore::NewHttpClient();
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    const std::string id = CreateSession(*client, api, {"/bin/sh", "-c", kReadyScript}, image);
    {
      AttachClient attach(api, id);
      attach.Read([](std::uint8_t type, const char*, std::size_t) { return type != 0x02; });
      ms.push_back(MillisSince(t0));
    }
    DeleteSession(*client, api, id);
  }
  PrintLatencies("first_byte", image.empty() ? "sandbox" : "podman", ms);
  return 0;
}

int RunBareBwrap(int n) {
  char dir[] = "/tmp/agentcore-bwrap-bench.XXXXXX";
  if (::mkdtemp(dir) == nullptr) Die("mkdtemp");
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) ms.push_back(FirstByteMs(BwrapArgv(dir, kReadyScript), true));
  ::rmdir(dir);
  PrintLatencies("bare_first_byte", "sandbox", ms);
  return 0;
}

int RunBarePodman(int n, const std::string& podman_args, const std::string& image) {
  if (image.empty()) Die("bare_podman needs --image");
  std::vector<std::string> argv = {"podman"};
  // The engine's storage (--root/--runroot/--tmpdir), so the image is the one the server uses.
  for (std::size_t at = 0; at < podman_args.size();) {
    const std::size_t end = std::min(podman_args.find(' ', at), podman_args.size());
    if (end > at) argv.push_back(podman_args.substr(at, end - at));
    at = end + 1;
  }
  argv.insert(argv.end(), {"run", "--rm", "--network", "none", image, "/bin/sh", "-c",
                           "echo ready"});
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) ms.push_back(FirstByteMs(argv, false));
  PrintLatencies("bare_first_byte", "podman", ms);
  return 0;
}

int RunThroughput(const Api& api, std::uint64_t bytes) {
  auto client = agentcore::NewHttpClient();
  const std::string script = "head -c 1 >/dev/null; head -c " + std::to_string(bytes) +
                             " /dev/zero";
  const std::string id = CreateSession(*client, api, {"/bin/sh", "-c", script}, "");
  std::uint64_t got = 0;
  double ms = 0;
  {
    AttachClient attach(api, id);
    const auto t0 = Clock::now();
    attach.Send(0x01, "g");
    attach.Read([&](std::uint8_t type, const char*, std::size_t n) {
      if (type == 0x02) got += n;
      return type != 0x04 && type != 0x05;
    });
    ms = MillisSince(t0);
  }
  DeleteSession(*client, api, id);
  if (got != bytes) Die("throughput: got " + std::to_string(got) + " of " + std::to_string(bytes));
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  Print(Json(JsonObject{{"case", Json("throughput")},
                        {"mib", Json(mib)},
                        {"ms", Json(R3(ms))},
                        {"mib_per_s", Json(R3(mib / (ms / 1000.0)))}}));
  return 0;
}

int RunBarePipe(std::uint64_t bytes) {
  const auto t0 = Clock::now();
  Child c = Spawn({"/bin/sh", "-c", "head -c " + std::to_string(bytes) + " /dev/zero"});
  std::vector<char> buf(256 * 1024);
  std::uint64_t got = 0;
  for (;;) {
    ssize_t n = ::read(c.out, buf.data(), buf.size());
    if (n <= 0) break;
    got += static_cast<std::uint64_t>(n);
  }
  const double ms = MillisSince(t0);
  Reap(c, false);
  if (got != bytes) Die("bare_pipe: short read");
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  Print(Json(JsonObject{{"case", Json("bare_pipe")},
                        {"mib", Json(mib)},
                        {"ms", Json(R3(ms))},
                        {"mib_per_s", Json(R3(mib / (ms / 1000.0)))}}));
  return 0;
}

// VmRSS and VmHWM of `pid`, in MiB.
std::pair<double, double> Memory(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  double rss = 0, hwm = 0;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::atof(line.c_str() + 6) / 1024.0;
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::atof(line.c_str() + 6) / 1024.0;
  }
  return {rss, hwm};
}

int RunConcurrent(const Api& api, int n, int clients, long server_pid) {
  std::vector<std::string> ids(static_cast<std::size_t>(n));
  std::atomic<int> next{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      auto client = agentcore::NewHttpClient();
      for (int i; (i = next.fetch_add(1)) < n;) {
        ids[static_cast<std::size_t>(i)] =
            CreateSession(*client, api, {"/bin/sh", "-c", "sleep 600"}, "");
      }
    });
  }
  for (auto& t : threads) t.join();
  const double all_running_ms = MillisSince(t0);
  const auto [rss, hwm] = Memory(server_pid);
  threads.clear();
  next = 0;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      auto client = agentcore::NewHttpClient();
      for (int i; (i = next.fetch_add(1)) < n;) {
        DeleteSession(*client, api, ids[static_cast<std::size_t>(i)]);
      }
    });
  }
  for (auto& t : threads) t.join();
  Print(Json(JsonObject{{"case", Json("concurrent")},
                        {"sessions", Json(static_cast<double>(n))},
                        {"all_running_ms", Json(R3(all_running_ms))},
                        {"server_rss_mib", Json(R3(rss))},
                        {"server_hwm_mib", Json(R3(hwm))}}));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  const std::string which = Arg(argc, argv, "--case", "");
  Api api;
  api.port = std::atoi(Arg(argc, argv, "--port", "0").c_str());
  api.key = Arg(argc, argv, "--key", "");
  const int n = std::atoi(Arg(argc, argv, "--n", which == "concurrent" ? "200" : "50").c_str());
  const std::uint64_t bytes =
      std::strtoull(Arg(argc, argv, "--mib", "256").c_str(), nullptr, 10) * 1024 * 1024;
  const std::string image = Arg(argc, argv, "--image", "");
  if (which == "bare_bwrap") return RunBareBwrap(n);
  if (which == "bare_podman") return RunBarePodman(n, Arg(argc, argv, "--podman-args", ""), image);
  if (which == "bare_pipe") return RunBarePipe(bytes);
  if (api.port <= 0 || api.key.empty()) Die("--port and --key are required for " + which);
  if (which == "first_byte") return RunFirstByte(api, n, image);
  if (which == "throughput") return RunThroughput(api, bytes);
  if (which == "concurrent") {
    return RunConcurrent(api, n, std::atoi(Arg(argc, argv, "--clients", "32").c_str()),
                         std::atol(Arg(argc, argv, "--server-pid", "0").c_str()));
  }
  Die("unknown --case \"" + which + "\"");
}
