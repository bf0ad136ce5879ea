// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Server-Sent Events for one channel (`GET /channels/:channelId/events`): the same frames the
/// WebSocket `/stream` carries, one event each (`id:` = the message id when the frame is a
/// stored message, `data:` = the Tymbal line), after the handler authenticated the caller and
/// found the channel in its space.
///
/// Reconnects: with `Last-Event-ID` (or `?lastEventId=`), every stored message of the channel
/// with a larger id is replayed first, read from the store page by page, the next page only
/// once the client took most of the last (StreamSession::ReplayAfter). The connection
/// subscribes before it reads, holds live frames until the replay is written, and then drops
/// live frames whose id is not past the last one replayed: no gap, no duplicate.
///
/// A `: heartbeat` comment goes out every `sse_heartbeat` while nothing else is queued. Memory
/// is bounded as for WebSocket ones (stream_session.hpp: one budget, catch-up from the store
/// for a reader that falls behind, the connection ends after the write deadline). The response
/// is delimited by closing the connection (no length, not chunked), so frames are written
/// exactly as the broadcaster encoded them, shared by every subscriber.
///
/// Owned by the HTTP engine (shared_ptr) and by its own pending handlers; lives on the
/// connection's io thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "ws/stream_session.hpp"

namespace agentcore::server {

class SseSession final : public StreamSession {
 public:
  /// `channel_id`: an existing channel the caller may read. `last_event_id`: replay the
  /// stored messages after it first.
  SseSession(App* app, std::string channel_id, std::optional<std::string> last_event_id);

  asio::awaitable<void> Run(asio::ip::tcp::socket& socket, std::string leftover) override;
  void Stop() override;

 private:
  std::string_view LiveBytes(const OutFrame& frame) const override { return frame.sse; }
  void AppendStoredFrame(const Message& message, std::string* out) const override;
  void OnWriteTimeout() override;

  // Constant after construction.
  const std::string channel_id_;
  const std::optional<std::string> last_event_id_;
  const std::chrono::milliseconds heartbeat_interval_;

};

}  // namespace agentcore::server
