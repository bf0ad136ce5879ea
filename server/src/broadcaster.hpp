// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Channel -> subscriber fan-out. A frame is encoded once (the Tymbal line, its WebSocket frame
/// and its SSE event) and the bytes are shared by every subscriber. Subscribers live on the io
/// threads; each thread keeps its own channel -> subscribers table, touched only by that
/// thread, so publishing is one post per io thread and takes no lock.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <asio/io_context.hpp>

namespace agentcore::server {

/// One broadcast frame in every encoding a subscriber may need; immutable once built.
struct OutFrame {
  std::string channel_id;
  std::string event_id;  // SSE `id:` (a persisted message's id); empty for live-only frames
  std::string line;      // the Tymbal frame, one JSON line without the newline
  std::string ws;        // a complete unmasked WebSocket text frame carrying `line`
  std::string sse;       // "id: ...\ndata: <line>\n\n"
  std::int64_t published_ns = 0;  // steady clock at publish (fan-out latency)
};

std::shared_ptr<const OutFrame> MakeOutFrame(std::string channel_id, std::string event_id,
                                             std::string line);

/// A WebSocket or SSE connection. `Deliver` is called on the subscriber's own io thread.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  virtual void Deliver(const std::shared_ptr<const OutFrame>& frame) = 0;
};

class Broadcaster {
 public:
  /// Every io_context whose threads host subscribers, registered before any subscription.
  void AddContext(asio::io_context* context);

  /// Both must be called on `context`'s thread (the subscriber's own).
  void Subscribe(asio::io_context* context, std::string_view channel_id, Subscriber* subscriber);
  void Unsubscribe(asio::io_context* context, std::string_view channel_id, Subscriber* subscriber);

  /// From any thread: every subscriber of the channel gets the frame, in publish order per
  /// publishing thread.
  void Publish(std::shared_ptr<const OutFrame> frame);

  /// Subscribers of a channel on every thread (approximate while subscriptions change).
  std::size_t SubscriberCount() const;

 private:
  struct Shard {
    asio::io_context* context = nullptr;
    std::unordered_map<std::string, std::vector<Subscriber*>> channels;
    std::size_t count = 0;
  };
  Shard* ShardOf(asio::io_context* context);
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace agentcore::server
