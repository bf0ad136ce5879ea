// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Parsing Tymbal: `ParseFrame` classifies one line exactly as Cast's `parseFrame` does
/// (`shared/spec/cast.md` §2.3, the first matching rule decides); `FrameParser` splits an NDJSON
/// byte stream fed in arbitrary chunks into lines (§2.5) and parses each one as it completes.
///
/// Lines are split on `\n` only; a trailing `\r` is JSON whitespace, so CRLF works. A line is
/// blank, and skipped, when JavaScript's `String.prototype.trim` would leave it empty (ASCII
/// whitespace, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF).
/// A line that is not a valid frame is reported with its 1-based line number and a reason and
/// the stream goes on. Memory is bounded by the longest line allowed (`max_line_bytes`): a longer
/// line is reported and skipped without being buffered.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/tymbal/frame.hpp>

namespace agentcore {

/// Parses one line (without its newline; surrounding JSON whitespace is fine). Errors:
/// kInvalidArgument with the reason: malformed JSON or UTF-8, not an object, or a frame rule of
/// §2.3 broken (e.g. `append frame: "a" must be a string`). Thread-safe (uses a per-thread
/// parser).
AGENTCORE_EXPORT Result<TymbalFrame> ParseFrame(std::string_view line);

/// True when `line` is blank in the sense above.
AGENTCORE_EXPORT bool IsBlankLine(std::string_view line);

/// Receives what a FrameParser finds, in stream order. Called on the thread that calls Feed or
/// Finish; `frame` and `reason` are valid only during the call.
class AGENTCORE_EXPORT FrameSink {
 public:
  virtual ~FrameSink();
  virtual void OnFrame(const TymbalFrame& frame, std::uint64_t line) = 0;
  virtual void OnInvalidLine(std::uint64_t line, std::string_view reason) = 0;
};

struct FrameParserOptions {
  /// Longest line accepted, in bytes without the newline. Longer lines are reported invalid.
  std::size_t max_line_bytes = 16u << 20;
};

/// Incremental NDJSON frame parser. Feed it the bytes of a stream in chunks of any size (a line
/// may span chunks, a chunk may hold thousands of lines); it calls the sink for every complete
/// line. Complete lines are parsed in place in the caller's chunk; only a line cut by the end
/// of a chunk is copied. A parser holds only its stream's state (the unfinished line and the
/// line count), so thousands can be open at once; the heavy parsing buffers belong to the
/// calling thread. Thread-compatible; one parser per stream.
class AGENTCORE_EXPORT FrameParser {
 public:
  explicit FrameParser(FrameParserOptions options = {});
  ~FrameParser();
  FrameParser(const FrameParser&) = delete;
  FrameParser& operator=(const FrameParser&) = delete;

  /// Parses every line completed by `chunk`; keeps an unfinished last line for the next call.
  void Feed(std::string_view chunk, FrameSink& sink);
  /// End of stream: parses a last line that had no newline. The parser can then start a new
  /// stream (line numbers restart at 1).
  void Finish(FrameSink& sink);

  /// Lines seen so far, blank ones included.
  std::uint64_t lines() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentcore
