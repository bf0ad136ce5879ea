// SPDX-License-Identifier: Apache-2.0
#include "run_stream.hpp"

#include <charconv>
#include <mutex>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <agentcore/hub/runs.hpp>
#include <agentcore/json.hpp>

#include "app.hpp"
#include "error_log.hpp"

namespace agentcore::server {

using namespace std::chrono_literals;

namespace {

constexpr std::string_view kRunStreamHead =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "Connection: close\r\n"
    "X-Accel-Buffering: no\r\n"
    "\r\n";
constexpr std::string_view kPing = ": ping\n\n";
constexpr std::size_t kPageEvents = 256;

}  // namespace

void AppendRunEvent(const RunEventRecord& event, std::string* out) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, event.seq);
  (void)ec;
  out->append("id: ").append(digits, end).append("\nevent: ");
  // The type is the service's word; a line break in it would break the framing.
  for (char c : event.type) out->push_back(c == '\n' || c == '\r' ? ' ' : c);
  out->append("\ndata: ");
  AppendJson(event.data, out);  // one line: JSON strings escape their line breaks
  out->append("\n\n");
}


/// Between the watch's sink (any thread) and the session (its io thread): formatted events
/// not yet taken, at most `limit_` bytes (past that: overflow, the client is dropped), and
/// the watch itself, so that whoever closes the inbox first decides where it is destroyed
/// (on the blocking pool, never while the inbox's lock is held: its destructor waits for a
/// running sink call, which takes that lock).
class RunEventInbox : public std::enable_shared_from_this<RunEventInbox> {
 public:
  struct Taken {
    std::string bytes;
    bool overflow = false;
    bool final = false;
  };

  RunEventInbox(asio::any_io_executor io, asio::thread_pool* pool, std::size_t limit,
                std::uint64_t after_seq, std::weak_ptr<RunStreamSession> session)
      : io_(std::move(io)), pool_(pool), limit_(limit), last_seq_(after_seq),
        session_(std::move(session)) {}

  /// The watch's sink: never blocks.
  void Push(const RunEventRecord& event) {
    bool post = false;
    {
      std::lock_guard lock(mu_);
      if (closed_ || overflow_ || final_) return;
      if (event.seq <= last_seq_) return;  // no duplicate, whatever the caller does
      last_seq_ = event.seq;
      const std::size_t before = pending_.size();
      AppendRunEvent(event, &pending_);
      if (pending_.size() > limit_ && before > 0) {
        overflow_ = true;
        std::string().swap(pending_);
      }
      if (IsFinalRunEvent(event.type)) final_ = true;
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

  /// Keeps the watch until Close; false when already closed (the watch is destroyed here,
  /// on the calling thread: the blocking pool).
  bool Adopt(std::unique_ptr<RunWatch> watch) {
    {
      std::lock_guard lock(mu_);
      if (!closed_) {
        watch_ = std::move(watch);
        return true;
      }
    }
    watch.reset();
    return false;
  }

  /// No more events; the watch goes to the blocking pool to be destroyed. Idempotent.
  void Close() {
    std::unique_ptr<RunWatch> watch;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      watch = std::move(watch_);
      std::string().swap(pending_);
    }
    if (watch) {
      std::shared_ptr<RunWatch> shared(std::move(watch));
      asio::post(*pool_, [shared]() mutable { shared.reset(); });
    }
  }

 private:
  const asio::any_io_executor io_;
  asio::thread_pool* const pool_;
  const std::size_t limit_;
  std::mutex mu_;
  std::uint64_t last_seq_;
  std::string pending_;
  bool overflow_ = false;
  bool final_ = false;
  bool posted_ = false;
  bool closed_ = false;
  std::unique_ptr<RunWatch> watch_;
  const std::weak_ptr<RunStreamSession> session_;
};

RunStreamSession::RunStreamSession(App* app, Principal caller, std::string project_id,
                                   std::string run_id, std::uint64_t after_seq)
    : StreamSession(app, app->config().subscriber_backlog_bytes),
      caller_(std::move(caller)),
      project_id_(std::move(project_id)),
      run_id_(std::move(run_id)),
      after_seq_(after_seq),
      heartbeat_interval_(app->config().sse_heartbeat) {}

RunStreamSession::~RunStreamSession() {
  if (inbox_) inbox_->Close();
}

void RunStreamSession::Wake() {
  if (wake_) wake_->cancel();
}

void RunStreamSession::End() {
  stopping_ = true;
  if (inbox_) inbox_->Close();
  if (heartbeat_) heartbeat_->cancel();
  if (wake_) wake_->cancel();
}

void RunStreamSession::OnWriteTimeout() {
  // The client stopped reading: the stream ends (it reconnects with Last-Event-ID).
  End();
  DropQueuedExceptPartial();
  CloseSocket();
  WakeAll();
}

void RunStreamSession::Stop() {
  End();
  WakeAll();
  if (socket_ != nullptr) {
    std::error_code ec;
    socket_->cancel(ec);  // wakes the reader
  }
}

asio::awaitable<void> RunStreamSession::Pump() {
  App& app = this->app();
  RunService& runs = app.hub().runs();
  std::uint64_t after = after_seq_;
  bool final = false;
  bool failed = false;

  // History, page by page: the next page once the client took most of the last.
  while (!stopping_ && socket_ != nullptr) {
    auto read = [&runs, &caller = caller_, &project = project_id_, &run = run_id_, after] {
      return runs.Events(caller, project, run, after, kPageEvents);
    };
    Result<std::vector<RunEventRecord>> page = co_await app.Offload(std::move(read));
    if (stopping_ || socket_ == nullptr) break;
    if (!page.ok()) {
      LogError("run stream: events", page.status());
      failed = true;
      break;
    }
    std::string bytes;
    for (const RunEventRecord& event : *page) {
      if (event.seq <= after) continue;
      AppendRunEvent(event, &bytes);
      after = event.seq;
      if (IsFinalRunEvent(event.type)) {
        final = true;
        break;
      }
    }
    if (!bytes.empty()) EnqueueOwned(std::move(bytes));
    // An empty page is the end (the service may cap a page below kPageEvents).
    if (final || page->empty()) break;
    if (!co_await WaitQueueBelow(half_budget())) break;
  }

  // A client that resumes after the final event has everything: no watch (none would come).
  if (!final && !failed && after == after_seq_ && after_seq_ > 0 && !stopping_ &&
      socket_ != nullptr) {
    auto read = [&runs, &caller = caller_, &project = project_id_, &run = run_id_, after] {
      return runs.Events(caller, project, run, after - 1, 1);
    };
    Result<std::vector<RunEventRecord>> last = co_await app.Offload(std::move(read));
    if (!last.ok()) {
      LogError("run stream: events", last.status());
      failed = true;
    } else if (!last->empty() && last->front().seq == after &&
               IsFinalRunEvent(last->front().type)) {
      final = true;
    }
  }

  // Live: the watch from the last event read.
  if (!final && !failed && !stopping_ && socket_ != nullptr) {
    wake_ = std::make_unique<asio::steady_timer>(*context_);
    inbox_ = std::make_shared<RunEventInbox>(
        context_->get_executor(), &app.blocking_pool(), backlog_limit_, after,
        std::static_pointer_cast<RunStreamSession>(shared_from_this()));
    auto watch = [&runs, &caller = caller_, &project = project_id_, &run = run_id_, after,
                  inbox = inbox_]() -> Status {
      auto sink = [inbox](const RunEventRecord& event) { inbox->Push(event); };
      Result<std::unique_ptr<RunWatch>> w = runs.Watch(caller, project, run, after, sink);
      if (!w.ok()) return w.status();
      inbox->Adopt(std::move(*w));
      return Status();
    };
    Status watching = co_await app.Offload(std::move(watch));
    if (!watching.ok()) {
      LogError("run stream: watch", watching);
      failed = true;
    }
    while (!failed && !stopping_ && socket_ != nullptr) {
      RunEventInbox::Taken taken = inbox_->Take();
      // An empty queue takes anything (a single event larger than the budget still goes).
      if (taken.overflow ||
          (queued_bytes() > 0 && queued_bytes() + taken.bytes.size() > backlog_limit_)) {
        // Too far behind: dropped; it reconnects with Last-Event-ID and reads the store.
        failed = true;
        DropQueuedExceptPartial();
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
  }

  // After the final event, the stream ends once it is written (or the write deadline says
  // the client will not take it).
  const bool linger = final && !stopping_ && socket_ != nullptr && !write_failed();
  End();
  if (linger) co_await WaitQueueBelow(0, SteadyClock::now() + write_timeout_);
  CloseSocket();
  WakeAll();
}

asio::awaitable<void> RunStreamSession::Run(asio::ip::tcp::socket& socket,
                                            std::string /*leftover*/) {
  Attach(socket);
  EnqueueStatic(kRunStreamHead);
  ArmIdleHeartbeat(heartbeat_interval_, kPing);
  auto self = std::static_pointer_cast<RunStreamSession>(shared_from_this());
  asio::co_spawn(*context_, [self]() { return self->Pump(); }, asio::detached);

  // A client says nothing after its request; readable means it closed (or sent junk). Until
  // the socket closes (Pump closes it after the final event) or the client goes: not until
  // stopping_, which Pump sets before its last bytes are written.
  for (;;) {
    ReadResult read = co_await ReadAvailable();
    if (read.error) break;
  }
  // A client gone ends the watch now; Pump then finds the socket gone.
  End();
  Detach();
}

}  // namespace agentcore::server
