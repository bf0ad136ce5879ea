// SPDX-License-Identifier: Apache-2.0
#pragma once

// The lines a hub publishes, as Python events: the hub's Publisher (a fan-out into bounded
// queues, one per subscription, so that publishing never waits for Python) and the
// agentcore.Subscription that reads a queue as an iterator or hands it to a callback.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <agentcore/hub/publisher.hpp>

#include "convert.hpp"

namespace agentcore::python {

struct QueuedEvent {
  std::string channel_id;
  std::string line;
  std::string event_id;
  std::uint64_t seq = 0;
};

// The lines of one subscription (one channel, or all), bounded: past `max` the oldest is
// dropped and counted. Thread-safe.
class EventQueue {
 public:
  EventQueue(std::optional<std::string> channel_id, std::size_t max)
      : channel_id_(std::move(channel_id)), max_(max) {}

  bool Matches(std::string_view channel_id) const {
    return !channel_id_ || *channel_id_ == channel_id;
  }
  void Push(std::string_view channel_id, const PublishedLine& line);
  // The next event; nullopt after `timeout` or once closed and drained.
  std::optional<QueuedEvent> Pop(std::chrono::milliseconds timeout);
  void Close();
  bool finished() const;
  std::uint64_t dropped() const;

 private:
  const std::optional<std::string> channel_id_;
  const std::size_t max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<QueuedEvent> events_;
  bool closed_ = false;
  std::uint64_t dropped_ = 0;
};

// The hub's publisher: copies each line into the queues that want its channel. Thread-safe.
class Fanout final : public Publisher {
 public:
  bool HasSubscribers() const override { return count_.load(std::memory_order_relaxed) > 0; }
  void Publish(std::string_view channel_id, std::span<const PublishedLine> lines) override;
  void Add(std::shared_ptr<EventQueue> q);
  void Remove(const EventQueue* q);

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<EventQueue>> queues_;
  std::atomic<std::size_t> count_{0};
};

// One subscription: its queue and, with a callback, the thread that calls it. Methods run with
// the GIL held (the ones that wait release it).
class Subscription {
 public:
  Subscription(std::shared_ptr<Fanout> fanout, std::shared_ptr<EventQueue> queue,
               py::object callback);
  ~Subscription() { Close(); }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // The next Event, waiting at most `timeout` seconds (nullopt: until one comes). None on
  // timeout and once closed. InvalidArgument for a callback subscription.
  py::object Get(std::optional<double> timeout);
  // The iterator protocol: StopIteration once closed.
  py::object Next();
  void Close();

  bool has_callback() const { return !callback_.is_none(); }
  bool closed() const { return queue_->finished(); }
  std::uint64_t dropped() const { return queue_->dropped(); }

 private:
  void Dispatch();

  std::shared_ptr<Fanout> fanout_;
  std::shared_ptr<EventQueue> queue_;
  py::object callback_;
  std::thread thread_;
};

void RegisterSubscription(py::module_& m);

}  // namespace agentcore::python
