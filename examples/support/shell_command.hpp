// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The shell commands the run agents run for a prompt or a model (the builder's `run` todo,
/// the model agent's `run_command` tool): `/bin/sh -c <command>` in the workspace, with
///   - stdin from /dev/null, stdout and stderr read through pipes and handed to `output` as they
///     come, as valid UTF-8 (bytes that are not UTF-8 become U+FFFD; a sequence cut between two
///     reads is held back until the next one), at most `max_streamed_bytes` of it and then one
///     "[output truncated]\n";
///   - its own process group, SIGKILLed when the command ends (so a background child is killed
///     too), at `deadline`, when `stopping` says so, or when the agent dies (PR_SET_PDEATHSIG);
///   - the agent's environment without secrets (IsSecretVariable), so neither the container's
///     token nor a model's key reaches it;
///   - an empty signal mask and default SIGPIPE (the agents block SIGTERM and ignore SIGPIPE).
/// A command whose shell exited while a background child still holds its pipes is over 500 ms
/// later. Blocks the calling thread until then; callable from any thread.

#include <agentcore/result.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace example_agent {

/// True for an environment entry ("NAME=value" or a bare name) a command must not see:
/// CAST_AUTH_TOKEN and every name that ends in _API_KEY, _TOKEN or _SECRET.
bool IsSecretVariable(std::string_view entry);

/// Where a command's output goes while it runs: `stream` is "stdout" or "stderr", `text` is
/// valid UTF-8 and never empty.
using CommandOutputSink = std::function<void(std::string_view stream, std::string_view text)>;

struct CommandOptions {
  std::string command;  // for /bin/sh -c
  std::string cwd;      // the workspace (absolute)
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  /// Polled every 100 ms while the command runs; true kills it. May be empty.
  std::function<bool()> stopping;
  /// May be empty: the output then only goes into the outcome's tail.
  CommandOutputSink output;
  std::size_t max_streamed_bytes = 1024 * 1024;  // of the output, to `output`
  std::size_t tail_bytes = 8 * 1024;             // of the output, kept in the outcome
};

struct CommandOutcome {
  /// The shell's exit status, or 128 + N when a signal N ended it (as shells report it); -1
  /// when neither is known.
  int exit_code = -1;
  int signal = 0;          // the signal that ended the shell, or 0
  bool timed_out = false;  // killed at the deadline
  bool stopped = false;    // killed because `stopping` said so
  /// The last `tail_bytes` of stdout and stderr, interleaved as read (valid UTF-8).
  std::string tail;
};

/// Runs `options.command` (see the top of the file). The outcome of a command that ran, however
/// it ended. Errors: kInternal when it cannot be started (a pipe or fork failed; the message
/// names the call and the errno text).
agentcore::Result<CommandOutcome> RunShellCommand(const CommandOptions& options);

}  // namespace example_agent
