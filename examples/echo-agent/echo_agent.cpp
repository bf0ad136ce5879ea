// SPDX-License-Identifier: Apache-2.0
// echo-agent: a complete Cast-protocol agent (spec cast §5) on libagentcore alone; the small
// HTTP server that receives its pushes is examples/support/http_listener.{hpp,cpp}, and the
// environment, checkin, heartbeat and signal handling every example agent shares are
// examples/support/cast_agent.{hpp,cpp}. It shows what an agent does:
//
//  1. reads CAST_API_URL, CAST_AGENT_ID ({spaceId}:{channelId}:{callsign}) and
//     CAST_AUTH_TOKEN (its container token) from the environment (§5.2);
//  2. serves POST /message (pushed messages, §5.3; answered 202 at once) and GET /health on
//     http://127.0.0.1:<port>;
//  3. checks in with POST /agents/checkin (protocol "3.0", endpoint = that URL, §5.4) and
//     sends POST /agents/heartbeat every 30 s (§5.5);
//  4. answers each message, one at a time, with a streamed Tymbal reply: a start frame with
//     metadata, a few append deltas, a set frame with the whole text "echo: <message>", then
//     an idle set frame, all over ONE chunked POST /tymbal/:channelId/stream, or frame by
//     frame on POST /tymbal/:channelId with --cast-compat.
//
// Failure switches for tests: --slow-ms N (pause between deltas), --crash-after N (exit code
// 3 once N frames went out, mid-stream), --never-checkin, --heartbeat-ms N, --port N (default:
// an ephemeral port; the runtime's PORT suggestion is ignored, the checkin endpoint counts).
//
// SIGTERM or SIGINT end it at once with exit code 0.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/frame.hpp>
#include <agentcore/tymbal/writer.hpp>
#include <agentcore/ulid.hpp>

#include "support/cast_agent.hpp"
#include "support/http_listener.hpp"

namespace {

using namespace agentcore;
using example_http::HttpReply;
using example_http::HttpRoute;

struct Options {
  example_agent::AgentConfig agent;  // environment, --heartbeat-ms, --port
  long slow_ms = 0;
  long crash_after = -1;
  bool never_checkin = false;
  bool cast_compat = false;
};

void Log(const std::string& what) { example_agent::Log("echo-agent", what); }

/// Cast's error form `{"error":"<text>"}`.
HttpReply CastError(int status, std::string_view text) {
  HttpReply reply{status, {}};
  JsonWriter(&reply.body).BeginObject().Field("error", text).EndObject();
  return reply;
}

/// The agent's state shared by the HTTP thread, the worker and main.
class EchoAgent {
 public:
  explicit EchoAgent(Options options) : options_(std::move(options)) {}

  const Options& options() const { return options_; }

  /// POST /message: queue it and answer at once (202), as DESIGN expects (§5.3).
  HttpReply OnMessage(const example_http::HttpRequest& request) {
    auto auth = request.Find("Authorization");
    if (!auth || *auth != "Bearer " + options_.agent.token) {
      return CastError(401, "Invalid token");
    }
    Result<Json> body = ParseJson(request.body);
    const std::string* content = body.ok() ? body->FindString("content") : nullptr;
    if (content == nullptr) return CastError(400, "content is required");
    {
      std::lock_guard lock(mu_);
      queue_.push_back(*content);
    }
    cv_.notify_one();
    return HttpReply{202, R"({"status":"accepted"})"};
  }

  HttpReply OnHealth() {
    std::string body;
    std::size_t queued;
    {
      std::lock_guard lock(mu_);
      queued = queue_.size();
    }
    JsonWriter(&body)
        .BeginObject()
        .Field("status", busy_.load() ? "processing" : "healthy")
        .Field("agentId", options_.agent.agent_id)
        .Field("queueLength", static_cast<std::int64_t>(queued))
        .Field("uptime", static_cast<std::int64_t>(
                             std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::steady_clock::now() - started_)
                                 .count()))
        .EndObject();
    return HttpReply{200, std::move(body)};
  }

  /// The worker: one turn at a time.
  void RunWorker() {
    std::unique_ptr<HttpClient> client = NewHttpClient();
    for (;;) {
      std::string content;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        content = std::move(queue_.front());
        queue_.pop_front();
      }
      busy_ = true;
      Reply(*client, content);
      busy_ = false;
    }
  }

 private:
  /// Counts a frame about to go out; exits (code 3) instead once --crash-after frames went.
  void NextFrame() {
    if (options_.crash_after >= 0 && frames_sent_ >= options_.crash_after) {
      Log("crashing after " + std::to_string(frames_sent_) + " frames (--crash-after)");
      std::fflush(stderr);
      std::_Exit(3);
    }
    ++frames_sent_;
  }

  void Reply(HttpClient& client, const std::string& content) {
    const std::string& callsign = options_.agent.identity.callsign;
    const std::string text = "echo: " + content;
    Json meta = Json::Object();
    meta.Set("type", "agent");
    meta.Set("sender", callsign);
    meta.Set("senderType", "agent");
    const std::string id = ulids_.Next();
    std::vector<std::string> lines;
    lines.push_back(SerializeFrame(MakeStartFrame(id, meta).value()));
    // A few deltas (up to 4), split at byte boundaries of the UTF-8 text's code points.
    const std::size_t pieces = 4;
    std::size_t step = (text.size() + pieces - 1) / pieces;
    for (std::size_t at = 0; at < text.size();) {
      std::size_t end = std::min(text.size(), at + std::max<std::size_t>(step, 1));
      while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
      lines.push_back(SerializeFrame(MakeAppendFrame(id, text.substr(at, end - at))));
      at = end;
    }
    Json value = Json::Object();
    value.Set("type", "agent");
    value.Set("sender", callsign);
    value.Set("senderType", "agent");
    value.Set("content", text);
    lines.push_back(SerializeFrame(MakeSetFrame(id, FormatIsoTimestamp(SystemClock()->NowMillis()),
                                                std::move(value))));
    Json idle = Json::Object();
    idle.Set("type", "idle");
    idle.Set("sender", callsign);
    idle.Set("senderType", "agent");
    lines.push_back(SerializeFrame(
        MakeSetFrame(ulids_.Next(), FormatIsoTimestamp(SystemClock()->NowMillis()), std::move(idle))));

    auto pause = [this](std::size_t index, std::size_t count) {
      // Between the deltas (not before the start frame, not after the final set).
      if (options_.slow_ms > 0 && index > 0 && index + 2 < count) {
        std::this_thread::sleep_for(std::chrono::milliseconds(options_.slow_ms));
      }
    };
    const std::string channel_path = "/tymbal/" + options_.agent.identity.channel_id;
    if (options_.cast_compat) {
      for (std::size_t i = 0; i < lines.size(); ++i) {
        pause(i, lines.size());
        NextFrame();
        Result<HttpResponse> r =
            example_agent::PostAsAgent(client, options_.agent, channel_path, lines[i]);
        if (!r.ok() || r->status != 200) {
          Log("frame post failed: " + (r.ok() ? std::to_string(r->status) + " " + r->body
                                              : r.status().ToString()));
        }
      }
      return;
    }
    HttpRequest req;
    req.method = "POST";
    req.url = options_.agent.api_url + channel_path + "/stream";
    req.headers = {{"Content-Type", "application/x-ndjson"},
                   {"Authorization", "Container " + options_.agent.token}};
    req.timeout = std::chrono::milliseconds(0);
    std::size_t next = 0;
    Result<HttpResponse> r =
        client.SendStreaming(req, [&]() -> std::optional<std::string> {
          if (next == lines.size()) return std::nullopt;
          pause(next, lines.size());
          NextFrame();
          return lines[next++] + "\n";
        });
    if (!r.ok() || r->status != 200) {
      Log("stream upload failed: " +
          (r.ok() ? std::to_string(r->status) + " " + r->body : r.status().ToString()));
    }
  }

  const Options options_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  UlidGenerator ulids_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by mu_
  std::atomic<bool> busy_{false};
  long frames_sent_ = 0;  // worker thread only
};

int Usage() {
  std::fprintf(stderr,
               "usage: echo-agent [--slow-ms N] [--crash-after N] [--never-checkin] "
               "[--cast-compat] [--heartbeat-ms N] [--port N]\n"
               "environment: CAST_API_URL, CAST_AGENT_ID, CAST_AUTH_TOKEN\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Stop signals are taken by one thread from the start, so that a stop during checkin works.
  example_agent::ExitOnStopSignals();
  Result<example_agent::AgentConfig> config = example_agent::ConfigFromEnvironment("echo-agent");
  Options options;
  if (config.ok()) options.agent = *config;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto number = [&](long* out) {
      return i + 1 < argc && example_agent::ParseLong(argv[++i], out);
    };
    switch (example_agent::ParseCommonFlag(argc, argv, &i, &options.agent)) {
      case example_agent::FlagParse::kTaken:
        continue;
      case example_agent::FlagParse::kBad:
        return Usage();
      case example_agent::FlagParse::kNotMine:
        break;
    }
    if (arg == "--slow-ms") {
      if (!number(&options.slow_ms)) return Usage();
    } else if (arg == "--crash-after") {
      if (!number(&options.crash_after)) return Usage();
    } else if (arg == "--never-checkin") {
      options.never_checkin = true;
    } else if (arg == "--cast-compat") {
      options.cast_compat = true;
    } else {
      return Usage();
    }
  }
  if (!config.ok()) {
    Log(config.status().message());
    return 2;
  }

  EchoAgent agent(options);
  std::vector<HttpRoute> routes;
  routes.push_back({"POST", "/message", [&agent](const example_http::HttpRequest& request) {
                      return agent.OnMessage(request);
                    }});
  routes.push_back({"GET", "/health",
                    [&agent](const example_http::HttpRequest&) { return agent.OnHealth(); }});
  example_http::HttpListenerOptions http_options;
  http_options.host = "127.0.0.1";
  http_options.port = static_cast<std::uint16_t>(options.agent.port);
  Result<std::unique_ptr<example_http::HttpListener>> http =
      example_http::HttpListener::Start(std::move(http_options), std::move(routes));
  if (!http.ok()) {
    Log("cannot listen: " + http.status().ToString());
    return 1;
  }
  const std::string endpoint = "http://127.0.0.1:" + std::to_string((*http)->port());
  Log("listening on " + endpoint);  // the runtime keeps stderr as the agent's log
  std::thread worker([&agent] { agent.RunWorker(); });
  worker.detach();

  std::unique_ptr<example_agent::Heartbeat> heartbeat;
  if (!options.never_checkin) {
    std::unique_ptr<HttpClient> client = NewHttpClient();
    Status checkin = example_agent::CheckIn(*client, options.agent, endpoint);
    if (!checkin.ok()) {
      Log(checkin.message());
      return 1;
    }
    Log("checked in as " + options.agent.agent_id);
    heartbeat = std::make_unique<example_agent::Heartbeat>(options.agent);
  }

  for (;;) pause();  // the signal thread ends the process
}
