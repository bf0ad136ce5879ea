// SPDX-License-Identifier: Apache-2.0
// The agent service, part 1: activation, delivery, checkin and heartbeat, runtime events,
// shutdown (hub/agents.hpp has the model; agents_lifecycle.cpp the rest).
#include <cstdio>
#include <utility>

#include <agentcore/hub/event_frames.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/json_writer.hpp>

#include "agents_internal.hpp"
#include "cluster_internal.hpp"

namespace agentcore {

AgentService::~AgentService() = default;

namespace hub_internal {

namespace {

constexpr std::string_view kAgentNotFound = "Agent not found in roster";
constexpr std::size_t kDrainBatch = 100;  // Cast's checkin cap (§5.4)

std::string ContentText(const Json& content) {
  if (content.is_string()) return content.as_string();
  std::string out;
  JsonWriter(&out).Value(content);
  return out;
}

/// The message text as Cast pushes it: content plus the attachment appendix (§3.4).
std::string PushText(const Message& m) {
  std::string text = ContentText(m.content);
  const Json* slugs = m.metadata.is_object() ? m.metadata.Find("attachmentSlugs") : nullptr;
  if (slugs != nullptr && slugs->is_array() && !slugs->as_array().empty()) {
    text += "\n\n<attachments>";
    bool first = true;
    for (const Json& slug : slugs->as_array()) {
      if (!slug.is_string()) continue;
      text += first ? "" : " ";
      text += "[[" + slug.as_string() + "]]";
      first = false;
    }
    text += "</attachments>";
  }
  return text;
}

/// A store failure the caller did not expect, as kInternal (the store's text kept for logs).
Status StoreFailure(const Status& s) { return Status(ErrorCode::kInternal, s.ToString()); }

}  // namespace

void LogAgentEvent(std::string_view event, std::string_view agent_id, std::string_view detail) {
  std::string line;
  JsonWriter w(&line);
  w.BeginObject().Field("event", event).Field("agentId", agent_id);
  if (!detail.empty()) w.Field("detail", detail);
  w.EndObject();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void LogAgentError(std::string_view what, const Status& status) {
  std::string line;
  JsonWriter(&line)
      .BeginObject()
      .Field("level", "error")
      .Field("what", what)
      .Field("status", status.ToString())
      .EndObject();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

// --- Construction, shutdown --------------------------------------------------------------

AgentServiceImpl::AgentServiceImpl(Hub& hub)
    : hub_(hub), policy_(hub.options().policy), api_url_(hub.options().api_url) {}

AgentServiceImpl::~AgentServiceImpl() = default;

void AgentServiceImpl::Shutdown(bool stop_agents) {
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
  }
  if (stop_agents) {
    std::vector<AgentIdentity> started;
    {
      std::lock_guard lock(mu_);
      const UnixMillis now = hub_.clock().NowMillis();
      for (auto& [id, slot] : slots_) {
        if (!slot->started) continue;
        slot->suspending = true;
        slot->lifecycle.Suspend(now);
        slot->endpoint.clear();
        started.push_back(slot->agent);
      }
    }
    for (Runtime* runtime : hub_.runtimes().All()) {
      if (Status s = runtime->Shutdown(); !s.ok()) LogAgentError("stop agents", s);
    }
    for (const AgentIdentity& agent : started) ClearCallback(agent);
  }
  // Whatever was posted (drains, restarts, follow-ups) finishes while the hub's parts exist.
  std::unique_lock lock(flight_mu_);
  post_closed_ = true;
  flight_cv_.wait(lock, [this] { return in_flight_ == 0; });
}

void AgentServiceImpl::Post(std::function<void()> task) {
  {
    std::lock_guard lock(flight_mu_);
    if (post_closed_) return;
    ++in_flight_;
  }
  // Counts down when the task is gone, run or dropped by an executor that shuts down.
  struct Done {
    explicit Done(AgentServiceImpl* s) : self(s) {}
    Done(const Done&) = delete;
    Done& operator=(const Done&) = delete;
    ~Done() {
      std::lock_guard lock(self->flight_mu_);
      --self->in_flight_;
      self->flight_cv_.notify_all();
    }
    AgentServiceImpl* self;
  };
  auto done = std::make_shared<Done>(this);
  hub_.Post([task = std::move(task), done = std::move(done)] { task(); });
}

void AgentServiceImpl::SetApiUrl(std::string url) {
  {
    std::lock_guard lock(mu_);
    api_url_ = std::move(url);
  }
  AdvertiseApiUrl();  // before any agent is told the URL (docs/cluster.md, adopt or restart)
}

std::string AgentServiceImpl::api_url() const {
  std::lock_guard lock(mu_);
  return api_url_;
}

// --- Activation ----------------------------------------------------------------------------

AgentServiceImpl::Slot& AgentServiceImpl::SlotLocked(const AgentIdentity& agent,
                                                     const RosterEntry& entry) {
  std::string id = FormatAgentId(agent);
  auto it = slots_.find(id);
  if (it != slots_.end()) {
    it->second->agent_type = entry.agent_type;
    return *it->second;
  }
  const UnixMillis now = hub_.clock().NowMillis();
  AgentLifecycle lifecycle(now, policy_);
  std::string endpoint;
  // An agent that checked in with an earlier process of the server (or was started by
  // someone else) and is still heartbeating is online: adopt it.
  if (entry.callback_url &&
      IsHeartbeatFresh(entry.last_heartbeat, now, policy_.heartbeat_staleness)) {
    Result<AgentLifecycle> restored =
        AgentLifecycle::Restore(ActivationState::kActive, now, entry.last_heartbeat, {}, policy_);
    if (restored.ok()) {
      lifecycle = *std::move(restored);
      endpoint = *entry.callback_url;
    }
  }
  auto slot = std::make_unique<Slot>(agent, id, std::move(lifecycle));
  slot->agent_type = entry.agent_type;
  slot->endpoint = std::move(endpoint);
  slot->route_hints = entry.route_hints;
  Slot& ref = *slot;
  slots_.emplace(std::move(id), std::move(slot));
  return ref;
}

Status AgentServiceImpl::Activate(const AgentIdentity& agent) {
  Result<RosterEntry> entry = hub_.store().GetRosterEntry(agent.channel_id, agent.callsign);
  if (!entry.ok()) {
    if (entry.status().code() == ErrorCode::kNotFound ||
        entry.status().code() == ErrorCode::kInvalidArgument) {
      return NotFound(std::string(kAgentNotFound));
    }
    return StoreFailure(entry.status());
  }
  if (std::string owner; !Drives(agent, &owner)) {
    // Another node drives it: that node activates it (docs/cluster.md "Leases").
    if (owner.empty() && !Draining()) {
      return Unavailable("cannot reach the agent's lease in the store");
    }
    Wake(agent, "activate");  // draining: whichever node takes the free lease activates it
    return Status();
  }
  bool start = false;
  bool restart = false;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return Unavailable("the hub is shutting down");
    Slot& slot = SlotLocked(agent, *entry);
    ActivationState before = slot.lifecycle.state();
    // On a copy: a start the running cap refuses leaves the agent as it was.
    AgentLifecycle next = slot.lifecycle;
    start = next.Activate(hub_.clock().NowMillis()) == ActivateOutcome::kStartRuntime;
    if (start) AGENTCORE_RETURN_IF_ERROR(CheckRunningCapLocked(agent.space_id, slot.agent_id));
    slot.lifecycle = std::move(next);
    restart = before == ActivationState::kStale || before == ActivationState::kActive;
  }
  if (!start) return Status();
  return StartRuntime(agent, entry->agent_type, restart);
}

Status AgentServiceImpl::CheckRunningCapLocked(std::string_view space_id,
                                               std::string_view self_id) const {
  const std::size_t cap = hub_.options().max_running_agents_per_space;
  if (cap == 0) return Status();
  std::size_t running = 0;
  for (const auto& [id, slot] : slots_) {
    if (id == self_id || slot->agent.space_id != space_id) continue;
    const ActivationState s = slot->lifecycle.state();
    if (s == ActivationState::kActivating || s == ActivationState::kActive ||
        s == ActivationState::kStale) {
      ++running;
    }
  }
  if (running < cap) return Status();
  return Status(ErrorCode::kRateLimited,
                "space \"" + std::string(space_id) + "\" already runs " + std::to_string(running) +
                    " agents, the most it may run at once; pause or dismiss one first");
}

Status AgentServiceImpl::CheckCanStart(const AgentIdentity& agent) {
  if (hub_.options().max_running_agents_per_space == 0) return Status();
  const std::string id = FormatAgentId(agent);
  std::lock_guard lock(mu_);
  auto it = slots_.find(id);
  if (it != slots_.end()) {
    AgentLifecycle next = it->second->lifecycle;
    if (next.Activate(hub_.clock().NowMillis()) != ActivateOutcome::kStartRuntime) {
      return Status();  // already starting or online: nothing new would run
    }
  }
  return CheckRunningCapLocked(agent.space_id, id);
}

Status AgentServiceImpl::StartRuntime(const AgentIdentity& agent, const std::string& agent_type,
                                      bool restart) {
  const std::string id = FormatAgentId(agent);
  Runtime* runtime = hub_.runtimes().ForType(agent_type);
  if (restart) {
    // The old process went silent (stale heartbeat) or refused a push: stop it before a new
    // one starts, as the runtime would otherwise keep the old one (Activate is idempotent).
    Runtime* old = nullptr;
    {
      std::lock_guard lock(mu_);
      auto it = slots_.find(id);
      if (it != slots_.end()) {
        if (it->second->started) it->second->suspending = true;
        old = it->second->runtime;
      }
    }
    if (old == nullptr) old = runtime;
    if (old != nullptr) {
      if (Status s = old->Suspend(id, "restart"); !s.ok()) LogAgentError("stop silent agent", s);
    }
  }
  if (runtime == nullptr) {
    LogAgentEvent("agent_activation_requested", id, "no agent command: waiting for its checkin");
    return Status();
  }
  ActivateRequest req;
  req.agent_id = id;
  req.agent_type = agent_type;
  req.auth_token = hub_.ContainerToken(agent);
  req.api_url = api_url();
  Result<RuntimeAgentState> state = runtime->Activate(req);
  std::lock_guard lock(mu_);
  auto it = slots_.find(id);
  if (!state.ok()) {
    if (it != slots_.end()) (void)it->second->lifecycle.Fail(hub_.clock().NowMillis());
    LogAgentEvent("agent_activation_failed", id, state.status().ToString());
    return Unavailable("cannot start agent \"" + id + "\": " + state.status().ToString());
  }
  if (it != slots_.end()) {
    it->second->started = true;
    it->second->suspending = false;
    it->second->runtime = runtime;
  }
  LogAgentEvent("agent_activating", id, state->instance_id);
  return Status();
}

Status AgentServiceImpl::Suspend(const AgentIdentity& agent, std::string_view reason) {
  const std::string id = FormatAgentId(agent);
  if (std::string owner; !Drives(agent, &owner) && (!owner.empty() || Draining())) {
    Wake(agent, "suspend:" + std::string(reason));  // its process runs on the owner's machine
    return Status();
  }
  Runtime* runtime = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(id);
    if (it != slots_.end()) {
      Slot& slot = *it->second;
      slot.lifecycle.Suspend(hub_.clock().NowMillis());
      slot.endpoint.clear();
      if (slot.started) slot.suspending = true;
      runtime = slot.runtime;
    }
  }
  Status s;
  if (runtime != nullptr) {
    s = runtime->Suspend(id, reason);
  } else {
    // Not started by this process: whichever runtime may run it (Suspend is idempotent).
    for (Runtime* r : hub_.runtimes().All()) {
      if (Status one = r->Suspend(id, reason); !one.ok() && s.ok()) s = one;
    }
  }
  ClearCallback(agent);
  // Nothing of it runs here any more: the next node to need it may take it at once.
  if (ClusterLink* link = hub_.cluster_link(); link != nullptr) {
    link->Release(AgentLeaseKey(agent.channel_id, agent.callsign));
  }
  return s;
}

// --- Delivery ------------------------------------------------------------------------------

void AgentServiceImpl::Deliver(const Message& message, const std::vector<std::string>& callsigns) {
  Store& store = hub_.store();
  for (const std::string& callsign : callsigns) {
    if (callsign.empty()) continue;  // Cast's [""] leader of an empty roster (§8 #4)
    Result<RosterEntry> entry = store.GetRosterEntry(message.channel_id, callsign);
    if (!entry.ok()) {
      if (entry.status().code() != ErrorCode::kNotFound) LogAgentError("deliver", entry.status());
      continue;
    }
    if (entry->status == RosterStatus::kArchived) continue;
    const UnixMillis now = hub_.clock().NowMillis();
    PendingDelivery delivery;
    delivery.channel_id = message.channel_id;
    delivery.callsign = callsign;
    delivery.message_id = message.id;
    delivery.enqueued_at = now;
    if (Status s = store.EnqueuePending(delivery); !s.ok()) {
      LogAgentError("queue message for agent", s);
      continue;
    }
    // Paused agents keep their messages for their next checkin but are never started (§5.9).
    if (entry->status == RosterStatus::kPaused) continue;
    AgentIdentity agent{message.space_id, message.channel_id, callsign};
    if (std::string owner; !Drives(agent, &owner)) {
      // Queued above; the node that drives the agent pushes it (one drain cluster-wide).
      // Draining, the lease is free: every node hears the wake, the first to take it drains.
      if (!owner.empty() || Draining()) Wake(agent);
      continue;
    }
    bool online = false;
    bool start = false;
    bool restart = false;
    Status refused;
    {
      std::lock_guard lock(mu_);
      if (shutting_down_) return;
      Slot& slot = SlotLocked(agent, *entry);
      if (slot.lifecycle.IsOnline(now) && !slot.endpoint.empty()) {
        online = true;
      } else {
        ActivationState before = slot.lifecycle.state();
        AgentLifecycle next = slot.lifecycle;
        start = next.Activate(now) == ActivateOutcome::kStartRuntime;
        if (start) refused = CheckRunningCapLocked(agent.space_id, slot.agent_id);
        if (refused.ok()) slot.lifecycle = std::move(next);
        restart = before == ActivationState::kStale || before == ActivationState::kActive;
      }
    }
    if (!refused.ok()) {
      // The message stays queued for the agent's next activation.
      LogAgentEvent("agent_activation_refused", FormatAgentId(agent), refused.message());
      continue;
    }
    if (online) {
      ScheduleDrain(FormatAgentId(agent));
      continue;
    }
    if (!start) continue;  // an activation is under way: its checkin takes the message
    Broadcast(agent, "connecting");
    RosterPatch patch;
    patch.last_message_routed_at = now;
    (void)store.UpdateRosterEntry(agent.channel_id, agent.callsign, patch);
    if (Status s = StartRuntime(agent, entry->agent_type, restart); !s.ok()) {
      Broadcast(agent, "offline");
    }
  }
}

void AgentServiceImpl::ScheduleDrain(const std::string& agent_id) {
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(agent_id);
    if (it == slots_.end() || it->second->drain_queued) return;
    it->second->drain_queued = true;
  }
  Post([this, agent_id] { (void)Drain(agent_id, DrainMode::kDirect); });
}

int AgentServiceImpl::Drain(const std::string& agent_id, DrainMode mode) {
  Slot* slot = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(agent_id);
    if (it == slots_.end()) return 0;
    slot = it->second.get();  // slots are never erased
  }
  std::unique_lock drain_lock(slot->drain_mu);
  std::string endpoint;
  Json hints;
  AgentIdentity agent;
  std::string agent_type;
  {
    std::lock_guard lock(mu_);
    slot->drain_queued = false;
    endpoint = slot->endpoint;
    hints = slot->route_hints;
    agent = slot->agent;
    agent_type = slot->agent_type;
  }
  if (endpoint.empty()) return 0;
  if (!Drives(agent)) return 0;  // another node took it over: it drains
  // The runtime's hints (§5.3: the Fly machine id) join those stored at checkin and win: the
  // runtime knows which instance it started.
  if (Runtime* runtime = RuntimeOf(agent_id, agent_type); runtime != nullptr) {
    Json live = runtime->RouteHints(agent_id);
    if (live.is_object() && !live.as_object().empty()) {
      if (!hints.is_object()) hints = Json::Object();
      for (const JsonMember& hint : live.as_object()) hints.Set(hint.key, hint.value);
    }
  }
  Store& store = hub_.store();
  int delivered = 0;
  bool more = false;
  for (int round = 0; round < 64; ++round) {
    Result<std::vector<PendingDelivery>> pending =
        store.TakePending(agent.channel_id, agent.callsign, kDrainBatch);
    if (!pending.ok()) {
      if (pending.status().code() != ErrorCode::kNotFound)
        LogAgentError("take pending", pending.status());
      break;
    }
    if (pending->empty()) break;
    std::vector<Message> messages;
    std::vector<std::string> gone;
    for (const PendingDelivery& d : *pending) {
      Result<Message> m = store.GetMessage(d.message_id);
      if (m.ok()) {
        messages.push_back(*std::move(m));
      } else if (m.status().code() == ErrorCode::kNotFound) {
        gone.push_back(d.message_id);  // deleted (a reset frame): nothing to deliver
      } else {
        LogAgentError("read pending message", m.status());
      }
    }
    if (!gone.empty()) (void)store.AckPending(agent.channel_id, agent.callsign, gone);
    if (messages.empty()) {
      if (gone.empty()) break;
      continue;
    }
    auto acknowledge = [&](std::size_t first, std::size_t count) {
      std::vector<std::string> ids;
      for (std::size_t i = first; i < first + count; ++i) ids.push_back(messages[i].id);
      if (Status s = store.AckPending(agent.channel_id, agent.callsign, ids); !s.ok()) {
        LogAgentError("acknowledge delivery", s);
      }
      const UnixMillis now = hub_.clock().NowMillis();
      RosterPatch patch;
      patch.readmark = ids.back();
      patch.last_message_routed_at = now;
      (void)store.UpdateRosterEntry(agent.channel_id, agent.callsign, patch);
      Broadcast(agent, "pending", "lastMessageRoutedAt", FormatIsoTimestamp(now));
      delivered += static_cast<int>(count);
    };
    if (mode == DrainMode::kCheckin) {
      // §5.4: the whole backlog as one message.
      Result<Channel> channel = store.GetChannel(agent.channel_id);
      const std::string name = channel.ok() ? channel->name : agent.channel_id;
      std::string content;
      for (const Message& m : messages) {
        if (!content.empty()) content += "\n\n";
        content += "--- @" + m.sender + " in #" + name + " says:\n" + PushText(m);
      }
      if (Status s = Push(agent_id, endpoint, hints, content); !s.ok()) {
        // Cast logs it and answers delivered 0; the messages stay queued.
        LogAgentError("push pending messages at checkin", s);
        break;
      }
      acknowledge(0, messages.size());
      more = pending->size() == kDrainBatch;
      break;
    }
    bool failed = false;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const Message& m = messages[i];
      Status s = Push(agent_id, endpoint, hints, "Message from @" + m.sender + ": " + PushText(m));
      if (!s.ok()) {
        LogAgentError("push message to agent", s);
        failed = true;
        break;
      }
      acknowledge(i, 1);
    }
    if (failed) {
      drain_lock.unlock();
      PushFailed(agent_id);
      return delivered;
    }
  }
  drain_lock.unlock();
  if (more) ScheduleDrain(agent_id);
  return delivered;
}

Status AgentServiceImpl::Push(const std::string& agent_id, const std::string& endpoint,
                              const Json& route_hints, const std::string& content) {
  Result<AgentIdentity> identity = ParseAgentId(agent_id);
  if (!identity.ok()) return identity.status();
  std::string_view base = endpoint;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  AgentPush push;
  push.agent_id = agent_id;
  push.endpoint = endpoint;
  push.url = std::string(base) + "/message";
  push.headers.emplace_back("Content-Type", "application/json");
  push.headers.emplace_back("Authorization", "Bearer " + hub_.ContainerToken(*identity));
  if (route_hints.is_object()) {
    for (const JsonMember& hint : route_hints.as_object()) {
      if (hint.value.is_string()) push.headers.emplace_back(hint.key, hint.value.as_string());
    }
  }
  JsonWriter(&push.body)
      .BeginObject()
      .Field("content", content)
      .Field("agentId", agent_id)
      .EndObject();
  push.content = content;
  return hub_.transport().Push(push);
}

void AgentServiceImpl::PushFailed(const std::string& agent_id) {
  // §3.4 step 3: the container is gone. Clear its callback (§8 #1 fixed), say connecting,
  // start a new one; the message stays queued for its checkin.
  AgentIdentity agent;
  std::string type;
  bool start = false;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(agent_id);
    if (it == slots_.end() || shutting_down_) return;
    Slot& slot = *it->second;
    const UnixMillis now = hub_.clock().NowMillis();
    (void)slot.lifecycle.Fail(now);
    slot.endpoint.clear();
    start = slot.lifecycle.Activate(now) == ActivateOutcome::kStartRuntime;
    agent = slot.agent;
    type = slot.agent_type;
  }
  ClearCallback(agent);
  Broadcast(agent, "connecting");
  if (start) {
    if (Status s = StartRuntime(agent, type, /*restart=*/true); !s.ok())
      Broadcast(agent, "offline");
  }
}

// --- Container protocol --------------------------------------------------------------------

Result<CheckinOutcome> AgentServiceImpl::Checkin(const AgentIdentity& agent,
                                                 const std::string& endpoint,
                                                 const Json& route_hints) {
  Store& store = hub_.store();
  Result<RosterEntry> entry = store.GetRosterEntry(agent.channel_id, agent.callsign);
  if (!entry.ok()) {
    if (entry.status().code() == ErrorCode::kNotFound ||
        entry.status().code() == ErrorCode::kInvalidArgument) {
      return NotFound(std::string(kAgentNotFound));
    }
    return StoreFailure(entry.status());
  }
  const UnixMillis now = hub_.clock().NowMillis();
  RosterPatch patch;
  patch.callback_url = endpoint;
  patch.last_heartbeat = now;
  // Only truthy hints replace the stored ones (§5.4): null keeps what a runtime stored.
  if (route_hints.is_object()) patch.route_hints = route_hints;
  Result<RosterEntry> updated = store.UpdateRosterEntry(agent.channel_id, agent.callsign, patch);
  if (!updated.ok()) {
    if (updated.status().code() == ErrorCode::kNotFound) {
      return NotFound(std::string(kAgentNotFound));
    }
    return StoreFailure(updated.status());
  }
  Broadcast(agent, "online", "lastHeartbeat", FormatIsoTimestamp(now));
  const std::string id = FormatAgentId(agent);
  if (std::string owner; !Drives(agent, &owner)) {
    // Stored above; a live owner reads it from the store and pushes the queue right after.
    if (owner.empty() && !Draining()) {
      return Unavailable("cannot reach the agent's lease in the store");
    }
    LogAgentEvent("agent_checkin_elsewhere", id, owner);
    Wake(agent);
    return CheckinOutcome{};
  }
  // kConflict for an agent this runtime did not start (started by hand, or by an earlier
  // process): it is welcome all the same.
  if (Runtime* runtime = RuntimeOf(id, updated->agent_type); runtime != nullptr) {
    (void)runtime->Checkin(id, endpoint);
  }
  {
    std::lock_guard lock(mu_);
    Slot& slot = SlotLocked(agent, *updated);
    (void)slot.lifecycle.Checkin(now);
    slot.endpoint = endpoint;
    slot.route_hints = updated->route_hints;
  }
  LogAgentEvent("agent_checkin", id, endpoint);
  CheckinOutcome out;
  out.delivered = Drain(id, DrainMode::kCheckin);
  return out;
}

Result<UnixMillis> AgentServiceImpl::Heartbeat(const AgentIdentity& agent) {
  const UnixMillis now = hub_.clock().NowMillis();
  RosterPatch patch;
  patch.last_heartbeat = now;
  Result<RosterEntry> updated =
      hub_.store().UpdateRosterEntry(agent.channel_id, agent.callsign, patch);
  if (!updated.ok()) {
    if (updated.status().code() == ErrorCode::kNotFound ||
        updated.status().code() == ErrorCode::kInvalidArgument) {
      return NotFound(std::string(kAgentNotFound));
    }
    return StoreFailure(updated.status());
  }
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(FormatAgentId(agent));
    // kConflict when the agent never checked in with this process, or was stopped since: the
    // stored heartbeat is all there is to update then.
    if (it != slots_.end()) (void)it->second->lifecycle.Heartbeat(now);
  }
  if (updated->status != RosterStatus::kPaused && updated->status != RosterStatus::kArchived) {
    Broadcast(agent, "online", "lastHeartbeat", FormatIsoTimestamp(now));
  }
  return now;
}

// --- Runtime events ------------------------------------------------------------------------

void AgentServiceImpl::OnAgentEvent(const AgentEvent& event) {
  if (event.kind != AgentEventKind::kFailed && event.kind != AgentEventKind::kOffline) return;
  Runtime* runtime = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(event.agent_id);
    if (it == slots_.end()) return;
    runtime = it->second->runtime;
  }
  // An exit of an older instance after a newer one started is no news about the new one.
  if (runtime != nullptr) {
    std::optional<RuntimeAgentState> now_state = runtime->GetState(event.agent_id);
    if (now_state && (now_state->status == AgentStatus::kActivating ||
                      now_state->status == AgentStatus::kOnline)) {
      return;
    }
  }
  AgentIdentity agent;
  {
    std::lock_guard lock(mu_);
    Slot& slot = *slots_.find(event.agent_id)->second;
    slot.started = false;
    if (slot.suspending) {  // we stopped it
      slot.suspending = false;
      return;
    }
    ActivationState s = slot.lifecycle.state();
    if (s != ActivationState::kActivating && s != ActivationState::kActive &&
        s != ActivationState::kStale) {
      return;
    }
    const UnixMillis now = hub_.clock().NowMillis();
    if (event.kind == AgentEventKind::kFailed) {
      (void)slot.lifecycle.Fail(now);
    } else {
      slot.lifecycle.Suspend(now);
    }
    slot.endpoint.clear();
    agent = slot.agent;
  }
  LogAgentEvent(event.kind == AgentEventKind::kFailed ? "agent_failed" : "agent_exited",
                event.agent_id, event.reason);
  Post([this, agent] {
    ClearCallback(agent);
    Broadcast(agent, "offline");
  });
}

// --- Clusters ------------------------------------------------------------------------------

bool AgentServiceImpl::Drives(const AgentIdentity& agent, std::string* owner) {
  ClusterLink* link = hub_.cluster_link();
  if (link == nullptr) return true;  // one node: no store call, as before issue 17
  return link->HoldOrTake(AgentLeaseKey(agent.channel_id, agent.callsign), owner);
}

bool AgentServiceImpl::Draining() const {
  ClusterLink* link = hub_.cluster_link();
  return link != nullptr && link->draining();
}

bool AgentServiceImpl::HoldsLease(const AgentIdentity& agent) const {
  ClusterLink* link = hub_.cluster_link();
  return link == nullptr || link->Holds(AgentLeaseKey(agent.channel_id, agent.callsign));
}

void AgentServiceImpl::Wake(const AgentIdentity& agent, std::string_view payload) {
  if (ClusterLink* link = hub_.cluster_link(); link != nullptr) {
    link->SendAgentWake(agent.channel_id, agent.callsign, payload);
  }
}

void AgentServiceImpl::OnWake(std::string_view channel_id, std::string_view callsign,
                              std::string_view payload) {
  Store& store = hub_.store();
  Result<Channel> channel = store.GetChannel(channel_id);
  if (!channel.ok()) return;
  const AgentIdentity agent{channel->space_id, std::string(channel_id), std::string(callsign)};
  if (!Drives(agent)) return;  // another node (the one the sender saw, or a newer one) acts
  if (payload.starts_with("suspend:")) {
    payload.remove_prefix(8);
    (void)Suspend(agent, payload);
    return;
  }
  if (payload == "activate") {
    if (Status s = Activate(agent); !s.ok()) LogAgentError("activate agent (woken)", s);
    return;
  }
  Result<RosterEntry> entry = store.GetRosterEntry(channel_id, callsign);
  if (!entry.ok() || entry->status == RosterStatus::kArchived) return;
  const UnixMillis now = hub_.clock().NowMillis();
  bool online = false;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    Slot& slot = SlotLocked(agent, *entry);
    // The agent may have checked in on another node since: its endpoint is in the store.
    if (entry->callback_url &&
        IsHeartbeatFresh(entry->last_heartbeat, now, policy_.heartbeat_staleness)) {
      if (!slot.lifecycle.IsOnline(now)) (void)slot.lifecycle.Checkin(now);
      slot.endpoint = *entry->callback_url;
      slot.route_hints = entry->route_hints;
    }
    online = slot.lifecycle.IsOnline(now) && !slot.endpoint.empty();
  }
  if (online) {
    ScheduleDrain(FormatAgentId(agent));
  } else if (entry->status != RosterStatus::kPaused) {
    // Not online anywhere: start it here, as Deliver would; its checkin takes the queue.
    if (Status s = Activate(agent); !s.ok()) LogAgentError("activate agent (woken)", s);
  }
}

// --- Small helpers -------------------------------------------------------------------------

Runtime* AgentServiceImpl::RuntimeOf(const std::string& agent_id, std::string_view agent_type) {
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(agent_id);
    if (it != slots_.end() && it->second->runtime != nullptr) return it->second->runtime;
  }
  return hub_.runtimes().ForType(agent_type);
}

void AgentServiceImpl::ClearCallback(const AgentIdentity& agent) {
  RosterPatch patch;
  patch.clear_callback_url = true;
  Result<RosterEntry> r = hub_.store().UpdateRosterEntry(agent.channel_id, agent.callsign, patch);
  if (!r.ok() && r.status().code() != ErrorCode::kNotFound)
    LogAgentError("clear callback url", r.status());
}

void AgentServiceImpl::Broadcast(const AgentIdentity& agent, std::string_view state,
                                 std::string_view timestamp_key, std::string_view timestamp) {
  if (!hub_.HasSubscribers()) return;  // nobody to build the line for
  hub_.Publish(
      agent.channel_id,
      AgentStateFrameLine(hub_.NewId(), FormatIsoTimestamp(hub_.clock().NowMillis()),
                          agent.channel_id, agent.callsign, state, timestamp_key, timestamp));
}

}  // namespace hub_internal
}  // namespace agentcore
