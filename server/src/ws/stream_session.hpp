// SPDX-License-Identifier: Apache-2.0
#pragma once

/// What a WebSocket `/stream` connection and an SSE `/channels/:id/events` connection share
/// once the HTTP engine hands the socket over: the channel subscription, a queue of bytes to
/// write (broadcast frames are queued by reference to their shared, pre-encoded bytes, never
/// copied), a non-blocking gather writer, reads into a per-thread buffer, and the rules that
/// bound what one connection may hold.
///
/// One budget per connection (`subscriber_backlog_bytes`) counts every byte queued for it:
/// replies, replays, pongs, close frames and live frames, plus live frames held back while a
/// reply or replay is written. Replies and replays are read from the store page by page
/// (NextPageLimit) and the next page is queued only once the queue is below half the budget
/// (WaitQueueBelow), so they add at most one page to it. Live frames never wait:
///  * kLive: a frame that fits is queued; one that does not switches the connection to
///    catch-up (below);
///  * kHolding (a reply or replay is being written): frames are held, counted; when they no
///    longer fit they are dropped and the connection catches up once the reply is written;
///  * kCatchUp: frames are not taken. The live frames queued and not partly written were
///    dropped; the first stored message among everything dropped is remembered. Once the
///    queue is below half the budget, the session's reader runs CatchUp: live frames are held
///    again, the stored messages from that point are read from the store page by page (as
///    set frames, as SSE's Last-Event-ID replay), then the held frames follow, less those the
///    replay covered (StoredNotAfter). Live-only frames (start, append) dropped on the way are
///    lost for this client; the final set frame carries the whole message.
/// So a client that reads is never dropped for a burst. A client that does not read is: when
/// bytes are queued and none was written for `write_timeout` (ServerConfig), OnWriteTimeout
/// runs (WebSocket: a 1008 close frame, then the socket; SSE: the socket).
///
/// Memory of an idle connection: this object (a few hundred bytes, the queue has no capacity
/// while empty) and the coroutine frame of `Run`. Nothing is allocated per connection for
/// reading (one buffer per io thread) and a write allocates nothing when the socket accepts
/// the bytes at once.
///
/// Threading: everything runs on the connection's io thread (the engine gives each connection
/// one thread for its whole life), which is also where the broadcaster calls Deliver. Handlers
/// of pending operations hold a shared_ptr to the session, and the session forgets the socket
/// (`Detach`) before Run returns, so a late handler never touches a closed connection.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <agentcore/store/records.hpp>

#include "broadcaster.hpp"
#include "http/request_context.hpp"

namespace agentcore::server {

class App;

/// Whether the stored message at `seq` is at or before `cursor` (both Message::seq) in the
/// channel's order: what a replay through `cursor` already delivered. The one place that
/// compares message positions; never the ids, which a client may choose (issue 13 §3).
bool StoredNotAfter(std::uint64_t seq, std::uint64_t cursor);

/// Messages per store page for a reply or replay: the first page kFirstPageMessages, then
/// about kPageBytes judging by the previous page (`count` messages encoded in `bytes`, read
/// with `limit`), growing at most fourfold a page, and never more than kMaxPageMessages. (The
/// store bounds a page by count only; a single message may still be larger than a page.)
inline constexpr std::size_t kFirstPageMessages = 4;
inline constexpr std::size_t kMaxPageMessages = 64;
inline constexpr std::size_t kPageBytes = 256 * 1024;
std::size_t NextPageLimit(std::size_t count, std::size_t bytes, std::size_t limit);

class StreamSession : public Upgrade,
                      public Subscriber,
                      public std::enable_shared_from_this<StreamSession> {
 public:
  using SteadyClock = std::chrono::steady_clock;

  /// `backlog_limit`: the connection's budget of queued (and held) bytes.
  StreamSession(App* app, std::size_t backlog_limit);
  ~StreamSession() override;
  StreamSession(const StreamSession&) = delete;
  StreamSession& operator=(const StreamSession&) = delete;

  /// A live frame of the subscribed channel (see the modes above).
  void Deliver(const std::shared_ptr<const OutFrame>& frame) final;

  /// Test hook: the most bytes any session had queued plus held since the last reset.
  static std::size_t PeakBudgetBytesForTesting();
  static void ResetPeakBudgetBytesForTesting();

 protected:
  enum class LiveMode : std::uint8_t { kLive, kHolding, kCatchUp };

  /// Takes the socket for the rest of Run (non-blocking mode, io_context of its executor).
  void Attach(asio::ip::tcp::socket& socket);
  /// Unsubscribes, drops the queue and forgets the socket. Call before Run returns.
  void Detach();

  /// Queues bytes owned by `owner` (kept alive until written); counted in the budget, never
  /// refused (callers pace themselves with WaitQueueBelow). `live`: a broadcast frame, which
  /// catch-up may drop while it is not partly written.
  void Enqueue(std::shared_ptr<const void> owner, std::string_view bytes,
               const OutFrame* live = nullptr);
  void EnqueueOwned(std::string bytes);
  /// Bytes that live as long as the program (heartbeats, fixed replies).
  void EnqueueStatic(std::string_view bytes);
  /// Every `interval` (none when <= 0) while nothing is queued, queues `line` (static storage,
  /// e.g. an SSE comment) so that idle streams stay open through proxies; a queue that is not
  /// moving does not grow by it. Ends when the session stops or `heartbeat_` is cancelled.
  void ArmIdleHeartbeat(std::chrono::milliseconds interval, std::string_view line);
  std::unique_ptr<asio::steady_timer> heartbeat_;
  /// Drops everything queued and held except the rest of a frame partly written, so that a
  /// final frame (a close) can follow without corrupting the stream.
  void DropQueuedExceptPartial();

  /// Writes what can be written now without blocking.
  void Flush();

  /// Waits until at most `bytes` are queued (true), or the socket fails, the session stops or
  /// `deadline` passes (false). Pacing waits pass no deadline: the write deadline ends them.
  asio::awaitable<bool> WaitQueueBelow(std::size_t bytes);
  asio::awaitable<bool> WaitQueueBelow(std::size_t bytes, SteadyClock::time_point deadline);

  struct ReadResult {
    std::error_code error;  // eof, reset, operation_aborted (cancelled or stopping), ...
    std::string_view bytes;  // valid until the next suspension point; empty when woken for
                             // catch-up (catch_up_pending())
  };
  /// Waits for the socket to be readable, then reads into this thread's buffer.
  asio::awaitable<ReadResult> ReadAvailable();
  /// The end of a close handshake (RFC 6455 §7.1.1) once our close frame is written:
  /// half-closes, then, unless the peer's close already came (`peer_closed`), reads and
  /// discards until the peer closes or `deadline` (closing with unread input would reset the
  /// connection and could destroy our close frame).
  asio::awaitable<void> HalfCloseAndLinger(SteadyClock::time_point deadline, bool peer_closed);

  /// Switches the subscription (one channel at a time); empty unsubscribes. Forgets what the
  /// live state knew of the previous channel.
  void SubscribeTo(std::string_view channel_id);
  const std::string& channel() const { return channel_; }

  // --- live frames (see the class comment)
  /// From now on live frames are held (a reply or replay is about to be written).
  void HoldLive() { mode_ = LiveMode::kHolding; }
  /// After a reply written while holding: catches up if held frames were dropped, then sends
  /// the held ones and goes live. False when the connection ended or the store failed.
  asio::awaitable<bool> FinishHolding();
  /// Writes the stored messages after `after` (a message id, the store's cursor) page by page
  /// (holding live frames), then goes live. `after_seq`: that message's seq when known (live
  /// frames at or before it are duplicates), else 0. False when the connection ended or the
  /// store failed (logged).
  asio::awaitable<bool> ReplayAfter(std::string after, std::uint64_t after_seq = 0);
  /// The reader runs CatchUp when this is set (it is woken from ReadAvailable for it).
  bool catch_up_pending() const { return catch_up_pending_; }
  asio::awaitable<bool> CatchUp();

  /// A store page read for a reply or replay in flight, server-wide (AcquireReadSlot): each
  /// holds a page of messages and its encoding until the page is queued, so many clients
  /// asking at once wait their turn instead of holding as many pages.
  class ReadSlot {
   public:
    ReadSlot() = default;
    ReadSlot(const ReadSlot&) = delete;
    ReadSlot& operator=(const ReadSlot&) = delete;
    ~ReadSlot();

   private:
    friend class StreamSession;
    bool held_ = false;
  };
  /// Waits for a slot (at most kMaxPageReadsInFlight held at once); false when the session
  /// ended meanwhile.
  asio::awaitable<bool> AcquireReadSlot(ReadSlot* slot);

  /// Closes the socket (both directions) now; pending operations complete with errors.
  void CloseSocket();
  /// Wakes a pacing wait and the reader (Stop, a write timeout).
  void WakeAll();

  /// The bytes of a live frame for this connection (the WebSocket frame or the SSE event).
  virtual std::string_view LiveBytes(const OutFrame& frame) const = 0;
  /// Appends a stored message as this connection's set frame (WebSocket frame or SSE event).
  virtual void AppendStoredFrame(const Message& message, std::string* out) const = 0;
  /// Bytes are queued and none was written for the write deadline.
  virtual void OnWriteTimeout() = 0;

  std::size_t queued_bytes() const { return queued_bytes_; }
  std::size_t half_budget() const { return backlog_limit_ / 2; }
  bool write_failed() const { return write_failed_; }
  App& app() { return *app_; }
  asio::io_context* io_context() const { return context_; }

  // Constant after construction.
  App* const app_;
  const std::size_t backlog_limit_;
  const std::chrono::milliseconds write_timeout_;

  asio::ip::tcp::socket* socket_ = nullptr;
  asio::io_context* context_ = nullptr;
  bool stopping_ = false;  // Stop() was called or the session decided to end
  bool closing_ = false;   // a final frame is queued: no live frame may follow it

 private:
  struct Chunk {
    std::shared_ptr<const void> owner;
    std::string_view bytes;
    const OutFrame* live = nullptr;  // a broadcast frame (owned by `owner`)
  };
  void ScheduleFlush();
  void WakeWaiter();
  void WakeReader();
  void ArmWriteDeadline();
  void NotePeak();
  /// A live frame not delivered: remembers the first stored message lost.
  void NoteLost(const OutFrame& frame);
  void DropHeld();
  /// kLive frame that does not fit: drop queued live frames, wait for the reader's CatchUp.
  void StartCatchUp(const OutFrame& frame);
  void ReleaseHeld();
  bool AlreadySent(const OutFrame& frame);

  std::vector<Chunk> queue_;
  std::size_t queue_head_ = 0;     // first chunk not fully written
  std::size_t head_offset_ = 0;    // bytes of queue_[queue_head_] already written
  std::size_t queued_bytes_ = 0;   // not yet written
  bool flush_scheduled_ = false;   // a posted Flush is pending
  bool write_waiting_ = false;     // an async_wait(wait_write) is pending
  bool write_failed_ = false;
  std::string channel_;            // subscribed channel; empty when none
  std::unique_ptr<asio::steady_timer> waiter_;  // WaitQueueBelow; made on first use
  std::size_t wait_threshold_ = 0;
  bool waiting_ = false;
  bool reading_ = false;         // the reader waits in ReadAvailable
  bool wake_requested_ = false;  // WakeReader cancelled that wait
  // Write deadline.
  SteadyClock::time_point last_progress_{};  // a byte written, or the queue became non-empty
  std::unique_ptr<asio::steady_timer> deadline_timer_;
  bool deadline_armed_ = false;
  // Live frames.
  LiveMode mode_ = LiveMode::kLive;
  std::vector<std::shared_ptr<const OutFrame>> held_;
  std::size_t held_bytes_ = 0;
  std::string first_lost_;      // first stored message whose frame was dropped; empty: none
  std::uint64_t first_lost_seq_ = 0;  // its seq
  std::uint64_t losses_ = 0;    // stored messages' frames dropped so far
  std::uint64_t replayed_through_ = 0;  // seq: live frames of stored messages up to it are
                                        // duplicates; 0: nothing replayed
  // Replayed while still open (a streamed message not complete yet): its final set frame is
  // not a duplicate, whatever replayed_through_ says.
  std::vector<std::string> replayed_open_;
  // Of those, the ones whose final set frame was dropped: ReplayAfter sends them again.
  std::vector<std::string> open_lost_;
  // Stored messages whose final set frame was dropped since the last replay ended: one read
  // open by a replay was read before its completion became visible, and is fetched again.
  struct Lost {
    std::string id;
    std::uint64_t seq = 0;
  };
  std::vector<Lost> recent_lost_;
  bool RecentlyLost(std::string_view id) const;
  bool catch_up_pending_ = false;

  static std::atomic<std::size_t> peak_budget_bytes_;
};

}  // namespace agentcore::server
