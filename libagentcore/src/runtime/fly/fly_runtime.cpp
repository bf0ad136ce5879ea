// SPDX-License-Identifier: Apache-2.0
// The Fly.io Machines runtime (see fly.hpp for the contract, docs/runtimes.md for the design).
//
// Locking: mu_ guards machines_ and the flags; events are queued under it (events_, an
// EventDispatcher, delivers them on its own thread). No API call is made with mu_ held; a
// call's outcome is applied under mu_ afterwards, and only if the record is still the same
// machine (the machine id is compared), so a slow call never overwrites a newer activation.

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/runtime/agent_image.hpp>
#include <agentcore/runtime/fly.hpp>
#include <agentcore/runtime/runtime.hpp>

#include "runtime/event_dispatcher.hpp"
#include "runtime/fly/fly_api.hpp"

namespace agentcore {
namespace {

using internal::FlyMachine;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxSystemPromptBytes = 100 * 1024;
constexpr const char* kInstanceKey = "agentcore_instance";
constexpr const char* kAgentIdKey = "agentcore_agent_id";
// Fly's wait endpoint takes at most 60 s per call.
constexpr std::int64_t kMaxWaitSeconds = 60;

bool IsPendingState(std::string_view s) { return s == "created" || s == "starting"; }
bool IsTransitionalState(std::string_view s) {
  return s == "stopping" || s == "suspending" || s == "replacing" || s == "updating";
}

// One agent this runtime has started (in this process's lifetime).
struct Machine {
  RuntimeAgentState state;
  std::string machine_id;
  std::string fly_instance_id;  // Fly's instance id of the machine (for /wait)
  bool running = false;         // created and not seen ended
  bool started = false;         // seen `started`
  bool stop_requested = false;
  bool stopping_in_progress = false;  // a Suspend is making its API calls
  std::string stop_reason;
  Steady::time_point start_deadline;
};

// What one API call gave.
struct CallResult {
  Status status;  // transport failure or exhausted retries; OK when a response came
  HttpResponse response;
};

class FlyRuntime final : public Runtime {
 public:
  FlyRuntime(FlyOptions options, const RuntimeOptions& runtime_options)
      : options_(std::move(options)),
        observer_(runtime_options.observer),
        clock_(runtime_options.clock != nullptr ? runtime_options.clock : SystemClock()),
        http_(NewHttpClient()),
        apps_url_(options_.api_url + "/apps/" + UrlEncodeComponent(options_.app_name)),
        callback_url_(options_.callback_url.empty() ? "https://" + options_.app_name + ".fly.dev"
                                                    : options_.callback_url),
        rng_(std::random_device{}()),
        events_(observer_, "agentcore-flyev") {
    watcher_ = std::thread([this] { WatchLoop(); });
  }

  ~FlyRuntime() override {
    if (options_.stop_agents_on_destroy) {
      (void)Shutdown();
      return;
    }
    // Leave the machines as a crash would; only stop the thread (no events).
    {
      std::lock_guard<std::mutex> lock(mu_);
      shut_down_ = true;
      stop_watcher_ = true;
    }
    Wake();
    {
      std::lock_guard<std::mutex> lock(join_mu_);
      if (watcher_.joinable()) watcher_.join();
    }
    events_.Stop();  // what was queued before, while the runtime is still whole
  }

  std::string_view Kind() const override { return "fly"; }
  Result<RuntimeAgentState> Activate(const ActivateRequest& req) override;
  Status Checkin(std::string_view agent_id, std::string_view endpoint) override;
  Status Suspend(std::string_view agent_id, std::string_view reason) override;
  std::optional<RuntimeAgentState> GetState(std::string_view agent_id) const override;
  std::vector<RuntimeAgentState> ListAgents() const override;
  Result<LogChunk> ReadLog(std::string_view agent_id, std::uint64_t offset,
                           std::size_t max_bytes) const override;
  Json RouteHints(std::string_view agent_id) const override;
  Result<std::vector<std::string>> ReapOrphans() override;
  Status Shutdown() override;

 private:
  // One API call with the runtime's retry policy. `retry_5xx`: the call is idempotent, so 5xx
  // answers and failed connections are retried too (429 always is). `extra_timeout` is added
  // to request_timeout (the wait calls).
  CallResult Call(std::string method, const std::string& url, std::string body, bool retry_5xx,
                  milliseconds extra_timeout = milliseconds(0));
  std::uint64_t Random() {
    std::lock_guard<std::mutex> lock(rng_mu_);
    return rng_();
  }
  // Stops and destroys machine `machine_id`: stop, wait for stopped (up to stop_grace),
  // DELETE ?force=true. A machine that is already gone (404) counts as destroyed.
  Status StopAndDestroy(const std::string& agent_id, const std::string& machine_id,
                        const std::string& fly_instance_id, bool graceful);
  Status Destroy(const std::string& agent_id, const std::string& machine_id);
  // Marks the agent ended (under mu_) and queues its event.
  void EndLocked(Machine& m, AgentStatus status, std::optional<AgentExit> exit, std::string reason,
                 std::optional<AgentEventKind> event);
  void Wake() {
    std::lock_guard<std::mutex> lock(wake_mu_);
    wake_ = true;
    wake_cv_.notify_all();
  }
  void WatchLoop();
  void PollMachines();
  Result<std::vector<FlyMachine>> ListOwnMachines();

  // Constant after construction.
  const FlyOptions options_;
  RuntimeObserver* const observer_;
  Clock* const clock_;
  const std::unique_ptr<HttpClient> http_;
  const std::string apps_url_;      // <api_url>/apps/<app>
  const std::string callback_url_;  // default CAST_CALLBACK_URL

  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // guarded by rng_mu_

  std::thread watcher_;  // "agentcore-fly"; joined under join_mu_
  std::mutex join_mu_;
  internal::EventDispatcher events_;  // "agentcore-flyev"; events are pushed under mu_
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;  // guarded by wake_mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;  // notified when a machine ends
  // Guarded by mu_.
  std::map<std::string, Machine, std::less<>> machines_;
  bool shut_down_ = false;
  bool stop_watcher_ = false;
};

// --- API calls

CallResult FlyRuntime::Call(std::string method, const std::string& url, std::string body,
                            bool retry_5xx, milliseconds extra_timeout) {
  HttpRequest req;
  req.method = std::move(method);
  req.url = url;
  req.headers.emplace_back("Authorization", "Bearer " + options_.api_token);
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("Accept", "application/json");
  req.body = std::move(body);
  req.timeout = options_.request_timeout + extra_timeout;
  req.connect_timeout = std::min(options_.request_timeout, milliseconds(10'000));
  req.max_response_bytes = 16 * 1024 * 1024;
  CallResult out;
  for (int attempt = 1;; ++attempt) {
    Result<HttpResponse> r = http_->Send(req);
    std::optional<milliseconds> retry_after;
    bool retry = false;
    if (!r.ok()) {
      // A create that failed in transit may have been carried out: only idempotent calls
      // are repeated.
      retry = retry_5xx;
      out.status = r.status();
    } else {
      out.status = Status::Ok();
      out.response = *std::move(r);
      const int code = out.response.status;
      if (code == 429) {
        retry = true;
        if (auto ra = out.response.Header("Retry-After"))
          retry_after = internal::ParseRetryAfter(*ra);
      } else if (code >= 500 && retry_5xx) {
        retry = true;
      }
    }
    if (!retry || attempt >= options_.max_attempts) return out;
    std::this_thread::sleep_for(internal::FlyBackoff(attempt, options_.backoff_base,
                                                     options_.backoff_cap, retry_after, Random()));
  }
}

// "fly: <what>: <status> <Fly's message>" or the transport error.
Status ApiError(ErrorCode code_for_4xx, std::string_view what, const CallResult& r) {
  if (!r.status.ok()) {
    ErrorCode code = r.status.code() == ErrorCode::kDeadlineExceeded ? ErrorCode::kDeadlineExceeded
                                                                     : ErrorCode::kUnavailable;
    return Status(code, fmt::format("fly: {}: {}", what, r.status.message()));
  }
  const int s = r.response.status;
  ErrorCode code = code_for_4xx;
  if (s == 429) code = ErrorCode::kRateLimited;
  if (s >= 500) code = ErrorCode::kUnavailable;
  return Status(code, fmt::format("fly: {}: {}", what, internal::FlyErrorText(s, r.response.body)));
}

bool Is2xx(const CallResult& r) {
  return r.status.ok() && r.response.status >= 200 && r.response.status < 300;
}

Status FlyRuntime::Destroy(const std::string& agent_id, const std::string& machine_id) {
  CallResult r =
      Call("DELETE", apps_url_ + "/machines/" + UrlEncodeComponent(machine_id) + "?force=true", "",
           /*retry_5xx=*/true);
  if (Is2xx(r) || (r.status.ok() && r.response.status == 404)) return Status::Ok();
  return ApiError(ErrorCode::kInternal,
                  fmt::format("destroy machine {} of \"{}\"", machine_id, agent_id), r);
}

Status FlyRuntime::StopAndDestroy(const std::string& agent_id, const std::string& machine_id,
                                  const std::string& fly_instance_id, bool graceful) {
  const std::string machine_url = apps_url_ + "/machines/" + UrlEncodeComponent(machine_id);
  if (graceful) {
    const std::int64_t grace_s =
        std::clamp<std::int64_t>((options_.stop_grace.count() + 999) / 1000, 1, kMaxWaitSeconds);
    std::string body;
    JsonWriter(&body)
        .BeginObject()
        .Field("signal", "SIGTERM")
        .Field("timeout", fmt::format("{}s", grace_s))
        .EndObject();
    CallResult stop = Call("POST", machine_url + "/stop", std::move(body), /*retry_5xx=*/true);
    if (stop.status.ok() && stop.response.status == 404) return Status::Ok();  // already gone
    if (Is2xx(stop)) {
      std::string wait_url = machine_url + fmt::format("/wait?state=stopped&timeout={}", grace_s);
      if (!fly_instance_id.empty())
        wait_url += "&instance_id=" + UrlEncodeComponent(fly_instance_id);
      // The outcome does not matter: a machine still running after the grace is destroyed by
      // force all the same.
      (void)Call("GET", wait_url, "", /*retry_5xx=*/true, milliseconds(grace_s * 1000));
    }
  }
  return Destroy(agent_id, machine_id);
}

Result<std::vector<FlyMachine>> FlyRuntime::ListOwnMachines() {
  CallResult r = Call("GET",
                      apps_url_ + "/machines?metadata." + kInstanceKey + "=" +
                          UrlEncodeComponent(options_.instance_name),
                      "", /*retry_5xx=*/true);
  if (!Is2xx(r)) return ApiError(ErrorCode::kInternal, "list machines", r);
  Result<std::vector<FlyMachine>> list = internal::ParseFlyMachineList(r.response.body);
  if (!list.ok()) return Internal("fly: list machines: " + list.status().message());
  // The filter is applied here too: a server that ignored it must not hand us other machines.
  std::erase_if(*list, [&](const FlyMachine& m) {
    auto it = m.metadata.find(kInstanceKey);
    return it == m.metadata.end() || it->second != options_.instance_name;
  });
  return list;
}

// --- Activate

Result<RuntimeAgentState> FlyRuntime::Activate(const ActivateRequest& req) {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(req.agent_id));
  if (req.agent_type.empty()) {
    return InvalidArgument(fmt::format("agent \"{}\" has an empty agent type", req.agent_id));
  }
  for (const auto& [name, value] : req.extra_env) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos ||
        value.find('\0') != std::string::npos) {
      return InvalidArgument(
          fmt::format("invalid environment variable \"{}\" in extra_env", name.substr(0, 100)));
    }
  }
  if (req.system_prompt.size() > kMaxSystemPromptBytes) {
    return TooLarge(fmt::format("system prompt of agent \"{}\" is {} bytes; the limit is {}",
                                req.agent_id, req.system_prompt.size(), kMaxSystemPromptBytes));
  }
  auto image_it = options_.images.find(req.agent_type);
  if (image_it == options_.images.end()) image_it = options_.images.find("*");
  if (image_it == options_.images.end()) {
    return InvalidArgument(
        fmt::format("no image for agent type \"{}\" in the fly runtime (and no \"*\" default)",
                    req.agent_type));
  }
  const AgentImage& image = image_it->second;

  {
    std::unique_lock<std::mutex> lock(mu_);
    const auto deadline = Steady::now() + options_.stop_grace + 4 * options_.request_timeout;
    for (;;) {
      if (shut_down_) return Unavailable("the fly runtime is shut down");
      auto it = machines_.find(req.agent_id);
      if (it == machines_.end() || !it->second.running) break;
      if (!it->second.stop_requested) return it->second.state;  // idempotent
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
        return Unavailable(fmt::format("agent \"{}\" is still stopping", req.agent_id));
      }
    }
    // Reserve the slot so that a concurrent Activate of the same agent returns it.
    Machine& m = machines_[req.agent_id];
    m = Machine{};
    m.running = true;
    m.state.agent_id = req.agent_id;
    m.state.agent_type = req.agent_type;
    m.state.status = AgentStatus::kActivating;
    m.state.started_at = clock_->NowMillis();
  }

  // --- The machine config (Machines API "Create a Machine").
  const std::string callback = req.callback_url.empty() ? callback_url_ : req.callback_url;
  const EnvList env = AgentEnvironment(req, image.env, callback, options_.internal_port);
  const RuntimeAgentIdParts parts = *SplitRuntimeAgentId(req.agent_id);  // validated above
  FlyGuest guest = options_.guest;
  if (image.cpu_millis > 0) guest.cpus = static_cast<int>((image.cpu_millis + 999) / 1000);
  if (image.memory_bytes > 0) {
    guest.memory_mb = static_cast<int>((image.memory_bytes + (1 << 20) - 1) >> 20);
  }
  std::string body;
  {
    JsonWriter w(&body);
    w.BeginObject();
    if (!options_.region.empty()) w.Field("region", options_.region);
    w.Key("config").BeginObject();
    w.Field("image", image.image);
    w.Key("env").BeginObject();
    for (const auto& [name, value] : env) w.Field(name, value);
    w.EndObject();
    if (!image.command.empty()) {
      w.Key("init").BeginObject().Key("cmd").BeginArray();
      for (const std::string& arg : image.command) w.String(arg);
      w.EndArray().EndObject();
    }
    w.Key("guest")
        .BeginObject()
        .Field("cpu_kind", guest.cpu_kind)
        .Field("cpus", guest.cpus)
        .Field("memory_mb", guest.memory_mb)
        .EndObject();
    w.Key("metadata")
        .BeginObject()
        .Field(kInstanceKey, options_.instance_name)
        .Field("agentcore_space", parts.space)
        .Field("agentcore_channel", parts.channel)
        .Field("agentcore_callsign", parts.callsign)
        .Field(kAgentIdKey, req.agent_id)
        .Field("agentcore_agent_type", req.agent_type)
        .EndObject();
    w.Key("restart").BeginObject().Field("policy", "no").EndObject();
    w.Field("auto_destroy", true);
    w.Key("services").BeginArray().BeginObject();
    w.Field("protocol", "tcp").Field("internal_port", options_.internal_port);
    w.Key("ports").BeginArray();
    w.BeginObject().Field("port", 443);
    w.Key("handlers").BeginArray().String("tls").String("http").EndArray().EndObject();
    w.BeginObject().Field("port", 80);
    w.Key("handlers").BeginArray().String("http").EndArray().EndObject();
    w.EndArray();
    w.EndObject().EndArray();
    w.EndObject();  // config
    w.EndObject();
  }

  CallResult r = Call("POST", apps_url_ + "/machines", std::move(body), /*retry_5xx=*/false);
  Result<FlyMachine> created = InvalidArgument("no answer");
  Status failure;
  if (!Is2xx(r)) {
    failure =
        ApiError(ErrorCode::kInternal, fmt::format("create machine for \"{}\"", req.agent_id), r);
  } else {
    created = internal::ParseFlyMachine(r.response.body);
    if (!created.ok()) {
      failure = Internal(fmt::format("fly: create machine for \"{}\": {}", req.agent_id,
                                     created.status().message()));
    }
  }

  std::lock_guard<std::mutex> lock(mu_);
  Machine& m = machines_[req.agent_id];
  if (!failure.ok()) {
    m.running = false;
    m.state.status = AgentStatus::kError;
    m.state.stopped_at = clock_->NowMillis();
    m.state.reason = failure.message();
    cv_.notify_all();
    return failure;
  }
  m.machine_id = created->id;
  m.fly_instance_id = created->instance_id;
  m.state.instance_id = created->id;
  m.state.endpoint = callback;
  m.start_deadline = Steady::now() + options_.start_timeout;
  m.started = created->state == "started";
  if (shut_down_) {
    // Shutdown() ran during the create and could not see this machine: end it here.
    m.stop_requested = true;
    m.stop_reason = "shutdown";
    m.state.status = AgentStatus::kSuspending;
  } else {
    events_.Push(AgentEvent{AgentEventKind::kActivating, req.agent_id, std::nullopt, {}});
  }
  cv_.notify_all();  // a Suspend waiting for the create
  Wake();
  return m.state;
}

// --- Ends

void FlyRuntime::EndLocked(Machine& m, AgentStatus status, std::optional<AgentExit> exit,
                           std::string reason, std::optional<AgentEventKind> event) {
  m.running = false;
  m.stopping_in_progress = false;
  m.state.status = status;
  m.state.exit = exit;
  m.state.stopped_at = clock_->NowMillis();
  m.state.reason = reason;
  if (event) events_.Push(AgentEvent{*event, m.state.agent_id, exit, std::move(reason)});
  cv_.notify_all();
}

Status FlyRuntime::Suspend(std::string_view agent_id, std::string_view reason) {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
  std::string machine_id, fly_instance_id;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto it = machines_.find(agent_id);
      if (it == machines_.end() || !it->second.running) return Status::Ok();
      Machine& m = it->second;
      if (m.machine_id.empty() || m.stopping_in_progress) {
        // Being created, or another Suspend is at work: wait for it.
        if (!m.stop_requested) {
          m.stop_requested = true;
          m.stop_reason = std::string(reason);
          m.state.status = AgentStatus::kSuspending;
        }
        if (cv_.wait_for(lock, options_.stop_grace + 4 * options_.request_timeout) ==
            std::cv_status::timeout) {
          return Status(
              ErrorCode::kDeadlineExceeded,
              fmt::format("fly: agent \"{}\" is still being started or stopped", agent_id));
        }
        continue;
      }
      if (!m.stop_requested) {
        m.stop_requested = true;
        m.stop_reason = std::string(reason);
        m.state.status = AgentStatus::kSuspending;
      }
      m.stopping_in_progress = true;
      machine_id = m.machine_id;
      fly_instance_id = m.fly_instance_id;
      break;
    }
  }
  Status s = StopAndDestroy(std::string(agent_id), machine_id, fly_instance_id, /*graceful=*/true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = machines_.find(agent_id);
    if (it != machines_.end() && it->second.machine_id == machine_id && it->second.running) {
      Machine& m = it->second;
      if (s.ok()) {
        EndLocked(m, AgentStatus::kOffline, std::nullopt, m.stop_reason, AgentEventKind::kOffline);
      } else {
        // Still there as far as we know: the watcher ends it when it disappears, and a later
        // Suspend or Shutdown tries again.
        m.stopping_in_progress = false;
        cv_.notify_all();
      }
    }
  }
  Wake();
  return s;
}

Status FlyRuntime::Shutdown() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    cv_.notify_all();
    for (const auto& [id, m] : machines_) {
      if (m.running) ids.push_back(id);
    }
  }
  std::vector<Status> results(ids.size());
  {
    std::vector<std::thread> stoppers;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      stoppers.emplace_back(
          [this, &ids, &results, i] { results[i] = Suspend(ids[i], "shutdown"); });
    }
    for (std::thread& t : stoppers) t.join();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_watcher_ = true;
  }
  Wake();
  {
    std::lock_guard<std::mutex> lock(join_mu_);
    if (watcher_.joinable() && watcher_.get_id() != std::this_thread::get_id()) watcher_.join();
  }
  events_.Stop();  // delivers what the watcher left
  for (Status& s : results) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// --- The runtime thread

void FlyRuntime::PollMachines() {
  struct Watched {
    std::string agent_id, machine_id;
    bool started;
    Steady::time_point deadline;
  };
  std::vector<Watched> watched;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, m] : machines_) {
      if (m.running && !m.machine_id.empty() && !m.stopping_in_progress) {
        watched.push_back(Watched{id, m.machine_id, m.started, m.start_deadline});
      }
    }
  }
  if (watched.empty()) return;
  Result<std::vector<FlyMachine>> list = ListOwnMachines();
  std::map<std::string, const FlyMachine*> by_id;
  if (list.ok()) {
    for (const FlyMachine& fm : *list) by_id[fm.id] = &fm;
  }
  const auto now = Steady::now();
  for (const Watched& w : watched) {
    const FlyMachine* fm = nullptr;
    if (list.ok()) {
      auto it = by_id.find(w.machine_id);
      if (it != by_id.end()) fm = it->second;
    }
    std::optional<FlyMachine> detail;
    std::string state = fm != nullptr ? fm->state : "";
    if (fm == nullptr && list.ok()) {
      // Not listed: gone, or a list that lags behind the create. The machine itself says.
      CallResult r =
          Call("GET", apps_url_ + "/machines/" + UrlEncodeComponent(w.machine_id), "", true);
      if (r.status.ok() && r.response.status == 404) {
        state = "destroyed";
      } else if (Is2xx(r)) {
        if (auto parsed = internal::ParseFlyMachine(r.response.body); parsed.ok()) {
          state = parsed->state;
          detail = *std::move(parsed);
        }
      }
    }
    if (state == "started") {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = machines_.find(w.agent_id);
      if (it != machines_.end() && it->second.machine_id == w.machine_id) it->second.started = true;
      continue;
    }
    const bool never_started =
        !w.started && now >= w.deadline && (state.empty() || IsPendingState(state));
    if (never_started) {
      // Ends it as failed first, so that Activate may start a fresh one while the old one is
      // destroyed.
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = machines_.find(w.agent_id);
        // A checkin since the snapshot proves it started.
        if (it == machines_.end() || it->second.machine_id != w.machine_id || !it->second.running ||
            it->second.stop_requested || it->second.started) {
          continue;
        }
        EndLocked(it->second, AgentStatus::kError, std::nullopt,
                  fmt::format("machine {} did not start within {} ms (state {})", w.machine_id,
                              options_.start_timeout.count(), state.empty() ? "unknown" : state),
                  AgentEventKind::kFailed);
      }
      (void)Destroy(w.agent_id, w.machine_id);
      continue;
    }
    if (state.empty() || IsPendingState(state) || IsTransitionalState(state)) continue;
    // stopped, suspended, destroyed, failed, or gone from the list: it ended.
    std::optional<AgentExit> exit;
    if (fm != nullptr && fm->exit_code) {
      detail = *fm;
    } else if (!detail) {
      CallResult r =
          Call("GET", apps_url_ + "/machines/" + UrlEncodeComponent(w.machine_id), "", true);
      if (Is2xx(r)) {
        if (auto parsed = internal::ParseFlyMachine(r.response.body); parsed.ok()) {
          detail = *std::move(parsed);
        }
      }
    }
    if (detail && detail->exit_code) {
      exit = AgentExit{detail->exit_signal != 0 ? -1 : *detail->exit_code, detail->exit_signal};
    }
    bool destroy = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = machines_.find(w.agent_id);
      if (it == machines_.end() || it->second.machine_id != w.machine_id || !it->second.running ||
          it->second.stopping_in_progress) {
        continue;
      }
      Machine& m = it->second;
      if (m.stop_requested) {
        EndLocked(m, AgentStatus::kOffline, exit, m.stop_reason, AgentEventKind::kOffline);
      } else if (exit && exit->success()) {
        EndLocked(m, AgentStatus::kOffline, exit, DescribeAgentExit(*exit),
                  AgentEventKind::kOffline);
      } else {
        std::string reason =
            exit ? DescribeAgentExit(*exit)
                 : fmt::format("machine {} ended ({}; exit status unknown)", w.machine_id, state);
        EndLocked(m, AgentStatus::kError, exit, std::move(reason), AgentEventKind::kFailed);
      }
      destroy = state != "destroyed" && state != "destroying";
    }
    // auto_destroy normally does this; a stopped machine left behind would cost money.
    if (destroy) (void)Destroy(w.agent_id, w.machine_id);
  }
}

void FlyRuntime::WatchLoop() {
  ::pthread_setname_np(::pthread_self(), "agentcore-fly");
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_watcher_) break;
    }
    PollMachines();
    std::unique_lock<std::mutex> lock(wake_mu_);
    wake_cv_.wait_for(lock, options_.poll_interval, [this] { return wake_; });
    wake_ = false;
  }
}

// --- Queries

Status FlyRuntime::Checkin(std::string_view agent_id, std::string_view endpoint) {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = machines_.find(agent_id);
    if (it == machines_.end() || !it->second.running || it->second.stop_requested ||
        it->second.machine_id.empty()) {
      return Conflict(fmt::format("agent \"{}\" is not running in the fly runtime", agent_id));
    }
    Machine& m = it->second;
    m.state.endpoint = std::string(endpoint);
    m.started = true;  // it runs: it called us
    if (m.state.status == AgentStatus::kOnline) return Status::Ok();
    m.state.status = AgentStatus::kOnline;
    events_.Push(AgentEvent{AgentEventKind::kOnline, m.state.agent_id, std::nullopt, {}});
  }
  Wake();
  return Status::Ok();
}

std::optional<RuntimeAgentState> FlyRuntime::GetState(std::string_view agent_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = machines_.find(agent_id);
  if (it == machines_.end()) return std::nullopt;
  return it->second.state;
}

std::vector<RuntimeAgentState> FlyRuntime::ListAgents() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RuntimeAgentState> out;
  for (const auto& [id, m] : machines_) {
    if (m.running && !m.machine_id.empty()) out.push_back(m.state);
  }
  return out;
}

Result<LogChunk> FlyRuntime::ReadLog(std::string_view agent_id, std::uint64_t, std::size_t) const {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
  return NotSupported(fmt::format(
      "the fly runtime has no logs: the Machines API serves none (use `fly logs -a {}`)",
      options_.app_name));
}

Json FlyRuntime::RouteHints(std::string_view agent_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = machines_.find(agent_id);
  if (it == machines_.end() || !it->second.running || it->second.machine_id.empty()) return Json();
  Json hints = Json::Object();
  hints.Set("fly-force-instance-id", it->second.machine_id);
  return hints;
}

Result<std::vector<std::string>> FlyRuntime::ReapOrphans() {
  Result<std::vector<FlyMachine>> list = ListOwnMachines();
  if (!list.ok())
    return Internal("cannot list the fly runtime's machines: " + list.status().message());
  std::set<std::string> ours;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, m] : machines_) {
      if (!m.machine_id.empty()) ours.insert(m.machine_id);
    }
  }
  std::vector<std::string> ended;
  Status first_error;
  for (const FlyMachine& fm : *list) {
    if (ours.count(fm.id) != 0) continue;
    if (fm.state == "destroyed" || fm.state == "destroying") continue;
    auto agent = fm.metadata.find(kAgentIdKey);
    const std::string agent_id = agent != fm.metadata.end() ? agent->second : fm.id;
    Status s = Destroy(agent_id, fm.id);
    if (!s.ok()) {
      if (first_error.ok()) first_error = s;
      continue;
    }
    ended.push_back(agent_id);
  }
  if (!first_error.ok()) return Internal(first_error.message());
  std::sort(ended.begin(), ended.end());
  return ended;
}

}  // namespace

Result<std::unique_ptr<Runtime>> NewFlyRuntime(const FlyOptions& options,
                                               const RuntimeOptions& runtime_options) {
  if (options.api_token.empty()) return InvalidArgument("fly runtime: the API token is empty");
  if (options.app_name.empty()) return InvalidArgument("fly runtime: the app name is empty");
  if (options.instance_name.empty()) {
    return InvalidArgument("fly runtime: the instance name is empty");
  }
  if (options.api_url.rfind("http://", 0) != 0 && options.api_url.rfind("https://", 0) != 0) {
    return InvalidArgument("fly runtime: the API URL must start with http:// or https://");
  }
  for (const auto& [type, image] : options.images) {
    if (image.image.empty()) {
      return InvalidArgument(
          fmt::format("fly runtime: the image for agent type \"{}\" is empty", type));
    }
  }
  if (options.max_attempts < 1) return InvalidArgument("fly runtime: max_attempts must be >= 1");
  if (options.request_timeout.count() <= 0 || options.poll_interval.count() <= 0 ||
      options.start_timeout.count() <= 0 || options.stop_grace.count() < 0 ||
      options.backoff_base.count() < 0 || options.backoff_cap.count() < 0) {
    return InvalidArgument("fly runtime: a timeout, interval or backoff is out of range");
  }
  if (options.internal_port <= 0 || options.internal_port > 65535 || options.guest.cpus <= 0 ||
      options.guest.memory_mb <= 0) {
    return InvalidArgument("fly runtime: internal_port, cpus or memory_mb is out of range");
  }
  FlyOptions copy = options;
  while (!copy.api_url.empty() && copy.api_url.back() == '/') copy.api_url.pop_back();
  return std::unique_ptr<Runtime>(std::make_unique<FlyRuntime>(std::move(copy), runtime_options));
}

}  // namespace agentcore
