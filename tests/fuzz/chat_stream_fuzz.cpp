// SPDX-License-Identifier: Apache-2.0
// Fuzzes the model agent's ChatStreamDecoder (examples/model-agent/chat_stream.hpp): any bytes,
// fed in pieces whose size comes from the input, must give exactly the events and the status
// that feeding them at once gives, and never crash; ParseProviderError must accept anything.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "model-agent/chat_stream.hpp"

namespace {

std::string Show(const model_agent::ChatStreamEvent& e) {
  return std::to_string(static_cast<int>(e.kind)) + "|" + e.text + "|" +
         std::to_string(e.tool_call.index) + "|" + e.tool_call.id + "|" + e.tool_call.name + "|" +
         e.tool_call.arguments + "|" + std::to_string(e.usage.prompt_tokens) + "|" +
         std::to_string(e.usage.completion_tokens) + "|" + e.error.message + "|" + e.error.code;
}

struct Outcome {
  std::vector<std::string> events;
  agentcore::Status status;
};

Outcome Run(std::string_view text, std::size_t piece) {
  model_agent::ChatStreamDecoder d;
  std::vector<model_agent::ChatStreamEvent> events;
  Outcome out;
  for (std::size_t off = 0; off < text.size() && out.status.ok(); off += piece) {
    out.status = d.Feed(text.substr(off, piece), &events);
  }
  if (out.status.ok()) out.status = d.Finish(&events);
  for (const auto& e : events) {
    if (e.kind == model_agent::ChatStreamEvent::Kind::kToolCall &&
        (e.tool_call.name.empty() || e.tool_call.id.empty())) {
      std::abort();  // a call always has a name and an id
    }
    out.events.push_back(Show(e));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = 1 + data[0] % 61;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Outcome whole = Run(text, text.size() + 1);
  const Outcome split = Run(text, piece);
  if (whole.events != split.events || !(whole.status == split.status)) std::abort();
  (void)model_agent::ParseProviderError(text);
  return 0;
}
