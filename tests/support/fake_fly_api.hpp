// SPDX-License-Identifier: Apache-2.0
#pragma once

// A fake Fly.io Machines API on TestHttpServer: exactly the subset the Fly runtime uses, with
// the real API's shapes (fake_fly_api.md lists it). One app, one bearer token. Machines start
// after a configurable delay (or never), stop when asked or when a test makes them exit, and
// are destroyed by DELETE. A test can make the next requests answer 429 (with Retry-After),
// 5xx, or a create error. Every request is recorded with its arrival time. Thread-safe.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <agentcore/json.hpp>

#include "support/test_http_server.hpp"

namespace agentcore::testing {

class FakeFlyApi {
 public:
  using Clock = std::chrono::steady_clock;

  struct Request {
    std::string method;
    std::string path;  // without the query
    std::map<std::string, std::string> query;
    std::string authorization;
    std::string body;
    Clock::time_point at;
  };

  struct Machine {
    std::string id;
    std::string instance_id;
    std::string state;  // created, starting, started, stopping, stopped, destroyed
    std::string region;
    Json config;  // as created
    Json events = Json::Array();
    Clock::time_point created;
    bool stop_asked = false;
    // Metadata value or "".
    std::string Meta(std::string_view key) const {
      if (!config.is_object()) return "";
      const Json* md = config.Find("metadata");
      if (md == nullptr || !md->is_object()) return "";
      const std::string* v = md->FindString(key);
      return v != nullptr ? *v : "";
    }
    // The env entry `name` of the config, or nullopt.
    std::optional<std::string> Env(std::string_view name) const {
      const Json* env = config.is_object() ? config.Find("env") : nullptr;
      if (env == nullptr || !env->is_object()) return std::nullopt;
      const std::string* v = env->FindString(name);
      if (v == nullptr) return std::nullopt;
      return *v;
    }
  };

  FakeFlyApi(std::string app, std::string token)
      : app_(std::move(app)),
        token_(std::move(token)),
        server_([this](TestHttpConnection& c, const TestHttpRequest& r) { return Handle(c, r); }) {}

  /// The base URL to give the runtime (FlyOptions::api_url).
  std::string BaseUrl() const { return server_.Url("/v1"); }

  // --- What the test injects

  /// The next `n` requests (any route) answer 429 with `retry_after` as Retry-After (none when
  /// empty).
  void Fail429(int n, std::string retry_after = "") {
    std::lock_guard lock(mu_);
    fail429_ = n;
    retry_after_ = std::move(retry_after);
  }
  /// The next `n` requests answer `status` (a 5xx).
  void Fail5xx(int n, int status = 503) {
    std::lock_guard lock(mu_);
    fail5xx_ = n;
    status5xx_ = status;
  }
  /// Creates answer `status` with `{"error": message}` until cleared with status 0.
  void FailCreates(int status, std::string message) {
    std::lock_guard lock(mu_);
    create_error_status_ = status;
    create_error_ = std::move(message);
  }
  /// New machines stay `created`, then `starting`, for `delay` before `started`.
  void SetStartDelay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mu_);
    start_delay_ = delay;
  }
  /// New machines never reach `started` (they stay `starting`).
  void NeverStart() {
    std::lock_guard lock(mu_);
    never_start_ = true;
  }
  /// The list route leaves out every machine (a list lagging behind creates); the machine
  /// routes still answer.
  void SetListEmpty(bool empty) {
    std::lock_guard lock(mu_);
    list_empty_ = empty;
  }
  /// Every request waits this long before it is answered.
  void SetLatency(std::chrono::milliseconds latency) {
    std::lock_guard lock(mu_);
    latency_ = latency;
  }
  /// The machine's process exits by itself: state `stopped`, an exit event with `exit_code`.
  void ExitMachine(const std::string& id, int exit_code) {
    std::lock_guard lock(mu_);
    auto it = machines_.find(id);
    if (it == machines_.end()) return;
    it->second.state = "stopped";
    AddExitEvent(it->second, exit_code, false);
  }
  /// A machine an earlier server left: `metadata` as given, state `started`. Returns its id.
  std::string AddMachine(std::map<std::string, std::string> metadata) {
    std::lock_guard lock(mu_);
    Machine m;
    m.id = NextIdLocked();
    m.instance_id = "01H" + m.id;
    m.state = "started";
    m.region = "iad";
    m.created = Clock::now();
    m.config = Json::Object();
    Json md = Json::Object();
    for (auto& [k, v] : metadata) md.Set(k, v);
    m.config.Set("metadata", std::move(md));
    machines_[m.id] = m;
    return m.id;
  }

  // --- What the test reads

  std::vector<Request> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  /// The requests with this method whose path ends with `suffix`.
  std::vector<Request> RequestsTo(std::string_view method, std::string_view suffix) const {
    std::vector<Request> out;
    for (Request& r : Requests()) {
      if (r.method == method && r.path.size() >= suffix.size() &&
          r.path.compare(r.path.size() - suffix.size(), suffix.size(), suffix) == 0) {
        out.push_back(std::move(r));
      }
    }
    return out;
  }
  std::optional<Machine> Get(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = machines_.find(id);
    if (it == machines_.end()) return std::nullopt;
    AdvanceLocked(it->second);
    return it->second;
  }
  /// Every machine ever created or added, destroyed ones included.
  std::vector<Machine> Machines() {
    std::lock_guard lock(mu_);
    std::vector<Machine> out;
    for (auto& [id, m] : machines_) {
      AdvanceLocked(m);
      out.push_back(m);
    }
    return out;
  }
  /// The machines not destroyed.
  std::vector<Machine> Live() {
    std::vector<Machine> out;
    for (Machine& m : Machines()) {
      if (m.state != "destroyed") out.push_back(std::move(m));
    }
    return out;
  }

 private:
  static std::int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  std::string NextIdLocked() {
    char buf[32];
    std::snprintf(buf, sizeof buf, "e2865%09llx", static_cast<unsigned long long>(++next_id_));
    return buf;
  }

  static void AddExitEvent(Machine& m, int exit_code, bool requested) {
    Json exit_event = Json::Object();
    exit_event.Set("exit_code", exit_code);
    exit_event.Set("oom_killed", false);
    exit_event.Set("requested_stop", requested);
    exit_event.Set("restarting", false);
    exit_event.Set("signal", -1);
    exit_event.Set("exited_at", "2026-12-07T10:00:00Z");
    Json request = Json::Object();
    request.Set("exit_event", std::move(exit_event));
    Json e = Json::Object();
    e.Set("type", "exit");
    e.Set("status", "stopped");
    e.Set("source", "flyd");
    e.Set("timestamp", NowMs());
    e.Set("request", std::move(request));
    // Fly lists events newest first.
    m.events.as_array().insert(m.events.as_array().begin(), std::move(e));
  }

  // Time-driven transitions: created -> starting -> started.
  void AdvanceLocked(Machine& m) const {
    if (m.state != "created" && m.state != "starting") return;
    const auto age = Clock::now() - m.created;
    if (never_start_) {
      m.state = "starting";
    } else if (age >= start_delay_) {
      m.state = "started";
    } else if (age >= start_delay_ / 2) {
      m.state = "starting";
    }
  }

  Json MachineJson(const Machine& m) const {
    Json j = Json::Object();
    j.Set("id", m.id);
    j.Set("name", "machine-" + m.id);
    j.Set("state", m.state);
    j.Set("region", m.region);
    j.Set("instance_id", m.instance_id);
    j.Set("private_ip", "fdaa:0:1:a7b:1::2");
    j.Set("config", m.config);
    j.Set("created_at", "2026-12-07T10:00:00Z");
    j.Set("updated_at", "2026-12-07T10:00:01Z");
    j.Set("events", m.events);
    return j;
  }

  static bool Respond(TestHttpConnection& c, int status, const Json& body,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    c.WriteResponse(status, headers, ToJson(body));
    return true;
  }
  static Json Error(std::string message) {
    Json e = Json::Object();
    e.Set("error", std::move(message));
    return e;
  }
  static Json Ok() {
    Json e = Json::Object();
    e.Set("ok", true);
    return e;
  }

  bool Handle(TestHttpConnection& c, const TestHttpRequest& r) {
    Request rec;
    rec.method = r.method;
    const std::size_t q = r.target.find('?');
    rec.path = r.target.substr(0, q);
    if (q != std::string::npos) {
      std::string_view rest = std::string_view(r.target).substr(q + 1);
      while (!rest.empty()) {
        std::size_t amp = rest.find('&');
        std::string_view kv = rest.substr(0, amp);
        std::size_t eq = kv.find('=');
        rec.query[std::string(kv.substr(0, eq))] =
            eq == std::string_view::npos ? "" : Unescape(kv.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
      }
    }
    rec.authorization = r.Header("authorization");
    rec.body = r.body;
    rec.at = Clock::now();
    std::chrono::milliseconds latency{0};
    {
      std::lock_guard lock(mu_);
      requests_.push_back(rec);
      latency = latency_;
    }
    if (latency.count() > 0) std::this_thread::sleep_for(latency);
    if (rec.authorization != "Bearer " + token_) return Respond(c, 401, Error("Unauthorized"));
    {
      std::lock_guard lock(mu_);
      if (fail429_ > 0) {
        --fail429_;
        std::vector<std::pair<std::string, std::string>> h;
        if (!retry_after_.empty()) h.emplace_back("Retry-After", retry_after_);
        return Respond(c, 429, Error("rate limit exceeded"), h);
      }
      if (fail5xx_ > 0) {
        --fail5xx_;
        return Respond(c, status5xx_, Error("internal error: upstream unavailable"));
      }
    }
    const std::string prefix = "/v1/apps/" + app_ + "/machines";
    if (rec.path.rfind("/v1/apps/", 0) == 0 && rec.path.rfind(prefix, 0) != 0) {
      return Respond(c, 404, Error("app not found"));
    }
    if (rec.path.rfind(prefix, 0) != 0) return Respond(c, 404, Error("not found"));
    std::string rest = rec.path.substr(prefix.size());
    if (rest.empty()) {
      if (r.method == "POST") return Create(c, rec);
      if (r.method == "GET") return List(c, rec);
      return Respond(c, 405, Error("method not allowed"));
    }
    if (rest[0] != '/') return Respond(c, 404, Error("not found"));
    rest.erase(0, 1);
    const std::size_t slash = rest.find('/');
    const std::string id = rest.substr(0, slash);
    const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (action == "wait" && r.method == "GET") return Wait(c, id, rec);
    std::lock_guard lock(mu_);
    auto it = machines_.find(id);
    if (it == machines_.end()) return Respond(c, 404, Error("machine not found"));
    Machine& m = it->second;
    AdvanceLocked(m);
    if (action.empty() && r.method == "GET") return Respond(c, 200, MachineJson(m));
    if (action.empty() && r.method == "DELETE") {
      if (m.state == "destroyed") return Respond(c, 404, Error("machine not found"));
      if (m.state != "stopped" && m.state != "created" && rec.query["force"] != "true") {
        return Respond(c, 412,
                       Error("failed_precondition: unable to destroy machine, not currently "
                             "stopped, suspended or failed"));
      }
      m.state = "destroyed";
      cv_.notify_all();
      return Respond(c, 200, Ok());
    }
    if (action == "stop" && r.method == "POST") {
      if (m.state == "destroyed") return Respond(c, 404, Error("machine not found"));
      if (m.state != "stopped") {
        m.state = "stopped";
        m.stop_asked = true;
        AddExitEvent(m, 0, true);
      }
      cv_.notify_all();
      return Respond(c, 200, Ok());
    }
    return Respond(c, 404, Error("not found"));
  }

  static std::string Unescape(std::string_view v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '%' && i + 2 < v.size() && std::isxdigit(static_cast<unsigned char>(v[i + 1])) &&
          std::isxdigit(static_cast<unsigned char>(v[i + 2]))) {
        out.push_back(static_cast<char>(std::stoi(std::string(v.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(v[i]);
      }
    }
    return out;
  }

  bool Create(TestHttpConnection& c, const Request& rec) {
    Result<Json> body = ParseJson(rec.body);
    std::lock_guard lock(mu_);
    if (create_error_status_ != 0) {
      return Respond(c, create_error_status_, Error(create_error_));
    }
    if (!body.ok() || !body->is_object()) return Respond(c, 400, Error("invalid JSON body"));
    const Json* config = body->Find("config");
    if (config == nullptr || !config->is_object() || config->FindString("image") == nullptr) {
      return Respond(c, 422, Error("invalid config.image: must be a string"));
    }
    Machine m;
    m.id = NextIdLocked();
    m.instance_id = "01J" + m.id;
    m.state = "created";
    const std::string* region = body->FindString("region");
    m.region = region != nullptr ? *region : "iad";
    m.config = *config;
    m.created = Clock::now();
    machines_[m.id] = m;
    return Respond(c, 200, MachineJson(m));
  }

  bool List(TestHttpConnection& c, const Request& rec) {
    std::lock_guard lock(mu_);
    Json out = Json::Array();
    for (auto& [id, m] : machines_) {
      AdvanceLocked(m);
      if (m.state == "destroyed" || list_empty_) continue;  // as Fly, without include_deleted
      bool match = true;
      for (const auto& [k, v] : rec.query) {
        if (k.rfind("metadata.", 0) == 0 && m.Meta(k.substr(9)) != v) match = false;
      }
      if (match) out.as_array().push_back(MachineJson(m));
    }
    return Respond(c, 200, out);
  }

  bool Wait(TestHttpConnection& c, const std::string& id, const Request& rec) {
    auto q = rec.query;
    const std::string state = q.count("state") != 0 ? q["state"] : "started";
    if (state != "started" && state != "stopped" && state != "suspended" && state != "destroyed") {
      return Respond(c, 400, Error("invalid state"));
    }
    int timeout_s = 60;
    if (q.count("timeout") != 0) timeout_s = std::atoi(q["timeout"].c_str());
    if (timeout_s < 1 || timeout_s > 60) return Respond(c, 400, Error("invalid timeout"));
    const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
    std::unique_lock lock(mu_);
    for (;;) {
      auto it = machines_.find(id);
      if (it == machines_.end()) return Respond(c, 404, Error("machine not found"));
      AdvanceLocked(it->second);
      if (it->second.state == state) {
        Json ok = Ok();
        ok.Set("state", state);
        return Respond(c, 200, ok);
      }
      if (Clock::now() >= deadline) {
        return Respond(c, 408,
                       Error("deadline_exceeded: timeout waiting for machine to be " + state));
      }
      cv_.wait_for(lock, std::chrono::milliseconds(5));
    }
  }

  const std::string app_;
  const std::string token_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::map<std::string, Machine> machines_;
  std::vector<Request> requests_;
  std::uint64_t next_id_ = 0;
  int fail429_ = 0;
  std::string retry_after_;
  int fail5xx_ = 0;
  int status5xx_ = 503;
  int create_error_status_ = 0;
  std::string create_error_;
  std::chrono::milliseconds start_delay_{0};
  std::chrono::milliseconds latency_{0};
  bool never_start_ = false;
  bool list_empty_ = false;
  // Last: its threads call Handle, which uses the members above.
  TestHttpServer server_;
};

}  // namespace agentcore::testing
