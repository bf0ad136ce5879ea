// SPDX-License-Identifier: Apache-2.0
#pragma once

// A hijacked Engine API connection: the request `POST /containers/{id}/attach` with
// `Connection: Upgrade` and `Upgrade: tcp`, answered `101 UPGRADED` (Docker, Podman) or `200 OK`
// (older engines), after which the socket carries raw bytes both ways: the multiplexed output
// stream (docker_log_stream.hpp) from the engine and the container's stdin, unframed, to it.
//
// libcurl cannot hand such a socket over (CURLOPT_CONNECT_ONLY skips the request, and its
// upgrade support is WebSocket only), so this is a small HTTP/1.1 client of its own over a unix
// socket: one request, one response head, then the file descriptor is the caller's.
//
// The response head comes from the engine, so its parser (ParseHttpResponseHead) treats it as
// untrusted: bounded size, strict syntax, no allocation beyond the head (fuzzed:
// tests/fuzz/http_response_head_fuzz.cpp).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/http/client.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

namespace agentcore::internal {

// A parsed HTTP/1.x response head.
struct HttpResponseHead {
  int status = 0;       // 100..999
  std::string reason;   // may be empty
  HttpHeaders headers;  // in order; names as sent, values trimmed of spaces and tabs
  std::size_t size = 0;  // bytes of the head, the blank line included

  // The first header named `name` (case-insensitive), or nullopt. Valid while this head lives.
  std::optional<std::string_view> Header(std::string_view name) const;
};

// Largest head accepted; the engine's are a few hundred bytes.
inline constexpr std::size_t kMaxResponseHeadBytes = 16 * 1024;
// Most header fields accepted.
inline constexpr std::size_t kMaxResponseHeaders = 100;

// Parses the response head at the start of `bytes` (what was read so far). OK with nullopt when
// the head is not complete yet; the head once its blank line arrived (bytes after it are the
// body's). Lines end in CRLF or a bare LF. Errors: kInvalidArgument for a malformed status line
// or header line (no colon, an empty or non-token name, a control character, a folded line),
// kTooLarge when the head exceeds `max_bytes` or kMaxResponseHeaders fields.
Result<std::optional<HttpResponseHead>> ParseHttpResponseHead(
    std::string_view bytes, std::size_t max_bytes = kMaxResponseHeadBytes);

// Decodes a `Transfer-Encoding: chunked` body as far as it goes (extensions and trailers
// ignored). Returns the data and whether the final chunk was seen; a malformed size line ends the
// data there (an error body is only read for its message).
std::pair<std::string, bool> DecodeChunkedPrefix(std::string_view body);

// Owns the socket of an upgraded connection. Thread-compatible for the object; the descriptor
// itself may be read by one thread while another writes (the session runtime does).
class HijackedConnection {
 public:
  HijackedConnection() = default;
  HijackedConnection(int fd, std::string leftover) : fd_(fd), leftover_(std::move(leftover)) {}
  HijackedConnection(HijackedConnection&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), leftover_(std::move(other.leftover_)) {}
  HijackedConnection& operator=(HijackedConnection&& other) noexcept;
  HijackedConnection(const HijackedConnection&) = delete;
  HijackedConnection& operator=(const HijackedConnection&) = delete;
  ~HijackedConnection() { Close(); }

  int fd() const { return fd_; }
  // Bytes that arrived after the response head (the stream's start), once.
  std::string TakeLeftover() { return std::exchange(leftover_, std::string()); }
  void Close();
  // Gives up ownership of the descriptor (-1 when none).
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
  std::string leftover_;
};

// Connects to the unix socket at `socket_path`, sends `POST <target>` (no body) with
// `Connection: Upgrade` and `Upgrade: tcp`, and reads the response head, all within `timeout`.
// 101 and 200: the connection, in blocking mode. Another status: its error as EngineStatus
// maps it (the engine's message kept), after reading its body for at most the rest of the
// timeout. Errors: kUnavailable (cannot connect, connection closed), kDeadlineExceeded,
// kInvalidArgument / kTooLarge (a head that does not parse).
Result<HijackedConnection> OpenHijackedConnection(const std::string& socket_path,
                                                  std::string_view target,
                                                  std::chrono::milliseconds timeout);

}  // namespace agentcore::internal
