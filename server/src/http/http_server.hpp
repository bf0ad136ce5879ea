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
  std::size_t max_connections = 20'000;
};

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
