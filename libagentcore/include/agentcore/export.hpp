// SPDX-License-Identifier: Apache-2.0
#pragma once

/// AGENTCORE_EXPORT marks the public API. The library is built with hidden visibility, so only
/// marked symbols are exported from a shared build. A shared build defines AGENTCORE_SHARED for
/// consumers and AGENTCORE_BUILDING while compiling the library itself.

#if defined(AGENTCORE_SHARED)
#if defined(_WIN32)
#if defined(AGENTCORE_BUILDING)
#define AGENTCORE_EXPORT __declspec(dllexport)
#else
#define AGENTCORE_EXPORT __declspec(dllimport)
#endif
#else
// The standard attribute form: GCC refuses __attribute__ after [[nodiscard]] in a class head
// (`class [[nodiscard]] AGENTCORE_EXPORT Status`), so a shared build's headers did not compile
// there.
#define AGENTCORE_EXPORT [[gnu::visibility("default")]]
#endif
#else
#define AGENTCORE_EXPORT
#endif
