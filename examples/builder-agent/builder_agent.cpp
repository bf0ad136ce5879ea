// SPDX-License-Identifier: Apache-2.0
// builder-agent: the example builder of docs/runs.md, a deterministic run agent for tests and
// demos. It is a Cast agent (examples/support/cast_agent.hpp) that takes its tasks with
// GET /agents/task and streams each phase's frames (examples/support/run_agent.hpp); it talks
// to nothing but the server, and the same prompt always makes the same plan and files.
//
// The prompt grammar (builder_grammar.hpp has the details): the prompt is split into clauses
// at `;` and newlines (not at a `;` inside double quotes or written `\;`); each clause, with
// case-insensitive keywords, is one todo:
//
//   create <path> with <text>     write the file (the text runs to the end of the clause, or
//   write <path> with <text>      is one "quoted string"; `\n` escapes become newlines)
//   append <text> to <path>       append the text to the file
//   delete <path>                 delete the file (a missing file is not an error)
//   run <command>                 /bin/sh -c <command> in the workspace; stdout and stderr go
//                                 out as tool_output frames while it runs; a non-zero exit
//                                 fails the run (not retryable); killed at the phase deadline
//   sleep <ms>                    wait (0..600000 ms), so tests can cancel during a build
//   fail | fail on attempt <n>    the build reports run_result ok:false retryable:true
//                                 (always, or on attempt n only)
//   crash                         the process exits with code 3 mid-build (agent death)
//   anything else                 a todo that appends the clause as a line to NOTES.md
//
// Paths are relative to the workspace; the workspace path policy (agentcore/workspace/
// path_policy.hpp) refuses absolute paths, `..` escapes, symlinks out of the workspace and
// `.git`: that todo's tool_result has isError and the run fails, not retryably.
//
// Plan phase (read-only): list_dir of the workspace (tool_call, tool_result), a short streamed
// message describing the plan, the `plan` frame {summary, todos: [{id, title, action, path?,
// text?, command?, ms?, attempt?}]}, then run_result ok. A clause the grammar does not know is
// a note, so a plan never fails on the prompt.
// Build phase: the todos of the task's plan (the prompt is not parsed again), each as a token
// line "[i/n] <title>" and a tool_call (write_file, append_file, delete_file, run_command,
// sleep) -> tool_output (run_command only) -> tool_result; then a `usage` frame (provider
// "example", model "builder-1", inputTokens = the words of the prompt and the conversation,
// outputTokens = bytes written / 4) and run_result ok with a summary.
//
// Flags: --heartbeat-ms N, --port N (the push listener; default an ephemeral port), --help.
// Environment: CAST_API_URL, CAST_AGENT_ID, CAST_AUTH_TOKEN (spec cast §5.2); commands run
// without CAST_AUTH_TOKEN or other secrets in their environment (support/shell_command.hpp).
// SIGTERM or SIGINT end it at once (code 0).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <agentcore/json.hpp>
#include <agentcore/workspace/path_policy.hpp>

#include "builder-agent/builder_grammar.hpp"
#include "support/cast_agent.hpp"
#include "support/run_agent.hpp"
#include "support/shell_command.hpp"

namespace {

using agentcore::Json;
using agentcore::Result;
using builder::Todo;
using builder::TodoAction;
using example_agent::RunStream;
using example_agent::RunTask;

constexpr std::string_view kName = "builder-agent";
constexpr std::size_t kMaxListedEntries = 200;
constexpr std::size_t kMaxStreamedOutput = 1024 * 1024;  // per command
constexpr std::size_t kOutputTail = 8 * 1024;            // kept for the tool_result

void Log(std::string_view text) { example_agent::Log(kName, text); }

// --- Files ----------------------------------------------------------------------------------

/// Writes (or appends) `text` to the absolute `path`, creating its directories. "" or why not.
std::string WriteFile(const std::string& path, const std::string& text, bool append) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return "cannot create the directories of the file: " + ec.message();
  const int fd = open(path.c_str(),
                      O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0) return std::string("cannot open the file: ") + std::strerror(errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::string("cannot write the file: ") + std::strerror(errno);
      close(fd);
      return why;
    }
    done += static_cast<std::size_t>(n);
  }
  if (close(fd) != 0) return std::string("cannot write the file: ") + std::strerror(errno);
  return {};
}

/// The workspace's top level, one name a line, sorted, directories with a trailing '/'.
Result<std::string> ListWorkspace(const std::string& root) {
  std::error_code ec;
  std::filesystem::directory_iterator it(root, ec);
  if (ec) {
    return agentcore::NotFound("cannot list the workspace " + root + ": " + ec.message());
  }
  std::vector<std::string> names;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::string name = it->path().filename().string();
    if (name == ".git") continue;
    std::error_code type_ec;
    if (it->is_directory(type_ec)) name.push_back('/');
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  std::string listing;
  for (std::size_t i = 0; i < names.size() && i < kMaxListedEntries; ++i) {
    listing += names[i] + "\n";
  }
  if (names.size() > kMaxListedEntries) {
    listing += "... and " + std::to_string(names.size() - kMaxListedEntries) + " more\n";
  }
  if (names.empty()) listing = "(empty)\n";
  return listing;
}

std::int64_t CountWords(std::string_view s) {
  std::int64_t words = 0;
  bool in_word = false;
  for (char c : s) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

// --- Phases ---------------------------------------------------------------------------------

void PlanPhase(const RunTask& task, RunStream& out) {
  Json args = Json::Object();
  args.Set("path", ".");
  const std::string id = out.ToolCall("list_dir", std::move(args));
  Result<std::string> listing = ListWorkspace(task.workspace);
  if (!listing.ok()) {
    out.ToolResult(id, "list_dir", listing.status().message(), true);
    out.Fail(listing.status().message(), false);
    return;
  }
  out.ToolResult(id, "list_dir", *listing, false);
  const std::vector<Todo> todos = builder::ParsePrompt(task.prompt);
  const std::string summary =
      todos.empty() ? std::string("Nothing to do: the prompt has no clauses")
                    : std::to_string(todos.size()) + (todos.size() == 1 ? " todo" : " todos") +
                          " from the prompt";
  out.Token("Plan: " + summary + ".\n");
  for (const Todo& t : todos) out.Token(t.id + ". " + t.title + "\n");
  out.EndMessage();
  out.Plan(builder::PlanToJson(summary, todos));
  out.Succeed(summary);
}

/// Why the phase ends early because the agent stops or the deadline passed.
void FailStopped(RunStream& out) {
  if (std::chrono::steady_clock::now() >= out.deadline()) {
    out.Fail("the build phase passed its deadline", true);
  } else {
    out.Fail("the agent is stopping", true);
  }
}

void BuildPhase(const RunTask& task, RunStream& out) {
  if (task.plan.is_null()) {
    out.Fail("the build task has no plan", false);
    return;
  }
  Result<std::vector<Todo>> todos = builder::TodosFromPlan(task.plan);
  if (!todos.ok()) {
    out.Fail("the build task's plan is invalid: " + todos.status().message(), false);
    return;
  }
  if (task.read_only) {
    out.Fail("the build task's workspace is read-only", false);
    return;
  }
  std::int64_t bytes_written = 0;
  int files = 0;
  int commands = 0;
  const std::size_t count = todos->size();
  for (std::size_t i = 0; i < count; ++i) {
    const Todo& t = (*todos)[i];
    if (out.stopping()) {
      FailStopped(out);
      return;
    }
    const std::string where = "todo " + t.id + " (" + t.title + ")";
    out.Token("[" + std::to_string(i + 1) + "/" + std::to_string(count) + "] " + t.title + "\n");
    switch (t.action) {
      case TodoAction::kWrite:
      case TodoAction::kAppend:
      case TodoAction::kNote: {
        const bool note = t.action == TodoAction::kNote;
        const std::string path = note ? std::string("NOTES.md") : t.path;
        const std::string text = note ? t.text + "\n" : t.text;
        const bool append = t.action != TodoAction::kWrite;
        const std::string name = append ? "append_file" : "write_file";
        Json args = Json::Object();
        args.Set("path", path);
        args.Set("content", text);
        const std::string id = out.ToolCall(name, std::move(args));
        Result<std::string> resolved = agentcore::ResolveInWorkspace(task.workspace, path, true);
        if (!resolved.ok()) {
          out.ToolResult(id, name, "refused: " + resolved.status().message(), true);
          out.Fail(where + ": path refused: " + resolved.status().message(), false);
          return;
        }
        const std::string error = WriteFile(*resolved, text, append);
        if (!error.empty()) {
          out.ToolResult(id, name, error, true);
          out.Fail(where + ": " + error, false);
          return;
        }
        bytes_written += static_cast<std::int64_t>(text.size());
        ++files;
        out.ToolResult(id, name,
                       (append ? "appended " : "wrote ") + std::to_string(text.size()) +
                           " bytes to " + path,
                       false);
        break;
      }
      case TodoAction::kDelete: {
        Json args = Json::Object();
        args.Set("path", t.path);
        const std::string id = out.ToolCall("delete_file", std::move(args));
        Result<std::string> resolved = agentcore::ResolveInWorkspace(task.workspace, t.path, true);
        if (!resolved.ok()) {
          out.ToolResult(id, "delete_file", "refused: " + resolved.status().message(), true);
          out.Fail(where + ": path refused: " + resolved.status().message(), false);
          return;
        }
        std::error_code ec;
        const bool removed = std::filesystem::remove(*resolved, ec);
        if (ec) {
          const std::string error = "cannot delete " + t.path + ": " + ec.message();
          out.ToolResult(id, "delete_file", error, true);
          out.Fail(where + ": " + error, false);
          return;
        }
        out.ToolResult(id, "delete_file",
                       removed ? "deleted " + t.path : t.path + " did not exist", false);
        break;
      }
      case TodoAction::kRun: {
        Json args = Json::Object();
        args.Set("command", t.command);
        const std::string id = out.ToolCall("run_command", std::move(args));
        example_agent::CommandOptions command;
        command.command = t.command;
        command.cwd = task.workspace;
        command.deadline = out.deadline();
        command.stopping = [&out] { return out.stopping(); };
        command.output = [&out, &id](std::string_view stream, std::string_view text) {
          out.ToolOutput(id, stream, text);
        };
        command.max_streamed_bytes = kMaxStreamedOutput;
        command.tail_bytes = kOutputTail;
        Result<example_agent::CommandOutcome> ran = example_agent::RunShellCommand(command);
        ++commands;
        if (!ran.ok()) {
          const std::string error = "cannot run the command: " + ran.status().message();
          out.ToolResult(id, "run_command", error, true);
          out.Fail(where + ": " + error, false);
          return;
        }
        const example_agent::CommandOutcome& r = *ran;
        const bool failed = r.exit_code != 0 || r.timed_out || r.stopped;
        out.ToolResult(id, "run_command", r.tail + "[exit code " + std::to_string(r.exit_code) + "]",
                       failed);
        if (r.timed_out || r.stopped) {
          FailStopped(out);
          return;
        }
        if (r.exit_code != 0) {
          out.Fail(where + ": the command exited with code " + std::to_string(r.exit_code), false);
          return;
        }
        break;
      }
      case TodoAction::kSleep: {
        Json args = Json::Object();
        args.Set("ms", t.ms);
        const std::string id = out.ToolCall("sleep", std::move(args));
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(t.ms);
        while (std::chrono::steady_clock::now() < until && !out.stopping()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (std::chrono::steady_clock::now() < until) {
          out.ToolResult(id, "sleep", "interrupted", true);
          FailStopped(out);
          return;
        }
        out.ToolResult(id, "sleep", "slept " + std::to_string(t.ms) + " ms", false);
        break;
      }
      case TodoAction::kFail:
        if (t.attempt == 0 || t.attempt == task.attempt) {
          out.Fail(where + ": the prompt asks this attempt (" + std::to_string(task.attempt) +
                       ") to fail",
                   true);
          return;
        }
        out.Token("not failing: this is attempt " + std::to_string(task.attempt) + "\n");
        break;
      case TodoAction::kCrash:
        Log("crashing as the prompt asks (" + where + ")");
        std::fflush(stderr);
        std::_Exit(3);
    }
  }
  std::int64_t words = CountWords(task.prompt);
  for (const auto& turn : task.conversation) words += CountWords(turn.content);
  out.Usage("example", "builder-1", words, bytes_written / 4);
  out.Succeed("Completed " + std::to_string(count) + (count == 1 ? " todo" : " todos") + " (" +
              std::to_string(files) + " file writes, " + std::to_string(commands) +
              " commands, " + std::to_string(bytes_written) + " bytes written)");
}

void RunPhase(const RunTask& task, RunStream& out) {
  if (task.phase == "plan") {
    PlanPhase(task, out);
  } else {
    BuildPhase(task, out);
  }
}

int Usage(std::FILE* to, int code) {
  std::fprintf(to,
               "usage: builder-agent [--heartbeat-ms N] [--port N] [--help]\n"
               "environment: CAST_API_URL, CAST_AGENT_ID, CAST_AUTH_TOKEN\n"
               "The example builder of docs/runs.md: plans and builds from a prompt of clauses\n"
               "(create|write <path> with <text>; append <text> to <path>; delete <path>;\n"
               "run <command>; sleep <ms>; fail [on attempt <n>]; crash; anything else is a\n"
               "note in NOTES.md).\n");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  Result<example_agent::AgentConfig> config =
      example_agent::ConfigFromEnvironment(std::string(kName));
  example_agent::AgentConfig flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return Usage(stdout, 0);
    if (example_agent::ParseCommonFlag(argc, argv, &i, &flags) !=
        example_agent::FlagParse::kTaken) {
      return Usage(stderr, 2);
    }
  }
  if (!config.ok()) {
    Log(config.status().message());
    return 2;
  }
  config->heartbeat_ms = flags.heartbeat_ms;
  config->port = flags.port;
  return example_agent::RunAgentMain(std::move(*config), RunPhase);
}
