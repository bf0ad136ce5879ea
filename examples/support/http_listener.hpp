// SPDX-License-Identifier: Apache-2.0
#pragma once

/// A small HTTP/1.1 server on plain POSIX sockets: all an agent needs to receive the hub's
/// pushes (spec cast §5.3) without a networking library. One thread accepts; each connection
/// gets a thread of its own that reads a request, runs its handler and writes the answer, and
/// keeps the connection open for the next one (keep-alive, as the hub's HTTP client reuses its
/// connections; pipelined requests are answered in order).
///
/// Requests are bounded (head, body, time) and a request that breaks a bound or HTTP's syntax
/// is answered with a 4xx (400 malformed, 404 unknown path, 405 wrong method, 408 too slow,
/// 413 body too large, 431 head too large, 501 unknown transfer coding) in the JSON form
/// `{"error":"<code>","message":"<text>"}` and the connection is closed. Bodies may come with
/// Content-Length or chunked; `Expect: 100-continue` is honoured.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <agentcore/result.hpp>

namespace example_http {

/// One request as a handler sees it. Owned.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // target without the query (not percent-decoded)
  std::vector<std::pair<std::string, std::string>> headers;  // in order, values trimmed
  std::string body;                                          // the whole (de-chunked) body

  /// The value of the first header named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> Find(std::string_view name) const;
};

/// A handler's answer; the body is sent as application/json.
struct HttpReply {
  int status = 200;
  std::string body;
};

/// `{"error":"<code>","message":"<text>"}` with that status.
HttpReply CodedError(int status, std::string_view code, std::string_view message);

/// A handler; called on the connection's thread, so concurrently for different connections.
using HttpHandler = std::function<HttpReply(const HttpRequest&)>;

struct HttpRoute {
  std::string method;
  std::string path;  // matched exactly against HttpRequest::path
  HttpHandler handler;
};

struct HttpListenerOptions {
  std::string host = "127.0.0.1";  // a numeric IPv4 address
  std::uint16_t port = 0;          // 0: an ephemeral port (see HttpListener::port())
  std::size_t max_head_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds head_timeout{10'000};   // from a request's first byte to its head's end
  std::chrono::milliseconds body_timeout{30'000};   // between two pieces of a body
  std::chrono::milliseconds idle_timeout{60'000};   // a kept-alive connection with no request
  std::chrono::milliseconds write_timeout{30'000};  // one answer
  std::size_t max_connections = 64;                 // more are answered 503 and closed
};

/// See the top of this file. Thread-safe. Owns its sockets and threads; the routes' handlers
/// (and what they capture) must outlive it.
class HttpListener {
 public:
  /// Binds, listens and starts accepting. kInvalidArgument: `options.host` is not an IPv4
  /// address; kUnavailable: the socket cannot be bound (the message says why).
  static agentcore::Result<std::unique_ptr<HttpListener>> Start(HttpListenerOptions options,
                                                                std::vector<HttpRoute> routes);
  ~HttpListener();  // Stop()
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  /// The bound port.
  std::uint16_t port() const { return port_; }

  /// Stops accepting, cuts every open connection (a handler already running finishes first)
  /// and waits for their threads. Idempotent.
  void Stop();

 private:
  class Connection;
  HttpListener(HttpListenerOptions options, std::vector<HttpRoute> routes, int listen_fd,
               std::uint16_t port);
  void AcceptLoop();
  void Serve(int fd);
  /// The route's answer, or 404/405.
  HttpReply Dispatch(const HttpRequest& request) const;

  // Constant after Start().
  const HttpListenerOptions options_;
  const std::vector<HttpRoute> routes_;
  const int listen_fd_;
  const std::uint16_t port_;
  std::thread acceptor_;

  std::mutex mu_;
  std::condition_variable idle_;  // signalled when a connection ends
  bool stopping_ = false;         // guarded by mu_
  std::set<int> connections_;     // guarded by mu_: the open connections' sockets
};

}  // namespace example_http
