// SPDX-License-Identifier: Apache-2.0
// Fuzzes ParseRunTask (examples/support/run_agent.hpp), the decoder of GET /agents/task's body
// that every run agent trusts to drive its work.
//
// Input: the whole input is the body.
// Checks, trapping on any violation:
//   * success gives a non-empty run id, phase "plan" or "build", a workspace starting with '/'
//     and holding no NUL, attempt >= 1, deadlineMs >= 0, a plan that is null or an object;
//   * failure is kInvalidArgument (kTooLarge only past kMaxTaskBytes);
//   * a task that parsed, written back as JSON, parses to the same task.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <agentcore/json.hpp>

#include "support/run_agent.hpp"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto task = example_agent::ParseRunTask(input);
  if (!task.ok()) {
    Check(task.status().code() == agentcore::ErrorCode::kInvalidArgument ||
          (task.status().code() == agentcore::ErrorCode::kTooLarge &&
           size > example_agent::kMaxTaskBytes));
    return 0;
  }
  const example_agent::RunTask& t = *task;
  Check(!t.run_id.empty());
  Check(t.phase == "plan" || t.phase == "build");
  Check(!t.workspace.empty() && t.workspace.front() == '/' &&
        t.workspace.find('\0') == std::string::npos);
  Check(t.attempt >= 1 && t.deadline_ms >= 0);
  Check(t.plan.is_null() || t.plan.is_object());

  agentcore::Json back = agentcore::Json::Object();
  back.Set("runId", t.run_id);
  back.Set("phase", t.phase);
  back.Set("attempt", t.attempt);
  back.Set("prompt", t.prompt);
  back.Set("workspace", t.workspace);
  back.Set("readOnly", t.read_only);
  back.Set("plan", t.plan);
  agentcore::Json conversation = agentcore::Json::Array();
  for (const auto& turn : t.conversation) {
    agentcore::Json j = agentcore::Json::Object();
    j.Set("role", turn.role);
    j.Set("content", turn.content);
    conversation.as_array().push_back(std::move(j));
  }
  back.Set("conversation", std::move(conversation));
  back.Set("deadlineMs", t.deadline_ms);
  auto again = example_agent::ParseRunTask(agentcore::ToJson(back));
  Check(again.ok());
  Check(again->run_id == t.run_id && again->phase == t.phase && again->attempt == t.attempt &&
        again->prompt == t.prompt && again->workspace == t.workspace &&
        again->read_only == t.read_only && again->conversation == t.conversation &&
        again->deadline_ms == t.deadline_ms);
  return 0;
}
