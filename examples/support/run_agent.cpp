// SPDX-License-Identifier: Apache-2.0
#include "support/run_agent.hpp"

#include <unistd.h>

#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <agentcore/clock.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/frame.hpp>
#include <agentcore/tymbal/writer.hpp>
#include <agentcore/ulid.hpp>

#include "support/http_listener.hpp"

namespace example_agent {

using agentcore::HttpClient;
using agentcore::HttpResponse;
using agentcore::InvalidArgument;
using agentcore::Json;
using agentcore::Result;
using agentcore::Status;

namespace {

/// A whole number in [min, max] (JSON numbers are doubles).
bool WholeNumber(const Json& v, double min, std::int64_t* out) {
  if (!v.is_number()) return false;
  const double d = v.as_number();
  if (!std::isfinite(d) || d != std::floor(d) || d < min || d > 9.007199254740992e15) {
    return false;
  }
  *out = static_cast<std::int64_t>(d);
  return true;
}

std::string Excerpt(const std::string& body) {
  return body.size() <= 200 ? body : body.substr(0, 200) + "...";
}

}  // namespace

Result<RunTask> ParseRunTask(std::string_view body) {
  if (body.size() > kMaxTaskBytes) {
    return agentcore::TooLarge("task body of " + std::to_string(body.size()) +
                               " bytes is over the limit of " + std::to_string(kMaxTaskBytes));
  }
  Result<Json> parsed = agentcore::ParseJson(body);
  if (!parsed.ok()) return InvalidArgument("task is not JSON: " + parsed.status().message());
  const Json& v = *parsed;
  if (!v.is_object()) return InvalidArgument("task is not a JSON object");
  RunTask task;
  const std::string* run_id = v.FindString("runId");
  if (run_id == nullptr || run_id->empty()) {
    return InvalidArgument("task runId must be a non-empty string");
  }
  task.run_id = *run_id;
  const std::string* phase = v.FindString("phase");
  if (phase == nullptr || (*phase != "plan" && *phase != "build")) {
    return InvalidArgument("task phase must be \"plan\" or \"build\"");
  }
  task.phase = *phase;
  const std::string* prompt = v.FindString("prompt");
  if (prompt == nullptr) return InvalidArgument("task prompt must be a string");
  task.prompt = *prompt;
  const std::string* workspace = v.FindString("workspace");
  if (workspace == nullptr || workspace->empty() || workspace->front() != '/' ||
      workspace->find('\0') != std::string::npos) {
    return InvalidArgument("task workspace must be an absolute path");
  }
  task.workspace = *workspace;
  if (const Json* attempt = v.Find("attempt"); attempt != nullptr) {
    if (!WholeNumber(*attempt, 1, &task.attempt)) {
      return InvalidArgument("task attempt must be an integer >= 1");
    }
  }
  task.read_only = task.phase == "plan";
  if (const Json* read_only = v.Find("readOnly"); read_only != nullptr) {
    if (!read_only->is_bool()) return InvalidArgument("task readOnly must be a boolean");
    task.read_only = read_only->as_bool();
  }
  if (const Json* plan = v.Find("plan"); plan != nullptr) {
    if (!plan->is_null() && !plan->is_object()) {
      return InvalidArgument("task plan must be null or an object");
    }
    task.plan = *plan;
  }
  if (const Json* conversation = v.Find("conversation"); conversation != nullptr) {
    if (!conversation->is_array()) return InvalidArgument("task conversation must be an array");
    for (const Json& turn : conversation->as_array()) {
      const std::string* role = turn.FindString("role");
      const std::string* content = turn.FindString("content");
      if (role == nullptr || content == nullptr) {
        return InvalidArgument("task conversation turns must have string role and content");
      }
      task.conversation.push_back({*role, *content});
    }
  }
  if (const Json* deadline = v.Find("deadlineMs"); deadline != nullptr) {
    // 0: the deadline has passed already (the server counts down from its own deadline).
    if (!WholeNumber(*deadline, 0, &task.deadline_ms)) {
      return InvalidArgument("task deadlineMs must be an integer >= 0");
    }
  }
  return task;
}

Result<std::optional<RunTask>> FetchTask(HttpClient& client, const AgentConfig& config) {
  agentcore::HttpRequest req;
  req.method = "GET";
  req.url = config.api_url + "/agents/task";
  req.headers = {{"Authorization", "Bearer " + config.token}};
  req.timeout = std::chrono::milliseconds(10'000);
  req.max_response_bytes = kMaxTaskBytes;
  Result<HttpResponse> r = client.Send(req);
  if (!r.ok()) return r.status();
  if (r->status == 204) return std::optional<RunTask>();
  if (r->status != 200) {
    return agentcore::Unavailable("GET /agents/task answered " + std::to_string(r->status) +
                                  " " + Excerpt(r->body));
  }
  Result<RunTask> task = ParseRunTask(r->body);
  if (!task.ok()) return task.status();
  return std::optional<RunTask>(std::move(*task));
}

// --- RunStream ------------------------------------------------------------------------------

/// The upload: a thread that runs SendStreaming and takes the lines from a queue.
class RunStream::Upload {
 public:
  static constexpr std::size_t kMaxQueuedBytes = 4 * 1024 * 1024;

  Upload(const AgentConfig& config, std::chrono::milliseconds timeout) {
    agentcore::HttpRequest req;
    req.method = "POST";
    req.url = config.api_url + "/tymbal/" + config.identity.channel_id + "/stream";
    req.headers = {{"Content-Type", "application/x-ndjson"},
                   {"Authorization", "Container " + config.token}};
    req.timeout = timeout;
    thread_ = std::thread([this, req = std::move(req)] {
      std::unique_ptr<HttpClient> client = agentcore::NewHttpClient();
      Result<HttpResponse> r = client->SendStreaming(req, [this]() -> std::optional<std::string> {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return std::nullopt;
        std::string line = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= line.size();
        cv_.notify_all();
        return line;
      });
      Status status;
      if (!r.ok()) {
        status = agentcore::Unavailable("frame stream failed: " + r.status().ToString());
      } else if (r->status != 200) {
        status = agentcore::Unavailable("frame stream answered " + std::to_string(r->status) +
                                        " " + Excerpt(r->body));
      }
      std::lock_guard lock(mu_);
      result_ = std::move(status);
      done_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      cv_.notify_all();
    });
  }

  ~Upload() { (void)Finish(); }

  /// Queues one line; dropped once the upload ended.
  void Push(std::string line) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return done_ || queued_bytes_ < kMaxQueuedBytes; });
    if (done_ || closing_) return;
    queued_bytes_ += line.size();
    queue_.push_back(std::move(line));
    cv_.notify_all();
  }

  /// Ends the body and waits for the response.
  Status Finish() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    return result_;
  }

 private:
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by mu_
  std::size_t queued_bytes_ = 0;   // guarded by mu_
  bool closing_ = false;           // guarded by mu_
  bool done_ = false;              // guarded by mu_
  Status result_;                  // guarded by mu_
};

RunStream::RunStream(const AgentConfig& config, const RunTask& task,
                     const std::atomic<bool>* stop)
    : config_(config),
      task_(task),
      stop_(stop),
      deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(task.deadline_ms)) {
  upload_ = std::make_unique<Upload>(config_,
                                     std::chrono::milliseconds(task.deadline_ms + 30'000));
}

RunStream::~RunStream() { (void)Close(); }

bool RunStream::stopping() const {
  return (stop_ != nullptr && stop_->load()) || std::chrono::steady_clock::now() >= deadline_;
}

void RunStream::Send(std::string line) {
  if (finished_ || closed_) return;
  line.push_back('\n');
  upload_->Push(std::move(line));
}

Json RunStream::Value(std::string_view type) const {
  Json v = Json::Object();
  v.Set("type", type);
  v.Set("run", task_.run_id);
  v.Set("phase", task_.phase);
  v.Set("sender", config_.identity.callsign);
  v.Set("senderType", "agent");
  return v;
}

void RunStream::SendSet(std::string id, Json value) {
  Send(agentcore::SerializeFrame(agentcore::MakeSetFrame(
      std::move(id), agentcore::FormatIsoTimestamp(agentcore::SystemClock()->NowMillis()),
      std::move(value))));
}

void RunStream::Token(std::string_view text) {
  if (text.empty() || finished_) return;
  if (open_id_.empty()) {
    open_id_ = agentcore::NewUlid();
    Json meta = Json::Object();
    meta.Set("run", task_.run_id);
    meta.Set("phase", task_.phase);
    meta.Set("type", "message");
    // A ULID id always makes a valid start frame.
    Send(agentcore::SerializeFrame(agentcore::MakeStartFrame(open_id_, std::move(meta)).value()));
  }
  open_text_.append(text);
  Send(agentcore::SerializeFrame(agentcore::MakeAppendFrame(open_id_, std::string(text))));
}

void RunStream::EndMessage() {
  if (open_id_.empty()) return;
  Json v = Value("message");
  v.Set("content", std::move(open_text_));
  std::string id = std::move(open_id_);
  open_id_.clear();
  open_text_.clear();
  SendSet(std::move(id), std::move(v));
}

std::string RunStream::ToolCall(std::string_view name, Json args) {
  EndMessage();
  std::string tool_call_id = agentcore::NewUlid();
  Json v = Value("tool_call");
  v.Set("toolCallId", tool_call_id);
  v.Set("name", name);
  v.Set("args", args.is_object() ? std::move(args) : Json::Object());
  SendSet(agentcore::NewUlid(), std::move(v));
  return tool_call_id;
}

void RunStream::ToolOutput(std::string_view tool_call_id, std::string_view stream,
                           std::string_view text) {
  EndMessage();
  Json v = Value("tool_output");
  v.Set("toolCallId", tool_call_id);
  v.Set("stream", stream);
  v.Set("text", text);
  SendSet(agentcore::NewUlid(), std::move(v));
}

void RunStream::ToolResult(std::string_view tool_call_id, std::string_view name,
                           std::string_view output, bool is_error) {
  EndMessage();
  Json v = Value("tool_result");
  v.Set("toolCallId", tool_call_id);
  v.Set("name", name);
  v.Set("output", output);
  v.Set("isError", is_error);
  SendSet(agentcore::NewUlid(), std::move(v));
}

void RunStream::Usage(std::string_view provider, std::string_view model,
                      std::int64_t input_tokens, std::int64_t output_tokens) {
  EndMessage();
  Json v = Value("usage");
  v.Set("provider", provider);
  v.Set("model", model);
  v.Set("inputTokens", input_tokens);
  v.Set("outputTokens", output_tokens);
  SendSet(agentcore::NewUlid(), std::move(v));
}

void RunStream::Plan(Json plan) {
  EndMessage();
  Json v = Value("plan");
  v.Set("plan", std::move(plan));
  SendSet(agentcore::NewUlid(), std::move(v));
}

void RunStream::Succeed(std::string_view summary) {
  EndMessage();
  Json v = Value("run_result");
  v.Set("ok", true);
  v.Set("summary", summary);
  SendSet(agentcore::NewUlid(), std::move(v));
  finished_ = true;
}

void RunStream::Fail(std::string_view error, bool retryable) {
  EndMessage();
  Json v = Value("run_result");
  v.Set("ok", false);
  v.Set("error", error);
  v.Set("retryable", retryable);
  SendSet(agentcore::NewUlid(), std::move(v));
  finished_ = true;
}

Status RunStream::Close() {
  if (!closed_) {
    EndMessage();
    closed_ = upload_->Finish();
  }
  return *closed_;
}

// --- RunAgent -------------------------------------------------------------------------------

class RunAgent::Impl {
 public:
  Impl(AgentConfig config, PhaseHandler handler, RunAgentOptions options)
      : config_(std::move(config)), handler_(std::move(handler)), options_(options) {}

  Status Start() {
    std::vector<example_http::HttpRoute> routes;
    routes.push_back({"POST", "/message", [this](const example_http::HttpRequest& request) {
                        return OnMessage(request);
                      }});
    routes.push_back({"GET", "/health", [this](const example_http::HttpRequest&) {
                        return OnHealth();
                      }});
    example_http::HttpListenerOptions http_options;
    http_options.host = "127.0.0.1";
    http_options.port = static_cast<std::uint16_t>(config_.port);
    Result<std::unique_ptr<example_http::HttpListener>> http =
        example_http::HttpListener::Start(std::move(http_options), std::move(routes));
    if (!http.ok()) return agentcore::Unavailable("cannot listen: " + http.status().ToString());
    listener_ = std::move(*http);
    const std::string endpoint = "http://127.0.0.1:" + std::to_string(listener_->port());
    Log(config_.name, "listening on " + endpoint);
    if (options_.check_in) {
      std::unique_ptr<HttpClient> client = agentcore::NewHttpClient();
      Status s = CheckIn(*client, config_, endpoint);
      if (!s.ok()) {
        listener_->Stop();
        return s;
      }
      Log(config_.name, "checked in as " + config_.agent_id);
      heartbeat_ = std::make_unique<Heartbeat>(config_);
    }
    worker_ = std::thread([this] { Work(); });
    Ring();
    return Status();
  }

  void Ring() {
    {
      std::lock_guard lock(mu_);
      doorbell_ = true;
    }
    cv_.notify_all();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      stopping_ = true;  // under mu_, so that a worker about to wait sees it
    }
    cv_.notify_all();
    if (listener_) listener_->Stop();
    heartbeat_.reset();
    if (worker_.joinable()) worker_.join();
  }

  std::uint16_t port() const { return listener_ ? listener_->port() : 0; }
  int phases_run() const { return phases_run_.load(); }

 private:
  example_http::HttpReply OnMessage(const example_http::HttpRequest& request) {
    auto auth = request.Find("Authorization");
    if (!auth || *auth != "Bearer " + config_.token) {
      return example_http::HttpReply{401, R"({"error":"Invalid token"})"};
    }
    Ring();  // the message is a doorbell: the task says what to do
    return example_http::HttpReply{202, R"({"status":"accepted"})"};
  }

  example_http::HttpReply OnHealth() {
    std::string body;
    agentcore::JsonWriter(&body)
        .BeginObject()
        .Field("status", busy_.load() ? "processing" : "healthy")
        .Field("agentId", config_.agent_id)
        .EndObject();
    return example_http::HttpReply{200, std::move(body)};
  }

  /// Waits `d` unless stopping; false when stopping.
  bool Pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [this] { return stopping_.load(); });
  }

  void Work() {
    std::unique_ptr<HttpClient> client = agentcore::NewHttpClient();
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return doorbell_ || stopping_.load(); });
        if (stopping_) return;
        doorbell_ = false;
      }
      int failures = 0;
      while (!stopping_) {
        Result<std::optional<RunTask>> task = FetchTask(*client, config_);
        if (!task.ok()) {
          Log(config_.name, "task fetch failed: " + task.status().ToString());
          const bool transient = task.status().code() == agentcore::ErrorCode::kUnavailable ||
                                 task.status().code() == agentcore::ErrorCode::kDeadlineExceeded;
          if (!transient || ++failures >= options_.fetch_attempts) break;
          if (!Pause(options_.fetch_retry)) return;
          continue;
        }
        failures = 0;
        if (!task->has_value()) break;  // 204: nothing to do
        const RunTask& t = **task;
        const std::string key = t.run_id + "/" + t.phase + "/" + std::to_string(t.attempt);
        if (finished_.count(key) != 0) {
          Log(config_.name, "ignoring task " + key + ": finished already");
          break;
        }
        RunPhase(t);
        finished_.insert(key);
      }
    }
  }

  void RunPhase(const RunTask& task) {
    Log(config_.name, "running " + task.phase + " of run " + task.run_id + " (attempt " +
                          std::to_string(task.attempt) + ")");
    busy_ = true;
    {
      RunStream out(config_, task, &stopping_);
      handler_(task, out);
      if (!out.finished()) out.Fail("the agent ended the phase without a result", true);
      Status s = out.Close();
      if (!s.ok()) Log(config_.name, s.ToString());
    }
    busy_ = false;
    ++phases_run_;
  }

  // Constant after construction.
  const AgentConfig config_;
  const PhaseHandler handler_;
  const RunAgentOptions options_;
  std::unique_ptr<example_http::HttpListener> listener_;
  std::unique_ptr<Heartbeat> heartbeat_;
  std::thread worker_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool doorbell_ = false;  // guarded by mu_
  bool stopped_ = false;   // guarded by mu_
  std::atomic<bool> stopping_{false};
  std::atomic<bool> busy_{false};
  std::atomic<int> phases_run_{0};
  std::set<std::string> finished_;  // the worker's only: "<runId>/<phase>/<attempt>" done
};

Result<std::unique_ptr<RunAgent>> RunAgent::Start(AgentConfig config, PhaseHandler handler,
                                                  RunAgentOptions options) {
  auto impl = std::make_unique<Impl>(std::move(config), std::move(handler), options);
  AGENTCORE_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<RunAgent>(new RunAgent(std::move(impl)));
}

RunAgent::RunAgent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunAgent::~RunAgent() { Stop(); }
std::uint16_t RunAgent::port() const { return impl_->port(); }
void RunAgent::Ring() { impl_->Ring(); }
void RunAgent::Stop() { impl_->Stop(); }
int RunAgent::phases_run() const { return impl_->phases_run(); }

int RunAgentMain(AgentConfig config, PhaseHandler handler, RunAgentOptions options) {
  ExitOnStopSignals();
  const std::string name = config.name;
  Result<std::unique_ptr<RunAgent>> agent =
      RunAgent::Start(std::move(config), std::move(handler), options);
  if (!agent.ok()) {
    Log(name, agent.status().ToString());
    return 1;
  }
  for (;;) pause();  // the signal thread ends the process
}

}  // namespace example_agent
