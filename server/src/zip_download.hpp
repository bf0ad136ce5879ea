// SPDX-License-Identifier: Apache-2.0
#pragma once

/// `GET /v1/projects/:projectId/runs/:runId/download.zip`: the project's workspace, zipped by
/// RunService::DownloadWorkspace on the blocking pool and written by the io thread with
/// chunked transfer coding, never held whole in memory.
///
/// The producer (a pool thread in DownloadWorkspace's sink) hands chunks through a pipe of at
/// most kPipeBytes and waits while it is full (back-pressure); the io thread takes from the
/// pipe only while the socket queue is below half its budget. A client that goes away or
/// takes no byte for the write deadline makes the sink return false (the library ends with
/// kCancelled); the producer never waits longer than the write deadline for room.
///
/// The response head goes out with the first chunk: a refusal before any byte (kTooLarge, a
/// store error) is answered as a JSON error (`payload_too_large` 413, …) instead. A failure
/// after the first byte ends the connection without the last chunk, so the client sees a
/// truncated body, never a complete-looking bad zip.
///
/// The same machinery streams any other download (a session's file, docs/sessions.md): a
/// `DownloadSource` names the producer, the content type, the file name and the answer to a
/// refusal before the first byte.
///
/// Owned by the HTTP engine (shared_ptr) and by its own pending handlers; lives on the
/// connection's io thread.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <agentcore/hub/credentials.hpp>

#include "ws/stream_session.hpp"

namespace agentcore::server {

class ZipPipe;

/// What a download streams. `produce` runs on the blocking pool and hands chunks to `sink`
/// (false: the client is gone, stop); its status says how it ended. `refusal` answers a
/// failure before the first byte.
struct DownloadSource {
  std::function<Status(const std::function<bool(std::string_view)>& sink)> produce;
  std::string content_type;
  std::string filename;  // Content-Disposition's; characters outside [A-Za-z0-9._-] become _
  std::function<Response(const Status&)> refusal;
};

class ZipDownloadSession final : public StreamSession {
 public:
  /// `caller` may read the run (the handler checked it).
  ZipDownloadSession(App* app, Principal caller, std::string project_id, std::string run_id);
  /// Any other download.
  ZipDownloadSession(App* app, DownloadSource source);
  ~ZipDownloadSession() override;

  asio::awaitable<void> Run(asio::ip::tcp::socket& socket, std::string leftover) override;
  void Stop() override;

  /// The pipe has chunks or the producer ended (posted to the io thread by the pipe).
  void Wake();

 private:
  std::string_view LiveBytes(const OutFrame&) const override { return {}; }
  void AppendStoredFrame(const Message&, std::string*) const override {}
  void OnWriteTimeout() override;
  asio::awaitable<void> Pump();
  void End();

  const DownloadSource source_;
  std::shared_ptr<ZipPipe> pipe_;
  std::unique_ptr<asio::steady_timer> wake_;
};

}  // namespace agentcore::server
