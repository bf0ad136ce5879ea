// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The browser WebSocket of spec cast §4.10 (`GET /stream`), after the handshake was checked:
/// writes the 101 head, subscribes to `__pending__`, answers sync requests (switching the one
/// subscribed channel, authorizing it once per connection: it must exist and belong to the
/// session's space) and forwards every broadcast frame of that channel as one text message.
///
/// Memory (stream_session.hpp): one budget (`subscriber_backlog_bytes`) for everything queued.
/// A sync reply is read from the store page by page and written as ONE WebSocket message in
/// fragments (RFC 6455 §5.4: a text frame without FIN, continuations, the last with FIN), the
/// next page only once the queue is below half the budget; live frames are held meanwhile.
/// A reply that fits in one page is one unfragmented frame, as before. Requests are not read
/// while more than half the budget is queued, so a client that never reads cannot grow the
/// queue either; it is closed with 1008 after the write deadline.
/// Client frames are decoded by WebSocketDecoder (masking, size limit `ws_max_message_bytes`
/// -> 1009, UTF-8 -> 1007, protocol -> 1002); pings get pongs; a close is echoed; Stop()
/// closes with 1001.
///
/// Owned by the HTTP engine (shared_ptr) and by its own pending handlers; lives on the
/// connection's io thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <agentcore/hub/credentials.hpp>
#include <agentcore/tymbal/frame.hpp>

#include "ws/stream_session.hpp"
#include "ws/websocket_codec.hpp"

namespace agentcore::server {

/// The channel a new connection listens to until its first sync request (Cast's placeholder).
inline constexpr std::string_view kPendingChannel = "__pending__";

class WebSocketSession final : public StreamSession {
 public:
  /// `principal`: the authenticated caller (its space scopes every sync). `accept`: the
  /// Sec-WebSocket-Accept value.
  WebSocketSession(App* app, Principal principal, std::string accept);

  asio::awaitable<void> Run(asio::ip::tcp::socket& socket, std::string leftover) override;
  void Stop() override;

 private:
  std::string_view LiveBytes(const OutFrame& frame) const override { return frame.ws; }
  void AppendStoredFrame(const Message& message, std::string* out) const override;
  void OnWriteTimeout() override;
  /// Handles decoded events in order; false when the connection must end.
  asio::awaitable<bool> HandleEvents(std::vector<WebSocketEvent>* events);
  asio::awaitable<void> HandleSync(const TymbalFrame& request);
  class ReplyWriter;
  enum class SyncOutcome : std::uint8_t { kSent, kFailedBeforeReply, kFailedInReply, kEnded };
  /// Reads the sync window from the store page by page and writes the reply.
  asio::awaitable<SyncOutcome> StreamSyncReply(const std::string& channel_id,
                                               const PageRequest& window);
  void SendClose(std::uint16_t code, std::string_view reason);
  void SendText(std::string_view text);
  /// After our close frame: let it drain, half-close, and give the client a moment to answer
  /// (closing with unread input would reset the connection and could destroy the close frame).
  asio::awaitable<void> FinishClose(SteadyClock::duration linger);

  // Constant after construction.
  const Principal principal_;
  const std::string accept_;

  WebSocketDecoder decoder_;
  std::vector<std::string> authorized_;  // channels this connection may sync
  bool close_sent_ = false;
  bool close_received_ = false;
};

}  // namespace agentcore::server
