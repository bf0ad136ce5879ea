// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The server's side of the hub's seams: lines the hub publishes go to the Broadcaster (encoded
/// once as WebSocket frames and SSE events), and work the hub posts runs on the App's blocking
/// pool.

#include <functional>
#include <span>
#include <string_view>

#include <asio/thread_pool.hpp>

#include <agentcore/hub/executor.hpp>
#include <agentcore/hub/publisher.hpp>

#include "broadcaster.hpp"

namespace agentcore::server {

/// Publishes through the Broadcaster. Live lines of one call are batched into OutFrames of at
/// most about 16 KiB (the subscriber backlog bound is checked per OutFrame, so batches stay
/// small next to it); a line with an event id (a stored message's final frame) goes alone, so
/// that SSE gives it its `id:`. Thread-safe (the Broadcaster is).
class BroadcastPublisher final : public Publisher {
 public:
  explicit BroadcastPublisher(Broadcaster* broadcaster) : broadcaster_(broadcaster) {}
  bool HasSubscribers() const override { return broadcaster_->SubscriberCount() != 0; }
  void Publish(std::string_view channel_id, std::span<const PublishedLine> lines) override;

 private:
  Broadcaster* broadcaster_;
};

/// Runs the hub's background work on the App's blocking pool. Thread-safe.
class PoolExecutor final : public Executor {
 public:
  explicit PoolExecutor(asio::thread_pool* pool) : pool_(pool) {}
  void Post(std::function<void()> task) override;

 private:
  asio::thread_pool* pool_;
};

}  // namespace agentcore::server
