// SPDX-License-Identifier: Apache-2.0
#include <agentcore/auth/password.hpp>

#include <argon2.h>

#include <string>

#include <fmt/format.h>

#include <agentcore/auth/crypto.hpp>

namespace agentcore {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::string_view kArgon2idPrefix = "$argon2id$";

}  // namespace

Status CheckPassword(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return InvalidArgument(fmt::format("password must be at least {} bytes", kMinPasswordBytes));
  }
  if (password.size() > kMaxPasswordBytes) {
    return InvalidArgument(fmt::format("password must be at most {} bytes", kMaxPasswordBytes));
  }
  return Status();
}

Result<std::string> HashPassword(std::string_view password) {
  AGENTCORE_RETURN_IF_ERROR(CheckPassword(password));
  const std::string salt = RandomBytes(kSaltBytes);
  std::string encoded(argon2_encodedlen(kPasswordPasses, kPasswordMemoryKiB, kPasswordLanes,
                                        kSaltBytes, kHashBytes, Argon2_id),
                      '\0');
  const int rc = argon2id_hash_encoded(kPasswordPasses, kPasswordMemoryKiB, kPasswordLanes,
                                       password.data(), password.size(), salt.data(), salt.size(),
                                       kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return Status(ErrorCode::kInternal,
                  fmt::format("argon2id hashing failed: {}", argon2_error_message(rc)));
  }
  // argon2_encodedlen counts the terminating NUL (and may overestimate): cut at the first NUL.
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(std::string_view password, std::string_view encoded) {
  if (!CheckPassword(password).ok()) return false;
  if (encoded.size() > kMaxPasswordHashBytes) return false;
  if (encoded.substr(0, kArgon2idPrefix.size()) != kArgon2idPrefix) return false;
  // argon2id_verify reads a C string: one with an embedded NUL is not ours.
  if (encoded.find('\0') != std::string_view::npos) return false;
  const std::string terminated(encoded);
  // Decodes the PHC string (its cost, salt and hash), hashes again with that cost and compares
  // in constant time (argon2_compare). Any decoding failure is a non-OK code: no match.
  return argon2id_verify(terminated.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace agentcore
