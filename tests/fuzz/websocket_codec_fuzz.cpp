// SPDX-License-Identifier: Apache-2.0
// Fuzzes WebSocketDecoder: the first two bytes choose a piece size and the options, the rest
// is a client's byte stream. Fed whole or in those pieces, the decoder must give the same
// events and the same error, never crash, and never emit a message over its limit.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

#include "ws/websocket_codec.hpp"

namespace {

using agentcore::server::WebSocketDecoder;
using agentcore::server::WebSocketError;
using agentcore::server::WebSocketEvent;

constexpr std::size_t kLimit = 1024;

struct Outcome {
  std::vector<WebSocketEvent> events;
  std::optional<WebSocketError> error;
};

Outcome Decode(std::string_view wire, std::size_t piece, bool require_mask) {
  WebSocketDecoder decoder(kLimit, require_mask);
  Outcome out;
  for (std::size_t at = 0; at < wire.size() && !out.error; at += piece) {
    out.error = decoder.Feed(wire.substr(at, piece), &out.events);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t piece = 1 + data[0] % 32;
  const bool require_mask = (data[1] & 1) != 0;
  const std::string_view wire(reinterpret_cast<const char*>(data + 2), size - 2);
  if (wire.empty()) return 0;
  Outcome whole = Decode(wire, wire.size(), require_mask);
  Outcome pieces = Decode(wire, piece, require_mask);
  if (whole.error.has_value() != pieces.error.has_value()) std::abort();
  if (whole.error && whole.error->code != pieces.error->code) std::abort();
  if (whole.events.size() != pieces.events.size()) std::abort();
  for (std::size_t i = 0; i < whole.events.size(); ++i) {
    const WebSocketEvent& a = whole.events[i];
    const WebSocketEvent& b = pieces.events[i];
    if (a.kind != b.kind || a.payload != b.payload || a.close_code != b.close_code) std::abort();
    if (a.payload.size() > kLimit) std::abort();
  }
  return 0;
}
