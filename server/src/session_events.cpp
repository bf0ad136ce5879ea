// SPDX-License-Identifier: Apache-2.0
#include "session_events.hpp"

#include <charconv>
#include <mutex>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <agentcore/clock.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/state/session_state.hpp>

#include "app.hpp"
#include "error_log.hpp"

namespace agentcore::server {
namespace {

constexpr std::string_view kHead =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "Connection: close\r\n"
    "X-Accel-Buffering: no\r\n"
    "\r\n";
constexpr std::string_view kPing = ": ping\n\n";

}  // namespace

void AppendSessionChange(const SessionChange& change, std::string* out) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, change.seq);
  (void)ec;
  out->append("id: ").append(digits, end).append("\nevent: state\ndata: ");
  JsonWriter w(out);  // one line: JSON strings escape their line breaks
  w.BeginObject()
      .Field("seq", change.seq)
      .Field("status", SessionStateName(change.state))
      .Field("generation", change.generation)
      .Field("reason", change.reason);
  w.Key("exitCode");
  if (change.exit_code) {
    w.Int(*change.exit_code);
  } else {
    w.Null();
  }
  w.Field("at", FormatIsoTimestamp(change.at)).EndObject();
  out->append("\n\n");
}

/// Between the watch's sink (any thread) and the session (its io thread): formatted events
/// not yet taken, at most `limit_` bytes (past it: overflow, the client is dropped), and the
/// watch, destroyed on the blocking pool by whoever closes the inbox first.
class SessionEventInbox : public std::enable_shared_from_this<SessionEventInbox> {
 public:
  struct Taken {
    std::string bytes;
    bool overflow = false;
    bool final = false;
  };

  SessionEventInbox(asio::any_io_executor io, asio::thread_pool* pool, std::size_t limit,
                    std::weak_ptr<SessionEventsSession> session)
      : io_(std::move(io)), pool_(pool), limit_(limit), session_(std::move(session)) {}

  /// The watch's sink: never blocks.
  void Push(const SessionChange& change) {
    bool post = false;
    {
      std::lock_guard lock(mu_);
      if (closed_ || overflow_ || final_) return;
      const std::size_t before = pending_.size();
      AppendSessionChange(change, &pending_);
      if (pending_.size() > limit_ && before > 0) {
        overflow_ = true;
        std::string().swap(pending_);
      }
      if (change.state == SessionState::kDeleted) final_ = true;
      post = !posted_;
      posted_ = true;
    }
    if (post) {
      asio::post(io_, [self = shared_from_this()] {
        {
          std::lock_guard lock(self->mu_);
          self->posted_ = false;
        }
        if (auto session = self->session_.lock()) session->Wake();
      });
    }
  }

  Taken Take() {
    std::lock_guard lock(mu_);
    Taken t;
    t.bytes.swap(pending_);
    t.overflow = overflow_;
    t.final = final_ && !overflow_;
    return t;
  }

  /// Keeps the watch until Close; when already closed, it is destroyed here (the pool).
  void Adopt(std::unique_ptr<SessionWatch> watch) {
    {
      std::lock_guard lock(mu_);
      if (!closed_) {
        watch_ = std::move(watch);
        return;
      }
    }
    watch.reset();
  }

  /// No more events; the watch goes to the blocking pool to be destroyed. Idempotent.
  void Close() {
    std::unique_ptr<SessionWatch> watch;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      watch = std::move(watch_);
      std::string().swap(pending_);
    }
    if (watch) {
      std::shared_ptr<SessionWatch> shared(std::move(watch));
      asio::post(*pool_, [shared]() mutable { shared.reset(); });
    }
  }

 private:
  const asio::any_io_executor io_;
  asio::thread_pool* const pool_;
  const std::size_t limit_;
  const std::weak_ptr<SessionEventsSession> session_;
  std::mutex mu_;
  std::string pending_;
  bool overflow_ = false;
  bool final_ = false;
  bool posted_ = false;
  bool closed_ = false;
  std::unique_ptr<SessionWatch> watch_;
};

SessionEventsSession::SessionEventsSession(App* app, Principal caller, std::string session_id)
    : StreamSession(app, app->config().subscriber_backlog_bytes),
      caller_(std::move(caller)),
      session_id_(std::move(session_id)),
      heartbeat_interval_(app->config().sse_heartbeat) {}

SessionEventsSession::~SessionEventsSession() {
  if (inbox_) inbox_->Close();
}

void SessionEventsSession::Wake() {
  if (wake_) wake_->cancel();
}

void SessionEventsSession::End() {
  stopping_ = true;
  if (inbox_) inbox_->Close();
  if (heartbeat_) heartbeat_->cancel();
  if (wake_) wake_->cancel();
}

void SessionEventsSession::OnWriteTimeout() {
  End();
  DropQueuedExceptPartial();
  CloseSocket();
  WakeAll();
}

void SessionEventsSession::Stop() {
  End();
  WakeAll();
  if (socket_ != nullptr) {
    std::error_code ec;
    socket_->cancel(ec);  // wakes the reader
  }
}

asio::awaitable<void> SessionEventsSession::Pump() {
  App& app = this->app();
  wake_ = std::make_unique<asio::steady_timer>(*context_);
  inbox_ = std::make_shared<SessionEventInbox>(
      context_->get_executor(), &app.blocking_pool(), backlog_limit_,
      std::static_pointer_cast<SessionEventsSession>(shared_from_this()));
  auto watch = [&sessions = app.hub().sessions(), &caller = caller_, &id = session_id_,
                inbox = inbox_]() -> Status {
    auto sink = [inbox](const SessionChange& change) { inbox->Push(change); };
    Result<std::unique_ptr<SessionWatch>> w = sessions.Watch(caller, id, sink);
    if (!w.ok()) return w.status();
    inbox->Adopt(std::move(*w));
    return Status();
  };
  Status watching = co_await app.Offload(std::move(watch));
  if (!watching.ok() && watching.code() != ErrorCode::kNotFound) {
    LogError("session events: watch", watching);
  }
  bool final = false;
  while (watching.ok() && !stopping_ && socket_ != nullptr) {
    SessionEventInbox::Taken taken = inbox_->Take();
    if (taken.overflow ||
        (queued_bytes() > 0 && queued_bytes() + taken.bytes.size() > backlog_limit_)) {
      DropQueuedExceptPartial();  // too far behind: dropped
      break;
    }
    if (!taken.bytes.empty()) EnqueueOwned(std::move(taken.bytes));
    if (taken.final) {
      final = true;
      break;
    }
    // Nothing between Take and this wait can run: a Push posts a Wake that finds it.
    wake_->expires_at(SteadyClock::time_point::max());
    std::error_code ec;
    co_await wake_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  inbox_->Close();
  const bool linger = final && !stopping_ && socket_ != nullptr && !write_failed();
  End();
  if (linger) co_await WaitQueueBelow(0, SteadyClock::now() + write_timeout_);
  CloseSocket();
  WakeAll();
}

asio::awaitable<void> SessionEventsSession::Run(asio::ip::tcp::socket& socket,
                                                std::string /*leftover*/) {
  Attach(socket);
  EnqueueStatic(kHead);
  ArmIdleHeartbeat(heartbeat_interval_, kPing);
  auto self = std::static_pointer_cast<SessionEventsSession>(shared_from_this());
  asio::co_spawn(*context_, [self]() { return self->Pump(); }, asio::detached);
  // A client says nothing after its request; readable means it closed (or sent junk).
  for (;;) {
    ReadResult read = co_await ReadAvailable();
    if (read.error) break;
  }
  End();
  Detach();
}

}  // namespace agentcore::server
