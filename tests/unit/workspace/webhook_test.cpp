// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/workspace/webhook.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "support/test_http_server.hpp"

namespace agentcore {
namespace {

using testing::TestHttpConnection;
using testing::TestHttpRequest;
using testing::TestHttpServer;

constexpr UnixMillis kNow = 1'767'000'000'123;  // 2025-12-29, t = 1767000000
constexpr std::string_view kSecret = "whsec_test_secret";
constexpr std::string_view kBody = R"({"id":"01J","status":"succeeded"})";

TEST_SUITE("workspace/webhook") {
  TEST_CASE("the signature header is t=<seconds>,v1=<hex HMAC-SHA256 of t.body>") {
    const std::string header = WebhookSignatureHeader(kSecret, kNow, kBody);
    const std::string expected_mac =
        HexEncode(HmacSha256(kSecret, std::string("1767000000.") + std::string(kBody)));
    CHECK(header == "t=1767000000,v1=" + expected_mac);
    CHECK(header.find(kSecret) == std::string::npos);
    // RFC 4231 test case 2's key and data, through our framing: a known answer.
    CHECK(WebhookSignatureHeader("Jefe", 0, "") == "t=0,v1=" + HexEncode(HmacSha256("Jefe", "0.")));
    CHECK(WebhookSignatureHeader("k", -5000, "b") == WebhookSignatureHeader("k", 0, "b"));
  }

  TEST_CASE("a signature verifies within the tolerance, on either side") {
    const std::string header = WebhookSignatureHeader(kSecret, kNow, kBody);
    const auto tol = std::chrono::seconds(300);
    CHECK(VerifyWebhookSignature(kSecret, header, kBody, kNow, tol));
    CHECK(VerifyWebhookSignature(kSecret, header, kBody, kNow + 300'000, tol));
    CHECK(VerifyWebhookSignature(kSecret, header, kBody, kNow - 300'000, tol));
    // Spaces around fields, upper-case hex, unknown fields and several v1 values are accepted.
    const std::string mac = header.substr(header.find("v1=") + 3);
    std::string upper = mac;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(VerifyWebhookSignature(kSecret, " t=1767000000 , v1=" + upper + " ", kBody, kNow, tol));
    CHECK(VerifyWebhookSignature(kSecret,
                                 "v2=abc,t=1767000000,v1=" + std::string(64, '0') + ",v1=" + mac,
                                 kBody, kNow, tol));
  }

  TEST_CASE("a tampered body, secret, timestamp or MAC fails") {
    const std::string header = WebhookSignatureHeader(kSecret, kNow, kBody);
    const auto tol = std::chrono::seconds(300);
    CHECK_FALSE(VerifyWebhookSignature(kSecret, header, std::string(kBody) + " ", kNow, tol));
    CHECK_FALSE(VerifyWebhookSignature("other", header, kBody, kNow, tol));
    std::string shifted = header;
    shifted.replace(shifted.find("1767000000"), 10, "1767000001");
    CHECK_FALSE(VerifyWebhookSignature(kSecret, shifted, kBody, kNow, tol));
    std::string flipped = header;
    flipped.back() = flipped.back() == '0' ? '1' : '0';
    CHECK_FALSE(VerifyWebhookSignature(kSecret, flipped, kBody, kNow, tol));
  }

  TEST_CASE("an expired or future signature fails") {
    const std::string header = WebhookSignatureHeader(kSecret, kNow, kBody);
    const auto tol = std::chrono::seconds(300);
    CHECK_FALSE(VerifyWebhookSignature(kSecret, header, kBody, kNow + 301'000, tol));
    CHECK_FALSE(VerifyWebhookSignature(kSecret, header, kBody, kNow - 301'000, tol));
    CHECK_FALSE(VerifyWebhookSignature(kSecret, header, kBody, kNow, std::chrono::seconds(-1)));
    // Same second (kNow is 123 ms into it): a zero tolerance still accepts.
    CHECK(VerifyWebhookSignature(kSecret, header, kBody, kNow + 876, std::chrono::seconds(0)));
    CHECK_FALSE(
        VerifyWebhookSignature(kSecret, header, kBody, kNow + 877, std::chrono::seconds(0)));
  }

  TEST_CASE("malformed headers fail") {
    const std::string header = WebhookSignatureHeader(kSecret, kNow, kBody);
    const std::string mac = header.substr(header.find("v1=") + 3);
    const auto tol = std::chrono::seconds(300);
    for (const std::string& bad : {
             std::string(""),
             std::string(","),
             std::string("t=1767000000"),
             std::string("v1=" + mac),
             "t=,v1=" + mac,
             "t=-1767000000,v1=" + mac,
             "t=+1767000000,v1=" + mac,
             "t=1767000000x,v1=" + mac,
             "t=1767000000,t=1767000000,v1=" + mac,
             "t=1767000000,v1=" + mac.substr(1),
             "t=1767000000,v1=" + mac + "0",
             "t=1767000000,v1=" + mac.substr(0, 63) + "g",
             "t=1767000000,,v1=" + mac,
             "t=1767000000;v1=" + mac,
             "t=1767000000,=x,v1=" + mac,
             "t=1767000000,junk,v1=" + mac,
             "t=99999999999999999999,v1=" + mac,
             "T=1767000000,V1=" + mac,
             "t=1767000000,v1=" + mac + "," + std::string(5000, 'x'),
             std::string("t=1767000000,v1=") + std::string(64, 'a'),
         }) {
      CAPTURE(bad.substr(0, 100));
      CHECK_FALSE(VerifyWebhookSignature(kSecret, bad, kBody, kNow, tol));
    }
    // More than eight v1 candidates is refused rather than compared without limit.
    std::string many = "t=1767000000";
    for (int i = 0; i < 8; ++i) many += ",v1=" + std::string(64, 'a');
    CHECK_FALSE(VerifyWebhookSignature(kSecret, many + ",v1=" + mac, kBody, kNow, tol));
    CHECK(VerifyWebhookSignature(kSecret, "t=1767000000,v1=" + mac, kBody, kNow, tol));
  }

  TEST_CASE("retry delays grow from 1 s to a 10 min ceiling with full jitter") {
    using std::chrono::milliseconds;
    CHECK(WebhookRetryCeiling(0) == milliseconds(1000));
    CHECK(WebhookRetryCeiling(1) == milliseconds(1000));
    CHECK(WebhookRetryCeiling(2) == milliseconds(2000));
    CHECK(WebhookRetryCeiling(5) == milliseconds(16000));
    CHECK(WebhookRetryCeiling(10) == milliseconds(512000));
    CHECK(WebhookRetryCeiling(11) == milliseconds(600000));
    CHECK(WebhookRetryCeiling(64) == milliseconds(600000));
    CHECK(WebhookRetryCeiling(UINT32_MAX) == milliseconds(600000));
    for (std::uint32_t attempts : {0u, 1u, 3u, 11u, 12u, 1000u}) {
      CAPTURE(attempts);
      const milliseconds ceiling = WebhookRetryCeiling(attempts);
      CHECK(WebhookRetryDelay(attempts, 0) == milliseconds(0));
      CHECK(WebhookRetryDelay(attempts, static_cast<std::uint64_t>(ceiling.count())) == ceiling);
      CHECK(WebhookRetryDelay(attempts, static_cast<std::uint64_t>(ceiling.count()) + 1) ==
            milliseconds(0));
      for (std::uint64_t r : {std::uint64_t{12345}, std::uint64_t{0xFFFFFFFFFFFFFFFF},
                              std::uint64_t{0x8000000000000000}}) {
        const milliseconds d = WebhookRetryDelay(attempts, r);
        CHECK(d >= milliseconds(0));
        CHECK(d <= ceiling);
      }
    }
    CHECK(kWebhookMaxAttempts == 12);
  }

  TEST_CASE("PostWebhook sends the body and the three headers and is OK on 2xx") {
    std::mutex mu;
    TestHttpRequest got;
    int status = 200;
    TestHttpServer server([&](TestHttpConnection& conn, const TestHttpRequest& req) {
      std::lock_guard<std::mutex> lock(mu);
      got = req;
      conn.WriteResponse(status, {}, "ok");
      return true;
    });
    const std::string sig = WebhookSignatureHeader(kSecret, kNow, kBody);
    for (int code : {200, 201, 204, 299}) {
      CAPTURE(code);
      {
        std::lock_guard<std::mutex> lock(mu);
        status = code;
      }
      Status s = PostWebhook(server.Url("/hooks/run?token=abc"), kBody, "evt_01J", sig,
                             std::chrono::milliseconds(5000));
      CHECK_MESSAGE(s.ok(), s.ToString());
    }
    std::lock_guard<std::mutex> lock(mu);
    CHECK(got.method == "POST");
    CHECK(got.target == "/hooks/run?token=abc");
    CHECK(got.body == kBody);
    CHECK(got.Header("content-type") == "application/json");
    CHECK(got.Header("x-agentcore-event-id") == "evt_01J");
    CHECK(got.Header("x-agentcore-signature") == sig);
    CHECK(VerifyWebhookSignature(kSecret, got.Header("x-agentcore-signature"), got.body, kNow,
                                 std::chrono::seconds(300)));
  }

  TEST_CASE("a non-2xx answer is kUnavailable with the status and a bounded excerpt") {
    std::string answer_body;
    int status = 500;
    TestHttpServer server([&](TestHttpConnection& conn, const TestHttpRequest&) {
      conn.WriteResponse(status, {}, answer_body);
      return true;
    });
    SUBCASE("500 with a long body") {
      status = 500;
      answer_body = "boom\n" + std::string(10000, 'z');
      Status s = PostWebhook(server.Url("/h?token=sekrit"), kBody, "e", "t=1,v1=x",
                             std::chrono::milliseconds(5000));
      REQUIRE_FALSE(s.ok());
      CHECK(s.code() == ErrorCode::kUnavailable);
      CHECK(s.message().find("HTTP 500") != std::string::npos);
      CHECK(s.message().find("boom") != std::string::npos);
      CHECK(s.message().size() < 400);
      CHECK(s.message().find("sekrit") == std::string::npos);
    }
    SUBCASE("3xx is not followed and not success") {
      status = 302;
      answer_body = "";
      Status s =
          PostWebhook(server.Url("/h"), kBody, "e", "t=1,v1=x", std::chrono::milliseconds(5000));
      REQUIRE_FALSE(s.ok());
      CHECK(s.code() == ErrorCode::kUnavailable);
      CHECK(s.message().find("HTTP 302") != std::string::npos);
    }
    SUBCASE("404") {
      status = 404;
      answer_body = "nope";
      Status s =
          PostWebhook(server.Url("/h"), kBody, "e", "t=1,v1=x", std::chrono::milliseconds(5000));
      REQUIRE_FALSE(s.ok());
      CHECK(s.code() == ErrorCode::kUnavailable);
      CHECK(s.message().find("HTTP 404: nope") != std::string::npos);
    }
  }

  TEST_CASE("a receiver that does not answer in time is kDeadlineExceeded") {
    std::atomic<bool> release{false};
    TestHttpServer server([&](TestHttpConnection&, const TestHttpRequest&) {
      for (int i = 0; i < 500 && !release; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return false;
    });
    const auto start = std::chrono::steady_clock::now();
    Status s = PostWebhook(server.Url("/slow?token=sekrit"), kBody, "e", "t=1,v1=x",
                           std::chrono::milliseconds(300));
    const auto took = std::chrono::steady_clock::now() - start;
    release = true;
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == ErrorCode::kDeadlineExceeded);
    CHECK(took < std::chrono::seconds(3));
    CHECK(s.message().find("sekrit") == std::string::npos);
    CHECK(s.message().find("http://127.0.0.1:") != std::string::npos);
  }

  TEST_CASE("a refused connection is kUnavailable") {
    std::uint16_t port = 0;
    {
      TestHttpServer server([](TestHttpConnection&, const TestHttpRequest&) { return false; });
      port = server.port();
    }  // closed: nothing listens on the port now
    Status s = PostWebhook("http://127.0.0.1:" + std::to_string(port) + "/h", kBody, "e",
                           "t=1,v1=x", std::chrono::milliseconds(2000));
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == ErrorCode::kUnavailable);
  }

  TEST_CASE("refuses URLs that are not http(s) and header values with CR or LF") {
    for (const std::string& url :
         {std::string(""), std::string("ftp://example.com/h"), std::string("file:///etc/passwd"),
          std::string("example.com/h"), std::string("http://"), std::string("https:///path"),
          std::string("gopher://x"), std::string("http://exa mple.com/"),
          std::string("http://example.com/\r\nX: y"), std::string("javascript:alert(1)")}) {
      CAPTURE(url);
      Status s = PostWebhook(url, kBody, "e", "t=1,v1=x", std::chrono::milliseconds(1000));
      REQUIRE_FALSE(s.ok());
      CHECK(s.code() == ErrorCode::kInvalidArgument);
    }
    for (const auto& [id, sig] :
         {std::pair<std::string, std::string>{"e\r\nX: y", "t=1"},
          std::pair<std::string, std::string>{"e", "t=1\nv1=x"},
          std::pair<std::string, std::string>{std::string("e\0", 2), "t"}}) {
      Status s =
          PostWebhook("http://127.0.0.1:9/h", kBody, id, sig, std::chrono::milliseconds(1000));
      REQUIRE_FALSE(s.ok());
      CHECK(s.code() == ErrorCode::kInvalidArgument);
    }
  }

}  // TEST_SUITE

}  // namespace
}  // namespace agentcore
