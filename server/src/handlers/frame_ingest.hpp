// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Applying Tymbal frames from an agent to a channel: broadcast to subscribers, persistence
/// of set frames (§4.8.1), deletion on reset; and, for streamed uploads, in-progress messages
/// kept in the store (is_complete=false) while their appends arrive.

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

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

/// Whether a set frame carries a cost record (`v.type == "cost"`) rather than a message.
bool IsCostFrame(const TymbalFrame& frame);

/// The cost record of a cost frame (IsCostFrame).
CostRecord CostFromFrame(const TymbalFrame& frame, const IngestTarget& target);

/// Persists a set frame: a cost record for `v.type == "cost"`, else a message. Idempotent
/// on the frame id: an incomplete (streamed) message with that id is completed; a complete one
/// is left alone and `*applied` is false (a retried frame).
Status PersistSetFrame(App& app, const TymbalFrame& frame, const IngestTarget& target,
                       bool* applied);

/// Deletes the message a reset frame names, if it is in the target's space and channel.
Status ApplyReset(App& app, const TymbalFrame& frame, const IngestTarget& target);

/// The line broadcast for a frame: its JSON with `c` = channel (unless legacy).
std::string BroadcastLine(const TymbalFrame& frame, const IngestTarget& target);
/// Appends BroadcastLine(frame, target) to `*out` (no newline). Without a `c` in the frame this
/// serializes the frame straight into `out` and adds `,"c":"<channel>"` before its closing
/// brace: the same bytes, without copying the frame.
void AppendBroadcastLine(const TymbalFrame& frame, const IngestTarget& target, std::string* out);

/// The frames of one streamed upload, in order. Not thread-safe: one per upload.
///
/// Frames are taken one body piece at a time: `Accept` (no store call) updates the assembler,
/// queues the store write the frame needs (start: an incomplete message; set: PersistSetFrame;
/// reset: ApplyReset) and serializes its broadcast line; `Commit` then runs the piece's writes
/// in order (queued to the store's writer from the io thread when the store has native async
/// writes, else in one hop to the blocking pool), then the progress save when due, and publishes
/// the piece's lines in order as few OutFrames: runs of live frames batched together, each
/// persisted set frame alone with its SSE event id. A set frame's line (and every line after
/// it) is published only after the set frame is stored; the line of a frame whose write says
/// "already done" (a retried set, a start of a message already complete) is dropped, as are
/// the later frames of such a message.
class StreamApplier {
 public:
  StreamApplier(App* app, IngestTarget target);

  /// Takes one frame; frames must come in stream order. After an error (kept, returned by the
  /// next Commit) later frames are ignored.
  void Accept(const TymbalFrame& frame);
  /// Stores and publishes what Accept took. Also writes the text of messages that grew since
  /// the last save (at most every config().stream_save_interval unless `force_save`), so a
  /// reader or a reconnecting client sees the stream's progress.
  asio::awaitable<Status> Commit(bool force_save);
  /// The upload broke: save progress and mark still-open messages as interrupted.
  asio::awaitable<void> Interrupt();

  /// Whether Commit has something to do: frames taken, or a progress save due.
  bool Pending() const;

  std::uint64_t frames() const { return frames_; }
  std::uint64_t persisted() const { return persisted_; }

 private:
  /// One store write of the piece, in stream order.
  struct Write {
    FrameKind kind = FrameKind::kStart;
    NewMessage start;    // kStart
    TymbalFrame frame;   // kSet, kReset
    bool finished = false;  // kStart: the message is already complete in the store
    bool applied = false;   // kSet: stored now (false: a retried frame)
  };
  /// One line to publish, in lines_[begin, end).
  struct Line {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::string id;           // message id (empty for control frames)
    std::size_t write = 0;    // 1 + index of the write this frame made; 0 for none
    std::size_t after = 0;    // writes queued before this frame's own
    bool event = false;       // a set frame: published alone, with its id as SSE event id
  };
  void Emit(const TymbalFrame& frame, std::size_t write);
  /// Runs the piece's writes, then the progress save (`updates`: id and text), in order;
  /// `*done` counts the writes that succeeded before the first failure. StoreQueued uses the
  /// store's async writes from this thread (SQLite); StoreBlocking one hop to the pool.
  asio::awaitable<Status> StoreQueued(std::vector<Write>& writes,
                                      std::vector<std::pair<std::string, std::string>>& updates,
                                      std::size_t* done);
  asio::awaitable<Status> StoreBlocking(
      std::vector<Write>& writes, const std::vector<std::pair<std::string, std::string>>& updates,
      std::size_t* done);
  /// Ids of the piece's starts that found their message complete in the store (a retried
  /// upload): the progress save leaves those messages alone.
  static std::unordered_set<std::string_view> FinishedStarts(const std::vector<Write>& writes);
  Status InsertStart(Write& w);       // on the blocking pool
  Status SettleTakenStart(Write& w);  // its id exists already; on the blocking pool
  void Publish(std::size_t lines_ok);

  App* app_;
  IngestTarget target_;
  MessageAssembler assembler_;
  std::unordered_set<std::string> dirty_;     // open messages whose text grew
  std::unordered_set<std::string> finished_;  // complete in the store: later frames are retries
  std::chrono::steady_clock::time_point last_save_ = std::chrono::steady_clock::now();
  std::vector<Write> writes_;  // of the piece being taken
  std::vector<Line> lines_;
  std::string line_bytes_;
  Status failure_;  // an Accept error, returned by the next Commit
  std::uint64_t frames_ = 0;
  std::uint64_t persisted_ = 0;
};

}  // namespace agentcore::server
