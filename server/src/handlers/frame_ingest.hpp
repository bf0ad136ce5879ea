// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Applying Tymbal frames from an agent to a channel: broadcast to subscribers, persistence
/// of set frames (§4.8.1), deletion on reset; and, for streamed uploads, in-progress messages
/// kept in the store (is_complete=false) while their appends arrive.

#include <chrono>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <asio/awaitable.hpp>

#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>
#include <agentcore/tymbal/assembler.hpp>
#include <agentcore/tymbal/frame.hpp>

namespace agentcore::server {

class App;

struct IngestTarget {
  std::string space_id;
  std::string channel_id;
  bool legacy = false;  // /thread/:id/tymbal: no `c` in broadcasts, tool_call keeps `input`
};

/// §2.9 normalization of a set frame's value: a tool_call's `input` becomes `args` (legacy:
/// `args` is added and `input` kept).
void NormalizeToolCall(Json* value, bool legacy);

/// What a set frame's value becomes as a message row (§4.8.1); not for cost frames.
NewMessage MessageFromSetFrame(const TymbalFrame& frame, const IngestTarget& target);

/// Persists a set frame: a cost record for `v.type == "cost"`, else a message. Idempotent
/// on the frame id: an incomplete (streamed) message with that id is completed; a complete one
/// is left alone and `*applied` is false (a retried frame).
Status PersistSetFrame(App& app, const TymbalFrame& frame, const IngestTarget& target,
                       bool* applied);

/// Deletes the message a reset frame names, if it is in the target's space and channel.
Status ApplyReset(App& app, const TymbalFrame& frame, const IngestTarget& target);

/// The line broadcast for a frame: its JSON with `c` = channel (unless legacy).
std::string BroadcastLine(const TymbalFrame& frame, const IngestTarget& target);

/// The frames of one streamed upload, in order. Not thread-safe: one per upload.
class StreamApplier {
 public:
  StreamApplier(App* app, IngestTarget target);

  /// Applies one frame (broadcast, store); frames must come in stream order.
  asio::awaitable<Status> Apply(TymbalFrame frame);
  /// Writes the text of messages that grew since the last save (at most every `interval`
  /// unless `force`), so a reader or a reconnecting client sees the stream's progress.
  asio::awaitable<Status> SaveProgress(bool force);
  /// The upload broke: save progress and mark still-open messages as interrupted.
  asio::awaitable<void> Interrupt();

  std::uint64_t frames() const { return frames_; }
  std::uint64_t persisted() const { return persisted_; }

 private:
  App* app_;
  IngestTarget target_;
  MessageAssembler assembler_;
  std::unordered_set<std::string> dirty_;     // open messages whose text grew
  std::unordered_set<std::string> finished_;  // complete in the store: later frames are retries
  std::chrono::steady_clock::time_point last_save_ = std::chrono::steady_clock::now();
  std::uint64_t frames_ = 0;
  std::uint64_t persisted_ = 0;
};

}  // namespace agentcore::server
