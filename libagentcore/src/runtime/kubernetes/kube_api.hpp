// SPDX-License-Identifier: Apache-2.0
#pragma once

// Calls to a Kubernetes API server: authentication and TLS from a KubernetesConnection, a
// timeout on every call, and retries with exponential backoff and full jitter for answers
// that invite them (429, 500, 502, 503, 504) and for calls that got no answer.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/kubernetes.hpp>

namespace agentcore::internal {

struct KubeRetryPolicy {
  std::chrono::milliseconds timeout{10'000};
  int max_retries = 4;
  std::chrono::milliseconds base{200};
  std::chrono::milliseconds cap{5'000};
  std::chrono::milliseconds max_retry_after{30'000};
};

// Thread-safe (the HttpClient is).
class KubeApi {
 public:
  // `http` is not owned and must outlive this object.
  KubeApi(KubernetesConnection connection, HttpClient* http, KubeRetryPolicy policy);

  // A request to `path` (starting with '/') with the connection's credentials and TLS
  // settings, JSON content type when `body` is not empty, and the policy's timeout.
  HttpRequest Request(std::string_view method, std::string_view path, std::string body) const;

  // Sends, retrying as described above; `what` names the call in errors. Returns the last
  // response whatever its status (the caller judges 404 and 409), or the last transport error
  // after the retries, as `kubernetes: <what>: <error>`.
  Result<HttpResponse> Call(std::string_view method, std::string_view path, std::string body,
                            std::string_view what) const;

  // The policy's delay before retry `attempt` (0-based), given the answer's Retry-After.
  std::chrono::milliseconds Backoff(int attempt, const HttpResponse* response) const;

  // `kubernetes: <what>: <code> <reason>: <message>` from a Status object body, or the
  // start of a body that is not one.
  static Status ErrorFor(std::string_view what, const HttpResponse& response, int attempts);

 private:
  KubernetesConnection connection_;
  HttpClient* http_;
  KubeRetryPolicy policy_;
};

// True for statuses worth retrying: 429, 500, 502, 503, 504.
bool IsRetryableStatus(int status);

}  // namespace agentcore::internal
