// SPDX-License-Identifier: Apache-2.0
// Fuzzes VerifyWebhookSignature, whose header a receiver takes from an untrusted request.
//
// Input: the whole input is the header; it is also used as a body. Checks, trapping on any
// violation:
//   * a header that verifies holds, hex case ignored, the true MAC of a timestamp within the
//     tolerance (nothing else can pass);
//   * WebhookSignatureHeader of the input as a body verifies, and fails for any other body,
//     another secret, or a time past the tolerance.
#include <agentcore/auth/crypto.hpp>
#include <agentcore/workspace/webhook.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kSecret = "fuzz-webhook-secret";
constexpr std::string_view kBody = R"({"id":"run","status":"succeeded"})";
constexpr agentcore::UnixMillis kNow = 1'767'000'000'500;
constexpr std::chrono::seconds kTolerance{2};

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (agentcore::VerifyWebhookSignature(kSecret, input, kBody, kNow, kTolerance)) {
    const std::string lower = Lower(input);
    bool found = false;
    for (std::int64_t d = -kTolerance.count(); d <= kTolerance.count(); ++d) {
      const std::int64_t t = kNow / 1000 + d;
      const std::string mac = agentcore::HexEncode(
          agentcore::HmacSha256(kSecret, std::to_string(t) + "." + std::string(kBody)));
      if (lower.find(mac) != std::string::npos) found = true;
    }
    Check(found);
  }

  const std::string header = agentcore::WebhookSignatureHeader(kSecret, kNow, input);
  Check(agentcore::VerifyWebhookSignature(kSecret, header, input, kNow, kTolerance));
  Check(!agentcore::VerifyWebhookSignature(kSecret, header, std::string(input) + "x", kNow,
                                           kTolerance));
  Check(!agentcore::VerifyWebhookSignature("other", header, input, kNow, kTolerance));
  Check(!agentcore::VerifyWebhookSignature(kSecret, header, input, kNow + 3'000, kTolerance));
  return 0;
}
