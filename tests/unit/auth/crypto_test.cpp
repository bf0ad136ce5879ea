// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <agentcore/auth/crypto.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>

using agentcore::Base64Encode;
using agentcore::Base64UrlDecode;
using agentcore::Base64UrlEncode;
using agentcore::ConstantTimeEquals;
using agentcore::HexEncode;
using agentcore::HmacSha256;
using agentcore::RandomBytes;
using agentcore::RandomHex;
using agentcore::Sha256Hex;
using agentcore::WebSocketAccept;

TEST_SUITE("Crypto") {
  TEST_CASE("Sha256Hex matches FIPS 180-2 vectors") {
    CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  }

  TEST_CASE("HmacSha256 matches RFC 4231") {
    // Test case 1.
    CHECK(HexEncode(HmacSha256(std::string(20, '\x0b'), "Hi There")) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    // Test case 2: a key shorter than the output.
    CHECK(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Test case 6: a key longer than the block size is hashed first.
    CHECK(HexEncode(HmacSha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    // An empty key and message (Python's hmac agrees).
    CHECK(HexEncode(HmacSha256("", "")) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    CHECK(HexEncode(HmacSha256(std::string_view(), std::string_view())) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    CHECK(HmacSha256("k", "m").size() == 32);
  }

  TEST_CASE("Base64 and base64url match RFC 4648 §10") {
    const std::pair<std::string_view, std::string_view> vectors[] = {{"", ""},
                                                                     {"f", "Zg=="},
                                                                     {"fo", "Zm8="},
                                                                     {"foo", "Zm9v"},
                                                                     {"foob", "Zm9vYg=="},
                                                                     {"fooba", "Zm9vYmE="},
                                                                     {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
      CHECK(Base64Encode(plain) == encoded);
      std::string unpadded(encoded);
      while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
      CHECK(Base64UrlEncode(plain) == unpadded);
      CHECK(Base64UrlDecode(unpadded) == std::optional<std::string>(plain));
      CHECK(Base64UrlDecode(encoded) == std::optional<std::string>(plain));
    }
    // The two alphabets differ in 62 and 63.
    CHECK(Base64Encode("\xfb\xff\xbf") == "+/+/");
    CHECK(Base64UrlEncode("\xfb\xff\xbf") == "-_-_");
    CHECK(Base64UrlDecode("-_-_") == std::optional<std::string>("\xfb\xff\xbf"));
  }

  TEST_CASE("Base64UrlDecode rejects what no encoder writes") {
    CHECK_FALSE(Base64UrlDecode("+/+/"));     // standard alphabet
    CHECK_FALSE(Base64UrlDecode("Zm9v Yg"));  // whitespace
    CHECK_FALSE(Base64UrlDecode("Zm9v\nYg"));
    CHECK_FALSE(Base64UrlDecode("Zm9vY"));  // 4k+1 characters
    CHECK_FALSE(Base64UrlDecode("Z"));
    CHECK_FALSE(Base64UrlDecode("Zg="));  // padding must complete a quantum
    CHECK_FALSE(Base64UrlDecode("Zg==="));
    CHECK_FALSE(Base64UrlDecode("Zm9v===="));
    CHECK_FALSE(Base64UrlDecode("Z==="));
    CHECK_FALSE(Base64UrlDecode("=="));
    CHECK_FALSE(Base64UrlDecode("Zg==Zg=="));  // padding in the middle
    CHECK_FALSE(Base64UrlDecode("Z=g="));
    CHECK_FALSE(Base64UrlDecode(std::string_view("Zg\0\0", 4)));
    CHECK_FALSE(Base64UrlDecode("Zm9v\xc3\xa9"));
    // Set bits below the last byte are ignored, as Node does.
    CHECK(Base64UrlDecode("Zh") == std::optional<std::string>("f"));
  }

  TEST_CASE("Base64url round-trips every byte value and length") {
    std::string bytes;
    for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
    for (std::size_t n = 0; n <= bytes.size(); n += 7) {
      const std::string_view prefix = std::string_view(bytes).substr(0, n);
      const std::string encoded = Base64UrlEncode(prefix);
      CHECK(encoded.find('=') == std::string::npos);
      CHECK(Base64UrlDecode(encoded) == std::optional<std::string>(prefix));
    }
  }

  TEST_CASE("ConstantTimeEquals") {
    CHECK(ConstantTimeEquals("", ""));
    CHECK(ConstantTimeEquals("abc", "abc"));
    CHECK_FALSE(ConstantTimeEquals("abc", "abd"));
    CHECK_FALSE(ConstantTimeEquals("abc", "ab"));
    CHECK_FALSE(ConstantTimeEquals("", "a"));
    CHECK(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
    CHECK_FALSE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  }

  TEST_CASE("RandomBytes and RandomHex") {
    CHECK(RandomBytes(0).empty());
    CHECK(RandomBytes(32).size() == 32);
    const std::string hex = RandomHex(16);
    CHECK(hex.size() == 32);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) seen.insert(RandomHex(16));
    CHECK(seen.size() == 100);
    CHECK(HexEncode(std::string_view("\x00\x7f\x80\xff", 4)) == "007f80ff");
  }

  TEST_CASE("WebSocketAccept matches RFC 6455 §1.3") {
    CHECK(WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(WebSocketAccept("x3JJHMbDL1EzLkh9GBhXDw==") == "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
  }
}
