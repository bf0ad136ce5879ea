// SPDX-License-Identifier: Apache-2.0
// The Kubernetes runtime: a pod per agent through the API server's REST API. See
// include/agentcore/runtime/kubernetes.hpp for the layout; the wire shapes are those of the
// Kubernetes API reference (v1 Pod, Secret, Namespace, Status, DeleteOptions, watch events),
// and tests/support/fake_kube_api.md lists the subset used.
#include <agentcore/runtime/kubernetes.hpp>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <agentcore/http/client.hpp>
#include <agentcore/runtime/agent_image.hpp>
#include <agentcore/ulid.hpp>

#include "runtime/event_dispatcher.hpp"
#include "runtime/kubernetes/kube_api.hpp"
#include "runtime/kubernetes/kube_names.hpp"
#include "runtime/kubernetes/watch_stream.hpp"

namespace agentcore {
namespace {

using internal::KubeApi;
using Steady = std::chrono::steady_clock;

constexpr char kInstanceLabel[] = "agentcore.dev/instance";
constexpr char kRunLabel[] = "agentcore.dev/run";
constexpr char kSpaceLabel[] = "agentcore.dev/space";
constexpr char kChannelLabel[] = "agentcore.dev/channel";
constexpr char kCallsignLabel[] = "agentcore.dev/callsign";
constexpr char kAgentLabel[] = "agentcore.dev/agent";
constexpr char kAgentIdAnnotation[] = "agentcore.dev/agent-id";
constexpr char kAgentTypeAnnotation[] = "agentcore.dev/agent-type";
constexpr char kContainerName[] = "agent";
// Linux's MAX_ARG_STRLEN is 128 KiB per environment string; Secrets hold at most 1 MiB.
constexpr std::size_t kMaxSystemPromptBytes = 100 * 1024;

const Json* Path(const Json& root, std::initializer_list<std::string_view> keys) {
  const Json* cur = &root;
  for (std::string_view k : keys) {
    if (!cur->is_object()) return nullptr;
    cur = cur->Find(k);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

std::string PathString(const Json& root, std::initializer_list<std::string_view> keys) {
  const Json* v = Path(root, keys);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

bool IsRunning(AgentStatus s) { return s == AgentStatus::kActivating || s == AgentStatus::kOnline; }

// How the agent container ended, from a pod's status.containerStatuses; nullopt when the
// pod says nothing about it.
std::optional<AgentExit> ContainerExit(const Json& pod) {
  const Json* statuses = Path(pod, {"status", "containerStatuses"});
  if (statuses == nullptr || !statuses->is_array()) return std::nullopt;
  for (const Json& cs : statuses->as_array()) {
    if (!cs.is_object() || PathString(cs, {"name"}) != kContainerName) continue;
    const Json* term = Path(cs, {"state", "terminated"});
    if (term == nullptr || !term->is_object()) term = Path(cs, {"lastState", "terminated"});
    if (term == nullptr || !term->is_object()) return std::nullopt;
    AgentExit exit;
    const Json* code = term->Find("exitCode");
    const Json* sig = term->Find("signal");
    if (sig != nullptr && sig->is_number() && sig->as_number() > 0 && sig->as_number() < 128) {
      exit.exit_code = -1;
      exit.signal = static_cast<int>(sig->as_number());
    } else if (code != nullptr && code->is_number() && code->as_number() >= 0 &&
               code->as_number() <= 255) {
      exit.exit_code = static_cast<int>(code->as_number());
    } else {
      return std::nullopt;
    }
    return exit;
  }
  return std::nullopt;
}

class KubernetesRuntime final : public Runtime {
 public:
  KubernetesRuntime(const KubernetesOptions& options, const RuntimeOptions& runtime_options,
                    std::unique_ptr<HttpClient> owned_http)
      : options_(options),
        observer_(runtime_options.observer),
        clock_(runtime_options.clock != nullptr ? runtime_options.clock : SystemClock()),
        owned_http_(std::move(owned_http)),
        http_(options.http != nullptr ? options.http : owned_http_.get()),
        api_(options.connection, http_,
             internal::KubeRetryPolicy{options.request_timeout, options.max_retries,
                                       options.retry_base, options.retry_cap,
                                       options.max_retry_after}),
        run_(NewUlid()),
        events_(observer_, "agentcore-kevent") {
    for (char& c : run_) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    watch_thread_ = std::thread([this] { WatchLoop(); });
  }

  ~KubernetesRuntime() override { (void)Shutdown(); }

  std::string_view Kind() const override { return "kubernetes"; }

  Result<RuntimeAgentState> Activate(const ActivateRequest& req) override {
    AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(req.agent_id));
    if (req.agent_type.empty()) {
      return InvalidArgument(fmt::format("agent \"{}\" has no agent type", req.agent_id));
    }
    auto it = options_.images.find(req.agent_type);
    if (it == options_.images.end()) it = options_.images.find("*");
    if (it == options_.images.end()) {
      return InvalidArgument(fmt::format(
          "no image for agent type \"{}\" in the kubernetes runtime (and no \"*\" default)",
          req.agent_type));
    }
    const AgentImage& image = it->second;
    for (const auto& [name, value] : req.extra_env) {
      if (!internal::IsSecretKey(name) || value.find('\0') != std::string::npos) {
        return InvalidArgument(fmt::format(
            "invalid environment variable \"{}\" in extra_env (kubernetes wants [-._a-zA-Z0-9]+)",
            name.substr(0, 100)));
      }
    }
    if (req.system_prompt.size() > kMaxSystemPromptBytes) {
      return TooLarge(fmt::format("system prompt of agent \"{}\" is {} bytes; the limit is {}",
                                  req.agent_id, req.system_prompt.size(), kMaxSystemPromptBytes));
    }
    AGENTCORE_ASSIGN_OR_RETURN(const RuntimeAgentIdParts parts, SplitRuntimeAgentId(req.agent_id));
    const std::string ns = internal::NamespaceName(options_.namespace_prefix, parts.space);
    const std::string pod = internal::PodName(req.agent_id, parts.callsign);

    std::unique_lock<std::mutex> lock(mu_);
    if (shutting_down_) return Unavailable("the kubernetes runtime is shut down");
    Entry& e = agents_[req.agent_id];
    cv_.wait(lock, [&] { return !e.starting && e.state.status != AgentStatus::kSuspending; });
    if (shutting_down_) return Unavailable("the kubernetes runtime is shut down");
    if (IsRunning(e.state.status) && !e.state.agent_id.empty()) return e.state;
    e.state = RuntimeAgentState{};
    e.state.agent_id = req.agent_id;
    e.state.agent_type = req.agent_type;
    e.state.status = AgentStatus::kActivating;
    e.state.instance_id = ns + "/" + pod;
    e.state.started_at = clock_->NowMillis();
    e.ns = ns;
    e.pod = pod;
    e.uid.clear();
    e.early.reset();
    e.starting = true;
    e.pod_exists = true;
    lock.unlock();

    std::string uid;
    Status st = StartPod(req, image, parts, ns, pod, &uid);

    lock.lock();
    e.starting = false;
    cv_.notify_all();
    if (!st.ok()) {
      e.state.status = AgentStatus::kError;
      e.state.reason = st.message();
      e.state.stopped_at = clock_->NowMillis();
      return Status(ErrorCode::kInternal, st.message());
    }
    e.uid = uid;
    // The pod's own callback URL holds $(POD_IP), which only the kubelet expands: the
    // endpoint is known once the agent checks in.
    e.state.endpoint = req.callback_url;
    PushEvent({AgentEventKind::kActivating, req.agent_id, std::nullopt, {}});
    RuntimeAgentState result = e.state;
    if (e.early && PathString(e.early->object, {"metadata", "uid"}) == uid) {
      internal::WatchEvent early = std::move(*e.early);
      e.early.reset();
      ApplyPodLocked(e, early.type, early.object);
    }
    return result;
  }

  Status Checkin(std::string_view agent_id, std::string_view endpoint) override {
    AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = agents_.find(agent_id);
    if (it == agents_.end() || !IsRunning(it->second.state.status) || it->second.starting) {
      return Conflict(
          fmt::format("agent \"{}\" is not running in the kubernetes runtime", agent_id));
    }
    RuntimeAgentState& st = it->second.state;
    const bool changed = st.status != AgentStatus::kOnline;
    st.status = AgentStatus::kOnline;
    st.endpoint = std::string(endpoint);
    if (changed) PushEvent({AgentEventKind::kOnline, st.agent_id, std::nullopt, {}});
    return Status();
  }

  Status Suspend(std::string_view agent_id, std::string_view reason) override {
    AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
    std::unique_lock<std::mutex> lock(mu_);
    auto it = agents_.find(agent_id);
    if (it == agents_.end()) return Status();
    Entry& e = it->second;
    cv_.wait(lock, [&] { return !e.starting; });
    if (e.state.status == AgentStatus::kSuspending) {
      cv_.wait(lock, [&] { return e.state.status != AgentStatus::kSuspending; });
      return Status();
    }
    const AgentStatus before = e.state.status;
    const bool running = IsRunning(before);
    if (!running && !e.pod_exists) return Status();
    if (running) e.state.status = AgentStatus::kSuspending;
    const std::string ns = e.ns, pod = e.pod, uid = e.uid;
    lock.unlock();

    Status st = DeletePodAndSecret(ns, pod, uid);

    lock.lock();
    if (st.ok()) e.pod_exists = false;
    if (running) {
      if (st.ok() || st.code() == ErrorCode::kDeadlineExceeded) {
        e.state.status = AgentStatus::kOffline;
        e.state.reason = std::string(reason);
        e.state.stopped_at = clock_->NowMillis();
        PushEvent({AgentEventKind::kOffline, e.state.agent_id, std::nullopt, e.state.reason});
      } else {
        e.state.status = before;  // the pod may still run: let a later Suspend try again
      }
    }
    cv_.notify_all();
    return st;
  }

  std::optional<RuntimeAgentState> GetState(std::string_view agent_id) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = agents_.find(agent_id);
    if (it == agents_.end() || it->second.state.agent_id.empty()) return std::nullopt;
    return it->second.state;
  }

  std::vector<RuntimeAgentState> ListAgents() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<RuntimeAgentState> out;
    for (const auto& [id, e] : agents_) {
      if (IsRunning(e.state.status) || e.state.status == AgentStatus::kSuspending) {
        out.push_back(e.state);
      }
    }
    return out;
  }

  Result<LogChunk> ReadLog(std::string_view agent_id, std::uint64_t offset,
                           std::size_t max_bytes) const override {
    AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
    max_bytes = std::min(max_bytes, kMaxLogChunkBytes);
    AGENTCORE_ASSIGN_OR_RETURN(const RuntimeAgentIdParts parts, SplitRuntimeAgentId(agent_id));
    const std::string ns = internal::NamespaceName(options_.namespace_prefix, parts.space);
    const std::string pod = internal::PodName(agent_id, parts.callsign);
    // The log API has no offset: ask for everything up to one byte past the slice, so that a
    // full answer says there is more.
    if (offset > (1ULL << 40)) {
      return InvalidArgument(
          fmt::format("log offset {} of agent \"{}\" is too large", offset, agent_id));
    }
    const std::uint64_t limit = offset + max_bytes + 1;
    const std::string what = fmt::format("read log of pod \"{}/{}\"", ns, pod);
    HttpRequest req =
        api_.Request("GET",
                     fmt::format("/api/v1/namespaces/{}/pods/{}/log?container={}&limitBytes={}", ns,
                                 pod, kContainerName, limit),
                     "");
    req.max_response_bytes = static_cast<std::size_t>(limit) + 4096;
    AGENTCORE_ASSIGN_OR_RETURN(HttpResponse res, CallWithRetry(req, what));
    if (res.status == 404) {
      return NotFound(fmt::format("agent \"{}\" has no log in the kubernetes runtime", agent_id));
    }
    if (res.status == 400 && offset == 0) {
      // "container agent in pod x is waiting to start": nothing written yet.
      return LogChunk{"", 0, 0};
    }
    if (res.status != 200) return KubeApi::ErrorFor(what, res, Attempts(res));
    const std::string& body = res.body;
    if (offset > body.size()) {
      return InvalidArgument(fmt::format("log offset {} of agent \"{}\" is past the end ({})",
                                         offset, agent_id, body.size()));
    }
    LogChunk chunk;
    chunk.data = body.substr(static_cast<std::size_t>(offset), max_bytes);
    chunk.next_offset = offset + chunk.data.size();
    chunk.size = body.size();
    return chunk;
  }

  Json RouteHints(std::string_view) const override { return Json(nullptr); }

  Result<std::vector<std::string>> ReapOrphans() override {
    const std::string selector =
        fmt::format("{}={},{}!={}", kInstanceLabel, options_.instance, kRunLabel, run_);
    AGENTCORE_ASSIGN_OR_RETURN(
        HttpResponse res,
        api_.Call("GET", "/api/v1/pods?labelSelector=" + UrlEncodeComponent(selector), "",
                  "list orphan pods"));
    if (res.status != 200) {
      Status st = KubeApi::ErrorFor("list orphan pods", res, Attempts(res));
      return Internal(st.message());
    }
    Result<Json> list = ParseJson(res.body);
    const Json* items = list.ok() ? list->Find("items") : nullptr;
    if (items == nullptr || !items->is_array()) {
      return Internal("kubernetes: list orphan pods: the answer is not a PodList");
    }
    std::set<std::string> reaped;
    std::set<std::pair<std::string, std::string>> deleted;
    Status first_error;
    for (const Json& pod : items->as_array()) {
      const std::string ns = PathString(pod, {"metadata", "namespace"});
      const std::string name = PathString(pod, {"metadata", "name"});
      const std::string uid = PathString(pod, {"metadata", "uid"});
      const std::string id = PathString(pod, {"metadata", "annotations", kAgentIdAnnotation});
      const std::string phase = PathString(pod, {"status", "phase"});
      if (ns.empty() || name.empty()) continue;
      Status st = DeletePodAndSecret(ns, name, uid);
      if (!st.ok()) {
        if (first_error.ok()) first_error = st;
        continue;
      }
      deleted.emplace(ns, name);
      if (!id.empty() && phase != "Succeeded" && phase != "Failed") reaped.insert(id);
    }
    // Secrets whose pod never got created (a crash between the two calls).
    Result<HttpResponse> secrets =
        api_.Call("GET", "/api/v1/secrets?labelSelector=" + UrlEncodeComponent(selector), "",
                  "list orphan secrets");
    if (secrets.ok() && secrets->status == 200) {
      Result<Json> slist = ParseJson(secrets->body);
      const Json* sitems = slist.ok() ? slist->Find("items") : nullptr;
      if (sitems != nullptr && sitems->is_array()) {
        for (const Json& s : sitems->as_array()) {
          const std::string ns = PathString(s, {"metadata", "namespace"});
          const std::string name = PathString(s, {"metadata", "name"});
          if (ns.empty() || name.empty() || deleted.contains({ns, name})) continue;
          Status st = DeleteSecret(ns, name);
          if (!st.ok() && first_error.ok()) first_error = st;
        }
      }
    }
    if (!first_error.ok()) return Internal(first_error.message());
    return std::vector<std::string>(reaped.begin(), reaped.end());
  }

  Status Shutdown() override {
    std::lock_guard<std::mutex> once(shutdown_mu_);
    std::vector<std::string> running;
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutting_down_ = true;
      for (const auto& [id, e] : agents_) {
        if (IsRunning(e.state.status) || e.starting) running.push_back(id);
      }
    }
    std::vector<Status> results(running.size());
    std::vector<std::thread> workers;
    workers.reserve(running.size());
    for (std::size_t i = 0; i < running.size(); ++i) {
      workers.emplace_back(
          [this, &running, &results, i] { results[i] = Suspend(running[i], "shutdown"); });
    }
    for (std::thread& t : workers) t.join();
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    if (watch_thread_.joinable()) watch_thread_.join();
    events_.Stop();
    for (const Status& st : results) {
      if (!st.ok()) return st;
    }
    return Status();
  }

 private:
  struct Entry {
    RuntimeAgentState state;
    std::string ns;
    std::string pod;
    std::string uid;          // of the pod this runtime created; empty while creating it
    bool starting = false;    // Activate is creating the pod
    bool pod_exists = false;  // a pod of ours, running or ended, may still exist
    std::optional<internal::WatchEvent> early;  // seen by the watch before its uid was known
  };

  int Attempts(const HttpResponse& res) const {
    return internal::IsRetryableStatus(res.status) ? 1 + std::max(0, options_.max_retries) : 1;
  }

  std::string CallbackUrl(const ActivateRequest& req) const {
    if (!req.callback_url.empty() || options_.agent_port == 0) return req.callback_url;
    return fmt::format("http://$(POD_IP):{}", options_.agent_port);
  }

  // Api::Call for a prepared request (ReadLog sets its own response limit).
  Result<HttpResponse> CallWithRetry(const HttpRequest& req, std::string_view what) const {
    const int attempts = 1 + std::max(0, options_.max_retries);
    for (int attempt = 0;; ++attempt) {
      Result<HttpResponse> res = http_->Send(req);
      const bool last = attempt + 1 >= attempts;
      if (res.ok() && (!internal::IsRetryableStatus(res->status) || last)) return res;
      if (!res.ok() && (last || (res.status().code() != ErrorCode::kUnavailable &&
                                 res.status().code() != ErrorCode::kDeadlineExceeded))) {
        return Status(res.status().code(),
                      fmt::format("kubernetes: {}: {}", what, res.status().message()));
      }
      std::this_thread::sleep_for(api_.Backoff(attempt, res.ok() ? &*res : nullptr));
    }
  }

  Json Labels(const RuntimeAgentIdParts& parts, std::string_view agent_id) const {
    Json labels = Json::Object();
    labels.Set(kInstanceLabel, options_.instance);
    labels.Set(kRunLabel, run_);
    labels.Set(kSpaceLabel, internal::LabelValue(parts.space));
    labels.Set(kChannelLabel, internal::LabelValue(parts.channel));
    labels.Set(kCallsignLabel, internal::LabelValue(parts.callsign));
    labels.Set(kAgentLabel, internal::AgentHash(agent_id));
    return labels;
  }

  Json Metadata(std::string_view name, std::string_view ns, const RuntimeAgentIdParts& parts,
                const ActivateRequest& req) const {
    Json meta = Json::Object();
    meta.Set("name", name);
    meta.Set("namespace", ns);
    meta.Set("labels", Labels(parts, req.agent_id));
    Json annotations = Json::Object();
    annotations.Set(kAgentIdAnnotation, req.agent_id);
    annotations.Set(kAgentTypeAnnotation, req.agent_type);
    meta.Set("annotations", std::move(annotations));
    return meta;
  }

  Status EnsureNamespace(const std::string& ns) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (namespaces_.contains(ns)) return Status();
    }
    Json body = Json::Object();
    body.Set("apiVersion", "v1");
    body.Set("kind", "Namespace");
    Json meta = Json::Object();
    meta.Set("name", ns);
    Json labels = Json::Object();
    labels.Set(kInstanceLabel, options_.instance);
    meta.Set("labels", std::move(labels));
    body.Set("metadata", std::move(meta));
    const std::string what = fmt::format("create namespace \"{}\"", ns);
    AGENTCORE_ASSIGN_OR_RETURN(HttpResponse res,
                               api_.Call("POST", "/api/v1/namespaces", ToJson(body), what));
    if (res.status != 200 && res.status != 201 && res.status != 202 && res.status != 409) {
      return KubeApi::ErrorFor(what, res, Attempts(res));
    }
    std::lock_guard<std::mutex> lock(mu_);
    namespaces_.insert(ns);
    return Status();
  }

  Status PutSecret(const ActivateRequest& req, const AgentImage& image,
                   const RuntimeAgentIdParts& parts, const std::string& ns,
                   const std::string& name) {
    const EnvList env = AgentEnvironment(req, image.env, req.callback_url, options_.agent_port);
    Json data = Json::Object();
    for (const auto& [k, v] : env) {
      if (!internal::IsSecretKey(k)) {
        return InvalidArgument(fmt::format(
            "invalid environment variable \"{}\" for agent type \"{}\" (kubernetes wants "
            "[-._a-zA-Z0-9]+)",
            k.substr(0, 100), req.agent_type));
      }
      data.Set(k, v);
    }
    Json body = Json::Object();
    body.Set("apiVersion", "v1");
    body.Set("kind", "Secret");
    body.Set("metadata", Metadata(name, ns, parts, req));
    body.Set("type", "Opaque");
    body.Set("stringData", std::move(data));
    const std::string text = ToJson(body);
    const std::string what =
        fmt::format("create secret \"{}/{}\" for \"{}\"", ns, name, req.agent_id);
    AGENTCORE_ASSIGN_OR_RETURN(
        HttpResponse res,
        api_.Call("POST", fmt::format("/api/v1/namespaces/{}/secrets", ns), text, what));
    if (res.status == 409) {
      // Left by an earlier activation: replace it (a PUT without resourceVersion is an
      // unconditional update).
      const std::string put_what =
          fmt::format("replace secret \"{}/{}\" for \"{}\"", ns, name, req.agent_id);
      AGENTCORE_ASSIGN_OR_RETURN(
          res, api_.Call("PUT", fmt::format("/api/v1/namespaces/{}/secrets/{}", ns, name), text,
                         put_what));
      if (res.status != 200 && res.status != 201) {
        return KubeApi::ErrorFor(put_what, res, Attempts(res));
      }
      return Status();
    }
    if (res.status != 200 && res.status != 201 && res.status != 202) {
      return KubeApi::ErrorFor(what, res, Attempts(res));
    }
    return Status();
  }

  Json PodBody(const ActivateRequest& req, const AgentImage& image,
               const RuntimeAgentIdParts& parts, const std::string& ns,
               const std::string& name) const {
    Json container = Json::Object();
    container.Set("name", kContainerName);
    container.Set("image", image.image);
    if (!image.command.empty()) {
      JsonArray cmd;
      for (const std::string& a : image.command) cmd.emplace_back(a);
      container.Set("command", Json(std::move(cmd)));
    }
    JsonArray env;
    {
      Json pod_ip = Json::Object();
      pod_ip.Set("name", "POD_IP");
      Json field = Json::Object();
      field.Set("fieldPath", "status.podIP");
      Json from = Json::Object();
      from.Set("fieldRef", std::move(field));
      pod_ip.Set("valueFrom", std::move(from));
      env.push_back(std::move(pod_ip));
    }
    if (req.callback_url.empty() && options_.agent_port != 0) {
      // Not a secret, and it needs the pod's own IP: `env` wins over `envFrom`, and $(POD_IP)
      // is expanded from the entry above.
      Json cb = Json::Object();
      cb.Set("name", "CAST_CALLBACK_URL");
      cb.Set("value", CallbackUrl(req));
      env.push_back(std::move(cb));
    }
    container.Set("env", Json(std::move(env)));
    JsonArray env_from;
    {
      Json ref = Json::Object();
      ref.Set("name", name);
      Json from = Json::Object();
      from.Set("secretRef", std::move(ref));
      env_from.push_back(std::move(from));
    }
    container.Set("envFrom", Json(std::move(env_from)));
    if (options_.agent_port != 0) {
      Json port = Json::Object();
      port.Set("containerPort", options_.agent_port);
      port.Set("name", "callback");
      container.Set("ports", Json(JsonArray{std::move(port)}));
    }
    Json limits = Json::Object();
    if (image.cpu_millis > 0) limits.Set("cpu", fmt::format("{}m", image.cpu_millis));
    if (image.memory_bytes > 0) limits.Set("memory", fmt::format("{}", image.memory_bytes));
    Json resources = Json::Object();
    if (!limits.as_object().empty()) resources.Set("limits", std::move(limits));
    container.Set("resources", std::move(resources));

    Json spec = Json::Object();
    spec.Set("restartPolicy", "Never");
    spec.Set("automountServiceAccountToken", false);
    spec.Set("enableServiceLinks", false);
    spec.Set("terminationGracePeriodSeconds", GraceSeconds());
    spec.Set("containers", Json(JsonArray{std::move(container)}));

    Json body = Json::Object();
    body.Set("apiVersion", "v1");
    body.Set("kind", "Pod");
    body.Set("metadata", Metadata(name, ns, parts, req));
    body.Set("spec", std::move(spec));
    return body;
  }

  std::int64_t GraceSeconds() const {
    return std::max<std::int64_t>(0, (options_.kill_grace.count() + 999) / 1000);
  }

  Status StartPod(const ActivateRequest& req, const AgentImage& image,
                  const RuntimeAgentIdParts& parts, const std::string& ns, const std::string& name,
                  std::string* uid) {
    AGENTCORE_RETURN_IF_ERROR(EnsureNamespace(ns));
    Status secret = PutSecret(req, image, parts, ns, name);
    if (secret.code() == ErrorCode::kNotFound) {
      // The namespace is not there (deleted behind our back, or a 409 that was not ours):
      // create it again, once.
      {
        std::lock_guard<std::mutex> lock(mu_);
        namespaces_.erase(ns);
      }
      AGENTCORE_RETURN_IF_ERROR(EnsureNamespace(ns));
      secret = PutSecret(req, image, parts, ns, name);
    }
    AGENTCORE_RETURN_IF_ERROR(secret);
    const std::string body = ToJson(PodBody(req, image, parts, ns, name));
    const std::string what = fmt::format("create pod \"{}/{}\" for \"{}\"", ns, name, req.agent_id);
    const std::string path = fmt::format("/api/v1/namespaces/{}/pods", ns);
    AGENTCORE_ASSIGN_OR_RETURN(HttpResponse res, api_.Call("POST", path, body, what));
    if (res.status == 409) {
      // A pod of the same name is left from an earlier activation: remove it, then retry once.
      AGENTCORE_RETURN_IF_ERROR(DeletePodAndWait(ns, name, "", std::chrono::seconds(0)));
      AGENTCORE_ASSIGN_OR_RETURN(res, api_.Call("POST", path, body, what));
    }
    if (res.status == 404) {
      // The namespace went away behind our back: create it again, once.
      {
        std::lock_guard<std::mutex> lock(mu_);
        namespaces_.erase(ns);
      }
      AGENTCORE_RETURN_IF_ERROR(EnsureNamespace(ns));
      AGENTCORE_RETURN_IF_ERROR(PutSecret(req, image, parts, ns, name));
      AGENTCORE_ASSIGN_OR_RETURN(res, api_.Call("POST", path, body, what));
    }
    if (res.status != 200 && res.status != 201 && res.status != 202) {
      (void)DeleteSecret(ns, name);
      return KubeApi::ErrorFor(what, res, Attempts(res));
    }
    Result<Json> created = ParseJson(res.body);
    *uid = created.ok() ? PathString(*created, {"metadata", "uid"}) : std::string();
    if (uid->empty()) return Internal(fmt::format("kubernetes: {}: the answer has no uid", what));
    return Status();
  }

  // Deletes the pod (under a uid precondition when `uid` is known) and waits until it is
  // gone: 404, or a pod of that name with another uid.
  Status DeletePodAndWait(const std::string& ns, const std::string& name, const std::string& uid,
                          std::chrono::seconds grace) {
    Json opts = Json::Object();
    opts.Set("apiVersion", "v1");
    opts.Set("kind", "DeleteOptions");
    opts.Set("gracePeriodSeconds", static_cast<std::int64_t>(grace.count()));
    if (!uid.empty()) {
      Json pre = Json::Object();
      pre.Set("uid", uid);
      opts.Set("preconditions", std::move(pre));
    }
    const std::string path = fmt::format("/api/v1/namespaces/{}/pods/{}", ns, name);
    const std::string what = fmt::format("delete pod \"{}/{}\"", ns, name);
    AGENTCORE_ASSIGN_OR_RETURN(HttpResponse res, api_.Call("DELETE", path, ToJson(opts), what));
    // 404: already gone. 409 under a uid precondition: the pod of that name is another one.
    if (res.status == 404 || (res.status == 409 && !uid.empty())) return Status();
    if (res.status != 200 && res.status != 202) {
      return KubeApi::ErrorFor(what, res, Attempts(res));
    }
    const auto deadline = Steady::now() + grace + options_.request_timeout;
    std::chrono::milliseconds poll{50};
    const std::string get_what = fmt::format("get pod \"{}/{}\"", ns, name);
    for (;;) {
      AGENTCORE_ASSIGN_OR_RETURN(HttpResponse got, api_.Call("GET", path, "", get_what));
      if (got.status == 404) return Status();
      if (got.status == 200 && !uid.empty()) {
        Result<Json> pod = ParseJson(got.body);
        if (pod.ok() && PathString(*pod, {"metadata", "uid"}) != uid) return Status();
      } else if (got.status != 200) {
        return KubeApi::ErrorFor(get_what, got, Attempts(got));
      }
      if (Steady::now() >= deadline) {
        return Status(ErrorCode::kDeadlineExceeded,
                      fmt::format("kubernetes: pod \"{}/{}\" still exists {} ms after its "
                                  "deletion",
                                  ns, name, (grace + options_.request_timeout).count()));
      }
      std::this_thread::sleep_for(poll);
      poll = std::min<std::chrono::milliseconds>(poll * 2, std::chrono::milliseconds(1'000));
    }
  }

  Status DeleteSecret(const std::string& ns, const std::string& name) {
    const std::string what = fmt::format("delete secret \"{}/{}\"", ns, name);
    AGENTCORE_ASSIGN_OR_RETURN(
        HttpResponse res,
        api_.Call("DELETE", fmt::format("/api/v1/namespaces/{}/secrets/{}", ns, name), "", what));
    if (res.status == 200 || res.status == 202 || res.status == 404) return Status();
    return KubeApi::ErrorFor(what, res, Attempts(res));
  }

  Status DeletePodAndSecret(const std::string& ns, const std::string& pod, const std::string& uid) {
    Status st = DeletePodAndWait(ns, pod, uid, std::chrono::seconds(GraceSeconds()));
    Status secret = DeleteSecret(ns, pod);
    return st.ok() ? secret : st;
  }

  // --- Events

  // REQUIRES: mu_ held (so that events are queued in the order the table changed).
  void PushEvent(AgentEvent event) { events_.Push(std::move(event)); }

  // --- Watch

  // Sleeps up to `d`; false when the runtime is stopping.
  bool SleepUnlessStopped(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(stop_mu_);
    return !stop_cv_.wait_for(lock, d, [&] { return stop_; });
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(stop_mu_);
    return stop_;
  }

  std::string WatchSelector() const {
    return UrlEncodeComponent(
        fmt::format("{}={},{}={}", kInstanceLabel, options_.instance, kRunLabel, run_));
  }

  void WatchLoop() {
    ::pthread_setname_np(::pthread_self(), "agentcore-kwatch");
    std::string rv;
    int failures = 0;
    while (!Stopping()) {
      if (rv.empty()) {
        HttpRequest list = api_.Request("GET", "/api/v1/pods?labelSelector=" + WatchSelector(), "");
        list.cancelled = [this] { return Stopping(); };
        Result<HttpResponse> res = http_->Send(list);
        Result<Json> body = res.ok() && res->status == 200 ? ParseJson(res->body)
                                                           : Result<Json>(Internal("no list"));
        const Json* items = body.ok() ? body->Find("items") : nullptr;
        const std::string list_rv =
            body.ok() ? PathString(*body, {"metadata", "resourceVersion"}) : std::string();
        if (items == nullptr || !items->is_array() || list_rv.empty()) {
          if (!SleepUnlessStopped(api_.Backoff(failures++, res.ok() ? &*res : nullptr))) return;
          continue;
        }
        ApplyList(items->as_array());
        rv = list_rv;
        failures = 0;
      }
      HttpRequest req = api_.Request(
          "GET",
          fmt::format("/api/v1/pods?labelSelector={}&watch=true&allowWatchBookmarks=true"
                      "&resourceVersion={}&timeoutSeconds={}",
                      WatchSelector(), UrlEncodeComponent(rv), options_.watch_timeout.count()),
          "");
      // The server ends the watch after timeoutSeconds; the client gives it a margin.
      req.timeout = options_.watch_timeout + options_.request_timeout;
      req.cancelled = [this] { return Stopping(); };
      internal::WatchStreamDecoder decoder;
      std::vector<internal::WatchEvent> events;
      bool gone = false;
      bool bad = false;
      std::size_t seen = 0;
      Result<HttpResponse> res = http_->SendWithBodyCallback(req, [&](std::string_view bytes) {
        if (!decoder.Feed(bytes, &events).ok()) {
          bad = true;
          return false;
        }
        for (internal::WatchEvent& ev : events) {
          ++seen;
          if (ev.type == "ERROR") {
            const Json* code = ev.object.Find("code");
            gone = code != nullptr && code->is_number() && code->as_number() == 410;
            bad = !gone;
            return false;
          }
          const std::string ev_rv = PathString(ev.object, {"metadata", "resourceVersion"});
          if (ev.type != "BOOKMARK") ApplyPod(ev.type, ev.object);
          if (!ev_rv.empty()) rv = ev_rv;
        }
        events.clear();
        return true;
      });
      if (Stopping()) return;
      if (res.ok() && res->status == 410) gone = true;
      if (gone) {
        rv.clear();  // re-list: the resourceVersion is too old
        failures = 0;
        continue;
      }
      if (!res.ok() || res->status != 200 || bad) {
        if (!SleepUnlessStopped(api_.Backoff(failures++, res.ok() ? &*res : nullptr))) return;
        continue;
      }
      // The server closed the watch (timeoutSeconds, or a cut connection): resume from rv.
      if (seen > 0) failures = 0;
      if (seen == 0 && !SleepUnlessStopped(api_.Backoff(failures++, nullptr))) return;
    }
  }

  void ApplyList(const JsonArray& pods) {
    std::set<std::string> uids;
    for (const Json& pod : pods) {
      uids.insert(PathString(pod, {"metadata", "uid"}));
      ApplyPod("MODIFIED", pod);
    }
    // A running agent whose pod is missing from the list may have been deleted while nobody
    // watched, or created after the list was taken: ask for the pod itself.
    struct Missing {
      std::string id, ns, pod, uid;
    };
    std::vector<Missing> missing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [id, e] : agents_) {
        if (e.starting || e.uid.empty() || !IsRunning(e.state.status) || uids.contains(e.uid)) {
          continue;
        }
        missing.push_back({id, e.ns, e.pod, e.uid});
      }
    }
    for (const Missing& m : missing) {
      Result<HttpResponse> got =
          api_.Call("GET", fmt::format("/api/v1/namespaces/{}/pods/{}", m.ns, m.pod), "",
                    fmt::format("get pod \"{}/{}\"", m.ns, m.pod));
      if (!got.ok()) continue;  // the next re-list asks again
      Json pod = Json::Object();
      std::string type = "DELETED";
      if (got->status == 200) {
        Result<Json> parsed = ParseJson(got->body);
        if (!parsed.ok()) continue;
        if (PathString(*parsed, {"metadata", "uid"}) == m.uid) {
          pod = std::move(*parsed);
          type = "MODIFIED";
        }
      } else if (got->status != 404) {
        continue;
      }
      if (type == "DELETED") {
        Json meta = Json::Object();
        meta.Set("uid", m.uid);
        pod.Set("metadata", std::move(meta));
      }
      std::lock_guard<std::mutex> lock(mu_);
      auto it = agents_.find(m.id);
      if (it != agents_.end()) ApplyPodLocked(it->second, type, pod);
    }
  }

  void ApplyPod(const std::string& type, const Json& pod) {
    const std::string id = PathString(pod, {"metadata", "annotations", kAgentIdAnnotation});
    if (id.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = agents_.find(id);
    if (it == agents_.end()) return;
    Entry& e = it->second;
    if (e.starting && e.uid.empty()) {
      e.early = internal::WatchEvent{type, pod};
      return;
    }
    ApplyPodLocked(e, type, pod);
  }

  // REQUIRES: mu_ held.
  void ApplyPodLocked(Entry& e, const std::string& type, const Json& pod) {
    if (PathString(pod, {"metadata", "uid"}) != e.uid) return;  // an older pod of that name
    if (type == "DELETED") e.pod_exists = false;
    if (!IsRunning(e.state.status)) return;  // suspending, or already seen to end
    const std::string phase = PathString(pod, {"status", "phase"});
    std::optional<AgentExit> exit = ContainerExit(pod);
    std::string reason;
    if (phase == "Succeeded") {
      if (!exit) exit = AgentExit{0, 0};
    } else if (phase == "Failed") {
      if (!exit) exit = AgentExit{-1, 0};
      const std::string pod_reason = PathString(pod, {"status", "reason"});
      if (!pod_reason.empty()) reason = "pod failed (" + pod_reason + "): ";
    } else if (type == "DELETED") {
      // Deleted by someone else while running: the kubelet stopped it with SIGTERM.
      if (!exit) exit = AgentExit{-1, 15};
      reason = "pod deleted: ";
    } else {
      return;  // Pending or Running: nothing to report
    }
    e.state.status = exit->success() ? AgentStatus::kOffline : AgentStatus::kError;
    e.state.exit = exit;
    e.state.stopped_at = clock_->NowMillis();
    e.state.reason = reason + DescribeAgentExit(*exit);
    PushEvent({exit->success() ? AgentEventKind::kOffline : AgentEventKind::kFailed,
               e.state.agent_id, exit, DescribeAgentExit(*exit)});
    cv_.notify_all();
  }

  // Constant after construction.
  const KubernetesOptions options_;
  RuntimeObserver* const observer_;
  Clock* const clock_;
  const std::unique_ptr<HttpClient> owned_http_;
  HttpClient* const http_;
  const KubeApi api_;
  std::string run_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // starting / suspending ended
  // Guarded by mu_.
  std::map<std::string, Entry, std::less<>> agents_;
  std::set<std::string> namespaces_;  // created (or found) by this runtime
  bool shutting_down_ = false;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_

  std::mutex shutdown_mu_;  // one Shutdown at a time
  internal::EventDispatcher events_;  // "agentcore-kevent"
  std::thread watch_thread_;
};

bool IsPrefixSafe(std::string_view s) {
  if (s.size() > 20) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.empty() || s.front() != '-';
}

}  // namespace

Result<std::unique_ptr<Runtime>> NewKubernetesRuntime(const KubernetesOptions& options,
                                                      const RuntimeOptions& runtime_options) {
  if (options.connection.server.empty()) {
    return InvalidArgument("kubernetes runtime: no API server (connection.server is empty)");
  }
  if (options.images.empty()) return InvalidArgument("kubernetes runtime: no agent images");
  for (const auto& [type, image] : options.images) {
    if (image.image.empty()) {
      return InvalidArgument(
          fmt::format("kubernetes runtime: the image for agent type \"{}\" is empty", type));
    }
  }
  if (options.instance.empty() || !internal::IsLabelValue(options.instance)) {
    return InvalidArgument(
        fmt::format("kubernetes runtime: instance \"{}\" is not a label value (at most 63 of "
                    "[A-Za-z0-9-_.], alphanumeric at both ends)",
                    options.instance.substr(0, 100)));
  }
  if (!IsPrefixSafe(options.namespace_prefix)) {
    return InvalidArgument(fmt::format(
        "kubernetes runtime: namespace prefix \"{}\" must be at most 20 of [a-z0-9-], not "
        "starting with '-'",
        options.namespace_prefix.substr(0, 100)));
  }
  std::unique_ptr<HttpClient> owned;
  if (options.http == nullptr) owned = NewHttpClient();
  return std::unique_ptr<Runtime>(
      std::make_unique<KubernetesRuntime>(options, runtime_options, std::move(owned)));
}

}  // namespace agentcore
