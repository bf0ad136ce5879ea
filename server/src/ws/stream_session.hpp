// SPDX-License-Identifier: Apache-2.0
#pragma once

/// What a WebSocket `/stream` connection and an SSE `/channels/:id/events` connection share
/// once the HTTP engine hands the socket over: the channel subscription, a bounded queue of
/// bytes to write (broadcast frames are queued by reference to their shared, pre-encoded
/// bytes, never copied), a non-blocking gather writer, and reads into a per-thread buffer.
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

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "broadcaster.hpp"
#include "http/request_context.hpp"

namespace agentcore::server {

class App;

class StreamSession : public Upgrade,
                      public Subscriber,
                      public std::enable_shared_from_this<StreamSession> {
 public:
  using SteadyClock = std::chrono::steady_clock;

  /// `backlog_limit`: most bytes queued for a slow reader before OnBacklogExceeded.
  StreamSession(App* app, std::size_t backlog_limit);
  ~StreamSession() override;
  StreamSession(const StreamSession&) = delete;
  StreamSession& operator=(const StreamSession&) = delete;

 protected:
  /// Takes the socket for the rest of Run (non-blocking mode, io_context of its executor).
  void Attach(asio::ip::tcp::socket& socket);
  /// Unsubscribes, drops the queue and forgets the socket. Call before Run returns.
  void Detach();

  /// Queues bytes owned by `owner` (kept alive until written). Live broadcast frames pass
  /// `bounded`: if the queue would exceed the backlog limit they are not queued and
  /// OnBacklogExceeded runs instead. Replies the connection asked for are not refused (the
  /// reader waits for the queue to drain before taking the next request: WaitQueueBelow).
  void Enqueue(std::shared_ptr<const void> owner, std::string_view bytes, bool bounded);
  void EnqueueOwned(std::string bytes);
  /// Bytes that live as long as the program (heartbeats, fixed replies).
  void EnqueueStatic(std::string_view bytes);
  /// Drops everything queued except the rest of a frame partly written, so that a final frame
  /// (a close) can follow without corrupting the stream.
  void DropQueuedExceptPartial();

  /// Writes what can be written now without blocking.
  void Flush();

  /// Waits until at most `bytes` are queued (true) or `deadline` passes, the socket fails or
  /// the session stops (false).
  asio::awaitable<bool> WaitQueueBelow(std::size_t bytes, SteadyClock::time_point deadline);

  struct ReadResult {
    std::error_code error;  // eof, reset, operation_aborted (cancelled), ...
    std::string_view bytes;  // valid until the next suspension point
  };
  /// Waits for the socket to be readable, then reads into this thread's buffer.
  asio::awaitable<ReadResult> ReadAvailable();

  /// Switches the subscription (one channel at a time); empty unsubscribes.
  void SubscribeTo(std::string_view channel_id);
  const std::string& channel() const { return channel_; }

  /// Closes the socket (both directions) now; pending operations complete with errors.
  void CloseSocket();

  /// Called from Enqueue (often inside Broadcaster::Publish) when a live frame does not fit.
  virtual void OnBacklogExceeded() = 0;

  std::size_t queued_bytes() const { return queued_bytes_; }
  bool write_failed() const { return write_failed_; }
  App& app() { return *app_; }
  asio::io_context* io_context() const { return context_; }

  // Constant after construction.
  App* const app_;
  const std::size_t backlog_limit_;

  asio::ip::tcp::socket* socket_ = nullptr;
  asio::io_context* context_ = nullptr;
  bool stopping_ = false;  // Stop() was called or the session decided to end

 private:
  struct Chunk {
    std::shared_ptr<const void> owner;
    std::string_view bytes;
  };
  void ScheduleFlush();
  void WakeWaiter();

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
};

}  // namespace agentcore::server
