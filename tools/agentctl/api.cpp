// SPDX-License-Identifier: Apache-2.0
#include "api.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

namespace agentcore::ctl {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMaxErrorBody = 64 * 1024;

CtlError TransportError(const std::string& url, const Status& s) {
  const bool unreachable =
      s.code() == ErrorCode::kUnavailable || s.code() == ErrorCode::kDeadlineExceeded;
  return CtlError(unreachable ? kExitUnreachable
                  : s.code() == ErrorCode::kInvalidArgument ? kExitUsage
                                                             : kExitServerError,
                  "cannot reach " + url + ": " + s.message());
}

CtlError StatusError(int status, const std::string& body) {
  return CtlError(ExitCodeOfStatus(status),
                  "server answered " + std::to_string(status) + ": " + ServerErrorText(body));
}

}  // namespace

int ExitCodeOfStatus(int status) {
  if (status == 401 || status == 403) return kExitUnauthorized;
  if (status == 404) return kExitNotFound;
  return kExitServerError;
}

std::string ServerErrorText(const std::string& body) {
  auto parsed = ParseJson(body);
  if (parsed.ok() && parsed->is_object()) {
    const std::string* error = parsed->FindString("error");
    const std::string* message = parsed->FindString("message");
    if (error != nullptr && message != nullptr) return *error + ": " + *message;
    if (error != nullptr) return *error;
    if (message != nullptr) return *message;
  }
  std::string text = body.substr(0, 200);
  return text.empty() ? std::string("(no body)") : text;
}

Api::Api(Settings settings) : settings_(std::move(settings)), client_(NewHttpClient()) {}

HttpRequest Api::Request(const std::string& method, const std::string& path) const {
  HttpRequest req;
  req.method = method;
  req.url = settings_.url + path;
  req.headers = {{"Accept", "application/json"}};
  if (!settings_.api_key.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + settings_.api_key);
  }
  return req;
}

HttpResponse Api::Send(const std::string& method, const std::string& path,
                       const std::string& body, HttpHeaders headers) {
  HttpRequest req = Request(method, path);
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  for (auto& h : headers) req.headers.push_back(std::move(h));
  req.body = body;
  Result<HttpResponse> r = client_->Send(req);
  if (!r.ok()) throw TransportError(settings_.url, r.status());
  return *std::move(r);
}

HttpResponse Api::Call(const std::string& method, const std::string& path,
                       const std::string& body, HttpHeaders headers) {
  HttpResponse r = Send(method, path, body, std::move(headers));
  if (r.status < 200 || r.status > 299) throw StatusError(r.status, r.body);
  return r;
}

Json Api::CallJson(const std::string& method, const std::string& path, const std::string& body,
                   HttpHeaders headers) {
  HttpResponse r = Call(method, path, body, std::move(headers));
  auto parsed = ParseJson(r.body);
  if (!parsed.ok()) {
    throw CtlError(kExitServerError, "the server's answer is not JSON: " + parsed.status().message());
  }
  return *std::move(parsed);
}

HttpResponse Api::Stream(
    const std::string& path, HttpHeaders headers,
    const std::function<bool(const HttpResponse& head, std::string_view)>& sink,
    const std::function<void()>& on_connected) {
  HttpRequest req = Request("GET", path);
  for (auto& h : headers) req.headers.push_back(std::move(h));
  req.timeout = 0ms;  // streams stay open
  HttpResponse head;
  bool ok_status = false;
  std::string error_body;
  req.on_response_head = [&](const HttpResponse& h) {
    head = h;
    ok_status = h.status >= 200 && h.status <= 299;
    if (ok_status && on_connected) on_connected();
    return true;
  };
  Result<HttpResponse> r = client_->SendWithBodyCallback(req, [&](std::string_view data) {
    if (ok_status) return sink(head, data);
    error_body.append(data.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, error_body.size())));
    return error_body.size() < kMaxErrorBody;
  });
  if (!r.ok()) throw TransportError(settings_.url, r.status());
  if (r->status < 200 || r->status > 299) throw StatusError(r->status, error_body);
  return *std::move(r);
}

void Api::FollowEvents(const std::string& path, std::string last_event_id,
                       const std::function<bool(const SseEvent&)>& on_event,
                       const std::function<void(const std::string&)>& notice, bool reached) {
  bool connected_once = reached;
  auto backoff = 1s;
  for (;;) {
    bool stop = false;
    bench::SseParser parser;
    HttpHeaders headers = {{"Accept", "text/event-stream"}};
    if (!last_event_id.empty()) headers.emplace_back("Last-Event-ID", last_event_id);
    try {
      Stream(
          path, headers,
          [&](const HttpResponse&, std::string_view data) {
            parser.Feed(data, [&](const SseEvent& e) {
              if (stop) return;
              if (!e.id.empty()) last_event_id = e.id;
              if (!on_event(e)) stop = true;
            });
            if (parser.failed()) {
              throw CtlError(kExitServerError,
                             "the server sent an event longer than " +
                                 std::to_string(bench::SseParser::kDefaultMaxEventBytes >> 20) +
                                 " MiB on " + path);
            }
            return !stop;
          },
          [&] {  // a 2xx head: connected, even if no event comes for a while
            connected_once = true;
            backoff = 1s;
          });
    } catch (const CtlError& e) {
      // Only a lost connection is retried: an answer (401, 404...) will not change.
      if (e.code() != kExitUnreachable || !connected_once) throw;
    }
    if (stop) return;
    connected_once = true;  // a stream that ended cleanly was connected
    notice("connection lost; reconnecting in " + std::to_string(backoff.count()) + " s" +
           (last_event_id.empty() ? std::string() : " after " + last_event_id));
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::seconds(10));
  }
}

}  // namespace agentcore::ctl
