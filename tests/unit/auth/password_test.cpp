// SPDX-License-Identifier: Apache-2.0
// Argon2id password hashes (auth/password.hpp): round trips, the length rule, and every kind
// of string that is not one of our hashes.
#include <agentcore/auth/password.hpp>

#include <argon2.h>

#include <string>
#include <string_view>

#include <doctest/doctest.h>

namespace agentcore {
namespace {

std::string MustHash(std::string_view password) {
  Result<std::string> hash = HashPassword(password);
  REQUIRE_MESSAGE(hash.ok(), hash.status().ToString());
  return *hash;
}

TEST_SUITE("auth/password") {
  TEST_CASE("a hash is an argon2id PHC string with the documented cost that verifies") {
    const std::string hash = MustHash("correct horse battery staple");
    CHECK(hash.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
    CHECK(hash.size() < kMaxPasswordHashBytes);
    CHECK(hash.find('\0') == std::string::npos);
    CHECK(VerifyPassword("correct horse battery staple", hash));
  }

  TEST_CASE("the same password hashes differently each time (random salt) and both verify") {
    const std::string a = MustHash("password-123");
    const std::string b = MustHash("password-123");
    CHECK(a != b);
    CHECK(VerifyPassword("password-123", a));
    CHECK(VerifyPassword("password-123", b));
  }

  TEST_CASE("a wrong password does not verify, however close") {
    const std::string hash = MustHash("password-123");
    for (std::string_view wrong : {"password-124", "Password-123", "password-123 ", " password-123",
                                   "password-12", "password-1234"}) {
      CAPTURE(wrong);
      CHECK_FALSE(VerifyPassword(wrong, hash));
    }
  }

  TEST_CASE("the length rule: 8 to 1024 bytes, any bytes") {
    CHECK(CheckPassword(std::string(8, 'x')).ok());
    CHECK(CheckPassword(std::string(1024, 'x')).ok());
    const std::string binary("\0\xff\xfe\x01\x80 ab", 8);
    CHECK(CheckPassword(binary).ok());
    const std::string hash = MustHash(binary);
    CHECK(VerifyPassword(binary, hash));
    CHECK_FALSE(VerifyPassword(std::string("\0\xff\xfe\x01\x80 ac", 8), hash));

    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
      Status s = CheckPassword(std::string(n, 'x'));
      CHECK(s.code() == ErrorCode::kInvalidArgument);
      CHECK(s.message() == "password must be at least 8 bytes");
      CHECK(HashPassword(std::string(n, 'x')).status().code() == ErrorCode::kInvalidArgument);
    }
    Status s = CheckPassword(std::string(1025, 'x'));
    CHECK(s.code() == ErrorCode::kInvalidArgument);
    CHECK(s.message() == "password must be at most 1024 bytes");
    CHECK(HashPassword(std::string(1025, 'x')).status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("a message never contains the password") {
    const std::string secret = "hunter2";  // 7 bytes: refused
    CHECK(CheckPassword(secret).message().find(secret) == std::string::npos);
    const std::string long_secret(1025, 's');
    CHECK(CheckPassword(long_secret).message().find("sss") == std::string::npos);
  }

  TEST_CASE("a password outside the length rule never verifies, even against its own hash") {
    // A hash made by libargon2 directly for a 7-byte password.
    char encoded[128] = {};
    const unsigned char salt[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    REQUIRE(argon2id_hash_encoded(2, 1024, 1, "shorter", 7, salt, sizeof salt, 32, encoded,
                                  sizeof encoded) == ARGON2_OK);
    CHECK_FALSE(VerifyPassword("shorter", encoded));
  }

  TEST_CASE("a hash with another cost still verifies (the string carries its cost)") {
    char encoded[128] = {};
    const unsigned char salt[16] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
    REQUIRE(argon2id_hash_encoded(1, 1024, 1, "longer-pw", 9, salt, sizeof salt, 32, encoded,
                                  sizeof encoded) == ARGON2_OK);
    CHECK(VerifyPassword("longer-pw", encoded));
    CHECK_FALSE(VerifyPassword("longer-px", encoded));
  }

  TEST_CASE("anything that is not an argon2id PHC string never verifies") {
    const std::string good = MustHash("password-123");
    std::string truncated = good.substr(0, good.size() - 10);
    std::string bad_base64 = good;
    bad_base64[bad_base64.size() - 5] = '!';
    std::string other_variant = good;
    other_variant.replace(0, 10, "$argon2i$");
    std::string with_nul = good;
    with_nul[20] = '\0';
    std::string oversized = good + std::string(kMaxPasswordHashBytes, 'A');
    std::string zero_memory = good;
    zero_memory.replace(zero_memory.find("m=19456"), 7, "m=0");
    const std::string cases[] = {
        "",
        "password-123",
        "$argon2id$",
        "$argon2id$v=19$m=19456,t=2,p=1$$",
        "$2b$12$abcdefghijklmnopqrstuu5Q8Xh0xXq6r9Q2Q7m5aQ8c1Wb1rX2S",  // bcrypt
        "plain sha256: ef92b778bafe771e89245b89ecbc08a44a4e166c06659911881f383d4473e94f",
        truncated,
        bad_base64,
        other_variant,
        with_nul,
        oversized,
        zero_memory,
    };
    for (const std::string& encoded : cases) {
      CAPTURE(encoded);
      CHECK_FALSE(VerifyPassword("password-123", encoded));
    }
  }
}

}  // namespace
}  // namespace agentcore
