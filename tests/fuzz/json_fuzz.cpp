// SPDX-License-Identifier: Apache-2.0
// Fuzzes ParseJson: any input fails cleanly or gives a value whose JSON parses back equal.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <agentcore/json.hpp>

#include "fuzz_support.hpp"


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  agentcore::Result<agentcore::Json> value = agentcore::ParseJson(text);
  if (!value.ok()) return 0;
  const std::string json = agentcore::ToJson(*value);
  agentcore::Result<agentcore::Json> back = agentcore::ParseJson(json);
  if (!back.ok()) std::abort();
  if (!agentcore::fuzz::HasInfinity(*value) && !(*back == *value)) std::abort();
  if (agentcore::ToJson(*back) != json) std::abort();
  return 0;
}
