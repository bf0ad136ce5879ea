// SPDX-License-Identifier: Apache-2.0
// The agent service, part 2: the lifecycle actions with their store and publish side effects
// (spec cast §4.6, §5.9), presence (§5.6), logs, sweeps (§5.7) and start-up reconciliation
// (hub/agents.hpp has the model).
#include <set>
#include <utility>

#include <agentcore/hub/channels.hpp>
#include <agentcore/hub/event_frames.hpp>
#include <agentcore/hub/hub.hpp>

#include "agents_internal.hpp"
#include "cluster_internal.hpp"

namespace agentcore::hub_internal {
namespace {

constexpr std::string_view kAgentNotFound = "Agent not found in roster";
constexpr std::string_view kAgentAlreadyInRoster = "Agent already in roster";
/// How often (in hub clock time) a sweep also looks for agents removed from their roster.
constexpr UnixMillis kRemovalCheckIntervalMs = 500;
/// Expired agent leases one takeover round looks at (the rest wait for the next round).
constexpr std::size_t kTakeOverBatch = 100;

Status StoreFailure(const Status& s) { return Status(ErrorCode::kInternal, s.ToString()); }

// The system status message of a summon or dismiss: type "status", sender and senderType
// "system", content {"action":…,"callsign":…}.
NewMessage SystemStatusMessage(const AgentIdentity& agent, std::string id,
                               std::string_view action) {
  NewMessage m;
  m.id = std::move(id);
  m.space_id = agent.space_id;
  m.channel_id = agent.channel_id;
  m.sender = "system";
  m.sender_type = "system";
  m.type = "status";
  Json content = Json::Object();
  content.Set("action", action);
  content.Set("callsign", agent.callsign);
  m.content = std::move(content);
  return m;
}

struct Summoned {
  RosterEntry entry;
  Message summon;
};

// The roster entry (within the space's agent cap), the summon message, and the entry's
// readmark set to that message (so the agent's first checkin does not replay older history).
Result<Summoned> StoreSummon(Hub& hub, const AgentIdentity& agent, const NewRosterEntry& in,
                             const NewMessage& summon) {
  Store& store = hub.store();
  Result<RosterEntry> entry = hub.channels().AddRosterEntryWithinCap(agent.space_id, in);
  if (!entry.has_value()) return entry.status();
  Result<Message> message = store.AppendMessage(summon);
  if (!message.has_value()) return message.status();
  RosterPatch patch;
  patch.readmark = message->id;
  Result<RosterEntry> marked = store.UpdateRosterEntry(in.channel_id, in.callsign, patch);
  if (!marked.has_value()) return marked.status();
  return Summoned{*std::move(marked), *std::move(message)};
}

void PublishStored(Hub& hub, const Message& message) {
  if (!hub.HasSubscribers()) return;
  hub.Publish(message.channel_id, PostedMessageFrameLine(message), message.id, message.seq);
}

void PublishState(Hub& hub, const AgentIdentity& agent, std::string_view state) {
  if (!hub.HasSubscribers()) return;
  hub.Publish(agent.channel_id,
              AgentStateFrameLine(hub.NewId(), FormatIsoTimestamp(hub.clock().NowMillis()),
                                  agent.channel_id, agent.callsign, state));
}

// The agent_state each action publishes once the roster is updated.
std::string_view PublishedStateOf(RosterAction action) {
  switch (action) {
    case RosterAction::kPause:
      return "paused";
    case RosterAction::kResume:
      return "resumed";
    case RosterAction::kDismiss:
      return "dismissed";
    case RosterAction::kActivate:
    case RosterAction::kUnarchive:
    case RosterAction::kRemove:
      return "connecting";
  }
  return "connecting";
}

// The roster change of an allowed action. spec cast §8 #1 fixed: pause, dismiss and activate
// really clear callbackUrl (Cast's "clear" passes undefined and changes nothing), so a stopped
// container is never pushed to.
RosterPatch PatchFor(RosterAction action, RosterStatus from, const RosterTransition& t) {
  RosterPatch patch;
  if (t.to && *t.to != from) patch.status = *t.to;
  patch.clear_callback_url = action == RosterAction::kPause || action == RosterAction::kDismiss ||
                             action == RosterAction::kActivate;
  return patch;
}

}  // namespace

// --- Lifecycle -----------------------------------------------------------------------------

Result<RosterEntry> AgentServiceImpl::AddAgent(const AgentIdentity& agent,
                                               const std::string& agent_type) {
  if (agent.callsign.empty() || agent_type.empty()) {
    return InvalidArgument("callsign and agentType are required");
  }
  // spec cast §5.1: the agentId must split back into its three parts.
  AGENTCORE_RETURN_IF_ERROR(CheckCallsign(agent.callsign));
  Store& store = hub_.store();
  // Archived entries count too: a dismissed agent comes back through unarchive.
  Result<RosterEntry> existing = store.GetRosterEntry(agent.channel_id, agent.callsign);
  if (existing.has_value()) return AlreadyExists(std::string(kAgentAlreadyInRoster));
  if (existing.status().code() != ErrorCode::kNotFound) return StoreFailure(existing.status());

  // Caps (issue 13 §2): refused before anything is stored or started. The agent cap is
  // checked again, serialized, when the entry is stored.
  AGENTCORE_RETURN_IF_ERROR(hub_.channels().CheckAgentCap(agent.space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckCanStart(agent));

  NewRosterEntry in;
  in.channel_id = agent.channel_id;
  in.callsign = agent.callsign;
  in.agent_type = agent_type;
  Result<Summoned> done =
      StoreSummon(hub_, agent, in, SystemStatusMessage(agent, hub_.NewId(), "summon"));
  if (!done.has_value()) {
    if (done.status().code() == ErrorCode::kRateLimited) return done.status();
    if (done.status().code() == ErrorCode::kAlreadyExists) {
      return AlreadyExists(std::string(kAgentAlreadyInRoster));  // lost a race with another add
    }
    return StoreFailure(done.status());
  }
  PublishStored(hub_, done->summon);
  if (hub_.HasSubscribers()) {
    hub_.Publish(agent.channel_id,
                 AgentJoinedFrameLine(hub_.NewId(), FormatIsoTimestamp(hub_.clock().NowMillis()),
                                      done->entry));
  }
  PublishState(hub_, agent, "connecting");
  // Cast swallows activation failures here: the agent is in the roster and a later message
  // activates it again.
  if (Status s = Activate(agent); !s.ok()) LogAgentError("activate agent after add", s);
  return std::move(done->entry);
}

Result<RosterEntry> AgentServiceImpl::AddAgent(const Principal& principal,
                                               std::string_view channel_id, const Json& body) {
  // spec cast §4.6 validation order: body fields, the channel, the runtime.
  AGENTCORE_ASSIGN_OR_RETURN(AgentFields fields, RequireAgentFields(body));
  AGENTCORE_ASSIGN_OR_RETURN(Channel channel, hub_.channels().Find(principal, channel_id));
  // No runtime is addressable by id (local runtimes, spec cast §7.5): every runtimeId is
  // unknown, which is what Cast answers for an id it does not have.
  if (IsTruthy(body.Find("runtimeId"))) return NotFound("Runtime not found");
  return AddAgent(AgentIdentity{channel.space_id, channel.id, *fields.callsign},
                  *fields.agent_type);
}

Result<RosterEntry> AgentServiceImpl::ApplyRosterAction(const Principal& principal,
                                                        std::string_view channel_id,
                                                        std::string_view callsign,
                                                        RosterAction action) {
  // Cast finds the entry by channel id and callsign alone (§8 #16): a channel outside the
  // caller's space has no agents for it.
  AGENTCORE_ASSIGN_OR_RETURN(Channel channel,
                             hub_.channels().Find(principal, channel_id, kAgentNotFound));
  if (!IsPossibleId(callsign)) return NotFound(std::string(kAgentNotFound));
  return ApplyRosterAction(AgentIdentity{channel.space_id, channel.id, std::string(callsign)},
                           action);
}

Result<AgentIdentity> AgentServiceImpl::FindRosterAgent(const Principal& principal,
                                                        std::string_view channel_id,
                                                        std::string_view callsign) {
  AGENTCORE_ASSIGN_OR_RETURN(Channel channel, hub_.channels().Find(principal, channel_id));
  if (!IsPossibleId(callsign)) return NotFound(std::string(kAgentNotFound));
  Result<RosterEntry> entry = hub_.store().GetRosterEntry(channel.id, callsign);
  if (!entry.has_value()) {
    // The store calls an empty callsign malformed: no agent has it.
    if (entry.status().code() == ErrorCode::kNotFound ||
        entry.status().code() == ErrorCode::kInvalidArgument) {
      return NotFound(std::string(kAgentNotFound));
    }
    return StoreFailure(entry.status());
  }
  return AgentIdentity{channel.space_id, channel.id, std::string(callsign)};
}

Result<RosterEntry> AgentServiceImpl::ApplyRosterAction(const AgentIdentity& agent,
                                                        RosterAction action) {
  if (action == RosterAction::kRemove) {
    return InvalidArgument("remove is not a lifecycle action");
  }
  Store& store = hub_.store();
  Result<RosterEntry> entry = store.GetRosterEntry(agent.channel_id, agent.callsign);
  if (!entry.has_value()) {
    if (entry.status().code() == ErrorCode::kNotFound ||
        entry.status().code() == ErrorCode::kInvalidArgument) {
      return NotFound(std::string(kAgentNotFound));
    }
    return StoreFailure(entry.status());
  }
  // A stored status outside the six already reads as kActive (records.hpp).
  const RosterStatus from = entry->status;
  Result<RosterTransition> transition = NextRosterStatus(from, action);
  if (!transition.has_value()) {
    return InvalidArgument(std::string(RosterRejectionText(from, action)));
  }
  // Caps (issue 13 §2), before anything changes: unarchive brings an agent back (the agent
  // cap), activate starts one (the running cap; unarchive swallows that refusal as any other
  // activation failure).
  if (action == RosterAction::kUnarchive) {
    AGENTCORE_RETURN_IF_ERROR(hub_.channels().CheckAgentCap(agent.space_id));
  }
  if (action == RosterAction::kActivate && transition->activate_runtime) {
    AGENTCORE_RETURN_IF_ERROR(CheckCanStart(agent));
  }
  if (transition->suspend_runtime) {
    // Cast ignores suspend errors.
    if (Status s = Suspend(agent, "manual"); !s.ok()) LogAgentError("suspend agent", s);
  }
  Result<RosterEntry> updated = store.UpdateRosterEntry(agent.channel_id, agent.callsign,
                                                        PatchFor(action, from, *transition));
  if (!updated.has_value()) return StoreFailure(updated.status());
  PublishState(hub_, agent, PublishedStateOf(action));

  if (action == RosterAction::kDismiss) {
    Result<Message> stored =
        store.AppendMessage(SystemStatusMessage(agent, hub_.NewId(), "dismiss"));
    if (!stored.has_value()) return StoreFailure(stored.status());
    PublishStored(hub_, *stored);
  }
  if (transition->activate_runtime) {
    Status activated = Activate(agent);
    if (!activated.ok()) {
      LogAgentError("activate agent", activated);
      // Only activate reports the failure; unarchive keeps the agent active and a later
      // message activates it again (Cast).
      if (action == RosterAction::kActivate) {
        PublishState(hub_, agent, "offline");
        if (activated.code() == ErrorCode::kRateLimited) return activated;  // lost a race
        return Unavailable(activated.message());
      }
    }
  }
  return updated;
}

// --- Presence and logs ---------------------------------------------------------------------

Result<AgentPresence> AgentServiceImpl::Presence(const AgentIdentity& agent) {
  Result<RosterEntry> entry = hub_.store().GetRosterEntry(agent.channel_id, agent.callsign);
  AgentPresence out;
  if (!entry.ok()) {
    if (entry.status().code() == ErrorCode::kNotFound ||
        entry.status().code() == ErrorCode::kInvalidArgument) {
      return out;
    }
    return StoreFailure(entry.status());
  }
  // The stored heartbeat is an integer, so Cast's NaN-is-fresh quirk (§8 #11) cannot happen:
  // no heartbeat is stale.
  out.online = IsAgentOnline(entry->callback_url.has_value(), entry->last_heartbeat,
                             hub_.clock().NowMillis(), policy_.heartbeat_staleness);
  if (out.online) out.endpoint = entry->callback_url;
  out.last_heartbeat = entry->last_heartbeat;
  return out;
}

Result<LogChunk> AgentServiceImpl::ReadLog(const AgentIdentity& agent, std::uint64_t offset,
                                           std::size_t max_bytes) {
  const std::string id = FormatAgentId(agent);
  Runtime* runtime = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(id);
    if (it != slots_.end()) {
      runtime = it->second->runtime;
      if (runtime == nullptr) runtime = hub_.runtimes().ForType(it->second->agent_type);
    }
  }
  if (runtime == nullptr) {
    // Not seen by this process: the runtime of its type, else the first one (logs outlive
    // the agents, and a runtime that starts nothing may still hold an earlier process's).
    Result<RosterEntry> entry = hub_.store().GetRosterEntry(agent.channel_id, agent.callsign);
    if (entry.ok()) runtime = hub_.runtimes().ForType(entry->agent_type);
  }
  if (runtime == nullptr && !hub_.runtimes().All().empty()) runtime = hub_.runtimes().All()[0];
  if (runtime == nullptr) return NotSupported("no runtime is configured");
  return runtime->ReadLog(id, offset, max_bytes);
}

// --- Time ----------------------------------------------------------------------------------

void AgentServiceImpl::Sweep(UnixMillis now) {
  std::vector<std::pair<AgentIdentity, AgentTimeout>> fired;
  bool check_removed = false;
  bool take_over = false;
  ClusterLink* link = hub_.cluster_link();
  if (link != nullptr) RefreshHeartbeats(now);
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    for (auto& [id, slot] : slots_) {
      // Clustered: only the node holding the agent's lease times it out.
      if (link != nullptr && !HoldsLease(slot->agent)) continue;
      AgentTimeout t = slot->lifecycle.Sweep(now);
      if (t == AgentTimeout::kNone) continue;
      if (t == AgentTimeout::kActivationTimeout) {
        slot->endpoint.clear();
        if (slot->started) slot->suspending = true;
      }
      fired.emplace_back(slot->agent, t);
    }
    if (now - last_removal_check_ >= kRemovalCheckIntervalMs) {
      last_removal_check_ = now;
      check_removed = true;
    }
    if (link != nullptr && now - last_takeover_ >= link->options().lease.count() / 3) {
      last_takeover_ = now;
      take_over = true;
    }
  }
  if (take_over) {
    AdvertiseApiUrl();
    TakeOverExpired(now);
  }
  for (const auto& item : fired) {
    const AgentIdentity& agent =
        item.first;  // not a structured binding: clang 14 cannot capture one
    const AgentTimeout timeout = item.second;
    if (timeout == AgentTimeout::kActivationTimeout) {
      // §5.7: no checkin in time. Stop it, mark it failed (done by Sweep), keep its queue.
      Post([this, agent] {
        const std::string id = FormatAgentId(agent);
        LogAgentEvent("agent_activation_timeout", id);
        Runtime* runtime = nullptr;
        {
          std::lock_guard lock(mu_);
          runtime = slots_.find(id)->second->runtime;
        }
        if (runtime != nullptr) {
          if (Status s = runtime->Suspend(id, "activation timeout"); !s.ok()) {
            LogAgentError("stop agent after activation timeout", s);
          }
        }
        ClearCallback(agent);
        Broadcast(agent, "offline");
      });
    } else {
      // Silent for longer than the staleness: offline until a heartbeat, and the next
      // message re-activates it.
      Post([this, agent] {
        LogAgentEvent("agent_stale", FormatAgentId(agent));
        Broadcast(agent, "offline");
      });
    }
  }
  if (check_removed) CheckRemoved();
}

void AgentServiceImpl::RefreshHeartbeats(UnixMillis now) {
  // Heartbeats land on whichever node the load balancer picks: before this node calls an
  // agent it drives stale, the heartbeat stored by any node counts.
  std::vector<AgentIdentity> due;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, slot] : slots_) {
      if (slot->lifecycle.state() != ActivationState::kActive || !HoldsLease(slot->agent)) {
        continue;
      }
      AgentLifecycle probe = slot->lifecycle;  // a copy: only asks whether it would go stale
      if (probe.Sweep(now) == AgentTimeout::kHeartbeatStale) due.push_back(slot->agent);
    }
  }
  for (const AgentIdentity& agent : due) {
    Result<RosterEntry> entry = hub_.store().GetRosterEntry(agent.channel_id, agent.callsign);
    if (!entry.ok() || !IsHeartbeatFresh(entry->last_heartbeat, now, policy_.heartbeat_staleness)) {
      continue;
    }
    std::lock_guard lock(mu_);
    auto it = slots_.find(FormatAgentId(agent));
    if (it != slots_.end()) (void)it->second->lifecycle.Heartbeat(*entry->last_heartbeat);
  }
}

void AgentServiceImpl::TakeOverExpired(UnixMillis now) {
  ClusterLink* link = hub_.cluster_link();
  if (link == nullptr || link->draining()) return;
  Store& store = hub_.store();
  for (const Lease& lease : link->ListExpired("agent:", kTakeOverBatch)) {
    // "agent:<channel>/<callsign>": channel ids hold no '/', callsigns may not be empty.
    const std::string_view rest = std::string_view(lease.key).substr(6);
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) continue;
    const std::string channel_id(rest.substr(0, slash));
    const std::string callsign(rest.substr(slash + 1));
    Result<Channel> channel = store.GetChannel(channel_id);
    Result<RosterEntry> entry = store.GetRosterEntry(channel_id, callsign);
    const AgentIdentity agent{channel.ok() ? channel->space_id : std::string(), channel_id,
                              callsign};
    if (!Drives(agent)) continue;  // another node was faster
    const bool live = entry.ok() && entry->status != RosterStatus::kArchived;
    const bool online = live && entry->callback_url &&
                        IsHeartbeatFresh(entry->last_heartbeat, now, policy_.heartbeat_staleness);
    Result<std::vector<PendingDelivery>> queued =
        live ? store.TakePending(channel_id, callsign, 1)
             : Result<std::vector<PendingDelivery>>(std::vector<PendingDelivery>{});
    const bool waiting = queued.ok() && !queued->empty();
    if (!channel.ok() || (!online && !waiting)) {
      // Nothing to drive: handed back, so the expired lease does not stay listed.
      link->Release(lease.key);
      continue;
    }
    // An agent still heartbeating is adopted only when the API URL its node gave it still
    // leads to a live node (a load balancer's): one told the dead node's own URL reaches no
    // node any more (its heartbeats, checkins and task requests all fail), so it is started
    // again here, with this node's URL. The old process, on the dead node's machine, is out
    // of reach: it keeps failing there until that machine stops it.
    const bool adopt = online && ApiUrlStillServed(lease.owner, now);
    LogAgentEvent("agent_taken_over", FormatAgentId(agent),
                  lease.owner + (online && !adopt ? " (unreachable: restarted)" : ""));
    // As after a restart of our own: adopt an agent still heartbeating and push its queue,
    // else start it when messages wait (a paused agent keeps them for its checkin).
    if (adopt) {
      OnWake(channel_id, callsign, {});
    } else if (online && entry->status != RosterStatus::kPaused) {
      ClearCallback(agent);  // nothing is pushed to the unreachable process meanwhile
      {
        // A slot this node kept from earlier forgets the old process: Activate starts anew.
        std::lock_guard lock(mu_);
        auto it = slots_.find(FormatAgentId(agent));
        if (it != slots_.end()) {
          it->second->lifecycle = AgentLifecycle(now, policy_);
          it->second->endpoint.clear();
        }
      }
      if (Status s = Activate(agent); !s.ok()) LogAgentError("restart taken-over agent", s);
    } else if (!online && entry->status != RosterStatus::kPaused) {
      if (Status s = Activate(agent); !s.ok()) LogAgentError("activate taken-over agent", s);
    }
  }
}

void AgentServiceImpl::AdvertiseApiUrl() {
  ClusterLink* link = hub_.cluster_link();
  if (link == nullptr) return;
  const std::string url = api_url();
  const std::string key = url.empty() ? std::string() : ApiUrlLeaseKey(link->node_id(), url);
  std::lock_guard lock(advertise_mu_);
  if (key != advertised_url_key_ && !advertised_url_key_.empty()) {
    link->Release(advertised_url_key_);  // the URL changed (SetApiUrl)
  }
  advertised_url_key_ = key;
  // Renewed with the node's other leases; taken again after a store outage.
  if (!key.empty()) (void)link->HoldOrTake(key);
}

bool AgentServiceImpl::ApiUrlStillServed(const std::string& dead_owner, UnixMillis now) {
  Store& store = hub_.store();
  const std::string own_prefix = ApiUrlLeaseKey(dead_owner, "");
  Result<std::vector<Lease>> own = store.ListLeases(own_prefix, std::nullopt, 1);
  if (!own.ok() || own->empty()) return true;  // a node that advertises nothing: as before
  const std::string url = own->front().key.substr(own_prefix.size());
  // Every node's advertisement (one per node): is the same URL served by a live one?
  Result<std::vector<Lease>> all = store.ListLeases(kApiUrlLeasePrefix, std::nullopt, 10'000);
  if (!all.ok()) return true;
  for (const Lease& lease : *all) {
    if (lease.owner == dead_owner || lease.expires_at <= now) continue;
    const std::string_view rest = std::string_view(lease.key).substr(kApiUrlLeasePrefix.size());
    const std::size_t slash = rest.find('/');
    if (slash != std::string_view::npos && rest.substr(slash + 1) == url) return true;
  }
  return false;
}

void AgentServiceImpl::CheckRemoved() {
  if (removal_check_running_.exchange(true)) return;
  std::vector<RuntimeAgentState> running;
  for (Runtime* runtime : hub_.runtimes().All()) {
    std::vector<RuntimeAgentState> some = runtime->ListAgents();
    running.insert(running.end(), some.begin(), some.end());
  }
  if (running.empty()) {
    removal_check_running_ = false;
    return;
  }
  Post([this, running = std::move(running)] {
    for (const RuntimeAgentState& state : running) {
      Result<AgentIdentity> agent = ParseAgentId(state.agent_id);
      if (!agent.ok()) continue;
      Result<RosterEntry> entry = hub_.store().GetRosterEntry(agent->channel_id, agent->callsign);
      bool removed = !entry.ok() && entry.status().code() == ErrorCode::kNotFound;
      if (removed || (entry.ok() && entry->status == RosterStatus::kArchived)) {
        LogAgentEvent("agent_removed", state.agent_id);
        (void)Suspend(*agent, "removed");
      }
    }
    removal_check_running_ = false;
  });
}

Status AgentServiceImpl::Reconcile() {
  std::set<std::string> reaped;
  for (Runtime* runtime : hub_.runtimes().All()) {
    Result<std::vector<std::string>> orphans = runtime->ReapOrphans();
    if (!orphans.ok()) {
      LogAgentError("reap orphan agents", orphans.status());
      continue;
    }
    for (const std::string& id : *orphans) {
      LogAgentEvent("agent_orphan_reaped", id);
      reaped.insert(id);
    }
  }
  // Dead agents keep no callback URL: nothing would answer there.
  Store& store = hub_.store();
  const UnixMillis now = hub_.clock().NowMillis();
  Result<std::vector<Space>> spaces = store.ListSpaces(1'000'000);
  if (!spaces.ok()) return StoreFailure(spaces.status());
  for (const Space& space : *spaces) {
    Result<std::vector<Channel>> channels = store.ListChannels(space.id, true);
    if (!channels.ok()) continue;
    for (const Channel& channel : *channels) {
      Result<std::vector<RosterEntry>> roster = store.ListRoster(channel.id);
      if (!roster.ok()) continue;
      for (const RosterEntry& entry : *roster) {
        if (!entry.callback_url) continue;
        AgentIdentity agent{channel.space_id, channel.id, entry.callsign};
        if (reaped.count(FormatAgentId(agent)) != 0 ||
            !IsHeartbeatFresh(entry.last_heartbeat, now, policy_.heartbeat_staleness)) {
          ClearCallback(agent);
        }
      }
    }
  }
  return Status();
}

}  // namespace agentcore::hub_internal
