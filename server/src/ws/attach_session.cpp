// SPDX-License-Identifier: Apache-2.0
#include "ws/attach_session.hpp"

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "app.hpp"
#include "error_log.hpp"

namespace agentcore::server {
namespace {

using namespace std::chrono_literals;

constexpr auto kCloseLinger = 2s;  // our close frame, then the client's answer
constexpr auto kStopLinger = 1s;   // server shutdown: a shorter goodbye
// Output taken from the attachment per Drain: one writev's worth.
constexpr std::size_t kDrainBytes = 64 * 1024;

/// Live attach connections, for StopAll. `goodbye`: the connection queued its close or ended.
struct Registered {
  std::weak_ptr<AttachSession> session;
  asio::any_io_executor io;
  std::shared_ptr<std::atomic<bool>> goodbye;
  const AttachSession* key = nullptr;
};
std::mutex registry_mu;
std::vector<Registered>& Registry() {
  static auto* registry = new std::vector<Registered>();
  return *registry;
}
std::shared_ptr<std::atomic<bool>> FindGoodbye(const AttachSession* key) {
  std::lock_guard lock(registry_mu);
  for (const Registered& r : Registry()) {
    if (r.key == key) return r.goodbye;
  }
  return nullptr;
}

}  // namespace

/// Between the attachment's wake (any thread) and the session (its io thread): at most one
/// post pending.
struct AttachSession::WakeState {
  std::atomic<bool> posted{false};
  std::weak_ptr<AttachSession> session;
  asio::any_io_executor io;
};

AttachSession::AttachSession(App* app, std::string accept, asio::any_io_executor io)
    : StreamSession(app, app->config().subscriber_backlog_bytes),
      accept_(std::move(accept)),
      io_(std::move(io)),
      wake_state_(std::make_shared<WakeState>()),
      decoder_(app->config().ws_max_message_bytes) {}

AttachSession::~AttachSession() { ReleaseAttachment(); }

std::function<void()> AttachSession::WakeFunction() {
  wake_state_->session = std::static_pointer_cast<AttachSession>(shared_from_this());
  wake_state_->io = io_;
  return [state = wake_state_] {
    if (state->posted.exchange(true)) return;
    asio::post(state->io, [state] {
      state->posted.store(false);
      if (auto session = state->session.lock()) session->Wake();
    });
  };
}

void AttachSession::Adopt(std::unique_ptr<SessionAttachment> attachment) {
  attachment_ = std::move(attachment);
}

void AttachSession::ReleaseAttachment() {
  if (!attachment_) return;
  // Detaching may wait for the service's lock: never on an io thread.
  std::shared_ptr<SessionAttachment> shared(std::move(attachment_));
  asio::post(app().blocking_pool(), [shared]() mutable { shared.reset(); });
}

void AttachSession::Wake() {
  if (wake_) wake_->cancel();
}

void AttachSession::SendClose(std::uint16_t code, std::string_view reason) {
  if (close_sent_) return;
  close_sent_ = true;
  closing_ = true;
  EnqueueOwned(EncodeWebSocketClose(code, reason));
  if (auto goodbye = FindGoodbye(this)) goodbye->store(true);
  stopping_ = true;  // the pump stops draining; the reader ends after the close
  if (wake_) wake_->cancel();
  WakeAll();
}

void AttachSession::SendBinary(AttachFrameType type, std::string_view payload) {
  if (close_sent_) return;
  std::string message(1, static_cast<char>(type));
  message.append(payload);
  EnqueueOwned(EncodeWebSocketFrame(WebSocketOpcode::kBinary, message));
}

void AttachSession::OnWriteTimeout() {
  if (close_sent_) {
    CloseSocket();  // not even the close frame went out
    WakeAll();
    return;
  }
  DropQueuedExceptPartial();
  SendClose(kClosePolicyViolation, "write timeout");
  Flush();
}

void AttachSession::Stop() {
  if (socket_ == nullptr) {
    server_stop_ = true;
    stopping_ = true;
    return;
  }
  server_stop_ = true;
  SendClose(kCloseGoingAway, "server shutting down");
  std::error_code ec;
  socket_->cancel(ec);  // wakes the reader; a pending write wait just retries
}

void AttachSession::StopAll(std::chrono::milliseconds deadline) {
  std::vector<Registered> live;
  {
    std::lock_guard lock(registry_mu);
    live = Registry();
  }
  for (const Registered& r : live) {
    asio::post(r.io, [weak = r.session] {
      if (auto session = weak.lock()) session->Stop();
    });
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    bool all = std::all_of(live.begin(), live.end(),
                           [](const Registered& r) { return r.goodbye->load(); });
    if (all) break;
    std::this_thread::sleep_for(2ms);
  }
}

asio::awaitable<void> AttachSession::Pump() {
  wake_ = std::make_unique<asio::steady_timer>(*context_);
  std::vector<std::string> messages;
  while (!stopping_ && socket_ != nullptr && attachment_) {
    if (attachment_->dropped()) {
      SendClose(kClosePolicyViolation, "too slow");
      break;
    }
    if (queued_bytes() > half_budget()) {
      // The client reads slowly: its output waits in the attachment (its own bound).
      if (!co_await WaitQueueBelow(half_budget())) break;
      continue;
    }
    messages.clear();
    attachment_->Drain(kDrainBytes, &messages);
    if (!messages.empty()) {
      std::string frames;
      for (const std::string& m : messages) {
        frames.append(EncodeWebSocketFrame(WebSocketOpcode::kBinary, m));
      }
      EnqueueOwned(std::move(frames));
      continue;
    }
    if (attachment_->ended()) {
      SendClose(kCloseNormal, {});
      break;
    }
    // Nothing between Drain and this wait can run: a wake posts a Wake that finds it.
    wake_->expires_at(SteadyClock::time_point::max());
    std::error_code ec;
    co_await wake_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> AttachSession::Run(asio::ip::tcp::socket& socket, std::string leftover) {
  Attach(socket);
  auto goodbye = std::make_shared<std::atomic<bool>>(false);
  {
    std::lock_guard lock(registry_mu);
    Registry().push_back(Registered{std::static_pointer_cast<AttachSession>(shared_from_this()),
                                    io_, goodbye, this});
  }
  // RFC 6455 §4.2.2; no subprotocol or extension is ever selected.
  std::string head;
  head.reserve(160);
  head.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Accept: ")
      .append(accept_)
      .append("\r\n\r\n");
  EnqueueOwned(std::move(head));
  if (stopping_) {
    SendClose(kCloseGoingAway, "server shutting down");  // Stop() came before Run
  } else {
    auto self = std::static_pointer_cast<AttachSession>(shared_from_this());
    asio::co_spawn(*context_, [self]() { return self->Pump(); }, asio::detached);
  }

  std::vector<WebSocketEvent> events;
  std::string_view input = leftover;
  bool peer_gone = false;
  while (!close_sent_) {
    if (!input.empty()) {
      std::optional<WebSocketError> error = decoder_.Feed(input, &events);
      input = {};
      bool go_on = co_await HandleEvents(&events);
      events.clear();
      if (error) {
        SendClose(error->code, error->reason);
        break;
      }
      if (!go_on || close_sent_) break;
    }
    ReadResult read = co_await ReadAvailable();
    if (read.error) {
      peer_gone = read.error != asio::error::operation_aborted;
      break;
    }
    input = read.bytes;  // a per-thread buffer: decoded before the next suspension
  }

  stopping_ = true;
  if (wake_) wake_->cancel();
  if (close_sent_ && !peer_gone && !write_failed()) {
    co_await FinishClose(server_stop_ ? SteadyClock::duration(kStopLinger)
                                      : SteadyClock::duration(kCloseLinger));
  }
  goodbye->store(true);
  {
    std::lock_guard lock(registry_mu);
    std::erase_if(Registry(), [this](const Registered& r) { return r.key == this; });
  }
  ReleaseAttachment();
  Detach();
}

asio::awaitable<bool> AttachSession::HandleEvents(std::vector<WebSocketEvent>* events) {
  App& app = this->app();
  for (WebSocketEvent& event : *events) {
    if (close_sent_ || !attachment_) co_return false;
    switch (event.kind) {
      case WebSocketEvent::Kind::kText:
        SendClose(kCloseUnsupportedData, "text messages are not part of the attach protocol");
        co_return false;
      case WebSocketEvent::Kind::kBinary: {
        if (event.payload.empty()) {
          SendClose(kCloseUnsupportedData, "empty message");
          co_return false;
        }
        const auto type = static_cast<AttachFrameType>(static_cast<std::uint8_t>(event.payload[0]));
        SessionAttachment* attachment = attachment_.get();
        if (type == AttachFrameType::kStdin) {
          std::string_view bytes = std::string_view(event.payload).substr(1);
          auto write = [attachment, &bytes] { return attachment->WriteStdin(bytes); };
          Status written = co_await app.Offload(std::move(write));
          if (close_sent_) co_return false;
          if (!written.ok() && written.code() != ErrorCode::kConflict &&
              written.code() != ErrorCode::kNotFound) {
            // Not "the command ended or stdin was closed" (the exit frame says that): stdin
            // is stuck or broken, and bytes the client sent would be lost silently.
            SendBinary(AttachFrameType::kError, written.message());
            SendClose(kCloseInternalError, "stdin write failed");
            co_return false;
          }
        } else if (type == AttachFrameType::kStdinClosed) {
          // The attachment queues the confirmation (0x06) itself, in order with the output;
          // closing stdin of a command that ended is nothing to report.
          auto close = [attachment] { return attachment->CloseStdin(); };
          Status closed = co_await app.Offload(std::move(close));
          if (close_sent_) co_return false;
          (void)closed;
        } else {
          SendClose(kCloseUnsupportedData, "unknown message type");
          co_return false;
        }
        break;
      }
      case WebSocketEvent::Kind::kPong:
        break;
      case WebSocketEvent::Kind::kPing:
        EnqueueOwned(EncodeWebSocketPong(event.payload));
        break;
      case WebSocketEvent::Kind::kClose:
        close_received_ = true;
        SendClose(event.close_code, {});  // echo the code (RFC 6455 §5.5.1)
        co_return false;
    }
  }
  co_return !close_sent_;
}

asio::awaitable<void> AttachSession::FinishClose(SteadyClock::duration linger) {
  // What is queued before the close (the output up to an exit, say) goes out however long
  // the client takes, as long as it takes some: the write deadline ends one that stopped
  // reading. Server shutdown does not wait that long.
  const auto drain_until =
      server_stop_ ? SteadyClock::now() + linger : SteadyClock::now() + std::chrono::hours(24);
  if (!co_await WaitQueueBelow(0, drain_until) || socket_ == nullptr) co_return;
  const auto deadline = SteadyClock::now() + linger;
  co_await HalfCloseAndLinger(deadline, close_received_);
}

}  // namespace agentcore::server
