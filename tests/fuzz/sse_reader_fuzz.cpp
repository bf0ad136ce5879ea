// SPDX-License-Identifier: Apache-2.0
// Fuzzes benchmarks/sse_reader.hpp (agentcore-runs-bench's reader of run event streams): the
// input is a chunked body, fed to the decoder in pieces of a size taken from the first byte,
// and what it yields goes to the SSE parser. Nothing may crash; the decoder must yield no more
// bytes than it was given, stop yielding once failed or done, and the same input fed whole
// must yield the same bytes and events.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../../benchmarks/sse_reader.hpp"

namespace {

struct Out {
  std::string body;
  std::string events;
  bool failed = false;
  bool done = false;
};

Out Run(std::string_view wire, std::size_t piece) {
  agentcore::bench::ChunkedDecoder chunks;
  agentcore::bench::SseParser sse;
  Out out;
  for (std::size_t i = 0; i < wire.size(); i += piece) {
    const bool ended = chunks.failed() || chunks.done();
    const std::size_t before = out.body.size();
    chunks.Feed(wire.substr(i, piece), [&](std::string_view data) {
      out.body.append(data);
      sse.Feed(data, [&](const agentcore::bench::SseEvent& e) {
        out.events += e.id + "|" + std::to_string(e.seq) + "|" + e.type + "|" + e.data + "\n";
      });
    });
    if (ended && out.body.size() != before) std::abort();
  }
  out.failed = chunks.failed();
  out.done = chunks.done();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = 1 + data[0] % 16;
  std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  Out split = Run(wire, piece);
  Out whole = Run(wire, wire.size() + 1);
  if (split.body.size() > wire.size()) std::abort();
  // Split and whole agree on the outcome. A failure can be seen earlier when split (a size
  // line longer than 64 bytes before its CRLF is judged on the piece that overflows), so only
  // bodies that neither run failed are compared byte for byte.
  if (!split.failed && !whole.failed) {
    if (split.body != whole.body || split.events != whole.events || split.done != whole.done) {
      std::abort();
    }
  }
  return 0;
}
