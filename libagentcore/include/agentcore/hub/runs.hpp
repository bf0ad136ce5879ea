// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The hub's run service (`hub.runs()`): Platform Agent's projects and runs (seed 002) on the
/// hub's parts. docs/runs.md is the design; in short:
///   - a **project** is a `projects` row of the caller's space plus a channel of that space,
///     whose roster has the builder agent (`RunServiceOptions::builder_callsign`);
///   - a **run** is a `runs` row: a durable job in the store's queue (Store::ClaimRun), leased
///     to this service's worker while it plans and builds, with its own event log
///     (Store::AppendRunEvent, seq 1, 2, … without gaps);
///   - each phase (plan, build) is one turn of the builder: the service posts a task message to
///     the channel for the builder (delivery activates it), the builder fetches the task
///     (TaskFor, GET /agents/task) and streams Tymbal frames to the channel; the frames that
///     carry the run's id become run events (the hub taps the channel's published lines).
///
/// Every run reaches a final state: phases have timeouts, leases expire, failed attempts are
/// retried with backoff up to RunPolicy::max_attempts, and the sweeper (Sweep, from the
/// embedder's timer) requeues runs whose worker died. Start() requeues at once the runs an
/// earlier process of the same instance held (a kill -9 costs an attempt, not a lease period).
///
/// Callers are `Principal`s (hub/credentials.hpp): a project belongs to the caller's space.
/// Errors carry a wire code (RunErrorCode) besides the Status code, for the `/v1` routes.
///
/// Thread-safe. Owned by the Hub; every method may block on the store: call it from a thread
/// that may block. Watch sinks are called on the thread that appended the event.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/state/run_state.hpp>
#include <agentcore/store/records.hpp>

namespace agentcore {

/// How runs run. Part of HubOptions. Every field has a working default.
struct RunServiceOptions {
  /// Workspaces live in `<data_dir>/projects/<space>/<project>/workspace`. Empty: the local
  /// process runtime's data directory (HubOptions::local_process.data_dir, or its default).
  std::string data_dir;
  /// The builder: its agent type (the runtime registry picks the runtime and command) and its
  /// callsign in every project's channel.
  std::string agent_type = "builder";
  std::string builder_callsign = "builder";
  /// A builder with no run for this long is stopped (the next run starts it again), so idle
  /// projects do not hold the space's running-agent slots (HubOptions::
  /// max_running_agents_per_space). 0: stopped as soon as its run ends.
  std::chrono::milliseconds builder_idle_timeout{60'000};
  /// Runs planning or building at once on this service (different projects; a project runs
  /// one run at a time). 0: runs are never claimed (a service that only serves the API).
  std::size_t max_concurrent_runs = 8;
  /// Attempts per run and the worker lease. The lease is renewed every lease / 3.
  RunPolicy policy{kDefaultRunMaxAttempts, std::chrono::milliseconds(30'000)};
  /// Limits per phase: a phase that has not ended by then fails the attempt.
  std::chrono::milliseconds plan_timeout{5 * 60'000};
  std::chrono::milliseconds build_timeout{20 * 60'000};
  /// A failed attempt is retried after min(retry_base_delay * 2^(attempt-1), retry_max_delay).
  std::chrono::milliseconds retry_base_delay{1'000};
  std::chrono::milliseconds retry_max_delay{60'000};
  /// After a successful build the workspace is committed to git (AUTO_GIT_COMMIT=false turns
  /// it off), as this author and committer (AGENT_GIT_AUTHOR_NAME/EMAIL, …; empty: git.hpp's
  /// defaults).
  bool auto_git_commit = true;
  std::string git_author_name;
  std::string git_author_email;
  std::string git_committer_name;
  std::string git_committer_email;
  /// Signs webhook deliveries; empty: the hub's container secret.
  std::string webhook_secret;
  std::chrono::milliseconds webhook_timeout{10'000};
  /// download.zip refuses (kTooLarge) a workspace with more bytes or entries than this.
  std::uint64_t download_max_bytes = 100ull << 20;
  std::uint32_t download_max_entries = 20'000;
  /// Request limits: prompt and message content, runs listed per page.
  std::size_t max_prompt_bytes = 64 * 1024;
  std::size_t max_page = 100;
  /// Idempotency records live this long (a retry after a restart within it resolves).
  std::chrono::milliseconds idempotency_ttl{7 * 24 * 3'600'000LL};
  /// This worker's id in the runs it leases, "<instance>/<random>". `instance` empty: a hash of
  /// data_dir (the runtimes' instance rule). Runs held by another worker of the same instance
  /// are orphans of an earlier process at Start().
  std::string instance;
  /// Platform Agent's `X-Agent-Api-Key` (AGENT_API_KEY): empty turns that header off. Its
  /// callers share the space `platform_space_id` (created at Start).
  std::string agent_api_key;
  std::string platform_space_id = "platform";
};

/// A project as the `/v1` routes show it.
struct ProjectResult {
  Project project;
  bool created = false;  // false: resolved an existing project
};

/// A run created (or resolved through its Idempotency-Key).
struct RunCreated {
  Run run;
  bool created = false;  // false: the same key and body resolved an earlier run
};

/// One page of a project's runs, newest first.
struct RunPage {
  std::vector<Run> runs;
  std::string next_cursor;  // empty: no more
};

/// One page of a space's projects, ascending id.
struct ProjectPage {
  std::vector<Project> projects;
  std::string next_cursor;  // empty: no more
};

/// A watch on a run's events; destroying it stops the sink (and waits for a running call).
class AGENTCORE_EXPORT RunWatch {
 public:
  virtual ~RunWatch();
  RunWatch(const RunWatch&) = delete;
  RunWatch& operator=(const RunWatch&) = delete;

 protected:
  RunWatch() = default;
};

/// Receives a run's events in seq order, each once; the final event (`done` or `error`) is
/// the last call. Must not block: the server queues the event for its socket.
using RunEventSink = std::function<void(const RunEventRecord& event)>;

/// Whether a run event of `type` is a run's last (`done` or `error`): nothing follows it.
AGENTCORE_EXPORT bool IsFinalRunEvent(std::string_view type);

/// The wire code of a run service error (docs/runs.md, "Routes and their errors"), e.g.
/// "idempotency_conflict" for a key reused with another body, "conflict" for cancelling a
/// finished run, "not_found", "invalid_request", "payload_too_large", "internal".
AGENTCORE_EXPORT std::string_view RunErrorCode(const Status& status);

/// Rows of the `model_pricing` table from JSON: an array of `{provider, model,
/// inputUsdPerMTok, outputUsdPerMTok, active?}`. Errors: kInvalidArgument naming the entry.
AGENTCORE_EXPORT Result<std::vector<ModelPrice>> ParseModelPrices(const Json& rows);

/// The run service; see the top of this file. Thread-safe; owned by the Hub (`hub.runs()`).
class AGENTCORE_EXPORT RunService {
 public:
  virtual ~RunService();
  RunService(const RunService&) = delete;
  RunService& operator=(const RunService&) = delete;

  // --- Callers

  /// The caller of an `X-Agent-Api-Key` header: the platform space's principal when the value
  /// equals RunServiceOptions::agent_api_key (constant time). Errors: kUnauthenticated
  /// "invalid API key" (also when the option is empty).
  virtual Result<Principal> AuthenticateAgentApiKey(std::string_view header_value) = 0;

  // --- Projects

  /// POST /v1/projects `{id?, name?, settings?}`: creates the project (id: a new ULID when
  /// absent; name: the id when absent) with its channel and builder, or resolves the caller's
  /// existing project of that id (created false; name and settings unchanged).
  /// Errors: kInvalidArgument (id not 1–128 of [A-Za-z0-9._-], name not a string or over 200
  /// bytes, settings not an object, body not an object).
  virtual Result<ProjectResult> CreateProject(const Principal& caller, const Json& body) = 0;
  /// Errors: kNotFound "project not found" (also another space's).
  virtual Result<Project> GetProject(const Principal& caller, std::string_view project_id) = 0;
  /// `cursor`: a next_cursor from an earlier page, or empty. `limit` 0: max_page.
  virtual Result<ProjectPage> ListProjects(const Principal& caller, std::string_view cursor,
                                           std::size_t limit) = 0;

  // --- Runs

  /// POST /v1/projects/:projectId/runs `{prompt, stream?, workspaceBackend?, webhookUrl?,
  /// maxAttempts?}`: queues a run (event `status: queued`). `idempotency_key` is required:
  /// the same key with the same body (per project and caller, durably) resolves the first
  /// run; with another body it is kConflict "idempotency_conflict".
  /// Errors: kInvalidArgument "Idempotency-Key header is required", a missing or empty prompt,
  /// prompt over max_prompt_bytes (kTooLarge), workspaceBackend other than "host", a
  /// webhookUrl that is not http(s); kNotFound "project not found".
  virtual Result<RunCreated> CreateRun(const Principal& caller, std::string_view project_id,
                                       std::string_view idempotency_key, const Json& body) = 0;
  /// POST /v1/projects/:projectId/messages `{content}`: a chat continuation: the next run of
  /// the project, with `content` as its prompt (the conversation carries the earlier turns).
  /// Errors as CreateRun (content for prompt).
  virtual Result<RunCreated> PostMessage(const Principal& caller, std::string_view project_id,
                                         std::string_view idempotency_key, const Json& body) = 0;
  /// Newest first. Errors: kNotFound "project not found"; kInvalidArgument "invalid cursor".
  virtual Result<RunPage> ListRuns(const Principal& caller, std::string_view project_id,
                                   std::string_view cursor, std::size_t limit) = 0;
  /// Errors: kNotFound "project not found" / "run not found" (also another project's run).
  virtual Result<Run> GetRun(const Principal& caller, std::string_view project_id,
                             std::string_view run_id) = 0;
  /// The run's messages: the user prompt, then the assistant messages of its events, as
  /// `[{id, role, content, createdAt}]`. Errors as GetRun.
  virtual Result<Json> RunMessages(const Principal& caller, std::string_view project_id,
                                   std::string_view run_id) = 0;
  /// POST …/cancel: the run becomes cancelled (events `status: cancelled`, `done`) and its
  /// builder is stopped. Errors as GetRun; kConflict "run already <state>" for a final run.
  virtual Result<Run> Cancel(const Principal& caller, std::string_view project_id,
                             std::string_view run_id) = 0;

  /// The run envelope of GET …/runs/:id (and of webhooks, done and error events).
  virtual Json Envelope(const Run& run) = 0;

  // --- Events

  /// Events after `after_seq`, at most `limit`. Errors as GetRun.
  virtual Result<std::vector<RunEventRecord>> Events(const Principal& caller,
                                                     std::string_view project_id,
                                                     std::string_view run_id,
                                                     std::uint64_t after_seq,
                                                     std::size_t limit) = 0;
  /// Calls `sink` with every event after `after_seq`: the stored ones first (on the calling
  /// thread, before returning), then live ones as they are appended, in seq order with no gap
  /// and no duplicate, until the final event. Errors as GetRun.
  virtual Result<std::unique_ptr<RunWatch>> Watch(const Principal& caller,
                                                  std::string_view project_id,
                                                  std::string_view run_id,
                                                  std::uint64_t after_seq, RunEventSink sink) = 0;

  // --- Workspace

  /// GET …/download.zip: the project's workspace as it is now (after the run), zipped into
  /// `sink` without secret files (workspace/path_policy.hpp IsSecretPath). Limits are checked
  /// before the first byte: kTooLarge names the size and the limit. `sink` returning false
  /// (client gone) ends it with kUnavailable. Errors as GetRun first.
  virtual Status DownloadWorkspace(const Principal& caller, std::string_view project_id,
                                   std::string_view run_id,
                                   const std::function<bool(std::string_view chunk)>& sink) = 0;

  // --- The builder's side

  /// GET /agents/task for the agent the container token names: the current task of the run
  /// its channel is running, as docs/runs.md describes; std::nullopt when there is none.
  virtual Result<std::optional<Json>> TaskFor(const AgentIdentity& agent) = 0;

  // --- Time and process lifetime

  /// Requeues runs held by earlier processes of this instance and starts claiming. Idempotent.
  virtual Status Start() = 0;
  /// Phase timeouts, lease renewal and expiry, due retries and webhooks at `now`. Follow-up
  /// work runs on the hub's executor; never blocks for long.
  virtual void Sweep(UnixMillis now) = 0;

  /// This service's worker id (in Run::worker_id while it holds a run).
  virtual const std::string& worker_id() const = 0;

 protected:
  RunService() = default;
};

}  // namespace agentcore
