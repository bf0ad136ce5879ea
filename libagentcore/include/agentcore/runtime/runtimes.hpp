// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Factories for the runtimes agentcore ships. The local process runtime is the embedded
/// default and works with no configuration beyond a data directory and a command.
///
/// Local process runtime: each agent is a child process in its own process group, started
/// with posix_spawn and the environment Cast gives containers (cast.md §5.2), so an agent
/// written for Cast runs unchanged:
///
///   CAST_API_URL       ActivateRequest::api_url
///   CAST_AGENT_ID      ActivateRequest::agent_id ({spaceId}:{channelId}:{callsign})
///   CAST_AUTH_TOKEN    ActivateRequest::auth_token (the container token)
///   CAST_CALLBACK_URL  ActivateRequest::callback_url, or the suggested http://127.0.0.1:<port>
///   CAST_ROUTE_HINTS   ActivateRequest::route_hints as compact JSON; "" for null
///   CAST_SYSTEM_PROMPT ActivateRequest::system_prompt, only when not empty
///   PORT               the suggested port, only when the runtime suggested one
///
/// plus the variables named in LocalProcessOptions::inherit_env (taken from the server's own
/// environment; nothing else leaks into agents), the command's env, and
/// ActivateRequest::extra_env. Standard input is /dev/null; standard output and error go to
/// one log per agent. On disk, under `data_dir/agents/<agent dir>/`, where the agent dir is
/// the agent id with each part percent-escaped and the parts joined by '.':
///
///   pid        pid, /proc start time and boot id of the running agent (removed when it ends)
///   log        stdout + stderr, appended across restarts (Runtime::ReadLog)
///   workspace/ the agent's working directory, unless AgentCommand::working_dir is set
///
/// The agent's process group lives and dies with its first process: when that process exits,
/// or when Suspend() stops it, whatever it left in its group is killed too (SIGKILL). Suspend
/// sends SIGTERM to the group, then SIGKILL after `kill_grace`. One watcher thread
/// ("agentcore-lproc") reaps the runtime's own children (it never calls waitpid(-1), so the
/// embedding program's other children are left alone) and reports exits to the observer.
/// After a crash of the server, Runtime::ReapOrphans() reads the pid files an earlier process
/// left and ends those agents. It kills only a process whose /proc start time and boot id
/// match the pid file, so a reused pid is never killed. Linux only (it reads /proc).

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/runtime.hpp>

namespace agentcore {

/// How to start one type of agent.
struct AgentCommand {
  /// Program and arguments; argv[0] is looked up in PATH when it contains no '/'.
  /// REQUIRES (checked by the factory): not empty, argv[0] not empty.
  std::vector<std::string> argv;
  /// Extra environment for this agent type, applied before ActivateRequest::extra_env.
  std::vector<std::pair<std::string, std::string>> env;
  /// Working directory; empty means the agent's own `workspace/` under the data directory.
  std::string working_dir;
};

/// Options of NewLocalProcessRuntime().
struct LocalProcessOptions {
  /// Root for pid files, logs and workspaces (under `data_dir/agents/`). Created if missing.
  /// Required. Two live runtimes must not share it: each would reap the other's agents.
  std::string data_dir;
  /// Command per ActivateRequest::agent_type. The entry "*" is used for types not listed;
  /// without it an unlisted type is refused with kInvalidArgument.
  std::map<std::string, AgentCommand> commands;
  /// Time between SIGTERM and SIGKILL in Suspend(), Shutdown() and ReapOrphans().
  std::chrono::milliseconds kill_grace{2'000};
  /// When ActivateRequest::callback_url is empty, pick a free TCP port on 127.0.0.1 (bind to
  /// port 0, then close) and pass CAST_CALLBACK_URL=http://127.0.0.1:<port> and PORT=<port>.
  /// The port is only a suggestion: another program may take it first, and the agent's
  /// checkin endpoint is what counts. false: CAST_CALLBACK_URL is passed empty.
  bool suggest_callback_port = true;
  /// Names of variables copied from the server's environment when set there.
  std::vector<std::string> inherit_env = {"PATH", "HOME", "USER",   "LOGNAME",
                                          "LANG", "LC_ALL", "TMPDIR", "TZ"};
  /// What the destructor does when Shutdown() was not called. true (the default): it calls
  /// Shutdown(). false: it stops its watcher thread and leaves the agents running and their
  /// pid files in place, exactly what a crash would leave; a later runtime on the same data_dir
  /// ends them with ReapOrphans(). Meant for tests of crash recovery, and for an embedder that
  /// wants its agents to outlive a restart (it must then reap or adopt them itself).
  bool stop_agents_on_destroy = true;
};

/// The local process runtime (see the top of this file). Errors: kInvalidArgument when
/// data_dir is empty or a command has an empty argv; kInternal when data_dir/agents cannot be
/// created. The returned runtime has started its watcher thread.
AGENTCORE_EXPORT Result<std::unique_ptr<Runtime>> NewLocalProcessRuntime(
    const LocalProcessOptions& options, const RuntimeOptions& runtime_options = {});

}  // namespace agentcore
