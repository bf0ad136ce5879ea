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
constexpr auto kStopLinger = 1s;

}  // namespace

SseSession::SseSession(App* app, std::string channel_id, std::optional<std::string> last_event_id)
    : StreamSession(app, app->config().subscriber_backlog_bytes),
      channel_id_(std::move(channel_id)),
      last_event_id_(std::move(last_event_id)),
      heartbeat_interval_(app->config().sse_heartbeat) {}

void SseSession::AppendStoredFrame(const Message& message, std::string* out) const {
  out->append("id: ").append(message.id).append("\ndata: ");
  AppendSetFrameLine(message, out);
  out->append("\n\n");
}

void SseSession::OnWriteTimeout() {
  // The client stopped reading: the stream just ends (it reconnects with Last-Event-ID).
  stopping_ = true;
  SubscribeTo({});
  DropQueuedExceptPartial();
  CloseSocket();
  WakeAll();
}

void SseSession::Stop() {
  stopping_ = true;
  if (heartbeat_) heartbeat_->cancel();
  WakeAll();
  if (socket_ != nullptr) {
    SubscribeTo({});
    std::error_code ec;
    socket_->cancel(ec);  // wakes the reader
  }
}

asio::awaitable<void> SseSession::Run(asio::ip::tcp::socket& socket, std::string /*leftover*/) {
  Attach(socket);
  EnqueueStatic(kSseHead);
  SubscribeTo(channel_id_);  // before the replay reads the store: nothing falls in between
  if (last_event_id_ && !last_event_id_->empty()) {
    // The client reconnects with the same Last-Event-ID after a failure and gets another try.
    if (!co_await ReplayAfter(*last_event_id_)) stopping_ = true;
  }
  if (!stopping_) ArmIdleHeartbeat(heartbeat_interval_, kHeartbeat);

  bool peer_gone = false;
  while (!stopping_) {
    if (catch_up_pending()) {
      if (!co_await CatchUp()) stopping_ = true;
      continue;
    }
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
