// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using agentcore::AgentIdentity;
using agentcore::ApiKeyHash;
using agentcore::ApiKeyPrefix;
using agentcore::Base64UrlEncode;
using agentcore::ClearedSessionCookie;
using agentcore::ErrorCode;
using agentcore::FindCookie;
using agentcore::FormatAgentId;
using agentcore::HmacSha256;
using agentcore::MakeContainerToken;
using agentcore::NewApiKey;
using agentcore::ParseAgentId;
using agentcore::ParseContainerAuthorization;
using agentcore::SessionClaims;
using agentcore::SessionCookie;
using agentcore::SessionCookieDomain;
using agentcore::SignSessionToken;
using agentcore::VerifyContainerToken;
using agentcore::VerifySessionToken;

namespace {

constexpr std::string_view kSecret = "test-secret";
constexpr std::int64_t kIat = 1700000000;
constexpr std::int64_t kExp = kIat + agentcore::kSessionTtlSeconds;

// Made with Python's hmac/hashlib/base64 and json.dumps(separators=(',', ':')), independently
// of this library:
//   header {"alg":"HS256","typ":"JWT"}, secret "test-secret",
//   payload {"userId":"u1","spaceId":"s1","mode":"dev","iat":1700000000,"exp":1700604800}
constexpr std::string_view kPythonJwt =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ1c2VySWQiOiJ1MSIsInNwYWNlSWQiOiJzMSIsIm1vZGUiOiJkZXYiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcw"
    "MDYwNDgwMH0.k1ts2eGaUU11fW2aUJjHa4NyTdwuLOxMx61p4qUPvZY";
//   secret kDevSessionSecret, payload {"userId":"01HUSER","spaceId":"01HSPACE","mode":"workos",
//   "workosSessionId":"session_123","iat":1700000000,"exp":1700604800}
constexpr std::string_view kPythonWorkosJwt =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ1c2VySWQiOiIwMUhVU0VSIiwic3BhY2VJZCI6IjAxSFNQQUNFIiwibW9kZSI6IndvcmtvcyIsIndvcmtvc1Nlc3Np"
    "b25JZCI6InNlc3Npb25fMTIzIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDA2MDQ4MDB9."
    "DzkRsqjp6t9hlnYA8fSkjlZoPkc7wECwP2MCcju_tiM";
//   container token for "space1:chan1:fox" under kDevContainerSecret
constexpr std::string_view kPythonContainerToken =
    "c3BhY2UxOmNoYW4xOmZveA.CaBdu9fxGsBS7B5BYw7L8XgjX_6XYtr6zamscVEg57g";

// A JWT with any header and payload text, signed correctly with `secret`.
std::string Jwt(std::string_view header_json, std::string_view payload_json,
                std::string_view secret = kSecret) {
  std::string token = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  return token + "." + Base64UrlEncode(HmacSha256(secret, token));
}

constexpr std::string_view kHs256 = R"({"alg":"HS256","typ":"JWT"})";

// A container token over any payload string, signed correctly.
std::string ContainerToken(std::string_view payload, std::string_view secret = kSecret) {
  return Base64UrlEncode(payload) + "." + Base64UrlEncode(HmacSha256(secret, payload));
}

SessionClaims DevClaims() {
  SessionClaims c;
  c.user_id = "u1";
  c.space_id = "s1";
  c.mode = "dev";
  c.iat = kIat;
  c.exp = kExp;
  return c;
}

void CheckUnauthenticated(const agentcore::Status& s) {
  CHECK(s.code() == ErrorCode::kUnauthenticated);
}

}  // namespace

TEST_SUITE("AgentId") {
  TEST_CASE("ParseAgentId takes the first three non-empty parts") {
    auto id = ParseAgentId("space:channel:fox");
    REQUIRE(id.has_value());
    CHECK(id->space_id == "space");
    CHECK(id->channel_id == "channel");
    CHECK(id->callsign == "fox");

    auto extra = ParseAgentId("a:b:c:d");
    REQUIRE(extra.has_value());
    CHECK(*extra == AgentIdentity{"a", "b", "c"});
    CHECK(*ParseAgentId("a:b:c:") == AgentIdentity{"a", "b", "c"});
    CHECK(*ParseAgentId("a:b:c::") == AgentIdentity{"a", "b", "c"});
  }

  TEST_CASE("ParseAgentId rejects a missing or empty part") {
    for (std::string_view bad :
         {"", "a", "a:b", "a::c", ":b:c", "a:b:", "::", ":::", "a::", "::c", "::c:d"}) {
      CAPTURE(bad);
      auto id = ParseAgentId(bad);
      REQUIRE_FALSE(id.has_value());
      CHECK(id.status().code() == ErrorCode::kInvalidArgument);
    }
  }

  TEST_CASE("FormatAgentId round-trips") {
    const AgentIdentity id{"01HSPACE", "01HCHAN", "fox-2"};
    CHECK(FormatAgentId(id) == "01HSPACE:01HCHAN:fox-2");
    CHECK(*ParseAgentId(FormatAgentId(id)) == id);
  }
}

TEST_SUITE("ContainerToken") {
  TEST_CASE("matches an independently computed token") {
    const AgentIdentity id{"space1", "chan1", "fox"};
    CHECK(MakeContainerToken(agentcore::kDevContainerSecret, id) == kPythonContainerToken);
    auto verified = VerifyContainerToken(agentcore::kDevContainerSecret, kPythonContainerToken);
    REQUIRE(verified.has_value());
    CHECK(*verified == id);
  }

  TEST_CASE("is deterministic and round-trips") {
    const AgentIdentity id{"01HSPACE", "01HCHANNEL", "builder"};
    const std::string token = MakeContainerToken(kSecret, id);
    CHECK(token == MakeContainerToken(kSecret, id));
    CHECK(token.find('=') == std::string::npos);
    auto verified = VerifyContainerToken(kSecret, token);
    REQUIRE(verified.has_value());
    CHECK(*verified == id);
    CHECK(MakeContainerToken(kSecret, AgentIdentity{"01HSPACE", "01HCHANNEL", "reviewer"}) !=
          token);
  }

  TEST_CASE("rejects a wrong secret or signature") {
    const std::string token = MakeContainerToken(kSecret, {"s", "c", "fox"});
    CheckUnauthenticated(VerifyContainerToken("other-secret", token).status());
    CheckUnauthenticated(VerifyContainerToken("", token).status());
    std::string flipped = token;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    CheckUnauthenticated(VerifyContainerToken(kSecret, flipped).status());
    // Signature truncated, or padded (the comparison is on the encoded text).
    CheckUnauthenticated(VerifyContainerToken(kSecret, token.substr(0, token.size() - 1)).status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, token + "=").status());
    // Empty signature.
    CheckUnauthenticated(
        VerifyContainerToken(kSecret, token.substr(0, token.find('.') + 1)).status());
  }

  TEST_CASE("rejects a tampered payload") {
    const std::string token = MakeContainerToken(kSecret, {"s", "c", "fox"});
    const std::string signature = token.substr(token.find('.'));
    CheckUnauthenticated(
        VerifyContainerToken(kSecret, Base64UrlEncode("s:c:owl") + signature).status());
    CheckUnauthenticated(
        VerifyContainerToken(kSecret, Base64UrlEncode("t:c:fox") + signature).status());
  }

  TEST_CASE("rejects anything but exactly two parts") {
    const std::string token = MakeContainerToken(kSecret, {"s", "c", "fox"});
    CheckUnauthenticated(VerifyContainerToken(kSecret, "").status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, token.substr(0, token.find('.'))).status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, token + ".").status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, token + ".x").status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, "." + token).status());
  }

  TEST_CASE("rejects a payload that is not base64url") {
    const std::string payload = "s:c:fox";
    const std::string signature = Base64UrlEncode(HmacSha256(kSecret, payload));
    CheckUnauthenticated(VerifyContainerToken(kSecret, "czpj*mZveA." + signature).status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, "czpjOmZve." + signature).status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, "czpj+mZveA." + signature).status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, "czpjOmZveA=." + signature).status());
  }

  TEST_CASE("accepts padding on the payload, as a lenient decoder does") {
    // base64url("s:c:fox") is "czpjOmZveA"; with padding it decodes to the same payload.
    auto verified = VerifyContainerToken(
        kSecret, "czpjOmZveA==." + Base64UrlEncode(HmacSha256(kSecret, "s:c:fox")));
    REQUIRE(verified.has_value());
    CHECK(*verified == AgentIdentity{"s", "c", "fox"});
  }

  TEST_CASE("the payload must split into exactly three parts") {
    CheckUnauthenticated(VerifyContainerToken(kSecret, ContainerToken("a:b")).status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, ContainerToken("a:b:c:d")).status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, ContainerToken("abc")).status());
    CheckUnauthenticated(VerifyContainerToken(kSecret, ContainerToken("")).status());
    // Exactly three parts, some empty: Cast accepts these, and so do we.
    auto empty_channel = VerifyContainerToken(kSecret, ContainerToken("a::c"));
    REQUIRE(empty_channel.has_value());
    CHECK(*empty_channel == AgentIdentity{"a", "", "c"});
    CHECK(VerifyContainerToken(kSecret, ContainerToken("::")).has_value());
  }

  TEST_CASE("ParseContainerAuthorization gives Cast's three messages") {
    const AgentIdentity id{"s", "c", "fox"};
    const std::string token = MakeContainerToken(kSecret, id);
    for (const std::string& header :
         {"Container " + token, "Agent " + token, "container " + token, "AGENT " + token,
          "CoNtAiNeR \t  " + token, "Agent\t" + token}) {
      CAPTURE(header);
      auto parsed = ParseContainerAuthorization(kSecret, header);
      REQUIRE(parsed.has_value());
      CHECK(*parsed == id);
    }

    auto missing = ParseContainerAuthorization(kSecret, "");
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.status() ==
          agentcore::Status(ErrorCode::kUnauthenticated, "Missing Authorization header"));

    const agentcore::Status bad_format(
        ErrorCode::kUnauthenticated,
        "Invalid Authorization format (expected: Container <token> or Agent <token>)");
    for (const std::string& header : std::vector<std::string>{
             "Bearer " + token, "Container" + token, "Container", "Container ", "Agent",
             " Container " + token, "Containers " + token, "Token " + token,
             "Container " + token + "\n", "Container \n", "Container \r"}) {
      CAPTURE(header);
      CHECK(ParseContainerAuthorization(kSecret, header).status() == bad_format);
    }

    const agentcore::Status bad_token(ErrorCode::kUnauthenticated, "Invalid container token");
    for (const std::string& header :
         std::vector<std::string>{"Container x", "Agent " + token + "x", "Container " + token + " ",
                                  "Container  " /* \s+ gives back one space to (.+) */,
                                  "Container " + MakeContainerToken("other", id)}) {
      CAPTURE(header);
      CHECK(ParseContainerAuthorization(kSecret, header).status() == bad_token);
    }
  }
}

TEST_SUITE("SessionToken") {
  TEST_CASE("signs exactly what Python's hmac/base64/json produce") {
    CHECK(SignSessionToken(kSecret, DevClaims()) == kPythonJwt);
    SessionClaims workos;
    workos.user_id = "01HUSER";
    workos.space_id = "01HSPACE";
    workos.mode = "workos";
    workos.workos_session_id = "session_123";
    workos.iat = kIat;
    workos.exp = kExp;
    CHECK(SignSessionToken(agentcore::kDevSessionSecret, workos) == kPythonWorkosJwt);
  }

  TEST_CASE("verifies an independently made token") {
    auto claims = VerifySessionToken(kSecret, kPythonJwt, kIat + 10);
    REQUIRE(claims.has_value());
    CHECK(*claims == DevClaims());
    auto workos = VerifySessionToken(agentcore::kDevSessionSecret, kPythonWorkosJwt, kIat);
    REQUIRE(workos.has_value());
    CHECK(workos->workos_session_id == "session_123");
    CHECK(workos->mode == "workos");
  }

  TEST_CASE("round-trips claims with characters JSON escapes") {
    SessionClaims c = DevClaims();
    c.user_id = "u\"1\\\n\xc3\xa9";
    c.space_id = "space/\x01";
    auto back = VerifySessionToken(kSecret, SignSessionToken(kSecret, c), kIat);
    REQUIRE(back.has_value());
    CHECK(*back == c);
  }

  TEST_CASE("expires at exp") {
    CHECK(VerifySessionToken(kSecret, kPythonJwt, kExp - 1).has_value());
    CheckUnauthenticated(VerifySessionToken(kSecret, kPythonJwt, kExp).status());
    CheckUnauthenticated(VerifySessionToken(kSecret, kPythonJwt, kExp + 1000).status());
    // Fractional exp: valid while now < exp.
    const std::string frac =
        Jwt(kHs256, R"({"userId":"u","spaceId":"s","mode":"dev","exp":100.5})");
    CHECK(VerifySessionToken(kSecret, frac, 100).has_value());
    CHECK(VerifySessionToken(kSecret, frac, 100)->exp == 100);
    CheckUnauthenticated(VerifySessionToken(kSecret, frac, 101).status());
  }

  TEST_CASE("rejects a wrong secret, signature or tampered payload") {
    CheckUnauthenticated(VerifySessionToken("other", kPythonJwt, kIat).status());
    CheckUnauthenticated(VerifySessionToken("", kPythonJwt, kIat).status());
    std::string flipped(kPythonJwt);
    flipped.back() = flipped.back() == 'Y' ? 'Z' : 'Y';
    CheckUnauthenticated(VerifySessionToken(kSecret, flipped, kIat).status());

    // Payload swapped for another user's, signature kept.
    const std::string jwt(kPythonJwt);
    const std::size_t dot1 = jwt.find('.');
    const std::size_t dot2 = jwt.find('.', dot1 + 1);
    const std::string other_payload =
        Base64UrlEncode(R"({"userId":"admin","spaceId":"s1","mode":"dev","iat":1700000000,)"
                        R"("exp":1700604800})");
    CheckUnauthenticated(
        VerifySessionToken(kSecret, jwt.substr(0, dot1 + 1) + other_payload + jwt.substr(dot2),
                           kIat)
            .status());
    // Signature missing, or padded.
    CheckUnauthenticated(VerifySessionToken(kSecret, jwt.substr(0, dot2 + 1), kIat).status());
    CheckUnauthenticated(VerifySessionToken(kSecret, jwt + "=", kIat).status());
  }

  TEST_CASE("rejects any algorithm but HS256") {
    const std::string payload = R"({"userId":"u","spaceId":"s","mode":"dev","exp":2000000000})";
    CHECK(VerifySessionToken(kSecret, Jwt(kHs256, payload), kIat).has_value());
    CHECK(VerifySessionToken(kSecret, Jwt(R"({"alg":"HS256"})", payload), kIat).has_value());
    for (std::string_view header :
         {R"({"alg":"none","typ":"JWT"})", R"({"alg":"HS384","typ":"JWT"})",
          R"({"alg":"hs256","typ":"JWT"})", R"({"typ":"JWT"})", R"({"alg":null})",
          R"({"alg":["HS256"]})", R"(["HS256"])", R"("HS256")", "not json", "{}"}) {
      CAPTURE(header);
      CheckUnauthenticated(VerifySessionToken(kSecret, Jwt(header, payload), kIat).status());
    }
    // alg none with an empty signature, the classic forgery.
    const std::string none =
        Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + Base64UrlEncode(payload) + ".";
    CheckUnauthenticated(VerifySessionToken(kSecret, none, kIat).status());
  }

  TEST_CASE("rejects anything but three base64url parts") {
    const std::string jwt(kPythonJwt);
    for (const std::string& bad :
         {std::string(), std::string("."), std::string(".."), std::string("..."),
          jwt.substr(0, jwt.rfind('.')), jwt + ".", jwt + ".x", "x." + jwt,
          "." + jwt.substr(jwt.find('.') + 1),  // empty header
          jwt.substr(0, jwt.find('.') + 1) + jwt.substr(jwt.find('.', jwt.find('.') + 1)),
          "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9=." + jwt.substr(jwt.find('.') + 1),
          "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + std::string("e*J.abc"), " " + jwt, jwt + " "}) {
      CAPTURE(bad);
      CheckUnauthenticated(VerifySessionToken(kSecret, bad, kIat).status());
    }
    // Base64url characters that decode to nothing (4k+1 long), correctly signed.
    const std::string odd = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.abcde";
    CheckUnauthenticated(
        VerifySessionToken(kSecret, odd + "." + Base64UrlEncode(HmacSha256(kSecret, odd)), kIat)
            .status());
  }

  TEST_CASE("rejects missing, empty or non-string claims") {
    for (std::string_view payload :
         {R"({"spaceId":"s","mode":"dev","exp":2000000000})",
          R"({"userId":"u","mode":"dev","exp":2000000000})",
          R"({"userId":"u","spaceId":"s","exp":2000000000})",
          R"({"userId":"","spaceId":"s","mode":"dev","exp":2000000000})",
          R"({"userId":"u","spaceId":"","mode":"dev","exp":2000000000})",
          R"({"userId":"u","spaceId":"s","mode":"","exp":2000000000})",
          R"({"userId":1,"spaceId":"s","mode":"dev","exp":2000000000})",
          R"({"userId":"u","spaceId":true,"mode":"dev","exp":2000000000})",
          R"({"userId":"u","spaceId":"s","mode":null,"exp":2000000000})",
          R"({"userId":"u","spaceId":"s","mode":"dev"})",
          R"({"userId":"u","spaceId":"s","mode":"dev","exp":"2000000000"})",
          R"({"userId":"u","spaceId":"s","mode":"dev","exp":null})",
          R"({"userId":"u","spaceId":"s","mode":"dev","exp":2000000000,"nbf":1800000000})",
          R"({"userId":"u","spaceId":"s","mode":"dev","exp":2000000000,"nbf":"0"})",
          R"(["u","s","dev"])", R"("u")", "null", "{", ""}) {
      CAPTURE(payload);
      CheckUnauthenticated(VerifySessionToken(kSecret, Jwt(kHs256, payload), kIat).status());
    }
    // nbf in the past and extra claims are fine; a non-string workosSessionId is ignored.
    auto ok = VerifySessionToken(
        kSecret,
        Jwt(kHs256, R"({"userId":"u","spaceId":"s","mode":"dev","exp":2000000000,"nbf":1,)"
                    R"("workosSessionId":7,"extra":{"a":[1]}})"),
        kIat);
    REQUIRE(ok.has_value());
    CHECK(ok->workos_session_id.empty());
    CHECK(ok->iat == 0);
  }

  TEST_CASE("saturates huge numeric claims") {
    auto big = VerifySessionToken(
        kSecret,
        Jwt(kHs256, R"({"userId":"u","spaceId":"s","mode":"dev","exp":1e300,"iat":-1e300})"), kIat);
    REQUIRE(big.has_value());
    CHECK(big->exp == std::numeric_limits<std::int64_t>::max());
    CHECK(big->iat == std::numeric_limits<std::int64_t>::min());
  }
}

TEST_SUITE("Cookies") {
  TEST_CASE("FindCookie") {
    CHECK(FindCookie("cast_session=abc", "cast_session") == "abc");
    CHECK(FindCookie("a=1; cast_session=abc.def.ghi; b=2", "cast_session") == "abc.def.ghi");
    CHECK(FindCookie("a=1;cast_session=x==;b=2", "cast_session") == "x==");
    CHECK(FindCookie("  cast_session=a=b=c  ;", "cast_session") == "a=b=c");
    CHECK(FindCookie("cast_session=; a=1", "cast_session") == "");
    CHECK(FindCookie("cast_session=first; cast_session=second", "cast_session") == "first");
    CHECK(FindCookie("xcast_session=1; cast_sessionx=2", "cast_session") == std::nullopt);
    CHECK(FindCookie("cast_session; a=1", "cast_session") == std::nullopt);
    CHECK(FindCookie("cast_session =1", "cast_session") == std::nullopt);
    CHECK(FindCookie("", "cast_session") == std::nullopt);
    CHECK(FindCookie(";;;", "cast_session") == std::nullopt);
    CHECK(FindCookie("a=1;\tb=2\t", "b") == "2");
  }

  TEST_CASE("SessionCookie and ClearedSessionCookie") {
    CHECK(SessionCookie("tok", false, "") ==
          "cast_session=tok; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800");
    CHECK(SessionCookie("tok", true, ".example.com") ==
          "cast_session=tok; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800; "
          "Domain=.example.com; Secure");
    CHECK(ClearedSessionCookie(false, "") ==
          "cast_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    CHECK(ClearedSessionCookie(true, ".example.com") ==
          "cast_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Domain=.example.com; Secure");
    // A cookie we set is found again.
    const std::string token = SignSessionToken(kSecret, DevClaims());
    const std::string set = SessionCookie(token, false, "");
    CHECK(FindCookie("other=1; " + set.substr(0, set.find(';')), "cast_session") == token);
  }

  TEST_CASE("SessionCookieDomain") {
    CHECK(SessionCookieDomain("") == "");
    CHECK(SessionCookieDomain("http://localhost:5173") == "");
    CHECK(SessionCookieDomain("http://127.0.0.1:3000/") == "");
    CHECK(SessionCookieDomain("https://cast-web.fly.dev") == "");
    CHECK(SessionCookieDomain("https://app.example.com") == ".example.com");
    CHECK(SessionCookieDomain("https://a.b.Example.COM:8443/path?q#f") == ".example.com");
    CHECK(SessionCookieDomain("https://example.com") == ".example.com");
    CHECK(SessionCookieDomain("https://user:pw@app.example.org/") == ".example.org");
  }
}

TEST_SUITE("ApiKey") {
  TEST_CASE("NewApiKey, ApiKeyHash and ApiKeyPrefix") {
    const std::string key = NewApiKey();
    CHECK(key.size() == agentcore::kApiKeyLength);
    CHECK(key.rfind("ak_", 0) == 0);
    CHECK(key.find_first_not_of("0123456789abcdef", 3) == std::string::npos);
    CHECK(NewApiKey() != key);
    CHECK(ApiKeyHash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(ApiKeyHash(key).size() == 64);
    CHECK(ApiKeyPrefix(key) == key.substr(0, 10));
    CHECK(ApiKeyPrefix("ak_12") == "ak_12");
  }
}
