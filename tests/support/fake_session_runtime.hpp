// SPDX-License-Identifier: Apache-2.0
#pragma once

// An in-process SessionRuntime (runtime/session_runtime.hpp) for the session service's tests.
// A "process" is an object the test drives: Emit() is output, Exit() the command ending (both
// call the sink on the test's thread, as a runtime thread would), Vanish() a process gone
// without an OnExit. What the service wrote to stdin is captured. Start can be made to fail,
// to run a hook first (advance a clock, block on a latch), or to emit output and exit before
// it returns (a command that ends at once). Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <agentcore/runtime/session_runtime.hpp>

namespace agentcore::testing {

class FakeSessionProcess final : public SessionProcess {
 public:
  FakeSessionProcess(SessionSpec spec, SessionOutputSink* sink, std::string id)
      : spec_(std::move(spec)), sink_(sink), id_(std::move(id)) {}
  ~FakeSessionProcess() override {
    // Dropping a process that still runs kills it (the interface's rule).
    bool vanished = false;
    {
      std::lock_guard lock(mu_);
      vanished = vanished_;
    }
    if (vanished) Exit(-1, "the process vanished");
    Exit(137, "killed by signal 9");
  }

  const std::string& id() const override { return id_; }
  Result<std::string> Endpoint(std::uint16_t port) const override {
    if (spec_.network != SessionNetwork::kExposed) {
      return Status(ErrorCode::kNotFound, "the session's network is not exposed");
    }
    for (const SessionPort& p : spec_.ports) {
      if (p.port == port) return "127.0.0.1:" + std::to_string(port);
    }
    return Status(ErrorCode::kNotFound, "port not declared");
  }
  Status WriteStdin(std::string_view bytes) override {
    bool echo = false;
    {
      std::lock_guard lock(mu_);
      if (exited_ || vanished_) return Status(ErrorCode::kConflict, "the process exited");
      if (stdin_closed_) return Status(ErrorCode::kConflict, "stdin was closed");
      stdin_ += bytes;
      echo = echo_stdin_;
    }
    if (echo) Emit(SessionStream::kStdout, bytes);
    return Status();
  }
  Status CloseStdin() override {
    std::lock_guard lock(mu_);
    stdin_closed_ = true;
    return Status();
  }
  Status Stop(std::chrono::milliseconds grace) override {
    bool vanished = false;
    {
      std::lock_guard lock(mu_);
      stop_graces_.push_back(grace);
      vanished = vanished_;
    }
    // Stop returns once OnExit was called (the interface's rule), for a vanished one too.
    if (vanished) {
      Exit(-1, "the process vanished");
    } else {
      Exit(143, "killed by signal 15");
    }
    return Status();
  }
  bool running() const override {
    std::lock_guard lock(mu_);
    return !exited_ && !vanished_;
  }

  // --- What the test drives.
  void Emit(SessionStream stream, std::string_view bytes) {
    std::lock_guard calls(call_mu_);  // one sink call at a time, in order
    {
      std::lock_guard lock(mu_);
      if (exited_) return;
    }
    sink_->OnOutput(stream, bytes);
  }
  /// The command ends: OnExit once (later calls do nothing).
  void Exit(int code, std::string_view reason) {
    std::lock_guard calls(call_mu_);
    {
      std::lock_guard lock(mu_);
      if (exited_) return;
      exited_ = true;
    }
    sink_->OnExit(code, reason);
  }
  /// Gone without an OnExit (running() turns false) until Stop or the destructor delivers it
  /// (-1, "the process vanished").
  void Vanish() {
    std::lock_guard lock(mu_);
    vanished_ = true;
  }
  void EchoStdin(bool on) {
    std::lock_guard lock(mu_);
    echo_stdin_ = on;
  }
  std::string stdin_bytes() const {
    std::lock_guard lock(mu_);
    return stdin_;
  }
  bool stdin_closed() const {
    std::lock_guard lock(mu_);
    return stdin_closed_;
  }
  std::vector<std::chrono::milliseconds> stop_graces() const {
    std::lock_guard lock(mu_);
    return stop_graces_;
  }
  const SessionSpec& spec() const { return spec_; }

 private:
  const SessionSpec spec_;
  SessionOutputSink* const sink_;
  const std::string id_;
  std::mutex call_mu_;
  mutable std::mutex mu_;
  bool exited_ = false;
  bool vanished_ = false;
  bool stdin_closed_ = false;
  bool echo_stdin_ = false;
  std::string stdin_;
  std::vector<std::chrono::milliseconds> stop_graces_;
};

class FakeSessionRuntime final : public SessionRuntime {
 public:
  explicit FakeSessionRuntime(std::string name = "fake") : name_(std::move(name)) {}

  std::string_view name() const override { return name_; }

  Result<std::unique_ptr<SessionProcess>> Start(const SessionSpec& spec,
                                                SessionOutputSink* sink) override {
    std::function<void(const SessionSpec&)> hook;
    Status fail;
    std::vector<std::pair<SessionStream, std::string>> output;
    std::optional<int> exit_code;
    std::string id;
    {
      std::lock_guard lock(mu_);
      specs_.push_back(spec);
      hook = before_start_;
      fail = fail_next_;
      fail_next_ = Status();
      output = start_output_;
      exit_code = exit_at_start_;
      id = "fake:" + std::to_string(++started_);
    }
    if (hook) hook(spec);
    if (!fail.ok()) return fail;
    auto process = std::make_unique<FakeSessionProcess>(spec, sink, id);
    for (const auto& [stream, bytes] : output) process->Emit(stream, bytes);
    if (exit_code) process->Exit(*exit_code, "exited with code " + std::to_string(*exit_code));
    {
      std::lock_guard lock(mu_);
      processes_[spec.session_id] = process.get();
    }
    return std::unique_ptr<SessionProcess>(std::move(process));
  }

  Result<std::size_t> ReapOrphans(std::string_view instance) override {
    std::lock_guard lock(mu_);
    reaped_.emplace_back(instance);
    return std::size_t{0};
  }

  // --- Scripting.
  /// The next Start fails with `status` (after the hook), nothing started.
  void FailNextStart(Status status) {
    std::lock_guard lock(mu_);
    fail_next_ = std::move(status);
  }
  /// Runs at every Start before the process exists (a slow start: advance a clock, block).
  void BeforeStart(std::function<void(const SessionSpec&)> hook) {
    std::lock_guard lock(mu_);
    before_start_ = std::move(hook);
  }
  /// Every later Start emits this output before it returns.
  void OutputAtStart(std::vector<std::pair<SessionStream, std::string>> output) {
    std::lock_guard lock(mu_);
    start_output_ = std::move(output);
  }
  /// Every later Start's command exits with `code` before Start returns (nullopt: runs).
  void ExitAtStart(std::optional<int> code) {
    std::lock_guard lock(mu_);
    exit_at_start_ = code;
  }

  // --- Inspection. The process of a session is the latest one started for it; valid while
  // the service holds it (until the session stops, fails or is deleted).
  FakeSessionProcess* process(const std::string& session_id) {
    std::lock_guard lock(mu_);
    auto it = processes_.find(session_id);
    return it == processes_.end() ? nullptr : it->second;
  }
  std::vector<SessionSpec> specs() const {
    std::lock_guard lock(mu_);
    return specs_;
  }
  int started() const {
    std::lock_guard lock(mu_);
    return started_;
  }
  std::vector<std::string> reaped() const {
    std::lock_guard lock(mu_);
    return reaped_;
  }

 private:
  const std::string name_;
  mutable std::mutex mu_;
  std::function<void(const SessionSpec&)> before_start_;
  Status fail_next_;
  std::vector<std::pair<SessionStream, std::string>> start_output_;
  std::optional<int> exit_at_start_;
  int started_ = 0;
  std::vector<SessionSpec> specs_;
  std::map<std::string, FakeSessionProcess*> processes_;
  std::vector<std::string> reaped_;
};

}  // namespace agentcore::testing
