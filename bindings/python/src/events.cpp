// SPDX-License-Identifier: Apache-2.0
#include "events.hpp"

#include <algorithm>

#include <agentcore/tymbal/parser.hpp>

namespace agentcore::python {

using std::chrono::milliseconds;

void EventQueue::Push(std::string_view channel_id, const PublishedLine& line) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (events_.size() >= max_) {
      events_.pop_front();
      ++dropped_;
    }
    events_.push_back(QueuedEvent{std::string(channel_id), std::string(line.line),
                                  std::string(line.event_id), line.seq});
  }
  cv_.notify_one();
}

std::optional<QueuedEvent> EventQueue::Pop(milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !events_.empty() || closed_; });
  if (events_.empty()) return std::nullopt;
  QueuedEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void EventQueue::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool EventQueue::finished() const {
  std::lock_guard lock(mu_);
  return closed_ && events_.empty();
}

std::uint64_t EventQueue::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void Fanout::Publish(std::string_view channel_id, std::span<const PublishedLine> lines) {
  std::lock_guard lock(mu_);
  for (const auto& q : queues_) {
    if (!q->Matches(channel_id)) continue;
    for (const PublishedLine& line : lines) q->Push(channel_id, line);
  }
}

void Fanout::Add(std::shared_ptr<EventQueue> q) {
  std::lock_guard lock(mu_);
  queues_.push_back(std::move(q));
  count_.store(queues_.size());
}

void Fanout::Remove(const EventQueue* q) {
  std::lock_guard lock(mu_);
  std::erase_if(queues_, [&](const auto& p) { return p.get() == q; });
  count_.store(queues_.size());
}

namespace {

py::object EventToPython(const QueuedEvent& e) {
  Result<TymbalFrame> frame = ParseFrame(e.line);
  py::object f = frame.ok() ? FrameToPython(*frame, nullptr) : py::none();
  py::object event_id = e.event_id.empty() ? py::none() : py::object(Str(e.event_id));
  return Types().event(Str(e.channel_id), f, Str(e.line), event_id, e.seq);
}

}  // namespace

Subscription::Subscription(std::shared_ptr<Fanout> fanout, std::shared_ptr<EventQueue> queue,
                           py::object callback)
    : fanout_(std::move(fanout)), queue_(std::move(queue)), callback_(std::move(callback)) {
  fanout_->Add(queue_);
  if (!callback_.is_none()) thread_ = std::thread([this] { Dispatch(); });
}

py::object Subscription::Get(std::optional<double> timeout) {
  if (has_callback()) {
    throw StatusError(InvalidArgument("a subscription with a callback cannot be read"));
  }
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline =
      timeout ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(std::max(0.0, *timeout)))
              : Clock::time_point::max();
  for (;;) {
    // Short waits, so that Ctrl-C (a signal handled by the main thread) is noticed.
    milliseconds slice(100);
    if (timeout) {
      slice = std::clamp(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()),
                         milliseconds(0), slice);
    }
    std::optional<QueuedEvent> e;
    {
      py::gil_scoped_release release;
      e = queue_->Pop(slice);
    }
    if (e) return EventToPython(*e);
    if (queue_->finished()) return py::none();
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (timeout && Clock::now() >= deadline) return py::none();
  }
}

py::object Subscription::Next() {
  py::object e = Get(std::nullopt);
  if (e.is_none()) throw py::stop_iteration();
  return e;
}

void Subscription::Close() {
  queue_->Close();
  fanout_->Remove(queue_.get());
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // closed from its own callback: the loop ends after it returns
    return;
  }
  py::gil_scoped_release release;
  thread_.join();
}

void Subscription::Dispatch() {
  for (;;) {
    std::optional<QueuedEvent> e = queue_->Pop(milliseconds(250));
    if (!e) {
      if (queue_->finished()) return;
      continue;
    }
    py::gil_scoped_acquire gil;
    try {
      callback_(EventToPython(*e));
    } catch (py::error_already_set& err) {
      err.discard_as_unraisable(callback_);  // printed, as an exception in a thread is
    }
  }
}

void RegisterSubscription(py::module_& m) {
  py::class_<Subscription, std::shared_ptr<Subscription>>(
      m, "Subscription",
      "Lines the hub publishes (Event), read as an iterator or get(timeout), or handed to a "
      "callback on a thread of its own. Bounded: past max_queued the oldest is dropped.")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &Subscription::Next)
      .def("get", &Subscription::Get, py::arg("timeout") = py::none(),
           "The next Event, or None after `timeout` seconds or once closed.")
      .def("close", &Subscription::Close)
      .def_property_readonly("closed", &Subscription::closed)
      .def_property_readonly("dropped", &Subscription::dropped)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Subscription& s, py::args) { s.Close(); });
}

}  // namespace agentcore::python
