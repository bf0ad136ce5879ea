// SPDX-License-Identifier: Apache-2.0
#pragma once

/// A `Runtime` starts and stops agents on one backend: child processes on this machine
/// (runtimes.hpp, NewLocalProcessRuntime), and later Docker containers, Kubernetes pods or Fly
/// machines. The models are Cast's AgentRuntime (cast.md §7.1) and AgentCrew's runtimes.
///
/// Activation is fire-and-forget (cast.md §5.2): Activate() returns as soon as the start has
/// been requested, and the agent reports back on its own by calling POST /agents/checkin. The
/// orchestrator then calls Runtime::Checkin() so that the runtime's view says online. Messages
/// are not delivered by the runtime: the orchestrator pushes them to the endpoint from the
/// checkin, adding RouteHints() as headers (§5.3).
///
/// A runtime owns nothing in the store; the orchestrator does. The runtime reports facts
/// (started, exited with code 3) to a RuntimeObserver, and state/agent_state.hpp decides what
/// they mean.
///
/// Threading: every Runtime is thread-safe. Calls may block for backend I/O, and Suspend() and
/// Shutdown() for up to the backend's kill grace period, so never call them on an I/O thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/agent.hpp>
#include <agentcore/status.hpp>

namespace agentcore {

/// Receives a runtime's events. Called on a runtime-owned thread (the local runtime's watcher
/// thread) with no runtime lock held, one event at a time and, for each agent, in order.
/// Implementations must return quickly and never block; they may call back into the runtime
/// (GetState, Activate), except Shutdown() and the runtime's destructor, which join that thread.
class AGENTCORE_EXPORT RuntimeObserver {
 public:
  virtual ~RuntimeObserver();
  RuntimeObserver(const RuntimeObserver&) = delete;
  RuntimeObserver& operator=(const RuntimeObserver&) = delete;

  /// One event; see AgentEventKind. The orchestrator typically turns kFailed into
  /// AgentLifecycle::Fail() and an agent_error broadcast.
  virtual void OnAgentEvent(const AgentEvent& event) = 0;

 protected:
  RuntimeObserver() = default;
};

/// The seams every runtime shares. Every field has a working default.
struct RuntimeOptions {
  /// Not owned; must outlive the Runtime. nullptr: events are dropped.
  RuntimeObserver* observer = nullptr;
  /// Not owned; must outlive the Runtime. nullptr means SystemClock(). Used for the
  /// timestamps in RuntimeAgentState only; kill grace periods are real time.
  Clock* clock = nullptr;
};

/// Starts, watches and stops agents on one backend. Thread-safe. The runtime owns the agents
/// it started (processes, containers) and stops them in Shutdown(); it owns no store rows.
class AGENTCORE_EXPORT Runtime {
 public:
  /// Implementations say what happens to still-running agents; the local process runtime
  /// stops them unless LocalProcessOptions::stop_agents_on_destroy is false.
  virtual ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// "local", "docker", "kubernetes" or "fly". Static storage.
  virtual std::string_view Kind() const = 0;

  /// Starts the agent and returns as soon as the start has been requested, with status
  /// kActivating; the agent checks in on its own. Idempotent: when the agent is already
  /// running (activating or online) nothing is started and its current state is returned.
  /// An agent that is being suspended is waited for, then started again.
  /// Errors: kInvalidArgument for a bad agent id, an empty agent type, a bad extra_env entry
  /// or an agent type with no command; kTooLarge for an oversized system prompt;
  /// kUnavailable after Shutdown(); kInternal when the backend refuses the start (the
  /// message carries the backend's error, e.g. `cannot start agent "s:c:x": No such file or
  /// directory`). A failed start leaves the agent kError and reports no event.
  virtual Result<RuntimeAgentState> Activate(const ActivateRequest& req) = 0;

  /// Records that the agent checked in (POST /agents/checkin) with `endpoint`: status becomes
  /// kOnline and an kOnline event is reported. Idempotent.
  /// Errors: kInvalidArgument for a bad agent id; kConflict when this runtime has no running
  /// instance of the agent (`agent "s:c:x" is not running in the local runtime`), which the
  /// caller may ignore: an agent started elsewhere may check in too.
  virtual Status Checkin(std::string_view agent_id, std::string_view endpoint) = 0;

  /// Stops the agent: politely first, forcefully after the backend's grace period. Returns
  /// when the agent has stopped (the local runtime: after at most the grace period plus the
  /// time a SIGKILL takes). Idempotent: OK for an agent that is not running or unknown.
  /// `reason` (e.g. "manual", "idle") is kept in RuntimeAgentState::reason and the kOffline
  /// event. Errors: kInvalidArgument for a bad agent id; kDeadlineExceeded when the agent
  /// outlived even the forced stop.
  virtual Status Suspend(std::string_view agent_id, std::string_view reason) = 0;

  /// The runtime's view of an agent it has started in this process's lifetime, running or
  /// not; std::nullopt for an agent it never started (absence is normal here).
  virtual std::optional<RuntimeAgentState> GetState(std::string_view agent_id) const = 0;

  /// The agents this runtime owns now: those it started whose process (container) has not
  /// ended yet, in any of kActivating, kOnline or kSuspending. Ordered by agent id.
  virtual std::vector<RuntimeAgentState> ListAgents() const = 0;

  /// Reads up to `max_bytes` (capped at kMaxLogChunkBytes) of the agent's log from byte
  /// `offset`. Logs outlive the agent: they can be read after it exits, and after a restart.
  /// Call again with `next_offset` to follow a running agent (a tail).
  /// Errors: kInvalidArgument for a bad agent id or an offset past the end of the log;
  /// kNotFound when the agent has no log; kNotSupported for backends without logs.
  virtual Result<LogChunk> ReadLog(std::string_view agent_id, std::uint64_t offset,
                                   std::size_t max_bytes) const = 0;

  /// Headers the orchestrator must add when pushing to the agent (§5.3), e.g.
  /// `{"fly-force-instance-id": "<machine>"}`. null when none are needed (local processes).
  virtual Json RouteHints(std::string_view agent_id) const = 0;

  /// Finds the agents an earlier process of this runtime left running (after a crash) and
  /// ends them. Returns the ids of the agents it found running and stopped, ordered by id.
  /// Safe against reuse: an instance is stopped only when the backend proves it is the one
  /// that was started. Agents this runtime started itself are not touched.
  /// Errors: kInternal when the runtime's records cannot be read.
  virtual Result<std::vector<std::string>> ReapOrphans() = 0;

  /// Stops every agent this runtime started, in parallel, each as Suspend(id, "shutdown")
  /// would, then stops the runtime's threads. Afterwards Activate() returns kUnavailable and
  /// the other calls still work. Idempotent. Errors: kDeadlineExceeded when an agent outlived
  /// the forced stop.
  virtual Status Shutdown() = 0;

 protected:
  Runtime() = default;
};

/// Largest slice ReadLog() returns in one call.
inline constexpr std::size_t kMaxLogChunkBytes = 1 << 20;

}  // namespace agentcore
