// SPDX-License-Identifier: Apache-2.0
// The kernel for the baseline instruction set (simdjson's builtin implementation for this
// translation unit's flags).
#define AGENTCORE_KERNEL_NS generic_kernel
#define AGENTCORE_KERNEL_FACTORY NewGenericJsonKernel
#define AGENTCORE_KERNEL_NAME "generic"
#include "json/simd_kernel.inc"
