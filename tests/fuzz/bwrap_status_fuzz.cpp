// SPDX-License-Identifier: Apache-2.0
// Fuzzes the sandbox runtime's reading of bwrap's --json-status-fd stream
// (runtime/sandbox/bwrap_status.hpp): the line splitter and the line parser. Feeding the input
// in chunks whose size comes from the input must give the same lines, up to the same error, as
// feeding it whole; a parsed child-pid or exit-code is always in its range.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/sandbox/bwrap_status.hpp"

namespace {

struct Out {
  std::vector<std::string> lines;
  bool failed = false;
};

Out Split(std::string_view input, std::size_t limit, std::size_t chunk) {
  Out out;
  agentcore::internal::BwrapStatusLines splitter(
      [&out, limit](std::string_view line) {
        if (line.empty() || line.size() > limit || line.find('\n') != std::string_view::npos) {
          std::abort();
        }
        out.lines.emplace_back(line);
      },
      limit);
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    if (!splitter.Feed(input.substr(i, chunk)).ok()) {
      out.failed = true;
      // Sticky.
      if (splitter.Feed("{}\n").ok()) std::abort();
      break;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 37;
  const std::size_t limit = (data[0] & 0x80) != 0 ? 24 : 4096;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  const Out whole = Split(input, limit, input.empty() ? 1 : input.size());
  const Out pieces = Split(input, limit, chunk);
  if (whole.failed != pieces.failed) std::abort();
  if (!whole.failed && whole.lines != pieces.lines) std::abort();

  for (const std::string& line : whole.lines) {
    auto status = agentcore::internal::ParseBwrapStatusLine(line);
    if (!status.ok()) continue;
    if (status->child_pid && (*status->child_pid < 2 || *status->child_pid > 0x7fffffff)) {
      std::abort();
    }
    if (status->exit_code && (*status->exit_code < 0 || *status->exit_code > 255)) std::abort();
  }
  auto direct = agentcore::internal::ParseBwrapStatusLine(input);
  (void)direct;
  return 0;
}
