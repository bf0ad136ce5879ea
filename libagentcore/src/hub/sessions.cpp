// SPDX-License-Identifier: Apache-2.0
// The session service's API side (docs/sessions.md "Model"): the create body, caps and ports,
// the transitions (each persisted, then delivered to watchers), starting and stopping
// processes, the envelope, usage and service endpoints. Output and attachments are
// session_output.cpp, files session_files.cpp, Start/Sweep/Close session_sweep.cpp.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include <agentcore/runtime/agent_image.hpp>

#include "sessions_internal.hpp"

namespace agentcore {

SessionAttachment::~SessionAttachment() = default;
SessionWatch::~SessionWatch() = default;
SessionService::~SessionService() = default;

std::string_view SessionErrorCode(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kConflict:
      // The one kConflict made by RunsElsewhere (hub_internal::SessionElsewhere).
      return status.message().starts_with(hub_internal::kSessionElsewherePrefix)
                 ? "session_elsewhere"
                 : "conflict";
    case ErrorCode::kAlreadyExists:
      // The service's only kAlreadyExists is a taken port (ReservePorts).
      return status.message().starts_with("port ") ? "port_in_use" : "conflict";
    case ErrorCode::kNotSupported:
    case ErrorCode::kDeadlineExceeded:
      return "unavailable";
    case ErrorCode::kUnknownOutcome:
      return "internal";
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kNotFound:
    case ErrorCode::kTooLarge:
    case ErrorCode::kRateLimited:
    case ErrorCode::kInternal:
    case ErrorCode::kUnavailable:
      return ErrorCodeName(status.code());
  }
  return "internal";
}

namespace hub_internal {

namespace {

constexpr std::size_t kMaxCommandArgs = 1024;
constexpr std::size_t kMaxEnv = 1024;
constexpr std::size_t kMaxPorts = 64;
constexpr std::size_t kMaxText = 4096;
constexpr std::size_t kDefaultPage = 50;
constexpr std::size_t kMaxPage = 100;

Status Bad(std::string message) { return Status(ErrorCode::kInvalidArgument, std::move(message)); }

bool IsEnvName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsPortName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
  });
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

/// A whole number in [lo, hi] from a JSON number.
Result<std::int64_t> WholeNumber(const Json& v, std::string_view what, std::int64_t lo,
                                 std::int64_t hi) {
  if (!v.is_number() || !std::isfinite(v.as_number()) ||
      v.as_number() != std::floor(v.as_number()) || v.as_number() < static_cast<double>(lo) ||
      v.as_number() > static_cast<double>(hi)) {
    return Bad(fmt::format("{} must be a whole number from {} to {}", what, lo, hi));
  }
  return static_cast<std::int64_t>(v.as_number());
}

Json OptionalMillis(const std::optional<UnixMillis>& at) {
  return at ? Json(FormatIsoTimestamp(*at)) : Json();
}

Status NotFoundStatus(std::string_view id) {
  return Status(ErrorCode::kNotFound, fmt::format("session \"{}\" not found", id));
}

bool IsLive(SessionState s) { return s == SessionState::kCreating || s == SessionState::kRunning; }

}  // namespace

bool IsSessionIdShape(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  });
}

std::string SessionKeyOf(const Principal& caller) {
  if (!caller.api_key_id.empty()) return caller.api_key_id;
  if (!caller.user_id.empty()) return "user:" + caller.user_id;
  return "space:" + caller.space_id;
}

// --- The create body (execbox)

Result<SessionSpecFields> ParseSessionBody(const Json& body, const std::string& default_image) {
  if (!body.is_object()) return Bad("the body must be a JSON object");
  SessionSpecFields spec;
  if (const Json* image = body.Find("image"); image != nullptr && !image->is_null()) {
    if (!image->is_string() || image->as_string().size() > kMaxText || HasNul(image->as_string()))
      return Bad("image must be a string of at most 4096 bytes");
    spec.image = image->as_string();
  }
  if (const Json* command = body.Find("command"); command != nullptr && !command->is_null()) {
    if (command->is_string()) {
      if (command->as_string().empty() || HasNul(command->as_string()))
        return Bad("command must not be empty");
      spec.command = {"/bin/sh", "-c", command->as_string()};
    } else if (command->is_array()) {
      if (command->as_array().empty() || command->as_array().size() > kMaxCommandArgs)
        return Bad("command must be an array of 1 to 1024 strings");
      for (const Json& arg : command->as_array()) {
        if (!arg.is_string() || HasNul(arg.as_string()))
          return Bad("command must be an array of strings (or one string run with /bin/sh -c)");
        spec.command.push_back(arg.as_string());
      }
      if (spec.command.front().empty()) return Bad("command[0] must not be empty");
    } else {
      return Bad("command must be an array of strings (or one string run with /bin/sh -c)");
    }
  }
  if (spec.image.empty() && spec.command.empty()) {
    if (default_image.empty()) return Bad("command or image is required");
    spec.image = default_image;
  }
  if (const Json* env = body.Find("env"); env != nullptr && !env->is_null()) {
    if (!env->is_object() || env->as_object().size() > kMaxEnv)
      return Bad("env must be an object of at most 1024 strings");
    for (const JsonMember& m : env->as_object()) {
      if (!IsEnvName(m.key))
        return Bad(fmt::format("env name \"{}\" is not a valid variable name",
                               m.key.substr(0, 64)));
      if (!m.value.is_string() || HasNul(m.value.as_string()))
        return Bad(fmt::format("env \"{}\" must be a string", m.key));
      spec.env.emplace_back(m.key, m.value.as_string());
    }
  }
  if (const Json* dir = body.Find("workDir"); dir != nullptr && !dir->is_null()) {
    if (!dir->is_string() || dir->as_string().empty() || dir->as_string().front() != '/' ||
        dir->as_string().size() > kMaxText || HasNul(dir->as_string()))
      return Bad("workDir must be an absolute path");
    spec.work_dir = dir->as_string();
  }
  if (const Json* r = body.Find("resources"); r != nullptr && !r->is_null()) {
    if (!r->is_object()) return Bad("resources must be an object");
    constexpr std::int64_t kMax = std::int64_t{1} << 40;
    if (const Json* v = r->Find("cpuMillis"); v != nullptr && !v->is_null()) {
      AGENTCORE_ASSIGN_OR_RETURN(spec.resources.cpu_millis,
                                 WholeNumber(*v, "resources.cpuMillis", 0, 1'000'000));
    }
    if (const Json* v = r->Find("memoryMB"); v != nullptr && !v->is_null()) {
      AGENTCORE_ASSIGN_OR_RETURN(spec.resources.memory_mb,
                                 WholeNumber(*v, "resources.memoryMB", 0, 16'777'216));
    }
    if (const Json* v = r->Find("timeoutMs"); v != nullptr && !v->is_null()) {
      AGENTCORE_ASSIGN_OR_RETURN(spec.resources.timeout_ms,
                                 WholeNumber(*v, "resources.timeoutMs", 0, kMax));
    }
  }
  if (const Json* n = body.Find("network"); n != nullptr && !n->is_null()) {
    if (!n->is_string()) return Bad("network must be a string (none, outgoing or exposed)");
    AGENTCORE_ASSIGN_OR_RETURN(spec.network, ParseSessionNetwork(n->as_string()));
  }
  if (const Json* ports = body.Find("ports"); ports != nullptr && !ports->is_null()) {
    if (!ports->is_array() || ports->as_array().size() > kMaxPorts)
      return Bad("ports must be an array of at most 64 ports");
    for (const Json& p : ports->as_array()) {
      SessionPort port;
      if (p.is_number()) {
        AGENTCORE_ASSIGN_OR_RETURN(std::int64_t n, WholeNumber(p, "a port", 1, 65535));
        port.port = static_cast<std::uint16_t>(n);
        port.name = std::to_string(n);
      } else if (p.is_object()) {
        const Json* number = p.Find("port");
        if (number == nullptr) return Bad("a port needs \"port\"");
        AGENTCORE_ASSIGN_OR_RETURN(std::int64_t n, WholeNumber(*number, "port", 1, 65535));
        port.port = static_cast<std::uint16_t>(n);
        const std::string* name = p.FindString("name");
        port.name = name != nullptr ? *name : std::to_string(n);
        if (!IsPortName(port.name))
          return Bad("a port's name must be 1-64 characters of A-Z a-z 0-9 . _ -");
      } else {
        return Bad("ports must be numbers or {\"name\",\"port\"} objects");
      }
      for (const SessionPort& other : spec.ports) {
        if (other.port == port.port || other.name == port.name)
          return Bad(fmt::format("port {} (\"{}\") is declared twice", port.port, port.name));
      }
      spec.ports.push_back(std::move(port));
    }
  }
  return spec;
}

// `resources`, `network` and `ports`, as the stored spec and the envelope both write them.
void SetResourcesNetworkPorts(const SessionSpecFields& spec, Json* out) {
  Json resources = Json::Object();
  resources.Set("cpuMillis", spec.resources.cpu_millis);
  resources.Set("memoryMB", spec.resources.memory_mb);
  resources.Set("timeoutMs", spec.resources.timeout_ms);
  out->Set("resources", std::move(resources));
  out->Set("network", SessionNetworkName(spec.network));
  Json ports = Json::Array();
  for (const SessionPort& p : spec.ports) {
    Json port = Json::Object();
    port.Set("name", p.name);
    port.Set("port", p.port);
    ports.as_array().push_back(std::move(port));
  }
  out->Set("ports", std::move(ports));
}

Json SpecToJson(const SessionSpecFields& spec) {
  Json out = Json::Object();
  if (!spec.image.empty()) out.Set("image", spec.image);
  if (!spec.command.empty()) {
    Json command = Json::Array();
    for (const std::string& arg : spec.command) command.as_array().emplace_back(arg);
    out.Set("command", std::move(command));
  }
  Json env = Json::Object();
  for (const auto& [name, value] : spec.env) env.Set(name, value);
  out.Set("env", std::move(env));
  if (!spec.work_dir.empty()) out.Set("workDir", spec.work_dir);
  SetResourcesNetworkPorts(spec, &out);
  return out;
}

Result<SessionSpecFields> SpecFromJson(const Json& spec) { return ParseSessionBody(spec, ""); }

// --- The service

SessionServiceImpl::SessionServiceImpl(Hub& hub, SessionServiceOptions options,
                                       Status sandbox_error)
    : hub_(hub), options_(std::move(options)), sandbox_error_(std::move(sandbox_error)) {
  if (options_.instance.empty()) options_.instance = RuntimeInstanceForDataDir(options_.data_dir);
}

SessionServiceImpl::~SessionServiceImpl() {
  Close();
  std::unique_lock lock(mu_);
  // Exits posted before Close; bounded so a stopped borrowed executor cannot hang us.
  posted_cv_.wait_for(lock, options_.stop_grace + std::chrono::seconds(5),
                      [&] { return posted_ == 0; });
}

std::string SessionServiceImpl::SessionDir(std::string_view id) const {
  return (std::filesystem::path(options_.data_dir) / "sessions" / std::string(id)).string();
}

std::string SessionServiceImpl::WorkspaceDir(std::string_view id) const {
  return (std::filesystem::path(SessionDir(id)) / "workspace").string();
}

Result<Session> SessionServiceImpl::Find(const Principal& caller, std::string_view id) {
  if (!IsSessionIdShape(id)) return NotFoundStatus(id.substr(0, 64));
  Result<Session> s = hub_.store().GetSession(id);
  if (!s) {
    if (s.status().code() == ErrorCode::kNotFound) return NotFoundStatus(id);
    return s.status();
  }
  // Another space's session is answered like a missing one.
  if (s->owner_id != caller.space_id || s->state == SessionState::kDeleted) {
    return NotFoundStatus(id);
  }
  return s;
}

std::shared_ptr<LiveSession> SessionServiceImpl::LiveFor(const Session& session) {
  std::lock_guard lock(mu_);
  auto it = live_.find(session.id);
  if (it != live_.end()) return it->second;
  auto live = std::make_shared<LiveSession>(this, session.id, session.owner_id);
  const UnixMillis now = Now();
  if (Result<SessionSpecFields> spec = SpecFromJson(session.spec)) live->resources = spec->resources;
  {
    std::lock_guard out(live->mu);
    live->state = session.state;
    live->last_exit_code = session.exit_code;
    live->last_exit_reason = session.reason;
    live->last_activity = now;
    live->state_since = now;
    live->started_at = session.started_at.value_or(0);
  }
  {
    std::lock_guard w(live->watch_mu);
    live->last_change.state = session.state;
    live->last_change.generation = session.generation;
    live->last_change.reason = session.reason;
    live->last_change.exit_code = session.exit_code;
    live->last_change.at = session.updated_at;
  }
  live_.emplace(session.id, live);
  return live;
}

void SessionServiceImpl::Forget(const std::string& id) {
  std::lock_guard lock(mu_);
  live_.erase(id);
}

SessionRuntime* SessionServiceImpl::RuntimeFor(const SessionSpecFields& spec, Status* why) {
  if (spec.image.empty()) {
    if (options_.sandbox != nullptr) return options_.sandbox.get();
    *why = !sandbox_error_.ok()
               ? Status(ErrorCode::kUnavailable, sandbox_error_.message())
               : Status(ErrorCode::kUnavailable, "no sandbox runtime for sessions without an image");
    return nullptr;
  }
  if (options_.containers != nullptr) return options_.containers.get();
  *why = Status(ErrorCode::kUnavailable,
                "no container runtime: start the server with DOCKER_HOST / --session-runtime "
                "docker");
  return nullptr;
}

Status SessionServiceImpl::CheckRunningCap(const Principal& caller, const std::string& key) {
  const std::size_t cap = caller.max_running_sessions != 0 ? caller.max_running_sessions
                                                           : options_.max_running_sessions_per_key;
  if (cap == 0) return Status();
  SessionFilter filter;
  filter.api_key_id = key;
  filter.states = {SessionState::kCreating, SessionState::kRunning};
  AGENTCORE_ASSIGN_OR_RETURN(std::size_t running, hub_.store().CountSessions(filter));
  if (running >= cap) {
    return Status(ErrorCode::kRateLimited,
                  fmt::format("too many running sessions for this key ({} of {}): stop one first",
                              running, cap));
  }
  return Status();
}

Status SessionServiceImpl::ReservePorts(LiveSession& live, const SessionSpecFields& spec) {
  // Only the sandbox shares the host's ports; the container engine picks host ports itself.
  if (!spec.image.empty() || spec.network != SessionNetwork::kExposed) return Status();
  std::lock_guard lock(mu_);
  for (const SessionPort& p : spec.ports) {
    auto it = ports_.find(p.port);
    if (it != ports_.end() && it->second != live.id) {
      return Status(ErrorCode::kAlreadyExists,
                    fmt::format("port {} is in use by another running session", p.port));
    }
  }
  for (const SessionPort& p : spec.ports) {
    ports_[p.port] = live.id;
    live.held_ports.push_back(p.port);
  }
  return Status();
}

void SessionServiceImpl::ReleasePorts(LiveSession& live) {
  std::lock_guard lock(mu_);
  for (std::uint16_t port : live.held_ports) {
    auto it = ports_.find(port);
    if (it != ports_.end() && it->second == live.id) ports_.erase(it);
  }
  live.held_ports.clear();
}

Result<Session> SessionServiceImpl::Transition(LiveSession& live, Session session,
                                               SessionEvent event, std::string reason,
                                               std::optional<int> exit_code) {
  AGENTCORE_ASSIGN_OR_RETURN(SessionState next, NextSessionState(session.state, event));
  const UnixMillis now = Now();
  if (next != SessionState::kCreating && next != SessionState::kRunning) {
    // Nothing of it runs here any more (no store call when the lease is not held).
    if (ClusterLink* link = hub_.cluster_link(); link != nullptr) {
      link->Release(SessionLeaseKey(session.id));
    }
  }
  const SessionState from = session.state;
  if (from == SessionState::kRunning && next != SessionState::kRunning) {
    if (session.started_at && now > *session.started_at) {
      session.running_ms += now - *session.started_at;
    }
    session.stopped_at = now;
  }
  if (next == SessionState::kRunning) {
    session.started_at = now;
    session.exit_code.reset();
  }
  if (event == SessionEvent::kUpgrade) ++session.generation;
  if (exit_code) session.exit_code = exit_code;
  session.state = next;
  session.reason = std::move(reason);
  AGENTCORE_ASSIGN_OR_RETURN(Session stored, hub_.store().PutSession(session));
  {
    std::lock_guard lock(live.mu);
    live.state = next;
    live.state_since = now;
    live.last_activity = now;
    if (next == SessionState::kRunning) live.started_at = now;
    if (next == SessionState::kCreating) live.phase = ProcessPhase::kStarting;
    if (exit_code) live.last_exit_code = exit_code;
  }
  std::lock_guard lock(live.watch_mu);
  SessionChange change;
  change.state = next;
  change.generation = stored.generation;
  change.reason = stored.reason;
  change.exit_code = stored.exit_code;
  change.at = now;
  live.last_change = change;
  for (auto& [unused, watcher] : live.watchers) {
    change.seq = ++watcher.seq;
    watcher.sink(change);
  }
  return stored;
}

Result<Session> SessionServiceImpl::StartProcess(LiveSession& live, Session session) {
  // Clustered: this node runs it from now on (renewed with the node's other leases).
  if (ClusterLink* link = hub_.cluster_link(); link != nullptr) {
    (void)link->HoldOrTake(SessionLeaseKey(session.id));
  }
  Result<SessionSpecFields> parsed = SpecFromJson(session.spec);
  Status why;
  SessionRuntime* runtime = parsed ? RuntimeFor(*parsed, &why) : nullptr;
  if (!parsed) why = parsed.status();
  if (runtime == nullptr) {
    {
      std::lock_guard lock(live.mu);
      live.phase = ProcessPhase::kNone;
    }
    ReleasePorts(live);
    return Transition(live, std::move(session), SessionEvent::kFail,
                      "start failed: " + why.message());
  }
  const SessionSpecFields& fields = *parsed;
  SessionSpec spec;
  spec.session_id = session.id;
  spec.instance = options_.instance;
  spec.image = fields.image;
  spec.command = fields.command;
  spec.env = fields.env;
  spec.work_dir = fields.work_dir.empty() ? "/workspace" : fields.work_dir;
  spec.workspace_dir = WorkspaceDir(session.id);
  spec.resources = fields.resources;
  spec.network = fields.network;
  spec.ports = fields.ports;
  std::error_code ec;
  std::filesystem::create_directories(spec.workspace_dir, ec);
  live.resources = fields.resources;
  live.stop_requested = false;
  live.stop_reason.clear();
  {
    std::lock_guard lock(live.mu);
    live.phase = ProcessPhase::kStarting;
    ++live.token;
  }
  const UnixMillis begun = Now();
  Result<std::unique_ptr<SessionProcess>> started =
      ec ? Result<std::unique_ptr<SessionProcess>>(
               Status(ErrorCode::kInternal, "cannot create the workspace: " + ec.message()))
         : runtime->Start(spec, &live);
  if (!started) {
    {
      std::lock_guard lock(live.mu);
      live.phase = ProcessPhase::kNone;
    }
    ReleasePorts(live);
    return Transition(live, std::move(session), SessionEvent::kFail,
                      "start failed: " + started.status().message());
  }
  std::shared_ptr<SessionProcess> process(std::move(started).value());
  live.process = process;
  const UnixMillis took = Now() - begun;
  if (took > options_.startup_timeout.count()) {
    StopProcess(live, std::chrono::milliseconds(0));
    return Transition(live, std::move(session), SessionEvent::kFail,
                      fmt::format("startup timeout: not running after {} ms",
                                  options_.startup_timeout.count()));
  }
  {
    std::lock_guard lock(live.mu);
    if (live.phase == ProcessPhase::kStarting) live.phase = ProcessPhase::kRunning;
    live.stdin_target = process;
  }
  session.container_id = process->id();
  Result<Session> ready = Transition(live, std::move(session), SessionEvent::kReady, "ready");
  if (!ready) {
    StopProcess(live, std::chrono::milliseconds(0));
    return ready.status();
  }
  // A command that ended already (`echo hi`): failed with its exit, at once.
  return Reconcile(live, *std::move(ready));
}

void SessionServiceImpl::StopProcess(LiveSession& live, std::chrono::milliseconds grace) {
  std::shared_ptr<SessionProcess> process = std::move(live.process);
  live.process.reset();
  std::shared_ptr<SessionProcess> target;
  if (process != nullptr) {
    live.stop_requested = true;
    (void)process->Stop(grace);  // returns once OnExit was called, or failed trying
  }
  {
    std::lock_guard lock(live.mu);
    if (live.phase == ProcessPhase::kRunning || live.phase == ProcessPhase::kStarting) {
      live.phase = ProcessPhase::kExited;
    }
    target = std::move(live.stdin_target);
  }
  ReleasePorts(live);
  // `process` and `target` go here, outside every lock: the destructor may wait.
}

Result<Session> SessionServiceImpl::Reconcile(LiveSession& live, Session session) {
  if (!IsLive(session.state) || session.instance != options_.instance) return session;
  bool gone = false;
  {
    std::lock_guard lock(live.mu);
    gone = live.phase == ProcessPhase::kExited ||
           (live.phase == ProcessPhase::kNone && session.state == SessionState::kRunning);
  }
  if (!gone && live.process != nullptr && !live.process->running()) gone = true;
  if (!gone) return session;
  const bool requested = live.stop_requested;
  // Stop returns once the process's OnExit was called: a process that is no longer running
  // but whose exit was not delivered yet gets its exit code and reason that way.
  StopProcess(live, std::chrono::milliseconds(0));
  std::optional<int> code;
  std::string why = "the session's process is gone";
  {
    std::lock_guard lock(live.mu);
    live.phase = ProcessPhase::kExited;
    if (live.exited_token == live.token && live.token != 0) {
      code = live.last_exit_code;
      if (!live.last_exit_reason.empty()) why = live.last_exit_reason;
    }
  }
  std::string reason = requested && !live.stop_reason.empty() ? live.stop_reason : why;
  // A command that finished on its own with status 0 did its job: the session is stopped (and
  // may be resumed), not failed. Any other end nobody asked for is a failure.
  const bool clean = requested || (code.has_value() && *code == 0);
  return Transition(live, std::move(session), clean ? SessionEvent::kStop : SessionEvent::kFail,
                    std::move(reason), code);
}

void SessionServiceImpl::PostExit(std::shared_ptr<LiveSession> live, std::uint64_t token) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;  // Close() and the destructor settle every session themselves
    ++posted_;
  }
  hub_.Post([this, live = std::move(live), token] {
    {
      std::lock_guard op(live->op_mu);
      std::uint64_t current = 0;
      {
        std::lock_guard lock(live->mu);
        current = live->token;
      }
      if (current == token) {
        if (Result<Session> s = hub_.store().GetSession(live->id); s && IsLive(s->state)) {
          (void)Reconcile(*live, *std::move(s));
        }
      }
    }
    std::lock_guard lock(mu_);
    --posted_;
    posted_cv_.notify_all();
  });
}

// --- API

Result<Session> SessionServiceImpl::Create(const Principal& caller, const Json& body) {
  AGENTCORE_ASSIGN_OR_RETURN(SessionSpecFields spec,
                             ParseSessionBody(body, options_.default_image));
  Status why;
  if (RuntimeFor(spec, &why) == nullptr) return why;
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status(ErrorCode::kUnavailable, "the server is shutting down");
  }
  const std::string key = SessionKeyOf(caller);
  Session s;
  s.id = hub_.NewId();
  s.owner_id = caller.space_id;
  s.state = SessionState::kCreating;
  s.generation = 1;
  s.image = spec.image;
  s.api_key_id = key;
  s.instance = options_.instance;
  s.spec = SpecToJson(spec);
  s.reason = "created";
  s.cpu_millis = spec.resources.cpu_millis;
  s.memory_mb = spec.resources.memory_mb;
  auto live = std::make_shared<LiveSession>(this, s.id, s.owner_id);
  std::lock_guard op(live->op_mu);
  Session stored;
  {
    std::lock_guard create(create_mu_);
    if (options_.max_sessions_per_space != 0) {
      SessionFilter filter;
      filter.owner_id = caller.space_id;
      AGENTCORE_ASSIGN_OR_RETURN(std::size_t n, hub_.store().CountSessions(filter));
      if (n >= options_.max_sessions_per_space) {
        return Status(ErrorCode::kRateLimited,
                      fmt::format("too many sessions in this space (max {}): delete one first",
                                  options_.max_sessions_per_space));
      }
    }
    AGENTCORE_RETURN_IF_ERROR(CheckRunningCap(caller, key));
    AGENTCORE_RETURN_IF_ERROR(ReservePorts(*live, spec));
    std::error_code ec;
    std::filesystem::create_directories(WorkspaceDir(s.id), ec);
    if (ec) {
      ReleasePorts(*live);
      return Status(ErrorCode::kInternal, "cannot create the session's workspace: " + ec.message());
    }
    Result<Session> put = hub_.store().PutSession(s);
    if (!put) {
      ReleasePorts(*live);
      std::filesystem::remove_all(SessionDir(s.id), ec);
      return put.status();
    }
    stored = *std::move(put);
  }
  const UnixMillis now = Now();
  {
    std::lock_guard lock(live->mu);
    live->state = SessionState::kCreating;
    live->phase = ProcessPhase::kStarting;
    live->state_since = now;
    live->last_activity = now;
  }
  {
    std::lock_guard lock(live->watch_mu);
    live->last_change.state = SessionState::kCreating;
    live->last_change.generation = stored.generation;
    live->last_change.reason = stored.reason;
    live->last_change.at = now;
  }
  {
    std::lock_guard lock(mu_);
    live_.emplace(stored.id, live);
  }
  return StartProcess(*live, std::move(stored));
}

Result<Session> SessionServiceImpl::Get(const Principal& caller, std::string_view id) {
  AGENTCORE_ASSIGN_OR_RETURN(Session s, Find(caller, id));
  if (!IsLive(s.state) || s.instance != options_.instance) return s;
  std::shared_ptr<LiveSession> live = LiveFor(s);
  bool exited = false;
  {
    std::lock_guard lock(live->mu);
    live->last_activity = Now();
    exited = live->phase == ProcessPhase::kExited;
  }
  // Busy with a start (it may take the runtime's start timeout): the answer is the stored
  // state. A process that exited is being settled (one store write): wait for it, so a Get
  // right after an exit never answers running.
  std::unique_lock op(live->op_mu, std::defer_lock);
  if (exited) {
    op.lock();
  } else if (!op.try_lock()) {
    return s;
  }
  AGENTCORE_ASSIGN_OR_RETURN(s, hub_.store().GetSession(s.id));
  return Reconcile(*live, std::move(s));
}

Result<SessionPage> SessionServiceImpl::List(const Principal& caller, std::string_view state,
                                             std::string_view cursor, std::size_t limit) {
  SessionFilter filter;
  filter.owner_id = caller.space_id;
  if (!state.empty()) {
    Result<SessionState> parsed = ParseSessionState(state);
    if (!parsed) {
      return Bad(fmt::format(
          "unknown status \"{}\" (creating, running, stopped or failed)", state.substr(0, 64)));
    }
    if (*parsed == SessionState::kDeleted) return SessionPage{};  // never listed
    filter.states = {*parsed};
  }
  if (limit == 0) limit = kDefaultPage;
  if (limit > kMaxPage) return Bad("limit must be from 1 to 100");
  if (!cursor.empty() && !IsSessionIdShape(cursor)) return Bad("cursor is not a valid cursor");
  filter.before_id = std::string(cursor);
  filter.limit = limit + 1;
  AGENTCORE_ASSIGN_OR_RETURN(std::vector<Session> found, hub_.store().FindSessions(filter));
  SessionPage page;
  if (found.size() > limit) {
    found.resize(limit);
    page.next_cursor = found.back().id;
  }
  page.sessions = std::move(found);
  return page;
}

Result<Session> SessionServiceImpl::Act(const Principal& caller, std::string_view id,
                                        SessionEvent event) {
  AGENTCORE_ASSIGN_OR_RETURN(Session found, Find(caller, id));
  std::shared_ptr<LiveSession> live = LiveFor(found);
  std::lock_guard op(live->op_mu);
  AGENTCORE_ASSIGN_OR_RETURN(Session s, hub_.store().GetSession(found.id));
  if (s.state == SessionState::kDeleted) return NotFoundStatus(id);
  AGENTCORE_ASSIGN_OR_RETURN(s, Reconcile(*live, std::move(s)));
  AGENTCORE_RETURN_IF_ERROR(NextSessionState(s.state, event).status());
  if (event == SessionEvent::kStop) {
    live->stop_reason = "stopped by request";
    StopProcess(*live, options_.stop_grace);
    std::optional<int> code;
    {
      std::lock_guard lock(live->mu);
      code = live->last_exit_code;
    }
    return Transition(*live, std::move(s), SessionEvent::kStop, "stopped by request", code);
  }
  // Resume or upgrade: a new process.
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status(ErrorCode::kUnavailable, "the server is shutting down");
  }
  AGENTCORE_ASSIGN_OR_RETURN(SessionSpecFields spec, SpecFromJson(s.spec));
  Status why;
  if (RuntimeFor(spec, &why) == nullptr) return why;
  const bool was_running = s.state == SessionState::kRunning;
  if (was_running) {
    live->stop_reason = "upgraded";
    StopProcess(*live, options_.stop_grace);
  }
  std::unique_lock create(create_mu_);
  if (!was_running) {
    AGENTCORE_RETURN_IF_ERROR(CheckRunningCap(caller, s.api_key_id.empty() ? SessionKeyOf(caller)
                                                                          : s.api_key_id));
  }
  AGENTCORE_RETURN_IF_ERROR(ReservePorts(*live, spec));
  Result<Session> creating =
      Transition(*live, std::move(s), event,
                 event == SessionEvent::kUpgrade ? "upgraded" : "resumed");
  if (!creating) {
    ReleasePorts(*live);
    return creating.status();
  }
  // create_mu_ is released before the start: the row is stored as creating, so caps count it.
  create.unlock();
  return StartProcess(*live, *std::move(creating));
}

Result<Session> SessionServiceImpl::Stop(const Principal& caller, std::string_view id) {
  return Act(caller, id, SessionEvent::kStop);
}
Result<Session> SessionServiceImpl::Resume(const Principal& caller, std::string_view id) {
  return Act(caller, id, SessionEvent::kResume);
}
Result<Session> SessionServiceImpl::Upgrade(const Principal& caller, std::string_view id) {
  return Act(caller, id, SessionEvent::kUpgrade);
}

Status SessionServiceImpl::Delete(const Principal& caller, std::string_view id) {
  AGENTCORE_ASSIGN_OR_RETURN(Session found, Find(caller, id));
  std::shared_ptr<LiveSession> live = LiveFor(found);
  std::lock_guard op(live->op_mu);
  AGENTCORE_ASSIGN_OR_RETURN(Session s, hub_.store().GetSession(found.id));
  if (s.state == SessionState::kDeleted) return NotFoundStatus(id);
  live->stop_reason = "deleted";
  StopProcess(*live, std::chrono::milliseconds(0));
  // The id has the shape IsSessionIdShape checked: the directory is data_dir/sessions/<id>.
  std::error_code ec;
  std::filesystem::remove_all(SessionDir(s.id), ec);
  if (ec) {
    return Status(ErrorCode::kInternal, "cannot remove the session's workspace: " + ec.message());
  }
  AGENTCORE_RETURN_IF_ERROR(Transition(*live, std::move(s), SessionEvent::kDelete, "deleted").status());
  live->EndAttachments("session deleted");
  Forget(live->id);
  return Status();
}

Json SessionServiceImpl::Envelope(const Session& session) {
  Json out = Json::Object();
  out.Set("id", session.id);
  out.Set("status", SessionStateName(session.state));
  SessionSpecFields spec;
  if (Result<SessionSpecFields> parsed = SpecFromJson(session.spec)) spec = *std::move(parsed);
  out.Set("image", session.image.empty() ? Json() : Json(session.image));
  Json command = Json::Array();
  for (const std::string& arg : spec.command) command.as_array().emplace_back(arg);
  out.Set("command", std::move(command));
  out.Set("workDir", spec.work_dir.empty() ? std::string("/workspace") : spec.work_dir);
  Json names = Json::Array();
  for (const auto& [name, value] : spec.env) names.as_array().emplace_back(name);
  out.Set("envNames", std::move(names));
  SetResourcesNetworkPorts(spec, &out);
  out.Set("generation", session.generation);
  out.Set("exitCode", session.exit_code ? Json(*session.exit_code) : Json());
  out.Set("reason", session.reason);
  out.Set("createdAt", FormatIsoTimestamp(session.created_at));
  out.Set("updatedAt", FormatIsoTimestamp(session.updated_at));
  out.Set("startedAt", OptionalMillis(session.started_at));
  out.Set("stoppedAt", OptionalMillis(session.stopped_at));
  return out;
}

Result<std::string> SessionServiceImpl::ServiceEndpoint(const Principal& caller,
                                                        std::string_view id,
                                                        std::string_view name) {
  AGENTCORE_ASSIGN_OR_RETURN(Session s, Get(caller, id));
  AGENTCORE_ASSIGN_OR_RETURN(SessionSpecFields spec, SpecFromJson(s.spec));
  auto port = std::find_if(spec.ports.begin(), spec.ports.end(),
                           [&](const SessionPort& p) { return p.name == name; });
  if (port == spec.ports.end()) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("session has no service \"{}\"", name.substr(0, 64)));
  }
  if (s.state == SessionState::kCreating) {
    return Status(ErrorCode::kUnavailable, "the session is starting: retry");
  }
  if (s.state != SessionState::kRunning) {
    return Status(ErrorCode::kConflict, "session is not running");
  }
  if (std::string owner = RunsElsewhere(s); !owner.empty()) return SessionElsewhere(owner);
  std::shared_ptr<LiveSession> live = LiveFor(s);
  std::shared_ptr<SessionProcess> process;
  {
    std::lock_guard lock(live->mu);
    process = live->stdin_target;
  }
  if (process == nullptr) return Status(ErrorCode::kConflict, "session is not running");
  return process->Endpoint(port->port);
}

Result<Json> SessionServiceImpl::Usage(const Principal& caller, std::string_view key_id) {
  const std::string own = SessionKeyOf(caller);
  const std::string key = key_id.empty() ? own : std::string(key_id);
  if (key != own && !caller.admin) {
    return Status(ErrorCode::kPermissionDenied,
                  "reading another key's usage needs an administrator");
  }
  AGENTCORE_ASSIGN_OR_RETURN(SessionUsage u, hub_.store().SumSessionUsage(key, Now()));
  Json out = Json::Object();
  out.Set("key", key);
  out.Set("sessions", u.sessions);
  out.Set("running", u.running);
  out.Set("sessionSeconds", static_cast<double>(u.running_ms) / 1000.0);
  out.Set("cpuMilliSeconds", static_cast<double>(u.cpu_milli_ms) / 1000.0);
  out.Set("memoryMBSeconds", static_cast<double>(u.memory_mb_ms) / 1000.0);
  return out;
}

}  // namespace hub_internal
}  // namespace agentcore
