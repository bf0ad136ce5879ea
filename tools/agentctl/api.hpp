// SPDX-License-Identifier: Apache-2.0
#pragma once

// agentctl's side of the HTTP API: the library's HttpClient with the credential added, and
// every failure turned into a CtlError carrying the documented exit code. Streams (SSE, logs,
// downloads) go through SendWithBodyCallback; SSE is parsed with the SseParser the runs
// benchmark uses (benchmarks/sse_reader.hpp, fuzzed by tests/fuzz/sse_reader_fuzz.cpp).

#include <functional>
#include <memory>
#include <string>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "config.hpp"
#include "sse_reader.hpp"

namespace agentcore::ctl {

using SseEvent = bench::SseEvent;

class Api {
 public:
  explicit Api(Settings settings);

  const Settings& settings() const { return settings_; }

  /// One request; returns whatever the server answered. Throws CtlError kExitUnreachable
  /// (kExitUsage for a malformed URL) only when no answer came.
  HttpResponse Send(const std::string& method, const std::string& path,
                    const std::string& body = {}, HttpHeaders headers = {});
  /// One request; returns a 2xx response. Throws CtlError: kExitUnreachable when no answer
  /// came, kExitUnauthorized (401/403), kExitNotFound (404), kExitServerError (any other
  /// status), with the server's error text.
  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = {}, HttpHeaders headers = {});
  /// Call() and the body parsed as JSON (kExitServerError when it is not JSON).
  Json CallJson(const std::string& method, const std::string& path, const std::string& body = {},
                HttpHeaders headers = {});

  /// GET `path` with the body handed to `sink` as it arrives, no overall timeout; ends when
  /// the server ends the body or `sink` returns false. A non-2xx answer throws as Call() does
  /// (its body, at most 64 KiB, never reaches `sink`). `on_connected`, when given, runs once a
  /// 2xx head has arrived. Returns the response head.
  HttpResponse Stream(const std::string& path, HttpHeaders headers,
                      const std::function<bool(const HttpResponse& head, std::string_view)>& sink,
                      const std::function<void()>& on_connected = {});

  /// Follows the SSE stream at `path` from after `last_event_id` (empty: live only), handing
  /// each event to `on_event` until it returns false. When the connection drops (the server
  /// restarted, a network blip) it reconnects with `Last-Event-ID` = the last id seen, waiting
  /// 1 s, 2 s, 4 s... (at most 10 s) between attempts, and says so on `notice`. It gives up
  /// (CtlError kExitUnreachable) only when the server was never reached: the first connection
  /// failed and `reached` (the caller's earlier requests were answered) is false.
  void FollowEvents(const std::string& path, std::string last_event_id,
                    const std::function<bool(const SseEvent&)>& on_event,
                    const std::function<void(const std::string&)>& notice, bool reached = false);

 private:
  HttpRequest Request(const std::string& method, const std::string& path) const;

  Settings settings_;
  std::unique_ptr<HttpClient> client_;
};

/// The server's error text of an error body: "<error>: <message>" for the `{error, message}`
/// shape (runs, logs), the `error` member otherwise; the raw body (cut) when it is not JSON.
std::string ServerErrorText(const std::string& body);

/// The exit code of an HTTP status that is not 2xx.
int ExitCodeOfStatus(int status);

}  // namespace agentcore::ctl
