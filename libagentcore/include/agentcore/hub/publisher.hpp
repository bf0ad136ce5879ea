// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The publisher seam: what the hub emits for a channel's live subscribers. Every change the
/// hub makes that a client watching the channel must see (a stored message, a Tymbal frame
/// from an agent, an agent's state, a roster change) leaves the hub as one or more Tymbal lines
/// handed to a `Publisher`, after the change is stored (a set frame is published only once it
/// is stored; a reset frame only once its message is deleted). The embedder decides how lines
/// reach clients: the server encodes them once as WebSocket frames and SSE events and fans them
/// out to its connections (server/src/broadcaster.hpp); a test records them
/// (tests/support/recording_publisher.hpp).

#include <cstdint>
#include <span>
#include <string_view>

#include <agentcore/export.hpp>

namespace agentcore {

/// One Tymbal line (a JSON object, no newline) for a channel's subscribers.
struct PublishedLine {
  /// The frame as clients receive it, with `"c":"<channel id>"` where Cast sends one.
  std::string_view line;
  /// The id of the stored message this line is the final frame of, for SSE's `id:` field and
  /// `Last-Event-ID` replay; empty for live-only lines (appends, agent states, resets).
  std::string_view event_id;
  /// That stored message's seq (Message::seq), the store's order of the channel's messages:
  /// a subscriber that replayed messages from the store up to some seq drops live lines at or
  /// below it. 0 when the line is not a stored message's (`event_id` empty, or a cost frame:
  /// stored as a cost record, not a message).
  std::uint64_t seq = 0;
};

/// Receives the lines the hub publishes. Implementations must be thread-safe: the hub calls
/// them from whatever thread made the change (a request thread, a runtime watcher, the
/// executor), possibly several at once, and never while holding a hub lock. Calls must return
/// quickly and never block.
class AGENTCORE_EXPORT Publisher {
 public:
  virtual ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  /// Whether any client listens now (any channel). Cheap and approximate: the hub skips
  /// building lines nobody would receive when this is false.
  virtual bool HasSubscribers() const = 0;

  /// `lines` of `channel_id`, in order, published together (one store commit's worth, or one
  /// piece of a streamed upload). Lines of one call reach each subscriber in this order and
  /// before the lines of a later call made by the same thread. The views are valid for the
  /// duration of the call only.
  virtual void Publish(std::string_view channel_id, std::span<const PublishedLine> lines) = 0;

 protected:
  Publisher() = default;
};

}  // namespace agentcore
