// SPDX-License-Identifier: Apache-2.0
#pragma once

// Decoder of the Docker Engine API's multiplexed stream (GET /containers/{id}/logs and attach
// without a TTY): frames of an 8-byte header followed by the payload.
//
//   byte 0     stream type: 0 stdin, 1 stdout, 2 stderr
//   bytes 1-3  zero
//   bytes 4-7  payload length, big-endian uint32
//
// A container with a TTY has no framing: the body is the raw output (raw mode passes bytes
// through). Incremental: input arrives in chunks cut anywhere, including inside a header.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <agentcore/status.hpp>

namespace agentcore::internal {

// The multiplexed stream decoder. Thread-compatible; owns a copy of nothing but a partial
// header.
class DockerLogStream {
 public:
  // Receives each payload piece with its stream type (0, 1 or 2; 1 in raw mode). A frame's
  // payload may be delivered in several pieces when it arrives split; pieces are never empty.
  using Sink = std::function<void(int stream, std::string_view data)>;

  // Largest frame accepted; the engine writes at most a few tens of KiB per frame.
  static constexpr std::uint32_t kDefaultMaxFrameBytes = 16u << 20;

  DockerLogStream(bool raw, Sink sink, std::uint32_t max_frame_bytes = kDefaultMaxFrameBytes)
      : raw_(raw), sink_(std::move(sink)), max_frame_(max_frame_bytes) {}

  // Feeds the next bytes. After an error every later call returns the same error and delivers
  // nothing. kInvalidArgument for a bad header (stream type above 2, non-zero padding) or a
  // frame longer than the limit.
  Status Feed(std::string_view bytes);

  // Call at the end of the body: kInvalidArgument when it ended inside a frame.
  Status Finish() const;

  // True when no partial frame is pending.
  bool AtFrameBoundary() const { return header_len_ == 0 && remaining_ == 0; }

 private:
  bool raw_;
  Sink sink_;
  std::uint32_t max_frame_;
  Status error_;
  unsigned char header_[8] = {};
  std::size_t header_len_ = 0;
  int stream_ = 0;
  std::uint32_t remaining_ = 0;  // payload bytes of the current frame still to come
};

// Splits the engine's `/events` body (one JSON object per line, chunks cut anywhere) into
// lines. A line longer than the limit is an error (the stream is then unusable).
// Thread-compatible; keeps at most one partial line.
class DockerEventLines {
 public:
  using Sink = std::function<void(std::string_view line)>;
  static constexpr std::size_t kDefaultMaxLineBytes = 1u << 20;

  explicit DockerEventLines(Sink sink, std::size_t max_line_bytes = kDefaultMaxLineBytes)
      : sink_(std::move(sink)), max_line_(max_line_bytes) {}

  // Delivers every complete non-blank line (without its '\n' and a trailing '\r').
  // kTooLarge once a line exceeds the limit; every later call returns that error.
  Status Feed(std::string_view bytes);

 private:
  Sink sink_;
  std::size_t max_line_;
  std::string partial_;
  Status error_;
};

// Convenience: decodes a whole body (framed unless raw) into stdout and stderr interleaved as
// written, the way ReadLog presents a log.
Status DecodeDockerLogs(std::string_view body, bool raw, std::string* out);

}  // namespace agentcore::internal
