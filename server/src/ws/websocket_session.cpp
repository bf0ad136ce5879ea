// SPDX-License-Identifier: Apache-2.0
#include "ws/websocket_session.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include <asio/steady_timer.hpp>

#include <agentcore/clock.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/parser.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "ws/sync_frames.hpp"

namespace agentcore::server {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kDefaultSyncLimit = 25;  // spec cast §4.10 step 4
constexpr auto kCloseLinger = 2s;              // our close frame, then the client's answer
constexpr auto kStopLinger = 1s;               // server shutdown: a shorter goodbye
// Room before a reply page for its frame header (at most 10 bytes, RFC 6455 §5.2).
constexpr std::size_t kHeadroom = 10;

/// A non-empty string member of the sync request (`since`, `before`, `channelId`); Cast reads
/// them with `||`, so an empty string counts as absent.
std::optional<std::string> NonEmptyString(const TymbalFrame& frame, std::string_view key) {
  const Json* v = frame.FindExtra(key);
  if (v == nullptr || !v->is_string() || v->as_string().empty()) return std::nullopt;
  return v->as_string();
}

std::string ErrorFrame(std::string_view code, std::string_view message) {
  std::string line;
  JsonWriter(&line).BeginObject().Field("error", code).Field("message", message).EndObject();
  return line;
}

}  // namespace

WebSocketSession::WebSocketSession(App* app, Principal principal, std::string accept)
    : StreamSession(app, app->config().subscriber_backlog_bytes),
      principal_(std::move(principal)),
      accept_(std::move(accept)),
      decoder_(app->config().ws_max_message_bytes) {}

void WebSocketSession::SendClose(std::uint16_t code, std::string_view reason) {
  if (close_sent_) return;
  close_sent_ = true;
  closing_ = true;
  EnqueueOwned(EncodeWebSocketClose(code, reason));
}

void WebSocketSession::SendText(std::string_view text) {
  if (close_sent_) return;
  EnqueueOwned(EncodeWebSocketText(text));
}

void WebSocketSession::AppendStoredFrame(const Message& message, std::string* out) const {
  thread_local std::string line;
  line.clear();
  AppendSetFrameLine(message, &line);
  AppendWebSocketText(line, out);
  if (line.capacity() > 64 * 1024) std::string().swap(line);  // a big message: not kept
}

void WebSocketSession::OnWriteTimeout() {
  if (close_sent_) {
    // Not even the close frame went out: give up on the socket.
    CloseSocket();
    WakeAll();
    return;
  }
  // The client stopped reading: make room for a close frame (the rest of a frame partly
  // written stays, a control frame may follow a fragment), then FinishClose gives it a moment.
  stopping_ = true;
  SubscribeTo({});
  DropQueuedExceptPartial();
  SendClose(kClosePolicyViolation, "write timeout");
  Flush();
  WakeAll();
}

void WebSocketSession::Stop() {
  if (stopping_ || socket_ == nullptr) {
    stopping_ = true;
    return;
  }
  stopping_ = true;
  SubscribeTo({});
  SendClose(kCloseGoingAway, "server shutting down");
  WakeAll();
  std::error_code ec;
  socket_->cancel(ec);  // wakes the reader; a pending write wait just retries
}

asio::awaitable<void> WebSocketSession::Run(asio::ip::tcp::socket& socket, std::string leftover) {
  Attach(socket);
  // RFC 6455 §4.2.2; no subprotocol or extension is ever selected.
  std::string head;
  head.reserve(160);
  head.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Accept: ")
      .append(accept_)
      .append("\r\n\r\n");
  EnqueueOwned(std::move(head));
  SubscribeTo(kPendingChannel);  // spec cast §4.10: every connection starts here

  std::vector<WebSocketEvent> events;
  std::string_view input = leftover;
  bool peer_gone = false;
  while (!stopping_) {
    if (!input.empty()) {
      std::optional<WebSocketError> error = decoder_.Feed(input, &events);
      input = {};
      bool go_on = co_await HandleEvents(&events);
      events.clear();
      if (error) {
        SendClose(error->code, error->reason);
        break;
      }
      if (!go_on || stopping_) break;
    }
    if (catch_up_pending()) {
      if (!co_await CatchUp()) {
        if (!stopping_) SendClose(kCloseInternalError, "catch-up failed");
        break;
      }
      continue;
    }
    if (queued_bytes() > half_budget()) {
      // Replies the client asked for and does not read: stop reading its requests. The write
      // deadline ends a client that reads nothing at all.
      if (!co_await WaitQueueBelow(half_budget())) break;
      continue;
    }
    ReadResult read = co_await ReadAvailable();
    if (read.error) {
      peer_gone = read.error != asio::error::operation_aborted;
      break;
    }
    input = read.bytes;  // a per-thread buffer: decoded before the next suspension
  }

  SubscribeTo({});
  if (close_sent_ && !peer_gone && !write_failed()) {
    co_await FinishClose(stopping_ && !close_received_ ? SteadyClock::duration(kStopLinger)
                                                       : SteadyClock::duration(kCloseLinger));
  }
  Detach();
}

asio::awaitable<bool> WebSocketSession::HandleEvents(std::vector<WebSocketEvent>* events) {
  for (WebSocketEvent& event : *events) {
    if (stopping_ || close_sent_) co_return false;
    switch (event.kind) {
      case WebSocketEvent::Kind::kText: {
        // spec cast §4.10: parsed with §2.3; invalid frames and non-sync frames are ignored.
        Result<TymbalFrame> frame = ParseFrame(event.payload);
        if (frame.ok() && frame->kind == FrameKind::kSyncRequest) co_await HandleSync(*frame);
        break;
      }
      case WebSocketEvent::Kind::kBinary:
      case WebSocketEvent::Kind::kPong:
        break;
      case WebSocketEvent::Kind::kPing:
        EnqueueOwned(EncodeWebSocketPong(event.payload));
        break;
      case WebSocketEvent::Kind::kClose:
        close_received_ = true;
        // Echo the code (RFC 6455 §5.5.1); a close without one is answered without one.
        SendClose(event.close_code, {});
        co_return false;
    }
  }
  co_return !stopping_;
}

/// Writes a sync reply as one WebSocket message. Each page is a string with kHeadroom bytes in
/// front for its frame header; pages are kept back while they fit kPageBytes, so that a short
/// reply is one unfragmented frame, and the sync response line ends the message.
class WebSocketSession::ReplyWriter {
 public:
  explicit ReplyWriter(WebSocketSession* session) : session_(session) {}

  static std::string NewPage() { return std::string(kHeadroom, '\0'); }

  /// Small pages are joined while they fit kPageBytes, so a short reply stays one frame; a
  /// page that does not fit goes out at once (kept back, a big page would be memory the
  /// budget does not see).
  void Add(std::string page) {
    if (page.size() == kHeadroom) return;
    if (!pending_.empty() && pending_.size() + page.size() - 2 * kHeadroom <= kPageBytes) {
      pending_.append(page, kHeadroom);
      return;
    }
    if (!pending_.empty()) Emit(/*fin=*/false);
    pending_ = std::move(page);
    if (pending_.size() - kHeadroom > kPageBytes) Emit(/*fin=*/false);
  }
  void Finish(std::string_view response_line) {
    if (pending_.empty()) pending_ = NewPage();
    pending_.append(response_line);
    Emit(/*fin=*/true);
  }
  bool started() const { return started_; }

 private:
  void Emit(bool fin) {
    std::size_t size = pending_.size() - kHeadroom;
    unsigned char header[kHeadroom];
    std::size_t n = 0;
    header[n++] = static_cast<unsigned char>((fin ? 0x80 : 0x00) | (started_ ? 0x0 : 0x1));
    if (size < 126) {
      header[n++] = static_cast<unsigned char>(size);
    } else if (size <= 0xFFFF) {
      header[n++] = 126;
      header[n++] = static_cast<unsigned char>(size >> 8);
      header[n++] = static_cast<unsigned char>(size);
    } else {
      header[n++] = 127;
      for (int shift = 56; shift >= 0; shift -= 8) {
        header[n++] = static_cast<unsigned char>(static_cast<std::uint64_t>(size) >> shift);
      }
    }
    std::copy(header, header + n, pending_.begin() + static_cast<std::ptrdiff_t>(kHeadroom - n));
    auto owned = std::make_shared<const std::string>(std::move(pending_));
    std::string_view bytes(*owned);
    bytes.remove_prefix(kHeadroom - n);
    session_->Enqueue(std::move(owned), bytes);
    std::string().swap(pending_);
    started_ = true;
  }

  WebSocketSession* session_;
  std::string pending_;
  bool started_ = false;
};

asio::awaitable<WebSocketSession::SyncOutcome> WebSocketSession::StreamSyncReply(
    const std::string& channel_id, const PageRequest& window) {
  App& app = this->app();
  ReplyWriter writer(this);
  std::size_t total = 0;
  std::string oldest;
  auto ended = [this] { return stopping_ || close_sent_; };
  auto failed = [&writer](const Status& status) {
    LogError("websocket sync", status);
    return writer.started() ? SyncOutcome::kFailedInReply : SyncOutcome::kFailedBeforeReply;
  };
  auto encode = [](const std::vector<Message>& messages, std::string* page) {
    for (const Message& m : messages) {
      AppendSetFrameLine(m, page);
      page->push_back('\n');
    }
  };

  if (window.after) {
    // "since": ascending from the cursor, page after page.
    PageRequest page;
    page.after = window.after;
    page.before = window.before;
    std::size_t limit = kFirstPageMessages;
    while (total < window.limit) {
      if (!co_await WaitQueueBelow(half_budget()) || ended()) co_return SyncOutcome::kEnded;
      ReadSlot slot;
      if (!co_await AcquireReadSlot(&slot)) co_return SyncOutcome::kEnded;
      page.limit = std::min(limit, window.limit - total);
      Result<MessagePage> result = co_await app.Offload(
          [&app, &channel_id, &page] { return app.store().ListMessages(channel_id, page); });
      if (ended()) co_return SyncOutcome::kEnded;
      if (!result.ok()) co_return failed(result.status());
      const std::vector<Message>& list = result->messages;
      if (list.empty()) break;
      if (oldest.empty()) oldest = list.front().id;
      std::string bytes = ReplyWriter::NewPage();
      encode(list, &bytes);
      total += list.size();
      page.after = list.back().id;
      limit = NextPageLimit(list.size(), bytes.size() - kHeadroom, page.limit);
      bool more = result->has_more;
      std::vector<Message>().swap(result->messages);
      writer.Add(std::move(bytes));
      if (!more) break;
    }
  } else {
    // "newest N" (before a cursor or not): the store reads newest first, the reply is oldest
    // first. Scan backwards page by page, keeping the encoded pages while they are small (the
    // usual case: nothing is read twice), and each message's id and size; when they are not,
    // read the window again oldest first, in pages of about kPageBytes.
    struct Entry {
      std::string id;
      std::uint64_t seq = 0;
      std::size_t bytes = 0;
    };
    std::vector<std::vector<Entry>> scanned;  // per page, newest page first
    std::vector<std::string> kept;            // encoded pages, newest first
    std::size_t kept_bytes = 0;
    bool reread = false;
    PageRequest page;
    page.before = window.before;
    std::size_t limit = kFirstPageMessages;
    while (total < window.limit) {
      ReadSlot slot;
      if (!co_await AcquireReadSlot(&slot)) co_return SyncOutcome::kEnded;
      page.limit = std::min(limit, window.limit - total);
      Result<MessagePage> result = co_await app.Offload(
          [&app, &channel_id, &page] { return app.store().ListMessages(channel_id, page); });
      if (ended()) co_return SyncOutcome::kEnded;
      if (!result.ok()) co_return failed(result.status());
      const std::vector<Message>& list = result->messages;
      if (list.empty()) break;
      std::string bytes = ReplyWriter::NewPage();
      std::vector<Entry>& entries = scanned.emplace_back();
      for (const Message& m : list) {
        std::size_t before = bytes.size();
        AppendSetFrameLine(m, &bytes);
        bytes.push_back('\n');
        entries.push_back(Entry{m.id, m.seq, bytes.size() - before});
      }
      total += list.size();
      limit = NextPageLimit(list.size(), bytes.size() - kHeadroom, page.limit);
      page.before = list.front().id;
      bool more = result->has_more;
      std::vector<Message>().swap(result->messages);
      if (!reread) {
        kept_bytes += bytes.size();
        kept.push_back(std::move(bytes));
        if (kept_bytes > kPageBytes) {
          reread = true;
          std::vector<std::string>().swap(kept);
        }
      }
      if (!more) break;
    }
    if (!scanned.empty()) oldest = scanned.back().front().id;
    if (!reread) {
      for (auto it = kept.rbegin(); it != kept.rend(); ++it) writer.Add(std::move(*it));
    } else {
      std::vector<Entry> window_entries;  // oldest first
      window_entries.reserve(total);
      for (auto it = scanned.rbegin(); it != scanned.rend(); ++it) {
        for (Entry& e : *it) window_entries.push_back(std::move(e));
      }
      std::vector<std::vector<Entry>>().swap(scanned);
      std::size_t first = 0;
      while (first < window_entries.size()) {
        // [first, end): up to kMaxPageMessages and about kPageBytes (at least one message).
        std::size_t end = first;
        std::size_t group_bytes = 0;
        while (end < window_entries.size() && end - first < kMaxPageMessages &&
               (end == first || group_bytes + window_entries[end].bytes <= kPageBytes)) {
          group_bytes += window_entries[end].bytes;
          ++end;
        }
        if (!co_await WaitQueueBelow(half_budget()) || ended()) co_return SyncOutcome::kEnded;
        ReadSlot slot;
        if (!co_await AcquireReadSlot(&slot)) co_return SyncOutcome::kEnded;
        // The newest `end - first` messages before the one after the group: the group.
        PageRequest again;
        again.limit = end - first;
        again.before = end < window_entries.size() ? std::optional<std::string>(
                                                         window_entries[end].id)
                                                   : window.before;
        Result<MessagePage> result = co_await app.Offload(
            [&app, &channel_id, &again] { return app.store().ListMessages(channel_id, again); });
        if (ended()) co_return SyncOutcome::kEnded;
        if (!result.ok()) co_return failed(result.status());
        std::vector<Message>& list = result->messages;
        // A message deleted since the scan leaves room for an older one: not in the window.
        std::erase_if(list, [seq = window_entries[first].seq](const Message& m) {
          return !StoredNotAfter(seq, m.seq);
        });
        std::string bytes = ReplyWriter::NewPage();
        bytes.reserve(kHeadroom + group_bytes);  // the scan measured the lines: no regrowth
        encode(list, &bytes);
        std::vector<Message>().swap(list);
        writer.Add(std::move(bytes));
        first = end;
      }
    }
  }
  if (ended()) co_return SyncOutcome::kEnded;
  writer.Finish(SyncResponseLine(FormatIsoTimestamp(app.clock().NowMillis()),
                                 total >= window.limit, oldest));
  co_return SyncOutcome::kSent;
}

asio::awaitable<void> WebSocketSession::HandleSync(const TymbalFrame& request) {
  // spec cast §4.10, steps 1-5.
  std::string target = NonEmptyString(request, "channelId").value_or(channel());
  PageRequest window;
  window.limit = kDefaultSyncLimit;
  if (const Json* limit = request.FindExtra("limit");
      limit != nullptr && limit->is_number() && limit->as_number() >= 1) {
    window.limit = static_cast<std::size_t>(
        std::min(std::floor(limit->as_number()), static_cast<double>(kMaxPageSize)));
  }
  window.after = NonEmptyString(request, "since");
  window.before = NonEmptyString(request, "before");
  // A cursor no message id could be (hub/channels.hpp IsPossibleId) is the client's mistake,
  // answered before the store is asked (issue 13 §4).
  for (const auto* cursor : {&window.after, &window.before}) {
    if (*cursor && !IsPossibleId(**cursor)) {
      SendText(ErrorFrame("invalid_request", cursor == &window.after
                                                 ? "since is not a message id"
                                                 : "before is not a message id"));
      co_return;
    }
  }
  App& app = this->app();
  // Offload closures capture references only: GCC 12 copies a closure argument of a call
  // inside a coroutine byte-wise, which breaks captured std::strings (see App::Offload). The
  // locals they refer to live in this frame, suspended until the call returns.

  if (std::find(authorized_.begin(), authorized_.end(), target) == authorized_.end()) {
    // kNotFound, kPermissionDenied (another space's channel) or kInternal.
    auto find = [&channels = app.hub().channels(), &principal = principal_, &target] {
      return channels.FindForStream(principal, target);
    };
    Result<Channel> channel = co_await app.Offload(std::move(find));
    if (stopping_ || close_sent_) co_return;
    if (!channel.ok()) {
      const ErrorCode code = channel.status().code();
      if (code == ErrorCode::kNotFound) {
        SendText(ErrorFrame("channel_not_found", channel.status().message()));
      } else if (code == ErrorCode::kPermissionDenied) {
        SendText(ErrorFrame("forbidden", channel.status().message()));
      } else {
        SendText(ErrorFrame("server_error", "Failed to sync"));
      }
      co_return;
    }
    authorized_.push_back(target);
  }

  if (target != channel()) {
    SubscribeTo(target);
  } else if (catch_up_pending() && !co_await CatchUp()) {
    if (!stopping_) SendClose(kCloseInternalError, "catch-up failed");
    co_return;
  }
  // Live frames wait for the reply: none may fall inside its fragments.
  HoldLive();
  SyncOutcome outcome = co_await StreamSyncReply(target, window);
  switch (outcome) {
    case SyncOutcome::kEnded:
      co_return;
    case SyncOutcome::kFailedInReply:
      // Half a message went out: it cannot be finished with an error line.
      SendClose(kCloseInternalError, "Failed to sync");
      co_return;
    case SyncOutcome::kFailedBeforeReply:
      SendText(ErrorFrame("server_error", "Failed to sync"));
      break;
    case SyncOutcome::kSent:
      break;
  }
  if (!co_await FinishHolding() && !stopping_ && !close_sent_) {
    SendClose(kCloseInternalError, "catch-up failed");
  }
}

asio::awaitable<void> WebSocketSession::FinishClose(SteadyClock::duration linger) {
  auto deadline = SteadyClock::now() + linger;
  if (!co_await WaitQueueBelow(0, deadline) || socket_ == nullptr) co_return;
  co_await HalfCloseAndLinger(deadline, close_received_);
}

}  // namespace agentcore::server
