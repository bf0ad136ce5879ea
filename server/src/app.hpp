// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The composition root: the store, the HTTP engine and its routes, the broadcaster, the pool
/// for blocking store calls, credentials. Start and Stop order everything. The agents' timer
/// (one steady_timer on an io context) calls the hub's AgentService::Sweep on the pool.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
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
#include <agentcore/hub/hub.hpp>
#include <agentcore/result.hpp>
#include <agentcore/store/store.hpp>
#include <agentcore/ulid.hpp>

#include "broadcaster.hpp"
#include "config.hpp"
#include "hub_adapters.hpp"
#include "http/http_server.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "read_cache.hpp"

namespace agentcore::server {

/// Who is calling a session-authenticated route.
struct Principal {
  enum class Kind { kSession, kApiKey };
  Kind kind = Kind::kSession;
  std::string space_id;
  std::string user_id;  // sessions only
  std::string mode;     // sessions: "dev" | "workos"
};

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

  /// Stores a set frame's message (Store::CompleteMessage) for a request handler, the same
  /// way AppendMessage does: no pool thread with a store that has native async writes.
  asio::awaitable<Result<MessageCompletion>> CompleteMessage(NewMessage message);

  /// Appends a message for a request handler (POST /channels/:id/messages). With a store that
  /// queues writes itself (SQLite) the coroutine resumes once the write committed and no pool
  /// thread is involved; otherwise (PostgreSQL) the blocking call runs on the pool.
  asio::awaitable<Result<Message>> AppendMessage(NewMessage message);

  // --- credentials ---------------------------------------------------------------------------

  /// Session cookie (`cast_session`) or `Authorization: Bearer <api key>`. On failure the
  /// status message is Cast's text ("Authentication required").
  Result<Principal> Authenticate(const Request& request);
  /// `Authorization: Container|Agent <token>` (§4.2); Cast's texts on failure.
  Result<AgentIdentity> AuthenticateContainer(const Request& request);
  const std::string& jwt_secret() const { return hub_->jwt_secret(); }
  const std::string& container_secret() const { return hub_->container_secret(); }
  std::string ContainerToken(const AgentIdentity& id) const { return hub_->ContainerToken(id); }

  // --- broadcasting --------------------------------------------------------------------------

  /// Whether any WebSocket or SSE subscriber exists (any channel, any thread): publishers may
  /// skip building a frame nobody receives.
  bool HasSubscribers() const { return broadcaster_.SubscriberCount() != 0; }
  /// Sends one Tymbal line to every subscriber of the channel (WebSocket and SSE).
  void Publish(std::string channel_id, std::string event_id, std::string line) {
    if (!HasSubscribers()) return;  // nobody to encode the frame for
    broadcaster_.Publish(MakeOutFrame(std::move(channel_id), std::move(event_id),
                                      std::move(line)));
  }

 private:
  /// One message write for a request handler: the store's async form (`async`) when it has
  /// native async writes, so no thread waits for the commit; else `blocking` on the pool.
  template <typename T>
  asio::awaitable<T> WriteMessage(NewMessage message, T (Store::*blocking)(const NewMessage&),
                                  void (Store::*async)(NewMessage, std::function<void(T)>));
  App(ServerConfig config, Clock* clock);
  void WriteAccessLog(const AccessRecord& record);
  /// Arms the sweep timer: every config().agent_sweep_interval, AgentService::Sweep runs on
  /// the blocking pool (never on the io thread); a tick is skipped while the last one runs.
  void ScheduleSweep();
  Result<Principal> VerifySession(std::string_view token);

  // Session tokens verified before. Verification depends only on the token and the (constant)
  // secret, except for time: exp and nbf. An entry is used only while the clock reads at
  // least its verification time (nbf held then, and still holds) and less than its exp
  // (truncated to whole seconds: never later than the token's), so a hit answers exactly as
  // VerifySessionToken would. Bounded: a full shard is emptied.
  struct VerifiedSession {
    Principal principal;
    std::int64_t verified_at = 0;  // Unix seconds
    std::int64_t exp = 0;          // Unix seconds
  };
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct SessionShard {
    std::mutex mu;
    // Guarded by mu.
    std::unordered_map<std::string, VerifiedSession, TokenHash, std::equal_to<>> tokens;
  };
  static constexpr std::size_t kSessionShards = 8;
  static constexpr std::size_t kSessionsPerShard = 1024;
  std::array<SessionShard, kSessionShards> sessions_;

  ServerConfig config_;
  Clock* clock_;
  ReadCache read_cache_;
  Broadcaster broadcaster_;
  Router router_;
  asio::thread_pool blocking_;
  // The hub's seams over the broadcaster and the pool; the hub is destroyed before them.
  BroadcastPublisher publisher_{&broadcaster_};
  PoolExecutor executor_{&blocking_};
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<HttpServer> http_;
  // After http_: destroyed before the io context it runs on.
  std::unique_ptr<asio::steady_timer> sweep_timer_;
  std::atomic<bool> sweep_running_{false};
  bool stopped_ = false;
};

}  // namespace agentcore::server
