// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Channel -> subscriber fan-out. A frame is encoded once (the Tymbal line, its WebSocket frame
/// and its SSE event) and the bytes are shared by every subscriber. Subscribers live on the io
/// threads; each thread keeps its own channel -> subscribers table, touched only by that
/// thread, so publishing is one post per io thread and takes no lock.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <asio/io_context.hpp>

namespace agentcore::server {

/// One broadcast frame, or a batch of frames of one channel published together, in every
/// encoding a subscriber may need; immutable once built. A batch is still one WebSocket message
/// and one SSE event per frame (§4.10): `ws` and `sse` are their concatenation, so one post per
/// io thread and one queue entry per subscriber carry the whole batch.
struct OutFrame {
  std::string channel_id;
  std::string event_id;  // SSE `id:` (a persisted message's id); empty for live-only frames.
                         // A batch has one only when it is a single persisted frame.
  std::uint64_t seq = 0;  // that message's Message::seq (its place in the channel); 0: none
  std::string line;      // the Tymbal frame, one JSON line without the newline (a batch: its
                         // lines joined by newlines)
  std::string ws;        // complete unmasked WebSocket text frames, one per line
  std::string sse;       // "id: ...\ndata: <line>\n\n" per line
  std::size_t frames = 1;
  std::int64_t published_ns = 0;  // steady clock at publish (fan-out latency)
};

std::shared_ptr<const OutFrame> MakeOutFrame(std::string channel_id, std::string event_id,
                                             std::string line, std::uint64_t seq = 0);

/// Builds a batch OutFrame line by line (one allocation of the frame for the whole batch).
class OutFrameBatch {
 public:
  explicit OutFrameBatch(std::string_view channel_id);
  /// About how many line bytes the next batch will hold: reserved when its first line comes.
  void ExpectBytes(std::size_t bytes) { expected_bytes_ = bytes; }
  /// Appends one frame's line; `event_id` (and `seq`) only for a batch of that one frame.
  void Add(std::string_view line, std::string_view event_id = {}, std::uint64_t seq = 0);
  bool empty() const { return frame_ == nullptr || frame_->frames == 0; }
  std::size_t bytes() const { return frame_ == nullptr ? 0 : frame_->line.size(); }
  /// The batch built so far (null when empty); the builder starts a new one.
  std::shared_ptr<const OutFrame> Take();

 private:
  std::string_view channel_id_;
  std::size_t expected_bytes_ = 0;
  std::shared_ptr<OutFrame> frame_;
};

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
    std::atomic<std::size_t> count{0};  // written by the shard's thread, read by any
  };
  Shard* ShardOf(asio::io_context* context);
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace agentcore::server
