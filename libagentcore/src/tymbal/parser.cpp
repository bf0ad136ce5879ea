// SPDX-License-Identifier: Apache-2.0
#include <agentcore/tymbal/parser.hpp>

#include <cstring>
#include <string>

#include <fmt/format.h>

#include "json/simd_kernel.hpp"
#include "json/utf8.hpp"

namespace agentcore {

FrameSink::~FrameSink() = default;

Result<TymbalFrame> ParseFrame(std::string_view line) {
  TymbalFrame frame;
  Status st = internal::ThreadLocalJsonKernel().ParseFrame(line, &frame);
  if (!st.ok()) return st;
  return frame;
}

bool IsBlankLine(std::string_view line) {
  const auto* p = reinterpret_cast<const unsigned char*>(line.data());
  const auto* end = p + line.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c == ' ' || (c >= '\t' && c <= '\r')) {  // \t \n \v \f \r
      ++p;
      continue;
    }
    if (c < 0x80) return false;
    const std::size_t n = internal::Utf8SequenceLength(p, end);
    if (n == 0) return false;
    switch (internal::Utf8Decode(p, n)) {
      case 0x00A0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
      case 0x3000: case 0xFEFF:
        break;
      default:
        if (const std::uint32_t cp = internal::Utf8Decode(p, n); cp < 0x2000 || cp > 0x200A) {
          return false;
        }
    }
    p += n;
  }
  return true;
}

struct FrameParser::Impl {
  explicit Impl(FrameParserOptions o) : options(o) {}

  // Parses the lines of data[0, len), which has `capacity` readable bytes. The kernel (simdjson's
  // parser and its buffers, a few MB for a 1 MB batch) belongs to the thread, not the stream:
  // a server with thousands of open streams keeps one per I/O thread.
  void Lines(const char* data, std::size_t len, std::size_t capacity, FrameSink& sink) {
    internal::ThreadLocalJsonKernel().ParseLines(data, len, capacity, options.max_line_bytes,
                                                 &line_no, &frame, sink);
  }

  // Lines whose padding is not guaranteed (at the end of a chunk): copied first.
  void CopiedLines(const char* data, std::size_t len, FrameSink& sink) {
    scratch.resize(len + internal::kJsonPadding);
    std::memcpy(scratch.data(), data, len);
    // Zeroed padding: a scan for a string's end stops at a control character at the latest.
    std::memset(scratch.data() + len, 0, internal::kJsonPadding);
    Lines(scratch.data(), len, scratch.size(), sink);
  }

  void ReportTooLong(FrameSink& sink) {
    ++line_no;
    sink.OnInvalidLine(line_no, fmt::format("line longer than {} bytes", options.max_line_bytes));
  }

  FrameParserOptions options;
  TymbalFrame frame;        // reused for every line, so its strings keep their capacity
  std::string pending;      // the unfinished last line of the previous chunks
  bool discarding = false;  // the pending line grew past max_line_bytes: skip to its end
  std::string scratch;
  std::uint64_t line_no = 0;
};

FrameParser::FrameParser(FrameParserOptions options)
    : impl_(std::make_unique<Impl>(options)) {}
FrameParser::~FrameParser() = default;

std::uint64_t FrameParser::lines() const { return impl_->line_no; }

void FrameParser::Feed(std::string_view chunk, FrameSink& sink) {
  Impl& s = *impl_;
  const char* p = chunk.data();
  const char* const end = p + chunk.size();
  if (p == end) return;

  // Finish the line carried over from earlier chunks.
  if (!s.pending.empty() || s.discarding) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', chunk.size()));
    const char* stop = nl ? nl : end;
    if (!s.discarding) {
      if (s.pending.size() + static_cast<std::size_t>(stop - p) > s.options.max_line_bytes) {
        s.discarding = true;
        std::string().swap(s.pending);
      } else {
        s.pending.append(p, stop);
      }
    }
    if (nl == nullptr) return;
    p = nl + 1;
    if (s.discarding) {
      s.ReportTooLong(sink);
      s.discarding = false;
    } else {
      s.CopiedLines(s.pending.data(), s.pending.size(), sink);
      s.pending.clear();
    }
  }

  // Complete lines are parsed in place as long as kJsonPadding bytes of the chunk follow
  // them; the lines in the last kJsonPadding bytes are copied; an unfinished line is kept.
  const char* last_nl = static_cast<const char*>(memrchr(p, '\n', static_cast<std::size_t>(end - p)));
  if (last_nl != nullptr) {
    const char* lines_end = last_nl + 1;
    const char* in_place_end = p;
    if (end - p > static_cast<std::ptrdiff_t>(internal::kJsonPadding)) {
      const auto* nl = static_cast<const char*>(memrchr(
          p, '\n', static_cast<std::size_t>(end - p) - internal::kJsonPadding));
      if (nl != nullptr) in_place_end = nl + 1;
    }
    if (in_place_end > p) {
      s.Lines(p, static_cast<std::size_t>(in_place_end - p), static_cast<std::size_t>(end - p),
              sink);
    }
    if (lines_end > in_place_end) {
      s.CopiedLines(in_place_end, static_cast<std::size_t>(lines_end - in_place_end), sink);
    }
    p = lines_end;
  }
  if (p < end) {
    if (static_cast<std::size_t>(end - p) > s.options.max_line_bytes) {
      s.discarding = true;
    } else {
      s.pending.assign(p, end);
    }
  }
}

void FrameParser::Finish(FrameSink& sink) {
  Impl& s = *impl_;
  if (s.discarding) {
    s.ReportTooLong(sink);
  } else if (!s.pending.empty()) {
    s.CopiedLines(s.pending.data(), s.pending.size(), sink);
  }
  s.pending.clear();
  s.discarding = false;
  s.line_no = 0;
}

}  // namespace agentcore
