// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <agentcore/hub/credentials.hpp>
#include <agentcore/result.hpp>

#include "http/message.hpp"
#include "http/router.hpp"

namespace agentcore::server {

class App;

/// What a handler gets: the request, its path parameters, the application and the executor of
/// the connection (a handler that offloads blocking work resumes there).
class RequestContext {
 public:
  RequestContext(Request* request, App* app, asio::any_io_executor executor)
      : request_(request), app_(app), executor_(std::move(executor)) {}

  Request& request() { return *request_; }
  const std::string& Param(std::string_view name) const { return params_.Get(name); }
  PathParams& params() { return params_; }
  App& app() { return *app_; }
  const asio::any_io_executor& executor() const { return executor_; }
  /// The caller, once authenticated in this request (success or failure): the rate-limit
  /// guard authenticates before the handler, and AuthenticateCaller answers from here, so a
  /// request is authenticated once.
  std::optional<Result<Principal>>& principal() { return principal_; }

 private:
  Request* request_;
  App* app_;
  asio::any_io_executor executor_;
  PathParams params_;
  std::optional<Result<Principal>> principal_;
};

/// A connection taken over after a response head: WebSocket and SSE. `Run` owns the socket
/// until it returns; `leftover` holds bytes the client sent after the request head.
class Upgrade {
 public:
  virtual ~Upgrade() = default;
  virtual asio::awaitable<void> Run(asio::ip::tcp::socket& socket, std::string leftover) = 0;
  /// Asked to end (server shutdown): close with a proper goodbye, soon.
  virtual void Stop() = 0;
};

}  // namespace agentcore::server
