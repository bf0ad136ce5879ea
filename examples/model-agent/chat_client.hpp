// SPDX-License-Identifier: Apache-2.0
#pragma once

/// A client of an OpenAI-compatible `POST <base>/chat/completions` endpoint with streaming and
/// tool calls: it builds the request (messages with roles system/user/assistant/tool, tools as
/// JSON-schema functions, `stream: true`, `stream_options: {"include_usage": true}`), sends it
/// over agentcore's HttpClient with the key in `Authorization: Bearer` only, decodes the event
/// stream as it arrives (chat_stream.hpp) and hands text deltas to the caller live.
///
/// Retries: a 429, a 5xx, a connection that could not be made or broke mid-stream, and a
/// timeout are retried up to `max_attempts` in all, after an exponential backoff with jitter
/// or, when the answer has `retry-after-ms` or `Retry-After` (seconds or an HTTP date), after
/// exactly that long; a Retry-After longer than `max_retry_after` ends the retries at once (the
/// provider said no sooner). A 4xx other than 408/409/429 is final. Before each retry the
/// observer's OnRetry runs, so a caller that showed partial text can take it back.
///
/// Errors (Status codes): kRateLimited (429), kUnavailable (5xx, connection refused or
/// dropped), kDeadlineExceeded (the call's timeout or no byte for `idle_timeout`),
/// kUnauthenticated (401), kPermissionDenied (403), kNotFound (404: wrong base URL or model),
/// kInvalidArgument (other 4xx), kInternal (a malformed stream or a body that is not a
/// stream). Messages carry the HTTP status and the provider's error message, never the key.
/// `IsRetryable` says which of them a later attempt may cure.
///
/// Thread-compatible; the HttpClient it is given is not owned and must outlive it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

#include "model-agent/chat_stream.hpp"

namespace model_agent {

/// One message of the conversation.
struct ChatMessage {
  std::string role;                 // "system", "user", "assistant" or "tool"
  std::string content;              // may be empty for an assistant turn with tool calls
  std::vector<ToolCall> tool_calls;  // assistant: the calls it made
  std::string tool_call_id;          // tool: the call this answers
};

/// A function the model may call; `parameters` is a JSON Schema object.
struct ToolSpec {
  std::string name;
  std::string description;
  agentcore::Json parameters;
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  std::vector<ToolSpec> tools;
  std::optional<std::int64_t> max_tokens;  // sent as max_tokens when set
};

/// The JSON body for `request`.
std::string BuildChatRequestBody(const ChatRequest& request);

/// What one completed request produced.
struct ChatResult {
  std::string text;                 // the whole assistant content
  std::vector<ToolCall> tool_calls;  // in index order
  std::string finish_reason;         // "" when the provider sent [DONE] without one
  std::optional<Usage> usage;        // the last usage chunk
  int attempts = 0;                  // how many requests it took
};

struct ChatClientOptions {
  /// E.g. "https://api.openai.com/v1"; "/chat/completions" is appended (a trailing slash is
  /// dropped first).
  std::string base_url;
  /// Sent as `Authorization: Bearer <key>`; empty sends no Authorization (local servers).
  std::string api_key;
  /// Sent with every request (e.g. OpenRouter's HTTP-Referer, X-Title).
  agentcore::HttpHeaders extra_headers;
  std::chrono::milliseconds timeout{600'000};       // one request, from connect to last byte
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{120'000};  // no byte for this long ends the request
  int max_attempts = 4;
  std::chrono::milliseconds initial_backoff{1'000};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds max_retry_after{120'000};
  /// How to wait before a retry; nullptr sleeps the thread. Tests record instead.
  std::function<void(std::chrono::milliseconds)> sleep;
};

/// Receives the stream as it arrives. Called on the calling thread.
class ChatObserver {
 public:
  virtual ~ChatObserver() = default;
  /// A piece of the assistant's content.
  virtual void OnText(std::string_view text) = 0;
  /// Attempt `next_attempt` starts after `delay` because the last one failed with `why`;
  /// whatever OnText delivered for that one is void.
  virtual void OnRetry(int next_attempt, std::chrono::milliseconds delay,
                       const agentcore::Status& why) = 0;
};

/// Whether a later attempt may succeed: kRateLimited, kUnavailable, kDeadlineExceeded.
bool IsRetryable(const agentcore::Status& status);

/// The delay a `Retry-After`/`retry-after-ms` header asks for, or nullopt when there is none
/// or it cannot be read. `now` is for HTTP dates.
std::optional<std::chrono::milliseconds> RetryAfter(const agentcore::HttpResponse& response,
                                                    std::chrono::system_clock::time_point now);

/// See the top of this file.
class ChatClient {
 public:
  /// `http` is not owned and must outlive the client.
  ChatClient(agentcore::HttpClient* http, ChatClientOptions options);

  /// Sends `request` (retrying as above) and returns what the model produced. `observer` may
  /// be null. `cancelled`, when set, is polled while waiting and during backoff; true stops
  /// with kDeadlineExceeded ("cancelled").
  agentcore::Result<ChatResult> Complete(const ChatRequest& request, ChatObserver* observer,
                                         const std::function<bool()>& cancelled = nullptr);

 private:
  struct Attempt;
  agentcore::Result<ChatResult> Once(const std::string& body, ChatObserver* observer,
                                     const std::function<bool()>& cancelled,
                                     std::optional<std::chrono::milliseconds>* retry_after);

  agentcore::HttpClient* http_;
  ChatClientOptions options_;
};

}  // namespace model_agent
