// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/executor.hpp>

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace agentcore {

Executor::~Executor() = default;

namespace {

/// A fixed pool over one queue. Tasks already posted run before the destructor returns, so
/// work a hub posted (a drain, a restart) finishes before the hub's parts go away.
class ThreadPoolExecutor final : public Executor {
 public:
  explicit ThreadPoolExecutor(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "agentcore-hub");
        Run();
      });
    }
  }
  ~ThreadPoolExecutor() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  void Post(std::function<void()> task) override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and nothing left to run
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;         // constant after construction
};

}  // namespace

std::unique_ptr<Executor> NewThreadPoolExecutor(unsigned threads) {
  return std::make_unique<ThreadPoolExecutor>(threads == 0 ? 1 : threads);
}

}  // namespace agentcore
