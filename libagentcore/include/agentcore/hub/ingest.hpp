// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Tymbal ingest: what the hub does with the frames an agent sends to a channel (spec cast
/// §4.8): a set frame becomes a message row (§4.8.1) or, with `v.type == "cost"`, the sender's
/// cost record; a reset frame deletes the message it names; every frame is published to the
/// channel's subscribers as one Tymbal line (§2.9: with `"c":"<channel>"`, except on the legacy
/// `/thread/:id/tymbal` route).
///
/// One order for every frame kind: **stored first, published after**. A set frame's line is
/// published once its row (or cost record) is committed, with the message id as its event id;
/// a reset frame's line once its message is deleted (also when there was nothing to delete);
/// frames that store nothing (start, append, control frames) are published at once. A frame
/// whose store step fails is not published. Set frames are idempotent on their id: a retried
/// set frame (its message is complete already) is neither stored nor published again.
///
/// Three ways in, all through `Ingest` (`hub.ingest()`):
///   - one frame: `Apply` (blocking) or `ApplyAsync` (callback form, for an I/O thread);
///   - a batch is one `Apply`/`ApplyAsync` per line, in order (the caller splits the lines);
///   - a streamed upload: `NewSession`, then `IngestSession::Accept` per frame and `Commit`
///     per body piece; open messages are kept in the store (incomplete) while their appends
///     arrive, and their text is saved at most every `IngestOptions::stream_save_interval`.
///
/// Who may ingest where is decided here too: `ChannelTarget` (a container token for exactly
/// this channel, of the channel's space) and `LegacyTarget` (a `spaceId:channelId[:callsign]`
/// thread id).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/hub/executor.hpp>
#include <agentcore/hub/publisher.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>
#include <agentcore/tymbal/assembler.hpp>
#include <agentcore/tymbal/frame.hpp>

namespace agentcore {

class Hub;

/// Where frames go, and how they are shaped on the way (what ChannelTarget or LegacyTarget
/// decided).
struct IngestTarget {
  std::string space_id;
  std::string channel_id;
  /// The legacy `/thread/:id/tymbal` route (§4.8): lines carry no `c`, and a tool_call's
  /// `input` is kept beside the added `args`.
  bool legacy = false;
};

/// How the ingest service behaves. Part of HubOptions.
struct IngestOptions {
  /// A streamed upload saves the text of its open messages at most this often (and always when
  /// the upload ends or breaks), so readers and reconnecting clients see its progress.
  /// Measured with the hub's Clock.
  std::chrono::milliseconds stream_save_interval{1'000};
  /// Use the store's async writes where it has native ones (SQLite): no thread waits for a
  /// commit. false: always the blocking calls on the hub's executor (tests of that path).
  bool async_writes = true;
};

// --- The rules, as pure functions (thread-safe) ---------------------------------------------

/// The message id rule (issue 13, docs/compatibility.md): a frame that brings a message into
/// being (start, set; a cost frame included, its id is the line's event id) carries a ULID as
/// its id: 26 Crockford base32 characters, upper case (IsUlid in agentcore/ulid.hpp). Append,
/// reset and control frames are not checked (they create nothing). Errors: kInvalidArgument
/// kMessageIdNotUlid.
AGENTCORE_EXPORT Status CheckMessageId(const TymbalFrame& frame);
inline constexpr std::string_view kMessageIdNotUlid =
    "message id must be a ULID (26 Crockford base32 characters)";

/// §2.9 normalization of a set frame's value: a tool_call's `input` becomes `args` (appended
/// last; legacy: `args` is added and `input` kept). Nothing changes when `args` exists already
/// or the value is not a tool_call.
AGENTCORE_EXPORT void NormalizeToolCall(Json* value, bool legacy);

/// Whether a set frame carries a cost record (`v.type == "cost"`) rather than a message.
AGENTCORE_EXPORT bool IsCostFrame(const TymbalFrame& frame);

/// What a set frame's value becomes as a message row (§4.8.1): sender, senderType and type
/// with their defaults, content (the whole value for tool_call/tool_result or without
/// content), mentions as addressed agents, metadata `{fromTymbal, method}`, complete.
/// REQUIRES: !IsCostFrame(frame).
AGENTCORE_EXPORT NewMessage MessageFromSetFrame(const TymbalFrame& frame,
                                                const IngestTarget& target);

/// The cost record of a cost frame, keyed by (channel, `v.sender`); an empty callsign when the
/// frame has no sender (such a record is not stored). REQUIRES: IsCostFrame(frame).
AGENTCORE_EXPORT CostRecord CostFromFrame(const TymbalFrame& frame, const IngestTarget& target);

/// The line published for a frame (§2.9): its JSON with `"c":"<channel>"` last (a `c` of the
/// frame's own is replaced in place), or as it is for a legacy target. No newline.
AGENTCORE_EXPORT std::string BroadcastLine(const TymbalFrame& frame, const IngestTarget& target);
/// Appends BroadcastLine(frame, target) to `*out`, serializing the frame straight into it.
AGENTCORE_EXPORT void AppendBroadcastLine(const TymbalFrame& frame, const IngestTarget& target,
                                          std::string* out);

// --- Streamed uploads ----------------------------------------------------------------------

/// The frames of one streamed upload (`/tymbal/:channelId/stream`), applied in order while
/// they arrive. Thread-compatible: one per upload, driven by one caller at a time; between
/// Commit (or Interrupt) and its `done`, call nothing else on it. Made by Ingest::NewSession;
/// must not outlive the hub.
///
/// Frames are taken one body piece at a time. `Accept` (no store call) updates the message
/// assembler, queues the store write the frame needs (start: an incomplete message; set: the
/// row or cost record; reset: the delete) and serializes its line. `Commit` then runs the
/// piece's writes in order, then the progress save when due, then publishes the piece's lines
/// in order, each stored set frame's line with its message id as event id. Lines of frames
/// after a failed write are not published. A start whose message is complete already (a
/// retried upload) makes the rest of that message's frames retries: neither stored nor
/// published; a start of an open message (a resumed upload) restarts its text (§2.10).
class AGENTCORE_EXPORT IngestSession {
 public:
  ~IngestSession();
  IngestSession(const IngestSession&) = delete;
  IngestSession& operator=(const IngestSession&) = delete;

  /// Takes one frame; frames must come in stream order. Never blocks. A frame that breaks a
  /// rule of its own (CheckMessageId) is refused: the error is returned, nothing of the frame
  /// is taken, and the upload goes on (the caller reports it like an invalid line). After any
  /// other error (the assembler's limits, kTooLarge: too many messages open at once, a message
  /// too large) the error is kept and returned by the next Commit, and later frames are
  /// ignored (OK is returned for them). An append before its start is published and changes
  /// nothing (spec cast §2.10).
  Status Accept(const TymbalFrame& frame);

  /// Stores and publishes what Accept took, and saves the text of open messages that grew
  /// (when stream_save_interval passed since the last save, or `force_save`). `done` is called
  /// exactly once, on the session's resume executor when it has one (else on the thread that
  /// finished the work: the store's writer, the hub's executor, or the caller inline), after
  /// the lines were published: OK, or the first failed write's error (kAlreadyExists "message
  /// id … is taken by another channel": a start whose id another channel holds; the store's
  /// errors), or the error Accept kept (kTooLarge). Writes go to the store's async API from the
  /// calling thread when it has native async writes (and the piece has no reset, which reads
  /// first); else the blocking calls run on the hub's executor, as do the reads that settle a
  /// start whose id exists already.
  void Commit(bool force_save, std::function<void(Status)> done);

  /// The upload broke: drops what Accept took and not committed, saves the text of open
  /// messages and marks them `interrupted` (metadata), on the hub's executor. `done` as for
  /// Commit; store errors are ignored (a later upload repairs the message).
  void Interrupt(std::function<void()> done);

  /// Whether Commit has something to do: frames taken, an error kept, or a progress save due.
  bool Pending() const;

  /// Frames taken, and writes that stored something (starts inserted, set frames applied).
  std::uint64_t frames() const { return frames_; }
  std::uint64_t persisted() const { return persisted_; }

 private:
  friend class Ingest;
  struct Write;
  struct Line;
  struct Piece;
  IngestSession(Hub* hub, const IngestOptions* options, IngestTarget target, Executor* resume);
  void Emit(const TymbalFrame& frame, std::size_t write);
  // The stages of a Commit, in order; each passes the piece on to the next.
  void StoreQueued(Piece* piece);
  void StoreBlocking(Piece* piece);
  static void Reported(Piece* piece);  // one queued write reported
  void AfterQueuedWrites(Piece* piece);
  void SaveQueued(Piece* piece);
  void Resume(Piece* piece);
  void Finish(Piece* piece);
  void Publish(std::size_t lines_ok);
  Status InsertStart(Write& w);
  Status SettleTakenStart(Write& w);

  // Constant after construction.
  Hub* hub_;
  const IngestOptions* options_;
  IngestTarget target_;
  Executor* resume_;
  // Driven by one caller at a time.
  MessageAssembler assembler_;
  std::unordered_set<std::string> dirty_;     // open messages whose text grew
  std::unordered_set<std::string> finished_;  // complete in the store: later frames are retries
  std::int64_t last_save_ms_ = 0;
  std::vector<Write> writes_;  // of the piece being taken
  std::vector<Line> lines_;
  std::string line_bytes_;
  std::vector<PublishedLine> published_;  // reused by Publish
  Status failure_;                        // an Accept error, returned by the next Commit
  std::uint64_t frames_ = 0;
  std::uint64_t persisted_ = 0;
};

// --- The service ---------------------------------------------------------------------------

/// Tymbal ingest for a hub (`hub.ingest()`). Thread-safe; owned by the hub.
class AGENTCORE_EXPORT Ingest {
 public:
  /// Made by OpenHub (`hub.ingest()`); `hub` is not owned and outlives it.
  Ingest(Hub* hub, IngestOptions options);
  ~Ingest();
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  const IngestOptions& options() const { return options_; }

  /// The target of `/tymbal/:channelId*`: the space of the container token in `authorization`
  /// (the Authorization header's value, empty when absent), which must be for this very channel
  /// (Cast only takes the space from it, §8 #6: fixed), and the channel must be one of that
  /// space. Errors, in this order: kUnauthenticated with Cast's texts (missing header, bad
  /// format, invalid token; auth/tokens.hpp); kPermissionDenied "container token is for
  /// another channel"; kNotFound "Channel not found" (no such channel, or an id that could not
  /// name one, IsPossibleId); kPermissionDenied "container token is for another space" (the
  /// channel is another space's: the token was signed for a space that does not hold it);
  /// kInternal on a store error. Nothing is stored or published for a refused target.
  /// Reads the store the first time a channel is asked for (ChannelTargetReadsStore); a
  /// channel's space is remembered after (a channel never changes space and is never deleted).
  Result<IngestTarget> ChannelTarget(std::string_view authorization,
                                     std::string_view channel_id) const;

  /// Whether ChannelTarget(…, channel_id) may read the store (the channel's space is not
  /// remembered yet), so that a caller on an I/O thread knows to move the call to a thread
  /// that may block. Never blocks.
  bool ChannelTargetReadsStore(std::string_view channel_id) const;

  /// The target of a streamed upload (`/tymbal/:channelId/stream`): ChannelTarget, with its
  /// errors. Kept for callers of the earlier API.
  Result<IngestTarget> StreamTarget(std::string_view authorization,
                                    std::string_view channel_id) const;

  /// The target of the legacy `/thread/:threadId/tymbal` (§4.8): `thread_id` is
  /// `spaceId:channelId[:callsign]`. Cast leaves the route open; unless `open` (the server's
  /// --compat-open-checkin) a container token for that space and channel is required.
  /// Errors: kInvalidArgument "Thread ID must be spaceId:channelId[:callsign]" (checked first);
  /// ChannelTarget's; kPermissionDenied "container token is for another space"; with `open`,
  /// kNotFound "Channel not found" when the thread's space holds no such channel. May read the
  /// store as ChannelTarget does (ChannelTargetReadsStore of the thread's channel).
  Result<IngestTarget> LegacyTarget(std::string_view thread_id, std::string_view authorization,
                                    bool open) const;

  /// Whether applying `frame` touches the store (set and reset frames). Apply of any other
  /// frame only publishes its line and never blocks: an I/O thread may call it.
  static bool Stores(const TymbalFrame& frame) {
    return frame.kind == FrameKind::kSet || frame.kind == FrameKind::kReset;
  }

  /// Applies one frame (§4.8, §4.8.1), storing first and publishing after. A frame that breaks
  /// CheckMessageId is refused first (kInvalidArgument, nothing stored or published). A set frame is
  /// normalized (§2.9) and stored as a message (idempotent on its id: a retry is neither stored
  /// nor published) or as a cost record (cost errors are swallowed, as Cast does; a cost frame
  /// without a sender is published and not stored); a reset frame deletes its message when it
  /// is in the target's space and channel (an unknown id is not an error); other frames are only
  /// published. May block on the store. Errors: CheckMessageId's; the store's (kAlreadyExists
  /// "message id <id> is taken by another channel"; kInvalidArgument: bad content…); the frame
  /// is then not published.
  Status Apply(TymbalFrame frame, const IngestTarget& target);

  /// Apply's callback form, for a caller that must not block. A set frame's write goes to the
  /// store's async API when it has native async writes (SQLite: no thread waits for the
  /// commit); otherwise, and for a reset (which reads first), the blocking call runs on the
  /// hub's executor. The line is published and `done` called exactly once: on `resume` when not
  /// null (e.g. the caller's I/O thread: the store's writer thread then never encodes lines),
  /// else on the thread that finished the write; inline, before ApplyAsync returns, when
  /// nothing was to be stored (not Stores(frame), a cost frame without a sender). Errors as
  /// for Apply.
  /// REQUIRES: `target` and `resume` stay valid until `done` is called.
  void ApplyAsync(TymbalFrame frame, const IngestTarget& target, Executor* resume,
                  std::function<void(Status)> done);

  /// A session for one streamed upload to `target` (see IngestSession). `resume`: where its
  /// Commit and Interrupt continue after the store or the executor reported (not owned; must
  /// outlive the session; nullptr: on the reporting thread).
  std::unique_ptr<IngestSession> NewSession(IngestTarget target, Executor* resume = nullptr);

 private:
  struct Op;
  static void Finish(Op* op);
  void Publish(const TymbalFrame& frame, const IngestTarget& target, bool with_event_id,
               std::uint64_t seq);

  // The space of every channel a target named, remembered (thread-safe, bounded).
  class KnownChannels;
  // kNotFound "Channel not found", kPermissionDenied `foreign_text`, kInternal: whether
  // `channel_id` is a channel of `space_id`.
  Status CheckChannelSpace(std::string_view channel_id, std::string_view space_id,
                           std::string_view foreign_text) const;

  // Constant after construction.
  Hub* hub_;
  IngestOptions options_;
  const std::unique_ptr<KnownChannels> known_;
};

}  // namespace agentcore
