// SPDX-License-Identifier: Apache-2.0
#pragma once

// What agentcore-runs-bench reads a run's event stream with: an HTTP/1.1 chunked-body decoder
// and a text/event-stream parser for the fields the run stream uses (`id`, `event`, `data`;
// comments such as `: ping` skipped). Both take their input in pieces split anywhere. Input
// comes from a local server, but a malformed body is reported (ChunkedDecoder::failed) rather
// than guessed at. Header-only, std only (tests/unit/bench, tests/fuzz/sse_reader_fuzz.cpp).
// agentctl reads channel and run streams with SseParser too (tools/agentctl/api.cpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentcore::bench {

struct SseEvent {
  std::string id;    // `id:` as sent (a message id on channel streams; agentctl)
  long seq = -1;     // `id:`, -1 when absent or not a number
  std::string type;  // `event:`
  std::string data;  // `data:` lines joined with '\n'
};

/// Incremental text/event-stream parser: lines end at LF (a CR before it is dropped); a blank
/// line dispatches the event being built when it has a type or data. An event (its unfinished
/// line plus the data gathered so far) longer than `max_event_bytes` fails the parser: nothing
/// more is parsed or kept, so a stream that never ends its line cannot grow the reader's memory
/// (agentctl reads servers it does not trust).
class SseParser {
 public:
  static constexpr std::size_t kDefaultMaxEventBytes = 16u << 20;
  explicit SseParser(std::size_t max_event_bytes = kDefaultMaxEventBytes)
      : max_event_bytes_(max_event_bytes) {}

  /// True once an event went over the limit (Feed then ignores its input).
  bool failed() const { return failed_; }

  template <typename F>
  void Feed(std::string_view chunk, F&& on_event) {
    if (failed_) return;
    if (buf_.size() + chunk.size() + cur_.data.size() > max_event_bytes_ &&
        chunk.find('\n') == std::string_view::npos) {
      Fail();  // no line ends in this piece: the unfinished one only grows
      return;
    }
    buf_.append(chunk);
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = buf_.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(buf_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      start = nl + 1;
      if (line.empty()) {
        if (!cur_.type.empty() || !cur_.data.empty()) on_event(cur_);
        cur_ = SseEvent{};
      } else if (line.front() == ':') {
        continue;
      } else if (line.starts_with("id: ")) {
        cur_.id = std::string(line.substr(4));
        cur_.seq = ParseSeq(line.substr(4));
      } else if (line.starts_with("event: ")) {
        cur_.type = std::string(line.substr(7));
      } else if (line.starts_with("data: ")) {
        if (!cur_.data.empty()) cur_.data += '\n';
        cur_.data += line.substr(6);
      }
      if (cur_.data.size() + cur_.id.size() + cur_.type.size() > max_event_bytes_) {
        Fail();
        return;
      }
    }
    buf_.erase(0, start);
    if (buf_.size() + cur_.data.size() > max_event_bytes_) Fail();
  }

 private:
  void Fail() {
    failed_ = true;
    std::string().swap(buf_);
    cur_ = SseEvent{};
  }

  static long ParseSeq(std::string_view s) {
    if (s.empty() || s.size() > 18) return -1;
    long v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  }

  std::size_t max_event_bytes_;
  bool failed_ = false;
  std::string buf_;
  SseEvent cur_;
};

/// Decodes a chunked HTTP/1.1 body fed in pieces: `size-in-hex[;ext] CRLF data CRLF`..., ended
/// by a zero-size chunk. Once the body is malformed (a bad size line, a size over 16 MiB, data
/// not followed by CRLF) `failed()` is true and the rest is ignored.
class ChunkedDecoder {
 public:
  static constexpr std::size_t kMaxChunk = 16u << 20;

  template <typename F>
  void Feed(std::string_view bytes, F&& on_data) {
    if (failed_ || done_) return;
    buf_.append(bytes);
    std::size_t pos = 0;
    for (;;) {
      const std::size_t eol = buf_.find("\r\n", pos);
      if (eol == std::string::npos) {
        if (buf_.size() - pos > 64) failed_ = true;  // a size line is short
        break;
      }
      std::string_view line(buf_.data() + pos, eol - pos);
      if (const std::size_t semi = line.find(';'); semi != std::string_view::npos) {
        line = line.substr(0, semi);
      }
      std::size_t size = 0;
      if (line.empty() || line.size() > 8) {
        failed_ = true;
        break;
      }
      for (char c : line) {
        int d = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
          failed_ = true;
          break;
        }
        size = size * 16 + static_cast<std::size_t>(d);
      }
      if (failed_) break;
      if (size > kMaxChunk) {
        failed_ = true;
        break;
      }
      if (size == 0) {  // the last chunk (trailers are not read)
        done_ = true;
        pos = buf_.size();
        break;
      }
      const std::size_t data_at = eol + 2;
      if (buf_.size() < data_at + size + 2) break;
      if (buf_.compare(data_at + size, 2, "\r\n") != 0) {
        failed_ = true;
        break;
      }
      on_data(std::string_view(buf_).substr(data_at, size));
      pos = data_at + size + 2;
    }
    buf_.erase(0, failed_ ? buf_.size() : pos);
  }

  bool failed() const { return failed_; }
  bool done() const { return done_; }

 private:
  std::string buf_;
  bool failed_ = false;
  bool done_ = false;
};

}  // namespace agentcore::bench
