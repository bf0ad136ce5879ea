// SPDX-License-Identifier: Apache-2.0
#pragma once

// A SessionOutputSink that records what a session process sent: the bytes of each stream, the
// order of the calls, and the exit. Tests wait on it with a timeout. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/runtime/session_runtime.hpp>

namespace agentcore::testing {

class RecordingSessionSink final : public SessionOutputSink {
 public:
  struct Exit {
    int code = 0;
    std::string reason;
  };

  void OnOutput(SessionStream stream, std::string_view bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (exit_) calls_after_exit_++;
    (stream == SessionStream::kStdout ? stdout_ : stderr_).append(bytes);
    if (!chunks_.empty() && chunks_.back().first == stream) {
      chunks_.back().second.append(bytes);
    } else {
      chunks_.emplace_back(stream, std::string(bytes));
    }
    cv_.notify_all();
  }

  void OnExit(int exit_code, std::string_view reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    exits_++;
    if (!exit_) exit_ = Exit{exit_code, std::string(reason)};
    cv_.notify_all();
  }

  // The exit, once OnExit was called within `timeout`.
  std::optional<Exit> WaitExit(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return exit_.has_value(); });
    return exit_;
  }

  // True once stdout contains `text` (within `timeout`).
  bool WaitStdout(std::string_view text,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return stdout_.find(text) != std::string::npos; });
  }

  std::string out() {
    std::lock_guard<std::mutex> lock(mu_);
    return stdout_;
  }
  std::string err() {
    std::lock_guard<std::mutex> lock(mu_);
    return stderr_;
  }
  // Consecutive bytes of one stream merged: the order the streams arrived in.
  std::vector<std::pair<SessionStream, std::string>> chunks() {
    std::lock_guard<std::mutex> lock(mu_);
    return chunks_;
  }
  int exits() {
    std::lock_guard<std::mutex> lock(mu_);
    return exits_;
  }
  int calls_after_exit() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_after_exit_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string stdout_;
  std::string stderr_;
  std::vector<std::pair<SessionStream, std::string>> chunks_;
  std::optional<Exit> exit_;
  int exits_ = 0;
  int calls_after_exit_ = 0;
};

}  // namespace agentcore::testing
