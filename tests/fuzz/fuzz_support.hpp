// SPDX-License-Identifier: Apache-2.0
#pragma once

// Helpers shared by the fuzz targets.

#include <cmath>

#include <agentcore/json.hpp>
#include <agentcore/tymbal/frame.hpp>

namespace agentcore::fuzz {

// Whether a value holds an infinite number. Those come from numbers too large for a double
// (JSON.parse makes them Infinity) and serialize as null, as JSON.stringify does, so a round
// trip cannot give them back.
inline bool HasInfinity(const Json& v) {
  switch (v.type()) {
    case JsonType::kNumber: return std::isinf(v.as_number());
    case JsonType::kArray:
      for (const Json& item : v.as_array()) {
        if (HasInfinity(item)) return true;
      }
      return false;
    case JsonType::kObject:
      for (const JsonMember& m : v.as_object()) {
        if (HasInfinity(m.value)) return true;
      }
      return false;
    case JsonType::kNull:
    case JsonType::kBool:
    case JsonType::kString: return false;
  }
  return false;
}

inline bool HasInfinity(const TymbalFrame& f) {
  if (HasInfinity(f.value)) return true;
  for (const JsonMember& m : f.extra) {
    if (HasInfinity(m.value)) return true;
  }
  return false;
}

}  // namespace agentcore::fuzz
