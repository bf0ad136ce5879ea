// SPDX-License-Identifier: Apache-2.0
#include "handlers/tymbal.hpp"

#include <limits>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/parser.hpp>

#include "app.hpp"
#include "handlers/frame_ingest.hpp"
#include "http/request_context.hpp"

namespace agentcore::server {
namespace {

Response EmptyBody() { return CodedError(400, "empty_body", "Request body is empty"); }
Response InvalidFrame() { return CodedError(400, "invalid_frame", "Could not parse Tymbal frame"); }
Response ProcessingError() {
  return CodedError(500, "processing_error", "Failed to process frame");
}

/// Container auth for /tymbal/:channelId*: the token must be for this very channel (Cast only
/// takes the space from it, §8 #6: fixed).
Result<IngestTarget> ContainerTarget(App& app, const Request& request,
                                     const std::string& channel_id) {
  AGENTCORE_ASSIGN_OR_RETURN(AgentIdentity id, app.AuthenticateContainer(request));
  if (id.channel_id != channel_id) {
    return Status(ErrorCode::kPermissionDenied, "container token is for another channel");
  }
  IngestTarget target;
  target.space_id = id.space_id;
  target.channel_id = channel_id;
  return target;
}

Response AuthError(const Status& s) {
  if (s.code() == ErrorCode::kPermissionDenied) return CodedError(403, "forbidden", s.message());
  return CastError(401, s.message());
}

/// One frame of the single and batch routes: broadcast, then persist (set) or delete (reset).
/// Set frames are stored first and broadcast after, so a retried frame is neither stored nor
/// broadcast twice.
asio::awaitable<Status> ApplyOne(App& app, TymbalFrame frame, const IngestTarget& target) {
  if (frame.kind == FrameKind::kSet) {
    NormalizeToolCall(&frame.value, target.legacy);
    bool applied = false;
    if (IsCostFrame(frame)) {
      Status s = co_await app.Offload(
          [&app, &frame, &target, &applied] { return PersistSetFrame(app, frame, target, &applied); });
      if (!s.ok()) co_return s;
    } else {
      NewMessage message = MessageFromSetFrame(frame, target);
      Result<MessageCompletion> done = co_await app.CompleteMessage(std::move(message));
      if (!done.ok()) co_return done.status();
      applied = *done != MessageCompletion::kAlreadyComplete;
    }
    if (applied) app.Publish(target.channel_id, frame.id, BroadcastLine(frame, target));
    co_return Status();
  }
  // Everything else is broadcast as it is; a reset also deletes the message (§4.8).
  app.Publish(target.channel_id, "", BroadcastLine(frame, target));
  if (frame.kind == FrameKind::kReset) {
    co_return co_await app.Offload([&app, &frame, &target] { return ApplyReset(app, frame, target); });
  }
  co_return Status();
}

asio::awaitable<Response> SingleFrame(App& app, const Request& request, const IngestTarget& target) {
  if (IsBlankLine(request.body)) co_return EmptyBody();
  Result<TymbalFrame> frame = ParseFrame(request.body);
  if (!frame.ok()) co_return InvalidFrame();
  Status s = co_await ApplyOne(app, std::move(*frame), target);
  if (!s.ok()) co_return ProcessingError();
  co_return JsonResponse(200, R"({"ok":true})");
}

asio::awaitable<Response> PostFrame(RequestContext& ctx) {
  Result<IngestTarget> target = ContainerTarget(ctx.app(), ctx.request(), ctx.Param("channelId"));
  if (!target.ok()) co_return AuthError(target.status());
  co_return co_await SingleFrame(ctx.app(), ctx.request(), *target);
}

asio::awaitable<Response> PostBatch(RequestContext& ctx) {
  App& app = ctx.app();
  Result<IngestTarget> target = ContainerTarget(app, ctx.request(), ctx.Param("channelId"));
  if (!target.ok()) co_return AuthError(target.status());
  const std::string& body = ctx.request().body;
  if (IsBlankLine(body)) co_return EmptyBody();
  std::string results;
  JsonWriter out(&results);
  out.BeginArray();
  std::size_t total = 0;
  std::size_t failed = 0;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    std::string_view line(body.data() + start, end - start);
    start = end + 1;
    if (IsBlankLine(line)) continue;
    std::size_t index = total++;
    Result<TymbalFrame> frame = ParseFrame(line);
    std::string_view error;
    if (!frame.ok()) {
      error = "invalid_frame";
    } else if (!(co_await ApplyOne(app, std::move(*frame), *target)).ok()) {
      error = "processing_error";
    }
    out.BeginObject().Field("line", index);
    if (error.empty()) {
      out.Field("ok", true);
    } else {
      ++failed;
      out.Field("ok", false).Field("error", error);
    }
    out.EndObject();
  }
  out.EndArray();
  std::string body_out;
  JsonWriter(&body_out)
      .BeginObject()
      .Field("ok", failed == 0)
      .Field("total", total)
      .Field("succeeded", total - failed)
      .Field("failed", failed)
      .Key("results")
      .Raw(results)
      .EndObject();
  co_return JsonResponse(200, std::move(body_out));
}

/// Legacy `/thread/:threadId/tymbal`: Cast leaves it open; we require a container token for the
/// thread's channel unless --compat-open-checkin (compatibility.md).
asio::awaitable<Response> PostLegacy(RequestContext& ctx) {
  App& app = ctx.app();
  const std::string& thread = ctx.Param("threadId");
  std::size_t colon = thread.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= thread.size()) {
    co_return CodedError(400, "invalid_thread_id", "Thread ID must be spaceId:channelId[:callsign]");
  }
  std::string channel = thread.substr(colon + 1);
  channel = channel.substr(0, channel.find(':'));
  IngestTarget target;
  target.space_id = thread.substr(0, colon);
  target.channel_id = channel;
  target.legacy = true;
  if (!app.config().compat_open_checkin) {
    Result<IngestTarget> checked = ContainerTarget(app, ctx.request(), channel);
    if (!checked.ok()) co_return AuthError(checked.status());
    if (checked->space_id != target.space_id) {
      co_return CodedError(403, "forbidden", "container token is for another space");
    }
  }
  co_return co_await SingleFrame(app, ctx.request(), target);
}

/// `/tymbal/:channelId/stream`: frames are applied as their lines complete, while the upload
/// goes on; progress of open messages is saved every config().stream_save_interval (1 s) and
/// when the body ends or breaks.
///
/// The engine hands over one piece per chunk of the body, often a single frame. Frames are
/// taken as the parser finds them; their store writes and broadcasts are committed by a task
/// posted to this connection's thread, which runs once the engine has handed over every piece
/// it has read: one hop to the blocking pool and one publish for a whole read of the socket. A
/// piece that arrives while a commit is running waits for it (frames stay in order, and what
/// is held is bounded by one read).
class StreamUpload final : public BodyConsumer, private FrameSink {
 public:
  StreamUpload(App* app, IngestTarget target) : applier_(app, std::move(target)) {}
  ~StreamUpload() override { *alive_ = false; }

  asio::awaitable<Status> OnData(std::string_view bytes) override {
    co_await WaitIdle();
    if (!failure_.ok()) co_return failure_;
    parser_.Feed(bytes, *this);
    if (!commit_posted_ && applier_.Pending()) {
      commit_posted_ = true;
      asio::co_spawn(co_await asio::this_coro::executor, CommitLater(this, alive_),
                     asio::detached);
    }
    co_return Status();
  }

  asio::awaitable<Response> OnEnd() override {
    co_await WaitIdle();
    if (failure_.ok()) {
      parser_.Finish(*this);
      Status s = co_await Commit(true);
      if (!s.ok() && failure_.ok()) failure_ = s;
    }
    if (!failure_.ok()) {
      co_await applier_.Interrupt();
      co_return StatusError(failure_);
    }
    std::string body;
    JsonWriter w(&body);
    w.BeginObject()
        .Field("ok", invalid_lines_ == 0)
        .Field("frames", applier_.frames())
        .Field("persisted", applier_.persisted())
        .Field("invalid", invalid_lines_)
        .Key("errors")
        .BeginArray();
    for (const auto& [line, reason] : errors_) {
      w.BeginObject().Field("line", line).Field("error", reason).EndObject();
    }
    w.EndArray().EndObject();
    co_return JsonResponse(200, std::move(body));
  }

  asio::awaitable<void> OnAbort() override {
    co_await WaitIdle();
    co_await applier_.Interrupt();
  }

 private:
  void OnFrame(const TymbalFrame& frame, std::uint64_t) override { applier_.Accept(frame); }
  void OnInvalidLine(std::uint64_t line, std::string_view reason) override {
    ++invalid_lines_;
    if (errors_.size() < 20) errors_.emplace_back(line, std::string(reason));
  }

  /// The posted commit. Holds `alive`: the upload may have ended (and been destroyed) before
  /// the task runs; once it runs, OnEnd/OnAbort wait for it (WaitIdle).
  static asio::awaitable<void> CommitLater(StreamUpload* self, std::shared_ptr<bool> alive) {
    if (!*alive) co_return;
    self->commit_posted_ = false;
    if (self->committing_ || !self->failure_.ok()) co_return;
    Status s = co_await self->Commit(false);
    if (!s.ok() && self->failure_.ok()) self->failure_ = s;
  }

  asio::awaitable<Status> Commit(bool final) {
    committing_ = true;
    Status s = co_await applier_.Commit(final);
    committing_ = false;
    if (idle_) idle_->cancel();
    co_return s;
  }

  asio::awaitable<void> WaitIdle() {
    while (committing_) {
      if (!idle_) idle_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
      idle_->expires_at(asio::steady_timer::time_point::max());
      std::error_code ec;
      co_await idle_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  FrameParser parser_;
  StreamApplier applier_;
  std::uint64_t invalid_lines_ = 0;
  std::vector<std::pair<std::uint64_t, std::string>> errors_;
  Status failure_;
  bool commit_posted_ = false;
  bool committing_ = false;
  std::unique_ptr<asio::steady_timer> idle_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

asio::awaitable<std::variant<Response, std::unique_ptr<BodyConsumer>>> StartStream(
    RequestContext& ctx) {
  App& app = ctx.app();
  Result<IngestTarget> target = ContainerTarget(app, ctx.request(), ctx.Param("channelId"));
  if (!target.ok()) co_return AuthError(target.status());
  Result<Channel> channel = app.store().GetChannel(target->channel_id);
  if (!channel.ok() || channel->space_id != target->space_id) {
    co_return CastError(404, "Channel not found");
  }
  co_return std::make_unique<StreamUpload>(&app, std::move(*target));
}

}  // namespace

void RegisterTymbalRoutes(Router& router) {
  router.Post("/tymbal/:channelId", PostFrame);
  // A batch body is bounded by the configured tymbal limit at the engine (see App::Open).
  router.Post("/tymbal/:channelId/batch", PostBatch, 8 * 1024 * 1024);
  router.Post("/thread/:threadId/tymbal", PostLegacy);
  Route stream;
  stream.method = "POST";
  stream.pattern = "/tymbal/:channelId/stream";
  stream.streaming = StartStream;
  stream.max_body_bytes = std::numeric_limits<std::size_t>::max();  // a whole turn, unbounded
  router.Add(std::move(stream));
}

}  // namespace agentcore::server
