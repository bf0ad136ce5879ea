// SPDX-License-Identifier: Apache-2.0
#include "runtime/kubernetes/kube_api.hpp"

#include <algorithm>
#include <charconv>
#include <random>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace agentcore::internal {

bool IsRetryableStatus(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

KubeApi::KubeApi(KubernetesConnection connection, HttpClient* http, KubeRetryPolicy policy)
    : connection_(std::move(connection)), http_(http), policy_(policy) {}

HttpRequest KubeApi::Request(std::string_view method, std::string_view path,
                             std::string body) const {
  HttpRequest req;
  req.method = std::string(method);
  req.url = connection_.server + std::string(path);
  req.timeout = policy_.timeout;
  req.headers.emplace_back("Accept", "application/json");
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  if (!connection_.token.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + connection_.token);
  }
  req.body = std::move(body);
  req.ca_file = connection_.ca_file;
  req.ca_pem = connection_.ca_pem;
  req.client_cert_pem = connection_.client_cert_pem;
  req.client_key_pem = connection_.client_key_pem;
  req.insecure_skip_tls_verify = connection_.insecure_skip_tls_verify;
  return req;
}

std::chrono::milliseconds KubeApi::Backoff(int attempt, const HttpResponse* response) const {
  const auto base = std::max<std::int64_t>(1, policy_.base.count());
  const std::int64_t ceiling =
      std::min<std::int64_t>(policy_.cap.count(), base << std::min(attempt, 20));
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> dist(ceiling / 2, std::max<std::int64_t>(ceiling, 1));
  std::chrono::milliseconds delay(dist(rng));
  if (response != nullptr) {
    if (std::optional<std::string_view> after = response->Header("Retry-After")) {
      std::int64_t seconds = 0;
      const auto [p, ec] = std::from_chars(after->data(), after->data() + after->size(), seconds);
      if (ec == std::errc() && p == after->data() + after->size() && seconds >= 0) {
        const std::chrono::milliseconds wanted = std::min<std::chrono::milliseconds>(
            std::chrono::seconds(std::min<std::int64_t>(seconds, 86'400)), policy_.max_retry_after);
        delay = std::max(delay, wanted);
      }
    }
  }
  return delay;
}

Result<HttpResponse> KubeApi::Call(std::string_view method, std::string_view path, std::string body,
                                   std::string_view what) const {
  const HttpRequest req = Request(method, path, std::move(body));
  const int attempts = 1 + std::max(0, policy_.max_retries);
  for (int attempt = 0;; ++attempt) {
    Result<HttpResponse> res = http_->Send(req);
    const bool last = attempt + 1 >= attempts;
    if (res.ok()) {
      if (!IsRetryableStatus(res->status) || last) return res;
      std::this_thread::sleep_for(Backoff(attempt, &*res));
      continue;
    }
    // Only a call that got no answer is worth repeating: a malformed URL (kInvalidArgument),
    // an oversized answer (kTooLarge) or a TLS failure (kInternal) will not change.
    const ErrorCode code = res.status().code();
    if (last || (code != ErrorCode::kUnavailable && code != ErrorCode::kDeadlineExceeded)) {
      return Status(code, fmt::format("kubernetes: {}: {}{}", what, res.status().message(),
                                      attempt > 0 ? fmt::format(" (after {} attempts)", attempt + 1)
                                                  : std::string()));
    }
    std::this_thread::sleep_for(Backoff(attempt, nullptr));
  }
}

Status KubeApi::ErrorFor(std::string_view what, const HttpResponse& response, int attempts) {
  std::string detail;
  Result<Json> body = ParseJson(response.body);
  if (body.ok() && body->is_object()) {
    const std::string* reason = body->FindString("reason");
    const std::string* message = body->FindString("message");
    if (reason != nullptr && !reason->empty()) detail += " " + *reason;
    if (message != nullptr && !message->empty()) detail += ": " + *message;
  }
  if (detail.empty() && !response.body.empty()) {
    detail = ": " + response.body.substr(0, 200);
  }
  const std::string suffix =
      attempts > 1 ? fmt::format(" (after {} attempts)", attempts) : std::string();
  const std::string msg =
      fmt::format("kubernetes: {}: {}{}{}", what, response.status, detail, suffix);
  switch (response.status) {
    case 400:
    case 422:
      return InvalidArgument(msg);
    case 401:
      return Status(ErrorCode::kUnauthenticated, msg);
    case 403:
      return Status(ErrorCode::kPermissionDenied, msg);
    case 404:
      return NotFound(msg);
    case 409:
      return Conflict(msg);
    case 429:
      return Status(ErrorCode::kRateLimited, msg);
    case 503:
      return Unavailable(msg);
    case 504:
      return Status(ErrorCode::kDeadlineExceeded, msg);
    default:
      return Internal(msg);
  }
}

}  // namespace agentcore::internal
