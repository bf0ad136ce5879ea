// SPDX-License-Identifier: Apache-2.0
#pragma once

/// `GET /v1/sessions/:id/attach` (and `/api/…`) after the handshake was checked and the
/// attachment made (docs/sessions.md "Attach protocol"): writes the 101 head, then moves what
/// SessionAttachment::Drain gives into binary WebSocket messages (type byte + payload, as the
/// service queued them) and the client's binary messages into the session:
///   - 0x01 stdin -> SessionAttachment::WriteStdin (on the blocking pool, one at a time, in
///     order: the next message is read only once the last was written, so a client that
///     writes faster than the command reads is slowed by TCP, never buffered);
///   - 0x06 -> CloseStdin (the attachment queues the 0x06 confirmation);
///   - a text message, an empty binary message or an unknown type byte: close 1003;
///   - pings get pongs, a close is echoed.
/// The attachment's own bound (attach_buffer_bytes) is the memory bound: Drain is called only
/// while the socket queue is below half the connection budget, so a client that reads slowly
/// leaves its output in the attachment until the service drops it (dropped(): close 1008
/// "too slow"). After the last message of an ended attachment: close 1000. Stop() (server
/// shutdown): close 1001. A client that reads nothing at all is closed after the write
/// deadline (1008 "write timeout").
///
/// The attachment's wake (any thread) posts one Wake to the connection's io thread at a time.
/// The attachment is destroyed on the blocking pool (its destructor may wait for the service).
///
/// Owned by the HTTP engine (shared_ptr) and by its own pending handlers; lives on the
/// connection's io thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <agentcore/hub/sessions.hpp>

#include "ws/stream_session.hpp"
#include "ws/websocket_codec.hpp"

namespace agentcore::server {

/// RFC 6455 §7.4.1: a data type the endpoint cannot accept.
inline constexpr std::uint16_t kCloseUnsupportedData = 1003;

class AttachSession final : public StreamSession {
 public:
  /// `accept`: the Sec-WebSocket-Accept value. `io`: the connection's executor (wake-ups are
  /// posted there).
  AttachSession(App* app, std::string accept, asio::any_io_executor io);
  ~AttachSession() override;

  /// The function to pass as SessionService::Attach's `wake`: posts Wake to the io thread,
  /// at most one post pending; holds the session weakly.
  std::function<void()> WakeFunction();
  /// The attachment made with WakeFunction(). Call once, before Run.
  void Adopt(std::unique_ptr<SessionAttachment> attachment);

  asio::awaitable<void> Run(asio::ip::tcp::socket& socket, std::string leftover) override;
  void Stop() override;

  /// Server shutdown, before the sessions are stopped: every live attach connection is told
  /// 1001 (its Stop() posted to its io thread); waits until each has queued that close or
  /// ended, at most `deadline`. Then a session's exit can no longer overtake the 1001.
  static void StopAll(std::chrono::milliseconds deadline);

 private:
  std::string_view LiveBytes(const OutFrame&) const override { return {}; }
  void AppendStoredFrame(const Message&, std::string*) const override {}
  void OnWriteTimeout() override;
  void Wake();
  /// Output: Drain into frames while the queue has room; the close after the last message.
  asio::awaitable<void> Pump();
  /// The client's messages in order; false when the connection must end.
  asio::awaitable<bool> HandleEvents(std::vector<WebSocketEvent>* events);
  void SendClose(std::uint16_t code, std::string_view reason);
  void SendBinary(AttachFrameType type, std::string_view payload);
  asio::awaitable<void> FinishClose(SteadyClock::duration linger);
  void ReleaseAttachment();

  // Constant after construction.
  const std::string accept_;
  const asio::any_io_executor io_;

  struct WakeState;
  std::shared_ptr<WakeState> wake_state_;
  std::unique_ptr<SessionAttachment> attachment_;
  WebSocketDecoder decoder_;
  std::unique_ptr<asio::steady_timer> wake_;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool server_stop_ = false;  // Stop() was called: a shorter goodbye
};

}  // namespace agentcore::server
