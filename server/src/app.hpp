// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The composition root: the store, the HTTP engine and its routes, the broadcaster, the pool
/// for blocking store calls, credentials. Start and Stop order everything. The agents' timer
/// (one steady_timer on an io context) calls the hub's AgentService::Sweep on the pool.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/hub/auth_throttle.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/hub/rate_limits.hpp>
#include <agentcore/result.hpp>
#include <agentcore/store/store.hpp>
#include <agentcore/ulid.hpp>

#include "broadcaster.hpp"
#include "config.hpp"
#include "hub_adapters.hpp"
#include "http/http_server.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "rate_limit_guard.hpp"
#include "read_cache.hpp"

namespace agentcore::server {


class App {
 public:
  /// Opens the store (migrating it), builds the routes. Nothing listens yet.
  static Result<std::unique_ptr<App>> Open(ServerConfig config, Clock* clock = SystemClock());
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// Binds the port and starts the io threads.
  Status Start();
  /// Graceful: stop accepting, finish in-flight requests within the grace period, close
  /// subscribers, flush the store. Safe to call twice.
  void Stop();
  std::uint16_t port() const { return http_ ? http_->port() : 0; }

  const ServerConfig& config() const { return config_; }
  /// The application (libagentcore's hub): store, runtimes, agents, ingest.
  Hub& hub() { return *hub_; }
  Store& store() { return hub_->store(); }
  Broadcaster& broadcaster() { return broadcaster_; }
  Clock& clock() { return *clock_; }
  std::string NewId() { return hub_->NewId(); }
  std::size_t open_connections() const { return http_ ? http_->open_connections() : 0; }
  const HttpStats* http_stats() const { return http_ ? &http_->stats() : nullptr; }
  /// Exact cache of the message routes' reads (read_cache.hpp); check enabled() and the
  /// store's versions before use.
  ReadCache& read_cache() { return read_cache_; }
  /// The OpenAPI document of the route table (openapi/document.hpp), built by Open.
  const std::string& openapi_document() const { return openapi_document_; }
  /// The pool for blocking calls (store, runtime, pushes to agents).
  asio::thread_pool& blocking_pool() { return blocking_; }

  /// Runs `fn` (a blocking store call) on the blocking pool; the awaiting coroutine resumes on
  /// its own executor with the result. Built on AwaitCallback: the pool thread is the callback.
  template <typename F>
  asio::awaitable<std::invoke_result_t<F&>> Offload(F fn) {
    using R = std::invoke_result_t<F&>;
    return AwaitCallback<R>([this, fn = std::move(fn)](auto done) mutable {
      asio::post(blocking_, [fn = std::move(fn), done = std::move(done)]() mutable {
        done(fn());
      });
    });
  }

  /// Awaits a store call that reports through a callback (`start(done)` must call
  /// `done(T)` exactly once, on any thread). The coroutine resumes on its own executor: the
  /// result is posted there. No thread waits in between.
  template <typename T, typename Start>
  asio::awaitable<T> AwaitCallback(Start start) {
    // The closure travels as a raw pointer on purpose: asio's use_awaitable initiation is a
    // coroutine taking its arguments by value, and GCC 12 copies a closure argument there
    // byte-wise (its std::string members kept pointers into the first frame: invalid frees).
    Start* task = new Start(std::move(start));
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
        [task](auto handler) {
          std::unique_ptr<Start> owned(task);
          using CompletionHandler = decltype(handler);
          auto executor = asio::get_associated_executor(handler);
          // Shared: the store's callback is a (copyable) std::function.
          auto shared = std::make_shared<CompletionHandler>(std::move(handler));
          (*owned)([shared = std::move(shared), executor](T result) mutable {
            asio::post(executor,
                       [shared = std::move(shared), result = std::move(result)]() mutable {
                         std::move(*shared)(std::move(result));
                       });
          });
        },
        asio::use_awaitable);
  }


  // --- credentials ---------------------------------------------------------------------------

  /// The request's `Authorization` and `Cookie` headers through the hub's
  /// CredentialService::Authenticate (session cookie or API key; "Authentication required").
  /// Reads the store for an API key (CredentialService::ReadsStore).
  Result<Principal> Authenticate(const Request& request);
  /// The request's `Authorization` header through CredentialService::AuthenticateContainer
  /// (§4.2): the token's agent; Cast's texts on failure.
  Result<AgentIdentity> AuthenticateContainer(const Request& request);
  const std::string& jwt_secret() const { return hub_->jwt_secret(); }
  /// Failed authentications per client IP (auth_guard.hpp).
  AuthThrottle& auth_throttle() { return *auth_throttle_; }
  /// Request rate limits per API key or user, and per client IP (rate_limit_guard.hpp).
  RateLimiter& caller_limiter() { return *caller_limiter_; }
  RateLimiter& address_limiter() { return *address_limiter_; }
  const std::string& container_secret() const { return hub_->container_secret(); }
  std::string ContainerToken(const AgentIdentity& id) const { return hub_->ContainerToken(id); }

  // --- broadcasting --------------------------------------------------------------------------

  /// Whether any WebSocket or SSE subscriber exists (any channel, any thread): publishers may
  /// skip building a frame nobody receives.
  bool HasSubscribers() const { return broadcaster_.SubscriberCount() != 0; }
  /// Sends one Tymbal line to every subscriber of the channel (WebSocket and SSE).
  /// `event_id` and `seq`: the stored message's (Message::id, Message::seq), if any.
  void Publish(std::string channel_id, std::string event_id, std::string line,
               std::uint64_t seq = 0) {
    if (!HasSubscribers()) return;  // nobody to encode the frame for
    broadcaster_.Publish(MakeOutFrame(std::move(channel_id), std::move(event_id),
                                      std::move(line), seq));
  }

 private:
  App(ServerConfig config, Clock* clock);
  void WriteAccessLog(const AccessRecord& record);
  /// Arms the sweep timer: every config().agent_sweep_interval, AgentService::Sweep runs on
  /// the blocking pool (never on the io thread); a tick is skipped while the last one runs.
  void ScheduleSweep();

  ServerConfig config_;
  Clock* clock_;
  ReadCache read_cache_;
  Broadcaster broadcaster_;
  Router router_;
  std::string openapi_document_;
  asio::thread_pool blocking_;
  // The hub's seams over the broadcaster and the pool; the hub is destroyed before them.
  BroadcastPublisher publisher_{&broadcaster_};
  PoolExecutor executor_{&blocking_};
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<AuthThrottle> auth_throttle_;  // before http_: handlers use it
  // Request rate limits (rate_limit_guard.hpp); before http_: the routes use them.
  std::unique_ptr<RateLimiter> caller_limiter_;
  std::unique_ptr<RateLimiter> address_limiter_;
  RateLimitGuard rate_limit_guard_;
  std::unique_ptr<HttpServer> http_;
  // After http_: destroyed before the io context it runs on.
  std::unique_ptr<asio::steady_timer> sweep_timer_;
  std::atomic<bool> sweep_running_{false};
  bool stopped_ = false;
};

}  // namespace agentcore::server
