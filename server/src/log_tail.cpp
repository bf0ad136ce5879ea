// SPDX-License-Identifier: Apache-2.0
#include "log_tail.hpp"

#include <chrono>
#include <string_view>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <agentcore/hub/agents.hpp>
#include <agentcore/runtime/runtime.hpp>

#include "app.hpp"

namespace agentcore::server {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kLogHead =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Cache-Control: no-cache\r\n"
    "Connection: close\r\n"
    "X-Accel-Buffering: no\r\n"
    "\r\n";
constexpr auto kPollInterval = 250ms;
constexpr std::size_t kChunkBytes = 64 * 1024;
constexpr auto kDrainWait = 30s;
constexpr auto kStopLinger = 1s;

}  // namespace

LogTailSession::LogTailSession(App* app, AgentIdentity agent, std::uint64_t offset)
    : StreamSession(app, kChunkBytes), agent_(std::move(agent)), offset_(offset) {}

void LogTailSession::Stop() {
  stopping_ = true;
  if (poll_timer_) poll_timer_->cancel();
  if (socket_ != nullptr) {
    std::error_code ec;
    socket_->cancel(ec);  // wakes the reader
  }
}

void LogTailSession::OnWriteTimeout() {
  stopping_ = true;
  if (poll_timer_) poll_timer_->cancel();
  CloseSocket();
  WakeAll();
}

asio::awaitable<void> LogTailSession::Follow() {
  App& app = this->app();
  AgentService& agents = app.hub().agents();
  poll_timer_ = std::make_unique<asio::steady_timer>(*context_);
  while (!stopping_ && socket_ != nullptr) {
    auto read = [&agents, &agent = agent_, offset = offset_] {
      return agents.ReadLog(agent, offset, kChunkBytes);
    };
    Result<LogChunk> chunk = co_await app.Offload(std::move(read));
    if (stopping_ || socket_ == nullptr) break;
    bool caught_up = true;
    if (chunk.ok()) {
      if (!chunk->data.empty()) {
        offset_ = chunk->next_offset;
        caught_up = offset_ >= chunk->size;
        EnqueueOwned(std::move(chunk->data));
        // The next chunk is read once the client has taken most of this one.
        if (!co_await WaitQueueBelow(kChunkBytes / 2, SteadyClock::now() + kDrainWait)) break;
      }
    } else if (chunk.status().code() != ErrorCode::kNotFound) {
      // Not "no log yet" (an agent that has not started writes none): the log is gone or
      // unreadable, or the offset is past its end (the log was replaced). End the response.
      break;
    }
    if (!caught_up) continue;
    poll_timer_->expires_after(kPollInterval);
    std::error_code ec;
    co_await poll_timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!stopping_ && socket_ != nullptr) {
    stopping_ = true;
    co_await WaitQueueBelow(0, SteadyClock::now() + kStopLinger);
    CloseSocket();  // ends Run's read
  }
}

asio::awaitable<void> LogTailSession::Run(asio::ip::tcp::socket& socket, std::string /*leftover*/) {
  Attach(socket);
  EnqueueStatic(kLogHead);
  auto self = std::static_pointer_cast<LogTailSession>(shared_from_this());
  asio::co_spawn(*context_, [self]() { return self->Follow(); }, asio::detached);

  while (!stopping_) {
    // A client says nothing after its request; readable means it closed (or sent junk).
    ReadResult read = co_await ReadAvailable();
    if (read.error) break;
  }
  // No linger for what is queued: Follow may be waiting on the queue (WaitQueueBelow has one
  // waiter), and a log tail cut short at shutdown loses nothing (the log stays on disk).
  stopping_ = true;
  if (poll_timer_) poll_timer_->cancel();
  Detach();  // wakes Follow, which then finds the socket gone
}

}  // namespace agentcore::server
