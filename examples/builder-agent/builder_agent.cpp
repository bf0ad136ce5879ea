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
// without CAST_AUTH_TOKEN in their environment. SIGTERM or SIGINT end it at once (code 0).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
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

extern char** environ;

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

// --- UTF-8: command output is bytes, frames carry JSON strings ------------------------------

/// Length of the valid UTF-8 sequence at s[i], 0 when invalid, -1 when cut short by the end.
int Utf8Sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  int n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int k = 1; k < n; ++k) {
    if (i + static_cast<std::size_t>(k) >= s.size()) return -1;
    const unsigned char x = b(i + static_cast<std::size_t>(k));
    if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n;
}

/// Turns a byte stream into valid UTF-8 text: invalid bytes become U+FFFD, a sequence cut at the
/// end of a piece waits for the next piece. One per output stream.
class Utf8Text {
 public:
  std::string Take(std::string_view piece, bool last) {
    pending_.append(piece);
    std::string out;
    std::size_t i = 0;
    while (i < pending_.size()) {
      const int n = Utf8Sequence(pending_, i);
      if (n < 0 && !last) break;
      if (n <= 0) {
        out.append("\xEF\xBF\xBD");
        ++i;
        continue;
      }
      out.append(pending_, i, static_cast<std::size_t>(n));
      i += static_cast<std::size_t>(n);
    }
    pending_.erase(0, i);
    return out;
  }

 private:
  std::string pending_;
};

// --- Commands -------------------------------------------------------------------------------

struct CommandOutcome {
  int exit_code = -1;
  bool timed_out = false;  // killed at the deadline
  bool stopped = false;    // killed because the agent stops
  std::string tail;        // the last kOutputTail bytes of stdout and stderr, interleaved
  std::string error;       // could not start it
};

/// /bin/sh -c `command` in `cwd`, its output streamed as tool_output frames of `tool_call_id`.
CommandOutcome RunCommand(const std::string& command, const std::string& cwd, RunStream& out,
                          const std::string& tool_call_id) {
  CommandOutcome outcome;
  // The child's environment: ours without the container token (a secret).
  std::vector<char*> envp;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "CAST_AUTH_TOKEN=", 16) != 0) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  std::string sh = "/bin/sh";
  std::string dash_c = "-c";
  std::string cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    outcome.error = std::string("pipe: ") + std::strerror(errno);
    return outcome;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    outcome.error = std::string("pipe: ") + std::strerror(errno);
    close(out_pipe[0]);
    close(out_pipe[1]);
    return outcome;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // The child: only async-signal-safe calls until execve.
    setpgid(0, 0);  // its own group, so that the whole command can be killed
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the agent blocks SIGTERM in every thread
    signal(SIGPIPE, SIG_DFL);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (chdir(cwd.c_str()) != 0) _exit(127);
    execve("/bin/sh", argv, envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    outcome.error = std::string("fork: ") + std::strerror(errno);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return outcome;
  }
  setpgid(pid, pid);  // also here, so that kill(-pid) works whoever runs first

  struct Stream {
    int fd;
    const char* name;
    Utf8Text text;
  };
  Stream streams[2] = {{out_pipe[0], "stdout", {}}, {err_pipe[0], "stderr", {}}};
  std::size_t streamed = 0;
  bool truncated = false;
  auto emit = [&](Stream& s, std::string_view bytes, bool last) {
    std::string text = s.text.Take(bytes, last);
    if (text.empty()) return;
    outcome.tail.append(text);
    if (outcome.tail.size() > 2 * kOutputTail) {
      outcome.tail.erase(0, outcome.tail.size() - kOutputTail);
    }
    if (streamed >= kMaxStreamedOutput) {
      if (!truncated) out.ToolOutput(tool_call_id, s.name, "[output truncated]\n");
      truncated = true;
      return;
    }
    streamed += text.size();
    out.ToolOutput(tool_call_id, s.name, text);
  };

  bool exited = false;
  int status = 0;
  auto exited_at = std::chrono::steady_clock::now();
  for (;;) {
    pollfd fds[2];
    nfds_t n = 0;
    Stream* polled[2];
    for (Stream& s : streams) {
      if (s.fd < 0) continue;
      fds[n] = {s.fd, POLLIN, 0};
      polled[n++] = &s;
    }
    if (n == 0) break;
    if (out.stopping()) {
      outcome.timed_out = std::chrono::steady_clock::now() >= out.deadline();
      outcome.stopped = !outcome.timed_out;
      break;
    }
    // A command that left a background child holding its pipes open is over 500 ms after the
    // shell exited.
    if (exited && std::chrono::steady_clock::now() - exited_at > std::chrono::milliseconds(500)) {
      break;
    }
    const int ready = poll(fds, n, 100);
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t k = 0; ready > 0 && k < n; ++k) {
      if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[4096];
      const ssize_t got = read(fds[k].fd, buf, sizeof buf);
      if (got > 0) {
        emit(*polled[k], std::string_view(buf, static_cast<std::size_t>(got)), false);
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        emit(*polled[k], {}, true);
        close(polled[k]->fd);
        polled[k]->fd = -1;
      }
    }
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      exited_at = std::chrono::steady_clock::now();
    }
  }
  kill(-pid, SIGKILL);  // whatever of the command is left (its group)
  if (!exited) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  for (Stream& s : streams) {
    if (s.fd >= 0) {
      emit(s, {}, true);
      close(s.fd);
    }
  }
  if (WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.exit_code = 128 + WTERMSIG(status);
  }
  if (outcome.tail.size() > kOutputTail) outcome.tail.erase(0, outcome.tail.size() - kOutputTail);
  return outcome;
}

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
        CommandOutcome r = RunCommand(t.command, task.workspace, out, id);
        ++commands;
        if (!r.error.empty()) {
          out.ToolResult(id, "run_command", "cannot run the command: " + r.error, true);
          out.Fail(where + ": cannot run the command: " + r.error, false);
          return;
        }
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
