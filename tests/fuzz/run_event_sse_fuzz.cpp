// SPDX-License-Identifier: Apache-2.0
// Fuzzes AppendRunEvent (server/src/run_stream.hpp), the SSE framing of a run's events, whose
// type and data come from agents' frames: the first byte is the type's length, then the type,
// then JSON text for the data. Whatever they hold, an event must be exactly the three lines
// `id:`, `event:`, `data:` and a blank line (no CR anywhere: SSE ends lines at CR too), and
// the data line must be the serializer's text of the data, which parses.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <agentcore/json.hpp>

#include "run_stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t type_len = std::min<std::size_t>(static_cast<std::uint8_t>(in[0]), size - 1);
  agentcore::RunEventRecord event;
  event.seq = size * 7919u;
  event.type = std::string(in.substr(1, type_len));
  auto parsed = agentcore::ParseJson(in.substr(1 + type_len));
  if (!parsed.ok()) return 0;
  event.data = *parsed;

  std::string out;
  agentcore::server::AppendRunEvent(event, &out);
  if (out.find('\r') != std::string::npos) std::abort();
  if (!out.ends_with("\n\n")) std::abort();
  std::string_view rest(out);
  rest.remove_suffix(1);  // the blank line
  std::string_view lines[3];
  for (std::string_view& line : lines) {
    const std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) std::abort();
    line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
  }
  if (!rest.empty()) std::abort();
  if (lines[0] != "id: " + std::to_string(event.seq)) std::abort();
  if (!lines[1].starts_with("event: ") || lines[1].size() != 7 + event.type.size()) std::abort();
  if (!lines[2].starts_with("data: ")) std::abort();
  // The data is the serializer's text as is (a non-finite number is written null: the
  // serializer's rule, not the framing's), and it parses.
  if (lines[2].substr(6) != agentcore::ToJson(event.data)) std::abort();
  if (!agentcore::ParseJson(lines[2].substr(6)).ok()) std::abort();
  return 0;
}
