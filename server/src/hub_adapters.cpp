// SPDX-License-Identifier: Apache-2.0
#include "hub_adapters.hpp"

#include <algorithm>
#include <utility>

#include <asio/post.hpp>

namespace agentcore::server {
namespace {
constexpr std::size_t kMaxBatchBytes = 16 * 1024;
}  // namespace

void BroadcastPublisher::Publish(std::string_view channel_id,
                                 std::span<const PublishedLine> lines) {
  if (!HasSubscribers()) return;  // nobody to encode the lines for
  OutFrameBatch batch(channel_id);
  std::size_t left = 0;  // line bytes not yet added: what a new batch reserves for
  for (const PublishedLine& l : lines) left += l.line.size() + 1;
  for (const PublishedLine& l : lines) {
    left -= l.line.size() + 1;
    if (l.line.empty()) continue;
    if (!l.event_id.empty()) {
      if (!batch.empty()) broadcaster_->Publish(batch.Take());
      batch.ExpectBytes(l.line.size());
      batch.Add(l.line, l.event_id, l.seq);
      broadcaster_->Publish(batch.Take());
      continue;
    }
    if (batch.empty()) batch.ExpectBytes(std::min(left + l.line.size(), kMaxBatchBytes + 1024));
    batch.Add(l.line);
    if (batch.bytes() >= kMaxBatchBytes) broadcaster_->Publish(batch.Take());
  }
  if (!batch.empty()) broadcaster_->Publish(batch.Take());
}

void PoolExecutor::Post(std::function<void()> task) { asio::post(*pool_, std::move(task)); }

}  // namespace agentcore::server
