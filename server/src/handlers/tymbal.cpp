// SPDX-License-Identifier: Apache-2.0
#include "handlers/tymbal.hpp"

#include <limits>

#include <asio/any_io_executor.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <agentcore/hub/ingest.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/parser.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "http/request_context.hpp"

namespace agentcore::server {
namespace {

Response EmptyBody() { return CodedError(400, "empty_body", "Request body is empty"); }
Response InvalidFrame() { return CodedError(400, "invalid_frame", "Could not parse Tymbal frame"); }
Response ProcessingError(const Status& cause) {
  return ServerError("tymbal frame", cause,
                     CodedError(500, "processing_error", "Failed to process frame"));
}

/// The answer for a frame the hub refused (issue 13): a frame that breaks a rule (a message id
/// that is not a ULID, content the store refuses) is 400 invalid_frame with the hub's reason;
/// other client errors keep their status and code (409 already_exists: the id is another
/// channel's message, as on the streamed route); only a server-side failure is Cast's 500
/// processing_error, and its cause is logged.
Response FrameError(const Status& s) {
  if (s.code() == ErrorCode::kInvalidArgument) return CodedError(400, "invalid_frame", s.message());
  if (HttpStatusFor(s.code()) < 500) return StatusError(s);
  return ProcessingError(s);
}

/// The Authorization header's value; empty when absent (the hub answers "Missing
/// Authorization header").
std::string_view Authorization(const Request& request) {
  auto header = request.Find("Authorization");
  return header ? std::string_view(*header) : std::string_view();
}

/// Cast's bodies for the hub's target errors (§4.2, §4.8).
Response TargetError(const Status& s) {
  const ErrorCode code = s.code();
  if (code == ErrorCode::kPermissionDenied) return CodedError(403, "forbidden", s.message());
  if (code == ErrorCode::kInvalidArgument) {
    return CodedError(400, "invalid_thread_id", s.message());
  }
  if (code == ErrorCode::kNotFound) return CastError(404, s.message());
  if (code == ErrorCode::kUnauthenticated) return CastError(401, s.message());
  return ServerError("tymbal target", s,
                     CodedError(500, "processing_error", "Failed to process frame"));
}

/// The hub's target decision (Ingest::ChannelTarget or LegacyTarget), on the blocking pool
/// when it may read the store (the first frame of a channel), inline otherwise.
template <typename Decide>
asio::awaitable<Result<IngestTarget>> DecideTarget(App& app, std::string_view channel_id,
                                                   Decide decide) {
  if (!app.hub().ingest().ChannelTargetReadsStore(channel_id)) co_return decide();
  co_return co_await app.Offload(std::move(decide));
}

/// The channel a legacy thread id names (`spaceId:channelId[:…]`), for DecideTarget.
std::string_view ThreadChannel(std::string_view thread_id) {
  std::size_t colon = thread_id.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view rest = thread_id.substr(colon + 1);
  return rest.substr(0, rest.find(':'));
}

/// Where the hub's ingest continues after a store write: this coroutine's own executor, so
/// lines are published on the I/O thread and never on the store's writer thread. Post copies
/// the executor before it queues the task, so the object may go once the task has run.
class ResumeOn final : public Executor {
 public:
  explicit ResumeOn(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  void Post(std::function<void()> task) override { asio::post(executor_, std::move(task)); }

 private:
  asio::any_io_executor executor_;
};

/// One frame of the single and batch routes: one hub call, stored first and published after
/// (hub/ingest.hpp). Frames that store nothing are published at once, without a hop.
asio::awaitable<Status> ApplyOne(App& app, TymbalFrame frame, const IngestTarget& target) {
  Ingest& ingest = app.hub().ingest();
  if (!Ingest::Stores(frame)) co_return ingest.Apply(std::move(frame), target);
  ResumeOn resume(co_await asio::this_coro::executor);
  // Named, not a temporary in the co_await expression: see App::Offload.
  auto start = [&ingest, &frame, &target, &resume](auto done) {
    ingest.ApplyAsync(std::move(frame), target, &resume, std::move(done));
  };
  co_return co_await app.AwaitCallback<Status>(std::move(start));
}

asio::awaitable<Response> SingleFrame(App& app, const Request& request, const IngestTarget& target) {
  if (IsBlankLine(request.body)) co_return EmptyBody();
  Result<TymbalFrame> frame = ParseFrame(request.body);
  if (!frame.ok()) co_return InvalidFrame();
  Status s = co_await ApplyOne(app, std::move(*frame), target);
  if (!s.ok()) co_return FrameError(s);
  co_return JsonResponse(200, R"({"ok":true})");
}

asio::awaitable<Response> PostFrame(RequestContext& ctx) {
  const std::string& channel_id = ctx.Param("channelId");
  // Named, not a temporary in the co_await expression: see App::Offload.
  auto decide = [&ingest = ctx.app().hub().ingest(), &request = ctx.request(), &channel_id] {
    return ingest.ChannelTarget(Authorization(request), channel_id);
  };
  Result<IngestTarget> target = co_await DecideTarget(ctx.app(), channel_id, std::move(decide));
  if (!target.ok()) co_return TargetError(target.status());
  co_return co_await SingleFrame(ctx.app(), ctx.request(), *target);
}

asio::awaitable<Response> PostBatch(RequestContext& ctx) {
  App& app = ctx.app();
  const std::string& channel_id = ctx.Param("channelId");
  auto decide = [&ingest = app.hub().ingest(), &request = ctx.request(), &channel_id] {
    return ingest.ChannelTarget(Authorization(request), channel_id);
  };
  Result<IngestTarget> target = co_await DecideTarget(app, channel_id, std::move(decide));
  if (!target.ok()) co_return TargetError(target.status());
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
    Status s;  // the hub's refusal, reported with its reason (not Cast's: an addition)
    if (!frame.ok()) {
      error = "invalid_frame";
    } else if (s = co_await ApplyOne(app, std::move(*frame), *target); !s.ok()) {
      if (s.code() == ErrorCode::kInvalidArgument) {
        error = "invalid_frame";
      } else if (HttpStatusFor(s.code()) < 500) {
        error = ErrorCodeName(s.code());
      } else {
        LogError("tymbal batch line", s);
        error = "processing_error";
        s = Status();  // no detail of a server-side failure to the client
      }
    }
    out.BeginObject().Field("line", index);
    if (error.empty()) {
      out.Field("ok", true);
    } else {
      ++failed;
      out.Field("ok", false).Field("error", error);
      if (!s.ok()) out.Field("message", s.message());
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
  const std::string& thread_id = ctx.Param("threadId");
  auto decide = [&ingest = app.hub().ingest(), &request = ctx.request(), &thread_id,
                 open = app.config().compat_open_checkin] {
    return ingest.LegacyTarget(thread_id, Authorization(request), open);
  };
  Result<IngestTarget> target =
      co_await DecideTarget(app, ThreadChannel(thread_id), std::move(decide));
  if (!target.ok()) co_return TargetError(target.status());
  co_return co_await SingleFrame(app, ctx.request(), *target);
}

/// `/tymbal/:channelId/stream`: frames are applied as their lines complete, while the upload
/// goes on, by the hub's IngestSession; progress of open messages is saved every
/// stream_save_interval (1 s) and when the body ends or breaks.
///
/// The engine hands over one piece per chunk of the body, often a single frame. Frames are
/// taken as the parser finds them; their store writes and lines are committed by a task posted
/// to this connection's thread, which runs once the engine has handed over every piece it has
/// read: one store round (or one hop to the blocking pool) and one publish for a whole read of
/// the socket. The session reports back on this thread (ResumeOn). A piece that arrives while a
/// commit is running waits for it (frames stay in order, and what is held is bounded by one
/// read).
class StreamUpload final : public BodyConsumer, private FrameSink {
 public:
  StreamUpload(Ingest& ingest, IngestTarget target, asio::any_io_executor executor)
      : resume_(executor),
        session_(ingest.NewSession(std::move(target), &resume_)),
        executor_(std::move(executor)) {}
  ~StreamUpload() override { *alive_ = false; }

  asio::awaitable<Status> OnData(std::string_view bytes) override {
    co_await WaitIdle();
    if (!failure_.ok()) co_return failure_;
    parser_.Feed(bytes, *this);
    if (!commit_posted_ && session_->Pending()) {
      commit_posted_ = true;
      asio::post(executor_, [this, alive = alive_] { CommitLater(alive); });
    }
    co_return Status();
  }

  asio::awaitable<Response> OnEnd() override {
    co_await WaitIdle();
    if (failure_.ok()) {
      parser_.Finish(*this);
      StartCommit(true);
      co_await WaitIdle();
    }
    if (!failure_.ok()) {
      co_await Interrupt();
      if (HttpStatusFor(failure_.code()) >= 500) {
        co_return ServerError("tymbal stream", failure_, StatusError(failure_));
      }
      co_return StatusError(failure_);
    }
    std::string body;
    JsonWriter w(&body);
    w.BeginObject()
        .Field("ok", invalid_lines_ == 0)
        .Field("frames", session_->frames())
        .Field("persisted", session_->persisted())
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
    co_await Interrupt();
  }

 private:
  void OnFrame(const TymbalFrame& frame, std::uint64_t line) override {
    // A frame the hub refuses (a message id that is not a ULID) is reported like an invalid
    // line; the upload goes on.
    if (Status s = session_->Accept(frame); !s.ok()) OnInvalidLine(line, s.message());
  }
  void OnInvalidLine(std::uint64_t line, std::string_view reason) override {
    ++invalid_lines_;
    if (errors_.size() < 20) errors_.emplace_back(line, std::string(reason));
  }

  /// The posted commit. Holds `alive`: the upload may have ended (and been destroyed) before
  /// the task runs; once it runs, OnEnd/OnAbort wait for it (WaitIdle).
  void CommitLater(const std::shared_ptr<bool>& alive) {
    if (!*alive) return;
    commit_posted_ = false;
    if (busy_ || !failure_.ok()) return;
    StartCommit(false);
  }

  /// Commits the session; its report comes back on this thread (or inline) and wakes WaitIdle.
  void StartCommit(bool final) {
    busy_ = true;
    session_->Commit(final, [this](Status s) {
      if (!s.ok() && failure_.ok()) failure_ = std::move(s);
      Idle();
    });
  }

  asio::awaitable<void> Interrupt() {
    busy_ = true;
    session_->Interrupt([this] { Idle(); });
    co_await WaitIdle();
  }

  void Idle() {
    busy_ = false;
    if (idle_) idle_->cancel();
  }

  asio::awaitable<void> WaitIdle() {
    while (busy_) {
      if (!idle_) idle_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
      idle_->expires_at(asio::steady_timer::time_point::max());
      std::error_code ec;
      co_await idle_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  ResumeOn resume_;  // before session_, which posts through it
  std::unique_ptr<IngestSession> session_;
  asio::any_io_executor executor_;
  FrameParser parser_;
  std::uint64_t invalid_lines_ = 0;
  std::vector<std::pair<std::uint64_t, std::string>> errors_;
  Status failure_;
  bool commit_posted_ = false;
  bool busy_ = false;  // a Commit or Interrupt runs
  std::unique_ptr<asio::steady_timer> idle_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

asio::awaitable<std::variant<Response, std::unique_ptr<BodyConsumer>>> StartStream(
    RequestContext& ctx) {
  App& app = ctx.app();
  const std::string& channel_id = ctx.Param("channelId");
  auto decide = [&ingest = app.hub().ingest(), &request = ctx.request(), &channel_id] {
    return ingest.ChannelTarget(Authorization(request), channel_id);
  };
  Result<IngestTarget> target = co_await DecideTarget(app, channel_id, std::move(decide));
  if (!target.ok()) co_return TargetError(target.status());
  co_return std::make_unique<StreamUpload>(app.hub().ingest(), std::move(*target),
                                           co_await asio::this_coro::executor);
}

}  // namespace

void RegisterTymbalRoutes(Router& router) {
  router.Post("/tymbal/:channelId",
              {.summary = "Ingests one Tymbal frame from the channel's agent", .tag = "tymbal",
               .auth = kAuthContainer, .body = BodyKind::kJson, .request = "TymbalFrame",
               .response = "Ok", .statuses = {403}},
              PostFrame);
  // A batch body is bounded by the configured tymbal limit at the engine (see App::Open).
  router.Post("/tymbal/:channelId/batch",
              {.summary = "Ingests NDJSON Tymbal frames; a result per line", .tag = "tymbal",
               .auth = kAuthContainer, .body = BodyKind::kNdjson, .response = "TymbalBatch",
               .statuses = {403}},
              PostBatch, 8 * 1024 * 1024);
  router.Post("/thread/:threadId/tymbal",
              {.summary = "Ingests one frame (legacy; threadId = space:channel[:callsign])",
               .tag = "tymbal", .auth = kAuthContainer, .body = BodyKind::kJson,
               .request = "TymbalFrame", .response = "Ok", .statuses = {403}},
              PostLegacy);
  Route stream;
  stream.doc = {.summary = "Ingests a chunked NDJSON upload as long as the turn lasts",
                .tag = "tymbal", .auth = kAuthContainer, .body = BodyKind::kNdjson,
                .response = "TymbalStream", .statuses = {403},
                .description = "Authentication and the channel are checked before the body is "
                               "read (401/403/404, then the connection closes)."};
  stream.method = "POST";
  stream.pattern = "/tymbal/:channelId/stream";
  stream.streaming = StartStream;
  stream.max_body_bytes = std::numeric_limits<std::size_t>::max();  // a whole turn, unbounded
  router.Add(std::move(stream));
}

}  // namespace agentcore::server
