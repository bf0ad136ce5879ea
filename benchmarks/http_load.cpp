// SPDX-License-Identifier: Apache-2.0
// agentcore-http-load: the load cases of issue 5's benchmarks that wrk cannot drive (Tymbal
// ingest with WebSocket subscribers, streamed uploads, fan-out, idle-connection memory), against
// a running agentcore-server on loopback. Every line it prints is JSON; each case ends with a
// summary line `{"case":…,"framesPerSec":…,"p50Ms":…,"p99Ms":…,"rssMiB":…,"lost":…}`.
//
//   agentcore-http-load --case setup          --port P [--seed-messages 1000]
//   agentcore-http-load --case tymbal_ingest  --port P --server-pid PID [--agents 64] [--duration 10]
//                                                [--rate FRAMES_PER_SEC: paced, else closed loop]
//   agentcore-http-load --case stream_ingest  --port P --server-pid PID [--uploads 1000] [--frames 1000]
//   agentcore-http-load --case fanout         --port P --server-pid PID [--subscribers 10000]
//                                                [--subscribe-port P2: subscribers on another server]
//   agentcore-http-load --case memory         --port P --server-pid PID [--subscribers 10000] [--idle-agents 1000]
// common: [--passes 3] [--threads 2] [--corpus /tmp/agentcore-bench/data/timbal.ndjson]
//
// Clients: standalone Asio coroutines, one io_context per thread, HTTP/1.1 keep-alive with
// responses parsed by http-parser, and a minimal RFC 6455 client (masked frames out, one text
// message per broadcast frame in). Frames come from the shared Tymbal corpus; each one sent gets
// a fresh message id per use (set frames are idempotent on their id) and an extra top-level key
// "bq" holding the steady-clock time it was written, which the server passes through (unknown
// keys are kept, spec cast §2.2) so a subscriber computes frame -> subscriber latency.
//
// GCC 12 miscompiles `if (!co_await f()) co_return x;` (the coroutine is resumed in a broken
// state), hence the `bool awaitedN = co_await …;` lines; and no co_await here takes a temporary
// with a destructor (PR 100611): requests are named variables.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <array>
#include <cmath>
#include <csignal>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio.hpp>
#include <http_parser.h>
#include <simdjson.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/auth/tokens.hpp>
#include <agentcore/tymbal/parser.hpp>
#include <agentcore/ulid.hpp>

#include "bench_util.hpp"

namespace {

using asio::ip::tcp;
using agentcore::bench::Arg;
using agentcore::bench::Median;

constexpr std::string_view kDevContainerSecret =
    "cast-dev-container-secret-do-not-use-in-production";

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Ends the process at once: connections still open on the io threads are left to the kernel.
[[noreturn]] void Finish(int rc) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(rc);
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "agentcore-http-load: %s\n", message.c_str());
  Finish(1);
}

double RssMiB(long pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return -1;
}

void RaiseFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

double Percentile(std::vector<std::uint32_t>& v, double q) {  // v in microseconds; ms out
  if (v.empty()) return 0;
  std::size_t k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

double Round(double x, double unit) { return std::round(x / unit) * unit; }

std::string Fmt(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", x);
  std::string s(buf);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// --- thread pool: one io_context per thread ------------------------------------------------

class Pool {
 public:
  explicit Pool(unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
    }
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this, i] { contexts_[i]->run(); });
  }
  ~Pool() {
    for (auto& g : guards_) g.reset();
    for (auto& c : contexts_) c->stop();
    for (auto& t : threads_) t.join();
  }
  std::size_t size() const { return contexts_.size(); }
  asio::io_context& at(std::size_t i) { return *contexts_[i % contexts_.size()]; }

  /// Runs `f` on context `i` and waits for it.
  template <class F>
  void RunOn(std::size_t i, F f) {
    std::promise<void> done;
    asio::post(at(i), [&] {
      f();
      done.set_value();
    });
    done.get_future().get();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

/// Runs a coroutine on `io` and waits for its result from a non-io thread.
template <class T>
T Await(asio::io_context& io, asio::awaitable<T> coro) {
  return asio::co_spawn(io, std::move(coro), asio::use_future).get();
}

// --- HTTP/1.1 client connection ------------------------------------------------------------

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return v;
      }
    }
    return {};
  }
};

class HttpConn {
 public:
  explicit HttpConn(asio::io_context& io) : socket_(io) {}

  asio::awaitable<bool> Connect(tcp::endpoint ep) {
    std::error_code ec;
    co_await socket_.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    socket_.set_option(tcp::no_delay(true), ec);
    co_return true;
  }

  template <class Buffers>
  asio::awaitable<bool> Write(Buffers buffers) {
    std::error_code ec;
    co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  /// Reads one response; status 0 when the connection failed.
  asio::awaitable<HttpResponse> ReadResponse() {
    HttpResponse r;
    State st{&r};
    http_parser_init(&parser_, HTTP_RESPONSE);
    parser_.data = &st;
    for (;;) {
      if (pos_ < len_) {
        std::size_t n = http_parser_execute(&parser_, &Settings(), buf_.data() + pos_, len_ - pos_);
        pos_ += n;
        if (st.done) {
          http_parser_pause(&parser_, 0);
          r.status = static_cast<int>(parser_.status_code);
          co_return r;
        }
        if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK) co_return HttpResponse{};
      }
      pos_ = len_ = 0;
      std::error_code ec;
      std::size_t n = co_await socket_.async_read_some(
          asio::buffer(buf_), asio::redirect_error(asio::use_awaitable, ec));
      if (ec || n == 0) co_return HttpResponse{};
      len_ = n;
    }
  }

  template <class Buffers>
  asio::awaitable<HttpResponse> RoundTrip(Buffers request) {
    bool awaited1 = co_await Write(request);
    if (!awaited1) co_return HttpResponse{};
    co_return co_await ReadResponse();
  }

  /// As RoundTrip; `request` is a named variable of the caller (see the top of the file).
  asio::awaitable<HttpResponse> Send(const std::string& request) {
    bool awaited2 = co_await Write(asio::buffer(request));
    if (!awaited2) co_return HttpResponse{};
    co_return co_await ReadResponse();
  }

  tcp::socket& socket() { return socket_; }

 private:
  struct State {
    HttpResponse* r;
    bool last_was_value = true;
    bool done = false;
  };
  static const http_parser_settings& Settings() {
    static const http_parser_settings s = [] {
      http_parser_settings cb{};
      cb.on_header_field = [](http_parser* p, const char* at, std::size_t n) {
        auto* st = static_cast<State*>(p->data);
        if (st->last_was_value) st->r->headers.emplace_back();
        st->r->headers.back().first.append(at, n);
        st->last_was_value = false;
        return 0;
      };
      cb.on_header_value = [](http_parser* p, const char* at, std::size_t n) {
        auto* st = static_cast<State*>(p->data);
        st->r->headers.back().second.append(at, n);
        st->last_was_value = true;
        return 0;
      };
      cb.on_body = [](http_parser* p, const char* at, std::size_t n) {
        static_cast<State*>(p->data)->r->body.append(at, n);
        return 0;
      };
      cb.on_message_complete = [](http_parser* p) {
        static_cast<State*>(p->data)->done = true;
        http_parser_pause(p, 1);
        return 0;
      };
      return cb;
    }();
    return s;
  }

  tcp::socket socket_;
  http_parser parser_{};
  std::array<char, 8192> buf_{};
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
};

struct Server {
  tcp::endpoint ep;
  std::string host_header;  // "127.0.0.1:port"
  long pid = 0;
};

std::string BuildRequest(std::string_view method, std::string_view path, const Server& server,
                         std::string_view extra_headers, std::string_view body) {
  std::string r;
  r.reserve(160 + extra_headers.size() + body.size());
  r.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ");
  r.append(server.host_header).append("\r\n").append(extra_headers);
  if (!body.empty() || method == "POST") {
    r.append("Content-Type: application/json\r\nContent-Length: ");
    r.append(std::to_string(body.size())).append("\r\n");
  }
  r.append("\r\n").append(body);
  return r;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

/// A string member of a JSON object found by a path of keys; empty when absent.
std::string JsonField(const std::string& json, std::initializer_list<std::string_view> path) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(json).get(e)) return {};
  for (std::string_view key : path) {
    if (e.at_key(key).get(e)) return {};
  }
  std::string_view s;
  if (e.get_string().get(s)) return {};
  return std::string(s);
}

// --- session: login, channels --------------------------------------------------------------

struct Session {
  std::string cookie;  // value of cast_session
  std::string space_id;
  std::string CookieHeader() const { return "Cookie: cast_session=" + cookie + "\r\n"; }
};

asio::awaitable<Session> Login(HttpConn& conn, const Server& server, const std::string& callsign) {
  std::string request = BuildRequest("POST", "/auth/dev/login", server, "",
                                     "{\"callsign\":" + JsonString(callsign) + "}");
  HttpResponse r = co_await conn.Send(request);
  if (r.status != 200 && r.status != 201) {
    Die("login failed: " + std::to_string(r.status) + " " + r.body);
  }
  Session s;
  std::string cookie = r.Header("Set-Cookie");
  std::size_t eq = cookie.find("cast_session=");
  if (eq == std::string::npos) Die("login: no cast_session cookie");
  cookie = cookie.substr(eq + 13);
  s.cookie = cookie.substr(0, cookie.find(';'));
  s.space_id = JsonField(r.body, {"spaceId"});
  co_return s;
}

asio::awaitable<std::string> CreateChannel(HttpConn& conn, const Server& server,
                                           const Session& session, const std::string& name) {
  std::string request = BuildRequest("POST", "/channels", server, session.CookieHeader(),
                                     "{\"name\":" + JsonString(name) + "}");
  HttpResponse r = co_await conn.Send(request);
  if (r.status != 201) Die("create channel failed: " + std::to_string(r.status) + " " + r.body);
  co_return JsonField(r.body, {"channel", "id"});
}

/// Creates `n` channels over `workers` connections.
std::vector<std::string> CreateChannels(Pool& pool, const Server& server, const Session& session,
                                        const std::string& prefix, std::size_t n,
                                        std::size_t workers = 16) {
  std::vector<std::string> ids(n);
  std::atomic<std::size_t> next{0};
  std::vector<std::future<void>> done;
  for (std::size_t w = 0; w < std::min(workers, n); ++w) {
    auto& io = pool.at(w);
    done.push_back(asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          HttpConn conn(pool.at(w));
          bool awaited3 = co_await conn.Connect(server.ep);
          if (!awaited3) Die("connect failed");
          for (std::size_t i; (i = next++) < n;) {
            std::string name = prefix + std::to_string(i);
            ids[i] = co_await CreateChannel(conn, server, session, name);
          }
        },
        asio::use_future));
  }
  for (auto& f : done) f.get();
  return ids;
}

std::string ContainerToken(const Session& s, const std::string& channel, std::string callsign) {
  agentcore::AgentIdentity id{s.space_id, channel, std::move(callsign)};
  return agentcore::MakeContainerToken(kDevContainerSecret, id);
}

// --- corpus: Tymbal frames as templates ------------------------------------------------------

// A frame of the corpus: `{"i":"<26-char id>"` + rest. Sent as
// `{"bq":"<20 digits>","i":"<fresh id>"` + rest.
struct CorpusFrame {
  agentcore::FrameKind kind;
  std::string id;
  std::string rest;
  bool cost = false;  // a set frame of type cost: a cost record, no message (§4.8.1)
};

constexpr std::string_view kBqPrefix = "{\"bq\":\"";
constexpr std::size_t kBqDigits = 20;

std::vector<CorpusFrame> LoadCorpus(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path);
  if (!in) Die("cannot read the corpus " + path + " (see docs/benchmarks.md to generate it)");
  std::vector<CorpusFrame> frames;
  std::string line;
  std::size_t bytes = 0;
  while (bytes < max_bytes && std::getline(in, line)) {
    bytes += line.size() + 1;
    if (line.size() < 34 || line.compare(0, 6, "{\"i\":\"") != 0 || line[32] != '"') continue;
    auto parsed = agentcore::ParseFrame(line);
    if (!parsed.ok()) continue;
    auto kind = parsed->kind;
    if (kind != agentcore::FrameKind::kStart && kind != agentcore::FrameKind::kAppend &&
        kind != agentcore::FrameKind::kSet) {
      continue;
    }
    bool cost = kind == agentcore::FrameKind::kSet &&
                line.find("\"v\":{\"type\":\"cost\"") != std::string::npos;
    frames.push_back(CorpusFrame{kind, line.substr(6, 26), line.substr(33), cost});
  }
  if (frames.empty()) Die("no frames in the corpus " + path);
  return frames;
}

void PutDigits(char* at, std::int64_t value) {
  for (std::size_t i = kBqDigits; i-- > 0;) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

/// Walks the corpus from an offset as one agent would: appends only for messages it started,
/// every message id replaced by a fresh ULID (the corpus is reused, set frames are idempotent).
class FrameSource {
 public:
  FrameSource(const std::vector<CorpusFrame>* corpus, std::size_t offset)
      : corpus_(corpus), pos_(offset % corpus->size()) {}

  /// Appends the next frame to `out`; returns the offset of its bq digits in `out`. `open()`
  /// tells whether a started message awaits its set frame.
  std::size_t Next(std::string& out, agentcore::FrameKind* kind = nullptr,
                   std::string* new_id = nullptr, bool* cost = nullptr) {
    for (;;) {
      const CorpusFrame& f = (*corpus_)[pos_];
      if (++pos_ == corpus_->size()) {
        pos_ = 0;
        ids_.clear();  // messages left open at the end of the corpus stay open
        continue;
      }
      std::string id;
      auto it = ids_.find(f.id);
      if (f.kind == agentcore::FrameKind::kStart) {
        if (it != ids_.end()) continue;  // a start seen twice: skip
        id = agentcore::NewUlid();
        ids_.emplace(f.id, id);
      } else if (f.kind == agentcore::FrameKind::kAppend) {
        if (it == ids_.end()) continue;  // its start was before our offset
        id = it->second;
      } else {  // set: completes a started message, or a whole message on its own
        if (it != ids_.end()) {
          id = it->second;
          ids_.erase(it);
        } else {
          id = agentcore::NewUlid();
        }
      }
      if (kind) *kind = f.kind;
      if (cost) *cost = f.cost;
      if (new_id) *new_id = id;
      std::size_t at = out.size() + kBqPrefix.size();
      out.append(kBqPrefix).append(kBqDigits, '0').append("\",\"i\":\"");
      out.append(id).push_back('"');
      out.append(f.rest);
      return at;
    }
  }
  bool open() const { return !ids_.empty(); }

 private:
  const std::vector<CorpusFrame>* corpus_;
  std::size_t pos_;
  std::unordered_map<std::string, std::string> ids_;  // corpus id -> id of this use
};

// --- WebSocket subscriber --------------------------------------------------------------------

std::atomic<bool> g_recording{false};

class Subscriber {
 public:
  explicit Subscriber(asio::io_context& io) : socket_(io) { buf_.resize(4096); }

  /// Connects, upgrades, sends the sync request and reads until its response.
  asio::awaitable<bool> Open(const Server& server, const Session& session, const std::string& channel) {
    std::error_code ec;
    co_await socket_.async_connect(server.ep, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Fail("connect: " + ec.message());
    socket_.set_option(tcp::no_delay(true), ec);
    thread_local std::mt19937_64 rng(std::random_device{}());
    std::string key_bytes(16, '\0');
    for (char& c : key_bytes) c = static_cast<char>(rng());
    std::string key = agentcore::Base64Encode(key_bytes);
    std::string head = "GET /stream HTTP/1.1\r\nHost: " + server.host_header +
                       "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
                       key + "\r\nSec-WebSocket-Version: 13\r\n" + session.CookieHeader() +
                       "\r\n";
    co_await asio::async_write(socket_, asio::buffer(head),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Fail("handshake write: " + ec.message());
    // Response head.
    for (;;) {
      std::string_view have(buf_.data(), len_);
      std::size_t end = have.find("\r\n\r\n");
      if (end != std::string_view::npos) {
        if (have.rfind("HTTP/1.1 101", 0) != 0) {
          co_return Fail("upgrade refused: " + std::string(have.substr(0, have.find('\r'))));
        }
        if (have.find(agentcore::WebSocketAccept(key)) == std::string_view::npos) {
          co_return Fail("bad Sec-WebSocket-Accept");
        }
        Consume(end + 4);
        break;
      }
      bool awaited4 = co_await ReadMore();
      if (!awaited4) co_return Fail("handshake read");
    }
    channel_ = channel;
    std::string sync = "{\"request\":\"sync\",\"channelId\":\"" + channel_ + "\",\"limit\":1}";
    bool awaited5 = co_await SendText(sync);
    if (!awaited5) {
      co_return Fail("sync write");
    }
    while (!synced_) {
      if (!ParseFrames()) co_return Fail("bad frame");
      if (synced_) break;
      bool awaited6 = co_await ReadMore();
      if (!awaited6) co_return Fail("sync read");
    }
    co_return true;
  }

  /// Reads until the connection ends.
  asio::awaitable<void> Run() {
    for (;;) {
      if (!ParseFrames()) break;
      if (!pong_.empty()) {
        std::string p;
        p.swap(pong_);
        std::error_code ec;
        co_await asio::async_write(socket_, asio::buffer(p),
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      if (closed_) break;
      bool more = co_await ReadMore();
      if (!more) break;
    }
    closed_ = true;
  }

  // Owned by this subscriber's io thread; read and reset through Pool::RunOn.
  std::vector<std::uint32_t> latencies_us;
  std::vector<std::uint32_t> set_latencies_us;  // the set frames' among them
  std::uint64_t received = 0;
  bool closed() const { return closed_; }
  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string what) {
    error_ = std::move(what);
    closed_ = true;
    return false;
  }

  asio::awaitable<bool> ReadMore() {
    if (len_ == buf_.size()) buf_.resize(buf_.size() * 2);
    std::error_code ec;
    std::size_t n = co_await socket_.async_read_some(asio::buffer(buf_.data() + len_, buf_.size() - len_),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec || n == 0) co_return false;
    len_ += n;
    co_return true;
  }

  void Consume(std::size_t n) {
    std::memmove(buf_.data(), buf_.data() + n, len_ - n);
    len_ -= n;
  }

  asio::awaitable<bool> SendText(const std::string& payload) {
    std::string frame = Masked(0x1, payload);
    std::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(frame),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  static std::string Masked(int opcode, std::string_view payload) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    if (payload.size() < 126) {
      f.push_back(static_cast<char>(0x80 | payload.size()));
    } else {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(payload.size() >> 8));
      f.push_back(static_cast<char>(payload.size() & 0xff));
    }
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < payload.size(); ++i) {
      f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    }
    return f;
  }

  /// Handles the complete frames in the buffer; false on a protocol error.
  bool ParseFrames() {
    std::size_t pos = 0;
    while (len_ - pos >= 2) {
      auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos);
      bool fin = (p[0] & 0x80) != 0;
      int op = p[0] & 0x0f;
      std::uint64_t plen = p[1] & 0x7f;
      std::size_t hdr = 2;
      if (plen == 126) {
        if (len_ - pos < 4) break;
        plen = (std::uint64_t(p[2]) << 8) | p[3];
        hdr = 4;
      } else if (plen == 127) {
        if (len_ - pos < 10) break;
        plen = 0;
        for (int i = 0; i < 8; ++i) plen = (plen << 8) | p[2 + i];
        hdr = 10;
      }
      if ((p[1] & 0x80) != 0) return Fail("masked server frame");
      if (len_ - pos < hdr + plen) {
        if (hdr + plen > buf_.size()) buf_.resize(hdr + plen + 4096);
        break;
      }
      std::string_view payload(buf_.data() + pos + hdr, plen);
      pos += hdr + plen;
      switch (op) {
        case 0x0:
        case 0x1:
        case 0x2:
          if (op != 0) fragment_.clear();
          if (fin && fragment_.empty()) {
            OnText(payload);
          } else {
            fragment_.append(payload);
            if (fin) {
              OnText(fragment_);
              fragment_.clear();
            }
          }
          break;
        case 0x8:
          closed_ = true;
          break;
        case 0x9:
          pong_ += Masked(0xA, payload);
          break;
        default:
          break;
      }
    }
    if (pos > 0) Consume(pos);
    return true;
  }

  /// Whether the broadcast line holding offset `at` is a set frame: the server writes one as
  /// `{"i":"<id>","t":…,"v":…` (its keys in spec order, extra keys such as bq after them). A
  /// set frame is broadcast after it is stored, so its latency includes the commit.
  static bool IsSetFrameLine(std::string_view text, std::size_t at) {
    std::size_t begin = text.rfind('\n', at);
    begin = begin == std::string_view::npos ? 0 : begin + 1;
    constexpr std::string_view kId = "{\"i\":\"";
    if (text.substr(begin, kId.size()) != kId) return false;
    std::size_t id_end = text.find('"', begin + kId.size());
    return id_end != std::string_view::npos && text.substr(id_end + 1, 5) == ",\"t\":";
  }

  void OnText(std::string_view text) {
    std::size_t at = text.find("\"bq\":\"");
    if (at == std::string_view::npos) {
      if (text.find("{\"sync\":") != std::string_view::npos) synced_ = true;
      return;
    }
    std::int64_t now = NowNs();
    while (at != std::string_view::npos && at + 6 + kBqDigits <= text.size()) {
      std::int64_t sent = 0;
      for (std::size_t i = 0; i < kBqDigits; ++i) sent = sent * 10 + (text[at + 6 + i] - '0');
      ++received;
      std::size_t next = text.find("\"bq\":\"", at + 6);
      if (g_recording.load(std::memory_order_relaxed)) {
        auto us = static_cast<std::uint32_t>(std::max<std::int64_t>(0, now - sent) / 1000);
        latencies_us.push_back(us);
        if (IsSetFrameLine(text, at)) set_latencies_us.push_back(us);
      }
      at = next;
    }
  }

  tcp::socket socket_;
  std::vector<char> buf_;
  std::size_t len_ = 0;
  std::string fragment_;
  std::string pong_;
  std::string channel_;
  bool synced_ = false;
  bool closed_ = false;
  std::string error_;
};

/// Opens subscribers[i] on channel channel_of(i) with at most `in_flight` handshakes at once;
/// each then keeps reading on its io thread. Returns how many failed.
template <class ChannelOf>
std::size_t OpenSubscribers(Pool& pool, const Server& server, const Session& session,
                            std::vector<std::unique_ptr<Subscriber>>& subs, ChannelOf channel_of,
                            std::size_t in_flight = 128) {
  // Subscriber i lives on context i % size; the workers of context c open c, c+size, ...
  std::vector<std::atomic<std::size_t>> next(pool.size());
  for (auto& n : next) n = 0;
  std::atomic<std::size_t> failed{0};
  std::vector<std::future<void>> done;
  std::string first_error;
  std::mutex error_mutex;
  for (std::size_t w = 0; w < std::min(in_flight, subs.size()); ++w) {
    std::size_t c = w % pool.size();
    done.push_back(asio::co_spawn(
        pool.at(c),
        [&, c]() -> asio::awaitable<void> {
          for (;;) {
            std::size_t i = c + next[c]++ * pool.size();
            if (i >= subs.size()) co_return;
            Subscriber* s = subs[i].get();
            std::string channel = channel_of(i);
            bool awaited7 = co_await s->Open(server, session, channel);
            if (awaited7) {
              asio::co_spawn(pool.at(c), s->Run(), asio::detached);
            } else if (failed++ == 0) {
              std::lock_guard lock(error_mutex);
              first_error = s->error();
            }
          }
        },
        asio::use_future));
  }
  for (auto& f : done) f.get();
  if (failed > 0) {
    std::fprintf(stderr, "subscribers: %zu failed, first: %s\n", failed.load(),
                 first_error.c_str());
  }
  return failed;
}

std::vector<std::unique_ptr<Subscriber>> MakeSubscribers(Pool& pool, std::size_t n) {
  std::vector<std::unique_ptr<Subscriber>> subs;
  subs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) subs.push_back(std::make_unique<Subscriber>(pool.at(i)));
  return subs;
}

/// Totals of received frames (and, when `take`, moves out the latencies and zeroes counters)
/// read on each subscriber's own io thread.
struct SubTotals {
  std::uint64_t received = 0;
  std::size_t closed = 0;
  std::vector<std::uint32_t> latencies_us;
  std::vector<std::uint32_t> set_latencies_us;
};
SubTotals CollectSubscribers(Pool& pool, std::vector<std::unique_ptr<Subscriber>>& subs, bool take) {
  SubTotals t;
  for (std::size_t c = 0; c < pool.size(); ++c) {
    pool.RunOn(c, [&] {
      for (std::size_t i = c; i < subs.size(); i += pool.size()) {
        Subscriber& s = *subs[i];
        t.received += s.received;
        t.closed += s.closed() ? 1 : 0;
        if (take) {
          t.latencies_us.insert(t.latencies_us.end(), s.latencies_us.begin(), s.latencies_us.end());
          std::vector<std::uint32_t>().swap(s.latencies_us);
          t.set_latencies_us.insert(t.set_latencies_us.end(), s.set_latencies_us.begin(),
                                    s.set_latencies_us.end());
          std::vector<std::uint32_t>().swap(s.set_latencies_us);
          s.received = 0;
        }
      }
    });
  }
  return t;
}

/// Waits until the subscribers together received `expected` frames or `timeout_ms` passed.
std::uint64_t WaitReceived(Pool& pool, std::vector<std::unique_ptr<Subscriber>>& subs,
                           std::uint64_t expected, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::uint64_t got = 0;
  for (;;) {
    got = CollectSubscribers(pool, subs, false).received;
    if (got >= expected || std::chrono::steady_clock::now() > deadline) return got;
    SleepMs(50);
  }
}

// --- output ---------------------------------------------------------------------------------

struct PassResult {
  double frames_per_sec = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
  double set_p99 = 0;  // of the set frames alone (stored before they are broadcast)
  std::int64_t lost = 0;
  std::uint64_t errors = 0;
  double rss = 0;
};

void PrintPass(const std::string& name, int pass, const PassResult& r, const std::string& extra) {
  std::printf(
      "{\"case\":\"%s\",\"pass\":%d,\"framesPerSec\":%s,\"p50Ms\":%s,\"p90Ms\":%s,\"p99Ms\":%s,"
      "\"maxMs\":%s,\"setP99Ms\":%s,\"lost\":%" PRId64 ",\"errors\":%" PRIu64 ",\"rssMiB\":%s%s}\n",
      name.c_str(), pass, Fmt(Round(r.frames_per_sec, 1)).c_str(), Fmt(r.p50).c_str(),
      Fmt(r.p90).c_str(), Fmt(r.p99).c_str(), Fmt(r.max).c_str(), Fmt(r.set_p99).c_str(),
      r.lost, r.errors,
      Fmt(Round(r.rss, 0.1)).c_str(), extra.c_str());
  std::fflush(stdout);
}

void PrintSummary(const std::string& name, const std::vector<PassResult>& passes,
                  const std::string& extra) {
  auto med = [&](auto field) {
    std::vector<double> v;
    for (const PassResult& p : passes) v.push_back(field(p));
    return Median(v);
  };
  std::int64_t lost = 0;
  std::uint64_t errors = 0;
  for (const PassResult& p : passes) {
    lost += p.lost;
    errors += p.errors;
  }
  std::printf(
      "{\"case\":\"%s\",\"summary\":true,\"passes\":%zu,\"framesPerSec\":%s,\"p50Ms\":%s,"
      "\"p99Ms\":%s,\"setP99Ms\":%s,\"rssMiB\":%s,\"lost\":%" PRId64 ",\"errors\":%" PRIu64
      "%s}\n",
      name.c_str(), passes.size(),
      Fmt(Round(med([](const PassResult& p) { return p.frames_per_sec; }), 1)).c_str(),
      Fmt(med([](const PassResult& p) { return p.p50; })).c_str(),
      Fmt(med([](const PassResult& p) { return p.p99; })).c_str(),
      Fmt(med([](const PassResult& p) { return p.set_p99; })).c_str(),
      Fmt(Round(med([](const PassResult& p) { return p.rss; }), 0.1)).c_str(), lost, errors,
      extra.c_str());
  std::fflush(stdout);
}

void FillLatency(PassResult& r, std::vector<std::uint32_t>& lat,
                 std::vector<std::uint32_t>* set_lat = nullptr) {
  if (set_lat != nullptr) r.set_p99 = Percentile(*set_lat, 0.99);
  r.p50 = Percentile(lat, 0.50);
  r.p90 = Percentile(lat, 0.90);
  r.p99 = Percentile(lat, 0.99);
  r.max = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()) / 1000.0;
}

struct Options {
  std::string name;
  Server server;
  unsigned threads = 2;
  int passes = 3;
  double duration_s = 10;
  std::string corpus;
  std::size_t corpus_bytes = 32u << 20;
  std::string callsign = "bench";
};

// --- case: setup (for the wrk cases) --------------------------------------------------------

int RunSetup(const Options& o, int argc, char** argv) {
  std::size_t seed = std::stoul(Arg(argc, argv, "--seed-messages", "1000"));
  Pool pool(o.threads);
  HttpConn conn(pool.at(0));
  Session session;
  std::string read_channel, write_channel;
  Await(pool.at(0), [&]() -> asio::awaitable<void> {
    bool awaited8 = co_await conn.Connect(o.server.ep);
    if (!awaited8) Die("connect failed");
    session = co_await Login(conn, o.server, o.callsign);
    const std::string read_name = "bench-read", write_name = "bench-write";
    read_channel = co_await CreateChannel(conn, o.server, session, read_name);
    write_channel = co_await CreateChannel(conn, o.server, session, write_name);
  }());
  // ~300-byte messages, no @mention; 16 connections so the store can group commits.
  std::string text =
      "Benchmark message without mentions: the quick brown fox jumps over the lazy dog, "
      "packs my box with five dozen liquor jugs and keeps on writing until the body of this "
      "request is about three hundred bytes long, which is what a typical chat line plus "
      "its JSON envelope weighs on the wire. #";
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> failed{0};
  std::vector<std::future<void>> done;
  for (std::size_t w = 0; w < 16; ++w) {
    done.push_back(asio::co_spawn(
        pool.at(w),
        [&, w]() -> asio::awaitable<void> {
          HttpConn c(pool.at(w));
          bool awaited9 = co_await c.Connect(o.server.ep);
          if (!awaited9) Die("connect failed");
          for (std::size_t i; (i = next++) < seed;) {
            std::string body = "{\"content\":" + JsonString(text + std::to_string(i)) +
                               ",\"sender\":\"bench\",\"senderType\":\"user\"}";
            std::string request = BuildRequest("POST", "/channels/" + read_channel + "/messages",
                                               o.server, session.CookieHeader(), body);
            HttpResponse r = co_await c.Send(request);
            if (r.status != 201) ++failed;
          }
        },
        asio::use_future));
  }
  for (auto& f : done) f.get();
  if (failed > 0) Die("seeding: " + std::to_string(failed.load()) + " POSTs failed");
  std::string sample_body = "{\"content\":" + JsonString(text + "0") +
                            ",\"sender\":\"bench\",\"senderType\":\"user\"}";
  std::printf(
      "{\"setup\":true,\"cookie\":\"%s\",\"spaceId\":\"%s\",\"readChannel\":\"%s\","
      "\"writeChannel\":\"%s\",\"seeded\":%zu,\"postBody\":%s}\n",
      session.cookie.c_str(), session.space_id.c_str(), read_channel.c_str(),
      write_channel.c_str(), seed, JsonString(sample_body).c_str());
  Finish(0);
}

// --- case: tymbal_ingest --------------------------------------------------------------------

class Agent {
 public:
  Agent(asio::io_context& io, const Server* server, std::string channel, std::string token,
        const std::vector<CorpusFrame>* corpus, std::size_t offset)
      : conn_(io), server_(server), source_(corpus, offset) {
    head_prefix_ = "POST /tymbal/" + channel + " HTTP/1.1\r\nHost: " + server->host_header +
                   "\r\nAuthorization: Container " + token +
                   "\r\nContent-Type: application/json\r\nContent-Length: ";
  }
  asio::awaitable<bool> Connect() { co_return co_await conn_.Connect(server_->ep); }

  /// One frame per POST until `running` is false: back to back (`interval_ns` 0: the closed
  /// loop, whose latency is that of a saturated server), or one every `interval_ns` from
  /// `start_ns` (an offered load). A paced frame carries its scheduled time, not the time it
  /// went out: an agent that fell behind its schedule counts the delay in the latency, instead
  /// of sending fewer frames and hiding it (coordinated omission).
  asio::awaitable<void> Run(const std::atomic<bool>* running, std::int64_t start_ns,
                            std::int64_t interval_ns) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    std::int64_t due = start_ns;
    while (running->load(std::memory_order_relaxed)) {
      std::int64_t stamp = NowNs();
      if (interval_ns > 0) {
        if (due > stamp) {
          timer.expires_after(std::chrono::nanoseconds(due - stamp));
          std::error_code ec;
          co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (!running->load(std::memory_order_relaxed)) break;
        }
        stamp = due;
        due += interval_ns;
      }
      bool awaited10 = co_await SendOne(stamp);
      if (!awaited10) break;
    }
  }

  /// Posts the next corpus frame stamped `stamp_ns`; false when the connection failed.
  asio::awaitable<bool> SendOne(std::int64_t stamp_ns) {
    body_.clear();
    std::size_t at = source_.Next(body_);
    head_.assign(head_prefix_).append(std::to_string(body_.size())).append("\r\n\r\n");
    PutDigits(body_.data() + at, stamp_ns);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head_), asio::buffer(body_)};
    HttpResponse r = co_await conn_.RoundTrip(bufs);
    if (r.status == 0) {
      ++errors;
      failed = true;
      co_return false;
    }
    if (r.status == 200) {
      ++ok;
    } else {
      ++errors;
      if (errors < 3) std::fprintf(stderr, "tymbal POST: %d %s\n", r.status, r.body.c_str());
    }
    co_return true;
  }

  std::uint64_t ok = 0;      // 200s: frames the subscribers must see
  std::uint64_t errors = 0;  // other statuses and broken connections
  bool failed = false;

 private:
  HttpConn conn_;
  const Server* server_;
  FrameSource source_;
  std::string head_prefix_, head_, body_;
};

int RunTymbalIngest(const Options& o, int argc, char** argv) {
  std::size_t n = std::stoul(Arg(argc, argv, "--agents", "64"));
  // --rate R: R frames/s offered in all, each agent sending one every n/R s; 0: closed loop.
  double rate = std::stod(Arg(argc, argv, "--rate", "0"));
  std::int64_t interval_ns =
      rate > 0 ? static_cast<std::int64_t>(1e9 * static_cast<double>(n) / rate) : 0;
  const char* case_name = rate > 0 ? "tymbal_ingest_paced" : "tymbal_ingest";
  auto corpus = LoadCorpus(o.corpus, o.corpus_bytes);
  Pool pool(o.threads);
  Session session;
  {
    HttpConn conn(pool.at(0));
    Await(pool.at(0), [&]() -> asio::awaitable<void> {
      bool awaited11 = co_await conn.Connect(o.server.ep);
      if (!awaited11) Die("connect failed");
      session = co_await Login(conn, o.server, o.callsign);
    }());
  }
  auto channels = CreateChannels(pool, o.server, session, "ingest-", n);
  auto subs = MakeSubscribers(pool, n);
  if (OpenSubscribers(pool, o.server, session, subs, [&](std::size_t i) { return channels[i]; }) > 0) {
    Die("subscribers failed");
  }
  std::vector<std::unique_ptr<Agent>> agents;
  for (std::size_t i = 0; i < n; ++i) {
    agents.push_back(std::make_unique<Agent>(pool.at(i), &o.server, channels[i],
                                             ContainerToken(session, channels[i], "agent" + std::to_string(i)),
                                             &corpus, i * (corpus.size() / n)));
    if (!Await(pool.at(i), agents.back()->Connect())) Die("agent connect failed");
  }
  std::vector<PassResult> results;
  for (int pass = 1; pass <= o.passes; ++pass) {
    std::atomic<bool> running{true};
    g_recording = true;
    std::vector<std::future<void>> done;
    auto t0 = std::chrono::steady_clock::now();
    // Paced agents start spread over one interval, so the offered load is even from the start.
    std::int64_t start = NowNs() + 1000000;
    for (std::size_t i = 0; i < n; ++i) {
      auto offset = interval_ns * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(n);
      done.push_back(asio::co_spawn(pool.at(i),
                                    agents[i]->Run(&running, start + offset, interval_ns),
                                    asio::use_future));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(o.duration_s));
    running = false;
    for (auto& f : done) f.get();
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::uint64_t ok = 0, errors = 0;
    for (std::size_t c = 0; c < pool.size(); ++c) {
      pool.RunOn(c, [&] {
        for (std::size_t i = c; i < n; i += pool.size()) {
          ok += agents[i]->ok;
          errors += agents[i]->errors;
          agents[i]->ok = agents[i]->errors = 0;
        }
      });
    }
    WaitReceived(pool, subs, ok, 5000);
    g_recording = false;
    SubTotals t = CollectSubscribers(pool, subs, true);
    PassResult r;
    r.frames_per_sec = static_cast<double>(ok) / elapsed;
    FillLatency(r, t.latencies_us, &t.set_latencies_us);
    r.lost = static_cast<std::int64_t>(ok) - static_cast<std::int64_t>(t.received);
    r.errors = errors;
    r.rss = RssMiB(o.server.pid);
    PrintPass(case_name, pass, r,
              ",\"agents\":" + std::to_string(n) + ",\"frames\":" + std::to_string(ok) +
                  ",\"offeredPerSec\":" + Fmt(rate) +
                  ",\"closedSubscribers\":" + std::to_string(t.closed));
    results.push_back(r);
    for (auto& a : agents) {
      if (a->failed) Die("an agent connection broke");
    }
  }
  PrintSummary(case_name, results,
               ",\"agents\":" + std::to_string(n) + ",\"offeredPerSec\":" + Fmt(rate));
  Finish(0);
}

// --- case: stream_ingest --------------------------------------------------------------------

struct Upload {
  std::string channel;
  std::string head;
  std::string body;                       // chunked: "<hex>\r\n<frame>\n\r\n"... "0\r\n\r\n"
  std::vector<std::uint32_t> bq;          // offsets of the bq digits in body
  std::vector<std::size_t> writes;        // end offsets of the write batches
  std::vector<std::string> set_ids;       // set frames that must be stored
  std::uint64_t frames = 0;
  // results
  int status = 0;
  std::uint64_t server_frames = 0, server_persisted = 0;
  std::int64_t finished_ns = 0;
};

void BuildUpload(Upload& u, FrameSource& source, std::size_t min_frames, std::size_t per_chunk,
                 std::size_t write_bytes) {
  std::string frames;
  std::size_t chunk_frames = 0;
  std::size_t last_write = 0;
  std::vector<std::size_t> pending;  // bq offsets in `frames`
  auto flush_chunk = [&] {
    if (frames.empty()) return;
    char size_line[32];
    int k = std::snprintf(size_line, sizeof size_line, "%zx\r\n", frames.size());
    std::size_t base = u.body.size() + static_cast<std::size_t>(k);
    u.body.append(size_line, static_cast<std::size_t>(k)).append(frames).append("\r\n");
    for (std::size_t off : pending) u.bq.push_back(static_cast<std::uint32_t>(base + off));
    pending.clear();
    frames.clear();
    chunk_frames = 0;
    if (u.body.size() - last_write >= write_bytes) {
      u.writes.push_back(u.body.size());
      last_write = u.body.size();
    }
  };
  // A whole turn: at least min_frames, then until every started message got its set frame.
  while (u.frames < min_frames || (source.open() && u.frames < 2 * min_frames)) {
    agentcore::FrameKind kind;
    std::string id;
    bool cost = false;
    pending.push_back(source.Next(frames, &kind, &id, &cost));
    frames.push_back('\n');
    if (kind == agentcore::FrameKind::kSet && !cost) u.set_ids.push_back(std::move(id));
    ++u.frames;
    if (++chunk_frames == per_chunk) flush_chunk();
  }
  flush_chunk();
  u.body.append("0\r\n\r\n");
  u.writes.push_back(u.body.size());
}

asio::awaitable<void> RunUpload(HttpConn& conn, Upload& u) {
  bool awaited12 = co_await conn.Write(asio::buffer(u.head));
  if (!awaited12) co_return;
  std::size_t from = 0;
  std::size_t bq = 0;
  for (std::size_t end : u.writes) {
    std::int64_t now = NowNs();
    for (; bq < u.bq.size() && u.bq[bq] < end; ++bq) PutDigits(u.body.data() + u.bq[bq], now);
    bool awaited13 = co_await conn.Write(asio::buffer(u.body.data() + from, end - from));
    if (!awaited13) co_return;
    from = end;
  }
  HttpResponse r = co_await conn.ReadResponse();
  u.finished_ns = NowNs();
  u.status = r.status;
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (r.status == 200 && !parser.parse(r.body).get(e)) {
    std::uint64_t v = 0;
    if (!e["frames"].get(v)) u.server_frames = v;
    if (!e["persisted"].get(v)) u.server_persisted = v;
  } else if (r.status != 0) {
    std::fprintf(stderr, "stream upload: %d %s\n", r.status, r.body.substr(0, 300).c_str());
  }
}

/// Counts, over every upload's channel, the set-frame ids found stored and complete.
std::uint64_t CountPersisted(Pool& pool, const Server& server, const Session& session,
                             std::vector<Upload>& uploads) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> found{0};
  std::vector<std::future<void>> done;
  for (std::size_t w = 0; w < 16; ++w) {
    done.push_back(asio::co_spawn(
        pool.at(w),
        [&, w]() -> asio::awaitable<void> {
          HttpConn c(pool.at(w));
          bool awaited14 = co_await c.Connect(server.ep);
          if (!awaited14) Die("connect failed");
          simdjson::dom::parser parser;
          for (std::size_t i; (i = next++) < uploads.size();) {
            Upload& u = uploads[i];
            std::string request =
                BuildRequest("GET", "/channels/" + u.channel + "/messages?limit=1000", server,
                             session.CookieHeader(), "");
            HttpResponse r = co_await c.Send(request);
            if (r.status != 200) continue;
            std::unordered_set<std::string_view> want(u.set_ids.begin(), u.set_ids.end());
            simdjson::dom::element doc;
            if (parser.parse(r.body).get(doc)) continue;
            simdjson::dom::array messages;
            if (doc["messages"].get(messages)) continue;
            for (simdjson::dom::element m : messages) {
              std::string_view id;
              bool complete = false;
              if (m["id"].get(id) || m["isComplete"].get(complete)) continue;
              if (complete && want.count(id) != 0) ++found;
            }
          }
        },
        asio::use_future));
  }
  for (auto& f : done) f.get();
  return found;
}

int RunStreamIngest(const Options& o, int argc, char** argv) {
  std::size_t n = std::stoul(Arg(argc, argv, "--uploads", "1000"));
  std::size_t frames_per_upload = std::stoul(Arg(argc, argv, "--frames", "1000"));
  std::size_t per_chunk = std::stoul(Arg(argc, argv, "--frames-per-chunk", "1"));
  std::size_t write_bytes = std::stoul(Arg(argc, argv, "--write-bytes", "16384"));
  auto corpus = LoadCorpus(o.corpus, o.corpus_bytes);
  Pool pool(o.threads);
  Session session;
  {
    HttpConn conn(pool.at(0));
    Await(pool.at(0), [&]() -> asio::awaitable<void> {
      bool awaited15 = co_await conn.Connect(o.server.ep);
      if (!awaited15) Die("connect failed");
      session = co_await Login(conn, o.server, o.callsign);
    }());
  }
  auto channels = CreateChannels(pool, o.server, session, "stream-", n);
  auto subs = MakeSubscribers(pool, n);
  if (OpenSubscribers(pool, o.server, session, subs, [&](std::size_t i) { return channels[i]; }) > 0) {
    Die("subscribers failed");
  }
  std::vector<PassResult> results;
  std::uint64_t all_sets = 0, all_persisted_found = 0;
  for (int pass = 1; pass <= o.passes; ++pass) {
    std::vector<Upload> uploads(n);
    std::uint64_t frames = 0, sets = 0;
    for (std::size_t i = 0; i < n; ++i) {
      Upload& u = uploads[i];
      u.channel = channels[i];
      u.head = "POST /tymbal/" + u.channel + "/stream HTTP/1.1\r\nHost: " + o.server.host_header +
               "\r\nAuthorization: Container " +
               ContainerToken(session, u.channel, "agent" + std::to_string(i)) +
               "\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n";
      FrameSource source(&corpus, i * (corpus.size() / n) + static_cast<std::size_t>(pass) * 997);
      BuildUpload(u, source, frames_per_upload, per_chunk, write_bytes);
      frames += u.frames;
      sets += u.set_ids.size();
    }
    std::vector<std::unique_ptr<HttpConn>> conns;
    for (std::size_t i = 0; i < n; ++i) {
      conns.push_back(std::make_unique<HttpConn>(pool.at(i)));
      if (!Await(pool.at(i), conns.back()->Connect(o.server.ep))) Die("upload connect failed");
    }
    g_recording = true;
    std::vector<std::future<void>> done;
    std::int64_t t0 = NowNs();
    for (std::size_t i = 0; i < n; ++i) {
      done.push_back(asio::co_spawn(pool.at(i), RunUpload(*conns[i], uploads[i]), asio::use_future));
    }
    for (auto& f : done) f.get();
    std::int64_t t_end = t0;
    std::uint64_t server_frames = 0, server_persisted = 0, failed = 0;
    for (const Upload& u : uploads) {
      t_end = std::max(t_end, u.finished_ns);
      server_frames += u.server_frames;
      server_persisted += u.server_persisted;
      if (u.status != 200) ++failed;
    }
    double elapsed = static_cast<double>(t_end - t0) / 1e9;
    WaitReceived(pool, subs, frames, 20000);
    g_recording = false;
    SubTotals t = CollectSubscribers(pool, subs, true);
    std::uint64_t found = CountPersisted(pool, o.server, session, uploads);
    all_sets += sets;
    all_persisted_found += found;
    PassResult r;
    r.frames_per_sec = static_cast<double>(server_frames) / elapsed;
    FillLatency(r, t.latencies_us, &t.set_latencies_us);
    r.lost = static_cast<std::int64_t>(frames) - static_cast<std::int64_t>(t.received);
    r.errors = failed;
    r.rss = RssMiB(o.server.pid);
    PrintPass("stream_ingest", pass, r,
              ",\"uploads\":" + std::to_string(n) + ",\"framesSent\":" + std::to_string(frames) +
                  ",\"framesApplied\":" + std::to_string(server_frames) +
                  ",\"seconds\":" + Fmt(elapsed) + ",\"setFrames\":" + std::to_string(sets) +
                  ",\"serverPersisted\":" + std::to_string(server_persisted) +
                  ",\"setFramesStored\":" + std::to_string(found) +
                  ",\"closedSubscribers\":" + std::to_string(t.closed));
    results.push_back(r);
    for (std::size_t c = 0; c < pool.size(); ++c) {
      pool.RunOn(c, [&] {
        for (std::size_t i = c; i < n; i += pool.size()) conns[i].reset();
      });
    }
  }
  PrintSummary("stream_ingest", results,
               ",\"uploads\":" + std::to_string(n) + ",\"setFrames\":" + std::to_string(all_sets) +
                   ",\"setFramesStored\":" + std::to_string(all_persisted_found) +
                   ",\"allSetFramesStored\":" + (all_sets == all_persisted_found ? "true" : "false"));
  Finish(0);
}

// --- case: fanout ---------------------------------------------------------------------------

int RunFanout(const Options& o, int argc, char** argv) {
  std::size_t n = std::stoul(Arg(argc, argv, "--subscribers", "10000"));
  int period_ms = std::stoi(Arg(argc, argv, "--period-ms", "50"));
  double duration = std::stod(Arg(argc, argv, "--duration", "5"));
  auto corpus = LoadCorpus(o.corpus, 1u << 20);
  Pool pool(o.threads);
  Session session;
  std::string channel;
  HttpConn publisher(pool.at(0));
  Await(pool.at(0), [&]() -> asio::awaitable<void> {
    bool awaited16 = co_await publisher.Connect(o.server.ep);
    if (!awaited16) Die("connect failed");
    session = co_await Login(publisher, o.server, o.callsign);
    const std::string name = "fanout";
    channel = co_await CreateChannel(publisher, o.server, session, name);
  }());
  double rss_before = RssMiB(o.server.pid);
  auto subs = MakeSubscribers(pool, n);
  auto t_open = std::chrono::steady_clock::now();
  // --subscribe-port: the subscribers on another server of the same database (a cluster,
  // docs/cluster.md), the publisher staying on --port: the frames cross servers.
  Server sub_server = o.server;
  if (const std::string sub_port = Arg(argc, argv, "--subscribe-port", ""); !sub_port.empty()) {
    sub_server.ep = tcp::endpoint(o.server.ep.address(), static_cast<unsigned short>(std::stoi(sub_port)));
    sub_server.host_header = o.server.ep.address().to_string() + ":" + sub_port;
  }
  std::size_t failed_subs = OpenSubscribers(pool, sub_server, session, subs, [&](std::size_t) { return channel; });
  double open_s = SecondsSince(t_open);
  std::printf("{\"case\":\"fanout\",\"subscribersOpen\":%zu,\"failed\":%zu,\"openSeconds\":%s,"
              "\"rssBeforeMiB\":%s,\"rssMiB\":%s}\n",
              n - failed_subs, failed_subs, Fmt(open_s).c_str(), Fmt(Round(rss_before, 0.1)).c_str(),
              Fmt(Round(RssMiB(o.server.pid), 0.1)).c_str());
  std::fflush(stdout);
  std::string token = ContainerToken(session, channel, "publisher");
  std::string head_prefix = "POST /tymbal/" + channel + " HTTP/1.1\r\nHost: " +
                            o.server.host_header + "\r\nAuthorization: Container " + token +
                            "\r\nContent-Type: application/json\r\nContent-Length: ";
  // The deltas of corpus append frames, one per publish.
  std::vector<const CorpusFrame*> appends;
  for (const CorpusFrame& f : corpus) {
    if (f.kind == agentcore::FrameKind::kAppend) appends.push_back(&f);
  }
  std::vector<PassResult> results;
  for (int pass = 1; pass <= o.passes; ++pass) {
    g_recording = true;
    std::uint64_t sent = 0, errors = 0;
    double elapsed = 0;
    Await(pool.at(0), [&]() -> asio::awaitable<void> {
      asio::steady_timer timer(pool.at(0));
      std::string id = agentcore::NewUlid();
      auto t0 = std::chrono::steady_clock::now();
      auto next = t0;
      std::size_t k = static_cast<std::size_t>(pass) * 1000;
      for (bool first = true; std::chrono::steady_clock::now() - t0 <
                              std::chrono::duration<double>(duration);
           first = false) {
        std::string body;
        std::size_t at = kBqPrefix.size();
        body.append(kBqPrefix).append(kBqDigits, '0').append("\",\"i\":\"").append(id).push_back('"');
        if (first) {
          body.append(",\"m\":{\"type\":\"agent\",\"sender\":\"publisher\",\"senderType\":\"agent\"}}");
        } else {
          body.append(appends[k++ % appends.size()]->rest);
        }
        std::string head = head_prefix + std::to_string(body.size()) + "\r\n\r\n";
        PutDigits(body.data() + at, NowNs());
        std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
        HttpResponse r = co_await publisher.RoundTrip(bufs);
        if (r.status == 0) Die("publisher connection broke");
        if (r.status == 200) {
          ++sent;
        } else {
          ++errors;
        }
        next += std::chrono::milliseconds(period_ms);
        timer.expires_at(next);
        std::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      elapsed = SecondsSince(t0);
    }());
    std::uint64_t expected = sent * (n - failed_subs);
    WaitReceived(pool, subs, expected, 20000);
    g_recording = false;
    SubTotals t = CollectSubscribers(pool, subs, true);
    PassResult r;
    r.frames_per_sec = static_cast<double>(sent) / elapsed;
    FillLatency(r, t.latencies_us, &t.set_latencies_us);
    r.lost = static_cast<std::int64_t>(expected) - static_cast<std::int64_t>(t.received);
    r.errors = errors;
    r.rss = RssMiB(o.server.pid);
    PrintPass("fanout", pass, r,
              ",\"subscribers\":" + std::to_string(n - failed_subs) + ",\"published\":" +
                  std::to_string(sent) + ",\"deliveries\":" + std::to_string(t.received) +
                  ",\"closedSubscribers\":" + std::to_string(t.closed));
    results.push_back(r);
  }
  PrintSummary("fanout", results,
               ",\"subscribers\":" + std::to_string(n - failed_subs) +
                   ",\"periodMs\":" + std::to_string(period_ms) + ",\"crossServer\":" +
                   (sub_server.ep == o.server.ep ? "false" : "true"));
  Finish(0);
}

// --- case: memory ---------------------------------------------------------------------------

int RunMemory(const Options& o, int argc, char** argv) {
  std::size_t n_subs = std::stoul(Arg(argc, argv, "--subscribers", "10000"));
  std::size_t n_agents = std::stoul(Arg(argc, argv, "--idle-agents", "1000"));
  std::size_t n_channels = std::stoul(Arg(argc, argv, "--channels", "100"));
  Pool pool(o.threads);
  Session session;
  {
    HttpConn conn(pool.at(0));
    Await(pool.at(0), [&]() -> asio::awaitable<void> {
      bool awaited17 = co_await conn.Connect(o.server.ep);
      if (!awaited17) Die("connect failed");
      session = co_await Login(conn, o.server, o.callsign);
    }());
  }
  auto channels = CreateChannels(pool, o.server, session, "idle-", n_channels);
  SleepMs(500);
  double rss_before = RssMiB(o.server.pid);
  auto subs = MakeSubscribers(pool, n_subs);
  std::size_t failed_subs = OpenSubscribers(pool, o.server, session, subs,
                                            [&](std::size_t i) { return channels[i % n_channels]; });
  // Idle agent connections: each posts one start frame with keep-alive, then stays open.
  std::vector<std::unique_ptr<HttpConn>> agents;
  std::atomic<std::size_t> failed_agents{0};
  for (std::size_t i = 0; i < n_agents; ++i) agents.push_back(std::make_unique<HttpConn>(pool.at(i)));
  std::vector<std::atomic<std::size_t>> next_of(pool.size());
  for (auto& x : next_of) x = 0;
  std::vector<std::future<void>> done;
  for (std::size_t w = 0; w < std::min<std::size_t>(64, n_agents); ++w) {
    std::size_t c = w % pool.size();
    done.push_back(asio::co_spawn(
        pool.at(c),
        [&, c]() -> asio::awaitable<void> {
          for (;;) {
            std::size_t i = c + next_of[c]++ * pool.size();
            if (i >= n_agents) co_return;
            HttpConn& conn = *agents[i];
            bool ok = co_await conn.Connect(o.server.ep);
            if (ok) {
              const std::string& ch = channels[i % n_channels];
              std::string body = "{\"i\":\"" + agentcore::NewUlid() +
                                 "\",\"m\":{\"type\":\"agent\",\"sender\":\"a" +
                                 std::to_string(i) + "\"}}";
              std::string req = "POST /tymbal/" + ch + " HTTP/1.1\r\nHost: " +
                                o.server.host_header + "\r\nAuthorization: Container " +
                                ContainerToken(session, ch, "a" + std::to_string(i)) +
                                "\r\nContent-Type: application/json\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
              HttpResponse r = co_await conn.Send(req);
              ok = r.status == 200;
            }
            if (!ok) ++failed_agents;
          }
        },
        asio::use_future));
  }
  for (auto& f : done) f.get();
  SleepMs(2000);
  std::vector<double> samples;
  for (int i = 0; i < std::max(o.passes, 1); ++i) {
    samples.push_back(RssMiB(o.server.pid));
    std::printf("{\"case\":\"memory\",\"pass\":%d,\"rssMiB\":%s}\n", i + 1,
                Fmt(Round(samples.back(), 0.1)).c_str());
    std::fflush(stdout);
    SleepMs(1000);
  }
  SubTotals t = CollectSubscribers(pool, subs, false);
  double rss = Median(samples);
  std::printf(
      "{\"case\":\"memory\",\"summary\":true,\"framesPerSec\":null,\"p50Ms\":null,\"p99Ms\":null,"
      "\"rssMiB\":%s,\"lost\":0,\"rssBeforeMiB\":%s,\"subscribers\":%zu,\"agentConnections\":%zu,"
      "\"closedSubscribers\":%zu,\"kibPerConnection\":%s}\n",
      Fmt(Round(rss, 0.1)).c_str(), Fmt(Round(rss_before, 0.1)).c_str(), n_subs - failed_subs,
      n_agents - failed_agents.load(), t.closed,
      Fmt(Round((rss - rss_before) * 1024.0 / static_cast<double>(n_subs + n_agents), 0.01)).c_str());
  Finish(0);
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit();
  Options o;
  o.name = Arg(argc, argv, "--case", "");
  std::string host = Arg(argc, argv, "--host", "127.0.0.1");
  int port = std::stoi(Arg(argc, argv, "--port", "3234"));
  o.server.ep = tcp::endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port));
  o.server.host_header = host + ":" + std::to_string(port);
  o.server.pid = std::stol(Arg(argc, argv, "--server-pid", "0"));
  o.threads = static_cast<unsigned>(std::stoul(Arg(argc, argv, "--threads", "2")));
  o.passes = std::stoi(Arg(argc, argv, "--passes", "3"));
  o.duration_s = std::stod(Arg(argc, argv, "--duration", "10"));
  o.corpus = Arg(argc, argv, "--corpus", "/tmp/agentcore-bench/data/timbal.ndjson");
  o.corpus_bytes = std::stoul(Arg(argc, argv, "--corpus-mb", "32")) << 20;
  o.callsign = Arg(argc, argv, "--callsign", "bench");
  if (o.name == "setup") return RunSetup(o, argc, argv);
  if (o.name == "tymbal_ingest") return RunTymbalIngest(o, argc, argv);
  if (o.name == "stream_ingest") return RunStreamIngest(o, argc, argv);
  if (o.name == "fanout") return RunFanout(o, argc, argv);
  if (o.name == "memory") return RunMemory(o, argc, argv);
  std::fprintf(stderr,
               "usage: %s --case setup|tymbal_ingest|stream_ingest|fanout|memory --port P "
               "[--server-pid PID] [options]\n",
               argv[0]);
  return 2;
}
