// SPDX-License-Identifier: Apache-2.0
#include "support/cast_agent.hpp"

#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>

#include <agentcore/json_writer.hpp>

namespace example_agent {

using agentcore::HttpClient;
using agentcore::HttpResponse;
using agentcore::Result;
using agentcore::Status;

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

Result<AgentConfig> ConfigFromEnvironment(std::string name) {
  AgentConfig config;
  config.name = std::move(name);
  config.api_url = Env("CAST_API_URL");
  config.agent_id = Env("CAST_AGENT_ID");
  config.token = Env("CAST_AUTH_TOKEN");
  while (!config.api_url.empty() && config.api_url.back() == '/') config.api_url.pop_back();
  Result<agentcore::AgentIdentity> identity = agentcore::ParseAgentId(config.agent_id);
  if (config.api_url.empty() || !identity.ok()) {
    return agentcore::InvalidArgument(
        "CAST_API_URL and CAST_AGENT_ID ({spaceId}:{channelId}:{callsign}) are required");
  }
  config.identity = *identity;
  return config;
}

bool ParseLong(std::string_view text, long* out) {
  long v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) return false;
  *out = v;
  return true;
}

FlagParse ParseCommonFlag(int argc, char** argv, int* i, AgentConfig* config) {
  std::string_view arg = argv[*i];
  long* target = nullptr;
  long min = 0;
  long max = 0;
  if (arg == "--heartbeat-ms") {
    target = &config->heartbeat_ms;
    min = 1;
    max = 24L * 3600 * 1000;
  } else if (arg == "--port") {
    target = &config->port;
    max = 65535;
  } else {
    return FlagParse::kNotMine;
  }
  long v = 0;
  if (*i + 1 >= argc || !ParseLong(argv[*i + 1], &v) || v < min || v > max) {
    return FlagParse::kBad;
  }
  *target = v;
  ++*i;
  return FlagParse::kTaken;
}

void Log(std::string_view name, std::string_view text) {
  std::string line;
  line.reserve(name.size() + text.size() + 3);
  line.append(name).append(": ").append(text).push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void ExitOnStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  std::thread([signals] {
    int received = 0;
    sigwait(&signals, &received);
    std::fflush(stderr);
    std::_Exit(0);
  }).detach();
}

Result<HttpResponse> PostAsAgent(HttpClient& client, const AgentConfig& config,
                                 std::string_view path, std::string body,
                                 std::chrono::milliseconds timeout) {
  agentcore::HttpRequest req;
  req.method = "POST";
  req.url = config.api_url + std::string(path);
  req.headers = {{"Content-Type", "application/json"},
                 {"Authorization", "Container " + config.token}};
  req.body = std::move(body);
  req.timeout = timeout;
  return client.Send(req);
}

Status CheckIn(HttpClient& client, const AgentConfig& config, std::string_view endpoint,
               int attempts) {
  std::string body;
  agentcore::JsonWriter(&body)
      .BeginObject()
      .Field("protocolVersion", "3.0")
      .Field("agentId", config.agent_id)
      .Field("endpoint", endpoint)
      .EndObject();
  std::string last = "no attempt";
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
    Result<HttpResponse> r = PostAsAgent(client, config, "/agents/checkin", body);
    if (!r.ok()) {
      last = r.status().ToString();
      Log(config.name, "checkin failed: " + last);
      continue;
    }
    if (r->status == 200) return Status();
    last = "answered " + std::to_string(r->status) + " " + r->body.substr(0, 500);
    if (r->status >= 400 && r->status < 500) {
      return Status(agentcore::ErrorCode::kPermissionDenied, "checkin refused: " + last);
    }
    Log(config.name, "checkin failed: " + last);
  }
  return agentcore::Unavailable("checkin failed after " + std::to_string(attempts) +
                                " attempts: " + last);
}

struct Heartbeat::State {
  AgentConfig config;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // guarded by mu
  std::thread thread;
};

Heartbeat::Heartbeat(AgentConfig config) : state_(std::make_unique<State>()) {
  state_->config = std::move(config);
  State* s = state_.get();
  s->thread = std::thread([s] {
    std::unique_ptr<HttpClient> client = agentcore::NewHttpClient();
    std::string beat;
    agentcore::JsonWriter(&beat).BeginObject().Field("agentId", s->config.agent_id).EndObject();
    for (;;) {
      {
        std::unique_lock lock(s->mu);
        if (s->cv.wait_for(lock, std::chrono::milliseconds(s->config.heartbeat_ms),
                           [s] { return s->stopping; })) {
          return;
        }
      }
      Result<HttpResponse> r = PostAsAgent(*client, s->config, "/agents/heartbeat", beat,
                                           std::chrono::milliseconds(10'000));
      if (!r.ok() || r->status != 200) {
        Log(s->config.name,
            "heartbeat failed: " + (r.ok() ? std::to_string(r->status) + " " +
                                                 r->body.substr(0, 500)
                                           : r.status().ToString()));
      }
    }
  });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->cv.notify_all();
  state_->thread.join();
}

}  // namespace example_agent
