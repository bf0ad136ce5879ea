// SPDX-License-Identifier: Apache-2.0
#include "broadcaster.hpp"

#include <algorithm>
#include <chrono>

#include <asio/post.hpp>

#include "ws/websocket_codec.hpp"

namespace agentcore::server {

std::shared_ptr<const OutFrame> MakeOutFrame(std::string channel_id, std::string event_id,
                                             std::string line, std::uint64_t seq) {
  auto frame = std::make_shared<OutFrame>();
  frame->channel_id = std::move(channel_id);
  frame->event_id = std::move(event_id);
  frame->seq = seq;
  frame->line = std::move(line);
  frame->ws = EncodeWebSocketText(frame->line);
  frame->sse.reserve(frame->line.size() + frame->event_id.size() + 16);
  if (!frame->event_id.empty()) frame->sse.append("id: ").append(frame->event_id).append("\n");
  frame->sse.append("data: ").append(frame->line).append("\n\n");
  frame->published_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  return frame;
}

OutFrameBatch::OutFrameBatch(std::string_view channel_id) : channel_id_(channel_id) {}

void OutFrameBatch::Add(std::string_view line, std::string_view event_id, std::uint64_t seq) {
  if (frame_ == nullptr) {
    frame_ = std::make_shared<OutFrame>();
    frame_->channel_id.assign(channel_id_);
    frame_->frames = 0;
    // Room for the expected lines (at least this one) and their per-frame framing, so the
    // three encodings grow without reallocating in the common case.
    std::size_t bytes = std::max(expected_bytes_, line.size());
    frame_->line.reserve(bytes);
    frame_->ws.reserve(bytes + bytes / 8 + 16);
    frame_->sse.reserve(bytes + bytes / 4 + 64);
  }
  OutFrame& f = *frame_;
  if (f.frames > 0) f.line.push_back('\n');
  f.line.append(line);
  AppendWebSocketText(line, &f.ws);
  if (!event_id.empty()) {
    f.event_id.assign(event_id);
    f.seq = seq;
    f.sse.append("id: ").append(event_id).append("\n");
  }
  f.sse.append("data: ").append(line).append("\n\n");
  ++f.frames;
}

std::shared_ptr<const OutFrame> OutFrameBatch::Take() {
  if (empty()) return nullptr;
  frame_->published_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  return std::move(frame_);
}

void Broadcaster::AddContext(asio::io_context* context) {
  auto shard = std::make_unique<Shard>();
  shard->context = context;
  shards_.push_back(std::move(shard));
}

Broadcaster::Shard* Broadcaster::ShardOf(asio::io_context* context) {
  for (auto& shard : shards_) {
    if (shard->context == context) return shard.get();
  }
  return nullptr;
}

void Broadcaster::Subscribe(asio::io_context* context, std::string_view channel_id,
                            Subscriber* subscriber) {
  Shard* shard = ShardOf(context);
  if (shard == nullptr) return;
  shard->channels[std::string(channel_id)].push_back(subscriber);
  shard->count.fetch_add(1, std::memory_order_release);
}

void Broadcaster::Unsubscribe(asio::io_context* context, std::string_view channel_id,
                              Subscriber* subscriber) {
  Shard* shard = ShardOf(context);
  if (shard == nullptr) return;
  auto it = shard->channels.find(std::string(channel_id));
  if (it == shard->channels.end()) return;
  auto& subs = it->second;
  auto pos = std::find(subs.begin(), subs.end(), subscriber);
  if (pos == subs.end()) return;
  *pos = subs.back();  // order among subscribers does not matter
  subs.pop_back();
  shard->count.fetch_sub(1, std::memory_order_relaxed);
  // The (possibly empty) vector stays: Publish may be walking it right now, since a subscriber
  // can unsubscribe from inside Deliver. One entry per channel ever watched on this thread.
}

void Broadcaster::Publish(std::shared_ptr<const OutFrame> frame) {
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    // No subscriber on that thread: no post (and no wake-up of an idle thread). A subscription
    // completed before this call is counted already (its thread raised the count, and whatever
    // made the publisher act after it synchronized with that thread).
    if (s->count.load(std::memory_order_acquire) == 0) continue;
    asio::post(*s->context, [s, frame] {
      auto it = s->channels.find(frame->channel_id);
      if (it == s->channels.end()) return;
      // A subscriber may unsubscribe itself inside Deliver (backlog exceeded): iterate a copy
      // only when needed, i.e. walk by index and re-check the size.
      auto& subs = it->second;
      for (std::size_t i = 0; i < subs.size();) {
        Subscriber* sub = subs[i];
        sub->Deliver(frame);
        if (i < subs.size() && subs[i] == sub) ++i;
      }
    });
  }
}

std::size_t Broadcaster::SubscriberCount() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) n += shard->count.load(std::memory_order_acquire);
  return n;
}

}  // namespace agentcore::server
