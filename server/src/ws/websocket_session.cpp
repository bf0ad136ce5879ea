// SPDX-License-Identifier: Apache-2.0
#include "ws/websocket_session.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include <asio/steady_timer.hpp>

#include <agentcore/clock.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/parser.hpp>

#include "app.hpp"
#include "ws/sync_frames.hpp"

namespace agentcore::server {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kDefaultSyncLimit = 25;  // spec cast §4.10 step 4
constexpr auto kCloseLinger = 2s;               // our close frame, then the client's answer
constexpr auto kStopLinger = 1s;                // server shutdown: a shorter goodbye
constexpr auto kRequestBackpressureWait = 30s;  // a client that neither reads nor goes away

/// A non-empty string member of the sync request (`since`, `before`, `channelId`); Cast reads
/// them with `||`, so an empty string counts as absent.
std::optional<std::string> NonEmptyString(const TymbalFrame& frame, std::string_view key) {
  const Json* v = frame.FindExtra(key);
  if (v == nullptr || !v->is_string() || v->as_string().empty()) return std::nullopt;
  return v->as_string();
}

std::string ErrorFrame(std::string_view code, std::string_view message) {
  std::string line;
  JsonWriter(&line).BeginObject().Field("error", code).Field("message", message).EndObject();
  return line;
}

}  // namespace

WebSocketSession::WebSocketSession(App* app, Principal principal, std::string accept)
    : StreamSession(app, app->config().subscriber_backlog_bytes),
      principal_(std::move(principal)),
      accept_(std::move(accept)),
      decoder_(app->config().ws_max_message_bytes) {}

void WebSocketSession::SendClose(std::uint16_t code, std::string_view reason) {
  if (close_sent_) return;
  close_sent_ = true;
  EnqueueOwned(EncodeWebSocketClose(code, reason));
}

void WebSocketSession::SendText(std::string_view text) {
  if (close_sent_) return;
  EnqueueOwned(EncodeWebSocketText(text));
}

void WebSocketSession::Deliver(const std::shared_ptr<const OutFrame>& frame) {
  if (stopping_ || close_sent_) return;
  std::string_view bytes = frame->ws;
  Enqueue(frame, bytes, /*bounded=*/true);
}

void WebSocketSession::OnBacklogExceeded() {
  // A reader this far behind gets a close frame if there is room for one, then the socket
  // closes at once: its queue never grows past the bound, whatever it does next.
  stopping_ = true;
  SubscribeTo({});
  DropQueuedExceptPartial();
  SendClose(kClosePolicyViolation, "subscriber backlog exceeded");
  Flush();
  CloseSocket();
}

void WebSocketSession::Stop() {
  if (stopping_ || socket_ == nullptr) {
    stopping_ = true;
    return;
  }
  stopping_ = true;
  SubscribeTo({});
  SendClose(kCloseGoingAway, "server shutting down");
  std::error_code ec;
  socket_->cancel(ec);  // wakes the reader; a pending write wait just retries
}

asio::awaitable<void> WebSocketSession::Run(asio::ip::tcp::socket& socket, std::string leftover) {
  Attach(socket);
  // RFC 6455 §4.2.2; no subprotocol or extension is ever selected.
  std::string head;
  head.reserve(160);
  head.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Accept: ")
      .append(accept_)
      .append("\r\n\r\n");
  EnqueueOwned(std::move(head));
  SubscribeTo(kPendingChannel);  // spec cast §4.10: every connection starts here

  std::vector<WebSocketEvent> events;
  std::string_view input = leftover;
  bool peer_gone = false;
  while (!stopping_) {
    if (!input.empty()) {
      std::optional<WebSocketError> error = decoder_.Feed(input, &events);
      input = {};
      bool go_on = co_await HandleEvents(&events);
      events.clear();
      if (error) {
        SendClose(error->code, error->reason);
        break;
      }
      if (!go_on || stopping_) break;
    }
    if (queued_bytes() > backlog_limit_) {
      // Replies the client asked for and does not read: stop reading its requests.
      bool drained = co_await WaitQueueBelow(backlog_limit_ / 2,
                                             SteadyClock::now() + kRequestBackpressureWait);
      if (!drained) break;
      continue;
    }
    ReadResult read = co_await ReadAvailable();
    if (read.error) {
      peer_gone = read.error != asio::error::operation_aborted;
      break;
    }
    input = read.bytes;  // a per-thread buffer: decoded before the next suspension
  }

  SubscribeTo({});
  if (close_sent_ && !peer_gone && !write_failed()) {
    co_await FinishClose(stopping_ && !close_received_ ? SteadyClock::duration(kStopLinger)
                                                       : SteadyClock::duration(kCloseLinger));
  }
  Detach();
}

asio::awaitable<bool> WebSocketSession::HandleEvents(std::vector<WebSocketEvent>* events) {
  for (WebSocketEvent& event : *events) {
    if (stopping_ || close_sent_) co_return false;
    switch (event.kind) {
      case WebSocketEvent::Kind::kText: {
        // spec cast §4.10: parsed with §2.3; invalid frames and non-sync frames are ignored.
        Result<TymbalFrame> frame = ParseFrame(event.payload);
        if (frame.ok() && frame->kind == FrameKind::kSyncRequest) co_await HandleSync(*frame);
        break;
      }
      case WebSocketEvent::Kind::kBinary:
      case WebSocketEvent::Kind::kPong:
        break;
      case WebSocketEvent::Kind::kPing:
        EnqueueOwned(EncodeWebSocketPong(event.payload));
        break;
      case WebSocketEvent::Kind::kClose:
        close_received_ = true;
        // Echo the code (RFC 6455 §5.5.1); a close without one is answered without one.
        SendClose(event.close_code, {});
        co_return false;
    }
  }
  co_return !stopping_;
}

asio::awaitable<void> WebSocketSession::HandleSync(const TymbalFrame& request) {
  // spec cast §4.10, steps 1-5.
  std::string target = NonEmptyString(request, "channelId").value_or(channel());
  PageRequest page;
  page.limit = kDefaultSyncLimit;
  if (const Json* limit = request.FindExtra("limit");
      limit != nullptr && limit->is_number() && limit->as_number() >= 1) {
    page.limit = static_cast<std::size_t>(
        std::min(std::floor(limit->as_number()), static_cast<double>(kMaxPageSize)));
  }
  page.after = NonEmptyString(request, "since");
  page.before = NonEmptyString(request, "before");
  App& app = this->app();
  // Offload closures capture references only: GCC 12 copies a closure argument of a call
  // inside a coroutine byte-wise, which breaks captured std::strings (see App::Offload). The
  // locals they refer to live in this frame, suspended until the call returns.

  if (std::find(authorized_.begin(), authorized_.end(), target) == authorized_.end()) {
    // kNotFound, kPermissionDenied (another space's channel) or kInternal.
    auto find = [&channels = app.hub().channels(), &principal = principal_, &target] {
      return channels.FindForStream(principal, target);
    };
    Result<Channel> channel = co_await app.Offload(std::move(find));
    if (stopping_ || close_sent_) co_return;
    if (!channel.ok()) {
      const ErrorCode code = channel.status().code();
      if (code == ErrorCode::kNotFound) {
        SendText(ErrorFrame("channel_not_found", channel.status().message()));
      } else if (code == ErrorCode::kPermissionDenied) {
        SendText(ErrorFrame("forbidden", channel.status().message()));
      } else {
        SendText(ErrorFrame("server_error", "Failed to sync"));
      }
      co_return;
    }
    authorized_.push_back(target);
  }

  SubscribeTo(target);
  Result<MessagePage> messages = co_await app.Offload(
      [&app, &target, &page] { return app.store().ListMessages(target, page); });
  if (stopping_ || close_sent_) co_return;
  if (!messages.ok()) {
    SendText(ErrorFrame("server_error", "Failed to sync"));
    co_return;
  }
  // One WebSocket message: a set frame per message, then the sync response; lines joined by
  // "\n" without a trailing one.
  std::string reply;
  for (const Message& m : messages->messages) {
    AppendSetFrameLine(m, &reply);
    reply.push_back('\n');
  }
  const auto& list = messages->messages;
  reply.append(SyncResponseLine(FormatIsoTimestamp(app.clock().NowMillis()),
                                list.size() >= page.limit,
                                list.empty() ? std::string_view() : list.front().id));
  SendText(reply);
}

asio::awaitable<void> WebSocketSession::FinishClose(SteadyClock::duration linger) {
  auto deadline = SteadyClock::now() + linger;
  if (!co_await WaitQueueBelow(0, deadline) || socket_ == nullptr) co_return;
  std::error_code ec;
  socket_->shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (close_received_) co_return;
  // Wait for the client's close frame (or its FIN), discarding what comes, until the deadline.
  asio::steady_timer timer(*context_);
  timer.expires_at(deadline);
  timer.async_wait([self = std::static_pointer_cast<WebSocketSession>(shared_from_this())](
                       const std::error_code& e) {
    if (!e && self->socket_ != nullptr) {
      std::error_code ignored;
      self->socket_->cancel(ignored);
    }
  });
  for (;;) {
    ReadResult read = co_await ReadAvailable();
    if (read.error) break;
  }
  timer.cancel();
}

}  // namespace agentcore::server
