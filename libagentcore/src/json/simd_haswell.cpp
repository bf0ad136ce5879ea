// SPDX-License-Identifier: Apache-2.0
// The kernel for AVX2 CPUs: CMake compiles this file with -mavx2 and friends, which makes
// simdjson's builtin implementation "haswell" here. Only called after a CPU check.
#define AGENTCORE_KERNEL_NS haswell_kernel
#define AGENTCORE_KERNEL_FACTORY NewHaswellJsonKernel
#define AGENTCORE_KERNEL_NAME "haswell"
#include "json/simd_kernel.inc"
