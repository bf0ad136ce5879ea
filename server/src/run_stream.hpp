// SPDX-License-Identifier: Apache-2.0
#pragma once

/// `GET /v1/projects/:projectId/runs/:runId/stream` (and `POST …/runs` with `"stream": true`):
/// a run's events as Server-Sent Events (docs/runs.md "Run events"), each
///
///     id: <seq>
///     event: <type>
///     data: <json>
///
/// after `after_seq` (Last-Event-ID): the stored events first, read page by page
/// (RunService::Events; the next page only once the client took most of the last), then a
/// RunService::Watch from the last one read, whose sink (any thread) hands events to this
/// connection through a bounded inbox. The response ends (the connection closes) after the
/// final `done` or `error` event has been written. `: ping` goes out every `sse_heartbeat`
/// while nothing is queued.
///
/// Memory is bounded: the inbox and the socket queue each hold at most
/// `subscriber_backlog_bytes`. A client that does not keep up is dropped (the connection
/// closes; it reconnects with Last-Event-ID), as is one that takes no byte for the write
/// deadline. A client that goes away ends the watch.
///
/// Owned by the HTTP engine (shared_ptr) and by its own pending handlers; lives on the
/// connection's io thread. The watch is destroyed on the blocking pool, never on the io thread.

#include <cstdint>
#include <memory>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <agentcore/hub/credentials.hpp>
#include <agentcore/store/records.hpp>

#include "ws/stream_session.hpp"

namespace agentcore::server {

class RunEventInbox;

/// Appends one run event in SSE form (`id:`, `event:`, `data:` and the blank line).
void AppendRunEvent(const RunEventRecord& event, std::string* out);

class RunStreamSession final : public StreamSession {
 public:
  /// `caller` may read the run (the handler checked it); `after_seq`: the last event the
  /// client has (0: all).
  RunStreamSession(App* app, Principal caller, std::string project_id, std::string run_id,
                   std::uint64_t after_seq);
  ~RunStreamSession() override;

  asio::awaitable<void> Run(asio::ip::tcp::socket& socket, std::string leftover) override;
  void Stop() override;

  /// The inbox has events (posted to the io thread by the inbox).
  void Wake();

 private:
  std::string_view LiveBytes(const OutFrame&) const override { return {}; }
  void AppendStoredFrame(const Message&, std::string*) const override {}
  void OnWriteTimeout() override;
  /// History, then the watch, then the close after the final event.
  asio::awaitable<void> Pump();
  /// Ends the session: no more events; the socket closes (Run returns).
  void End();

  const Principal caller_;
  const std::string project_id_;
  const std::string run_id_;
  const std::uint64_t after_seq_;
  const std::chrono::milliseconds heartbeat_interval_;

  std::shared_ptr<RunEventInbox> inbox_;
  std::unique_ptr<asio::steady_timer> wake_;
};

}  // namespace agentcore::server
