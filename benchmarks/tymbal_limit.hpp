// SPDX-License-Identifier: Apache-2.0
#pragma once

// The reference limit for the Tymbal benchmark: a bare simdjson On-Demand pass over the same
// lines that only classifies each frame (looks up the keys of spec §2.3 and their types),
// without unescaping strings, validating skipped values or building frames.

#include <array>
#include <cstdint>
#include <string_view>

namespace agentcore::bench {

// start, append, set, reset, control, invalid.
using KindCounts = std::array<std::uint64_t, 6>;

// `data` must have 64 readable bytes past its end.
KindCounts ClassifyLinesGeneric(std::string_view data);
#if AGENTCORE_BENCH_HASWELL
KindCounts ClassifyLinesHaswell(std::string_view data);
#endif
// The best of the above for this CPU, and its name.
KindCounts ClassifyLines(std::string_view data, std::string_view* kernel);

}  // namespace agentcore::bench
