// SPDX-License-Identifier: Apache-2.0
#include "ws/stream_session.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <asio/buffer.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"

namespace agentcore::server {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kReadBufferBytes = 16 * 1024;
// One writev: enough to batch a burst of frames, small enough to stay fair to the other
// connections of the thread.
constexpr std::size_t kMaxGather = 64;
constexpr std::size_t kMaxGatherBytes = 256 * 1024;
// "No deadline" for pacing waits: the write deadline is what ends a reader that stopped.
constexpr auto kNoDeadline = std::chrono::hours(24 * 365);
// Messages replayed while open whose final set frame is still expected (a channel has a few
// open at a time: one per agent streaming).
constexpr std::size_t kMaxReplayedOpen = 256;
// Store page reads of replies and replays in flight at once, server-wide (ReadSlot).
constexpr int kMaxPageReadsInFlight = 2;
constexpr auto kReadSlotPoll = std::chrono::milliseconds(2);
std::atomic<int> page_reads_in_flight{0};
// A message read open although its final set frame was published: read again this often.
constexpr int kCompleteRetries = 50;
constexpr auto kCompleteRetryPause = std::chrono::milliseconds(10);
// SO_SNDBUF of a streaming connection: a quarter of the budget, within these bounds.
constexpr std::size_t kMinSendBuffer = 64 * 1024;
constexpr std::size_t kMaxSendBuffer = 1024 * 1024;

bool WouldBlock(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

bool StoredNotAfter(std::uint64_t seq, std::uint64_t cursor) { return seq <= cursor; }

std::size_t NextPageLimit(std::size_t count, std::size_t bytes, std::size_t limit) {
  const std::size_t most = std::min(kMaxPageMessages, std::max<std::size_t>(limit, 1) * 4);
  if (count == 0) return std::min(std::max<std::size_t>(limit, 1), most);
  std::size_t average = std::max<std::size_t>(bytes / count, 1);
  return std::clamp<std::size_t>(kPageBytes / average, 1, most);
}

std::atomic<std::size_t> StreamSession::peak_budget_bytes_{0};

std::size_t StreamSession::PeakBudgetBytesForTesting() {
  return peak_budget_bytes_.load(std::memory_order_relaxed);
}

void StreamSession::ResetPeakBudgetBytesForTesting() {
  peak_budget_bytes_.store(0, std::memory_order_relaxed);
}

StreamSession::StreamSession(App* app, std::size_t backlog_limit)
    : app_(app),
      backlog_limit_(backlog_limit == 0 ? 1 : backlog_limit),
      write_timeout_(app->config().write_timeout) {}

StreamSession::~StreamSession() = default;

void StreamSession::Attach(asio::ip::tcp::socket& socket) {
  socket_ = &socket;
  context_ = &static_cast<asio::io_context&>(socket.get_executor().context());
  std::error_code ec;
  socket.non_blocking(true, ec);
  // The kernel's send buffer is memory a client pins too, and Linux grows it to several MiB
  // for a reader that does not read; a fixed size keeps it near the budget (Linux doubles the
  // value set) and keeps a stuck reply from running far ahead of the client.
  const std::size_t send_buffer =
      std::clamp<std::size_t>(backlog_limit_ / 4, kMinSendBuffer, kMaxSendBuffer);
  socket.set_option(asio::socket_base::send_buffer_size(static_cast<int>(send_buffer)), ec);
}

void StreamSession::Detach() {
  SubscribeTo({});
  if (waiter_) waiter_->cancel();
  if (deadline_timer_) deadline_timer_->cancel();
  std::vector<Chunk>().swap(queue_);
  std::vector<std::shared_ptr<const OutFrame>>().swap(held_);
  queue_head_ = head_offset_ = queued_bytes_ = held_bytes_ = 0;
  if (socket_ != nullptr) {
    std::error_code ec;
    socket_->cancel(ec);  // our pending waits complete now, and find socket_ gone
  }
  socket_ = nullptr;
  stopping_ = true;
}

void StreamSession::SubscribeTo(std::string_view channel_id) {
  if (channel_id == channel_ && !channel_.empty()) return;
  Broadcaster& broadcaster = app_->broadcaster();
  if (!channel_.empty()) broadcaster.Unsubscribe(context_, channel_, this);
  channel_.assign(channel_id);
  if (!channel_.empty()) broadcaster.Subscribe(context_, channel_, this);
  // Another channel: nothing held, lost or replayed of the previous one matters.
  mode_ = LiveMode::kLive;
  std::vector<std::shared_ptr<const OutFrame>>().swap(held_);
  held_bytes_ = 0;
  first_lost_.clear();
  first_lost_seq_ = 0;
  replayed_through_ = 0;
  std::vector<std::string>().swap(replayed_open_);
  std::vector<std::string>().swap(open_lost_);
  std::vector<Lost>().swap(recent_lost_);
  catch_up_pending_ = false;
}

void StreamSession::NotePeak() {
  std::size_t now = queued_bytes_ + held_bytes_;
  std::size_t peak = peak_budget_bytes_.load(std::memory_order_relaxed);
  while (now > peak &&
         !peak_budget_bytes_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void StreamSession::Enqueue(std::shared_ptr<const void> owner, std::string_view bytes,
                            const OutFrame* live) {
  if (socket_ == nullptr || write_failed_ || bytes.empty()) return;
  if (queued_bytes_ == 0) last_progress_ = SteadyClock::now();
  queue_.push_back(Chunk{std::move(owner), bytes, live});
  queued_bytes_ += bytes.size();
  NotePeak();
  ScheduleFlush();
}

void StreamSession::EnqueueOwned(std::string bytes) {
  auto owned = std::make_shared<const std::string>(std::move(bytes));
  std::string_view view(*owned);
  Enqueue(std::move(owned), view);
}

void StreamSession::EnqueueStatic(std::string_view bytes) { Enqueue(nullptr, bytes); }

void StreamSession::ArmIdleHeartbeat(std::chrono::milliseconds interval, std::string_view line) {
  if (interval.count() <= 0) return;
  if (!heartbeat_) heartbeat_ = std::make_unique<asio::steady_timer>(*context_);
  heartbeat_->expires_after(interval);
  heartbeat_->async_wait([self = shared_from_this(), interval, line](const std::error_code& ec) {
    if (ec || self->stopping_ || self->socket_ == nullptr) return;
    if (self->queued_bytes() == 0) self->EnqueueStatic(line);
    self->ArmIdleHeartbeat(interval, line);
  });
}

void StreamSession::DropQueuedExceptPartial() {
  std::size_t keep = queue_head_ < queue_.size() && head_offset_ > 0 ? 1 : 0;
  std::size_t end = queue_head_ + keep;
  for (std::size_t i = end; i < queue_.size(); ++i) queued_bytes_ -= queue_[i].bytes.size();
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(end), queue_.end());
  std::vector<std::shared_ptr<const OutFrame>>().swap(held_);
  held_bytes_ = 0;
}

void StreamSession::ScheduleFlush() {
  // Deferred to a posted call rather than written inside Deliver: frames published in a burst
  // (several broadcaster posts already queued on this thread) then go out in one writev.
  if (flush_scheduled_ || write_waiting_ || context_ == nullptr) return;
  flush_scheduled_ = true;
  asio::post(*context_, [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->Flush();
  });
}

void StreamSession::Flush() {
  if (socket_ == nullptr || write_waiting_) return;
  thread_local std::vector<asio::const_buffer> buffers;
  while (queue_head_ < queue_.size()) {
    buffers.clear();
    std::size_t gathered = 0;
    for (std::size_t i = queue_head_; i < queue_.size() && buffers.size() < kMaxGather &&
                                      gathered < kMaxGatherBytes;
         ++i) {
      std::string_view bytes = queue_[i].bytes;
      if (i == queue_head_) bytes.remove_prefix(head_offset_);
      buffers.emplace_back(bytes.data(), bytes.size());
      gathered += bytes.size();
    }
    std::error_code ec;
    std::size_t written = socket_->write_some(buffers, ec);
    if (WouldBlock(ec)) {
      write_waiting_ = true;
      socket_->async_wait(asio::ip::tcp::socket::wait_write,
                          [self = shared_from_this()](const std::error_code&) {
                            // Errors (cancel included) are found again by write_some.
                            self->write_waiting_ = false;
                            self->Flush();
                          });
      ArmWriteDeadline();
      return;
    }
    if (ec) {
      write_failed_ = true;
      DropQueuedExceptPartial();
      queue_.clear();
      queue_head_ = head_offset_ = queued_bytes_ = 0;
      WakeWaiter();
      return;
    }
    if (written > 0) last_progress_ = SteadyClock::now();
    queued_bytes_ -= written;
    while (written > 0) {
      std::size_t left = queue_[queue_head_].bytes.size() - head_offset_;
      if (written < left) {
        head_offset_ += written;
        break;
      }
      written -= left;
      queue_[queue_head_].owner.reset();
      ++queue_head_;
      head_offset_ = 0;
    }
    // A long queue: forget the written chunks now and then, not only once it is empty.
    if (queue_head_ >= 256 && queue_head_ * 2 >= queue_.size()) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(queue_head_));
      queue_head_ = 0;
    }
    WakeWaiter();
  }
  // Everything is written: keep a small vector's capacity for the next frame, no more.
  queue_.clear();
  queue_head_ = head_offset_ = 0;
  if (queue_.capacity() > 32) std::vector<Chunk>().swap(queue_);
  WakeWaiter();
}

void StreamSession::ArmWriteDeadline() {
  if (write_timeout_.count() <= 0 || deadline_armed_ || context_ == nullptr) return;
  if (!deadline_timer_) deadline_timer_ = std::make_unique<asio::steady_timer>(*context_);
  deadline_armed_ = true;
  deadline_timer_->expires_at(last_progress_ + write_timeout_);
  deadline_timer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    self->deadline_armed_ = false;
    if (ec || self->socket_ == nullptr || self->write_failed_ || self->queued_bytes_ == 0) {
      return;
    }
    if (SteadyClock::now() - self->last_progress_ >= self->write_timeout_) {
      // A final frame queued now (a WebSocket close) gets a deadline of its own.
      self->last_progress_ = SteadyClock::now();
      self->OnWriteTimeout();
    } else {
      self->ArmWriteDeadline();
    }
  });
}

void StreamSession::WakeWaiter() {
  if (waiting_ && (queued_bytes_ <= wait_threshold_ || write_failed_ || socket_ == nullptr ||
                   stopping_)) {
    waiter_->cancel();
  }
}

void StreamSession::WakeReader() {
  if (!reading_ || socket_ == nullptr) return;
  wake_requested_ = true;
  std::error_code ec;
  socket_->cancel(ec);  // a pending write wait just retries (Flush)
}

void StreamSession::WakeAll() {
  WakeWaiter();
  WakeReader();
}

asio::awaitable<bool> StreamSession::WaitQueueBelow(std::size_t bytes) {
  if (stopping_) co_return false;
  bool ok = co_await WaitQueueBelow(bytes, SteadyClock::now() + kNoDeadline);
  co_return ok && !stopping_;
}

asio::awaitable<bool> StreamSession::WaitQueueBelow(std::size_t bytes,
                                                    SteadyClock::time_point deadline) {
  const bool pacing = !stopping_;  // a pacing wait ends when the session stops
  while (socket_ != nullptr && !write_failed_ && queued_bytes_ > bytes &&
         !(pacing && stopping_)) {
    if (SteadyClock::now() >= deadline) co_return false;
    if (!waiter_) waiter_ = std::make_unique<asio::steady_timer>(*context_);
    waiter_->expires_at(deadline);
    wait_threshold_ = bytes;
    waiting_ = true;
    std::error_code ec;
    co_await waiter_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiting_ = false;
  }
  co_return socket_ != nullptr && !write_failed_ && queued_bytes_ <= bytes;
}

asio::awaitable<StreamSession::ReadResult> StreamSession::ReadAvailable() {
  thread_local std::array<char, kReadBufferBytes> buffer;
  for (;;) {
    if (socket_ == nullptr) co_return ReadResult{asio::error::operation_aborted, {}};
    if (catch_up_pending_ && !stopping_) co_return ReadResult{};
    std::error_code ec;
    reading_ = true;
    co_await socket_->async_wait(asio::ip::tcp::socket::wait_read,
                                 asio::redirect_error(asio::use_awaitable, ec));
    reading_ = false;
    if (socket_ == nullptr) co_return ReadResult{asio::error::operation_aborted, {}};
    if (wake_requested_) {
      wake_requested_ = false;
      if (stopping_) co_return ReadResult{asio::error::operation_aborted, {}};
      if (ec == asio::error::operation_aborted) co_return ReadResult{};
    }
    if (ec) co_return ReadResult{ec, {}};
    std::size_t n = socket_->read_some(asio::buffer(buffer), ec);
    if (WouldBlock(ec)) continue;
    if (ec) co_return ReadResult{ec, {}};
    if (n == 0) co_return ReadResult{asio::error::eof, {}};
    co_return ReadResult{{}, std::string_view(buffer.data(), n)};
  }
}

StreamSession::ReadSlot::~ReadSlot() {
  if (held_) page_reads_in_flight.fetch_sub(1, std::memory_order_acq_rel);
}

asio::awaitable<bool> StreamSession::AcquireReadSlot(ReadSlot* slot) {
  for (;;) {
    if (page_reads_in_flight.fetch_add(1, std::memory_order_acq_rel) < kMaxPageReadsInFlight) {
      slot->held_ = true;
      co_return true;
    }
    page_reads_in_flight.fetch_sub(1, std::memory_order_acq_rel);
    if (stopping_ || socket_ == nullptr || write_failed_) co_return false;
    asio::steady_timer pause(*context_, kReadSlotPoll);
    std::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void StreamSession::CloseSocket() {
  if (socket_ == nullptr) return;
  std::error_code ec;
  socket_->shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_->close(ec);
  write_failed_ = true;
  WakeWaiter();
}

// --- live frames ------------------------------------------------------------------------------

bool StreamSession::AlreadySent(const OutFrame& frame) {
  if (replayed_through_ == 0 || frame.event_id.empty()) return false;
  auto open = std::find(replayed_open_.begin(), replayed_open_.end(), frame.event_id);
  if (open != replayed_open_.end()) {
    replayed_open_.erase(open);  // the final set frame of a message replayed while open
    return false;
  }
  return StoredNotAfter(frame.seq, replayed_through_);
}

bool StreamSession::RecentlyLost(std::string_view id) const {
  return std::any_of(recent_lost_.begin(), recent_lost_.end(),
                     [id](const Lost& lost) { return lost.id == id; });
}

void StreamSession::NoteLost(const OutFrame& frame) {
  if (frame.event_id.empty()) return;  // live-only: the final set frame carries the message
  ++losses_;
  if (recent_lost_.size() < kMaxReplayedOpen) recent_lost_.push_back({frame.event_id, frame.seq});
  // A message replayed while open is behind the replay's cursor: continuing from the cursor
  // would not send its final version.
  if (std::find(replayed_open_.begin(), replayed_open_.end(), frame.event_id) !=
          replayed_open_.end() &&
      std::find(open_lost_.begin(), open_lost_.end(), frame.event_id) == open_lost_.end()) {
    open_lost_.push_back(frame.event_id);
  }
  if (first_lost_.empty() || !StoredNotAfter(first_lost_seq_, frame.seq)) {
    first_lost_ = frame.event_id;
    first_lost_seq_ = frame.seq;
  }
}

void StreamSession::DropHeld() {
  for (const auto& frame : held_) NoteLost(*frame);
  std::vector<std::shared_ptr<const OutFrame>>().swap(held_);
  held_bytes_ = 0;
}

void StreamSession::Deliver(const std::shared_ptr<const OutFrame>& frame) {
  if (stopping_ || closing_ || socket_ == nullptr || write_failed_) return;
  switch (mode_) {
    case LiveMode::kCatchUp:
      NoteLost(*frame);
      return;
    case LiveMode::kHolding: {
      std::size_t size = LiveBytes(*frame).size();
      if (queued_bytes_ + held_bytes_ + size > backlog_limit_) {
        DropHeld();
        NoteLost(*frame);
        return;
      }
      held_bytes_ += size;
      held_.push_back(frame);
      NotePeak();
      return;
    }
    case LiveMode::kLive: {
      if (AlreadySent(*frame)) return;
      std::string_view bytes = LiveBytes(*frame);
      if (queued_bytes_ + bytes.size() > backlog_limit_) {
        StartCatchUp(*frame);
        return;
      }
      Enqueue(frame, bytes, frame.get());
      return;
    }
  }
}

void StreamSession::StartCatchUp(const OutFrame& frame) {
  // Live frames not yet started are dropped (replies, pongs and a partly written frame stay).
  std::size_t first = queue_head_ + (queue_head_ < queue_.size() && head_offset_ > 0 ? 1 : 0);
  std::size_t out = first;
  for (std::size_t i = first; i < queue_.size(); ++i) {
    if (queue_[i].live != nullptr) {
      NoteLost(*queue_[i].live);
      queued_bytes_ -= queue_[i].bytes.size();
      continue;
    }
    if (out != i) queue_[out] = std::move(queue_[i]);
    ++out;
  }
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(out), queue_.end());
  NoteLost(frame);
  mode_ = LiveMode::kCatchUp;
  catch_up_pending_ = true;
  WakeReader();
}

void StreamSession::ReleaseHeld() {
  mode_ = LiveMode::kLive;
  std::vector<std::shared_ptr<const OutFrame>> held;
  held.swap(held_);
  held_bytes_ = 0;
  // Through Deliver: a frame that no longer fits starts a catch-up, and the rest are noted.
  for (const auto& frame : held) Deliver(frame);
}

asio::awaitable<bool> StreamSession::CatchUp() {
  catch_up_pending_ = false;
  if (!co_await WaitQueueBelow(half_budget())) co_return false;
  HoldLive();
  co_return co_await FinishHolding();
}

asio::awaitable<bool> StreamSession::FinishHolding() {
  if (first_lost_.empty()) {
    ReleaseHeld();
    co_return true;
  }
  // Replay from the first message lost: after the one stored just before it.
  App& app = *app_;
  PageRequest page;
  page.limit = 1;
  page.before = std::exchange(first_lost_, {});
  first_lost_seq_ = 0;
  std::string channel = channel_;
  Result<MessagePage> previous = co_await app.Offload(
      [&app, &channel, &page] { return app.store().ListMessages(channel, page); });
  if (stopping_ || socket_ == nullptr || channel != channel_) co_return false;
  if (!previous.ok()) {
    LogError("stream catch-up", previous.status());
    co_return false;
  }
  if (previous->messages.empty()) co_return co_await ReplayAfter({}, 0);
  const Message& last_sent = previous->messages.back();
  co_return co_await ReplayAfter(last_sent.id, last_sent.seq);
}

asio::awaitable<bool> StreamSession::ReplayAfter(std::string after, std::uint64_t after_seq) {
  App& app = *app_;
  HoldLive();
  replayed_through_ = after_seq;
  std::string channel = channel_;
  std::size_t limit = kFirstPageMessages;
  int rereads = 0;
  for (;;) {
    // The next page only once the client has taken most of what is queued.
    if (!co_await WaitQueueBelow(half_budget())) co_return false;
    const std::uint64_t losses_before = losses_;
    ReadSlot slot;
    if (!co_await AcquireReadSlot(&slot)) co_return false;
    PageRequest page;
    page.limit = limit;
    page.after = after;
    Result<MessagePage> result = co_await app.Offload(
        [&app, &channel, &page] { return app.store().ListMessages(channel, page); });
    if (stopping_ || socket_ == nullptr || channel != channel_) co_return false;
    if (!result.ok()) {
      LogError("stream replay", result.status());
      co_return false;
    }
    std::string frames;
    for (const Message& m : result->messages) {
      if (!m.is_complete &&
          RecentlyLost(m.id)) {
        // Its final set frame was published, so it is complete: this read began before that
        // was visible here. Fetched again below rather than sent open.
        if (std::find(open_lost_.begin(), open_lost_.end(), m.id) == open_lost_.end()) {
          open_lost_.push_back(m.id);
        }
        continue;
      }
      AppendStoredFrame(m, &frames);
      if (!m.is_complete && replayed_open_.size() < kMaxReplayedOpen &&
          std::find(replayed_open_.begin(), replayed_open_.end(), m.id) ==
              replayed_open_.end()) {
        replayed_open_.push_back(m.id);
      }
    }
    const std::size_t count = result->messages.size();
    if (count > 0) {
      after = result->messages.back().id;
      after_seq = result->messages.back().seq;
      replayed_through_ = after_seq;
    }
    const bool more = result->has_more && count > 0;
    limit = NextPageLimit(count, frames.size(), limit);
    std::vector<Message>().swap(result->messages);  // freed before the next wait
    // Queued bytes are counted by size: do not keep the growth's slack as well.
    if (frames.capacity() > frames.size() + frames.size() / 8 + 4096) frames.shrink_to_fit();
    EnqueueOwned(std::move(frames));
    // Done when the store has nothing newer and no live frame was dropped since this read
    // began (a dropped one may be newer than what it saw).
    if (!more && losses_ == losses_before) {
      // A stored message whose final set frame was dropped must be in the replay; one past
      // the cursor was published before this read could see it: read again in a moment.
      const bool unseen = std::any_of(
          recent_lost_.begin(), recent_lost_.end(),
          [after_seq](const Lost& lost) { return !StoredNotAfter(lost.seq, after_seq); });
      if (unseen && ++rereads < kCompleteRetries) {
        asio::steady_timer pause(*context_, kCompleteRetryPause);
        std::error_code ec;
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (open_lost_.empty()) break;
      // Messages this connection got while open whose final set frame was dropped: sent
      // again as stored now; then one more read after the cursor.
      std::vector<std::string> ids;
      ids.swap(open_lost_);
      std::string again;
      for (const std::string& id : ids) {
        const bool published =
            RecentlyLost(id);
        Result<Message> m = Status(ErrorCode::kNotFound, "not read");
        // A message whose final set frame was published is complete; give the store a moment
        // if this read still finds it open.
        for (int attempt = 0; attempt < kCompleteRetries; ++attempt) {
          m = co_await app.Offload([&app, &id] { return app.store().GetMessage(id); });
          if (stopping_ || socket_ == nullptr || channel != channel_) co_return false;
          if (!m.ok() || m->is_complete || !published) break;
          asio::steady_timer pause(*context_, kCompleteRetryPause);
          std::error_code ec;
          co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        if (!m.ok() || m->channel_id != channel) continue;  // deleted since: nothing to send
        AppendStoredFrame(*m, &again);
        if (m->is_complete) std::erase(replayed_open_, id);
      }
      EnqueueOwned(std::move(again));
    }
  }
  first_lost_.clear();
  first_lost_seq_ = 0;
  recent_lost_.clear();
  ReleaseHeld();
  co_return true;
}

asio::awaitable<void> StreamSession::HalfCloseAndLinger(SteadyClock::time_point deadline,
                                                       bool peer_closed) {
  if (socket_ == nullptr) co_return;
  std::error_code ec;
  socket_->shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (peer_closed) co_return;
  asio::steady_timer timer(*context_);
  timer.expires_at(deadline);
  timer.async_wait([self = shared_from_this()](const std::error_code& e) {
    if (!e && self->socket_ != nullptr) {
      std::error_code ignored;
      self->socket_->cancel(ignored);
    }
  });
  for (;;) {
    ReadResult read = co_await ReadAvailable();
    if (read.error) break;
  }
  timer.cancel();
}

}  // namespace agentcore::server
