// SPDX-License-Identifier: Apache-2.0
// The run service's worker: claims from the store's queue, the two phases as turns of the
// project's builder, the tap that turns its frames into run events, failures and retries, the
// sweeper (timeouts, dead builders, leases, stale runs) and webhook delivery.

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/parser.hpp>
#include <agentcore/workspace/git.hpp>
#include <agentcore/workspace/webhook.hpp>

#include "runs_internal.hpp"

namespace agentcore::hub_internal {

/// A run this worker drives. Created by Begin, detached (removed from the maps) by whoever
/// ends it: the phase's end, a failure, a timeout, a cancel. Only the detacher writes its end.
struct RunServiceImpl::ActiveRun {
  std::string id;
  std::string channel_id;
  std::string space_id;
  std::string project_id;
  AgentIdentity builder;
  std::string prompt;
  std::string workspace;
  Json input;
  Json conversation;
  int max_attempts = 1;

  std::mutex mu;  // guards what follows
  RunState state = RunState::kPlanning;
  std::uint32_t attempt = 0;
  UnixMillis phase_started_at = 0;
  UnixMillis deadline = 0;
  Json plan = nullptr;
  std::set<std::string> token_messages;
  std::string provider, model;
  std::int64_t input_tokens = 0, output_tokens = 0;
  std::string final_message;
  std::deque<std::string> lines;  // published lines waiting for Drain
  bool draining = false;
  std::condition_variable drained;  // Drain finished what was queued
  bool detached = false;
};

namespace {

constexpr std::size_t kMaxQueuedLines = 100'000;  // a builder flooding faster than we store
constexpr std::size_t kMaxTokenMessages = 10'000;
constexpr UnixMillis kStaleEvery = 5'000;
constexpr UnixMillis kClaimEvery = 500;
constexpr UnixMillis kWebhooksEvery = 1'000;
constexpr std::chrono::milliseconds kTaskDrainWait{2'000};

std::string_view PhaseName(RunState state) {
  return state == RunState::kBuilding ? "build" : "plan";
}

std::string FirstLine(std::string_view text, std::size_t max) {
  std::string_view line = text.substr(0, text.find('\n'));
  if (line.size() > max) return std::string(line.substr(0, max)) + "…";
  return std::string(line);
}

std::string ProjectIdOf(const Run& run) {
  const std::string* id = run.input.FindString("projectId");
  return id != nullptr ? *id : std::string();
}

}  // namespace

Json RunServiceImpl::PhaseEvent(std::string_view status, Json extra) {
  Json data = extra.is_object() ? std::move(extra) : Json::Object();
  data.Set("status", status);
  return data;
}

// --- Claims -----------------------------------------------------------------------------------

void RunServiceImpl::Pump() {
  if (!started_.load() || closed_.load() || options_.max_concurrent_runs == 0) return;
  {
    std::lock_guard lock(mu_);
    if (pumping_) {
      pump_again_ = true;
      return;
    }
    pumping_ = true;
  }
  hub_.Post([this] { PumpLoop(); });
}

void RunServiceImpl::PumpLoop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      pump_again_ = false;
      if (closed_.load() || active_.size() >= options_.max_concurrent_runs) {
        pumping_ = false;
        return;
      }
    }
    const UnixMillis now = hub_.clock().NowMillis();
    RunClaim claim{worker_id_, now, now + options_.policy.lease.count()};
    Result<std::optional<Run>> claimed = hub_.store().ClaimRun(claim);
    if (!claimed.ok() || !claimed->has_value()) {
      std::lock_guard lock(mu_);
      if (pump_again_ && claimed.ok()) continue;
      pumping_ = false;
      return;
    }
    Begin(std::move(**claimed));
  }
}

Json RunServiceImpl::Conversation(const Run& run) {
  // The project's earlier turns that succeeded, oldest first: the prompts and final answers.
  // Cancelled and failed runs are not part of it (their partial output is dropped).
  RunFilter filter;
  filter.project_id = run.project_id;
  filter.states = {RunState::kSucceeded};
  filter.limit = 20;
  Json turns = Json::Array();
  Result<std::vector<Run>> earlier = hub_.store().ListRuns(filter);
  if (!earlier.ok()) return turns;
  for (auto it = earlier->rbegin(); it != earlier->rend(); ++it) {
    if (it->created_at > run.created_at || it->id == run.id) continue;
    for (auto [role, text] :
         {std::pair{"user", it->input.FindString("prompt")},
          std::pair{"assistant", it->result.is_object() ? it->result.FindString("finalMessage")
                                                        : nullptr}}) {
      if (text == nullptr || text->empty()) continue;
      Json turn = Json::Object();
      turn.Set("role", role);
      turn.Set("content", text->substr(0, 16 * 1024));
      turns.as_array().push_back(std::move(turn));
    }
  }
  return turns;
}

std::shared_ptr<RunServiceImpl::ActiveRun> RunServiceImpl::NewActiveRun(const Run& run) {
  auto a = std::make_shared<ActiveRun>();
  a->id = run.id;
  a->channel_id = run.project_id;
  const std::string* space = run.input.FindString("spaceId");
  a->space_id = space != nullptr ? *space : std::string();
  a->project_id = ProjectIdOf(run);
  a->builder = AgentIdentity{a->space_id, a->channel_id, options_.builder_callsign};
  const std::string* prompt = run.input.FindString("prompt");
  a->prompt = prompt != nullptr ? *prompt : std::string();
  a->workspace = WorkspaceDir(a->space_id, a->project_id);
  a->input = run.input;
  const Json* max = run.input.Find("maxAttempts");
  a->max_attempts = max != nullptr && max->is_number() ? static_cast<int>(max->as_number())
                                                       : options_.policy.max_attempts;
  a->conversation = Conversation(run);
  a->attempt = run.attempts;
  a->phase_started_at = hub_.clock().NowMillis();
  a->deadline = a->phase_started_at + options_.plan_timeout.count();
  return a;
}

void RunServiceImpl::Begin(Run run) {
  std::shared_ptr<ActiveRun> a = NewActiveRun(run);
  std::error_code ec;
  std::filesystem::create_directories(a->workspace, ec);
  {
    std::lock_guard lock(mu_);
    active_[a->id] = a;
    by_channel_[a->channel_id] = a;
    idle_.erase(a->channel_id);
    active_count_.store(active_.size());
  }
  // Started (or found running) before the run says it plans: a space at its cap of running
  // agents gets the run back in the queue, its attempt unused.
  Status activated = hub_.agents().Activate(a->builder);
  if (activated.code() == ErrorCode::kRateLimited) return Postpone(a, activated.message());
  Json data = Json::Object();
  data.Set("attempt", static_cast<std::int64_t>(a->attempt));
  (void)Emit(a->id, "status", PhaseEvent("planning", std::move(data)));
  if (!activated.ok()) {
    return FailAttempt(a, "could not start the builder: " + activated.message(), true, false);
  }
  if (Status posted = PostTask(*a); !posted.ok()) {
    FailAttempt(a, "could not hand the task to the builder: " + posted.message(), true, false);
  }
}

Status RunServiceImpl::PostTask(ActiveRun& run) {
  // The task message is the builder's doorbell (delivery activates it when it is not running)
  // and the channel's record of the turn; the task itself is read with GET /agents/task.
  std::string phase;
  std::uint32_t attempt = 0;
  {
    std::lock_guard lock(run.mu);
    phase = std::string(PhaseName(run.state));
    attempt = run.attempt;
  }
  Principal system;
  system.kind = Principal::Kind::kApiKey;
  system.space_id = run.space_id;
  Json body = Json::Object();
  body.Set("sender", "runs");
  body.Set("senderType", "user");
  body.Set("content", "@" + options_.builder_callsign + " run " + run.id + " " + phase +
                          " (attempt " + std::to_string(attempt) + "): " +
                          FirstLine(run.prompt, 200));
  Result<PostedMessage> posted =
      hub_.channels().PostMessage(system, run.channel_id, std::move(body));
  return posted.ok() ? Status() : posted.status();
}

Result<std::optional<Json>> RunServiceImpl::TaskFor(const AgentIdentity& agent) {
  if (agent.callsign != options_.builder_callsign) return std::optional<Json>();
  auto current = [&]() -> std::shared_ptr<ActiveRun> {
    std::lock_guard lock(mu_);
    auto it = by_channel_.find(agent.channel_id);
    return it != by_channel_.end() && it->second->space_id == agent.space_id ? it->second
                                                                             : nullptr;
  };
  std::shared_ptr<ActiveRun> run = current();
  if (run == nullptr) return StoredTaskFor(agent);
  {
    // A builder asks right after its phase's frames were answered: their events may still be
    // draining, and the phase's end with them. Waiting for that (briefly) hands out the next
    // phase now rather than the finished one, which would leave the builder idle until the
    // next doorbell.
    std::unique_lock lock(run->mu);
    run->drained.wait_for(lock, kTaskDrainWait, [&] {
      return run->detached || (!run->draining && run->lines.empty());
    });
  }
  run = current();  // the run may have ended, and the next one begun
  if (run == nullptr) return std::optional<Json>();
  return std::optional<Json>(TaskOf(*run));
}

Result<std::optional<Json>> RunServiceImpl::StoredTaskFor(const AgentIdentity& agent) {
  // The run's worker may be another node: the builder's requests land wherever its API URL
  // leads (a load balancer, or the node that started it while another node's worker claimed
  // the run). Its frames reach the worker through the cluster's fan-out; the task is read
  // from the store here. One node: the worker is this process, and no run means no task.
  if (!hub_.clustered()) return std::optional<Json>();
  RunFilter filter;
  filter.project_id = agent.channel_id;
  filter.states = {RunState::kPlanning, RunState::kBuilding};
  filter.limit = 1;
  Result<std::vector<Run>> runs = hub_.store().ListRuns(filter);
  if (!runs.ok()) return runs.status();
  if (runs->empty()) return std::optional<Json>();
  const Run& stored = runs->front();
  const std::string* space = stored.input.FindString("spaceId");
  if (space == nullptr || *space != agent.space_id) return std::optional<Json>();
  std::shared_ptr<ActiveRun> view = NewActiveRun(stored);
  // The phase began when the run entered its state (updated_at); the plan of a building run
  // is in its result (EndPhase stores it with the transition).
  view->state = stored.state;
  view->phase_started_at = stored.updated_at;
  if (stored.state == RunState::kBuilding) {
    view->deadline = stored.updated_at + options_.build_timeout.count();
    if (const Json* plan = stored.result.is_object() ? stored.result.Find("plan") : nullptr) {
      view->plan = *plan;
    }
  } else {
    view->deadline = stored.updated_at + options_.plan_timeout.count();
  }
  // The workspace is this node's (runs.cpp): the builder answering here writes on this
  // node's machine.
  std::error_code ec;
  std::filesystem::create_directories(view->workspace, ec);
  return std::optional<Json>(TaskOf(*view));
}

Json RunServiceImpl::TaskOf(ActiveRun& run) {
  std::lock_guard lock(run.mu);
  Json task = Json::Object();
  task.Set("runId", run.id);
  task.Set("phase", PhaseName(run.state));
  task.Set("attempt", static_cast<std::int64_t>(run.attempt));
  task.Set("prompt", run.prompt);
  task.Set("workspace", std::filesystem::absolute(run.workspace).lexically_normal().string());
  task.Set("readOnly", run.state != RunState::kBuilding);
  task.Set("plan", run.state == RunState::kBuilding ? run.plan : Json(nullptr));
  task.Set("conversation", run.conversation);
  const UnixMillis now = hub_.clock().NowMillis();
  task.Set("deadlineMs", static_cast<std::int64_t>(std::max<UnixMillis>(run.deadline - now, 0)));
  return task;
}

// --- The tap ----------------------------------------------------------------------------------

void RunServiceImpl::OnLines(std::string_view channel_id,
                             std::span<const PublishedLine> lines) {
  // Called where the channel's lines are published (possibly the store's writer thread): only
  // queue them; Drain parses and stores on the executor, one drain per run at a time.
  std::shared_ptr<ActiveRun> run;
  {
    std::lock_guard lock(mu_);
    auto it = by_channel_.find(std::string(channel_id));
    if (it == by_channel_.end()) return;
    run = it->second;
  }
  bool start = false;
  {
    std::lock_guard lock(run->mu);
    for (const PublishedLine& line : lines) {
      if (run->lines.size() >= kMaxQueuedLines) break;  // dropped lines are a view's loss only
      run->lines.emplace_back(line.line);
    }
    start = !run->draining && !run->lines.empty();
    if (start) run->draining = true;
  }
  if (start) hub_.Post([this, run] { Drain(run); });
}

void RunServiceImpl::Drain(const std::shared_ptr<ActiveRun>& run) {
  // The events of one batch of lines are stored together (one transaction on SQLite); a
  // phase's end first stores what came before it.
  std::vector<std::pair<std::string, Json>> events;
  for (;;) {
    std::deque<std::string> batch;
    {
      std::lock_guard lock(run->mu);
      if (run->lines.empty() || run->detached) {
        run->lines.clear();
        run->draining = false;
        run->drained.notify_all();
        break;
      }
      batch.swap(run->lines);
    }
    for (const std::string& line : batch) {
      Result<TymbalFrame> frame = ParseFrame(line);
      if (!frame.ok()) continue;
      std::optional<FrameOutcome> ended = Handle(run, *frame, &events);
      if (!ended) continue;
      EmitAll(run->id, std::move(events));
      events.clear();
      EndPhase(run, *ended);
    }
    EmitAll(run->id, std::move(events));
    events.clear();
  }
}

std::optional<FrameOutcome> RunServiceImpl::Handle(
    const std::shared_ptr<ActiveRun>& run, const TymbalFrame& frame,
    std::vector<std::pair<std::string, Json>>* events) {
  FrameOutcome outcome;
  {
    std::lock_guard lock(run->mu);
    if (run->detached) return std::nullopt;
    outcome = RunFrameOutcome(frame, run->id, PhaseName(run->state), run->token_messages);
    switch (outcome.kind) {
      case FrameOutcome::Kind::kNone:
        return std::nullopt;
      case FrameOutcome::Kind::kTokenStart:
        if (run->token_messages.size() < kMaxTokenMessages) {
          run->token_messages.insert(outcome.message_id);
        }
        return std::nullopt;
      case FrameOutcome::Kind::kUsage:
        if (!outcome.provider.empty()) run->provider = outcome.provider;
        if (!outcome.model.empty()) run->model = outcome.model;
        run->input_tokens += outcome.input_tokens;
        run->output_tokens += outcome.output_tokens;
        break;
      case FrameOutcome::Kind::kPlan:
        run->plan = outcome.plan;
        break;
      case FrameOutcome::Kind::kEvent:
        if (const std::string* status = outcome.data.FindString("status");
            status != nullptr && *status == "message") {
          const std::string* content = outcome.data.FindString("content");
          if (content != nullptr) run->final_message = *content;
        }
        break;
      case FrameOutcome::Kind::kResult:
        return outcome;
    }
  }
  events->emplace_back(std::move(outcome.type), std::move(outcome.data));
  return std::nullopt;
}

// --- Phases and endings -----------------------------------------------------------------------

std::shared_ptr<RunServiceImpl::ActiveRun> RunServiceImpl::Detach(const std::string& run_id) {
  std::shared_ptr<ActiveRun> run;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(run_id);
    if (it == active_.end()) return nullptr;
    run = it->second;
    active_.erase(it);
    auto ch = by_channel_.find(run->channel_id);
    if (ch != by_channel_.end() && ch->second == run) {
      by_channel_.erase(ch);
      idle_[run->channel_id] = IdleBuilder{run->builder, hub_.clock().NowMillis()};
    }
    active_count_.store(active_.size());
  }
  std::lock_guard lock(run->mu);
  run->detached = true;
  return run;
}

void RunServiceImpl::StopBuilder(const ActiveRun& run, std::string_view reason) {
  (void)hub_.agents().Suspend(run.builder, reason);
}

void RunServiceImpl::EndPhase(const std::shared_ptr<ActiveRun>& run,
                              const FrameOutcome& outcome) {
  if (!outcome.ok) return FailAttempt(run, outcome.error, outcome.retryable, false);
  RunState state;
  Json plan;
  {
    std::lock_guard lock(run->mu);
    state = run->state;
    plan = run->plan;
  }
  if (state == RunState::kBuilding) return Succeed(run, outcome.summary);
  if (!plan.is_object()) {
    return FailAttempt(run, "the plan phase ended without a plan frame", true, false);
  }
  const UnixMillis now = hub_.clock().NowMillis();
  RunUpdate update;
  Json result = Json::Object();
  result.Set("plan", plan);
  update.result = std::move(result);
  update.lease_expires_at = std::optional<UnixMillis>(now + options_.policy.lease.count());
  Result<Run> building =
      hub_.store().TransitionRun(run->id, RunState::kPlanning, RunState::kBuilding, update);
  if (!building.ok()) {
    // Cancelled or taken over meanwhile (possibly by another server): whoever moved it ends
    // it; this worker lets go and stops its builder, which would go on working otherwise.
    if (Detach(run->id) != nullptr) StopBuilder(*run, "run taken away");
    return;
  }
  {
    std::lock_guard lock(run->mu);
    run->state = RunState::kBuilding;
    run->phase_started_at = now;
    run->deadline = now + options_.build_timeout.count();
    run->token_messages.clear();
  }
  (void)Emit(run->id, "status", PhaseEvent("building"));
  if (Status posted = PostTask(*run); !posted.ok()) {
    FailAttempt(run, "could not hand the task to the builder: " + posted.message(), true, false);
  }
}

void RunServiceImpl::Succeed(const std::shared_ptr<ActiveRun>& run, std::string summary) {
  if (Detach(run->id) == nullptr) return;
  Store& store = hub_.store();
  Json result = Json::Object();
  {
    std::lock_guard lock(run->mu);
    result.Set("plan", run->plan);
    Json usage = Json::Object();
    usage.Set("provider", run->provider.empty() ? Json(nullptr) : Json(run->provider));
    usage.Set("model", run->model.empty() ? Json(nullptr) : Json(run->model));
    usage.Set("inputTokens", run->input_tokens);
    usage.Set("outputTokens", run->output_tokens);
    result.Set("usage", std::move(usage));
    // The estimate needs a price row for exactly this provider and model; none: null.
    Json cost = nullptr;
    if (!run->provider.empty() && !run->model.empty()) {
      Result<ModelPrice> price = store.GetModelPrice(run->provider, run->model);
      if (price.ok()) {
        cost = (static_cast<double>(run->input_tokens) * price->input_usd_per_mtok +
                static_cast<double>(run->output_tokens) * price->output_usd_per_mtok) /
               1e6;
      }
    }
    result.Set("costUsd", std::move(cost));
    result.Set("finalMessage", run->final_message);
  }
  result.Set("summary", summary.empty() ? Json(nullptr) : Json(summary));
  result.Set("commit", nullptr);
  if (options_.auto_git_commit) {
    GitCommitOptions git;  // an identity left empty keeps git.hpp's default
    for (auto [from, to] : {std::pair{&options_.git_author_name, &git.author_name},
                            std::pair{&options_.git_author_email, &git.author_email},
                            std::pair{&options_.git_committer_name, &git.committer_name},
                            std::pair{&options_.git_committer_email, &git.committer_email}}) {
      if (!from->empty()) *to = *from;
    }
    git.message = "agentcore run " + run->id + ": " + FirstLine(run->prompt, 72);
    Result<std::optional<std::string>> commit = CommitWorkspace(run->workspace, git);
    if (commit.ok() && commit->has_value()) {
      result.Set("commit", **commit);
      Json data = Json::Object();
      data.Set("commit", **commit);
      (void)Emit(run->id, "status", PhaseEvent("committed", std::move(data)));
    } else if (!commit.ok()) {
      result.Set("commitError", commit.status().message());
    }
  }
  RunUpdate update;
  update.result = std::move(result);
  update.lease_expires_at = std::optional<UnixMillis>();
  Result<Run> done =
      store.TransitionRun(run->id, RunState::kBuilding, RunState::kSucceeded, update);
  if (done.ok()) {
    Json data = Json::Object();
    data.Set("status", "succeeded");
    data.Set("run", Envelope(*done));
    (void)Emit(run->id, "done", std::move(data));
    Finished(*done);
  }
  Pump();
}

void RunServiceImpl::FailAttempt(const std::shared_ptr<ActiveRun>& run, std::string error,
                                 bool retryable, bool stop_builder) {
  if (Detach(run->id) == nullptr) return;
  if (stop_builder) StopBuilder(*run, "run attempt failed");
  Result<Run> current = hub_.store().GetRun(run->id);
  if (current.ok() && !IsFinalRunState(current->state) && current->state != RunState::kQueued) {
    Run r = std::move(*current);
    if (!retryable) r.attempts = static_cast<std::uint32_t>(run->max_attempts);  // no retry
    Abandon(r, error);
  }
  Pump();
}

void RunServiceImpl::Postpone(const std::shared_ptr<ActiveRun>& run, std::string_view why) {
  if (Detach(run->id) == nullptr) return;
  RunUpdate update;
  update.attempts = run->attempt > 0 ? run->attempt - 1 : 0;
  update.lease_expires_at = std::optional<UnixMillis>();
  update.worker_id = std::string();
  update.available_at = hub_.clock().NowMillis() + options_.retry_base_delay.count();
  if (hub_.store().TransitionRun(run->id, RunState::kPlanning, RunState::kQueued, update).ok()) {
    Json data = Json::Object();
    data.Set("reason", why);
    (void)Emit(run->id, "status", PhaseEvent("queued", std::move(data)));
  }
}

void RunServiceImpl::StopIdleBuilders(UnixMillis now) {
  std::vector<AgentIdentity> stop;
  {
    std::lock_guard lock(mu_);
    for (auto it = idle_.begin(); it != idle_.end();) {
      if (now - it->second.since >= options_.builder_idle_timeout.count()) {
        stop.push_back(it->second.builder);
        it = idle_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (stop.empty()) return;
  hub_.Post([this, stop = std::move(stop)] {
    for (const AgentIdentity& builder : stop) {
      {
        std::lock_guard lock(mu_);
        if (by_channel_.count(builder.channel_id) != 0) continue;  // a run began meanwhile
      }
      (void)hub_.agents().Suspend(builder, "idle");
    }
  });
}

void RunServiceImpl::Abandon(const Run& run, std::string_view why) {
  const Json* max = run.input.Find("maxAttempts");
  const int max_attempts = max != nullptr && max->is_number()
                               ? static_cast<int>(max->as_number())
                               : options_.policy.max_attempts;
  const bool retry = static_cast<int>(run.attempts) < max_attempts;
  const UnixMillis now = hub_.clock().NowMillis();
  RunUpdate update;
  update.lease_expires_at = std::optional<UnixMillis>();
  update.worker_id = std::string();
  update.error = std::string(why);
  const std::chrono::milliseconds delay =
      RunRetryDelay(options_.retry_base_delay, options_.retry_max_delay, run.attempts);
  if (retry) update.available_at = now + delay.count();
  Result<Run> moved = hub_.store().TransitionRun(
      run.id, run.state, retry ? RunState::kQueued : RunState::kFailed, update);
  if (!moved.ok()) return;  // someone else moved it (cancel, another sweeper)
  Json failed = Json::Object();
  failed.Set("attempt", static_cast<std::int64_t>(run.attempts));
  failed.Set("error", why);
  (void)Emit(run.id, "status", PhaseEvent("attempt_failed", std::move(failed)));
  if (retry) {
    Json data = Json::Object();
    data.Set("attempt", static_cast<std::int64_t>(run.attempts + 1));
    data.Set("delayMs", static_cast<std::int64_t>(delay.count()));
    (void)Emit(run.id, "status", PhaseEvent("retrying", std::move(data)));
    return;
  }
  Json data = Json::Object();
  data.Set("error", "run_failed");
  data.Set("message", why);
  data.Set("run", Envelope(*moved));
  (void)Emit(run.id, "error", std::move(data));
  Finished(*moved);
}

void RunServiceImpl::Finished(const Run& run) {
  EnqueueWebhook(run);
  ReleaseFeed(run.id);
}

void RunServiceImpl::ReleaseFeed(const std::string& run_id) {
  std::lock_guard lock(mu_);
  auto it = feeds_.find(run_id);
  if (it != feeds_.end() && it->second.expired()) feeds_.erase(it);
}

// --- Webhooks ---------------------------------------------------------------------------------

void RunServiceImpl::EnqueueWebhook(const Run& run) {
  const std::string* url = run.input.FindString("webhookUrl");
  if (url == nullptr) return;
  Json body = Json::Object();
  const std::string event_id = run.id + "." + std::string(RunStateName(run.state));
  body.Set("id", event_id);
  body.Set("type", "run." + std::string(RunStateName(run.state)));
  body.Set("run", Envelope(run));
  WebhookDelivery delivery;
  delivery.id = event_id;
  delivery.run_id = run.id;
  delivery.url = *url;
  JsonWriter(&delivery.body).Value(body);
  delivery.next_attempt_at = hub_.clock().NowMillis();
  if (hub_.store().EnqueueWebhook(delivery).ok()) {
    hub_.Post([this] { DeliverWebhooks(hub_.clock().NowMillis()); });
  }
}

void RunServiceImpl::DeliverWebhooks(UnixMillis now) {
  if (closed_.load()) return;
  Result<std::vector<WebhookDelivery>> due = hub_.store().ListDueWebhooks(now, 16);
  if (!due.ok()) return;
  for (WebhookDelivery& d : *due) {
    {
      std::lock_guard lock(mu_);
      if (!webhooks_in_flight_.insert(d.id).second) continue;
    }
    hub_.Post([this, d = std::move(d)] {
      const UnixMillis at = hub_.clock().NowMillis();
      Status sent = PostWebhook(d.url, d.body, d.id,
                                WebhookSignatureHeader(webhook_secret_, at, d.body),
                                options_.webhook_timeout);
      WebhookUpdate update;
      update.attempts = d.attempts + 1;
      if (sent.ok()) {
        update.delivered_at = hub_.clock().NowMillis();
      } else {
        update.last_error = sent.message().substr(0, 500);
        update.gave_up = update.attempts >= kWebhookMaxAttempts;
        const std::uint64_t random = std::stoull(RandomHex(7), nullptr, 16);
        update.next_attempt_at = at + WebhookRetryDelay(update.attempts, random).count();
      }
      (void)hub_.store().UpdateWebhook(d.id, update);
      std::lock_guard lock(mu_);
      webhooks_in_flight_.erase(d.id);
    });
  }
}

// --- Time -------------------------------------------------------------------------------------

Status RunServiceImpl::EnsurePlatformSpace() {
  if (options_.agent_api_key.empty()) return Status();
  Space platform;
  platform.id = options_.platform_space_id;
  platform.name = "Platform Agent";
  return hub_.store().EnsureSpace(platform).status();
}

Status RunServiceImpl::Start() {
  if (started_.exchange(true)) return Status();
  Store& store = hub_.store();
  AGENTCORE_RETURN_IF_ERROR(EnsurePlatformSpace());
  // Runs that an earlier process of this instance held: it is gone (this process owns the data
  // directory), so they are requeued now rather than after their lease.
  RunFilter filter;
  filter.states = {RunState::kPlanning, RunState::kBuilding};
  filter.limit = 10'000;
  AGENTCORE_ASSIGN_OR_RETURN(std::vector<Run> held, store.ListRuns(filter));
  const std::string prefix = instance_ + "/";
  for (const Run& run : held) {
    if (run.worker_id.rfind(prefix, 0) == 0 && run.worker_id != worker_id_) {
      Abandon(run, "the server restarted during the run");
    }
  }
  Pump();
  return Status();
}

void RunServiceImpl::Close() {
  if (closed_.exchange(true)) return;
  // Hand back what this worker holds, so the next process (or another server) runs it without
  // waiting for the lease. The builders are stopped by the hub's close.
  std::vector<std::shared_ptr<ActiveRun>> runs;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, run] : active_) runs.push_back(run);
  }
  for (const std::shared_ptr<ActiveRun>& run : runs) {
    if (Detach(run->id) == nullptr) continue;
    Result<Run> current = hub_.store().GetRun(run->id);
    if (current.ok() && (current->state == RunState::kPlanning ||
                         current->state == RunState::kBuilding)) {
      Abandon(*current, "the server shut down during the run");
    }
  }
}

void RunServiceImpl::Sweep(UnixMillis now) {
  if (!started_.load() || closed_.load()) return;
  // Timeouts and dead builders of the runs this worker drives.
  std::vector<std::shared_ptr<ActiveRun>> runs;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, run] : active_) runs.push_back(run);
  }
  for (const std::shared_ptr<ActiveRun>& run : runs) {
    std::string failure;
    bool stop = false;
    UnixMillis started = 0;
    {
      std::lock_guard lock(run->mu);
      started = run->phase_started_at;
      if (now > run->deadline) {
        failure = std::string(PhaseName(run->state)) + " phase timed out";
        stop = true;
      }
    }
    if (failure.empty()) {
      Runtime* runtime = hub_.runtimes().ForType(options_.agent_type);
      std::optional<RuntimeAgentState> state =
          runtime != nullptr ? runtime->GetState(FormatAgentId(run->builder)) : std::nullopt;
      // Ended since this phase began (an older end is the previous process, before delivery
      // restarted it).
      if (state && state->stopped_at && *state->stopped_at >= started &&
          (state->status == AgentStatus::kError || state->status == AgentStatus::kOffline)) {
        failure = "the builder stopped: " + (state->reason.empty() ? "exited" : state->reason);
      }
    }
    if (!failure.empty()) {
      hub_.Post([this, run, failure, stop] { FailAttempt(run, failure, true, stop); });
    }
  }
  if (now - last_renew_ >= std::max<UnixMillis>(options_.policy.lease.count() / 3, 1)) {
    last_renew_ = now;
    hub_.Post([this, runs, now] {
      for (const std::shared_ptr<ActiveRun>& run : runs) {
        Status renewed = hub_.store().RenewRunLease(run->id, worker_id_,
                                                    now + options_.policy.lease.count());
        if (renewed.code() != ErrorCode::kConflict) continue;
        // Taken from us (cancelled through another server, or requeued by a sweeper).
        if (Detach(run->id) != nullptr) StopBuilder(*run, "run taken away");
      }
    });
  }
  if (now - last_stale_ >= kStaleEvery) {
    last_stale_ = now;
    hub_.Post([this, now] {
      RunFilter filter;
      filter.states = {RunState::kPlanning, RunState::kBuilding};
      filter.lease_before = now;
      filter.limit = 100;
      Result<std::vector<Run>> stale = hub_.store().ListRuns(filter);
      if (!stale.ok()) return;
      for (const Run& run : *stale) {
        bool mine = false;
        {
          std::lock_guard lock(mu_);
          mine = active_.count(run.id) != 0;
        }
        if (!mine) Abandon(run, "its worker stopped renewing the lease");
      }
    });
  }
  StopIdleBuilders(now);
  if (now - last_claim_ >= kClaimEvery) {
    last_claim_ = now;
    Pump();
  }
  if (now - last_webhooks_ >= kWebhooksEvery) {
    last_webhooks_ = now;
    hub_.Post([this, now] { DeliverWebhooks(now); });
  }
}

}  // namespace agentcore::hub_internal
