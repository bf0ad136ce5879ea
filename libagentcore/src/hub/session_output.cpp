// SPDX-License-Identifier: Apache-2.0
// A session's output side (docs/sessions.md "Attach protocol"): the runtime's sink copies
// output into the bounded ring (the tail a later attach sees) and into each attached client's
// bounded queue under one short lock, then wakes the clients outside it. Flow control: while
// a client's queue is over half attach_buffer_bytes, the runtime stops reading the process's
// output (WantsOutput; the command blocks on its pipe), and reads again once every client is
// below a quarter (ResumeIfRoom, from Drain and detach), so a fast client gets every byte at
// the speed it reads. A client that stays over the mark for attach_stall_timeout is dropped
// (DropStalled, from the sweep), as is one whose queue would pass attach_buffer_bytes (a
// runtime that cannot pause): its queue is freed, nothing more is queued, the others go on.
// The process's exit queues one kExit for every client and ends them.

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "sessions_internal.hpp"

namespace agentcore::hub_internal {

namespace {

std::string ExitMessage(int code) {
  const auto u = static_cast<std::uint32_t>(code);
  std::string msg(1, static_cast<char>(AttachFrameType::kExit));
  msg.push_back(static_cast<char>((u >> 24) & 0xff));
  msg.push_back(static_cast<char>((u >> 16) & 0xff));
  msg.push_back(static_cast<char>((u >> 8) & 0xff));
  msg.push_back(static_cast<char>(u & 0xff));
  return msg;
}

std::string ErrorMessage(std::string_view text) {
  std::string msg(1, static_cast<char>(AttachFrameType::kError));
  msg.append(text);
  return msg;
}

/// Queues `msg` for `q` unless it ended or was dropped; drops it when over `limit`.
/// Returns whether `q` should be woken. REQUIRES: the session's mu held.
bool Queue(AttachQueue& q, std::string msg, std::size_t limit) {
  if (q.dropped || q.ended) return false;
  if (q.bytes + msg.size() > limit) {
    q.dropped = true;
    q.messages.clear();
    q.bytes = 0;
    return true;
  }
  q.bytes += msg.size();
  q.messages.push_back(std::move(msg));
  return true;
}

void WakeAll(const std::vector<std::shared_ptr<AttachQueue>>& queues) {
  for (const auto& q : queues) q->Wake();
}

class AttachmentImpl final : public SessionAttachment {
 public:
  AttachmentImpl(std::shared_ptr<LiveSession> live, std::shared_ptr<AttachQueue> q)
      : live_(std::move(live)), q_(std::move(q)) {}

  ~AttachmentImpl() override {
    {
      std::lock_guard lock(q_->wake_mu);
      q_->wake = nullptr;  // no wake-up after this returns
    }
    {
      std::lock_guard lock(live_->mu);
      auto& list = live_->attachments;
      list.erase(std::remove(list.begin(), list.end(), q_), list.end());
      live_->last_activity = live_->service->Now();
    }
    live_->ResumeIfRoom();
  }

  void Drain(std::size_t max_bytes, std::vector<std::string>* out) override {
    bool paused = false;
    {
      std::lock_guard lock(live_->mu);
      std::size_t taken = 0;
      while (!q_->messages.empty() &&
             (taken == 0 || taken + q_->messages.front().size() <= max_bytes)) {
        taken += q_->messages.front().size();
        q_->bytes -= q_->messages.front().size();
        out->push_back(std::move(q_->messages.front()));
        q_->messages.pop_front();
      }
      // Caught up: this client no longer holds the output (whatever the others do).
      if (q_->bytes <= live_->service->options().attach_buffer_bytes / 4) q_->full_since = 0;
      paused = live_->output_paused;
    }
    if (paused) live_->ResumeIfRoom();
  }

  bool dropped() const override {
    std::lock_guard lock(live_->mu);
    return q_->dropped;
  }

  bool ended() const override {
    std::lock_guard lock(live_->mu);
    return q_->ended;
  }

  Status WriteStdin(std::string_view bytes) override {
    std::shared_ptr<SessionProcess> process;
    AGENTCORE_RETURN_IF_ERROR(Target(&process));
    return process->WriteStdin(bytes);
  }

  Status CloseStdin() override {
    std::shared_ptr<SessionProcess> process;
    AGENTCORE_RETURN_IF_ERROR(Target(&process));
    AGENTCORE_RETURN_IF_ERROR(process->CloseStdin());
    bool wake = false;
    {
      std::lock_guard lock(live_->mu);
      q_->stdin_closed = true;
      wake = Queue(*q_, std::string(1, static_cast<char>(AttachFrameType::kStdinClosed)),
                   live_->service->options().attach_buffer_bytes);
    }
    if (wake) q_->Wake();
    return Status();
  }

 private:
  Status Target(std::shared_ptr<SessionProcess>* process) {
    std::lock_guard lock(live_->mu);
    if (q_->stdin_closed) return Status(ErrorCode::kConflict, "stdin was closed");
    if (live_->phase != ProcessPhase::kRunning || live_->stdin_target == nullptr) {
      return Status(ErrorCode::kConflict, "session is not running");
    }
    live_->last_activity = live_->service->Now();
    *process = live_->stdin_target;
    return Status();
  }

  std::shared_ptr<LiveSession> live_;
  std::shared_ptr<AttachQueue> q_;
};

class WatchImpl final : public SessionWatch {
 public:
  WatchImpl(std::shared_ptr<LiveSession> live, std::uint64_t id)
      : live_(std::move(live)), id_(id) {}
  ~WatchImpl() override {
    std::lock_guard lock(live_->watch_mu);
    live_->watchers.erase(id_);
  }

 private:
  std::shared_ptr<LiveSession> live_;
  std::uint64_t id_;
};

}  // namespace

void AttachQueue::Wake() {
  std::lock_guard lock(wake_mu);
  if (wake) wake();
}

LiveSession::LiveSession(SessionServiceImpl* service_in, std::string id_in,
                         std::string owner_id_in)
    : service(service_in), id(std::move(id_in)), owner_id(std::move(owner_id_in)) {}

void LiveSession::OnOutput(SessionStream stream, std::string_view bytes) {
  if (bytes.empty()) return;
  const SessionServiceOptions& o = service->options();
  std::string msg(1, static_cast<char>(stream));
  msg.append(bytes);
  std::vector<std::shared_ptr<AttachQueue>> wake;
  {
    std::lock_guard lock(mu);
    last_activity = service->Now();
    for (const auto& q : attachments) {
      if (Queue(*q, msg, o.attach_buffer_bytes)) wake.push_back(q);
    }
    // The ring keeps the last output_ring_bytes of output (payload bytes), as it came.
    if (o.output_ring_bytes > 0) {
      if (bytes.size() > o.output_ring_bytes) {
        msg.erase(1, bytes.size() - o.output_ring_bytes);
      }
      ring_bytes += msg.size() - 1;
      ring.push_back(std::move(msg));
      while (ring_bytes > o.output_ring_bytes) {
        std::string& front = ring.front();
        const std::size_t payload = front.size() - 1;
        const std::size_t excess = ring_bytes - o.output_ring_bytes;
        if (payload <= excess) {
          ring_bytes -= payload;
          ring.pop_front();
        } else {
          front.erase(1, excess);
          ring_bytes -= excess;
        }
      }
    }
  }
  WakeAll(wake);
}

bool LiveSession::WantsOutput() {
  const std::size_t high = service->options().attach_buffer_bytes / 2;
  std::lock_guard lock(mu);
  bool wants = true;
  for (const auto& q : attachments) {
    if (q->dropped || q->ended || q->bytes <= high) continue;
    if (q->full_since == 0) q->full_since = service->Now();
    wants = false;
  }
  if (!wants) output_paused = true;
  return wants;
}

void LiveSession::ResumeIfRoom() {
  const std::size_t low = service->options().attach_buffer_bytes / 4;
  std::shared_ptr<SessionProcess> target;
  {
    std::lock_guard lock(mu);
    if (!output_paused) return;
    for (const auto& q : attachments) {
      if (q->dropped || q->ended) continue;
      if (q->bytes > low) return;
      q->full_since = 0;
    }
    output_paused = false;
    target = stdin_target;
  }
  if (target != nullptr) target->ResumeOutput();
}

void LiveSession::DropStalled(UnixMillis now) {
  const auto stall = service->options().attach_stall_timeout.count();
  std::vector<std::shared_ptr<AttachQueue>> wake;
  {
    std::lock_guard lock(mu);
    for (const auto& q : attachments) {
      if (q->dropped || q->ended || q->full_since == 0 || now - q->full_since <= stall) continue;
      q->dropped = true;
      q->messages.clear();
      q->bytes = 0;
      wake.push_back(q);
    }
  }
  WakeAll(wake);
  if (!wake.empty()) ResumeIfRoom();
}

void LiveSession::OnExit(int exit_code, std::string_view reason) {
  std::vector<std::shared_ptr<AttachQueue>> wake;
  std::uint64_t current = 0;
  {
    std::lock_guard lock(mu);
    if (phase == ProcessPhase::kStarting || phase == ProcessPhase::kRunning) {
      phase = ProcessPhase::kExited;
    }
    last_exit_code = exit_code;
    last_exit_reason = std::string(reason);
    exited_token = token;
    last_activity = service->Now();
    current = token;
    // The exit is always queued, even past the bound: it is what the client waits for.
    for (const auto& q : attachments) {
      if (q->dropped || q->ended) continue;
      std::string msg = ExitMessage(exit_code);
      q->bytes += msg.size();
      q->messages.push_back(std::move(msg));
      q->ended = true;
      wake.push_back(q);
    }
  }
  WakeAll(wake);
  service->PostExit(shared_from_this(), current);
}

void LiveSession::EndAttachments(std::string_view why) {
  std::vector<std::shared_ptr<AttachQueue>> wake;
  {
    std::lock_guard lock(mu);
    for (const auto& q : attachments) {
      if (q->dropped || q->ended) continue;
      std::string msg = ErrorMessage(why);
      q->bytes += msg.size();
      q->messages.push_back(std::move(msg));
      q->ended = true;
      wake.push_back(q);
    }
  }
  WakeAll(wake);
}

Result<std::unique_ptr<SessionAttachment>> SessionServiceImpl::Attach(
    const Principal& caller, std::string_view id, std::function<void()> wake) {
  AGENTCORE_ASSIGN_OR_RETURN(Session s, Find(caller, id));
  if (std::string owner = RunsElsewhere(s); !owner.empty()) return SessionElsewhere(owner);
  std::shared_ptr<LiveSession> live = LiveFor(s);
  auto q = std::make_shared<AttachQueue>();
  q->wake = std::move(wake);
  {
    std::lock_guard lock(live->mu);
    if (live->attachments.size() >= options_.max_attachments_per_session) {
      return Status(ErrorCode::kRateLimited,
                    fmt::format("too many clients attached to this session (max {})",
                                options_.max_attachments_per_session));
    }
    for (const std::string& msg : live->ring) (void)Queue(*q, msg, options_.attach_buffer_bytes);
    const bool waiting =
        live->phase == ProcessPhase::kStarting || live->phase == ProcessPhase::kRunning;
    if (!waiting && !q->dropped) {
      // Stopped or failed (or exited, settling): the tail, then how it ended.
      std::string end = live->last_exit_code ? ExitMessage(*live->last_exit_code)
                                             : ErrorMessage("the session has no exit code");
      q->bytes += end.size();
      q->messages.push_back(std::move(end));
      q->ended = true;
    }
    live->attachments.push_back(q);
    live->last_activity = Now();
  }
  return std::unique_ptr<SessionAttachment>(new AttachmentImpl(live, q));
}

Result<std::unique_ptr<SessionWatch>> SessionServiceImpl::Watch(
    const Principal& caller, std::string_view id,
    std::function<void(const SessionChange&)> sink) {
  AGENTCORE_ASSIGN_OR_RETURN(Session s, Find(caller, id));
  std::shared_ptr<LiveSession> live = LiveFor(s);
  std::lock_guard lock(live->watch_mu);
  const std::uint64_t watch_id = live->next_watcher++;
  LiveSession::Watcher& w = live->watchers[watch_id];
  w.seq = 1;
  w.sink = std::move(sink);
  SessionChange first = live->last_change;
  first.seq = 1;
  w.sink(first);
  return std::unique_ptr<SessionWatch>(new WatchImpl(live, watch_id));
}

}  // namespace agentcore::hub_internal
