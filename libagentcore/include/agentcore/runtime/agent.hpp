// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The values a runtime takes and reports about one agent: what to start (`ActivateRequest`),
/// what the runtime knows about it now (`RuntimeAgentState`), how its process or container
/// ended (`AgentExit`), what it tells its observer (`AgentEvent`) and a slice of its log
/// (`LogChunk`).
///
/// An agent is named by its Cast agent id, the string `{spaceId}:{channelId}:{callsign}`
/// (cast.md §5.1). Runtimes key everything by that string. They accept an id only when it has
/// exactly three non-empty parts (`ValidateRuntimeAgentId`), so that one agent never has two
/// spellings; Cast's parser would also accept `a:b:c:d` as `a:b:c`.
///
/// A runtime owns nothing in the store. It starts and stops agents and reports facts (spawned,
/// exited with code 3); the orchestrator decides what they mean (state/agent_state.hpp) and
/// writes the store. Every type here is a plain value type: copyable, thread-compatible.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/state/agent_state.hpp>
#include <agentcore/status.hpp>

namespace agentcore {

/// OK when `agent_id` is `space:channel:callsign` with three non-empty parts and nothing else:
/// no fourth part, no NUL byte, at most kMaxRuntimeAgentIdBytes bytes.
/// kInvalidArgument otherwise, e.g. `invalid agent id "a::c": expected
/// {spaceId}:{channelId}:{callsign}`.
AGENTCORE_EXPORT Status ValidateRuntimeAgentId(std::string_view agent_id);

/// Longest agent id a runtime accepts, in bytes (three store keys and two colons).
inline constexpr std::size_t kMaxRuntimeAgentIdBytes = 3 * 256 + 2;

/// The three parts of a runtime agent id; views into the id that was split.
struct RuntimeAgentIdParts {
  std::string_view space;
  std::string_view channel;
  std::string_view callsign;
};

/// Splits `space:channel:callsign` into its parts (views into `agent_id`, valid as long as it
/// is). Accepts exactly what ValidateRuntimeAgentId() accepts and fails with its error.
AGENTCORE_EXPORT Result<RuntimeAgentIdParts> SplitRuntimeAgentId(std::string_view agent_id);

/// Everything a runtime needs to start one agent. The fields map onto the environment Cast
/// gives containers (cast.md §5.2); the local process runtime passes them as shown.
struct ActivateRequest {
  /// `{spaceId}:{channelId}:{callsign}` -> CAST_AGENT_ID. Must pass ValidateRuntimeAgentId().
  std::string agent_id;
  /// Selects the command (LocalProcessOptions::commands) or image. Must not be empty.
  std::string agent_type;
  /// The container token (auth/tokens.hpp) -> CAST_AUTH_TOKEN. The agent sends it back as
  /// `Authorization: Container <token>`.
  std::string auth_token;
  /// Base URL of the server's API -> CAST_API_URL, e.g. `http://127.0.0.1:8080`.
  std::string api_url;
  /// Where the agent should listen for pushed messages -> CAST_CALLBACK_URL. May be empty:
  /// the local process runtime then suggests `http://127.0.0.1:<free port>` (see
  /// LocalProcessOptions::suggest_callback_port). Whatever the agent reports as `endpoint` at
  /// checkin (§5.4) is authoritative.
  std::string callback_url;
  /// Route hints -> CAST_ROUTE_HINTS as compact JSON; null gives the empty string (Docker's
  /// value in Cast).
  Json route_hints;
  /// The system prompt (§7.4) -> CAST_SYSTEM_PROMPT when not empty. Cast also sends it with
  /// every pushed message, so agents need not read it from here.
  std::string system_prompt;
  /// Further environment variables, e.g. `MCP_SERVERS`, `ANTHROPIC_API_KEY`. Applied after the
  /// inherited variables and before the CAST_* ones, which always win. Names must be non-empty
  /// and contain neither '=' nor NUL; values must not contain NUL.
  std::vector<std::pair<std::string, std::string>> extra_env;
};

/// How an agent's process (or container) ended.
struct AgentExit {
  /// The exit code when the process called exit(); -1 when a signal ended it.
  int exit_code = -1;
  /// The signal that ended the process; 0 when it exited normally.
  int signal = 0;

  /// True for exit code 0.
  bool success() const { return signal == 0 && exit_code == 0; }
  friend bool operator==(const AgentExit&, const AgentExit&) = default;
};

/// "exited with code 3" or "killed by signal 9 (SIGKILL)".
AGENTCORE_EXPORT std::string DescribeAgentExit(const AgentExit& exit);

/// What a runtime knows about one agent it has started. A copy: it does not change when the
/// agent does.
struct RuntimeAgentState {
  std::string agent_id;
  std::string agent_type;
  /// The runtime's view (cast.md §5.9 "Runtime agent status"):
  /// - kActivating: started; Checkin() has not been called since;
  /// - kOnline: running and checked in (Runtime::Checkin);
  /// - kSuspending: Suspend() or Shutdown() is stopping it;
  /// - kOffline: stopped on purpose, or ended by itself with exit code 0 (e.g. an idle
  ///   timeout of its own);
  /// - kError: ended by itself with a non-zero code or a signal (see `exit`), or could not be
  ///   started.
  /// kBusy is never reported: turns are the orchestrator's business.
  AgentStatus status = AgentStatus::kOffline;
  /// Backend-specific instance name: `pid:<pid>` for local processes, a container or machine
  /// id elsewhere.
  std::string instance_id;
  /// The process id (also its process group id) for local processes; 0 elsewhere or when
  /// not running.
  int pid = 0;
  /// The callback URL given to the agent at start (CAST_CALLBACK_URL), replaced by the
  /// endpoint passed to Checkin().
  std::string endpoint;
  /// When the runtime started it (Clock time).
  UnixMillis started_at = 0;
  /// When it was seen to end; std::nullopt while running.
  std::optional<UnixMillis> stopped_at;
  /// How it ended; std::nullopt while running.
  std::optional<AgentExit> exit;
  /// Why it stopped: the Suspend() reason, "shutdown", DescribeAgentExit() for an exit on its
  /// own, or the start error. Empty while running.
  std::string reason;

  friend bool operator==(const RuntimeAgentState&, const RuntimeAgentState&) = default;
};

/// What happened to an agent, as reported to a RuntimeObserver.
enum class AgentEventKind : std::uint8_t {
  kActivating = 0,  // "activating": started; waiting for its checkin
  kOnline = 1,      // "online": Runtime::Checkin() was called
  kOffline = 2,     // "offline": stopped on purpose (Suspend, Shutdown), or exited with code 0
  kFailed = 3,      // "failed": ended unasked with a non-zero code or a signal; see exit
};

/// Stable lower-case name, e.g. "failed". Static storage; "unknown" outside the enumerators.
AGENTCORE_EXPORT std::string_view AgentEventKindName(AgentEventKind kind);

/// One runtime event (Cast's agent_activating / agent_online / agent_offline / agent_error).
struct AgentEvent {
  AgentEventKind kind = AgentEventKind::kActivating;
  std::string agent_id;
  /// Set for kOffline and kFailed when the process's end was observed.
  std::optional<AgentExit> exit;
  /// kOffline: the suspend reason, or DescribeAgentExit() for an exit on its own;
  /// kFailed: DescribeAgentExit(); kActivating, kOnline: empty.
  std::string reason;

  friend bool operator==(const AgentEvent&, const AgentEvent&) = default;
};

/// A slice of an agent's log, as returned by Runtime::ReadLog().
struct LogChunk {
  /// The bytes read: the agent's stdout and stderr interleaved as written. Raw bytes, not
  /// necessarily valid UTF-8 or ending at a line boundary.
  std::string data;
  /// Offset of the next byte to ask for: the requested offset plus data.size().
  std::uint64_t next_offset = 0;
  /// Size of the whole log when it was read; `next_offset == size` means caught up.
  std::uint64_t size = 0;
};

}  // namespace agentcore
