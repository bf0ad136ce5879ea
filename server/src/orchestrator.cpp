// SPDX-License-Identifier: Apache-2.0
#include "orchestrator.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include <asio/post.hpp>

#include <agentcore/clock.hpp>
#include <agentcore/http/client.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/runtime/runtimes.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {

struct Orchestrator::Slot {
  Slot(AgentRef r, std::string id, AgentLifecycle l)
      : ref(std::move(r)), agent_id(std::move(id)), lifecycle(std::move(l)) {}

  // Guarded by Orchestrator::mu_.
  AgentRef ref;
  std::string agent_id;
  std::string agent_type;
  AgentLifecycle lifecycle;
  std::string endpoint;     // from the last checkin; cleared when the agent is gone
  Json route_hints;         // headers for pushes (§5.3)
  bool started = false;     // a process of ours may be running
  bool suspending = false;  // we stopped it: its exit is no news
  bool drain_queued = false;
  // Held for a whole drain: one drain per agent at a time, so nothing is pushed twice.
  std::mutex drain_mu;
};

namespace {

constexpr std::string_view kAgentNotFound = "Agent not found in roster";
constexpr std::size_t kDrainBatch = 100;  // Cast's checkin cap (§5.4)

std::string AgentIdOf(const AgentRef& ref) {
  return ref.space_id + ":" + ref.channel_id + ":" + ref.callsign;
}

AgentIdentity IdentityOf(const AgentRef& ref) {
  return AgentIdentity{ref.space_id, ref.channel_id, ref.callsign};
}

/// One client per pool thread: its kept-alive connections to agents are reused by that
/// thread's later pushes, and no two calls share a connection.
HttpClient& ThreadClient() {
  thread_local std::unique_ptr<HttpClient> client = NewHttpClient();
  return *client;
}

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

void LogEvent(std::string_view event, std::string_view agent_id, std::string_view detail = {}) {
  std::string line;
  JsonWriter w(&line);
  w.BeginObject().Field("event", event).Field("agentId", agent_id);
  if (!detail.empty()) w.Field("detail", detail);
  w.EndObject();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

// --- Construction, start, stop -----------------------------------------------------------

Orchestrator::Orchestrator(App& app, AgentPolicy policy) : app_(app), policy_(policy) {}

Orchestrator::~Orchestrator() {
  {
    std::lock_guard lock(sweep_mu_);
    sweep_stop_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  {
    std::lock_guard lock(events_mu_);  // waits for a callback in progress
    events_closed_ = true;
  }
  app_.hub().SetRuntimeObserver(nullptr);  // no later event reaches this object
}

Result<std::unique_ptr<Orchestrator>> Orchestrator::Open(App& app) {
  const ServerConfig& config = app.config();
  AgentPolicy policy;
  policy.heartbeat_staleness = config.heartbeat_staleness;
  policy.activation_timeout = config.activation_timeout;
  std::unique_ptr<Orchestrator> o(new Orchestrator(app, policy));

  // No command at all: agents are started by someone else and only check in here; an
  // activation then just waits for that checkin (and times out like any other).
  o->runtime_ = app.hub().runtimes().Find("local");
  o->external_only_ = app.hub().options().local_process.commands.empty();
  app.hub().SetRuntimeObserver(o.get());
  return o;
}

Status Orchestrator::Reconcile() {
  std::set<std::string> reaped;
  Result<std::vector<std::string>> orphans = runtime_->ReapOrphans();
  if (!orphans.ok()) {
    LogError("reap orphan agents", orphans.status());
  } else {
    for (const std::string& id : *orphans) {
      LogEvent("agent_orphan_reaped", id);
      reaped.insert(id);
    }
  }
  // Dead agents keep no callback URL: nothing would answer there.
  Store& store = app_.store();
  const UnixMillis now = app_.clock().NowMillis();
  AGENTCORE_ASSIGN_OR_RETURN(std::vector<Space> spaces, store.ListSpaces(1'000'000));
  for (const Space& space : spaces) {
    Result<std::vector<Channel>> channels = store.ListChannels(space.id, true);
    if (!channels.ok()) continue;
    for (const Channel& channel : *channels) {
      Result<std::vector<RosterEntry>> roster = store.ListRoster(channel.id);
      if (!roster.ok()) continue;
      for (const RosterEntry& entry : *roster) {
        if (!entry.callback_url) continue;
        AgentRef ref{channel.space_id, channel.id, entry.callsign};
        if (reaped.count(AgentIdOf(ref)) != 0 ||
            !IsHeartbeatFresh(entry.last_heartbeat, now, policy_.heartbeat_staleness)) {
          ClearCallback(ref);
        }
      }
    }
  }
  return Status();
}

void Orchestrator::Start() {
  if (sweeper_.joinable()) return;
  sweeper_ = std::thread([this] { SweepLoop(); });
}

void Orchestrator::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
  }
  {
    std::lock_guard lock(sweep_mu_);
    sweep_stop_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  if (app_.config().agents_outlive_server) return;  // what a crash leaves behind

  std::vector<AgentRef> started;
  {
    std::lock_guard lock(mu_);
    const UnixMillis now = app_.clock().NowMillis();
    for (auto& [id, slot] : slots_) {
      if (!slot->started) continue;
      slot->suspending = true;
      slot->lifecycle.Suspend(now);
      slot->endpoint.clear();
      started.push_back(slot->ref);
    }
  }
  if (Status s = runtime_->Shutdown(); !s.ok()) LogError("stop agents", s);
  for (const AgentRef& ref : started) ClearCallback(ref);
}

// --- Hooks -------------------------------------------------------------------------------

Orchestrator::Slot& Orchestrator::SlotLocked(const AgentRef& agent, const RosterEntry& entry) {
  std::string id = AgentIdOf(agent);
  auto it = slots_.find(id);
  if (it != slots_.end()) {
    it->second->agent_type = entry.agent_type;
    return *it->second;
  }
  const UnixMillis now = app_.clock().NowMillis();
  AgentLifecycle lifecycle(now, policy_);
  std::string endpoint;
  // An agent that checked in with an earlier process of the server (or was started by
  // someone else) and is still heartbeating is online: adopt it.
  if (entry.callback_url &&
      IsHeartbeatFresh(entry.last_heartbeat, now, policy_.heartbeat_staleness)) {
    Result<AgentLifecycle> restored = AgentLifecycle::Restore(
        ActivationState::kActive, now, entry.last_heartbeat, {}, policy_);
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

Status Orchestrator::Activate(const AgentRef& agent) {
  Result<RosterEntry> entry = app_.store().GetRosterEntry(agent.channel_id, agent.callsign);
  if (!entry.ok()) return entry.status();
  bool start = false;
  bool restart = false;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return Unavailable("server is shutting down");
    Slot& slot = SlotLocked(agent, *entry);
    ActivationState before = slot.lifecycle.state();
    start = slot.lifecycle.Activate(app_.clock().NowMillis()) == ActivateOutcome::kStartRuntime;
    restart = before == ActivationState::kStale || before == ActivationState::kActive;
  }
  if (!start) return Status();
  return StartRuntime(agent, entry->agent_type, restart);
}

Status Orchestrator::StartRuntime(const AgentRef& agent, const std::string& agent_type,
                                  bool restart) {
  const std::string id = AgentIdOf(agent);
  if (restart) {
    // The old process went silent (stale heartbeat) or refused a push: stop it before a new
    // one starts, as the runtime would otherwise keep the old one (Activate is idempotent).
    {
      std::lock_guard lock(mu_);
      auto it = slots_.find(id);
      if (it != slots_.end() && it->second->started) it->second->suspending = true;
    }
    if (Status s = runtime_->Suspend(id, "restart"); !s.ok()) LogError("stop silent agent", s);
  }
  if (external_only_) {
    LogEvent("agent_activation_requested", id, "no agent command: waiting for its checkin");
    return Status();
  }
  ActivateRequest req;
  req.agent_id = id;
  req.agent_type = agent_type;
  req.auth_token = app_.ContainerToken(IdentityOf(agent));
  req.api_url = ApiUrl();
  Result<RuntimeAgentState> state = runtime_->Activate(req);
  std::lock_guard lock(mu_);
  auto it = slots_.find(id);
  if (!state.ok()) {
    if (it != slots_.end()) (void)it->second->lifecycle.Fail(app_.clock().NowMillis());
    LogEvent("agent_activation_failed", id, state.status().ToString());
    return state.status();
  }
  if (it != slots_.end()) {
    it->second->started = true;
    it->second->suspending = false;
  }
  LogEvent("agent_activating", id, state->instance_id);
  return Status();
}

Status Orchestrator::Suspend(const AgentRef& agent, std::string_view reason) {
  const std::string id = AgentIdOf(agent);
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(id);
    if (it != slots_.end()) {
      Slot& slot = *it->second;
      slot.lifecycle.Suspend(app_.clock().NowMillis());
      slot.endpoint.clear();
      if (slot.started) slot.suspending = true;
    }
  }
  Status s = runtime_->Suspend(id, reason);
  ClearCallback(agent);
  return s;
}

void Orchestrator::Deliver(const Message& message, const std::vector<std::string>& callsigns) {
  Store& store = app_.store();
  for (const std::string& callsign : callsigns) {
    if (callsign.empty()) continue;  // Cast's [""] leader of an empty roster (§8 #4)
    Result<RosterEntry> entry = store.GetRosterEntry(message.channel_id, callsign);
    if (!entry.ok()) {
      if (entry.status().code() != ErrorCode::kNotFound) LogError("deliver", entry.status());
      continue;
    }
    if (entry->status == "archived") continue;
    const UnixMillis now = app_.clock().NowMillis();
    PendingDelivery delivery;
    delivery.channel_id = message.channel_id;
    delivery.callsign = callsign;
    delivery.message_id = message.id;
    delivery.enqueued_at = now;
    if (Status s = store.EnqueuePending(delivery); !s.ok()) {
      LogError("queue message for agent", s);
      continue;
    }
    // Paused agents keep their messages for their next checkin but are never started (§5.9).
    if (entry->status == "paused") continue;
    AgentRef ref{message.space_id, message.channel_id, callsign};
    bool online = false;
    bool start = false;
    bool restart = false;
    {
      std::lock_guard lock(mu_);
      if (shutting_down_) return;
      Slot& slot = SlotLocked(ref, *entry);
      if (slot.lifecycle.IsOnline(now) && !slot.endpoint.empty()) {
        online = true;
      } else {
        ActivationState before = slot.lifecycle.state();
        start = slot.lifecycle.Activate(now) == ActivateOutcome::kStartRuntime;
        restart = before == ActivationState::kStale || before == ActivationState::kActive;
      }
    }
    if (online) {
      ScheduleDrain(AgentIdOf(ref));
      continue;
    }
    if (!start) continue;  // an activation is under way: its checkin takes the message
    Broadcast(ref, "connecting");
    RosterPatch patch;
    patch.last_message_routed_at = now;
    (void)store.UpdateRosterEntry(ref.channel_id, ref.callsign, patch);
    if (Status s = StartRuntime(ref, entry->agent_type, restart); !s.ok()) {
      Broadcast(ref, "offline");
    }
  }
}

// --- Container protocol --------------------------------------------------------------------

Result<CheckinOutcome> Orchestrator::Checkin(const AgentIdentity& agent,
                                             const std::string& endpoint,
                                             const Json& route_hints) {
  Store& store = app_.store();
  Result<RosterEntry> entry = store.GetRosterEntry(agent.channel_id, agent.callsign);
  if (!entry.ok()) {
    if (entry.status().code() == ErrorCode::kNotFound ||
        entry.status().code() == ErrorCode::kInvalidArgument) {
      return NotFound(std::string(kAgentNotFound));
    }
    return entry.status();
  }
  const UnixMillis now = app_.clock().NowMillis();
  RosterPatch patch;
  patch.callback_url = endpoint;
  patch.last_heartbeat = now;
  // Only truthy hints replace the stored ones (§5.4): null keeps what a runtime stored.
  if (IsTruthy(&route_hints)) patch.route_hints = route_hints;
  Result<RosterEntry> updated = store.UpdateRosterEntry(agent.channel_id, agent.callsign, patch);
  if (!updated.ok()) {
    if (updated.status().code() == ErrorCode::kNotFound) {
      return NotFound(std::string(kAgentNotFound));
    }
    return updated.status();
  }
  AgentRef ref{agent.space_id, agent.channel_id, agent.callsign};
  Broadcast(ref, "online", "lastHeartbeat", FormatIsoTimestamp(now));
  const std::string id = AgentIdOf(ref);
  // kConflict for an agent this runtime did not start (started by hand, or by an earlier
  // process): it is welcome all the same.
  (void)runtime_->Checkin(id, endpoint);
  {
    std::lock_guard lock(mu_);
    Slot& slot = SlotLocked(ref, *updated);
    (void)slot.lifecycle.Checkin(now);
    slot.endpoint = endpoint;
    slot.route_hints = updated->route_hints;
  }
  LogEvent("agent_checkin", id, endpoint);
  CheckinOutcome out;
  out.delivered = Drain(id, DrainMode::kCheckin);
  return out;
}

Result<UnixMillis> Orchestrator::Heartbeat(const AgentIdentity& agent) {
  Store& store = app_.store();
  const UnixMillis now = app_.clock().NowMillis();
  RosterPatch patch;
  patch.last_heartbeat = now;
  Result<RosterEntry> updated = store.UpdateRosterEntry(agent.channel_id, agent.callsign, patch);
  if (!updated.ok()) {
    if (updated.status().code() == ErrorCode::kNotFound ||
        updated.status().code() == ErrorCode::kInvalidArgument) {
      return NotFound(std::string(kAgentNotFound));
    }
    return updated.status();
  }
  AgentRef ref{agent.space_id, agent.channel_id, agent.callsign};
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(AgentIdOf(ref));
    // kConflict when the agent never checked in with this process, or was stopped since: the
    // stored heartbeat is all there is to update then.
    if (it != slots_.end()) (void)it->second->lifecycle.Heartbeat(now);
  }
  if (updated->status != "paused" && updated->status != "archived") {
    Broadcast(ref, "online", "lastHeartbeat", FormatIsoTimestamp(now));
  }
  return now;
}

// --- Delivery ------------------------------------------------------------------------------

void Orchestrator::ScheduleDrain(const std::string& agent_id) {
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(agent_id);
    if (it == slots_.end() || it->second->drain_queued) return;
    it->second->drain_queued = true;
  }
  PostToPool([this, agent_id] { (void)Drain(agent_id, DrainMode::kDirect); });
}

int Orchestrator::Drain(const std::string& agent_id, DrainMode mode) {
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
  AgentRef ref;
  {
    std::lock_guard lock(mu_);
    slot->drain_queued = false;
    endpoint = slot->endpoint;
    hints = slot->route_hints;
    ref = slot->ref;
  }
  if (endpoint.empty()) return 0;
  Store& store = app_.store();
  int delivered = 0;
  bool more = false;
  for (int round = 0; round < 64; ++round) {
    Result<std::vector<PendingDelivery>> pending =
        store.TakePending(ref.channel_id, ref.callsign, kDrainBatch);
    if (!pending.ok()) {
      if (pending.status().code() != ErrorCode::kNotFound) LogError("take pending", pending.status());
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
        LogError("read pending message", m.status());
      }
    }
    if (!gone.empty()) (void)store.AckPending(ref.channel_id, ref.callsign, gone);
    if (messages.empty()) {
      if (gone.empty()) break;
      continue;
    }
    auto acknowledge = [&](std::size_t first, std::size_t count) {
      std::vector<std::string> ids;
      for (std::size_t i = first; i < first + count; ++i) ids.push_back(messages[i].id);
      if (Status s = store.AckPending(ref.channel_id, ref.callsign, ids); !s.ok()) {
        LogError("acknowledge delivery", s);
      }
      const UnixMillis now = app_.clock().NowMillis();
      RosterPatch patch;
      patch.readmark = ids.back();
      patch.last_message_routed_at = now;
      (void)store.UpdateRosterEntry(ref.channel_id, ref.callsign, patch);
      Broadcast(ref, "pending", "lastMessageRoutedAt", FormatIsoTimestamp(now));
      delivered += static_cast<int>(count);
    };
    if (mode == DrainMode::kCheckin) {
      // §5.4: the whole backlog as one message.
      Result<Channel> channel = store.GetChannel(ref.channel_id);
      const std::string name = channel.ok() ? channel->name : ref.channel_id;
      std::string content;
      for (const Message& m : messages) {
        if (!content.empty()) content += "\n\n";
        content += "--- @" + m.sender + " in #" + name + " says:\n" + PushText(m);
      }
      if (Status s = Push(agent_id, endpoint, hints, content); !s.ok()) {
        // Cast logs it and answers delivered 0; the messages stay queued.
        LogError("push pending messages at checkin", s);
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
        LogError("push message to agent", s);
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

Status Orchestrator::Push(const std::string& agent_id, const std::string& endpoint,
                          const Json& route_hints, const std::string& content) {
  std::string_view base = endpoint;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  HttpRequest req;
  req.method = "POST";
  req.url = std::string(base) + "/message";
  req.timeout = app_.config().agent_push_timeout;
  req.connect_timeout = std::chrono::milliseconds(2'000);
  req.max_response_bytes = 64 * 1024;
  Result<AgentIdentity> identity = ParseAgentId(agent_id);
  if (!identity.ok()) return identity.status();
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("Authorization", "Bearer " + app_.ContainerToken(*identity));
  if (route_hints.is_object()) {
    for (const JsonMember& hint : route_hints.as_object()) {
      if (hint.value.is_string()) req.headers.emplace_back(hint.key, hint.value.as_string());
    }
  }
  JsonWriter(&req.body)
      .BeginObject()
      .Field("content", content)
      .Field("agentId", agent_id)
      .EndObject();
  Result<HttpResponse> r = ThreadClient().Send(req);
  if (!r.ok()) return r.status();
  if (r->status < 200 || r->status >= 300) {
    return Unavailable("agent \"" + agent_id + "\" answered HTTP " + std::to_string(r->status));
  }
  return Status();
}

void Orchestrator::PushFailed(const std::string& agent_id) {
  // §3.4 step 3: the container is gone. Clear its callback (§8 #1 fixed), say connecting,
  // start a new one; the message stays queued for its checkin.
  AgentRef ref;
  std::string type;
  bool start = false;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(agent_id);
    if (it == slots_.end() || shutting_down_) return;
    Slot& slot = *it->second;
    const UnixMillis now = app_.clock().NowMillis();
    (void)slot.lifecycle.Fail(now);
    slot.endpoint.clear();
    start = slot.lifecycle.Activate(now) == ActivateOutcome::kStartRuntime;
    ref = slot.ref;
    type = slot.agent_type;
  }
  ClearCallback(ref);
  Broadcast(ref, "connecting");
  if (start) {
    if (Status s = StartRuntime(ref, type, /*restart=*/true); !s.ok()) Broadcast(ref, "offline");
  }
}

// --- Runtime events and timeouts -----------------------------------------------------------

void Orchestrator::OnAgentEvent(const AgentEvent& event) {
  if (event.kind != AgentEventKind::kFailed && event.kind != AgentEventKind::kOffline) return;
  std::lock_guard gate(events_mu_);
  if (events_closed_) return;  // the orchestrator is going away
  // An exit of an older instance after a newer one started is no news about the new one.
  std::optional<RuntimeAgentState> now_state = runtime_->GetState(event.agent_id);
  if (now_state && (now_state->status == AgentStatus::kActivating ||
                    now_state->status == AgentStatus::kOnline)) {
    return;
  }
  AgentRef ref;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(event.agent_id);
    if (it == slots_.end()) return;
    Slot& slot = *it->second;
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
    const UnixMillis now = app_.clock().NowMillis();
    if (event.kind == AgentEventKind::kFailed) {
      (void)slot.lifecycle.Fail(now);
    } else {
      slot.lifecycle.Suspend(now);
    }
    slot.endpoint.clear();
    ref = slot.ref;
  }
  LogEvent(event.kind == AgentEventKind::kFailed ? "agent_failed" : "agent_exited",
           event.agent_id, event.reason);
  PostToPool([this, ref] {
    ClearCallback(ref);
    Broadcast(ref, "offline");
  });
}

void Orchestrator::SweepLoop() {
  pthread_setname_np(pthread_self(), "agentcore-sweep");
  const auto interval = app_.config().agent_sweep_interval;
  const auto removal_interval = std::max<std::chrono::milliseconds>(
      interval, std::chrono::milliseconds(500));
  auto last_removal_check = std::chrono::steady_clock::now();
  std::unique_lock lock(sweep_mu_);
  while (!sweep_stop_) {
    sweep_cv_.wait_for(lock, interval, [this] { return sweep_stop_; });
    if (sweep_stop_) break;
    lock.unlock();
    SweepOnce();
    if (std::chrono::steady_clock::now() - last_removal_check >= removal_interval) {
      CheckRemoved();
      last_removal_check = std::chrono::steady_clock::now();
    }
    lock.lock();
  }
}

void Orchestrator::SweepOnce() {
  std::vector<std::pair<AgentRef, AgentTimeout>> fired;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    const UnixMillis now = app_.clock().NowMillis();
    for (auto& [id, slot] : slots_) {
      AgentTimeout t = slot->lifecycle.Sweep(now);
      if (t == AgentTimeout::kNone) continue;
      if (t == AgentTimeout::kActivationTimeout) {
        slot->endpoint.clear();
        if (slot->started) slot->suspending = true;
      }
      fired.emplace_back(slot->ref, t);
    }
  }
  for (const auto& item : fired) {
    const AgentRef& ref = item.first;  // not a structured binding: clang 14 cannot capture one
    const AgentTimeout timeout = item.second;
    if (timeout == AgentTimeout::kActivationTimeout) {
      // §5.7: no checkin in time. Stop it, mark it failed (done by Sweep), keep its queue.
      PostToPool([this, ref] {
        const std::string id = AgentIdOf(ref);
        LogEvent("agent_activation_timeout", id);
        if (Status s = runtime_->Suspend(id, "activation timeout"); !s.ok()) {
          LogError("stop agent after activation timeout", s);
        }
        ClearCallback(ref);
        Broadcast(ref, "offline");
      });
    } else {
      // Silent for longer than the staleness: offline until a heartbeat, and the next
      // message re-activates it.
      PostToPool([this, ref] {
        LogEvent("agent_stale", AgentIdOf(ref));
        Broadcast(ref, "offline");
      });
    }
  }
}

void Orchestrator::CheckRemoved() {
  if (removal_check_running_.exchange(true)) return;
  std::vector<RuntimeAgentState> running = runtime_->ListAgents();
  if (running.empty()) {
    removal_check_running_ = false;
    return;
  }
  PostToPool([this, running = std::move(running)] {
    for (const RuntimeAgentState& agent : running) {
      Result<AgentIdentity> id = ParseAgentId(agent.agent_id);
      if (!id.ok()) continue;
      Result<RosterEntry> entry = app_.store().GetRosterEntry(id->channel_id, id->callsign);
      bool removed = !entry.ok() && entry.status().code() == ErrorCode::kNotFound;
      if (removed || (entry.ok() && entry->status == "archived")) {
        LogEvent("agent_removed", agent.agent_id);
        (void)Suspend(AgentRef{id->space_id, id->channel_id, id->callsign}, "removed");
      }
    }
    removal_check_running_ = false;
  });
}

// --- Small helpers -------------------------------------------------------------------------

void Orchestrator::ClearCallback(const AgentRef& agent) {
  RosterPatch patch;
  patch.clear_callback_url = true;
  Result<RosterEntry> r = app_.store().UpdateRosterEntry(agent.channel_id, agent.callsign, patch);
  if (!r.ok() && r.status().code() != ErrorCode::kNotFound) LogError("clear callback url", r.status());
}

void Orchestrator::Broadcast(const AgentRef& agent, std::string_view state,
                             std::string_view timestamp_key, std::string_view timestamp) {
  app_.Publish(agent.channel_id, "",
               AgentStateFrameLine(app_.NewId(), FormatIsoTimestamp(app_.clock().NowMillis()),
                                   agent.channel_id, agent.callsign, state, timestamp_key,
                                   timestamp));
}

void Orchestrator::PostToPool(std::function<void()> fn) {
  asio::post(app_.blocking_pool(), std::move(fn));
}

std::string Orchestrator::ApiUrl() const {
  const std::string& url = app_.config().public_url;
  if (!url.empty() && !url.ends_with(":0")) return url;
  return "http://127.0.0.1:" + std::to_string(app_.port());
}

}  // namespace agentcore::server
