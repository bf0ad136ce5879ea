// SPDX-License-Identifier: Apache-2.0
// The run service's API side: callers, projects, run creation with Idempotency-Key, listings,
// cancel, the envelope, events and watches, the workspace download, the builder's task.
// The worker (claims, phases, failures, sweeps) is run_worker.cpp.

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/runtime/agent_image.hpp>
#include <agentcore/workspace/zip.hpp>

#include "runs_internal.hpp"

namespace agentcore {

RunWatch::~RunWatch() = default;
RunService::~RunService() = default;

namespace {

constexpr std::string_view kIdempotencyKeyRequired = "Idempotency-Key header is required";
constexpr std::string_view kIdempotencyConflict =
    "Idempotency-Key was used with a different request body";
constexpr std::string_view kProjectNotFound = "project not found";
constexpr std::string_view kRunNotFound = "run not found";
constexpr std::size_t kMaxIdempotencyKey = 255;
constexpr std::size_t kMaxProjectName = 200;

bool IsProjectIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

Status CheckProjectId(std::string_view id) {
  if (id.empty() || id.size() > 128 || !std::all_of(id.begin(), id.end(), IsProjectIdChar) ||
      id == "." || id == "..") {
    return Status(ErrorCode::kInvalidArgument,
                  "project id must be 1-128 characters of A-Z a-z 0-9 . _ -");
  }
  return Status();
}

std::string ToText(const Json& value) {
  std::string out;
  JsonWriter(&out).Value(value);
  return out;
}

/// A path component for a key that may hold any byte: itself when safe, else its hash.
std::string SafeComponent(std::string_view key) {
  if (!key.empty() && key.size() <= 128 && CheckProjectId(key).ok()) return std::string(key);
  return Sha256Hex(key).substr(0, 32);
}

}  // namespace

bool IsFinalRunEvent(std::string_view type) { return type == "done" || type == "error"; }

std::string_view RunErrorCode(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidArgument:
      return status.message() == kIdempotencyKeyRequired ? "idempotency_key_required"
                                                         : "invalid_request";
    case ErrorCode::kUnauthenticated:
      return "unauthorized";
    case ErrorCode::kPermissionDenied:
      return "forbidden";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
    case ErrorCode::kAlreadyExists:
      return status.message() == kIdempotencyConflict ? "idempotency_conflict" : "conflict";
    case ErrorCode::kTooLarge:
      return "payload_too_large";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
      return "unavailable";
    case ErrorCode::kInternal:
    case ErrorCode::kNotSupported:
    case ErrorCode::kUnknownOutcome:
      return "internal";
  }
  return "internal";
}

Result<std::vector<ModelPrice>> ParseModelPrices(const Json& rows) {
  if (!rows.is_array()) {
    return Status(ErrorCode::kInvalidArgument, "model pricing must be a JSON array");
  }
  std::vector<ModelPrice> out;
  for (std::size_t i = 0; i < rows.as_array().size(); ++i) {
    const Json& row = rows.as_array()[i];
    const std::string where = "model pricing entry " + std::to_string(i);
    if (!row.is_object()) return Status(ErrorCode::kInvalidArgument, where + " is not an object");
    ModelPrice price;
    const std::string* provider = row.FindString("provider");
    const std::string* model = row.FindString("model");
    if (provider == nullptr || provider->empty() || model == nullptr || model->empty()) {
      return Status(ErrorCode::kInvalidArgument, where + " needs provider and model strings");
    }
    price.provider = *provider;
    price.model = *model;
    for (auto [key, field] : {std::pair{"inputUsdPerMTok", &price.input_usd_per_mtok},
                              std::pair{"outputUsdPerMTok", &price.output_usd_per_mtok}}) {
      const Json* v = row.Find(key);
      if (v == nullptr || !v->is_number() || !std::isfinite(v->as_number()) ||
          v->as_number() < 0) {
        return Status(ErrorCode::kInvalidArgument,
                      where + ": " + key + " must be a non-negative number");
      }
      *field = v->as_number();
    }
    if (const Json* active = row.Find("active")) {
      if (!active->is_bool()) {
        return Status(ErrorCode::kInvalidArgument, where + ": active must be a boolean");
      }
      price.active = active->as_bool();
    }
    out.push_back(std::move(price));
  }
  return out;
}

namespace hub_internal {

namespace {

std::string DataDirOf(const Hub& hub) {
  const HubOptions& o = hub.options();
  if (!o.runs.data_dir.empty()) return o.runs.data_dir;
  return o.local_process.data_dir.empty() ? std::string("agentcore-data")
                                          : o.local_process.data_dir;
}

}  // namespace

RunServiceImpl::RunServiceImpl(Hub& hub)
    : hub_(hub),
      options_(hub.options().runs),
      data_dir_(DataDirOf(hub)),
      instance_(options_.instance.empty() ? RuntimeInstanceForDataDir(data_dir_)
                                          : options_.instance),
      worker_id_(instance_ + "/" + RandomHex(6)),
      webhook_secret_(options_.webhook_secret.empty() ? hub.container_secret()
                                                      : options_.webhook_secret) {}

RunServiceImpl::~RunServiceImpl() = default;

// --- Callers and projects ---------------------------------------------------------------------

Result<Principal> RunServiceImpl::AuthenticateAgentApiKey(std::string_view header_value) {
  if (options_.agent_api_key.empty() ||
      !ConstantTimeEquals(header_value, options_.agent_api_key)) {
    return Status(ErrorCode::kUnauthenticated, "invalid API key");
  }
  Principal caller;
  caller.kind = Principal::Kind::kApiKey;
  caller.space_id = options_.platform_space_id;
  caller.user_id = "agent-api-key";
  return caller;
}

Result<ProjectResult> RunServiceImpl::CreateProject(const Principal& caller, const Json& body) {
  if (!body.is_object()) {
    return Status(ErrorCode::kInvalidArgument, "request body must be a JSON object");
  }
  std::string id;
  if (const Json* v = body.Find("id"); v != nullptr && !v->is_null()) {
    if (!v->is_string()) return Status(ErrorCode::kInvalidArgument, "id must be a string");
    id = v->as_string();
    AGENTCORE_RETURN_IF_ERROR(CheckProjectId(id));
  } else {
    id = hub_.NewId();
  }
  std::string name = id;
  if (const Json* v = body.Find("name"); v != nullptr && !v->is_null()) {
    if (!v->is_string() || v->as_string().empty() || v->as_string().size() > kMaxProjectName) {
      return Status(ErrorCode::kInvalidArgument, "name must be a string of 1-200 bytes");
    }
    name = v->as_string();
  }
  Json settings = nullptr;
  if (const Json* v = body.Find("settings"); v != nullptr && !v->is_null()) {
    if (!v->is_object()) return Status(ErrorCode::kInvalidArgument, "settings must be an object");
    settings = *v;
  }
  Store& store = hub_.store();
  if (Result<Project> existing = store.GetProject(caller.space_id, id); existing.ok()) {
    return ProjectResult{std::move(*existing), false};
  } else if (existing.status().code() != ErrorCode::kNotFound) {
    return existing.status();
  }
  // The channel first, then its builder, then the row: a crash between the steps leaves a
  // channel that the retry finds by name and completes.
  const std::string channel_name = "project-" + id;
  Result<Channel> channel = store.CreateChannel(NewChannel{"", caller.space_id, channel_name,
                                                           "Platform Agent project " + id, ""});
  if (!channel.ok() && channel.status().code() == ErrorCode::kAlreadyExists) {
    channel = store.FindChannelByName(caller.space_id, channel_name);
  }
  if (!channel.ok()) return channel.status();
  NewRosterEntry builder;
  builder.channel_id = channel->id;
  builder.callsign = options_.builder_callsign;
  builder.agent_type = options_.agent_type;
  if (Result<RosterEntry> added = store.AddRosterEntry(builder);
      !added.ok() && added.status().code() != ErrorCode::kAlreadyExists) {
    return added.status();
  }
  Project project;
  project.space_id = caller.space_id;
  project.id = id;
  project.name = std::move(name);
  project.channel_id = channel->id;
  project.settings = std::move(settings);
  Result<Project> created = store.CreateProject(project);
  if (created.ok()) {
    std::error_code ec;
    std::filesystem::create_directories(WorkspaceDir(*created), ec);
    return ProjectResult{std::move(*created), true};
  }
  if (created.status().code() != ErrorCode::kAlreadyExists) return created.status();
  AGENTCORE_ASSIGN_OR_RETURN(Project raced, store.GetProject(caller.space_id, id));
  return ProjectResult{std::move(raced), false};
}

Result<Project> RunServiceImpl::FindProject(const Principal& caller,
                                            std::string_view project_id) {
  if (!CheckProjectId(project_id).ok()) {
    return Status(ErrorCode::kNotFound, std::string(kProjectNotFound));
  }
  Result<Project> project = hub_.store().GetProject(caller.space_id, project_id);
  if (!project.ok() && project.status().code() == ErrorCode::kNotFound) {
    return Status(ErrorCode::kNotFound, std::string(kProjectNotFound));
  }
  return project;
}

Result<Project> RunServiceImpl::GetProject(const Principal& caller,
                                           std::string_view project_id) {
  return FindProject(caller, project_id);
}

Result<ProjectPage> RunServiceImpl::ListProjects(const Principal& caller,
                                                 std::string_view cursor, std::size_t limit) {
  limit = limit == 0 ? options_.max_page : std::min(limit, options_.max_page);
  ProjectFilter filter;
  filter.space_id = caller.space_id;
  filter.after_id = std::string(cursor);
  filter.limit = limit + 1;
  AGENTCORE_ASSIGN_OR_RETURN(std::vector<Project> rows, hub_.store().ListProjects(filter));
  ProjectPage page;
  if (rows.size() > limit) {
    rows.resize(limit);
    page.next_cursor = rows.back().id;
  }
  page.projects = std::move(rows);
  return page;
}

std::string RunServiceImpl::WorkspaceDir(std::string_view space_id,
                                         std::string_view project_id) const {
  return data_dir_ + "/projects/" + SafeComponent(space_id) + "/" + SafeComponent(project_id) +
         "/workspace";
}

std::string RunServiceImpl::WorkspaceDir(const Project& project) const {
  return WorkspaceDir(project.space_id, project.id);
}

// --- Runs -------------------------------------------------------------------------------------

Result<RunCreated> RunServiceImpl::CreateRun(const Principal& caller,
                                             std::string_view project_id,
                                             std::string_view idempotency_key,
                                             const Json& body) {
  return Create(caller, project_id, idempotency_key, body, false);
}

Result<RunCreated> RunServiceImpl::PostMessage(const Principal& caller,
                                               std::string_view project_id,
                                               std::string_view idempotency_key,
                                               const Json& body) {
  return Create(caller, project_id, idempotency_key, body, true);
}

Result<RunCreated> RunServiceImpl::Create(const Principal& caller, std::string_view project_id,
                                          std::string_view idempotency_key, const Json& body,
                                          bool message) {
  if (idempotency_key.empty()) {
    return Status(ErrorCode::kInvalidArgument, std::string(kIdempotencyKeyRequired));
  }
  if (idempotency_key.size() > kMaxIdempotencyKey) {
    return Status(ErrorCode::kInvalidArgument, "Idempotency-Key is longer than 255 bytes");
  }
  if (!body.is_object()) {
    return Status(ErrorCode::kInvalidArgument, "request body must be a JSON object");
  }
  const std::string_view field = message ? "content" : "prompt";
  const std::string* prompt = body.FindString(field);
  if (prompt == nullptr || prompt->empty()) {
    return Status(ErrorCode::kInvalidArgument, std::string(field) + " must be a non-empty string");
  }
  if (prompt->size() > options_.max_prompt_bytes) {
    return Status(ErrorCode::kTooLarge, std::string(field) + " is longer than " +
                                            std::to_string(options_.max_prompt_bytes) +
                                            " bytes");
  }
  Json input = Json::Object();
  input.Set("kind", message ? "message" : "run");
  input.Set("prompt", *prompt);
  input.Set("projectId", project_id);
  input.Set("spaceId", caller.space_id);
  input.Set("workspaceBackend", "host");
  if (const Json* v = body.Find("workspaceBackend"); v != nullptr && !v->is_null()) {
    if (!v->is_string() || v->as_string() != "host") {
      return Status(ErrorCode::kInvalidArgument,
                    "workspaceBackend must be \"host\" (the only backend of this server)");
    }
  }
  if (const Json* v = body.Find("webhookUrl"); v != nullptr && !v->is_null()) {
    const bool http = v->is_string() && (v->as_string().rfind("http://", 0) == 0 ||
                                         v->as_string().rfind("https://", 0) == 0);
    if (!http || v->as_string().size() > 2048) {
      return Status(ErrorCode::kInvalidArgument, "webhookUrl must be an http(s) URL");
    }
    input.Set("webhookUrl", *v);
  }
  int max_attempts = options_.policy.max_attempts;
  if (const Json* v = body.Find("maxAttempts"); v != nullptr && !v->is_null()) {
    if (!v->is_number() || v->as_number() != std::floor(v->as_number()) ||
        v->as_number() < 1 || v->as_number() > 10) {
      return Status(ErrorCode::kInvalidArgument, "maxAttempts must be an integer from 1 to 10");
    }
    max_attempts = static_cast<int>(v->as_number());
  }
  input.Set("maxAttempts", max_attempts);
  AGENTCORE_ASSIGN_OR_RETURN(Project project, FindProject(caller, project_id));

  // The key is reserved with the run id before the run exists, so two racing requests and a
  // retry after a crash all resolve to one run id; whoever finds the id without its run
  // creates it (CreateRun is idempotent on the id).
  Store& store = hub_.store();
  const UnixMillis now = hub_.clock().NowMillis();
  IdempotencyRecord record;
  record.scope = "v1/" + caller.space_id + "/" + project.id + "/" + caller.user_id;
  record.key = std::string(idempotency_key);
  record.request_hash = Sha256Hex(std::string(message ? "message\n" : "run\n") + ToText(body));
  record.status_code = 202;
  record.response_body = hub_.NewId();
  record.created_at = now;
  record.expires_at = now + options_.idempotency_ttl.count();
  AGENTCORE_ASSIGN_OR_RETURN(IdempotencyRecord held, store.PutIdempotency(record));
  if (held.request_hash != record.request_hash) {
    return Status(ErrorCode::kConflict, std::string(kIdempotencyConflict));
  }
  const bool mine = held.response_body == record.response_body;
  if (!mine) {
    Result<Run> existing = store.GetRun(held.response_body);
    if (existing.ok()) return RunCreated{std::move(*existing), false};
    if (existing.status().code() != ErrorCode::kNotFound) return existing.status();
  }
  NewRun run;
  run.id = held.response_body;
  run.project_id = project.channel_id;
  run.input = std::move(input);
  Result<Run> created = store.CreateRun(run);
  if (!created.ok() && created.status().code() == ErrorCode::kAlreadyExists) {
    AGENTCORE_ASSIGN_OR_RETURN(Run raced, store.GetRun(run.id));
    return RunCreated{std::move(raced), false};
  }
  if (!created.ok()) return created.status();
  (void)Emit(created->id, "status", PhaseEvent("queued"));
  Pump();
  return RunCreated{std::move(*created), mine};
}

Result<Run> RunServiceImpl::FindRun(const Principal& caller, std::string_view project_id,
                                    std::string_view run_id) {
  AGENTCORE_ASSIGN_OR_RETURN(Project project, FindProject(caller, project_id));
  Result<Run> run = hub_.store().GetRun(run_id);
  if (!run.ok() && run.status().code() == ErrorCode::kNotFound) {
    return Status(ErrorCode::kNotFound, std::string(kRunNotFound));
  }
  if (!run.ok()) return run.status();
  if (run->project_id != project.channel_id) {
    return Status(ErrorCode::kNotFound, std::string(kRunNotFound));
  }
  return run;
}

Result<RunPage> RunServiceImpl::ListRuns(const Principal& caller, std::string_view project_id,
                                         std::string_view cursor, std::size_t limit) {
  AGENTCORE_ASSIGN_OR_RETURN(Project project, FindProject(caller, project_id));
  limit = limit == 0 ? options_.max_page : std::min(limit, options_.max_page);
  RunFilter filter;
  filter.project_id = project.channel_id;
  filter.limit = limit + 1;
  if (!cursor.empty()) {
    // A cursor is a run id of this project; anything else is a client's mistake.
    Result<Run> at = hub_.store().GetRun(cursor);
    if (!at.ok() || at->project_id != project.channel_id) {
      return Status(ErrorCode::kInvalidArgument, "invalid cursor");
    }
    filter.before_id = std::string(cursor);
  }
  AGENTCORE_ASSIGN_OR_RETURN(std::vector<Run> rows, hub_.store().ListRuns(filter));
  RunPage page;
  if (rows.size() > limit) {
    rows.resize(limit);
    page.next_cursor = rows.back().id;
  }
  page.runs = std::move(rows);
  return page;
}

Result<Run> RunServiceImpl::GetRun(const Principal& caller, std::string_view project_id,
                                   std::string_view run_id) {
  return FindRun(caller, project_id, run_id);
}

Result<Json> RunServiceImpl::RunMessages(const Principal& caller, std::string_view project_id,
                                         std::string_view run_id) {
  AGENTCORE_ASSIGN_OR_RETURN(Run run, FindRun(caller, project_id, run_id));
  Json out = Json::Array();
  Json prompt = Json::Object();
  prompt.Set("id", run.id + ":prompt");
  prompt.Set("role", "user");
  const std::string* text = run.input.FindString("prompt");
  prompt.Set("content", text != nullptr ? *text : std::string());
  prompt.Set("createdAt", FormatIsoTimestamp(run.created_at));
  out.as_array().push_back(std::move(prompt));
  std::uint64_t after = 0;
  for (;;) {
    AGENTCORE_ASSIGN_OR_RETURN(std::vector<RunEventRecord> page,
                               hub_.store().ListRunEvents(run.id, after, 1000));
    for (const RunEventRecord& e : page) {
      const std::string* status = e.data.FindString("status");
      if (e.type != "status" || status == nullptr || *status != "message") continue;
      Json m = Json::Object();
      const std::string* id = e.data.FindString("messageId");
      m.Set("id", id != nullptr ? *id : run.id + ":" + std::to_string(e.seq));
      m.Set("role", "assistant");
      const std::string* content = e.data.FindString("content");
      m.Set("content", content != nullptr ? *content : std::string());
      if (const std::string* phase = e.data.FindString("runPhase")) m.Set("runPhase", *phase);
      m.Set("createdAt", FormatIsoTimestamp(e.created_at));
      out.as_array().push_back(std::move(m));
    }
    if (page.size() < 1000) break;
    after = page.back().seq;
  }
  return out;
}

Json RunServiceImpl::Envelope(const Run& run) {
  Json out = Json::Object();
  out.Set("id", run.id);
  const Json* project = run.input.Find("projectId");
  out.Set("projectId", project != nullptr ? *project : Json(nullptr));
  out.Set("status", RunStateName(run.state));
  for (std::string_view key : {"kind", "prompt", "workspaceBackend", "maxAttempts"}) {
    const Json* v = run.input.Find(key);
    out.Set(key, v != nullptr ? *v : Json(nullptr));
  }
  out.Set("attempts", static_cast<std::int64_t>(run.attempts));
  out.Set("createdAt", FormatIsoTimestamp(run.created_at));
  out.Set("updatedAt", FormatIsoTimestamp(run.updated_at));
  if (run.error.empty()) {
    out.Set("error", nullptr);
  } else {
    Json error = Json::Object();
    error.Set("code", run.state == RunState::kFailed ? "run_failed" : "attempt_failed");
    error.Set("message", run.error);
    out.Set("error", std::move(error));
  }
  const Json& result = run.result;
  for (std::string_view key : {"plan", "usage", "costUsd", "commit", "commitError", "summary"}) {
    const Json* v = result.is_object() ? result.Find(key) : nullptr;
    out.Set(key, v != nullptr ? *v : Json(nullptr));
  }
  if (const Json* url = run.input.Find("webhookUrl")) out.Set("webhookUrl", *url);
  out.Set("lastEventSeq", static_cast<std::int64_t>(run.last_event_seq));
  return out;
}

Result<Run> RunServiceImpl::Cancel(const Principal& caller, std::string_view project_id,
                                   std::string_view run_id) {
  AGENTCORE_ASSIGN_OR_RETURN(Run run, FindRun(caller, project_id, run_id));
  Store& store = hub_.store();
  for (int tries = 0;; ++tries) {
    if (IsFinalRunState(run.state)) {
      return Status(ErrorCode::kConflict,
                    "run already " + std::string(RunStateName(run.state)));
    }
    RunUpdate update;
    update.lease_expires_at = std::optional<UnixMillis>();
    update.worker_id = std::string();
    Result<Run> cancelled = store.TransitionRun(run.id, run.state, RunState::kCancelled, update);
    if (cancelled.ok()) {
      run = std::move(*cancelled);
      break;
    }
    if (cancelled.status().code() != ErrorCode::kConflict || tries == 5) {
      return cancelled.status();
    }
    AGENTCORE_ASSIGN_OR_RETURN(run, store.GetRun(run.id));  // it moved meanwhile: look again
  }
  // The worker of this process lets go of the run; its builder stops (within the runtime's
  // stop grace), so nothing of the cancelled turn reaches the next run.
  if (std::shared_ptr<ActiveRun> active = Detach(run.id)) StopBuilder(*active, "run cancelled");
  (void)Emit(run.id, "status", PhaseEvent("cancelled"));
  Json done = Json::Object();
  done.Set("status", "cancelled");
  done.Set("run", Envelope(run));
  (void)Emit(run.id, "done", std::move(done));
  Finished(run);
  Pump();
  return run;
}

// --- Events -----------------------------------------------------------------------------------

struct RunServiceImpl::Feed {
  std::mutex mu;
  std::vector<Watcher*> watchers;  // guarded by mu
  bool ended = false;              // a final event was appended: nothing more is (guarded)
};

class RunServiceImpl::Watcher final : public RunWatch {
 public:
  Watcher(std::shared_ptr<Feed> feed, RunEventSink sink, std::uint64_t after)
      : feed_(std::move(feed)), sink_(std::move(sink)), last_(after) {}
  ~Watcher() override {
    std::lock_guard lock(feed_->mu);
    auto& w = feed_->watchers;
    w.erase(std::remove(w.begin(), w.end(), this), w.end());
  }
  /// Under feed->mu: the last seq offered.
  std::uint64_t last() const { return last_; }
  /// Under feed->mu.
  void Offer(const RunEventRecord& event) {
    if (event.seq <= last_) return;
    last_ = event.seq;
    sink_(event);
  }

 private:
  std::shared_ptr<Feed> feed_;
  RunEventSink sink_;
  std::uint64_t last_;
};

std::shared_ptr<RunServiceImpl::Feed> RunServiceImpl::FeedOf(const std::string& run_id) {
  std::lock_guard lock(mu_);
  std::weak_ptr<Feed>& slot = feeds_[run_id];
  std::shared_ptr<Feed> feed = slot.lock();
  if (feed == nullptr) {
    feed = std::make_shared<Feed>();
    slot = feed;
    if (feeds_.size() > 4096) {  // forget the feeds nobody holds any more
      std::erase_if(feeds_, [](const auto& entry) { return entry.second.expired(); });
    }
  }
  return feed;
}

Result<RunEventRecord> RunServiceImpl::Emit(const std::string& run_id, std::string_view type,
                                            Json data) {
  std::shared_ptr<Feed> feed = FeedOf(run_id);
  std::lock_guard lock(feed->mu);
  if (feed->ended) return Status(ErrorCode::kConflict, "run ended");
  AGENTCORE_ASSIGN_OR_RETURN(RunEventRecord event,
                             hub_.store().AppendRunEvent(run_id, type, data));
  if (IsFinalRunEvent(type)) feed->ended = true;
  for (Watcher* w : feed->watchers) w->Offer(event);
  return event;
}

void RunServiceImpl::EmitAll(const std::string& run_id,
                             std::vector<std::pair<std::string, Json>> events) {
  if (events.empty()) return;
  std::shared_ptr<Feed> feed = FeedOf(run_id);
  std::lock_guard lock(feed->mu);
  if (feed->ended) return;
  Result<std::vector<RunEventRecord>> appended = hub_.store().AppendRunEvents(run_id, events);
  if (!appended.ok()) return;  // the run is gone; its stream ends with it
  for (const RunEventRecord& event : *appended) {
    for (Watcher* w : feed->watchers) w->Offer(event);
  }
}

void RunServiceImpl::OnStoredRunEvent(std::string_view run_id, std::uint64_t seq) {
  std::shared_ptr<Feed> feed;
  {
    std::lock_guard lock(mu_);
    if (active_.count(std::string(run_id)) != 0) return;  // ours: Emit told the watchers
    auto it = feeds_.find(std::string(run_id));
    if (it == feeds_.end()) return;
    feed = it->second.lock();
  }
  if (feed == nullptr) return;
  std::lock_guard lock(feed->mu);
  if (feed->watchers.empty()) return;
  std::uint64_t after = seq;
  for (const Watcher* w : feed->watchers) after = std::min(after, w->last());
  if (after >= seq) return;  // every watcher has it
  // From the store, in order: Offer skips what a watcher saw, so nothing comes twice.
  for (;;) {
    Result<std::vector<RunEventRecord>> page =
        hub_.store().ListRunEvents(std::string(run_id), after, 1000);
    if (!page.ok()) return;
    for (const RunEventRecord& e : *page) {
      if (IsFinalRunEvent(e.type)) feed->ended = true;
      for (Watcher* w : feed->watchers) w->Offer(e);
    }
    if (page->size() < 1000) return;
    after = page->back().seq;
  }
}

Result<std::vector<RunEventRecord>> RunServiceImpl::Events(const Principal& caller,
                                                           std::string_view project_id,
                                                           std::string_view run_id,
                                                           std::uint64_t after_seq,
                                                           std::size_t limit) {
  AGENTCORE_ASSIGN_OR_RETURN(Run run, FindRun(caller, project_id, run_id));
  return hub_.store().ListRunEvents(run.id, after_seq, std::min<std::size_t>(limit, 10'000));
}

Result<std::unique_ptr<RunWatch>> RunServiceImpl::Watch(const Principal& caller,
                                                        std::string_view project_id,
                                                        std::string_view run_id,
                                                        std::uint64_t after_seq,
                                                        RunEventSink sink) {
  AGENTCORE_ASSIGN_OR_RETURN(Run run, FindRun(caller, project_id, run_id));
  std::shared_ptr<Feed> feed = FeedOf(run.id);
  auto watcher = std::make_unique<Watcher>(feed, std::move(sink), after_seq);
  // History under the feed's lock: an event appended meanwhile waits, then is offered after
  // the history, so there is neither a gap nor a duplicate.
  std::lock_guard lock(feed->mu);
  std::uint64_t after = after_seq;
  for (;;) {
    AGENTCORE_ASSIGN_OR_RETURN(std::vector<RunEventRecord> page,
                               hub_.store().ListRunEvents(run.id, after, 1000));
    for (const RunEventRecord& e : page) watcher->Offer(e);
    if (page.size() < 1000) break;
    after = page.back().seq;
  }
  feed->watchers.push_back(watcher.get());
  return std::unique_ptr<RunWatch>(std::move(watcher));
}

// --- Workspace ---------------------------------------------------------

Status RunServiceImpl::DownloadWorkspace(
    const Principal& caller, std::string_view project_id, std::string_view run_id,
    const std::function<bool(std::string_view chunk)>& sink) {
  AGENTCORE_ASSIGN_OR_RETURN(Run run, FindRun(caller, project_id, run_id));
  const std::string root = WorkspaceDir(caller.space_id, project_id);
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  ZipOptions zip;
  zip.max_uncompressed_bytes = options_.download_max_bytes;
  zip.max_entries = options_.download_max_entries;
  Result<ZipStats> stats = ZipDirectory(root, zip, sink);
  return stats.ok() ? Status() : stats.status();
}

}  // namespace hub_internal
}  // namespace agentcore
