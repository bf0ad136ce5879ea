// SPDX-License-Identifier: Apache-2.0
#pragma once

// FakeChatProvider: an OpenAI-compatible `POST /v1/chat/completions` on 127.0.0.1 that checks
// each request the way the real API does (path, bearer key, model, stream flags, messages) and
// answers with scripted replies: recorded event streams (tests/data/chat/*.sse) sent in
// pieces, error bodies with any status and headers (429 with Retry-After, 500, 401), or a
// stream cut mid-way by closing the connection. See fake_chat_provider.md for the subset.

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <agentcore/json.hpp>

#include "support/test_http_server.hpp"

namespace agentcore::testing {

class FakeChatProvider {
 public:
  struct Reply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool stream = false;         // 200 text/event-stream, chunked
    std::size_t piece = 0;       // stream: bytes per chunk (0: one chunk per SSE event)
    std::size_t cut_after = 0;   // stream: close the connection after this many body bytes
    bool cut = false;
  };

  // A recorded stream, sent in pieces of `piece` bytes (0: event by event).
  static Reply Stream(std::string sse, std::size_t piece = 0) {
    Reply r;
    r.stream = true;
    r.body = std::move(sse);
    r.piece = piece;
    return r;
  }
  // The first `after` bytes of a stream, then the connection closes without the last chunk.
  static Reply Cut(std::string sse, std::size_t after) {
    Reply r = Stream(std::move(sse));
    r.cut = true;
    r.cut_after = after;
    return r;
  }
  // An error answer in OpenAI's shape {"error":{"message","type","param","code"}}.
  static Reply Error(int status, std::string message, std::string type, std::string code,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
    Reply r;
    r.status = status;
    r.headers = std::move(headers);
    r.body = ErrorBody(message, type, code);
    return r;
  }

  static std::string ErrorBody(const std::string& message, const std::string& type,
                               const std::string& code) {
    Json error = Json::Object();
    error.Set("message", message);
    error.Set("type", type);
    error.Set("param", nullptr);
    error.Set("code", code.empty() ? Json(nullptr) : Json(code));
    Json body = Json::Object();
    body.Set("error", std::move(error));
    return ToJson(body);
  }

  // tests/data/chat/<name>.
  static std::string Recording(const std::string& name) {
    std::ifstream in(std::string(AGENTCORE_TEST_DATA_DIR) + "/chat/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  struct Seen {
    std::string target;
    std::string authorization;
    std::string body;
  };

  FakeChatProvider(std::string api_key, std::string model)
      : api_key_(std::move(api_key)),
        model_(std::move(model)),
        server_([this](TestHttpConnection& c, const TestHttpRequest& r) { return Serve(c, r); }) {}

  // The base URL a client is configured with ("…/v1", as OPENAI_BASE_URL).
  std::string BaseUrl() const { return server_.Url("/v1"); }

  void Enqueue(Reply reply) {
    std::lock_guard lock(mu_);
    script_.push_back(std::move(reply));
  }

  // Every request that reached the script (valid ones), in order.
  std::vector<Seen> requests() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // Requests refused by the checks (wrong path, key, model or flags).
  int refused() const {
    std::lock_guard lock(mu_);
    return refused_;
  }
  std::size_t pending() const {
    std::lock_guard lock(mu_);
    return script_.size();
  }

 private:
  static std::string Hex(std::size_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%zx", n);
    return buf;
  }

  bool Refuse(TestHttpConnection& c, int status, const std::string& message,
              const std::string& type, const std::string& code) {
    {
      std::lock_guard lock(mu_);
      ++refused_;
    }
    c.WriteResponse(status, {{"Content-Type", "application/json"}},
                    ErrorBody(message, type, code));
    return true;
  }

  // The checks the real API makes, in its order: route, key, body.
  bool Serve(TestHttpConnection& c, const TestHttpRequest& r) {
    if (r.method != "POST" || r.target != "/v1/chat/completions") {
      return Refuse(c, 404, "Invalid URL (" + r.method + " " + r.target + ")",
                    "invalid_request_error", "");
    }
    if (r.Header("authorization") != "Bearer " + api_key_) {
      return Refuse(c, 401, "Incorrect API key provided.", "invalid_request_error",
                    "invalid_api_key");
    }
    Result<Json> body = ParseJson(r.body);
    if (!body.ok() || !body->is_object()) {
      return Refuse(c, 400, "We could not parse the JSON body of your request.",
                    "invalid_request_error", "");
    }
    const std::string* model = body->FindString("model");
    if (model == nullptr || *model != model_) {
      return Refuse(c, 404, "The model does not exist or you do not have access to it.",
                    "invalid_request_error", "model_not_found");
    }
    const Json* stream = body->Find("stream");
    const Json* options = body->Find("stream_options");
    const Json* usage = options != nullptr ? options->Find("include_usage") : nullptr;
    const Json* messages = body->Find("messages");
    if (stream == nullptr || !stream->is_bool() || !stream->as_bool() || usage == nullptr ||
        !usage->is_bool() || !usage->as_bool()) {
      return Refuse(c, 400, "this fake serves only stream:true with include_usage",
                    "invalid_request_error", "");
    }
    if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
      return Refuse(c, 400, "'messages' must be a non-empty array", "invalid_request_error", "");
    }
    Reply reply;
    {
      std::lock_guard lock(mu_);
      seen_.push_back(Seen{r.target, r.Header("authorization"), r.body});
      if (script_.empty()) {
        reply = Error(500, "no scripted reply left", "server_error", "");
      } else {
        reply = std::move(script_.front());
        script_.pop_front();
      }
    }
    if (!reply.stream) {
      auto headers = reply.headers;
      headers.emplace_back("Content-Type", "application/json");
      c.WriteResponse(reply.status, headers, reply.body);
      return true;
    }
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n";
    if (!c.Write(head)) return false;
    std::string_view rest = reply.body;
    std::size_t sent = 0;
    while (!rest.empty()) {
      std::size_t n = reply.piece;
      if (n == 0) {
        const std::size_t end = rest.find("\n\n");
        n = end == std::string_view::npos ? rest.size() : end + 2;
      }
      n = std::min(n, rest.size());
      if (reply.cut && sent + n > reply.cut_after) n = reply.cut_after - sent;
      if (n > 0) {
        if (!c.Write(Hex(n) + "\r\n" + std::string(rest.substr(0, n)) + "\r\n")) return false;
        sent += n;
        rest.remove_prefix(n);
      }
      if (reply.cut && sent >= reply.cut_after) return false;  // close without the last chunk
    }
    c.Write("0\r\n\r\n");
    return true;
  }

  const std::string api_key_;
  const std::string model_;
  mutable std::mutex mu_;
  std::deque<Reply> script_;
  std::vector<Seen> seen_;
  int refused_ = 0;
  TestHttpServer server_;  // last: stopped first, while the members above still live
};

}  // namespace agentcore::testing
