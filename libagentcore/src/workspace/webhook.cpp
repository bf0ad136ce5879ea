// SPDX-License-Identifier: Apache-2.0
#include <fmt/format.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/http/client.hpp>
#include <agentcore/workspace/webhook.hpp>
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace agentcore {
namespace {

constexpr std::size_t kMaxSignatureHeader = 4096;
constexpr std::size_t kMaxBodyExcerpt = 256;
constexpr std::int64_t kMaxDelayMs = 10 * 60 * 1000;

std::string Signature(std::string_view secret, std::int64_t seconds, std::string_view body) {
  std::string payload = std::to_string(seconds);
  payload += '.';
  payload.append(body);
  return HexEncode(HmacSha256(secret, payload));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

// scheme://host[:port] of an http(s) URL, without userinfo, path or query (which may hold
// credentials); used in messages only.
std::string Origin(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "webhook";
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, std::min(rest.find_first_of("/?#"), rest.size()));
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  return std::string(url.substr(0, scheme_end + 3)) + std::string(rest);
}

bool HasControl(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

std::string WebhookSignatureHeader(std::string_view secret, UnixMillis now, std::string_view body) {
  const std::int64_t seconds = now > 0 ? now / 1000 : 0;
  return fmt::format("t={},v1={}", seconds, Signature(secret, seconds, body));
}

bool VerifyWebhookSignature(std::string_view secret, std::string_view header, std::string_view body,
                            UnixMillis now, std::chrono::seconds tolerance) {
  if (header.size() > kMaxSignatureHeader) return false;
  bool have_t = false;
  std::int64_t t = 0;
  std::string candidates[8];
  std::size_t n_candidates = 0;
  std::size_t start = 0;
  while (start <= header.size()) {
    std::size_t comma = header.find(',', start);
    if (comma == std::string_view::npos) comma = header.size();
    const std::string_view field = Trim(header.substr(start, comma - start));
    start = comma + 1;
    const std::size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    const std::string_view key = field.substr(0, eq);
    const std::string_view value = field.substr(eq + 1);
    if (key == "t") {
      if (have_t || value.empty() || value.size() > 18) return false;
      if (!std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
      }
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), t);
      if (ec != std::errc() || ptr != value.data() + value.size()) return false;
      have_t = true;
    } else if (key == "v1") {
      if (value.size() != 64 || !std::all_of(value.begin(), value.end(), IsHex)) return false;
      if (n_candidates == std::size(candidates)) return false;
      std::string lower(value);
      for (char& c : lower) c = Lower(c);
      candidates[n_candidates++] = std::move(lower);
    }
    // Other keys (a future v2) are ignored, as receivers of versioned schemes do.
  }
  if (!have_t || n_candidates == 0) return false;
  const std::int64_t now_s = now > 0 ? now / 1000 : 0;
  const std::int64_t skew = now_s > t ? now_s - t : t - now_s;
  if (tolerance.count() < 0 || skew > tolerance.count()) return false;
  const std::string expected = Signature(secret, t, body);
  bool match = false;
  for (std::size_t i = 0; i < n_candidates; ++i) {
    // No early exit: every candidate is compared.
    match = ConstantTimeEquals(expected, candidates[i]) || match;
  }
  return match;
}

std::chrono::milliseconds WebhookRetryCeiling(std::uint32_t attempts) {
  const std::uint32_t exponent = attempts == 0 ? 0 : attempts - 1;
  // 2^20 s is past the cap already; this also keeps the shift defined.
  if (exponent >= 20) return std::chrono::milliseconds(kMaxDelayMs);
  return std::chrono::milliseconds(std::min<std::int64_t>(1000LL << exponent, kMaxDelayMs));
}

std::chrono::milliseconds WebhookRetryDelay(std::uint32_t attempts, std::uint64_t random) {
  const auto ceiling = static_cast<std::uint64_t>(WebhookRetryCeiling(attempts).count());
  return std::chrono::milliseconds(static_cast<std::int64_t>(random % (ceiling + 1)));
}

Status PostWebhook(const std::string& url, std::string_view body, std::string_view event_id,
                   std::string_view signature_header, std::chrono::milliseconds timeout) {
  if (!StartsWithNoCase(url, "http://") && !StartsWithNoCase(url, "https://")) {
    return InvalidArgument("webhook url is not an http:// or https:// url");
  }
  const std::size_t host_start = url.find("://") + 3;
  if (host_start >= url.size() || url[host_start] == '/' || HasControl(url) ||
      url.find(' ') != std::string::npos) {
    return InvalidArgument(fmt::format("webhook url {} is malformed", Origin(url)));
  }
  if (HasControl(event_id) || HasControl(signature_header)) {
    return InvalidArgument("webhook event id or signature holds CR, LF or NUL");
  }
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"Content-Type", "application/json"},
                 {std::string(kWebhookEventIdHeaderName), std::string(event_id)},
                 {std::string(kWebhookSignatureHeaderName), std::string(signature_header)}};
  req.body = std::string(body);
  req.timeout = timeout;
  req.connect_timeout = std::min(timeout, std::chrono::milliseconds(5'000));
  req.max_response_bytes = 64 * 1024;  // the answer is read for its status and an excerpt
  std::unique_ptr<HttpClient> client = NewHttpClient();
  Result<HttpResponse> resp = client->Send(req);
  if (!resp.ok()) {
    const Status& err = resp.error();
    // The client's message starts with "POST <url>: "; keep only what follows, since the
    // url's path or query may carry a token.
    std::string_view detail = err.message();
    const std::string prefix = "POST " + url + ": ";
    if (detail.substr(0, prefix.size()) == prefix) {
      detail.remove_prefix(prefix.size());
    } else if (detail.find(url) != std::string_view::npos) {
      detail = "request failed";
    }
    ErrorCode code = err.code();
    // An oversized answer is still an answer that is not what we wanted.
    if (code == ErrorCode::kTooLarge) code = ErrorCode::kUnavailable;
    return Status(code, fmt::format("webhook POST to {} failed: {}", Origin(url), detail));
  }
  if (resp->status >= 200 && resp->status < 300) return Status();
  std::string excerpt = resp->body.substr(0, kMaxBodyExcerpt);
  for (char& c : excerpt) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return Status(ErrorCode::kUnavailable,
                fmt::format("webhook POST to {} answered HTTP {}{}{}", Origin(url), resp->status,
                            excerpt.empty() ? "" : ": ", excerpt));
}

}  // namespace agentcore
