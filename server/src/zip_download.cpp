// SPDX-License-Identifier: Apache-2.0
#include "zip_download.hpp"

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <agentcore/hub/runs.hpp>

#include "app.hpp"
#include "error_log.hpp"
#include "handlers/handler_support.hpp"

namespace agentcore::server {

namespace {

/// Bytes the producer may have handed over and the io thread not yet taken.
constexpr std::size_t kPipeBytes = 256 * 1024;
/// The socket queue's budget: the pipe is drained while the queue is below half of it.
constexpr std::size_t kQueueBytes = 512 * 1024;

/// A filename for Content-Disposition: ids are [A-Za-z0-9._-] already; anything else is `_`.
std::string SafeName(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    out.push_back(ok ? c : '_');
  }
  return out;
}

}  // namespace

/// Between DownloadWorkspace's sink (a pool thread) and the session (its io thread): chunks
/// in chunked coding not yet taken, at most about kPipeBytes (the producer waits for room,
/// at most `max_wait`), and how the producer ended.
class ZipPipe : public std::enable_shared_from_this<ZipPipe> {
 public:
  struct Taken {
    std::string bytes;
    bool done = false;
    Status status;
  };

  ZipPipe(asio::any_io_executor io, std::chrono::milliseconds max_wait,
          std::weak_ptr<ZipDownloadSession> session)
      : io_(std::move(io)), max_wait_(max_wait), session_(std::move(session)) {}

  /// The sink: false when the client is gone or took nothing for `max_wait`.
  bool Put(std::string_view chunk) {
    if (chunk.empty()) return true;  // a zero-size chunk would end the chunked body
    bool post = false;
    {
      std::unique_lock lock(mu_);
      const bool room = room_.wait_for(lock, max_wait_,
                                       [this] { return cancelled_ || pending_.size() < kPipeBytes; });
      if (!room || cancelled_) {
        cancelled_ = true;
        return false;
      }
      char digits[24];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, chunk.size(), 16);
      (void)ec;
      pending_.append(digits, end).append("\r\n").append(chunk).append("\r\n");
      post = !posted_;
      posted_ = true;
    }
    if (post) Post();
    return true;
  }

  /// The producer ended with `status`.
  void Finish(Status status) {
    bool post = false;
    {
      std::lock_guard lock(mu_);
      done_ = true;
      status_ = std::move(status);
      post = !posted_;
      posted_ = true;
    }
    if (post) Post();
  }

  Taken Take() {
    Taken t;
    {
      std::lock_guard lock(mu_);
      t.bytes.swap(pending_);
      t.done = done_;
      if (done_) t.status = status_;
    }
    room_.notify_all();
    return t;
  }

  /// The client is gone: the producer's next Put (or its wait) returns false.
  void Cancel() {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      std::string().swap(pending_);
    }
    room_.notify_all();
  }

 private:
  void Post() {
    asio::post(io_, [self = shared_from_this()] {
      {
        std::lock_guard lock(self->mu_);
        self->posted_ = false;
      }
      if (auto session = self->session_.lock()) session->Wake();
    });
  }

  const asio::any_io_executor io_;
  const std::chrono::milliseconds max_wait_;
  const std::weak_ptr<ZipDownloadSession> session_;
  std::mutex mu_;
  std::condition_variable room_;
  std::string pending_;
  bool posted_ = false;
  bool done_ = false;
  bool cancelled_ = false;
  Status status_;
};

ZipDownloadSession::ZipDownloadSession(App* app, DownloadSource source)
    : StreamSession(app, kQueueBytes), source_(std::move(source)) {}

ZipDownloadSession::ZipDownloadSession(App* app, Principal caller, std::string project_id,
                                       std::string run_id)
    : ZipDownloadSession(app, [&] {
        DownloadSource source;
        source.filename = SafeName(project_id) + "-" + SafeName(run_id) + ".zip";
        source.content_type = "application/zip";
        source.produce = [&runs = app->hub().runs(), caller = std::move(caller),
                          project = std::move(project_id), run = std::move(run_id)](
                             const std::function<bool(std::string_view)>& sink) {
          return runs.DownloadWorkspace(caller, project, run, sink);
        };
        source.refusal = [](const Status& status) {
          return RunErrorResponse("download", status);
        };
        return source;
      }()) {}

ZipDownloadSession::~ZipDownloadSession() {
  if (pipe_) pipe_->Cancel();
}

void ZipDownloadSession::Wake() {
  if (wake_) wake_->cancel();
}

void ZipDownloadSession::End() {
  stopping_ = true;
  if (pipe_) pipe_->Cancel();
  if (wake_) wake_->cancel();
}

void ZipDownloadSession::OnWriteTimeout() {
  End();
  DropQueuedExceptPartial();
  CloseSocket();
  WakeAll();
}

void ZipDownloadSession::Stop() {
  End();
  WakeAll();
  if (socket_ != nullptr) {
    std::error_code ec;
    socket_->cancel(ec);
  }
}

asio::awaitable<void> ZipDownloadSession::Pump() {
  App& app = this->app();
  wake_ = std::make_unique<asio::steady_timer>(*context_);
  pipe_ = std::make_shared<ZipPipe>(
      context_->get_executor(), write_timeout_,
      std::static_pointer_cast<ZipDownloadSession>(shared_from_this()));
  // The producer: a pool thread, blocked in the sink while the pipe is full. It holds its
  // own copy of the producer, never the session (destroyed on its io thread only).
  asio::post(app.blocking_pool(), [produce = source_.produce, pipe = pipe_] {
    Status s = produce([&pipe](std::string_view chunk) { return pipe->Put(chunk); });
    pipe->Finish(std::move(s));
  });

  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: " + source_.content_type + "\r\n"
      "Content-Disposition: attachment; filename=\"" +
      SafeName(source_.filename) +
      "\"\r\n"
      "Cache-Control: no-store\r\n"
      "Transfer-Encoding: chunked\r\n"
      "Connection: close\r\n"
      "\r\n";
  bool head_sent = false;
  bool complete = false;  // the whole response is queued
  while (!stopping_ && socket_ != nullptr) {
    if (queued_bytes() > half_budget()) {
      if (!co_await WaitQueueBelow(half_budget())) break;
      continue;
    }
    ZipPipe::Taken taken = pipe_->Take();
    if (!taken.bytes.empty()) {
      if (!head_sent) EnqueueOwned(std::exchange(head, {}));
      head_sent = true;
      EnqueueOwned(std::move(taken.bytes));
    }
    if (taken.done) {
      if (taken.status.ok()) {
        if (!head_sent) EnqueueOwned(std::exchange(head, {}));
        EnqueueStatic("0\r\n\r\n");
        complete = true;
      } else if (!head_sent) {
        // Refused before the first byte (too large, not found, a store error): a JSON error.
        std::string out;
        AppendResponse(source_.refusal(taken.status), /*keep_alive=*/false, &out);
        EnqueueOwned(std::move(out));
        complete = true;
      } else {
        // After the first byte: the body stays truncated (no last chunk).
        LogError("download: workspace zip failed after the first byte", taken.status);
      }
      break;
    }
    // Nothing between Take and this wait can run: a Put or Finish posts a Wake that finds it.
    wake_->expires_at(SteadyClock::time_point::max());
    std::error_code ec;
    co_await wake_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  const bool linger = complete && socket_ != nullptr && !write_failed();
  End();
  if (linger) co_await WaitQueueBelow(0, SteadyClock::now() + write_timeout_);
  CloseSocket();
  WakeAll();
}

asio::awaitable<void> ZipDownloadSession::Run(asio::ip::tcp::socket& socket,
                                              std::string /*leftover*/) {
  Attach(socket);
  auto self = std::static_pointer_cast<ZipDownloadSession>(shared_from_this());
  asio::co_spawn(*context_, [self]() { return self->Pump(); }, asio::detached);
  // Until the socket closes (Pump closes it when done) or the client goes: not until
  // stopping_, which Pump may set before this loop is reached (a refusal found at once), and
  // leaving then would drop the queued answer.
  for (;;) {
    ReadResult read = co_await ReadAvailable();
    if (read.error) break;
  }
  End();  // a client gone stops the producer
  Detach();
}

}  // namespace agentcore::server
