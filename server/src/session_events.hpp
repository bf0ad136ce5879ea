// SPDX-License-Identifier: Apache-2.0
#pragma once

/// `GET /v1/sessions/:id/events` (and `/api/…`): a session's transitions as Server-Sent
/// Events (docs/sessions.md "Routes"), one per SessionChange of SessionService::Watch:
///
///     id: <seq>
///     event: state
///     data: {"seq":…,"status":"running","generation":…,"reason":"…","exitCode":…,"at":"…"}
///
/// The first event is the session's state when the stream began. The stream ends (the
/// connection closes) after a `deleted` event is written. `: ping` goes out every
/// `sse_heartbeat` while nothing is queued.
///
/// Memory is bounded as the run stream's (run_stream.hpp): the watch's sink (any thread, never
/// blocking) appends formatted events to an inbox of at most `subscriber_backlog_bytes`, and
/// the io thread moves them to the socket queue only while it is below its budget; a client
/// that falls further behind is dropped (the connection closes), as is one that takes no
/// byte for the write deadline. The watch is destroyed on the blocking pool.
///
/// Owned by the HTTP engine (shared_ptr) and by its own pending handlers; lives on the
/// connection's io thread.

#include <memory>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <agentcore/hub/credentials.hpp>
#include <agentcore/hub/sessions.hpp>

#include "ws/stream_session.hpp"

namespace agentcore::server {

class SessionEventInbox;

/// Appends one change in SSE form (`id:`, `event: state`, `data:` and the blank line).
void AppendSessionChange(const SessionChange& change, std::string* out);

class SessionEventsSession final : public StreamSession {
 public:
  /// `caller` may read the session (the handler checked it exists).
  SessionEventsSession(App* app, Principal caller, std::string session_id);
  ~SessionEventsSession() override;

  asio::awaitable<void> Run(asio::ip::tcp::socket& socket, std::string leftover) override;
  void Stop() override;

  /// The inbox has events (posted to the io thread by the inbox).
  void Wake();

 private:
  std::string_view LiveBytes(const OutFrame&) const override { return {}; }
  void AppendStoredFrame(const Message&, std::string*) const override {}
  void OnWriteTimeout() override;
  asio::awaitable<void> Pump();
  void End();

  const Principal caller_;
  const std::string session_id_;
  const std::chrono::milliseconds heartbeat_interval_;
  std::shared_ptr<SessionEventInbox> inbox_;
  std::unique_ptr<asio::steady_timer> wake_;
};

}  // namespace agentcore::server
