// SPDX-License-Identifier: Apache-2.0
// Fuzzes FrameParser: feeding the input in chunks whose sizes come from the input itself must
// report exactly what parsing each line on its own reports.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/tymbal/parser.hpp>
#include <agentcore/tymbal/writer.hpp>

namespace {

class Recorder final : public agentcore::FrameSink {
 public:
  void OnFrame(const agentcore::TymbalFrame& frame, std::uint64_t line) override {
    events.push_back(std::to_string(line) + agentcore::SerializeFrame(frame));
  }
  void OnInvalidLine(std::uint64_t line, std::string_view) override {
    events.push_back(std::to_string(line) + "!");
  }
  std::vector<std::string> events;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 97;  // first byte picks the chunk size
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  Recorder streamed;
  agentcore::FrameParser parser;
  for (std::size_t off = 0; off < text.size(); off += chunk) {
    parser.Feed(text.substr(off, chunk), streamed);
  }
  parser.Finish(streamed);

  Recorder whole;
  agentcore::FrameParser one_feed;
  one_feed.Feed(text, whole);
  one_feed.Finish(whole);

  Recorder by_line;
  std::uint64_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(pos, nl - pos);
    ++line_no;
    if (!agentcore::IsBlankLine(line)) {
      agentcore::Result<agentcore::TymbalFrame> f = agentcore::ParseFrame(line);
      if (f.ok()) {
        by_line.OnFrame(*f, line_no);
      } else {
        by_line.OnInvalidLine(line_no, "");
      }
    }
    pos = nl + 1;
  }
  if (streamed.events != by_line.events || whole.events != by_line.events) std::abort();
  return 0;
}
