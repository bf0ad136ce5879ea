// SPDX-License-Identifier: Apache-2.0
#pragma once

/// An incremental decoder of the OpenAI chat-completions event stream (`stream: true`), the
/// format every "OpenAI-compatible" provider speaks:
///
///     data: {"id":"…","object":"chat.completion.chunk","choices":[{"index":0,
///            "delta":{"content":"Hel"},"finish_reason":null}]}
///
///     data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1",
///            "type":"function","function":{"name":"read_file","arguments":"{\"pa"}}]}}]}
///
///     data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3}}
///
///     data: [DONE]
///
/// Bytes go in split anywhere (mid-line, mid-UTF-8, between CR and LF); events come out in
/// order: text deltas, complete tool calls (their `id`, `name` and `arguments` pieces joined
/// per `index`, emitted in index order when the choice finishes), the finish reason, usage and
/// an in-stream provider error (`data: {"error":{…}}`).
///
/// Server-sent events framing (WHATWG HTML §9.2): lines end in LF, CRLF or CR; `:` starts a
/// comment (some providers send keep-alive comments); `data` lines are joined with LF and an
/// empty line dispatches them; `event`, `id` and `retry` are accepted (an `event: error`
/// marks the data as an error object). The decoder is strict where the SSE rules are lax: a
/// line with any other field name is an error, as is a data payload that is not a JSON object,
/// a member of the wrong type, a tool-call fragment that contradicts an earlier one, a second
/// finish, or data after `[DONE]`. Errors are kInvalidArgument (malformed) or kTooLarge (past
/// a limit below); after an error the decoder is stuck and returns it again.
///
/// Usage: a provider may repeat `usage` (some send it on several chunks); each kUsage event
/// carries the totals so far for the request, so the last one is the request's usage.
///
/// Thread-compatible (one thread at a time); owns its buffers.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/json.hpp>
#include <agentcore/status.hpp>

namespace model_agent {

/// One complete tool call of the assistant.
struct ToolCall {
  int index = 0;          // the position the provider gave it
  std::string id;         // the provider's id; "call_<index>" when the provider sent none
  std::string name;       // function name; never empty
  std::string arguments;  // the JSON text of the arguments as streamed (not validated here)
};

/// Token counts of one request.
struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};

/// An error the provider reported, in a body (`{"error":{"message","type","code"}}`) or in
/// the stream. `code` is kept as text whether the provider sent a string or a number.
struct ProviderError {
  std::string message;
  std::string type;
  std::string code;
};

struct ChatStreamEvent {
  enum class Kind {
    kText,      // text: a piece of the assistant's content
    kToolCall,  // tool_call: a complete call
    kFinish,    // text: the finish reason ("stop", "tool_calls", "length", …)
    kUsage,     // usage: the request's totals so far
    kError,     // error: the provider reported an error in the stream; nothing follows
    kDone,      // `data: [DONE]`; nothing follows
  };
  Kind kind = Kind::kText;
  std::string text;
  ToolCall tool_call;
  Usage usage;
  ProviderError error;
};

/// Limits of the decoder, against a runaway or hostile peer.
inline constexpr std::size_t kMaxChatLineBytes = 1024 * 1024;
inline constexpr std::size_t kMaxChatEventBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxToolCalls = 64;
inline constexpr std::size_t kMaxToolArgumentBytes = 1024 * 1024;

/// See the top of this file.
class ChatStreamDecoder {
 public:
  /// Decodes `bytes` and appends the events they complete to `*out`. OK, or the first error
  /// (kInvalidArgument, kTooLarge) with what was wrong; events completed before it are in
  /// `*out`.
  agentcore::Status Feed(std::string_view bytes, std::vector<ChatStreamEvent>* out);

  /// The body ended. OK when the stream was complete (`[DONE]`, an error event, or a finish
  /// reason: providers that omit `[DONE]` end after the finish); otherwise kUnavailable
  /// ("the stream ended before …"), the mark of a dropped connection. A pending event without
  /// its blank line is dispatched first when its data is complete (`[DONE]` or a whole JSON
  /// text) and dropped otherwise (cut off). Tool calls not yet emitted are emitted.
  agentcore::Status Finish(std::vector<ChatStreamEvent>* out);

  /// `[DONE]` or an error event was seen.
  bool done() const { return done_; }
  /// A finish reason was seen.
  bool finished() const { return finished_; }

 private:
  agentcore::Status Fail(agentcore::Status status);
  agentcore::Status Line(std::string_view line, std::vector<ChatStreamEvent>* out);
  agentcore::Status Dispatch(std::vector<ChatStreamEvent>* out);
  agentcore::Status Chunk(const agentcore::Json& chunk, std::vector<ChatStreamEvent>* out);
  agentcore::Status Fragment(const agentcore::Json& fragment);
  agentcore::Status EmitToolCalls(std::vector<ChatStreamEvent>* out);

  std::string line_;         // the current line so far
  bool skip_lf_ = false;     // the last byte was CR: an LF right after it ends nothing
  std::string data_;         // data lines of the current event, joined with LF
  bool has_data_ = false;    // a data line was seen in the current event
  std::string event_;        // the current event's `event:` field
  std::vector<ToolCall> calls_;  // by index, still being assembled
  std::vector<bool> used_;       // calls_[i] received a fragment
  int last_index_ = -1;          // the index of the last fragment
  bool finished_ = false;
  bool done_ = false;
  agentcore::Status error_;  // sticky
};

/// Parses an error body (`{"error":{"message":…,"type":…,"code":…}}`, or `{"error":"text"}`,
/// or `{"message":…}`). Anything else gives a ProviderError whose message is the body's
/// first 200 bytes, so a proxy's HTML page still says something.
ProviderError ParseProviderError(std::string_view body);

}  // namespace model_agent
