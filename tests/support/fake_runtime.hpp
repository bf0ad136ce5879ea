// SPDX-License-Identifier: Apache-2.0
#pragma once

// A Runtime that starts nothing: it records every Activate, Suspend and Checkin call, keeps the
// runtime status of each agent in memory, can be told to refuse the next starts, and emits the
// AgentEvents a test asks for (as the local runtime's watcher thread would). Also an Executor
// that runs each task inline, on the posting thread: the agent service's background work
// (drains, restarts, follow-ups of sweeps and runtime events) has then happened when the call
// that posted it returns, so tests need no waiting. Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/hub/executor.hpp>
#include <agentcore/hub/runtime_registry.hpp>
#include <agentcore/runtime/runtime.hpp>

namespace agentcore::testing {

class FakeRuntime final : public Runtime {
 public:
  struct SuspendCall {
    std::string agent_id;
    std::string reason;
  };
  struct CheckinCall {
    std::string agent_id;
    std::string endpoint;
  };

  explicit FakeRuntime(const RuntimeOptions& options) : observer_(options.observer) {}

  std::string_view Kind() const override { return "fake"; }

  Result<RuntimeAgentState> Activate(const ActivateRequest& req) override {
    std::lock_guard lock(mu_);
    activations_.push_back(req);
    if (fail_activations_ > 0) {
      --fail_activations_;
      return Status(ErrorCode::kInternal, "cannot start agent \"" + req.agent_id + "\": refused");
    }
    RuntimeAgentState& s = agents_[req.agent_id];
    if (s.status == AgentStatus::kActivating || s.status == AgentStatus::kOnline) return s;
    s = RuntimeAgentState{};
    s.agent_id = req.agent_id;
    s.agent_type = req.agent_type;
    s.status = AgentStatus::kActivating;
    s.instance_id = "fake:" + std::to_string(activations_.size());
    return s;
  }

  Status Checkin(std::string_view agent_id, std::string_view endpoint) override {
    std::lock_guard lock(mu_);
    checkins_.push_back(CheckinCall{std::string(agent_id), std::string(endpoint)});
    auto it = agents_.find(std::string(agent_id));
    if (it == agents_.end() || (it->second.status != AgentStatus::kActivating &&
                                it->second.status != AgentStatus::kOnline)) {
      return Status(ErrorCode::kConflict, "not running in the fake runtime");
    }
    it->second.status = AgentStatus::kOnline;
    it->second.endpoint = std::string(endpoint);
    return Status();
  }

  Status Suspend(std::string_view agent_id, std::string_view reason) override {
    std::lock_guard lock(mu_);
    suspends_.push_back(SuspendCall{std::string(agent_id), std::string(reason)});
    auto it = agents_.find(std::string(agent_id));
    if (it != agents_.end()) {
      it->second.status = AgentStatus::kOffline;
      it->second.reason = std::string(reason);
    }
    return Status();
  }

  std::optional<RuntimeAgentState> GetState(std::string_view agent_id) const override {
    std::lock_guard lock(mu_);
    auto it = agents_.find(std::string(agent_id));
    if (it == agents_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<RuntimeAgentState> ListAgents() const override {
    std::lock_guard lock(mu_);
    std::vector<RuntimeAgentState> out;
    for (const auto& [id, s] : agents_) {
      if (s.status == AgentStatus::kActivating || s.status == AgentStatus::kOnline) {
        out.push_back(s);
      }
    }
    return out;
  }

  Result<LogChunk> ReadLog(std::string_view agent_id, std::uint64_t offset,
                           std::size_t max_bytes) const override {
    std::lock_guard lock(mu_);
    auto it = logs_.find(std::string(agent_id));
    if (it == logs_.end()) return Status(ErrorCode::kNotFound, "no log");
    if (offset > it->second.size()) return Status(ErrorCode::kInvalidArgument, "offset past end");
    LogChunk chunk;
    chunk.data = it->second.substr(static_cast<std::size_t>(offset), max_bytes);
    chunk.next_offset = offset + chunk.data.size();
    chunk.size = it->second.size();
    return chunk;
  }

  Json RouteHints(std::string_view agent_id) const override {
    std::lock_guard lock(mu_);
    auto it = route_hints_.find(std::string(agent_id));
    return it == route_hints_.end() ? Json() : it->second;
  }

  Result<std::vector<std::string>> ReapOrphans() override {
    std::lock_guard lock(mu_);
    return std::exchange(orphans_, {});
  }

  Status Shutdown() override {
    std::vector<std::string> running;
    {
      std::lock_guard lock(mu_);
      shutdowns_ += 1;
      for (auto& [id, s] : agents_) {
        if (s.status == AgentStatus::kActivating || s.status == AgentStatus::kOnline) {
          s.status = AgentStatus::kOffline;
          running.push_back(id);
        }
      }
    }
    for (const std::string& id : running) Emit(AgentEventKind::kOffline, id, "shutdown");
    return Status();
  }

  // --- What the test controls

  /// The next `n` Activate calls fail with kInternal (and start nothing).
  void FailNextActivations(int n) {
    std::lock_guard lock(mu_);
    fail_activations_ = n;
  }
  /// What the next ReapOrphans returns (the agents "an earlier process left running").
  void SetOrphans(std::vector<std::string> ids) {
    std::lock_guard lock(mu_);
    orphans_ = std::move(ids);
  }
  /// What RouteHints(agent_id) returns from now on (null by default), as a Fly runtime
  /// returns its machine id.
  void SetRouteHints(const std::string& agent_id, Json hints) {
    std::lock_guard lock(mu_);
    route_hints_[agent_id] = std::move(hints);
  }
  void SetLog(const std::string& agent_id, std::string text) {
    std::lock_guard lock(mu_);
    logs_[agent_id] = std::move(text);
  }
  /// The agent's process ends on its own: its status becomes offline (kOffline) or error
  /// (kFailed), and the event reaches the observer, on the calling thread.
  void Exit(const std::string& agent_id, AgentEventKind kind, std::string reason) {
    {
      std::lock_guard lock(mu_);
      auto it = agents_.find(agent_id);
      if (it != agents_.end()) {
        it->second.status =
            kind == AgentEventKind::kFailed ? AgentStatus::kError : AgentStatus::kOffline;
      }
    }
    Emit(kind, agent_id, std::move(reason));
  }

  // --- What the test reads

  std::vector<ActivateRequest> activations() const {
    std::lock_guard lock(mu_);
    return activations_;
  }
  std::vector<SuspendCall> suspends() const {
    std::lock_guard lock(mu_);
    return suspends_;
  }
  std::vector<CheckinCall> checkins() const {
    std::lock_guard lock(mu_);
    return checkins_;
  }
  int shutdowns() const {
    std::lock_guard lock(mu_);
    return shutdowns_;
  }

 private:
  // Never called with mu_ held, as the RuntimeObserver contract asks.
  void Emit(AgentEventKind kind, const std::string& agent_id, std::string reason) {
    if (observer_ == nullptr) return;
    AgentEvent event;
    event.kind = kind;
    event.agent_id = agent_id;
    event.reason = std::move(reason);
    observer_->OnAgentEvent(event);
  }

  RuntimeObserver* const observer_;
  mutable std::mutex mu_;
  // Guarded by mu_.
  std::map<std::string, RuntimeAgentState> agents_;
  std::map<std::string, std::string> logs_;
  std::map<std::string, Json> route_hints_;
  std::vector<ActivateRequest> activations_;
  std::vector<SuspendCall> suspends_;
  std::vector<CheckinCall> checkins_;
  std::vector<std::string> orphans_;
  int fail_activations_ = 0;
  int shutdowns_ = 0;
};

/// A RuntimeSpec named "fake" for `agent_types` whose open makes a FakeRuntime and stores its
/// address in `*out` (owned by the hub's registry; valid while the hub lives).
inline RuntimeSpec FakeRuntimeSpec(FakeRuntime** out,
                                   std::vector<std::string> agent_types = {"*"}) {
  RuntimeSpec spec;
  spec.name = "fake";
  spec.agent_types = std::move(agent_types);
  spec.open = [out](const RuntimeOptions& options) -> Result<std::unique_ptr<Runtime>> {
    auto runtime = std::make_unique<FakeRuntime>(options);
    *out = runtime.get();
    return std::unique_ptr<Runtime>(std::move(runtime));
  };
  return spec;
}

/// Runs every task inline, on the posting thread (see the top of this file). Breaks
/// Executor's "never inline" promise on purpose, for deterministic tests.
class InlineExecutor final : public Executor {
 public:
  void Post(std::function<void()> task) override { task(); }
};

}  // namespace agentcore::testing
