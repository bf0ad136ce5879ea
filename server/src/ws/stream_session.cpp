// SPDX-License-Identifier: Apache-2.0
#include "ws/stream_session.hpp"

#include <algorithm>
#include <array>

#include <asio/buffer.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "app.hpp"

namespace agentcore::server {
namespace {

constexpr std::size_t kReadBufferBytes = 16 * 1024;
// One writev: enough to batch a burst of frames, small enough to stay fair to the other
// connections of the thread.
constexpr std::size_t kMaxGather = 64;
constexpr std::size_t kMaxGatherBytes = 256 * 1024;

bool WouldBlock(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

StreamSession::StreamSession(App* app, std::size_t backlog_limit)
    : app_(app), backlog_limit_(backlog_limit == 0 ? 1 : backlog_limit) {}

StreamSession::~StreamSession() = default;

void StreamSession::Attach(asio::ip::tcp::socket& socket) {
  socket_ = &socket;
  context_ = &static_cast<asio::io_context&>(socket.get_executor().context());
  std::error_code ec;
  socket.non_blocking(true, ec);
}

void StreamSession::Detach() {
  SubscribeTo({});
  if (waiter_) waiter_->cancel();
  std::vector<Chunk>().swap(queue_);
  queue_head_ = head_offset_ = queued_bytes_ = 0;
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
}

void StreamSession::Enqueue(std::shared_ptr<const void> owner, std::string_view bytes,
                            bool bounded) {
  if (socket_ == nullptr || write_failed_ || bytes.empty()) return;
  if (bounded && queued_bytes_ + bytes.size() > backlog_limit_) {
    OnBacklogExceeded();
    return;
  }
  queue_.push_back(Chunk{std::move(owner), bytes});
  queued_bytes_ += bytes.size();
  ScheduleFlush();
}

void StreamSession::EnqueueOwned(std::string bytes) {
  auto owned = std::make_shared<const std::string>(std::move(bytes));
  std::string_view view(*owned);
  Enqueue(std::move(owned), view, /*bounded=*/false);
}

void StreamSession::EnqueueStatic(std::string_view bytes) {
  Enqueue(nullptr, bytes, /*bounded=*/false);
}

void StreamSession::DropQueuedExceptPartial() {
  std::size_t keep = queue_head_ < queue_.size() && head_offset_ > 0 ? 1 : 0;
  std::size_t end = queue_head_ + keep;
  for (std::size_t i = end; i < queue_.size(); ++i) queued_bytes_ -= queue_[i].bytes.size();
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(end), queue_.end());
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
  }
  // Everything is written: keep a small vector's capacity for the next frame, no more.
  queue_.clear();
  queue_head_ = head_offset_ = 0;
  if (queue_.capacity() > 32) std::vector<Chunk>().swap(queue_);
  WakeWaiter();
}

void StreamSession::WakeWaiter() {
  if (waiting_ && (queued_bytes_ <= wait_threshold_ || write_failed_ || socket_ == nullptr)) {
    waiter_->cancel();
  }
}

asio::awaitable<bool> StreamSession::WaitQueueBelow(std::size_t bytes,
                                                    SteadyClock::time_point deadline) {
  while (socket_ != nullptr && !write_failed_ && queued_bytes_ > bytes) {
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
    std::error_code ec;
    co_await socket_->async_wait(asio::ip::tcp::socket::wait_read,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ReadResult{ec, {}};
    if (socket_ == nullptr) co_return ReadResult{asio::error::operation_aborted, {}};
    std::size_t n = socket_->read_some(asio::buffer(buffer), ec);
    if (WouldBlock(ec)) continue;
    if (ec) co_return ReadResult{ec, {}};
    if (n == 0) co_return ReadResult{asio::error::eof, {}};
    co_return ReadResult{{}, std::string_view(buffer.data(), n)};
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

}  // namespace agentcore::server
