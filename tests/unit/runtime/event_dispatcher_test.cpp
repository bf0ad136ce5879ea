// SPDX-License-Identifier: Apache-2.0
#include "runtime/event_dispatcher.hpp"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/runtime/agent.hpp>
#include <agentcore/runtime/runtime.hpp>

namespace agentcore {
namespace {

using internal::EventDispatcher;
using namespace std::chrono_literals;

AgentEvent Event(int i) {
  return AgentEvent{AgentEventKind::kOnline, "s:c:a" + std::to_string(i), std::nullopt, {}};
}

// Records the agent ids and the threads it was called on. `gate`, when set, holds every call
// until Open().
class Recorder final : public RuntimeObserver {
 public:
  void OnAgentEvent(const AgentEvent& event) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
    ids_.push_back(event.agent_id);
    threads_.push_back(std::this_thread::get_id());
    char name[32] = {};
    ::pthread_getname_np(::pthread_self(), name, sizeof name);
    names_.emplace_back(name);
    if (on_event_) on_event_(event);
    cv_.notify_all();
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitFor(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return ids_.size() >= n; });
  }
  std::vector<std::string> ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  std::vector<std::thread::id> threads() {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_;
  }
  std::vector<std::string> names() {
    std::lock_guard<std::mutex> lock(mu_);
    return names_;
  }
  // Called after recording, with the recorder's lock held; set before the first event.
  std::function<void(const AgentEvent&)> on_event_;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  std::vector<std::string> ids_;
  std::vector<std::thread::id> threads_;
  std::vector<std::string> names_;
};

std::vector<std::string> Ids(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("s:c:a" + std::to_string(i));
  return out;
}

}  // namespace

TEST_SUITE("runtime/event_dispatcher") {
  TEST_CASE("events reach the observer in push order on the dispatcher's named thread") {
    Recorder rec;
    EventDispatcher d(&rec, "agentcore-test");
    for (int i = 0; i < 100; ++i) d.Push(Event(i));
    REQUIRE(rec.WaitFor(100));
    CHECK(rec.ids() == Ids(0, 100));
    const auto threads = rec.threads();
    CHECK(threads.front() != std::this_thread::get_id());
    for (const auto& t : threads) CHECK(t == threads.front());
    for (const auto& n : rec.names()) CHECK(n == "agentcore-test");
    d.Stop();
    CHECK(rec.ids().size() == 100);
  }

  TEST_CASE("events pushed from several threads keep each thread's order") {
    Recorder rec;
    EventDispatcher d(&rec, "agentcore-test");
    constexpr int kThreads = 4, kEach = 250;
    std::vector<std::thread> pushers;
    for (int t = 0; t < kThreads; ++t) {
      pushers.emplace_back([&d, t] {
        for (int i = 0; i < kEach; ++i) d.Push(Event(t * kEach + i));
      });
    }
    for (auto& t : pushers) t.join();
    d.Stop();
    const auto ids = rec.ids();
    REQUIRE(ids.size() == kThreads * kEach);
    std::vector<int> last(kThreads, -1);
    for (const std::string& id : ids) {
      const int n = std::stoi(id.substr(5));
      const int t = n / kEach;
      CHECK(n % kEach == last[static_cast<std::size_t>(t)] + 1);
      last[static_cast<std::size_t>(t)] = n % kEach;
    }
  }

  TEST_CASE("Push never waits for a slow observer") {
    Recorder rec;
    rec.Close();  // the observer blocks on the first event
    EventDispatcher d(&rec, "agentcore-test");
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 50; ++i) d.Push(Event(i));
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    CHECK(rec.ids().empty());
    rec.Open();
    d.Stop();
    CHECK(rec.ids() == Ids(0, 50));
  }

  TEST_CASE("Stop delivers every queued event before it returns") {
    Recorder rec;
    rec.Close();
    EventDispatcher d(&rec, "agentcore-test");
    for (int i = 0; i < 20; ++i) d.Push(Event(i));
    auto stopped = std::async(std::launch::async, [&] { d.Stop(); });
    // Stop waits for the observer, which is held.
    CHECK(stopped.wait_for(200ms) == std::future_status::timeout);
    rec.Open();
    REQUIRE(stopped.wait_for(5s) == std::future_status::ready);
    CHECK(rec.ids() == Ids(0, 20));
  }

  TEST_CASE("after Stop events are dropped, and Stop is idempotent and safe from two threads") {
    Recorder rec;
    EventDispatcher d(&rec, "agentcore-test");
    d.Push(Event(0));
    std::thread other([&] { d.Stop(); });
    d.Stop();
    other.join();
    CHECK(rec.ids() == Ids(0, 1));
    d.Push(Event(1));
    d.Stop();
    std::this_thread::sleep_for(20ms);
    CHECK(rec.ids() == Ids(0, 1));
  }

  TEST_CASE("the destructor delivers what is queued") {
    Recorder rec;
    {
      EventDispatcher d(&rec, "agentcore-test");
      for (int i = 0; i < 10; ++i) d.Push(Event(i));
    }
    CHECK(rec.ids() == Ids(0, 10));
  }

  TEST_CASE("a null observer drops events and still stops") {
    EventDispatcher d(nullptr, "agentcore-test");
    for (int i = 0; i < 10; ++i) d.Push(Event(i));
    d.Stop();
    d.Stop();
  }

  TEST_CASE("the observer may call back into a runtime that pushes under its own lock") {
    // The runtime's pattern: Push() with the runtime's mutex held, and an observer that takes
    // that mutex (GetState) and pushes again (Activate). Deadlocks if the dispatcher held its
    // lock while calling the observer.
    Recorder rec;
    std::mutex runtime_mu;
    EventDispatcher d(&rec, "agentcore-test");
    std::atomic<int> reentered{0};
    rec.on_event_ = [&](const AgentEvent& e) {
      std::lock_guard<std::mutex> lock(runtime_mu);
      if (e.agent_id == "s:c:a0") {
        d.Push(Event(1000));
        ++reentered;
      }
    };
    auto pushing = std::async(std::launch::async, [&] {
      for (int i = 0; i < 200; ++i) {
        std::lock_guard<std::mutex> lock(runtime_mu);
        d.Push(Event(i));
      }
    });
    REQUIRE(pushing.wait_for(5s) == std::future_status::ready);
    REQUIRE(rec.WaitFor(201));
    d.Stop();
    CHECK(reentered == 1);
    const auto ids = rec.ids();
    REQUIRE(ids.size() == 201);
    // The event pushed from the observer comes after those already queued before it.
    std::vector<std::string> without;
    for (const auto& id : ids) {
      if (id != "s:c:a1000") without.push_back(id);
    }
    CHECK(without == Ids(0, 200));
    CHECK(ids.front() == "s:c:a0");
  }
}

}  // namespace agentcore
