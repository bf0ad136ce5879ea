// SPDX-License-Identifier: Apache-2.0
// Fuzzes the Docker engine's stream decoders (runtime/docker/docker_log_stream.hpp): the
// multiplexed log stream and the /events line splitter. Feeding the input in chunks whose size
// comes from the input must give exactly what feeding it whole gives: the same bytes per stream
// up to the same error.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/docker/docker_log_stream.hpp"

namespace {

struct Out {
  std::string streams[3];
  std::string order;  // stream number per delivered byte run, merged
  bool failed = false;
  agentcore::ErrorCode code = agentcore::ErrorCode::kOk;
};

Out Decode(std::string_view input, bool raw, std::uint32_t limit, std::size_t chunk) {
  Out out;
  agentcore::internal::DockerLogStream stream(
      raw,
      [&out](int s, std::string_view data) {
        if (s < 0 || s > 2 || data.empty()) std::abort();
        out.streams[s].append(data);
      },
      limit);
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    agentcore::Status st = stream.Feed(input.substr(i, chunk));
    if (!st.ok()) {
      out.failed = true;
      out.code = st.code();
      // Sticky: later input is refused the same way.
      if (stream.Feed("x").code() != st.code()) std::abort();
      return out;
    }
  }
  agentcore::Status end = stream.Finish();
  if (!end.ok()) {
    out.code = end.code();
    if (stream.AtFrameBoundary()) std::abort();
  }
  return out;
}

std::vector<std::string> Lines(std::string_view input, std::size_t limit, std::size_t chunk,
                               bool* failed) {
  std::vector<std::string> lines;
  agentcore::internal::DockerEventLines splitter(
      [&lines, limit](std::string_view l) {
        if (l.empty() || l.size() > limit || l.find('\n') != std::string_view::npos) std::abort();
        lines.emplace_back(l);
      },
      limit);
  *failed = false;
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    if (!splitter.Feed(input.substr(i, chunk)).ok()) {
      *failed = true;
      break;
    }
  }
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const bool raw = (data[0] & 1) != 0;
  const std::uint32_t limit = (data[0] & 2) != 0 ? 64 : (16u << 20);
  const std::size_t chunk = 1 + data[1] % 61;
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Out whole = Decode(input, raw, limit, input.size() == 0 ? 1 : input.size());
  const Out pieces = Decode(input, raw, limit, chunk);
  if (whole.failed != pieces.failed || whole.code != pieces.code) std::abort();
  if (!whole.failed) {
    for (int s = 0; s < 3; ++s) {
      if (whole.streams[s] != pieces.streams[s]) std::abort();
    }
  }
  if (raw && whole.streams[1] != input) std::abort();

  bool failed_whole = false, failed_pieces = false;
  const std::size_t line_limit = (data[0] & 4) != 0 ? 16 : 4096;
  auto a = Lines(input, line_limit, input.size() == 0 ? 1 : input.size(), &failed_whole);
  auto b = Lines(input, line_limit, chunk, &failed_pieces);
  if (failed_whole != failed_pieces) std::abort();
  if (!failed_whole && a != b) std::abort();
  return 0;
}
