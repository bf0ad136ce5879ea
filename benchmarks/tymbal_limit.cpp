// SPDX-License-Identifier: Apache-2.0
#define LIMIT_FUNCTION ClassifyLinesGeneric
#include "tymbal_limit.inc"

namespace agentcore::bench {

KindCounts ClassifyLines(std::string_view data, std::string_view* kernel) {
#if AGENTCORE_BENCH_HASWELL
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
      __builtin_cpu_supports("pclmul")) {
    *kernel = "haswell";
    return ClassifyLinesHaswell(data);
  }
#endif
  *kernel = "generic";
  return ClassifyLinesGeneric(data);
}

}  // namespace agentcore::bench
