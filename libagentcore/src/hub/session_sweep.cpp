// SPDX-License-Identifier: Apache-2.0
// The session service's time and lifetime rules (docs/sessions.md "Model"): Start() after a
// restart, Sweep(now) from the hub's timer (dead processes, startup timeouts, idle and hard
// timeouts), Close() at shutdown.

#include <thread>
#include <utility>

#include <fmt/format.h>

#include "sessions_internal.hpp"

namespace agentcore::hub_internal {

namespace {

bool IsLive(SessionState s) { return s == SessionState::kCreating || s == SessionState::kRunning; }

/// Stops at most this many sessions at once at Close (one thread each).
constexpr std::size_t kParallelStops = 32;

}  // namespace

Status SessionServiceImpl::Start() {
  // Pipes cannot be adopted: what an earlier process of this instance left is killed, and its
  // sessions fail (a resume starts them again).
  for (SessionRuntime* runtime : {options_.sandbox.get(), options_.containers.get()}) {
    if (runtime != nullptr) (void)runtime->ReapOrphans(options_.instance);
  }
  SessionFilter filter;
  filter.instance = options_.instance;
  filter.states = {SessionState::kCreating, SessionState::kRunning};
  ClusterLink* link = hub_.cluster_link();
  for (;;) {
    AGENTCORE_ASSIGN_OR_RETURN(std::vector<Session> left, hub_.store().FindSessions(filter));
    // Clustered: nodes may share an instance label (one data directory path in every
    // container); a session another live node holds is that node's.
    if (link != nullptr) {
      std::erase_if(left, [&](const Session& s) { return !RunsElsewhere(s).empty(); });
    }
    if (left.empty()) return Status();
    for (Session& s : left) {
      std::shared_ptr<LiveSession> live = LiveFor(s);
      std::lock_guard op(live->op_mu);
      AGENTCORE_RETURN_IF_ERROR(
          Transition(*live, std::move(s), SessionEvent::kFail, "server restarted").status());
    }
  }
}

std::string SessionServiceImpl::RunsElsewhere(const Session& session) {
  ClusterLink* link = hub_.cluster_link();
  if (link == nullptr || !IsLive(session.state)) return {};
  const std::string key = SessionLeaseKey(session.id);
  if (link->Holds(key)) return {};
  std::optional<Lease> lease = link->Holder(key);
  if (!lease || lease->owner == link->node_id() || lease->expires_at <= Now()) return {};
  return lease->owner;
}

void SessionServiceImpl::TakeOverExpired() {
  ClusterLink* link = hub_.cluster_link();
  if (link == nullptr || link->draining()) return;
  for (const Lease& lease : link->ListExpired("session:", 100)) {
    if (!link->HoldOrTake(lease.key)) continue;  // another node was faster
    const std::string id = lease.key.substr(8);
    Result<Session> s = hub_.store().GetSession(id);
    if (s && IsLive(s->state)) {
      std::shared_ptr<LiveSession> live = LiveFor(*s);
      std::lock_guard op(live->op_mu);
      if (live->process != nullptr) continue;  // ours after all (a renewal was late): kept
      // Its node is gone, and with it a sandbox child; a container of the shared engine
      // is not adopted yet (docs/cluster.md): failed, and a resume starts it here.
      (void)Transition(*live, *std::move(s), SessionEvent::kFail, "its server stopped");
    }
    link->Release(lease.key);
  }
}

void SessionServiceImpl::Sweep(UnixMillis now) {
  std::vector<std::shared_ptr<LiveSession>> lives;
  bool take_over = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (ClusterLink* link = hub_.cluster_link();
        link != nullptr && now - last_takeover_ >= link->options().lease.count() / 3) {
      last_takeover_ = now;
      take_over = true;
    }
    lives.reserve(live_.size());
    for (const auto& [id, live] : live_) lives.push_back(live);
  }
  for (const std::shared_ptr<LiveSession>& live : lives) {
    live->DropStalled(now);
    SessionState state;
    UnixMillis since = 0;
    UnixMillis activity = 0;
    UnixMillis started = 0;
    std::size_t attached = 0;
    {
      std::lock_guard lock(live->mu);
      state = live->state;
      since = live->state_since;
      activity = live->last_activity;
      started = live->started_at;
      for (const auto& q : live->attachments) attached += (q->dropped || q->ended) ? 0 : 1;
    }
    if (!IsLive(state)) continue;
    // Busy with a start or a stop: the next sweep looks again.
    std::unique_lock op(live->op_mu, std::try_to_lock);
    if (!op.owns_lock()) continue;
    Result<Session> s = hub_.store().GetSession(live->id);
    if (!s || !IsLive(s->state) || s->instance != options_.instance) continue;
    Result<Session> now_state = Reconcile(*live, *std::move(s));
    if (!now_state) continue;
    Session& cur = *now_state;
    if (cur.state == SessionState::kCreating && now - since > options_.startup_timeout.count()) {
      StopProcess(*live, std::chrono::milliseconds(0));
      (void)Transition(*live, std::move(cur), SessionEvent::kFail,
                       fmt::format("startup timeout: not running after {} ms",
                                   options_.startup_timeout.count()));
      continue;
    }
    if (cur.state != SessionState::kRunning) continue;
    std::string reason;
    const std::int64_t hard = live->resources.timeout_ms;
    if (hard > 0 && started > 0 && now - started > hard) {
      reason = fmt::format("timeout: ran longer than resources.timeoutMs ({} ms)", hard);
    } else if (options_.idle_timeout.count() > 0 && attached == 0 &&
               now - activity > options_.idle_timeout.count()) {
      reason = fmt::format("idle timeout: no client, output or call for {} ms",
                           options_.idle_timeout.count());
    }
    if (reason.empty()) continue;
    live->stop_reason = reason;
    StopProcess(*live, options_.stop_grace);
    std::optional<int> code;
    {
      std::lock_guard lock(live->mu);
      code = live->last_exit_code;
    }
    (void)Transition(*live, std::move(cur), SessionEvent::kStop, std::move(reason), code);
  }
  if (take_over) TakeOverExpired();
}

void SessionServiceImpl::Close() {
  std::vector<std::shared_ptr<LiveSession>> lives;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    for (const auto& [id, live] : live_) lives.push_back(live);
  }
  // Each stop may take stop_grace: in parallel, so the whole shutdown takes about one grace.
  auto stop_one = [this](LiveSession* live) {
    std::lock_guard op(live->op_mu);
    if (live->process == nullptr) return;
    live->stop_reason = "server shutdown";
    StopProcess(*live, options_.stop_grace);
    Result<Session> s = hub_.store().GetSession(live->id);
    if (!s || !IsLive(s->state)) return;
    std::optional<int> code;
    {
      std::lock_guard lock(live->mu);
      code = live->last_exit_code;
    }
    (void)Transition(*live, *std::move(s), SessionEvent::kStop, "server shutdown", code);
  };
  for (std::size_t i = 0; i < lives.size(); i += kParallelStops) {
    std::vector<std::thread> threads;
    for (std::size_t j = i; j < lives.size() && j < i + kParallelStops; ++j) {
      threads.emplace_back(stop_one, lives[j].get());
    }
    for (std::thread& t : threads) t.join();
  }
}

}  // namespace agentcore::hub_internal
