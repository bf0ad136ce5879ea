// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Turning frames into messages, the receiver side of Tymbal (`shared/spec/cast.md` §2.10):
///
/// * start opens a message (again, if it was open: its text is reset); with metadata `m` the
///   message is in text mode and its value is `{...m, content: <text so far>}`;
/// * append adds its delta to an open message; an append for an id that is not open (never
///   started, or already completed by a set) is ignored;
/// * set completes the message with the frame's value, creating it if it was never started
///   (a late join);
/// * reset deletes the message; its id may be used again.
///
/// `MessageAssembler` keeps only the messages still streaming, so its memory is proportional
/// to the open messages however long the stream; it reports each change so a caller can
/// persist or broadcast it. `Transcript` keeps every message, as a chat client does.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/tymbal/frame.hpp>

namespace agentcore {

/// One message as assembled from its frames. A plain value type.
struct AssembledMessage {
  std::string id;
  /// The start frame's metadata (text mode), or null (object mode, or a late join).
  Json metadata;
  /// The concatenated append deltas.
  std::string text;
  /// The set frame's value once complete; null while streaming.
  Json value;
  /// The set frame's `t`; empty while streaming.
  std::string timestamp;
  bool complete = false;

  /// The value a reader sees now: `value` when complete; while streaming in text mode
  /// `{...metadata, content: text}`; in object mode (no metadata) the text parsed as JSON when
  /// it already is a complete JSON value, else null.
  Json CurrentValue() const;

  friend bool operator==(const AssembledMessage&, const AssembledMessage&) = default;
};

enum class AssemblyEvent : std::uint8_t {
  kIgnored,    // a control frame, or an append for a message that is not open
  kOpened,     // start: the message is open (and empty)
  kUpdated,    // append: text grew
  kCompleted,  // set: the message is complete and no longer held
  kDeleted,    // reset: the message is gone (whether or not it was open here)
};

/// "ignored", "opened", "updated", "completed", "deleted".
AGENTCORE_EXPORT std::string_view AssemblyEventName(AssemblyEvent event);

struct AssemblerOptions {
  /// Open messages held at most; a start beyond it is refused (kTooLarge).
  std::size_t max_open_messages = 1'000'000;
  /// Longest text one message may accumulate; an append beyond it is refused (kTooLarge).
  std::size_t max_message_bytes = 64u << 20;
};

/// Assembles any number of interleaved message streams. Thread-compatible.
class AGENTCORE_EXPORT MessageAssembler {
 public:
  explicit MessageAssembler(AssemblerOptions options = {});
  ~MessageAssembler();
  MessageAssembler(const MessageAssembler&) = delete;
  MessageAssembler& operator=(const MessageAssembler&) = delete;

  /// Applies one frame and says what changed; `message()` then shows the affected message.
  /// Errors (the frame is not applied): kTooLarge when a limit of AssemblerOptions is hit.
  Result<AssemblyEvent> Apply(const TymbalFrame& frame);

  /// The message the last Apply affected (for kDeleted only its id is set; for kIgnored it is
  /// empty). Valid until the next call of a non-const method.
  const AssembledMessage& message() const;

  /// Number of messages still streaming.
  std::size_t open_messages() const;
  /// Copies of the messages still streaming, ordered by id.
  std::vector<AssembledMessage> OpenMessages() const;
  /// Forgets an open message (e.g. its producer died); returns whether it was open.
  bool Abandon(std::string_view id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Every message of a frame stream, ordered by id (the transcript order of §2.10), complete or
/// still streaming; deleted messages are dropped. Thread-compatible.
class AGENTCORE_EXPORT Transcript {
 public:
  explicit Transcript(AssemblerOptions options = {});
  ~Transcript();
  Transcript(const Transcript&) = delete;
  Transcript& operator=(const Transcript&) = delete;

  /// As MessageAssembler::Apply.
  Result<AssemblyEvent> Apply(const TymbalFrame& frame);
  /// All messages, ordered by id.
  std::vector<AssembledMessage> Messages() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentcore
