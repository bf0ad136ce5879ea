// SPDX-License-Identifier: Apache-2.0
#pragma once

// A builder agent inside the test process, for the run service's tests without processes or
// HTTP: it is the hub's AgentTransport, so a push (the task message's doorbell) reaches it; it
// then does what docs/runs.md asks of a builder, on its own thread: reads its task with
// RunService::TaskFor and sends its frames through the hub's ingest, as the HTTP routes would.
// What it does per phase is scripted. The real builder (examples/builder-agent) is tested
// end to end in tests/server.

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/agent_transport.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/hub/ingest.hpp>
#include <agentcore/hub/runs.hpp>
#include <agentcore/tymbal/frame.hpp>
#include <agentcore/ulid.hpp>

namespace agentcore::testing {

class FakeBuilder final : public AgentTransport {
 public:
  /// What the builder does.
  struct Script {
    std::string file = "hello.txt";  // written by the build phase
    std::string content = "hi";
    int fail_build_attempts = 0;     // the build reports ok:false on attempts 1..n
    bool retryable = true;           // of that failure
    bool hang_build = false;         // the build never ends (a timeout test)
    bool send_plan = true;           // the plan phase sends a plan frame
    std::string provider = "example";
    std::string model = "builder-1";
  };

  FakeBuilder() : thread_([this] { Loop(); }) {}
  ~FakeBuilder() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void Attach(Hub* hub) { hub_ = hub; }
  void SetScript(Script script) {
    std::lock_guard lock(mu_);
    script_ = std::move(script);
  }

  Status Push(const AgentPush& push) override {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(push.agent_id);
      ++pushes_;
    }
    cv_.notify_all();
    return Status();
  }

  /// Tasks taken, as "<runId>/<phase>/<attempt>", in order.
  std::vector<std::string> Tasks() const {
    std::lock_guard lock(mu_);
    return tasks_;
  }
  /// The last task's JSON.
  Json LastTask() const {
    std::lock_guard lock(mu_);
    return last_task_;
  }
  int pushes() const {
    std::lock_guard lock(mu_);
    return pushes_;
  }

  /// Sends one frame of `agent`'s channel through the hub's ingest (what POST /tymbal does).
  Status Send(const AgentIdentity& agent, TymbalFrame frame) {
    return hub_->ingest().Apply(std::move(frame), IngestTarget{agent.space_id, agent.channel_id});
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      std::string agent_id = std::move(queue_.front());
      queue_.pop_front();
      Script script = script_;
      lock.unlock();
      Work(agent_id, script);
      lock.lock();
    }
  }

  void Work(const std::string& agent_id, const Script& script) {
    Result<AgentIdentity> agent = ParseAgentId(agent_id);
    if (!agent.ok() || hub_ == nullptr) return;
    Result<std::optional<Json>> task = hub_->runs().TaskFor(*agent);
    if (!task.ok() || !task->has_value()) return;
    const Json& t = **task;
    const std::string run = *t.FindString("runId");
    const std::string phase = *t.FindString("phase");
    const auto attempt = static_cast<int>(t.Find("attempt")->as_number());
    {
      std::lock_guard lock(mu_);
      const std::string key = run + "/" + phase + "/" + std::to_string(attempt);
      if (!done_.insert(key).second) return;  // asked again: done already
      tasks_.push_back(key);
      last_task_ = t;
    }
    auto value = [&](std::string_view type) {
      Json v = Json::Object();
      v.Set("type", type);
      v.Set("sender", agent->callsign);
      v.Set("run", run);
      v.Set("phase", phase);
      return v;
    };
    auto set = [&](Json v) { (void)Send(*agent, MakeSetFrame(ulids_.Next(), "", std::move(v))); };
    // Streamed text: start, two appends, the whole message.
    const std::string text_id = ulids_.Next();
    Json meta = Json::Object();
    meta.Set("run", run);
    meta.Set("phase", phase);
    meta.Set("type", "message");
    (void)Send(*agent, *MakeStartFrame(text_id, std::move(meta)));
    (void)Send(*agent, MakeAppendFrame(text_id, phase + " "));
    (void)Send(*agent, MakeAppendFrame(text_id, "step"));
    Json message = value("message");
    message.Set("content", phase + " step");
    (void)Send(*agent, MakeSetFrame(text_id, "", std::move(message)));
    Json result = value("run_result");
    if (phase == "plan") {
      if (script.send_plan) {
        Json plan = value("plan");
        Json body = Json::Object();
        body.Set("summary", "write " + script.file);
        Json todo = Json::Object();
        todo.Set("id", "1");
        todo.Set("title", "write " + script.file);
        Json todos = Json::Array();
        todos.as_array().push_back(std::move(todo));
        body.Set("todos", std::move(todos));
        plan.Set("plan", std::move(body));
        set(std::move(plan));
      }
      result.Set("ok", true);
      set(std::move(result));
      return;
    }
    if (script.hang_build) return;
    Json call = value("tool_call");
    call.Set("toolCallId", "t1");
    call.Set("name", "write_file");
    Json args = Json::Object();
    args.Set("path", script.file);
    call.Set("args", std::move(args));
    set(std::move(call));
    std::ofstream(std::filesystem::path(*t.FindString("workspace")) / script.file)
        << script.content;
    Json tool_result = value("tool_result");
    tool_result.Set("toolCallId", "t1");
    tool_result.Set("name", "write_file");
    tool_result.Set("output", "wrote " + script.file);
    set(std::move(tool_result));
    Json usage = value("usage");
    usage.Set("provider", script.provider);
    usage.Set("model", script.model);
    usage.Set("inputTokens", 1000);
    usage.Set("outputTokens", 500);
    set(std::move(usage));
    if (attempt <= script.fail_build_attempts) {
      result.Set("ok", false);
      result.Set("error", "scripted failure on attempt " + std::to_string(attempt));
      result.Set("retryable", script.retryable);
    } else {
      result.Set("ok", true);
      result.Set("summary", "wrote " + script.file);
    }
    set(std::move(result));
  }

  Hub* hub_ = nullptr;
  UlidGenerator ulids_{SystemClock()};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by mu_
  std::set<std::string> done_;     // guarded by mu_
  std::vector<std::string> tasks_;
  Json last_task_;
  Script script_;
  int pushes_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members above
};

}  // namespace agentcore::testing
