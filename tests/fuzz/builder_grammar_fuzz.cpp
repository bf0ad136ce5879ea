// SPDX-License-Identifier: Apache-2.0
// Fuzzes the example builder's prompt grammar (examples/builder-agent/builder_grammar.hpp):
// the prompt is untrusted text from an API client, the build task's plan untrusted JSON.
//
// Input: the whole input is a prompt, and also (when it parses) a plan as JSON.
// Checks, trapping on any violation:
//   * ParsePrompt gives one todo per clause of SplitClauses, ids "1", "2", ...; no clause is
//     empty, starts or ends with a space, or holds a newline; each todo has its action's fields
//     (a non-empty path; ms within kMaxSleepMs; a note's text is its clause), and a title of at
//     most 123 bytes unless it is a fixed one;
//   * TodosFromPlan(PlanToJson(todos)) gives the todos back, also through ToJson/ParseJson
//     when the text is valid UTF-8;
//   * TodosFromPlan of any JSON either fails with kInvalidArgument or gives todos whose
//     PlanToJson round-trips to the same todos.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/json.hpp>

#include "builder-agent/builder_grammar.hpp"

namespace {

using builder::Todo;
using builder::TodoAction;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n';
}

/// Whether `s` is valid UTF-8 (the JSON writer replaces invalid bytes, so only then can a
/// serialized plan give the same strings back).
bool IsUtf8(std::string_view s) {
  auto back = agentcore::ParseJson(agentcore::ToJson(agentcore::Json(s)));
  return back.ok() && back->is_string() && back->as_string() == s;
}

void CheckRoundTrip(const std::vector<Todo>& todos, bool utf8) {
  agentcore::Json plan = builder::PlanToJson("fuzz", todos);
  auto back = builder::TodosFromPlan(plan);
  Check(back.ok() && *back == todos);
  if (utf8) {
    auto reparsed = agentcore::ParseJson(agentcore::ToJson(plan));
    Check(reparsed.ok());
    auto again = builder::TodosFromPlan(*reparsed);
    Check(again.ok() && *again == todos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> clauses = builder::SplitClauses(input);
  const std::vector<Todo> todos = builder::ParsePrompt(input);
  Check(todos.size() == clauses.size());
  for (std::size_t i = 0; i < todos.size(); ++i) {
    const Todo& t = todos[i];
    const std::string& clause = clauses[i];
    Check(!clause.empty() && !IsSpace(clause.front()) && !IsSpace(clause.back()));
    Check(clause.find('\n') == std::string::npos);
    Check(t.id == std::to_string(i + 1));
    Check(!t.title.empty() && t.title.size() <= 123);
    switch (t.action) {
      case TodoAction::kWrite:
      case TodoAction::kAppend:
      case TodoAction::kDelete: Check(!t.path.empty()); break;
      case TodoAction::kRun: Check(!t.command.empty()); break;
      case TodoAction::kSleep: Check(t.ms >= 0 && t.ms <= builder::kMaxSleepMs); break;
      case TodoAction::kFail: Check(t.attempt >= 0); break;
      case TodoAction::kCrash: break;
      case TodoAction::kNote: Check(t.text == clause); break;
    }
    Check(builder::ParseClause(clause, t.id) == t);
  }
  CheckRoundTrip(todos, IsUtf8(input));

  auto json = agentcore::ParseJson(input);
  if (json.ok()) {
    auto from_plan = builder::TodosFromPlan(*json);
    if (from_plan.ok()) {
      CheckRoundTrip(*from_plan, true);  // parsed JSON holds valid UTF-8 only
    } else {
      Check(from_plan.status().code() == agentcore::ErrorCode::kInvalidArgument);
    }
  }
  return 0;
}
