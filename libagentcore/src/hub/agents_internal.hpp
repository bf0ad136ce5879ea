// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The agent service's implementation (hub/agents.hpp has the model), shared by agents.cpp
/// (activation, delivery, checkin, runtime events, shutdown) and agents_lifecycle.cpp (the
/// roster actions, presence, logs, sweeps, reconcile). Private to libagentcore.

#include <agentcore/hub/agents.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <agentcore/runtime/runtime.hpp>
#include <agentcore/state/agent_state.hpp>

namespace agentcore {

class Hub;

namespace hub_internal {

/// Writes one JSON line to stderr: {"event":...,"agentId":...[,"detail":...]}.
void LogAgentEvent(std::string_view event, std::string_view agent_id, std::string_view detail = {});
/// Writes one JSON line to stderr: {"level":"error","what":...,"status":...}.
void LogAgentError(std::string_view what, const Status& status);

/// See hub/agents.hpp. Also the hub's runtime observer target and its shutdown step.
class AgentServiceImpl final : public AgentService {
 public:
  explicit AgentServiceImpl(Hub& hub);
  ~AgentServiceImpl() override;

  void Deliver(const Message& message, const std::vector<std::string>& callsigns) override;
  Status Activate(const AgentIdentity& agent) override;
  Status Suspend(const AgentIdentity& agent, std::string_view reason) override;
  Result<RosterEntry> AddAgent(const AgentIdentity& agent, const std::string& agent_type) override;
  Result<RosterEntry> AddAgent(const Principal& principal, std::string_view channel_id,
                               const Json& body) override;
  Result<RosterEntry> ApplyRosterAction(const AgentIdentity& agent, RosterAction action) override;
  Result<RosterEntry> ApplyRosterAction(const Principal& principal, std::string_view channel_id,
                                        std::string_view callsign, RosterAction action) override;
  Result<AgentIdentity> FindRosterAgent(const Principal& principal, std::string_view channel_id,
                                        std::string_view callsign) override;
  Result<CheckinOutcome> Checkin(const AgentIdentity& agent, const std::string& endpoint,
                                 const Json& route_hints) override;
  Result<UnixMillis> Heartbeat(const AgentIdentity& agent) override;
  Result<AgentPresence> Presence(const AgentIdentity& agent) override;
  Result<LogChunk> ReadLog(const AgentIdentity& agent, std::uint64_t offset,
                           std::size_t max_bytes) override;
  void Sweep(UnixMillis now) override;
  Status Reconcile() override;
  /// Clustered (OpenHub, SetApiUrl, every takeover round): holds this node's "api-url:"
  /// lease for the API URL its agents get, from before it starts any agent.
  void AdvertiseApiUrl();
  void SetApiUrl(std::string url) override;
  std::string api_url() const override;
  const AgentPolicy& policy() const override { return policy_; }

  /// A runtime's event (the hub's RuntimeObserver forwards it). Runs on the runtime's thread;
  /// the follow-up is posted to the executor.
  void OnAgentEvent(const AgentEvent& event);
  /// Another node's kAgentWake for (channel, callsign) (docs/cluster.md "Leases"): when this
  /// node drives the agent, it re-reads the agent's checkin from the store and drains its
  /// queue (activating it when it is not online); `payload` "activate" activates,
  /// "suspend:<reason>" suspends. Runs on the cluster link's receiver thread.
  void OnWake(std::string_view channel_id, std::string_view callsign, std::string_view payload);
  /// Hub::Close(): later activations fail with kUnavailable; stops every agent the runtimes
  /// started when `stop_agents` (clearing their callback URLs); waits for the work posted to
  /// the executor. Idempotent.
  void Shutdown(bool stop_agents);

 private:
  struct Slot;
  enum class DrainMode { kDirect, kCheckin };

  /// The agent's slot, made (and adopted from the roster entry) on first use. REQUIRES: mu_.
  Slot& SlotLocked(const AgentIdentity& agent, const RosterEntry& entry);
  Status StartRuntime(const AgentIdentity& agent, const std::string& agent_type, bool restart);
  /// kRateLimited when `space_id` already has HubOptions::max_running_agents_per_space agents
  /// starting or running (activating, online or stale), `self_id` not counted. REQUIRES: mu_.
  Status CheckRunningCapLocked(std::string_view space_id, std::string_view self_id) const;
  /// Whether activating `agent` now would be refused by the running cap (CheckRunningCapLocked
  /// when an activation would start it), checked before anything is stored.
  Status CheckCanStart(const AgentIdentity& agent);
  /// Whether this node drives `agent`: always on one node; clustered, when it holds (or now
  /// takes) the agent's lease. `owner`: the lease's holder (empty on a store error).
  bool Drives(const AgentIdentity& agent, std::string* owner = nullptr);
  /// Clustered and Hub::Drain()ed: this node takes no lease; what it does not drive goes to
  /// the other nodes by wake-ups.
  bool Draining() const;
  /// Clustered: tells the node that drives `agent` (`owner`, not this one) to act.
  void Wake(const AgentIdentity& agent, std::string_view payload = {});
  /// Clustered sweep: takes the expired leases of agents with queued messages or a live
  /// checkin (their node died) and drives them as after a restart of its own.
  void TakeOverExpired(UnixMillis now);
  /// Clustered sweep: agents this node drives that would go stale take the heartbeat another
  /// node stored, when it is fresh (heartbeats reach any node).
  void RefreshHeartbeats(UnixMillis now);
  /// Whether an agent `dead_owner` started can still reach the cluster: the URL that node gave
  /// its agents is advertised by a live node (one load balancer for all). Unknown: true.
  bool ApiUrlStillServed(const std::string& dead_owner, UnixMillis now);
  /// Clustered sweep: whether this node's sweep may time `agent_id` out (it holds the lease).
  bool HoldsLease(const AgentIdentity& agent) const;
  void ScheduleDrain(const std::string& agent_id);
  int Drain(const std::string& agent_id, DrainMode mode);
  Status Push(const std::string& agent_id, const std::string& endpoint, const Json& route_hints,
              const std::string& content);
  void PushFailed(const std::string& agent_id);
  void ClearCallback(const AgentIdentity& agent);
  void Broadcast(const AgentIdentity& agent, std::string_view state,
                 std::string_view timestamp_key = {}, std::string_view timestamp = {});
  /// Posts `task` to the hub's executor, counted so that Shutdown can wait for it; dropped
  /// after Shutdown.
  void Post(std::function<void()> task);
  void CheckRemoved();
  /// The runtime that started the agent, else the one for its type; nullptr when none.
  Runtime* RuntimeOf(const std::string& agent_id, std::string_view agent_type);

  // Constant after construction.
  Hub& hub_;
  AgentPolicy policy_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Slot>> slots_;  // by agent id; never erased
  bool shutting_down_ = false;                                    // guarded by mu_
  std::string api_url_;                                           // guarded by mu_
  UnixMillis last_removal_check_ = 0;                             // guarded by mu_
  UnixMillis last_takeover_ = 0;                                  // guarded by mu_
  std::mutex advertise_mu_;         // AdvertiseApiUrl's callers: OpenHub, SetApiUrl, sweep
  std::string advertised_url_key_;  // guarded by advertise_mu_

  std::atomic<bool> removal_check_running_{false};
  std::mutex flight_mu_;
  std::condition_variable flight_cv_;
  int in_flight_ = 0;         // posted tasks not yet run or dropped; guarded by flight_mu_
  bool post_closed_ = false;  // guarded by flight_mu_
};

/// One agent as this process knows it.
struct AgentServiceImpl::Slot {
  Slot(AgentIdentity a, std::string id, AgentLifecycle l)
      : agent(std::move(a)), agent_id(std::move(id)), lifecycle(std::move(l)) {}

  // Guarded by AgentServiceImpl::mu_.
  AgentIdentity agent;
  std::string agent_id;
  std::string agent_type;
  AgentLifecycle lifecycle;
  std::string endpoint;        // from the last checkin; cleared when the agent is gone
  Json route_hints;            // headers for pushes (§5.3)
  Runtime* runtime = nullptr;  // the runtime that started it last; suspends and logs go there
  bool started = false;        // a process of ours may be running
  bool suspending = false;     // we stopped it: its exit is no news
  bool drain_queued = false;
  // Held for a whole drain: one drain per agent at a time, so nothing is pushed twice.
  std::mutex drain_mu;
};

}  // namespace hub_internal
}  // namespace agentcore
