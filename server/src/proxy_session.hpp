// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Octo's proxies (docs/sessions.md "Proxies"): `/sessions/:id/<service>/*`, `/sessions/:id/
/// terminal` and `/session/:id/term` forward a request to a port inside the session.
///
/// The handler (handlers/sessions.cpp) resolves the endpoint (SessionService::ServiceEndpoint)
/// and connects (ConnectUpstream); ProxySession then owns both sockets:
///   - it writes the forwarded request head (ForwardedHead: the path after the service, the
///     query kept, hop-by-hop headers and the caller's credentials dropped, `X-Forwarded-For`
///     and `-Proto` added, `Connection: close`, or `Connection: Upgrade` for a WebSocket
///     upgrade) and the request body;
///   - then it is a byte tunnel: whatever the upstream answers (a 101 included) goes to the
///     client as it comes; after an upgrade the client's bytes go upstream too. It ends when
///     either side closes (the other is closed too), when a write takes longer than the
///     write deadline, or when no byte moved for the idle limit.
/// Memory: one 16 KiB buffer per direction. The upstream response is never parsed.
///
/// Owned by the HTTP engine (shared_ptr) and by its own pending handlers; lives on the
/// connection's io thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <agentcore/result.hpp>

#include "http/message.hpp"
#include "http/request_context.hpp"

namespace agentcore::server {

/// Whether the request asks for a protocol upgrade (`Upgrade` present and `Connection`
/// naming it), which the proxy forwards as such.
bool IsUpgradeRequest(const Request& request);

/// The request head sent upstream for `request`, to path `path` (starting with '/'; the
/// query of `request` is appended), carrying `body_bytes` of body. Pure.
std::string ForwardedHead(const Request& request, std::string_view path, std::size_t body_bytes);

/// Connects to `*endpoint` ("host:port", a numeric host) within `timeout_ms`, on `*executor`.
/// kUnavailable when refused or not answered in time (retry later), kInvalidArgument for an
/// endpoint that is not host:port. (Pointers and numbers only: GCC 12 and coroutine
/// parameters of class type, docs/threading.md.)
asio::awaitable<Result<asio::ip::tcp::socket>> ConnectUpstream(
    const asio::any_io_executor* executor, const std::string* endpoint, std::int64_t timeout_ms);

class ProxySession final : public Upgrade, public std::enable_shared_from_this<ProxySession> {
 public:
  /// `head` and `body` are written upstream first; `tunnel_client` (an upgrade): the client's
  /// bytes after the request head go upstream too.
  ProxySession(asio::ip::tcp::socket upstream, std::string head, std::string body,
               bool tunnel_client, std::chrono::milliseconds write_timeout,
               std::chrono::milliseconds idle_timeout);

  asio::awaitable<void> Run(asio::ip::tcp::socket& socket, std::string leftover) override;
  void Stop() override;

 private:
  using SteadyClock = std::chrono::steady_clock;
  /// Copies `from` to `to` until EOF or an error; then the tunnel ends.
  asio::awaitable<void> Pipe(asio::ip::tcp::socket* from, asio::ip::tcp::socket* to);
  /// Writes all of `bytes` to `to` within the write deadline.
  asio::awaitable<bool> WriteAll(asio::ip::tcp::socket* to, std::string_view bytes);
  asio::awaitable<void> Watchdog();
  void CloseBoth();

  // Constant after construction.
  const std::chrono::milliseconds write_timeout_;
  const std::chrono::milliseconds idle_timeout_;
  const bool tunnel_client_;

  asio::ip::tcp::socket upstream_;
  asio::ip::tcp::socket* client_ = nullptr;
  std::string head_;
  std::string body_;
  std::unique_ptr<asio::steady_timer> timer_;  // the watchdog's
  std::unique_ptr<asio::steady_timer> done_;   // Run waits on it for the pipes to end
  SteadyClock::time_point last_progress_ = SteadyClock::now();
  int writes_pending_ = 0;
  bool closed_ = false;
  int pipes_running_ = 0;
};

}  // namespace agentcore::server
