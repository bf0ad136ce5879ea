// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Password hashing for user accounts (issue 16, Octo's model): Argon2id, the memory-hard
/// function of RFC 9106, from Debian's libargon2 (which never appears in this header).
///
/// A hash is the PHC string the reference implementation writes,
/// `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>` (base64 without padding), with a
/// fresh 16-byte salt from the CSPRNG and a 32-byte hash. The string carries its own cost, so
/// hashes made with other costs keep verifying when the defaults change.
///
/// Cost: OWASP's minimum for Argon2id, m = 19 MiB, t = 2, p = 1 (kPasswordMemoryKiB,
/// kPasswordPasses, kPasswordLanes). Measured on the project's build machine (2 shared cores,
/// busy with builds): about 70 ms per hash; m = 32 MiB took ~140 ms and m = 64 MiB, t = 3 about
/// 430 ms, over the ~150 ms budget of one login. Every call is pure apart from the salt's
/// random bytes: thread-safe; each call allocates m KiB for its duration, so a server bounds
/// how many run at once by the threads it runs them on.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>

namespace agentcore {

/// Shortest and longest password accepted, in bytes (any bytes, UTF-8 or not).
inline constexpr std::size_t kMinPasswordBytes = 8;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

/// The cost of HashPassword (see the top of this file).
inline constexpr std::uint32_t kPasswordMemoryKiB = 19 * 1024;
inline constexpr std::uint32_t kPasswordPasses = 2;
inline constexpr std::uint32_t kPasswordLanes = 1;

/// Longest encoded hash VerifyPassword looks at; ours are about 100 bytes.
inline constexpr std::size_t kMaxPasswordHashBytes = 256;

/// Checks the length rule alone. Errors: kInvalidArgument "password must be at least 8 bytes"
/// or "password must be at most 1024 bytes" (the password itself is never in a message).
AGENTCORE_EXPORT Status CheckPassword(std::string_view password);

/// The Argon2id PHC string of `password` with a new random salt. Two calls with the same
/// password give different strings. Errors: CheckPassword's; kInternal when libargon2 fails
/// (out of memory).
AGENTCORE_EXPORT Result<std::string> HashPassword(std::string_view password);

/// Whether `password` matches `encoded` (a string HashPassword made, with any cost), comparing
/// in constant time (libargon2's argon2id_verify). False, never an error, for a wrong password
/// and for anything that is not an Argon2id PHC string: empty, another variant (`$argon2i$`),
/// truncated, bad base64, over kMaxPasswordHashBytes, or a password outside the length rule.
AGENTCORE_EXPORT bool VerifyPassword(std::string_view password, std::string_view encoded);

}  // namespace agentcore
