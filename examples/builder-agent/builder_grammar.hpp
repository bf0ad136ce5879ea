// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The example builder's prompt grammar (examples/builder-agent/builder_agent.cpp, docs/runs.md
/// "The example builder"): a prompt is a list of clauses, each one todo. Pure functions of
/// their input: no I/O, thread-safe, and total: a prompt never fails to parse (a clause that
/// matches no form becomes a note).
///
/// Clauses are separated by `;` and newlines. A `;` inside double quotes or written `\;` does
/// not separate; a newline always does (write `\n` for a newline in a text). Blank clauses are
/// skipped. Keywords are case-insensitive; the forms:
///
/// | clause | todo |
/// |---|---|
/// | `create <path> with <text>`, `write <path> with <text>` | write the file (kWrite) |
/// | `append <text> to <path>` | append to the file (kAppend) |
/// | `delete <path>` | delete the file (kDelete) |
/// | `run <command>` | `/bin/sh -c <command>` in the workspace (kRun) |
/// | `sleep <ms>` (0..600000, an optional `ms` suffix) | wait (kSleep) |
/// | `fail`, `fail on attempt <n>` | fail the build (kFail), always or on attempt n only |
/// | `crash` | the agent process exits with code 3 (kCrash) |
/// | anything else | append the clause as a line to NOTES.md (kNote) |
///
/// A `<path>` is one word, or a double-quoted string (spaces allowed). A `<text>` is the rest of
/// the clause, or one double-quoted string. In texts and quoted strings `\n` is a newline, `\t`
/// a tab, `\\` a backslash, `\"` a quote and `\;` a semicolon; another `\x` is kept as written.
/// In `append`, the text ends at the last ` to ` (outside quotes) and the path must be one word
/// or a quoted string after it. A `<command>` is kept as written (the shell reads its quotes),
/// except that `\;` becomes `;`. The grammar does not judge paths: the workspace's path policy
/// does when the todo runs (an absolute path or `..` parses, then is refused).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/json.hpp>
#include <agentcore/result.hpp>

namespace builder {

enum class TodoAction { kWrite, kAppend, kDelete, kRun, kSleep, kFail, kCrash, kNote };

/// The action's name in a plan's todos: "write", "append", "delete", "run", "sleep", "fail",
/// "crash", "note".
std::string_view ActionName(TodoAction action);

/// The longest sleep a clause may ask for.
inline constexpr std::int64_t kMaxSleepMs = 600'000;

/// One todo. Plain data; which fields count depends on `action`.
struct Todo {
  std::string id;     // "1", "2", ... in prompt order
  TodoAction action = TodoAction::kNote;
  std::string title;  // for people: "Write hello.txt"
  std::string path;   // kWrite, kAppend, kDelete
  std::string text;   // kWrite, kAppend: the content; kNote: the clause (one line)
  std::string command;       // kRun
  std::int64_t ms = 0;       // kSleep
  std::int64_t attempt = 0;  // kFail: the attempt it fails on; 0 = every attempt
  friend bool operator==(const Todo&, const Todo&) = default;
};

/// The clauses of `prompt`, split and trimmed (the separators and blank clauses dropped). Quoted
/// strings and escapes are still as written.
std::vector<std::string> SplitClauses(std::string_view prompt);

/// The todo of one clause (trimmed, non-empty), with id `id`.
Todo ParseClause(std::string_view clause, std::string id);

/// Every clause's todo, ids "1", "2", ... See the top of the file.
std::vector<Todo> ParsePrompt(std::string_view prompt);

/// A todo as a plan's todo: {id, title, action} plus its fields (path, text, command, ms,
/// attempt) where the action has them.
agentcore::Json TodoToJson(const Todo& todo);

/// The plan phase's plan: {summary, todos: [TodoToJson...]}.
agentcore::Json PlanToJson(std::string_view summary, const std::vector<Todo>& todos);

/// The todos of a plan (the build task's `plan`), checked: an object with an array `todos`,
/// each an object with string `id`, `title`, a known `action` and that action's fields of the
/// right types (`path` non-empty; `ms` 0..kMaxSleepMs; `attempt` >= 0, whole). Errors:
/// kInvalidArgument naming the todo (by index) and the field.
agentcore::Result<std::vector<Todo>> TodosFromPlan(const agentcore::Json& plan);

}  // namespace builder
