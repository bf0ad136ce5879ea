// SPDX-License-Identifier: Apache-2.0
// Fuzzes ParseFrame: any input either fails cleanly or yields a frame that serializes to a
// line which parses back to the same frame (infinite numbers come back as null).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <agentcore/tymbal/parser.hpp>
#include <agentcore/tymbal/writer.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  agentcore::Result<agentcore::TymbalFrame> frame = agentcore::ParseFrame(line);
  if (!frame.ok()) {
    if (frame.status().code() != agentcore::ErrorCode::kInvalidArgument &&
        frame.status().code() != agentcore::ErrorCode::kTooLarge) {
      std::abort();
    }
    return 0;
  }
  const std::string again = agentcore::SerializeFrame(*frame);
  agentcore::Result<agentcore::TymbalFrame> back = agentcore::ParseFrame(again);
  if (!back.ok()) std::abort();
  if (!agentcore::fuzz::HasInfinity(*frame) && !(*back == *frame)) std::abort();
  if (agentcore::SerializeFrame(*back) != again) std::abort();
  return 0;
}
