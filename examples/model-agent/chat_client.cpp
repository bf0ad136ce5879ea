// SPDX-License-Identifier: Apache-2.0
#include "model-agent/chat_client.hpp"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <thread>
#include <utility>

#include <agentcore/json_writer.hpp>

namespace model_agent {

namespace {

using agentcore::ErrorCode;
using agentcore::HttpResponse;
using agentcore::Status;
using std::chrono::milliseconds;

/// Bytes of a non-stream answer kept to report the provider's error.
constexpr std::size_t kMaxErrorBody = 64 * 1024;

/// "HTTP 429 (rate_limit_exceeded): Rate limit reached" from an answer's status and error.
std::string Describe(int http_status, const ProviderError& error) {
  std::string out = "HTTP " + std::to_string(http_status);
  const std::string& kind = !error.code.empty() ? error.code : error.type;
  if (!kind.empty()) out += " (" + kind + ")";
  if (!error.message.empty()) out += ": " + error.message;
  return out;
}

ErrorCode CodeForHttpStatus(int status) {
  if (status == 429) return ErrorCode::kRateLimited;
  if (status == 408) return ErrorCode::kDeadlineExceeded;
  if (status == 409 || status >= 500) return ErrorCode::kUnavailable;
  if (status == 401) return ErrorCode::kUnauthenticated;
  if (status == 403) return ErrorCode::kPermissionDenied;
  if (status == 404) return ErrorCode::kNotFound;
  if (status >= 400) return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;  // 1xx/3xx: redirects are not followed
}

/// A duration in (possibly fractional) `unit`s written as digits, or nullopt.
std::optional<milliseconds> Number(std::string_view text, double unit_ms) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty() || text.size() > 20) return std::nullopt;
  for (char c : text) {
    if ((c < '0' || c > '9') && c != '.') return std::nullopt;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= 0) || value > 1e9) {
    return std::nullopt;
  }
  return milliseconds(static_cast<std::int64_t>(value * unit_ms));
}

void WriteToolCall(agentcore::JsonWriter& w, const ToolCall& call) {
  w.BeginObject().Field("id", call.id).Field("type", "function").Key("function").BeginObject();
  w.Field("name", call.name).Field("arguments", call.arguments.empty() ? "{}" : call.arguments);
  w.EndObject().EndObject();
}

}  // namespace

std::string BuildChatRequestBody(const ChatRequest& request) {
  std::string body;
  agentcore::JsonWriter w(&body);
  w.BeginObject().Field("model", request.model).Key("messages").BeginArray();
  for (const ChatMessage& m : request.messages) {
    w.BeginObject().Field("role", m.role);
    if (m.role == "assistant" && !m.tool_calls.empty()) {
      if (m.content.empty()) {
        w.Key("content").Null();
      } else {
        w.Field("content", m.content);
      }
      w.Key("tool_calls").BeginArray();
      for (const ToolCall& call : m.tool_calls) WriteToolCall(w, call);
      w.EndArray();
    } else {
      w.Field("content", m.content);
    }
    if (m.role == "tool") w.Field("tool_call_id", m.tool_call_id);
    w.EndObject();
  }
  w.EndArray();
  if (!request.tools.empty()) {
    w.Key("tools").BeginArray();
    for (const ToolSpec& tool : request.tools) {
      w.BeginObject().Field("type", "function").Key("function").BeginObject();
      w.Field("name", tool.name).Field("description", tool.description);
      w.Field("parameters", tool.parameters);
      w.EndObject().EndObject();
    }
    w.EndArray();
  }
  if (request.max_tokens) w.Field("max_tokens", *request.max_tokens);
  w.Field("stream", true).Key("stream_options").BeginObject().Field("include_usage", true);
  w.EndObject().EndObject();
  return body;
}

bool IsRetryable(const Status& status) {
  return status.code() == ErrorCode::kRateLimited || status.code() == ErrorCode::kUnavailable ||
         status.code() == ErrorCode::kDeadlineExceeded;
}

std::optional<milliseconds> RetryAfter(const HttpResponse& response,
                                       std::chrono::system_clock::time_point now) {
  if (auto ms = response.Header("retry-after-ms")) {
    if (auto d = Number(*ms, 1.0)) return d;
  }
  std::optional<std::string_view> value = response.Header("retry-after");
  if (!value) return std::nullopt;
  if (auto d = Number(*value, 1000.0)) return d;
  // An HTTP date (RFC 9110 §10.2.3): IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  const std::string text(*value);
  tm parts{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const time_t at = timegm(&parts);
  const auto when = std::chrono::system_clock::from_time_t(at);
  if (when <= now) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(when - now);
}

ChatClient::ChatClient(agentcore::HttpClient* http, ChatClientOptions options)
    : http_(http), options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') {
    options_.base_url.pop_back();
  }
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

agentcore::Result<ChatResult> ChatClient::Complete(const ChatRequest& request,
                                                   ChatObserver* observer,
                                                   const std::function<bool()>& cancelled) {
  const std::string body = BuildChatRequestBody(request);
  std::minstd_rand random(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    std::optional<milliseconds> retry_after;
    agentcore::Result<ChatResult> result = Once(body, observer, cancelled, &retry_after);
    if (result.ok()) {
      result->attempts = attempt;
      return result;
    }
    Status why = result.status();
    const bool stop = cancelled && cancelled();
    if (stop || !IsRetryable(why) || attempt >= options_.max_attempts) {
      if (attempt > 1) {
        why = Status(why.code(), why.message() + " (after " + std::to_string(attempt) +
                                     " attempts)");
      }
      return why;
    }
    milliseconds delay;
    if (retry_after) {
      if (*retry_after > options_.max_retry_after) {
        return Status(why.code(), why.message() + " (the provider asks to retry after " +
                                      std::to_string(retry_after->count() / 1000) +
                                      " s, beyond the " +
                                      std::to_string(options_.max_retry_after.count() / 1000) +
                                      " s limit)");
      }
      delay = *retry_after;
    } else {
      // Exponential backoff with "equal jitter": half fixed, half random.
      milliseconds backoff = options_.initial_backoff;
      for (int i = 1; i < attempt && backoff < options_.max_backoff; ++i) backoff *= 2;
      backoff = std::min(backoff, options_.max_backoff);
      const std::int64_t half = backoff.count() / 2;
      delay = milliseconds(half + (half > 0 ? static_cast<std::int64_t>(random() % static_cast<
                                                  std::uint64_t>(half + 1))
                                            : 0));
    }
    if (observer != nullptr) observer->OnRetry(attempt + 1, delay, why);
    if (options_.sleep) {
      options_.sleep(delay);
    } else {
      const auto until = std::chrono::steady_clock::now() + delay;
      while (std::chrono::steady_clock::now() < until) {
        if (cancelled && cancelled()) return why;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(until - std::chrono::steady_clock::now(),
                                                          milliseconds(100)));
      }
    }
  }
}

agentcore::Result<ChatResult> ChatClient::Once(const std::string& body, ChatObserver* observer,
                                               const std::function<bool()>& cancelled,
                                               std::optional<milliseconds>* retry_after) {
  agentcore::HttpRequest req;
  req.method = "POST";
  req.url = options_.base_url + "/chat/completions";
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  if (!options_.api_key.empty()) req.headers.emplace_back("Authorization",
                                                          "Bearer " + options_.api_key);
  for (const auto& h : options_.extra_headers) req.headers.push_back(h);
  req.body = body;
  req.timeout = options_.timeout;
  req.connect_timeout = options_.connect_timeout;

  using Clock = std::chrono::steady_clock;
  Clock::time_point last_data = Clock::now();
  bool idle = false;
  bool user_cancelled = false;
  req.cancelled = [&] {
    if (cancelled && cancelled()) {
      user_cancelled = true;
      return true;
    }
    if (Clock::now() - last_data > options_.idle_timeout) {
      idle = true;
      return true;
    }
    return false;
  };

  // The status is known only when the call returns, so the body is classified by its first
  // byte: an event stream starts with a field or a comment, an error body with '{'. Stream
  // bytes are decoded as they come (text reaches the observer live); the first bytes are also
  // kept in case the status says they were an error page after all.
  enum class Shape { kUnknown, kStream, kOther } shape = Shape::kUnknown;
  std::string raw;
  ChatStreamDecoder decoder;
  Status decode_error;
  ChatResult result;
  std::optional<ProviderError> stream_error;
  std::vector<ChatStreamEvent> events;
  auto sink = [&](std::string_view bytes) {
    last_data = Clock::now();
    if (raw.size() < kMaxErrorBody) raw.append(bytes.substr(0, kMaxErrorBody - raw.size()));
    if (shape == Shape::kUnknown) {
      const std::size_t first = raw.find_first_not_of(" \t\r\n");
      if (first == std::string::npos) return true;
      shape = raw[first] == '{' || raw[first] == '[' || raw[first] == '<' ? Shape::kOther
                                                                            : Shape::kStream;
    }
    if (shape == Shape::kOther) return raw.size() < kMaxErrorBody;
    events.clear();
    decode_error = decoder.Feed(bytes, &events);
    for (ChatStreamEvent& e : events) {
      switch (e.kind) {
        case ChatStreamEvent::Kind::kText:
          result.text += e.text;
          if (observer != nullptr) observer->OnText(e.text);
          break;
        case ChatStreamEvent::Kind::kToolCall:
          result.tool_calls.push_back(std::move(e.tool_call));
          break;
        case ChatStreamEvent::Kind::kFinish: result.finish_reason = e.text; break;
        case ChatStreamEvent::Kind::kUsage: result.usage = e.usage; break;
        case ChatStreamEvent::Kind::kError: stream_error = e.error; break;
        case ChatStreamEvent::Kind::kDone: break;
      }
    }
    return decode_error.ok();
  };
  agentcore::Result<HttpResponse> response = http_->SendWithBodyCallback(req, sink);
  if (!response.ok()) {
    if (user_cancelled) return Status(ErrorCode::kDeadlineExceeded, "the model call was cancelled");
    if (idle) {
      return Status(ErrorCode::kDeadlineExceeded,
                    "no data from the provider for " +
                        std::to_string(options_.idle_timeout.count() / 1000) + " s");
    }
    return Status(response.status().code(),
                  "chat completions request failed: " + response.status().message());
  }
  if (response->status != 200) {
    *retry_after = RetryAfter(*response, std::chrono::system_clock::now());
    return Status(CodeForHttpStatus(response->status),
                  Describe(response->status, ParseProviderError(raw)));
  }
  if (shape != Shape::kStream) {
    const ProviderError error = ParseProviderError(raw);
    return agentcore::Internal("the provider answered 200 without an event stream" +
                               (error.message.empty() ? std::string() : ": " + error.message));
  }
  if (!decode_error.ok()) {
    return agentcore::Internal("the provider sent a malformed stream: " + decode_error.message());
  }
  events.clear();
  Status finish = decoder.Finish(&events);
  for (ChatStreamEvent& e : events) {
    if (e.kind == ChatStreamEvent::Kind::kToolCall) result.tool_calls.push_back(e.tool_call);
    if (e.kind == ChatStreamEvent::Kind::kText) result.text += e.text;
  }
  if (stream_error) {
    const ErrorCode code = stream_error->type == "invalid_request_error"
                               ? ErrorCode::kInvalidArgument
                               : (stream_error->code == "rate_limit_exceeded"
                                      ? ErrorCode::kRateLimited
                                      : ErrorCode::kUnavailable);
    const std::string& kind = !stream_error->code.empty() ? stream_error->code : stream_error->type;
    return Status(code, "the provider reported an error mid-stream" +
                            (kind.empty() ? std::string() : " (" + kind + ")") + ": " +
                            stream_error->message);
  }
  if (!finish.ok()) {
    if (finish.code() == ErrorCode::kUnavailable) return finish;
    return agentcore::Internal("the provider sent a malformed stream: " + finish.message());
  }
  return result;
}

}  // namespace model_agent
