// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The agent orchestrator: what Cast's AgentManager, invoker and checkin route do together
/// (spec cast §3.4, §5.2–§5.9), on one machine, with a Runtime (the local process runtime by
/// default) and the store's pending-delivery queue.
///
/// Delivery model. Every message routed to an agent is first queued in the store
/// (Store::EnqueuePending), then:
///  * the agent is online (checked in, heartbeat fresh, endpoint known): a drain is scheduled
///    on the blocking pool; it takes the queue oldest first and pushes each message to
///    `{endpoint}/message` (§5.3, "Message from @<sender>: <content>"), acknowledging each
///    push that got a 2xx;
///  * otherwise the agent is activated (fire-and-forget, §5.2) unless an activation is already
///    under way, and the message waits. At checkin (§5.4) the queue is compiled into one push
///    ("--- @<sender> in #<channel> says:\n<content>", blank-line separated) before the
///    checkin is answered, and acknowledged on success.
/// Nothing is acknowledged before the agent accepted it, so a timeout, a crash or a restart
/// loses nothing; one drain runs per agent at a time, so nothing is pushed twice by this
/// process. Pushes and every store or runtime call run on the App's blocking pool, never on
/// an io thread.
///
/// Liveness is AgentLifecycle (state/agent_state.hpp) driven with the App's clock: a sweeper
/// thread ("agentcore-sweep") turns elapsed time into heartbeat staleness (broadcast offline;
/// the next message re-activates the agent, after stopping the silent process) and activation
/// timeouts (the process is stopped, the agent marked failed and broadcast offline, its queue
/// kept). It also stops running agents whose roster entry was deleted or archived.
///
/// Thread-safe. Owned by App; every blocking method must be called on the blocking pool.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/runtime.hpp>
#include <agentcore/state/agent_state.hpp>
#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>

#include "handlers/agent_hooks.hpp"

namespace agentcore::server {

class App;

/// The outcome of a checkin (spec cast §5.4) for the route to answer.
struct CheckinOutcome {
  int delivered = 0;
};

class Orchestrator final : public RuntimeObserver {
 public:
  /// Builds the default runtime (local processes under `config().data_dir`, commands from
  /// `config().agent_commands` or the echo-agent next to the executable). Nothing runs yet.
  static Result<std::unique_ptr<Orchestrator>> Open(App& app);
  ~Orchestrator() override;
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  /// Start-up reconciliation (blocking): ends the agents an earlier process left running
  /// (Runtime::ReapOrphans) and clears the callback URL of every roster entry whose agent is
  /// gone (reaped, or heartbeat stale), so that nothing is pushed to a dead endpoint.
  Status Reconcile();
  /// Starts the sweeper thread.
  void Start();
  /// Blocking: stops the sweeper, then every agent this process started (in parallel), and
  /// clears their callback URLs. Later activations fail with kUnavailable. Idempotent.
  void Shutdown();

  // --- The agent_hooks seam (blocking; run on the pool)

  /// Activates the agent unless it is activating or online. kUnavailable after Shutdown;
  /// the runtime's error when the start fails (the agent is marked failed).
  Status Activate(const AgentRef& agent);
  /// Stops the agent's process if it runs, marks it suspended, clears its callback URL (§8
  /// #1 fixed). Its queued messages stay.
  Status Suspend(const AgentRef& agent, std::string_view reason);
  /// Queues `message` for each of `callsigns` (skipping archived entries and unknown ones) and
  /// pushes, activates or waits as described above. Paused entries get the message queued
  /// but are never activated (§5.9).
  void Deliver(const Message& message, const std::vector<std::string>& callsigns);

  // --- Container protocol (blocking; run on the pool)

  /// POST /agents/checkin after its validation: kNotFound "Agent not found in roster";
  /// otherwise stores callback URL, heartbeat and (when truthy) route hints, broadcasts
  /// online, and pushes the queued messages before returning.
  Result<CheckinOutcome> Checkin(const AgentIdentity& agent, const std::string& endpoint,
                                 const Json& route_hints);
  /// POST /agents/heartbeat after its validation: kNotFound "Agent not found in roster";
  /// otherwise stores the heartbeat and broadcasts online unless paused or archived. Returns
  /// the time recorded.
  Result<UnixMillis> Heartbeat(const AgentIdentity& agent);

  const AgentPolicy& policy() const { return policy_; }
  Runtime& runtime() { return *runtime_; }

  /// RuntimeObserver: a process ended (failed or offline). Runs on the runtime's watcher
  /// thread; the work is posted to the pool.
  void OnAgentEvent(const AgentEvent& event) override;

 private:
  struct Slot;
  enum class DrainMode { kDirect, kCheckin };

  Orchestrator(App& app, AgentPolicy policy);
  /// The agent's slot, made (and adopted from the roster entry) on first use. REQUIRES: mu_.
  Slot& SlotLocked(const AgentRef& agent, const RosterEntry& entry);
  Status StartRuntime(const AgentRef& agent, const std::string& agent_type, bool restart);
  void ScheduleDrain(const std::string& agent_id);
  int Drain(const std::string& agent_id, DrainMode mode);
  Status Push(const std::string& agent_id, const std::string& endpoint, const Json& route_hints,
              const std::string& content);
  void PushFailed(const std::string& agent_id);
  void ClearCallback(const AgentRef& agent);
  void Broadcast(const AgentRef& agent, std::string_view state,
                 std::string_view timestamp_key = {}, std::string_view timestamp = {});
  void PostToPool(std::function<void()> fn);
  void SweepLoop();
  void SweepOnce();
  void CheckRemoved();
  std::string ApiUrl() const;

  // Constant after construction.
  App& app_;
  AgentPolicy policy_;
  Runtime* runtime_ = nullptr;  // the hub's local runtime
  // The runtime's watcher thread calls OnAgentEvent until the runtime is destroyed; the
  // destructor closes this gate first, so no callback touches runtime_ while it is reset.
  std::mutex events_mu_;
  bool events_closed_ = false;  // guarded by events_mu_
  bool external_only_ = false;  // no agent command: agents start elsewhere and check in

  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Slot>> slots_;  // by agent id
  bool shutting_down_ = false;

  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool sweep_stop_ = false;
  std::thread sweeper_;
  std::atomic<bool> removal_check_running_{false};
  std::atomic<int> in_flight_{0};  // pool tasks posted and not finished
};

}  // namespace agentcore::server
