// SPDX-License-Identifier: Apache-2.0
// embed-hub: the whole application in a program that links only libagentcore. It opens a hub on
// a temporary SQLite file, adds two agents to a channel and talks to them:
//
//  * "echo", the example echo-agent, run by the library's local process runtime. As a real
//    agent it speaks Cast's container protocol over HTTP, so this program serves the three
//    routes an agent calls (checkin, heartbeat, Tymbal frames) with the examples' small HTTP
//    listener, each route one hub call;
//  * "status", an agent implemented in this process through the Runtime interface: its
//    runtime "starts" it by checking it in with an `inproc://` endpoint, and the hub's pushes
//    to that endpoint reach it through this program's AgentTransport instead of HTTP.
//
// It posts "@echo hi", waits for the echo's reply, posts "@channel status" (both agents answer)
// and prints each agent reply as the hub publishes it, assembled from its Tymbal frames with a
// MessageAssembler. A timer thread calls the hub's Sweep(now), as an embedder's timer would.
//
//   embed-hub ECHO_AGENT_BINARY
// Output (checked by examples/embed-hub/check.sh): one line per reply, `@<sender>: <text>` (the
// two answers to "@channel status" in either order), then `done`. Exit code 0 when every
// expected reply came within 20 s.

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <agentcore/agentcore.hpp>

#include "support/http_listener.hpp"

using namespace agentcore;

namespace {

// --- Replies, assembled from what the hub publishes ---------------------------------------------

/// Feeds every published line to a MessageAssembler and keeps the agents' completed messages.
class ReplyPrinter final : public Publisher {
 public:
  bool HasSubscribers() const override { return true; }
  void Publish(std::string_view, std::span<const PublishedLine> lines) override {
    std::lock_guard lock(mu_);
    for (const PublishedLine& l : lines) {
      Result<TymbalFrame> frame = ParseFrame(l.line);
      if (!frame.ok()) continue;
      Result<AssemblyEvent> event = assembler_.Apply(*frame);
      if (!event.ok() || *event != AssemblyEvent::kCompleted) continue;
      const Json& v = assembler_.message().value;
      const std::string* sender_type = v.FindString("senderType");
      const std::string* sender = v.FindString("sender");
      const std::string* content = v.FindString("content");
      if (sender_type == nullptr || *sender_type != "agent" || sender == nullptr ||
          content == nullptr) {
        continue;  // the hub's own frames (posted messages, agent states, roster changes)
      }
      std::printf("@%s: %s\n", sender->c_str(), content->c_str());
      std::fflush(stdout);
      ++replies_;
      cv_.notify_all();
    }
  }
  /// Waits until `count` agent replies were printed; false after `timeout`.
  bool WaitForReplies(int count, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return replies_ >= count; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  MessageAssembler assembler_;  // guarded by mu_
  int replies_ = 0;             // guarded by mu_
};

// --- The in-process agent -----------------------------------------------------------------------

/// A runtime whose agents live in this process. "Starting" an agent checks it in with an
/// `inproc://<agent id>` endpoint (on the hub's executor: Activate must not wait for it); a
/// push to that endpoint is answered by Answer(), which replies with one Tymbal set frame.
class InProcessRuntime final : public Runtime {
 public:
  void Attach(Hub* hub) { hub_ = hub; }

  std::string_view Kind() const override { return "inproc"; }
  Result<RuntimeAgentState> Activate(const ActivateRequest& req) override {
    RuntimeAgentState state;
    state.agent_id = req.agent_id;
    state.agent_type = req.agent_type;
    state.status = AgentStatus::kActivating;
    state.instance_id = "inproc:" + req.agent_id;
    {
      std::lock_guard lock(mu_);
      agents_[req.agent_id] = state;
    }
    Result<AgentIdentity> id = ParseAgentId(req.agent_id);
    if (!id.ok()) return id.status();
    hub_->Post([hub = hub_, id = *id, endpoint = "inproc://" + req.agent_id] {
      (void)hub->agents().Checkin(id, endpoint, Json());
    });
    return state;
  }
  Status Checkin(std::string_view agent_id, std::string_view endpoint) override {
    std::lock_guard lock(mu_);
    auto it = agents_.find(std::string(agent_id));
    if (it == agents_.end()) return Conflict("agent is not running in this process");
    it->second.status = AgentStatus::kOnline;
    it->second.endpoint = std::string(endpoint);
    return Status();
  }
  Status Suspend(std::string_view agent_id, std::string_view) override {
    std::lock_guard lock(mu_);
    agents_.erase(std::string(agent_id));
    return Status();
  }
  std::optional<RuntimeAgentState> GetState(std::string_view agent_id) const override {
    std::lock_guard lock(mu_);
    auto it = agents_.find(std::string(agent_id));
    if (it == agents_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<RuntimeAgentState> ListAgents() const override {
    std::lock_guard lock(mu_);
    std::vector<RuntimeAgentState> out;
    for (const auto& [id, state] : agents_) out.push_back(state);
    return out;
  }
  Result<LogChunk> ReadLog(std::string_view, std::uint64_t, std::size_t) const override {
    return Status(ErrorCode::kNotSupported, "in-process agents keep no log");
  }
  Json RouteHints(std::string_view) const override { return Json(); }
  Result<std::vector<std::string>> ReapOrphans() override { return std::vector<std::string>(); }
  Status Shutdown() override {
    std::lock_guard lock(mu_);
    agents_.clear();
    return Status();
  }

  /// The agent's answer to a push: one set frame.
  Status Answer(const AgentPush& push) {
    Result<AgentIdentity> id = ParseAgentId(push.agent_id);
    if (!id.ok()) return id.status();
    Json v = Json::Object();
    v.Set("type", "agent");
    v.Set("sender", id->callsign);
    v.Set("senderType", "agent");
    v.Set("content", "all systems nominal");
    TymbalFrame frame = MakeSetFrame(hub_->NewId(), FormatIsoTimestamp(hub_->clock().NowMillis()),
                                     std::move(v));
    return hub_->ingest().Apply(std::move(frame), IngestTarget{id->space_id, id->channel_id});
  }

 private:
  Hub* hub_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, RuntimeAgentState> agents_;  // guarded by mu_
};

/// Pushes to `inproc://` endpoints go to the in-process runtime; the rest over HTTP.
class ExampleTransport final : public AgentTransport {
 public:
  explicit ExampleTransport(InProcessRuntime* inproc)
      : inproc_(inproc), http_(NewHttpAgentTransport(std::chrono::seconds(5))) {}
  Status Push(const AgentPush& push) override {
    if (push.endpoint.starts_with("inproc://")) return inproc_->Answer(push);
    return http_->Push(push);
  }

 private:
  InProcessRuntime* inproc_;
  std::unique_ptr<AgentTransport> http_;
};

// --- The container protocol, served for the echo agent ------------------------------------------

example_http::HttpReply Answer(const Status& s, std::string ok_body = R"({"ok":true})") {
  if (s.ok()) return {200, std::move(ok_body)};
  return example_http::CodedError(s.code() == ErrorCode::kNotFound ? 404 : 400, "error",
                                  s.message());
}

/// The agent id in a checkin or heartbeat body, checked against the container token.
Result<AgentIdentity> Caller(Hub& hub, const example_http::HttpRequest& request, Json* body) {
  Result<Json> parsed = ParseJson(request.body);
  if (!parsed.ok() || !parsed->is_object()) return InvalidArgument("Invalid JSON body");
  *body = *std::move(parsed);
  const std::string* agent_id = body->FindString("agentId");
  if (agent_id == nullptr) return InvalidArgument("agentId is required");
  Result<Principal> caller =
      hub.credentials().AuthenticateContainer(request.Find("Authorization").value_or(""));
  if (!caller.ok()) return caller.status();
  if (FormatAgentId(caller->agent) != *agent_id) return InvalidArgument("token of another agent");
  return caller->agent;
}

std::vector<example_http::HttpRoute> ContainerRoutes(Hub& hub, const std::string& channel_id) {
  std::vector<example_http::HttpRoute> routes;
  routes.push_back({"POST", "/agents/checkin", [&hub](const example_http::HttpRequest& r) {
                      Json body;
                      Result<AgentIdentity> id = Caller(hub, r, &body);
                      if (!id.ok()) return Answer(id.status());
                      const std::string* endpoint = body.FindString("endpoint");
                      if (endpoint == nullptr) return Answer(InvalidArgument("endpoint?"));
                      return Answer(hub.agents().Checkin(*id, *endpoint, Json()).status());
                    }});
  routes.push_back({"POST", "/agents/heartbeat", [&hub](const example_http::HttpRequest& r) {
                      Json body;
                      Result<AgentIdentity> id = Caller(hub, r, &body);
                      if (!id.ok()) return Answer(id.status());
                      return Answer(hub.agents().Heartbeat(*id).status());
                    }});
  // The echo agent streams each reply as one NDJSON upload; the listener hands over the whole
  // body, which one ingest session applies (stored first, then published, frame by frame).
  auto stream = [&hub, channel_id](const example_http::HttpRequest& r) {
    Result<IngestTarget> target =
        hub.ingest().ChannelTarget(r.Find("Authorization").value_or(""), channel_id);
    if (!target.ok()) return Answer(target.status());
    std::unique_ptr<IngestSession> session = hub.ingest().NewSession(*target);
    struct Sink final : FrameSink {
      IngestSession* session;
      // A frame the hub refuses (an id that is not a ULID) is skipped, like an invalid line.
      void OnFrame(const TymbalFrame& frame, std::uint64_t) override {
        (void)session->Accept(frame);
      }
      void OnInvalidLine(std::uint64_t, std::string_view) override {}
    } sink;
    sink.session = session.get();
    FrameParser parser;
    parser.Feed(r.body, sink);
    parser.Finish(sink);
    std::promise<Status> committed;
    session->Commit(true, [&committed](Status s) { committed.set_value(std::move(s)); });
    return Answer(committed.get_future().get());
  };
  routes.push_back({"POST", "/tymbal/" + channel_id + "/stream", stream});
  return routes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s ECHO_AGENT_BINARY\n", argv[0]);
    return 2;
  }
  std::string dir_template = (std::filesystem::temp_directory_path() / "embed-hub.XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) return 1;
  const std::filesystem::path dir = dir_template;

  ReplyPrinter printer;
  InProcessRuntime* inproc = nullptr;
  HubOptions options;
  options.store_url = "sqlite://" + (dir / "hub.db").string();
  options.publisher = &printer;
  RuntimeSpec local;  // the echo agent, as a child process
  local.name = "local";
  local.agent_types = {"echo"};
  LocalProcessOptions processes;
  processes.data_dir = (dir / "agents").string();
  processes.commands["echo"].argv = {std::filesystem::absolute(argv[1]).string()};
  local.open = [processes](const RuntimeOptions& o) { return NewLocalProcessRuntime(processes, o); };
  RuntimeSpec in_process;  // the status agent, in this process
  in_process.name = "inproc";
  in_process.agent_types = {"status"};
  in_process.open = [&inproc](const RuntimeOptions&) -> Result<std::unique_ptr<Runtime>> {
    auto runtime = std::make_unique<InProcessRuntime>();
    inproc = runtime.get();
    return std::unique_ptr<Runtime>(std::move(runtime));
  };
  options.runtimes.push_back(std::move(local));
  options.runtimes.push_back(std::move(in_process));
  // The transport needs the runtime, which OpenHub creates: it is bound once both exist.
  struct LateTransport final : AgentTransport {
    std::unique_ptr<ExampleTransport> inner;
    Status Push(const AgentPush& push) override { return inner->Push(push); }
  } transport;
  options.transport = &transport;

  Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(options));
  if (!opened.ok()) {
    std::fprintf(stderr, "open hub: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  Hub& hub = **opened;
  inproc->Attach(&hub);
  transport.inner = std::make_unique<ExampleTransport>(inproc);

  // A space, its owner, a channel.
  Principal alice;
  alice.kind = Principal::Kind::kApiKey;
  alice.space_id = "demo";
  (void)hub.store().EnsureSpace(Space{.id = "demo", .name = "Demo", .owner_callsign = "alice"});
  Json channel_body = Json::Object();
  channel_body.Set("name", "ops");
  Result<Channel> channel = hub.channels().Create(alice, channel_body);
  if (!channel.ok()) return 1;

  Result<std::unique_ptr<example_http::HttpListener>> api =
      example_http::HttpListener::Start({}, ContainerRoutes(hub, channel->id));
  if (!api.ok()) return 1;
  hub.agents().SetApiUrl("http://127.0.0.1:" + std::to_string((*api)->port()));

  // The embedder's timer: heartbeat staleness and activation timeouts.
  std::atomic<bool> stop{false};
  std::thread timer([&] {
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      hub.agents().Sweep(hub.clock().NowMillis());
    }
  });

  // Adding an agent starts it; it is online once it checked in.
  for (const char* callsign : {"echo", "status"}) {
    AgentIdentity agent{"demo", channel->id, callsign};
    if (!hub.agents().AddAgent(agent, callsign).ok()) return 1;
    for (int i = 0; i < 200 && !hub.agents().Presence(agent)->online; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  auto post = [&](std::string_view content) {
    Json body = Json::Object();
    body.Set("sender", "alice");
    body.Set("content", content);
    // Validated, routed, stored, published and delivered to the mentioned agents.
    return hub.channels().PostMessage(alice, channel->id, body).ok();
  };
  bool ok = post("@echo hi") && printer.WaitForReplies(1, std::chrono::seconds(20)) &&
            post("@channel status") && printer.WaitForReplies(3, std::chrono::seconds(20));
  std::printf(ok ? "done\n" : "timed out\n");

  stop = true;
  timer.join();
  (*api)->Stop();
  hub.Close();  // stops the echo agent's process
  opened->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return ok ? 0 : 1;
}
