// SPDX-License-Identifier: Apache-2.0
// The rule that turns the builder's frames into run events (docs/runs.md, "Frames"). Pure.

#include <algorithm>
#include <cmath>

#include "runs_internal.hpp"

namespace agentcore::hub_internal {

namespace {

std::string StringOf(const Json& value, std::string_view key) {
  const std::string* s = value.FindString(key);
  return s != nullptr ? *s : std::string();
}

/// A non-negative integer member, 0 when absent or not a finite number.
std::int64_t CountOf(const Json& value, std::string_view key) {
  const Json* v = value.Find(key);
  if (v == nullptr || !v->is_number()) return 0;
  const double d = v->as_number();
  if (!std::isfinite(d) || d < 0 || d > 9e15) return 0;
  return static_cast<std::int64_t>(d);
}

/// Copies `keys` of `from` that are present into `to`.
void CopyMembers(const Json& from, std::initializer_list<std::string_view> keys, Json* to) {
  for (std::string_view key : keys) {
    if (const Json* v = from.Find(key)) to->Set(key, *v);
  }
}

}  // namespace

FrameOutcome RunFrameOutcome(const TymbalFrame& frame, std::string_view run_id,
                             std::string_view phase, const std::set<std::string>& token_messages) {
  FrameOutcome out;
  if (frame.kind == FrameKind::kAppend) {
    if (token_messages.count(frame.id) == 0) return out;
    out.kind = FrameOutcome::Kind::kEvent;
    out.type = "token";
    out.data = Json::Object();
    out.data.Set("text", frame.text);
    out.data.Set("messageId", frame.id);
    out.data.Set("runPhase", phase);
    return out;
  }
  const bool start = frame.kind == FrameKind::kStart;
  if (!start && frame.kind != FrameKind::kSet) return out;
  const Json& v = frame.value;
  if (!v.is_object()) return out;
  const std::string* run = v.FindString("run");
  if (run == nullptr || *run != run_id) return out;
  // A frame of another phase of this run (a late frame of the plan phase) is not this phase's.
  if (const std::string* p = v.FindString("phase"); p != nullptr && *p != phase) return out;
  if (start) {
    out.kind = FrameOutcome::Kind::kTokenStart;
    out.message_id = frame.id;
    return out;
  }
  const std::string type = StringOf(v, "type");
  out.kind = FrameOutcome::Kind::kEvent;
  out.data = Json::Object();
  if (type.empty() || type == "message") {
    out.type = "status";
    out.data.Set("status", "message");
    out.data.Set("role", "assistant");
    out.data.Set("content", StringOf(v, "content"));
    out.data.Set("messageId", frame.id);
  } else if (type == "tool_call" || type == "tool_output" || type == "tool_result") {
    out.type = "tool";
    out.data.Set("phase", type == "tool_call" ? "start" : type == "tool_output" ? "stream" : "end");
    CopyMembers(v, {"toolCallId", "name"}, &out.data);
    if (type == "tool_call") CopyMembers(v, {"args"}, &out.data);
    if (type == "tool_output") CopyMembers(v, {"stream", "text"}, &out.data);
    if (type == "tool_result") {
      CopyMembers(v, {"output"}, &out.data);
      const Json* err = v.Find("isError");
      out.data.Set("isError", err != nullptr && err->is_bool() && err->as_bool());
    }
  } else if (type == "usage") {
    out.kind = FrameOutcome::Kind::kUsage;
    out.type = "status";
    out.provider = StringOf(v, "provider");
    out.model = StringOf(v, "model");
    out.input_tokens = CountOf(v, "inputTokens");
    out.output_tokens = CountOf(v, "outputTokens");
    out.data.Set("status", "usage");
    out.data.Set("provider", out.provider);
    out.data.Set("model", out.model);
    out.data.Set("inputTokens", out.input_tokens);
    out.data.Set("outputTokens", out.output_tokens);
  } else if (type == "plan") {
    const Json* plan = v.Find("plan");
    if (plan == nullptr || !plan->is_object()) return FrameOutcome{};
    out.kind = FrameOutcome::Kind::kPlan;
    out.type = "status";
    out.plan = *plan;
    out.data.Set("status", "plan_ready");
    out.data.Set("plan", *plan);
  } else if (type == "run_result") {
    out.kind = FrameOutcome::Kind::kResult;
    const Json* ok = v.Find("ok");
    out.ok = ok != nullptr && ok->is_bool() && ok->as_bool();
    const Json* retryable = v.Find("retryable");
    out.retryable = retryable == nullptr || !retryable->is_bool() || retryable->as_bool();
    out.error = StringOf(v, "error");
    if (!out.ok && out.error.empty()) out.error = "the builder reported a failure";
    out.summary = StringOf(v, "summary");
    return out;
  } else {
    return FrameOutcome{};  // a type of no run event
  }
  out.data.Set("runPhase", phase);
  return out;
}

std::chrono::milliseconds RunRetryDelay(std::chrono::milliseconds base,
                                        std::chrono::milliseconds max, std::uint32_t attempt) {
  std::chrono::milliseconds delay = base;
  for (std::uint32_t i = 1; i < attempt && delay < max; ++i) delay *= 2;
  return std::min(delay, max);
}

}  // namespace agentcore::hub_internal
