// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The model agent's tools: what a model may do in a project's workspace, each behind the
/// library's path policy (agentcore/workspace/path_policy.hpp: no path outside the workspace,
/// symlinks included; never `.git` for writing).
///
/// | tool | arguments | result | phases |
/// |---|---|---|---|
/// | `list_dir` | `path` (default ".") | one entry a line, directories with a trailing `/`, sorted; `.git` left out; at most 500 | plan, build |
/// | `read_file` | `path` | the text, at most 256 KiB (then a truncation note); secrets (`.env`, keys: IsSecretPath) and binary files are refused | plan, build |
/// | `write_file` | `path`, `content` | "wrote N bytes to P"; directories are created; at most 4 MiB | build |
/// | `run_command` | `command`, `timeout_ms`? | `/bin/sh -c` in the workspace; stdout/stderr streamed while it runs; the result is the exit code and the output's last 16 KiB | build |
///
/// `run_command` runs with stdin from /dev/null, in a process group of its own that is killed
/// when it ends, times out (`timeout_ms`, default and ceiling from ToolLimits) or the phase
/// stops; its environment is the agent's without secrets (CAST_AUTH_TOKEN and every variable
/// whose name ends in _API_KEY, _TOKEN or _SECRET), so the model's key never reaches it. The
/// run agents' shared runner does it (support/shell_command.hpp).
///
/// A failed tool is a result with `is_error`, fed back to the model like any result; nothing
/// here throws. Functions of their arguments and the file system: callable from any thread.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/json.hpp>

#include "model-agent/chat_client.hpp"

namespace model_agent {

struct ToolLimits {
  std::chrono::milliseconds command_timeout{120'000};      // run_command without timeout_ms
  std::chrono::milliseconds max_command_timeout{600'000};  // the most timeout_ms may ask
  std::size_t max_read_bytes = 256 * 1024;
  std::size_t max_write_bytes = 4 * 1024 * 1024;
  std::size_t max_entries = 500;
  std::size_t result_tail_bytes = 16 * 1024;   // of a command's output, in its result
  std::size_t max_streamed_bytes = 1024 * 1024;  // of a command's output, as tool_output
};

/// The tools offered in a phase: read-only ones only when `read_only`.
std::vector<ToolSpec> WorkspaceToolSpecs(bool read_only);

struct ToolOutcome {
  std::string output;
  bool is_error = false;
};

/// Where run_command's output goes while it runs: `stream` is "stdout" or "stderr", `text` is
/// valid UTF-8 (a sequence cut between reads is held back; bytes that are not UTF-8 become
/// U+FFFD).
using ToolOutputSink = std::function<void(std::string_view stream, std::string_view text)>;

/// The context of one phase's tool calls.
struct ToolContext {
  std::string workspace;  // absolute path
  bool read_only = false;
  ToolLimits limits;
  /// Polled while a command runs; true kills it (the phase is stopping).
  std::function<bool()> stopping;
  ToolOutputSink output;
};

/// Runs tool `name` with `args` (a JSON object) in `ctx`. An unknown tool, a write tool in a
/// read-only phase, bad arguments or a refused path are error outcomes naming the fault.
ToolOutcome RunWorkspaceTool(const ToolContext& ctx, std::string_view name,
                             const agentcore::Json& args);

}  // namespace model_agent
