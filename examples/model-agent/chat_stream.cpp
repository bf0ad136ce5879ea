// SPDX-License-Identifier: Apache-2.0
#include "model-agent/chat_stream.hpp"

#include <cmath>
#include <utility>

#include <agentcore/json.hpp>

namespace model_agent {

namespace {

using agentcore::ErrorCode;
using agentcore::Json;
using agentcore::Status;

/// At most `max` bytes of `s` for an error message, control bytes shown as '?'.
std::string Excerpt(std::string_view s, std::size_t max = 60) {
  std::string out;
  for (char c : s.substr(0, max)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  if (s.size() > max) out += "…";
  return out;
}

Status Malformed(std::string what) {
  return agentcore::InvalidArgument("chat stream: " + std::move(what));
}

/// An integral JSON number in [0, limit), or -1.
long long SmallIndex(const Json& v, long long limit) {
  if (!v.is_number()) return -1;
  const double d = v.as_number();
  if (!(d >= 0) || d >= static_cast<double>(limit) || std::floor(d) != d) return -1;
  return static_cast<long long>(d);
}

/// A token count: an integral, non-negative JSON number below 2^53.
bool TokenCount(const Json* v, std::int64_t* out) {
  if (v == nullptr || v->is_null()) {
    *out = 0;
    return true;
  }
  if (!v->is_number()) return false;
  const double d = v->as_number();
  if (!(d >= 0) || d > 9007199254740992.0 || std::floor(d) != d) return false;
  *out = static_cast<std::int64_t>(d);
  return true;
}

/// `code` as text: a string as is, an integral number without a fraction.
std::string CodeText(const Json* v) {
  if (v == nullptr) return "";
  if (v->is_string()) return v->as_string();
  if (v->is_number() && std::isfinite(v->as_number()) && std::fabs(v->as_number()) < 1e15 &&
      std::floor(v->as_number()) == v->as_number()) {
    return std::to_string(static_cast<long long>(v->as_number()));
  }
  return "";
}

ProviderError ErrorFromObject(const Json& error) {
  ProviderError out;
  if (error.is_string()) {
    out.message = error.as_string();
    return out;
  }
  if (!error.is_object()) return out;
  if (const std::string* m = error.FindString("message")) out.message = *m;
  if (const std::string* t = error.FindString("type")) out.type = *t;
  out.code = CodeText(error.Find("code"));
  return out;
}

}  // namespace

ProviderError ParseProviderError(std::string_view body) {
  agentcore::Result<Json> json = agentcore::ParseJson(body);
  if (json.ok() && json->is_object()) {
    if (const Json* error = json->Find("error"); error != nullptr && !error->is_null()) {
      ProviderError out = ErrorFromObject(*error);
      if (!out.message.empty() || !out.type.empty() || !out.code.empty()) return out;
    }
    if (const std::string* m = json->FindString("message")) return ProviderError{*m, "", ""};
  }
  std::size_t b = 0;
  while (b < body.size() && (body[b] == ' ' || body[b] == '\n' || body[b] == '\r' ||
                             body[b] == '\t')) {
    ++b;
  }
  ProviderError out;
  out.message = Excerpt(body.substr(b), 200);
  return out;
}

Status ChatStreamDecoder::Fail(Status status) {
  error_ = std::move(status);
  return error_;
}

Status ChatStreamDecoder::Feed(std::string_view bytes, std::vector<ChatStreamEvent>* out) {
  if (!error_.ok()) return error_;
  for (char c : bytes) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;  // the LF of a CRLF whose CR ended the line
    }
    if (c == '\n' || c == '\r') {
      skip_lf_ = c == '\r';
      std::string line = std::move(line_);
      line_.clear();
      if (Status s = Line(line, out); !s.ok()) return Fail(std::move(s));
      continue;
    }
    if (line_.size() >= kMaxChatLineBytes) {
      return Fail(agentcore::TooLarge("chat stream: a line is longer than " +
                                      std::to_string(kMaxChatLineBytes) + " bytes"));
    }
    line_.push_back(c);
  }
  return Status();
}

Status ChatStreamDecoder::Finish(std::vector<ChatStreamEvent>* out) {
  if (!error_.ok()) return error_;
  if (!line_.empty()) {
    std::string line = std::move(line_);
    line_.clear();
    if (Status s = Line(line, out); !s.ok()) return Fail(std::move(s));
  }
  // The SSE rules drop an event that the end of the body cut off. A complete payload that
  // only misses its blank line is kept, as some servers end with a single newline.
  if (has_data_ && data_ != "[DONE]" && !agentcore::ParseJson(data_).ok()) {
    data_.clear();
    has_data_ = false;
  }
  if (Status s = Dispatch(out); !s.ok()) return Fail(std::move(s));
  if (done_ || finished_) return EmitToolCalls(out);
  return agentcore::Unavailable("the chat stream ended before its finish reason (connection "
                                "dropped?)");
}

Status ChatStreamDecoder::Line(std::string_view line, std::vector<ChatStreamEvent>* out) {
  if (line.empty()) return Dispatch(out);
  if (line.front() == ':') return Status();  // a comment (keep-alive)
  std::string_view field = line;
  std::string_view value;
  if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (done_) return Malformed("data after the end of the stream: \"" + Excerpt(line) + "\"");
    if (data_.size() + value.size() + 1 > kMaxChatEventBytes) {
      return agentcore::TooLarge("chat stream: an event is larger than " +
                                 std::to_string(kMaxChatEventBytes) + " bytes");
    }
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
    return Status();
  }
  if (field == "event") {
    event_ = std::string(value);
    return Status();
  }
  if (field == "id" || field == "retry") return Status();
  return Malformed("unexpected line \"" + Excerpt(line) + "\"");
}

Status ChatStreamDecoder::Dispatch(std::vector<ChatStreamEvent>* out) {
  if (!has_data_) {
    event_.clear();
    return Status();
  }
  std::string data = std::move(data_);
  data_.clear();
  has_data_ = false;
  const bool error_event = event_ == "error";
  event_.clear();
  if (data == "[DONE]") {
    AGENTCORE_RETURN_IF_ERROR(EmitToolCalls(out));
    done_ = true;
    out->push_back(ChatStreamEvent{ChatStreamEvent::Kind::kDone, {}, {}, {}, {}});
    return Status();
  }
  agentcore::Result<Json> json = agentcore::ParseJson(data);
  if (!json.ok()) {
    return Malformed("data is not JSON (" + json.status().message() + "): \"" + Excerpt(data) +
                     "\"");
  }
  if (!json->is_object()) return Malformed("data is not a JSON object: \"" + Excerpt(data) + "\"");
  const Json* error = json->Find("error");
  if (error_event || (error != nullptr && !error->is_null())) {
    ChatStreamEvent e;
    e.kind = ChatStreamEvent::Kind::kError;
    e.error = ErrorFromObject(error != nullptr ? *error : *json);
    if (e.error.message.empty()) e.error.message = "the provider reported an error";
    done_ = true;
    out->push_back(std::move(e));
    return Status();
  }
  return Chunk(*json, out);
}

Status ChatStreamDecoder::Chunk(const Json& chunk, std::vector<ChatStreamEvent>* out) {
  const Json* choices = chunk.Find("choices");
  if (choices != nullptr && !choices->is_null()) {
    if (!choices->is_array()) return Malformed("\"choices\" is not an array");
    for (const Json& choice : choices->as_array()) {
      if (!choice.is_object()) return Malformed("a choice is not an object");
      if (const Json* index = choice.Find("index"); index != nullptr && SmallIndex(*index, 1) != 0) {
        return Malformed("a choice with index " + agentcore::ToJson(*index) +
                         " (one choice was asked for)");
      }
      if (const Json* delta = choice.Find("delta"); delta != nullptr && !delta->is_null()) {
        if (!delta->is_object()) return Malformed("\"delta\" is not an object");
        if (const Json* content = delta->Find("content");
            content != nullptr && !content->is_null()) {
          if (!content->is_string()) return Malformed("\"delta.content\" is not a string");
          if (!content->as_string().empty()) {
            if (finished_) return Malformed("content after the finish reason");
            ChatStreamEvent e;
            e.kind = ChatStreamEvent::Kind::kText;
            e.text = content->as_string();
            out->push_back(std::move(e));
          }
        }
        if (const Json* calls = delta->Find("tool_calls"); calls != nullptr && !calls->is_null()) {
          if (!calls->is_array()) return Malformed("\"delta.tool_calls\" is not an array");
          if (finished_ && !calls->as_array().empty()) {
            return Malformed("a tool call after the finish reason");
          }
          for (const Json& fragment : calls->as_array()) {
            AGENTCORE_RETURN_IF_ERROR(Fragment(fragment));
          }
        }
      }
      if (const Json* reason = choice.Find("finish_reason");
          reason != nullptr && !reason->is_null()) {
        if (!reason->is_string() || reason->as_string().empty()) {
          return Malformed("\"finish_reason\" is not a non-empty string");
        }
        if (finished_) return Malformed("a second finish reason");
        finished_ = true;
        AGENTCORE_RETURN_IF_ERROR(EmitToolCalls(out));
        ChatStreamEvent e;
        e.kind = ChatStreamEvent::Kind::kFinish;
        e.text = reason->as_string();
        out->push_back(std::move(e));
      }
    }
  }
  if (const Json* usage = chunk.Find("usage"); usage != nullptr && !usage->is_null()) {
    if (!usage->is_object()) return Malformed("\"usage\" is not an object");
    ChatStreamEvent e;
    e.kind = ChatStreamEvent::Kind::kUsage;
    if (!TokenCount(usage->Find("prompt_tokens"), &e.usage.prompt_tokens) ||
        !TokenCount(usage->Find("completion_tokens"), &e.usage.completion_tokens)) {
      return Malformed("a usage token count is not a non-negative integer");
    }
    out->push_back(std::move(e));
  }
  return Status();
}

// One element of `delta.tool_calls`: {index, id?, type?, function: {name?, arguments?}}. The
// first fragment of a call brings its id and name, later ones pieces of the arguments; a
// provider may also cut the name. A fragment without `index` (some compatible servers) starts
// a new call when it has an id and continues the last call otherwise.
Status ChatStreamDecoder::Fragment(const Json& fragment) {
  if (!fragment.is_object()) return Malformed("a tool call fragment is not an object");
  const std::string* id = nullptr;
  if (const Json* v = fragment.Find("id"); v != nullptr && !v->is_null()) {
    if (!v->is_string()) return Malformed("a tool call \"id\" is not a string");
    id = &v->as_string();
  }
  long long index = -1;
  if (const Json* v = fragment.Find("index"); v != nullptr && !v->is_null()) {
    index = SmallIndex(*v, static_cast<long long>(kMaxToolCalls));
    if (index < 0) {
      return Malformed("a tool call index " + agentcore::ToJson(*v) + " is not an integer in [0, " +
                       std::to_string(kMaxToolCalls) + ")");
    }
  } else if (id != nullptr && !id->empty()) {
    index = static_cast<long long>(calls_.size());
    if (index >= static_cast<long long>(kMaxToolCalls)) {
      return agentcore::TooLarge("chat stream: more than " + std::to_string(kMaxToolCalls) +
                                 " tool calls");
    }
  } else if (last_index_ >= 0) {
    index = last_index_;
  } else {
    return Malformed("a tool call fragment without an index or id");
  }
  if (const Json* type = fragment.Find("type"); type != nullptr && !type->is_null()) {
    if (!type->is_string() || type->as_string() != "function") {
      return Malformed("a tool call of type " + agentcore::ToJson(*type) + " (only \"function\")");
    }
  }
  const auto i = static_cast<std::size_t>(index);
  if (calls_.size() <= i) {
    calls_.resize(i + 1);
    used_.resize(i + 1, false);
  }
  ToolCall& call = calls_[i];
  call.index = static_cast<int>(i);
  used_[i] = true;
  last_index_ = static_cast<int>(i);
  if (id != nullptr && !id->empty()) {
    if (!call.id.empty() && call.id != *id) {
      return Malformed("tool call " + std::to_string(i) + " changed its id from \"" +
                       Excerpt(call.id) + "\" to \"" + Excerpt(*id) + "\"");
    }
    call.id = *id;
  }
  const Json* function = fragment.Find("function");
  if (function == nullptr || function->is_null()) return Status();
  if (!function->is_object()) return Malformed("a tool call \"function\" is not an object");
  if (const Json* name = function->Find("name"); name != nullptr && !name->is_null()) {
    if (!name->is_string()) return Malformed("a tool call \"function.name\" is not a string");
    if (call.name.size() + name->as_string().size() > 256) {
      return Malformed("a tool call name is longer than 256 bytes");
    }
    call.name += name->as_string();
  }
  if (const Json* args = function->Find("arguments"); args != nullptr && !args->is_null()) {
    if (!args->is_string()) return Malformed("a tool call \"function.arguments\" is not a string");
    if (call.arguments.size() + args->as_string().size() > kMaxToolArgumentBytes) {
      return agentcore::TooLarge("chat stream: the arguments of tool call " + std::to_string(i) +
                                 " are larger than " + std::to_string(kMaxToolArgumentBytes) +
                                 " bytes");
    }
    call.arguments += args->as_string();
  }
  return Status();
}

Status ChatStreamDecoder::EmitToolCalls(std::vector<ChatStreamEvent>* out) {
  std::vector<ToolCall> calls = std::move(calls_);
  std::vector<bool> used = std::move(used_);
  calls_.clear();
  used_.clear();
  last_index_ = -1;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (!used[i]) continue;
    if (calls[i].name.empty()) {
      return Malformed("tool call " + std::to_string(i) + " has no function name");
    }
    ChatStreamEvent e;
    e.kind = ChatStreamEvent::Kind::kToolCall;
    if (calls[i].id.empty()) calls[i].id = "call_" + std::to_string(i);
    e.tool_call = std::move(calls[i]);
    out->push_back(std::move(e));
  }
  return Status();
}

}  // namespace model_agent
