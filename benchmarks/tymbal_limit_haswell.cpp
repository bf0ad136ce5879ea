// SPDX-License-Identifier: Apache-2.0
// Compiled with AVX2 flags (see CMakeLists.txt); called only after a CPU check.
#define LIMIT_FUNCTION ClassifyLinesHaswell
#include "tymbal_limit.inc"
