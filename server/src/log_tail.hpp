// SPDX-License-Identifier: Apache-2.0
#pragma once

/// `GET /channels/:channelId/agents/:callsign/logs?follow=1`: an agent's log (the runtime's
/// captured stdout and stderr, AgentService::ReadLog) written to the client as it grows, like
/// `docker logs -f`. The response is `text/plain`, delimited by closing the connection (no
/// length, not chunked), and starts at the requested byte offset.
///
/// The session polls the log every `kPollInterval` on the blocking pool (a local log is a
/// file; other runtimes fetch it), writes what is new, and reads the next chunk only once the
/// client has taken most of the last one, so a slow reader holds at most about two chunks.
/// It ends when the client closes the connection, at server shutdown, or when the log
/// cannot be read any more (an error other than "no log yet").
///
/// Owned by the HTTP engine (shared_ptr) and by its own pending handlers; lives on the
/// connection's io thread.

#include <cstdint>
#include <memory>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <agentcore/auth/tokens.hpp>

#include "ws/stream_session.hpp"

namespace agentcore::server {

class LogTailSession final : public StreamSession {
 public:
  /// `agent`: whose log (read through AgentService::ReadLog); `offset`: first byte to send.
  LogTailSession(App* app, AgentIdentity agent, std::uint64_t offset);

  asio::awaitable<void> Run(asio::ip::tcp::socket& socket, std::string leftover) override;
  void Stop() override;

 private:
  // Subscribes to nothing: no live frame, no stored message.
  std::string_view LiveBytes(const OutFrame&) const override { return {}; }
  void AppendStoredFrame(const Message&, std::string*) const override {}
  /// A client that takes no byte for the write deadline: the response ends.
  void OnWriteTimeout() override;
  /// Polls the log and queues what is new until the session stops.
  asio::awaitable<void> Follow();

  const AgentIdentity agent_;
  std::uint64_t offset_;
  std::unique_ptr<asio::steady_timer> poll_timer_;
};

}  // namespace agentcore::server
