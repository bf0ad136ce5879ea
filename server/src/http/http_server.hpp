// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The HTTP/1.1 engine: one io_context per thread, each with its own SO_REUSEPORT acceptor
/// (the kernel spreads connections), so a connection lives on one thread from accept to close
/// and needs no strand. Requests are parsed with Node's http-parser; keep-alive, pipelining and
/// chunked bodies are supported; limits and deadlines answer 413/431/408/400 and close.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>

#include <agentcore/result.hpp>

#include "http/router.hpp"

namespace agentcore::server {

class App;

struct HttpLimits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;  // routes may set their own
  std::chrono::milliseconds header_timeout{10'000};  // from the first byte to the end of the head
  std::chrono::milliseconds body_timeout{30'000};    // between two pieces of a body
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive connection with no request
  std::chrono::milliseconds write_timeout{30'000};
  /// From the first byte of a request to the end of its body, whatever the pace of the
  /// pieces (a body trickled a byte at a time ends here). Not for streaming routes: those
  /// must keep up `stream_min_bytes_per_second` instead.
  std::chrono::milliseconds request_timeout{60'000};
  /// A streamed upload (a route with a BodyConsumer) must deliver at least this many body
  /// bytes per second, averaged over each `stream_rate_window`; 0 turns the check off.
  std::size_t stream_min_bytes_per_second = 1024;
  std::chrono::milliseconds stream_rate_window{30'000};
  /// Open connections at most; past it a connection gets a 503 and is closed. 0: derived
  /// from RLIMIT_NOFILE at Start (DefaultMaxConnections).
  std::size_t max_connections = 0;
};

/// The connection limit a file-descriptor limit of `nofile` leaves room for: the store,
/// agents' pipes and logs keep 64 descriptors plus an eighth of the limit (at least 8).
std::size_t DefaultMaxConnections(std::uint64_t nofile);
/// DefaultMaxConnections of the process's current soft RLIMIT_NOFILE.
std::size_t DefaultMaxConnections();
/// Raises the soft RLIMIT_NOFILE of the process to its hard limit (agentcore-server does it
/// at start); returns the soft limit in force afterwards.
std::uint64_t RaiseFileLimit();

/// One line per request for the access log (written by the server's owner).
struct AccessRecord {
  std::string_view method;
  std::string_view path;
  int status = 0;
  std::uint64_t micros = 0;
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
  std::string_view remote;
};

/// Counters of the engine, for /metrics. Relaxed atomics: monotonic counts read at any time.
struct HttpStats {
  std::atomic<std::uint64_t> requests_by_class[6] = {};  // index status / 100 (1xx..5xx), 0: other
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_refused{0};  // over max_connections
  std::atomic<std::uint64_t> latency_micros_total{0};
};

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 0;  // 0: an ephemeral port (see HttpServer::port())
  unsigned threads = 1;
  HttpLimits limits;
  std::function<void(const AccessRecord&)> access_log;  // may be empty
};

/// What the engine made of one request of a byte stream (HttpServer::ParseForTesting).
struct ParsedRequest {
  int status = 0;  // 0: parsed and routed; else the engine's own answer (400, 413, 431)
  std::string method;
  std::string path;
  Router::MatchKind kind = Router::MatchKind::kNoPath;
  std::size_t body_bytes = 0;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, const Router* router, App* app);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts the threads. kUnavailable when the port cannot be bound.
  Status Start();
  std::uint16_t port() const { return port_; }

  /// Stops accepting, asks idle connections to close and upgrades to say goodbye, lets
  /// in-flight requests finish until `deadline`, then closes whatever is left and joins the
  /// threads. Safe to call more than once.
  void Stop(std::chrono::milliseconds deadline);

  /// The io_context of thread `i` (< options.threads).
  asio::io_context& context(unsigned i);

  std::size_t open_connections() const { return open_connections_.load(); }

  /// Runs `bytes`, as one connection's input, through what a connection does before any
  /// handler (the strict check, http-parser, routing, body limits) without a socket or a
  /// thread: the requests in order, the last one the engine's refusal if there is one. No
  /// handler runs (a streaming route's body is counted, not consumed). `*ambiguous` is set
  /// when the strict check and the parser disagree on where a request ends (a bug: the
  /// server refuses such a request). For fuzzing; call on a server that is not started.
  std::vector<ParsedRequest> ParseForTesting(std::string_view bytes, bool* ambiguous);
  const HttpStats& stats() const { return stats_; }

  struct Shard;  // one thread, its io_context, acceptor and connections

 private:
  HttpServerOptions options_;
  const Router* router_;
  App* app_;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> open_connections_{0};
  HttpStats stats_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;

  friend class HttpConnection;
};

}  // namespace agentcore::server
