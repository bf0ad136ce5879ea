// SPDX-License-Identifier: Apache-2.0
#pragma once

// A fake Kubernetes API server for the Kubernetes runtime's tests, on TestHttpServer. It
// implements exactly the subset the runtime uses, with the shapes of the Kubernetes API
// reference; fake_kube_api.md next to this file lists the routes and shapes. Tests drive pod
// phases (SetPhase), delete pods behind the runtime's back, add pods of other runs, inject
// error answers (InjectError), cut open watches (CutWatches) and expire resource versions
// (ExpireHistory, which makes a watch from an older version get ERROR 410). Test support only:
// thread-safe, no limits.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/json.hpp>

#include "support/test_http_server.hpp"

namespace agentcore::testing {

class FakeKubeApi {
 public:
  struct Request {
    std::string method;
    std::string target;  // path and query, as sent
    std::string body;
    std::string authorization;  // the Authorization header
  };

  FakeKubeApi()
      : server_(std::make_unique<TestHttpServer>(
            [this](TestHttpConnection& conn, const TestHttpRequest& req) {
              return Handle(conn, req);
            })) {}

  ~FakeKubeApi() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    server_.reset();
  }

  FakeKubeApi(const FakeKubeApi&) = delete;
  FakeKubeApi& operator=(const FakeKubeApi&) = delete;

  std::string Url() const { return server_->Url(""); }

  // --- Inspection

  std::vector<Request> Requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Requests whose method is `method` and whose target contains `part`.
  int Count(std::string_view method, std::string_view part) const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const Request& r : requests_) {
      if (r.method == method && r.target.find(part) != std::string::npos) ++n;
    }
    return n;
  }
  std::optional<Json> Pod(const std::string& ns, const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pods_.find(ns + "/" + name);
    if (it == pods_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<Json> Pods() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Json> out;
    for (const auto& [k, p] : pods_) out.push_back(p);
    return out;
  }
  std::optional<Json> Secret(const std::string& ns, const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = secrets_.find(ns + "/" + name);
    if (it == secrets_.end()) return std::nullopt;
    return it->second;
  }
  std::size_t SecretCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return secrets_.size();
  }
  bool HasNamespace(const std::string& ns) const {
    std::lock_guard<std::mutex> lock(mu_);
    return namespaces_.contains(ns);
  }
  // Watch requests answered so far (each reconnect is one), and open ones now.
  int Watches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return watches_started_;
  }
  int OpenWatches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return open_watches_;
  }
  // Waits until `pred()` holds (checked every 10 ms), up to `timeout`.
  template <typename Pred>
  static bool WaitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  // --- Driving

  // Sets status.phase; for Succeeded and Failed also the container's terminated state with
  // `exit_code`. Emits MODIFIED. False when there is no such pod.
  bool SetPhase(const std::string& ns, const std::string& name, const std::string& phase,
                int exit_code = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pods_.find(ns + "/" + name);
    if (it == pods_.end()) return false;
    Json& pod = it->second;
    Json status = Json::Object();
    status.Set("phase", phase);
    Json cs = Json::Object();
    cs.Set("name", "agent");
    Json state = Json::Object();
    if (phase == "Succeeded" || phase == "Failed") {
      Json term = Json::Object();
      term.Set("exitCode", exit_code);
      term.Set("reason", exit_code == 0 ? "Completed" : "Error");
      state.Set("terminated", std::move(term));
    } else if (phase == "Running") {
      state.Set("running", Json::Object());
    } else {
      Json waiting = Json::Object();
      waiting.Set("reason", "ContainerCreating");
      state.Set("waiting", std::move(waiting));
    }
    cs.Set("state", std::move(state));
    status.Set("containerStatuses", Json(JsonArray{std::move(cs)}));
    pod.Set("status", std::move(status));
    Touch(pod);
    Emit("MODIFIED", pod);
    return true;
  }

  // Deletes a pod as `kubectl delete` would: DELETED is emitted.
  bool DeleteExternally(const std::string& ns, const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pods_.find(ns + "/" + name);
    if (it == pods_.end()) return false;
    Json pod = std::move(it->second);
    pods_.erase(it);
    Touch(pod);
    Emit("DELETED", pod);
    return true;
  }

  // Adds a pod (and a Secret of the same name and labels) as another process would have
  // created it; fills in uid, resourceVersion and phase. Returns the uid.
  std::string AddPod(const std::string& ns, const std::string& name, Json labels,
                     const std::string& agent_id, const std::string& phase = "Running") {
    std::lock_guard<std::mutex> lock(mu_);
    namespaces_.insert(ns);
    Json meta = Json::Object();
    meta.Set("name", name);
    meta.Set("namespace", ns);
    meta.Set("labels", labels);
    Json ann = Json::Object();
    ann.Set("agentcore.dev/agent-id", agent_id);
    meta.Set("annotations", std::move(ann));
    Json secret = Json::Object();
    secret.Set("apiVersion", "v1");
    secret.Set("kind", "Secret");
    secret.Set("metadata", meta);
    secrets_[ns + "/" + name] = std::move(secret);
    const std::string uid = "uid-" + std::to_string(++uids_);
    meta.Set("uid", uid);
    Json pod = Json::Object();
    pod.Set("apiVersion", "v1");
    pod.Set("kind", "Pod");
    pod.Set("metadata", std::move(meta));
    Json status = Json::Object();
    status.Set("phase", phase);
    pod.Set("status", std::move(status));
    Touch(pod);
    pods_[ns + "/" + name] = pod;
    Emit("ADDED", pod);
    return uid;
  }

  // The next `times` requests with `method` whose target contains `part` are answered
  // `status` with a Status object (and Retry-After when not empty).
  void InjectError(std::string method, std::string part, int status, int times = 1,
                   std::string retry_after = "") {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.push_back(
        Fault{std::move(method), std::move(part), status, times, std::move(retry_after)});
  }

  // Ends every open watch abruptly: the connection is closed without the last chunk.
  void CutWatches() {
    std::lock_guard<std::mutex> lock(mu_);
    ++cut_generation_;
    cv_.notify_all();
  }

  // Forgets the event history: a watch from any version up to now gets ERROR 410 Expired,
  // and open watches get it too.
  void ExpireHistory() {
    std::lock_guard<std::mutex> lock(mu_);
    oldest_rv_ = rv_ + 1;
    history_.clear();
    ++expire_generation_;
    cv_.notify_all();
  }

  void SetLog(const std::string& ns, const std::string& name, std::string text) {
    std::lock_guard<std::mutex> lock(mu_);
    logs_[ns + "/" + name] = std::move(text);
  }

 private:
  struct Fault {
    std::string method;
    std::string part;
    int status;
    int times;
    std::string retry_after;
  };
  struct Event {
    std::int64_t rv;
    std::string type;
    Json object;
  };

  static std::string StatusBody(int code, std::string_view reason, std::string_view message) {
    Json st = Json::Object();
    st.Set("kind", "Status");
    st.Set("apiVersion", "v1");
    st.Set("metadata", Json::Object());
    st.Set("status", "Failure");
    st.Set("message", message);
    st.Set("reason", reason);
    st.Set("code", code);
    return ToJson(st);
  }

  static std::string ReasonFor(int code) {
    switch (code) {
      case 400:
        return "BadRequest";
      case 404:
        return "NotFound";
      case 409:
        return "AlreadyExists";
      case 410:
        return "Expired";
      case 422:
        return "Invalid";
      case 429:
        return "TooManyRequests";
      case 500:
        return "InternalError";
      case 503:
        return "ServiceUnavailable";
      default:
        return "Unknown";
    }
  }

  static bool Reply(TestHttpConnection& conn, int code, const std::string& body,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    return conn.WriteResponse(code, headers, body);
  }
  static bool Fail(TestHttpConnection& conn, int code, std::string_view message) {
    return Reply(conn, code, StatusBody(code, ReasonFor(code), message));
  }

  static std::string UrlDecode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i] == '+' ? ' ' : s[i]);
      }
    }
    return out;
  }

  static std::map<std::string, std::string> Query(std::string_view target) {
    std::map<std::string, std::string> q;
    const std::size_t qm = target.find('?');
    if (qm == std::string_view::npos) return q;
    std::string_view rest = target.substr(qm + 1);
    while (!rest.empty()) {
      const std::size_t amp = rest.find('&');
      std::string_view kv = rest.substr(0, amp);
      const std::size_t eq = kv.find('=');
      q[UrlDecode(kv.substr(0, eq))] =
          eq == std::string_view::npos ? "" : UrlDecode(kv.substr(eq + 1));
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
    return q;
  }

  static std::vector<std::string> Split(std::string_view path) {
    std::vector<std::string> parts;
    while (!path.empty()) {
      if (path.front() == '/') {
        path.remove_prefix(1);
        continue;
      }
      const std::size_t slash = path.find('/');
      parts.emplace_back(path.substr(0, slash));
      path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
    }
    return parts;
  }

  // "k=v,k!=v" against metadata.labels.
  static bool Matches(const std::string& selector, const Json& obj) {
    const Json* meta = obj.Find("metadata");
    const Json* labels = meta != nullptr ? meta->Find("labels") : nullptr;
    std::string_view rest = selector;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      std::string_view term = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const bool negate = term.find("!=") != std::string_view::npos;
      const std::size_t op = negate ? term.find("!=") : term.find('=');
      const std::string key(term.substr(0, op));
      const std::string value(term.substr(op + (negate ? 2 : 1)));
      const std::string* have = labels != nullptr ? labels->FindString(key) : nullptr;
      const bool equal = have != nullptr && *have == value;
      if (negate == equal) return false;
    }
    return true;
  }

  // REQUIRES: mu_ held.
  void Touch(Json& obj) {
    Json* meta = obj.Find("metadata");
    meta->Set("resourceVersion", std::to_string(++rv_));
  }
  // REQUIRES: mu_ held; `obj` already touched.
  void Emit(const std::string& type, const Json& obj) {
    history_.push_back(Event{rv_, type, obj});
    cv_.notify_all();
  }

  bool Handle(TestHttpConnection& conn, const TestHttpRequest& req) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    const std::map<std::string, std::string> q = Query(req.target);
    std::unique_lock<std::mutex> lock(mu_);
    requests_.push_back(Request{req.method, req.target, req.body, req.Header("authorization")});
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (it->method == req.method && req.target.find(it->part) != std::string::npos) {
        const int code = it->status;
        std::vector<std::pair<std::string, std::string>> headers;
        if (!it->retry_after.empty()) headers.emplace_back("Retry-After", it->retry_after);
        if (--it->times <= 0) faults_.erase(it);
        lock.unlock();
        return Reply(conn, code, StatusBody(code, ReasonFor(code), "injected by the test"),
                     headers);
      }
    }
    const std::vector<std::string> p = Split(path);
    if (p.size() < 3 || p[0] != "api" || p[1] != "v1") return Fail404(conn, lock, path);
    Result<Json> body = req.body.empty() ? Result<Json>(Json::Object()) : ParseJson(req.body);
    if (!body.ok()) {
      lock.unlock();
      return Fail(conn, 400, "bad json");
    }
    // /api/v1/pods and /api/v1/secrets: lists and watches across namespaces.
    if (p.size() == 3 && req.method == "GET" && (p[2] == "pods" || p[2] == "secrets")) {
      const std::string selector = q.contains("labelSelector") ? q.at("labelSelector") : "";
      if (p[2] == "pods" && q.contains("watch") && q.at("watch") == "true") {
        return Watch(conn, lock, selector, q);
      }
      const auto& store = p[2] == "pods" ? pods_ : secrets_;
      JsonArray items;
      for (const auto& [k, obj] : store) {
        if (Matches(selector, obj)) items.push_back(obj);
      }
      Json list = Json::Object();
      list.Set("kind", p[2] == "pods" ? "PodList" : "SecretList");
      list.Set("apiVersion", "v1");
      Json meta = Json::Object();
      meta.Set("resourceVersion", std::to_string(rv_));
      list.Set("metadata", std::move(meta));
      list.Set("items", Json(std::move(items)));
      lock.unlock();
      return Reply(conn, 200, ToJson(list));
    }
    if (p.size() == 3 && p[2] == "namespaces" && req.method == "POST") {
      const std::string* name = Path(*body, "name");
      if (name == nullptr) return Fail400(conn, lock, "namespace without a name");
      if (namespaces_.contains(*name)) {
        lock.unlock();
        return Fail(conn, 409, "namespaces \"" + *name + "\" already exists");
      }
      namespaces_.insert(*name);
      Json ns = *body;
      Touch(ns);
      lock.unlock();
      return Reply(conn, 201, ToJson(ns));
    }
    if (p.size() >= 5 && p[2] == "namespaces") {
      const std::string& ns = p[3];
      const std::string& kind = p[4];
      if (kind != "pods" && kind != "secrets") return Fail404(conn, lock, path);
      auto& store = kind == "pods" ? pods_ : secrets_;
      if (p.size() == 5 && req.method == "POST") {
        if (!namespaces_.contains(ns)) {
          lock.unlock();
          return Fail(conn, 404, "namespaces \"" + ns + "\" not found");
        }
        const std::string* name = Path(*body, "name");
        if (name == nullptr) return Fail400(conn, lock, "object without a name");
        const std::string key = ns + "/" + *name;
        if (store.contains(key)) {
          lock.unlock();
          return Fail(conn, 409, kind + " \"" + *name + "\" already exists");
        }
        Json obj = *body;
        Json* meta = obj.Find("metadata");
        meta->Set("uid", "uid-" + std::to_string(++uids_));
        if (kind == "pods") {
          Json status = Json::Object();
          status.Set("phase", "Pending");
          obj.Set("status", std::move(status));
        }
        Touch(obj);
        store[key] = obj;
        if (kind == "pods") Emit("ADDED", obj);
        lock.unlock();
        return Reply(conn, 201, ToJson(obj));
      }
      if (p.size() < 6) return Fail404(conn, lock, path);
      const std::string key = ns + "/" + p[5];
      auto it = store.find(key);
      if (p.size() == 7 && kind == "pods" && p[6] == "log" && req.method == "GET") {
        if (it == store.end()) {
          lock.unlock();
          return Fail(conn, 404, "pods \"" + p[5] + "\" not found");
        }
        std::string text = logs_.contains(key) ? logs_.at(key) : "";
        if (q.contains("limitBytes")) {
          text =
              text.substr(0, std::min<std::size_t>(text.size(), std::stoull(q.at("limitBytes"))));
        }
        lock.unlock();
        return conn.WriteResponse(200, {{"Content-Type", "text/plain"}}, text);
      }
      if (p.size() != 6) return Fail404(conn, lock, path);
      if (it == store.end()) {
        lock.unlock();
        return Fail(conn, 404, kind + " \"" + p[5] + "\" not found");
      }
      if (req.method == "GET") {
        Json obj = it->second;
        lock.unlock();
        return Reply(conn, 200, ToJson(obj));
      }
      if (req.method == "PUT") {
        Json obj = *body;
        obj.Find("metadata")->Set("uid", *Path(it->second, "uid"));
        Touch(obj);
        it->second = obj;
        lock.unlock();
        return Reply(conn, 200, ToJson(obj));
      }
      if (req.method == "DELETE") {
        const Json* pre = body->Find("preconditions");
        const std::string* want_uid = pre != nullptr ? pre->FindString("uid") : nullptr;
        if (want_uid != nullptr && *want_uid != *Path(it->second, "uid")) {
          lock.unlock();
          return Fail(conn, 409, "Precondition failed: UID in precondition: " + *want_uid);
        }
        Json obj = std::move(it->second);
        store.erase(it);
        Touch(obj);
        if (kind == "pods") Emit("DELETED", obj);
        lock.unlock();
        return Reply(conn, 200, ToJson(obj));
      }
    }
    return Fail404(conn, lock, path);
  }

  bool Fail404(TestHttpConnection& conn, std::unique_lock<std::mutex>& lock,
               const std::string& path) {
    lock.unlock();
    return Fail(conn, 404, "the server could not find the requested resource " + path);
  }
  bool Fail400(TestHttpConnection& conn, std::unique_lock<std::mutex>& lock,
               const std::string& what) {
    lock.unlock();
    return Fail(conn, 400, what);
  }

  static const std::string* Path(const Json& obj, std::string_view meta_key) {
    const Json* meta = obj.Find("metadata");
    return meta != nullptr ? meta->FindString(meta_key) : nullptr;
  }

  static std::string EventLine(const std::string& type, const Json& object) {
    Json ev = Json::Object();
    ev.Set("type", type);
    ev.Set("object", object);
    return ToJson(ev) + "\n";
  }
  static std::string Chunk(const std::string& data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
  }

  // A watch: 200 with a chunked body of events after `resourceVersion`, until the timeout,
  // a cut, an expiry or the fake's end.
  bool Watch(TestHttpConnection& conn, std::unique_lock<std::mutex>& lock,
             const std::string& selector, const std::map<std::string, std::string>& q) {
    ++watches_started_;
    std::int64_t from = q.contains("resourceVersion") ? std::stoll(q.at("resourceVersion")) : rv_;
    const int timeout_s = q.contains("timeoutSeconds") ? std::stoi(q.at("timeoutSeconds")) : 60;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    const int cut = cut_generation_;
    const int expire = expire_generation_;
    lock.unlock();
    if (!conn.Write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n")) {
      return false;
    }
    lock.lock();
    ++open_watches_;
    bool keep = true;
    for (;;) {
      if (stopping_ || cut != cut_generation_) {
        keep = false;  // close without the last chunk, and without what is still queued
        break;
      }
      if (from < oldest_rv_ - 1 || expire != expire_generation_) {
        const std::string line =
            EventLine("ERROR", *ParseJson(StatusBody(410, "Expired", "too old resource version")));
        lock.unlock();
        keep = conn.Write(Chunk(line)) && conn.Write("0\r\n\r\n");
        lock.lock();
        break;
      }
      std::string out;
      for (const Event& ev : history_) {
        if (ev.rv > from && Matches(selector, ev.object)) out += EventLine(ev.type, ev.object);
      }
      if (!history_.empty()) from = std::max(from, history_.back().rv);
      if (!out.empty()) {
        lock.unlock();
        const bool ok = conn.Write(Chunk(out));
        lock.lock();
        if (!ok) {
          keep = false;
          break;
        }
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        lock.unlock();
        keep = conn.Write("0\r\n\r\n");
        lock.lock();
        break;
      }
      cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                  std::chrono::milliseconds(100)));
    }
    --open_watches_;
    return keep;
  }

  std::unique_ptr<TestHttpServer> server_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<Request> requests_;
  std::vector<Fault> faults_;
  std::set<std::string> namespaces_;
  std::map<std::string, Json> pods_;     // "ns/name"
  std::map<std::string, Json> secrets_;  // "ns/name"
  std::map<std::string, std::string> logs_;
  std::vector<Event> history_;
  std::int64_t rv_ = 100;
  std::int64_t oldest_rv_ = 0;
  int uids_ = 0;
  int cut_generation_ = 0;
  int expire_generation_ = 0;
  int watches_started_ = 0;
  int open_watches_ = 0;
};

}  // namespace agentcore::testing
