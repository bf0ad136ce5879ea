// SPDX-License-Identifier: Apache-2.0
// Fuzzes ParseJson: any input fails cleanly or gives a value whose JSON parses back equal.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <agentcore/json.hpp>

namespace {

// NaN never comes out of the parser; infinities serialize as null, so compare modulo that.
bool HasInfinity(const agentcore::Json& v) {
  switch (v.type()) {
    case agentcore::JsonType::kNumber: return std::isinf(v.as_number());
    case agentcore::JsonType::kArray:
      for (const auto& item : v.as_array()) {
        if (HasInfinity(item)) return true;
      }
      return false;
    case agentcore::JsonType::kObject:
      for (const auto& m : v.as_object()) {
        if (HasInfinity(m.value)) return true;
      }
      return false;
    case agentcore::JsonType::kNull:
    case agentcore::JsonType::kBool:
    case agentcore::JsonType::kString: return false;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  agentcore::Result<agentcore::Json> value = agentcore::ParseJson(text);
  if (!value.ok()) return 0;
  const std::string json = agentcore::ToJson(*value);
  agentcore::Result<agentcore::Json> back = agentcore::ParseJson(json);
  if (!back.ok()) std::abort();
  if (!HasInfinity(*value) && !(*back == *value)) std::abort();
  if (agentcore::ToJson(*back) != json) std::abort();
  return 0;
}
