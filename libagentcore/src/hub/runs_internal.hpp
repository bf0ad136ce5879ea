// SPDX-License-Identifier: Apache-2.0
#pragma once

// The run service's implementation (hub/runs.hpp): the API side in runs.cpp, the worker
// (claims, phases, the frame tap, failures, the sweeper, webhooks) in run_worker.cpp, the pure
// frame -> event rule in run_events.cpp.

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <agentcore/hub/hub.hpp>
#include <agentcore/hub/publisher.hpp>
#include <agentcore/hub/runs.hpp>
#include <agentcore/tymbal/frame.hpp>

namespace agentcore::hub_internal {

// --- The frame rule (run_events.cpp), pure ---------------------------------------------------

/// What one published line of the project's channel means for the run `run_id` in `phase`.
struct FrameOutcome {
  enum class Kind {
    kNone,        // not this run's
    kTokenStart,  // a start frame of this run: its appends are tokens (message_id)
    kEvent,       // an event to append (type, data)
    kUsage,       // an event, and usage to add (provider, model, tokens)
    kPlan,        // an event, and the plan
    kResult,      // the phase ended (ok, error, retryable, summary)
  };
  Kind kind = Kind::kNone;
  std::string type;  // run event type
  Json data;
  std::string message_id;
  std::string provider, model;
  std::int64_t input_tokens = 0, output_tokens = 0;
  Json plan;
  bool ok = false;
  bool retryable = true;
  std::string error;
  std::string summary;
};

/// Maps a frame to its run event (docs/runs.md, "Frames"). `token_messages`: the ids of this
/// run's started messages (their appends are tokens).
FrameOutcome RunFrameOutcome(const TymbalFrame& frame, std::string_view run_id,
                             std::string_view phase, const std::set<std::string>& token_messages);

/// min(base * 2^(attempt-1), max).
std::chrono::milliseconds RunRetryDelay(std::chrono::milliseconds base,
                                        std::chrono::milliseconds max, std::uint32_t attempt);

// --- The service ----------------------------------------------------------------------------

class RunServiceImpl final : public RunService {
 public:
  explicit RunServiceImpl(Hub& hub);
  ~RunServiceImpl() override;

  // RunService (runs.cpp)
  Result<Principal> AuthenticateAgentApiKey(std::string_view header_value) override;
  Result<ProjectResult> CreateProject(const Principal& caller, const Json& body) override;
  Result<Project> GetProject(const Principal& caller, std::string_view project_id) override;
  Result<ProjectPage> ListProjects(const Principal& caller, std::string_view cursor,
                                   std::size_t limit) override;
  Result<RunCreated> CreateRun(const Principal& caller, std::string_view project_id,
                               std::string_view idempotency_key, const Json& body) override;
  Result<RunCreated> PostMessage(const Principal& caller, std::string_view project_id,
                                 std::string_view idempotency_key, const Json& body) override;
  Result<RunPage> ListRuns(const Principal& caller, std::string_view project_id,
                           std::string_view cursor, std::size_t limit) override;
  Result<Run> GetRun(const Principal& caller, std::string_view project_id,
                     std::string_view run_id) override;
  Result<Json> RunMessages(const Principal& caller, std::string_view project_id,
                           std::string_view run_id) override;
  Result<Run> Cancel(const Principal& caller, std::string_view project_id,
                     std::string_view run_id) override;
  Json Envelope(const Run& run) override;
  Result<std::vector<RunEventRecord>> Events(const Principal& caller,
                                             std::string_view project_id,
                                             std::string_view run_id, std::uint64_t after_seq,
                                             std::size_t limit) override;
  Result<std::unique_ptr<RunWatch>> Watch(const Principal& caller, std::string_view project_id,
                                          std::string_view run_id, std::uint64_t after_seq,
                                          RunEventSink sink) override;
  Status DownloadWorkspace(const Principal& caller, std::string_view project_id,
                           std::string_view run_id,
                           const std::function<bool(std::string_view chunk)>& sink) override;
  Result<std::optional<Json>> TaskFor(const AgentIdentity& agent) override;
  Status Start() override;
  void Sweep(UnixMillis now) override;
  /// The platform callers' space (with an agent API key): made by OpenHub, so that it exists
  /// before an embedder serves its first request (Start waits for the API URL), and by Start.
  Status EnsurePlatformSpace();
  const std::string& worker_id() const override { return worker_id_; }

  // The hub's tap (run_worker.cpp): lines published to a channel that runs a run.
  bool Active() const { return active_count_.load(std::memory_order_relaxed) > 0; }
  void OnLines(std::string_view channel_id, std::span<const PublishedLine> lines);
  /// The change log says event `seq` of run `run_id` was stored (by any node): watchers here
  /// of a run another node drives read what they have not seen from the store (this node's
  /// own runs tell their watchers as they append). Clustered only; on the link's receiver.
  void OnStoredRunEvent(std::string_view run_id, std::uint64_t seq);
  /// Stops claiming and hands the runs in flight back to the queue (an attempt each), so the
  /// next process or another server goes on at once. Hub::Close stops their builders.
  void Close();

 private:
  struct Feed;
  class Watcher;
  struct ActiveRun;

  // runs.cpp
  Result<Project> FindProject(const Principal& caller, std::string_view project_id);
  Result<Run> FindRun(const Principal& caller, std::string_view project_id,
                      std::string_view run_id);
  Result<RunCreated> Create(const Principal& caller, std::string_view project_id,
                            std::string_view idempotency_key, const Json& body, bool message);
  std::string WorkspaceDir(const Project& project) const;
  std::string WorkspaceDir(std::string_view space_id, std::string_view project_id) const;
  Json Conversation(const Run& run);
  /// The task JSON of docs/runs.md for the run's current phase.
  Json TaskOf(ActiveRun& run);

  // Events: appended in order per run, watchers told under the feed's lock.
  std::shared_ptr<Feed> FeedOf(const std::string& run_id);
  Result<RunEventRecord> Emit(const std::string& run_id, std::string_view type, Json data);
  /// Emit for several events, stored together (Store::AppendRunEvents). None may be final.
  void EmitAll(const std::string& run_id, std::vector<std::pair<std::string, Json>> events);
  void ReleaseFeed(const std::string& run_id);

  // run_worker.cpp
  void Pump();
  void PumpLoop();
  void Begin(Run run);
  /// The in-memory view of a claimed run (its phase planning, its plan phase's deadline).
  std::shared_ptr<ActiveRun> NewActiveRun(const Run& run);
  /// The task of the project's current run as the store has it, for a builder whose requests
  /// land on a node other than the run's worker (docs/cluster.md, runs).
  Result<std::optional<Json>> StoredTaskFor(const AgentIdentity& agent);
  Status PostTask(ActiveRun& run);
  void Drain(const std::shared_ptr<ActiveRun>& run);
  /// Takes one frame of the run: its event goes to `events`; a phase's end is returned.
  std::optional<FrameOutcome> Handle(const std::shared_ptr<ActiveRun>& run,
                                     const TymbalFrame& frame,
                                     std::vector<std::pair<std::string, Json>>* events);
  void EndPhase(const std::shared_ptr<ActiveRun>& run, const FrameOutcome& outcome);
  void Succeed(const std::shared_ptr<ActiveRun>& run, std::string summary);
  void FailAttempt(const std::shared_ptr<ActiveRun>& run, std::string error, bool retryable,
                   bool stop_builder);
  /// Gives a claimed run back to the queue without using its attempt (the builder could not be
  /// started yet: the space runs its maximum of agents).
  void Postpone(const std::shared_ptr<ActiveRun>& run, std::string_view why);
  /// Stops builders idle for longer than builder_idle_timeout.
  void StopIdleBuilders(UnixMillis now);
  /// Requeues or fails a run nobody drives any more (its worker died): lease expiry, orphans.
  void Abandon(const Run& run, std::string_view why);
  /// Final state reached: webhook, watchers released.
  void Finished(const Run& run);
  std::shared_ptr<ActiveRun> Detach(const std::string& run_id);
  /// Stops the builder's process (or container) through the agent service.
  void StopBuilder(const ActiveRun& run, std::string_view reason);
  void RenewLeases(UnixMillis now);
  void SweepStale(UnixMillis now);
  void DeliverWebhooks(UnixMillis now);
  void EnqueueWebhook(const Run& run);
  Json PhaseEvent(std::string_view status, Json extra = nullptr);

  Hub& hub_;
  const RunServiceOptions options_;
  const std::string data_dir_;
  const std::string instance_;
  const std::string worker_id_;
  const std::string webhook_secret_;

  std::atomic<bool> closed_{false};
  std::atomic<bool> started_{false};
  std::atomic<std::size_t> active_count_{0};

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<ActiveRun>> active_;     // by run id
  std::unordered_map<std::string, std::shared_ptr<ActiveRun>> by_channel_;  // by channel id
  std::unordered_map<std::string, std::weak_ptr<Feed>> feeds_;              // by run id
  bool pumping_ = false;
  bool pump_again_ = false;
  std::set<std::string> webhooks_in_flight_;
  struct IdleBuilder {
    AgentIdentity builder;
    UnixMillis since = 0;
  };
  std::unordered_map<std::string, IdleBuilder> idle_;  // by channel id: builders with no run
  UnixMillis last_renew_ = 0, last_stale_ = 0, last_webhooks_ = 0, last_claim_ = 0;
};

}  // namespace agentcore::hub_internal
