// SPDX-License-Identifier: Apache-2.0
#include "sse.hpp"

#include <string_view>

#include "app.hpp"
#include "ws/sync_frames.hpp"

namespace agentcore::server {
namespace {

using namespace std::chrono_literals;

// No Content-Length and no chunked coding: the body ends when the connection does, which lets
// every subscriber write the broadcaster's shared bytes as they are.
constexpr std::string_view kSseHead =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "Connection: close\r\n"
    "X-Accel-Buffering: no\r\n"
    "\r\n";
constexpr std::string_view kHeartbeat = ": heartbeat\n\n";
constexpr std::string_view kSlowConsumerEvent =
    "event: error\ndata: {\"error\":\"slow_consumer\",\"message\":\"Subscriber backlog "
    "exceeded\"}\n\n";
constexpr std::size_t kReplayPage = 500;
constexpr auto kStopLinger = 1s;
constexpr auto kReplayDrainWait = 30s;

}  // namespace

SseSession::SseSession(App* app, std::string channel_id, std::optional<std::string> last_event_id)
    : StreamSession(app, app->config().subscriber_backlog_bytes),
      channel_id_(std::move(channel_id)),
      last_event_id_(std::move(last_event_id)),
      heartbeat_interval_(app->config().sse_heartbeat) {}

bool SseSession::AlreadySent(const OutFrame& frame) const {
  return !replayed_through_.empty() && !frame.event_id.empty() &&
         frame.event_id <= replayed_through_;
}

void SseSession::Deliver(const std::shared_ptr<const OutFrame>& frame) {
  if (stopping_) return;
  if (replaying_) {
    // Held, not written: the replay must reach the client first. Bounded like the queue.
    if (queued_bytes() + held_bytes_ + frame->sse.size() > backlog_limit_) {
      OnBacklogExceeded();
      return;
    }
    held_bytes_ += frame->sse.size();
    held_.push_back(frame);
    return;
  }
  if (AlreadySent(*frame)) return;
  std::string_view bytes = frame->sse;
  Enqueue(frame, bytes, /*bounded=*/true);
}

void SseSession::OnBacklogExceeded() {
  stopping_ = true;
  SubscribeTo({});
  held_.clear();
  held_bytes_ = 0;
  DropQueuedExceptPartial();
  EnqueueStatic(kSlowConsumerEvent);  // best effort: the reader is behind by definition
  Flush();
  CloseSocket();
}

void SseSession::Stop() {
  stopping_ = true;
  if (heartbeat_) heartbeat_->cancel();
  if (socket_ != nullptr) {
    SubscribeTo({});
    std::error_code ec;
    socket_->cancel(ec);  // wakes the reader
  }
}

void SseSession::ArmHeartbeat() {
  if (heartbeat_interval_.count() <= 0) return;
  if (!heartbeat_) heartbeat_ = std::make_unique<asio::steady_timer>(*context_);
  heartbeat_->expires_after(heartbeat_interval_);
  heartbeat_->async_wait([self = std::static_pointer_cast<SseSession>(shared_from_this())](
                             const std::error_code& ec) {
    if (ec || self->stopping_ || self->socket_ == nullptr) return;
    // Only an idle stream needs one; a queue that is not moving must not grow by them either.
    if (self->queued_bytes() == 0) self->EnqueueStatic(kHeartbeat);
    self->ArmHeartbeat();
  });
}

asio::awaitable<void> SseSession::Replay() {
  App& app = this->app();
  replaying_ = true;
  replayed_through_ = *last_event_id_;
  std::string after = *last_event_id_;
  for (;;) {
    PageRequest page;
    page.limit = kReplayPage;
    page.after = after;
    std::string channel = channel_id_;
    Result<MessagePage> result = co_await app.Offload(
        [&app, &channel, &page] { return app.store().ListMessages(channel, page); });
    if (stopping_ || socket_ == nullptr) break;
    if (!result.ok()) {
      // The client reconnects with the same Last-Event-ID and gets another try.
      stopping_ = true;
      break;
    }
    std::string events;
    for (const Message& m : result->messages) {
      events.append("id: ").append(m.id).append("\ndata: ");
      AppendSetFrameLine(m, &events);
      events.append("\n\n");
      replayed_through_ = m.id;
    }
    EnqueueOwned(std::move(events));
    if (!result->has_more || result->messages.empty()) break;
    after = result->messages.back().id;
    // Read the next page only when the client has taken most of this one.
    if (!co_await WaitQueueBelow(backlog_limit_ / 2, SteadyClock::now() + kReplayDrainWait)) {
      stopping_ = true;
      break;
    }
  }
  replaying_ = false;
  std::vector<std::shared_ptr<const OutFrame>> held;
  held.swap(held_);
  held_bytes_ = 0;
  for (const auto& frame : held) {
    if (stopping_) break;
    if (AlreadySent(*frame)) continue;
    std::string_view bytes = frame->sse;
    Enqueue(frame, bytes, /*bounded=*/true);
  }
}

asio::awaitable<void> SseSession::Run(asio::ip::tcp::socket& socket, std::string /*leftover*/) {
  Attach(socket);
  EnqueueStatic(kSseHead);
  SubscribeTo(channel_id_);  // before the replay reads the store: nothing falls in between
  if (last_event_id_ && !last_event_id_->empty()) co_await Replay();
  if (!stopping_) ArmHeartbeat();

  bool peer_gone = false;
  while (!stopping_) {
    // A client says nothing after its request; readable means it closed (or sent junk).
    ReadResult read = co_await ReadAvailable();
    if (read.error) {
      peer_gone = read.error != asio::error::operation_aborted;
      break;
    }
  }
  SubscribeTo({});
  if (heartbeat_) heartbeat_->cancel();
  if (!peer_gone && !write_failed() && socket_ != nullptr) {
    // Server shutdown or a failed replay: let what is queued go out, briefly.
    co_await WaitQueueBelow(0, SteadyClock::now() + kStopLinger);
  }
  Detach();
}

}  // namespace agentcore::server
