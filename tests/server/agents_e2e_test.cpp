// SPDX-License-Identifier: Apache-2.0
// End to end: the real server, the local process runtime and examples/echo-agent (spec cast
// §3.4, §5): activation, checkin, pushes, streamed replies, timeouts, crashes, restarts; and the
// container protocol routes' texts and token checks (§5.4-§5.6).
#include "app.hpp"

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/json.hpp>

#include "server/server_fixture.hpp"
#include "server/websocket_test_client.hpp"

#ifndef AGENTCORE_ECHO_AGENT
#error "AGENTCORE_ECHO_AGENT (the echo-agent binary) must be defined"
#endif

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;
using agentcore::testing::TestHead;
using agentcore::testing::TestSocket;
using agentcore::testing::TestSseReader;

const std::string kEcho = AGENTCORE_ECHO_AGENT;

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

bool ProcessAlive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

/// A server whose agents of type T run `commands[T]` (`*`: the plain echo agent).
ServerFixtureOptions AgentOptions(std::map<std::string, std::vector<std::string>> commands = {},
                                  std::function<void(ServerConfig&)> more = {}) {
  ServerFixtureOptions o;
  o.tweak = [commands = std::move(commands), more = std::move(more)](ServerConfig& c) {
    c.agent_commands = commands;
    if (c.agent_commands.count("*") == 0) c.agent_commands["*"] = {kEcho};
    c.agent_sweep_interval = 50ms;
    c.agent_kill_grace = 500ms;
    if (more) more(c);
  };
  return o;
}

std::string AgentId(ServerFixture& fx, const std::string& channel, const std::string& callsign) {
  return fx.space_id() + ":" + channel + ":" + callsign;
}

void AddAgent(ServerFixture& fx, const std::string& channel, const std::string& callsign,
              const std::string& type) {
  HttpResponse r = fx.Call("POST", "/channels/" + channel + "/agents",
                           R"({"callsign":")" + callsign + R"(","agentType":")" + type + "\"}");
  REQUIRE_MESSAGE(r.status == 201, r.body);
}

std::string PostMessage(ServerFixture& fx, const std::string& channel, const std::string& text) {
  HttpResponse r = fx.Call("POST", "/channels/" + channel + "/messages",
                           R"({"content":")" + text + R"(","sender":"alice","senderType":"user"})");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return *BodyJson(r).Find("message")->FindString("id");
}

std::vector<Json> Messages(ServerFixture& fx, const std::string& channel) {
  HttpResponse r = fx.Call("GET", "/channels/" + channel + "/messages?limit=200");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  Json body = BodyJson(r);
  const Json* list = body.Find("messages");
  REQUIRE(list != nullptr);
  return list->as_array();
}

/// Messages of type `type` sent by `sender`.
std::vector<Json> From(ServerFixture& fx, const std::string& channel, const std::string& sender,
                       const std::string& type = "agent") {
  std::vector<Json> out;
  for (Json& m : Messages(fx, channel)) {
    const std::string* s = m.FindString("sender");
    const std::string* t = m.FindString("type");
    if (s != nullptr && *s == sender && t != nullptr && *t == type) out.push_back(m);
  }
  return out;
}

std::string Text(const Json& message) {
  const std::string* content = message.FindString("content");
  return content != nullptr ? *content : std::string();
}

bool IsComplete(const Json& message) {
  const Json* c = message.Find("isComplete");
  return c != nullptr && c->is_bool() && c->as_bool();
}

Json AgentStatus(ServerFixture& fx, const std::string& agent_id) {
  std::string escaped;
  for (char ch : agent_id) escaped += ch == ':' ? std::string("%3A") : std::string(1, ch);
  HttpResponse r = fx.Call("GET", "/agents/status/" + escaped, {}, false);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return BodyJson(r);
}

bool Online(ServerFixture& fx, const std::string& agent_id) {
  Json status = AgentStatus(fx, agent_id);
  const std::string* s = status.FindString("status");
  return s != nullptr && *s == "online";
}

int Pid(ServerFixture& fx, const std::string& agent_id) {
  auto state = fx.app().hub().runtimes().Find("local")->GetState(agent_id);
  return state ? state->pid : 0;
}

/// An SSE subscriber of one channel (GET /channels/:id/events: the broadcaster's frames, as a
/// WebSocket subscriber gets them); collects every frame line it receives.
class Subscriber {
 public:
  Subscriber(ServerFixture& fx, const std::string& channel) : socket_(fx.port()) {
    REQUIRE(socket_.Send("GET /channels/" + channel +
                         "/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nCookie: " +
                         fx.cookie() + "\r\n\r\n"));
    TestHead head = agentcore::testing::ReadHead(socket_);
    REQUIRE(head.status == 200);
    reader_ = std::make_unique<TestSseReader>(&socket_, head.rest);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (fx.app().broadcaster().SubscriberCount() == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(2ms);
    }
  }

  /// Reads until a line satisfies `match` (true) or the time is up (false).
  bool WaitLine(const std::function<bool(const std::string&)>& match,
                std::chrono::milliseconds timeout = 15s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t checked = 0;
    for (;;) {
      for (; checked < lines_.size(); ++checked) {
        if (match(lines_[checked])) return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      auto event = reader_->Next(left);
      if (!event) return false;
      if (!event->data.empty()) lines_.push_back(event->data);
    }
  }

 private:
  TestSocket socket_;
  std::unique_ptr<TestSseReader> reader_;
  std::vector<std::string> lines_;
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_SUITE("AgentsEndToEnd") {
  TEST_CASE("@echo hello: activated, checks in, gets the message, streams its reply") {
    ServerFixture fx(AgentOptions());
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    // Not in the roster yet: the add activates it (§4.6), the message is pushed once online.
    AddAgent(fx, channel, "echo", "echo");
    std::string agent_id = AgentId(fx, channel, "echo");
    REQUIRE(WaitFor([&] { return Online(fx, agent_id); }));
    int pid = Pid(fx, agent_id);
    CHECK(ProcessAlive(pid));

    PostMessage(fx, channel, "@echo hello");
    std::vector<Json> replies;
    REQUIRE(WaitFor([&] {
      replies = From(fx, channel, "echo");
      return !replies.empty() && IsComplete(replies[0]);
    }));
    CHECK(replies.size() == 1);
    CHECK(Text(replies[0]) == "echo: Message from @alice: @echo hello");
    // The turn ends with an idle frame, persisted as Cast does (§8 #14).
    CHECK(WaitFor([&] { return !From(fx, channel, "echo", "idle").empty(); }));
    // Delivered once: nothing left in the queue.
    auto pending = fx.app().store().TakePending(channel, "echo", 10);
    REQUIRE(pending.ok());
    CHECK(pending->empty());
    // Graceful stop ends the agent.
    fx.app().Stop();
    CHECK(WaitFor([&] { return !ProcessAlive(pid); }, 5s));
  }

  TEST_CASE("a subscriber sees the reply stream live and the agent_state frames") {
    ServerFixture fx(AgentOptions());
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    Subscriber sub(fx, channel);
    AddAgent(fx, channel, "echo", "echo");
    REQUIRE(WaitFor([&] { return Online(fx, AgentId(fx, channel, "echo")); }));
    PostMessage(fx, channel, "@echo hello");
    std::vector<Json> replies;
    REQUIRE(WaitFor([&] {
      replies = From(fx, channel, "echo");
      return !replies.empty() && IsComplete(replies[0]);
    }));
    const std::string reply_id = *replies[0].FindString("id");
    // Start (with metadata), appends, the final set frame.
    CHECK(sub.WaitLine([&](const std::string& l) {
      return Contains(l, "\"i\":\"" + reply_id + "\"") && Contains(l, "\"m\":");
    }));
    CHECK(sub.WaitLine([&](const std::string& l) {
      return Contains(l, "\"i\":\"" + reply_id + "\"") && Contains(l, "\"a\":");
    }));
    CHECK(sub.WaitLine([&](const std::string& l) {
      return Contains(l, "\"i\":\"" + reply_id + "\"") &&
             Contains(l, "echo: Message from @alice: @echo hello");
    }));
    // agent_state frames of §2.8: connecting (add), online (checkin), pending (pushed).
    for (std::string state : {"connecting", "online", "pending"}) {
      CAPTURE(state);
      CHECK(sub.WaitLine([&](const std::string& l) {
        return Contains(l, R"("type":"agent_state")") &&
               Contains(l, "\"state\":\"" + state + "\"");
      }));
    }
  }

  TEST_CASE("a message to an agent that is not running activates it and waits for its checkin") {
    ServerFixture fx(AgentOptions());
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    // Straight into the roster (no activation), then a message.
    HttpResponse r = fx.Call("POST", "/channels/" + channel + "/roster",
                             R"({"callsign":"echo","agentType":"echo"})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    PostMessage(fx, channel, "@echo first");
    std::vector<Json> replies;
    REQUIRE(WaitFor([&] {
      replies = From(fx, channel, "echo");
      return !replies.empty() && IsComplete(replies[0]);
    }));
    // Delivered at checkin (§5.4): the compiled form.
    CHECK(Text(replies[0]) == "echo: --- @alice in #general says:\n@echo first");
  }

  TEST_CASE("@channel reaches three agents") {
    ServerFixture fx(AgentOptions());
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    for (std::string name : {"ann", "bob", "cat"}) AddAgent(fx, channel, name, "echo");
    for (std::string name : {"ann", "bob", "cat"}) {
      REQUIRE(WaitFor([&] { return Online(fx, AgentId(fx, channel, name)); }));
    }
    PostMessage(fx, channel, "@channel ping");
    for (std::string name : {"ann", "bob", "cat"}) {
      CAPTURE(name);
      std::vector<Json> replies;
      REQUIRE(WaitFor([&] {
        replies = From(fx, channel, name);
        return !replies.empty() && IsComplete(replies[0]);
      }));
      CHECK(replies.size() == 1);
      CHECK(Contains(Text(replies[0]), "@channel ping"));
    }
  }

  TEST_CASE("a crash mid-stream leaves the partial message incomplete and marked interrupted") {
    ServerFixture fx(AgentOptions({{"crashy", {kEcho, "--crash-after", "3", "--slow-ms", "30"}}}));
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    AddAgent(fx, channel, "crashy", "crashy");
    std::string agent_id = AgentId(fx, channel, "crashy");
    REQUIRE(WaitFor([&] { return Online(fx, agent_id); }));
    PostMessage(fx, channel, "@crashy talk to me");
    Json partial;
    REQUIRE(WaitFor([&] {
      for (Json& m : Messages(fx, channel)) {
        const std::string* sender = m.FindString("sender");
        const Json* meta = m.Find("metadata");
        const Json* interrupted = meta != nullptr ? meta->Find("interrupted") : nullptr;
        if (sender != nullptr && *sender == "crashy" && interrupted != nullptr) {
          partial = m;
          return true;
        }
      }
      return false;
    }));
    CHECK_FALSE(IsComplete(partial));
    // start + 2 appends went out: the text so far, not the whole reply.
    CHECK(Text(partial).rfind("echo: ", 0) == 0);
    CHECK(Text(partial).size() < std::string("echo: Message from @alice: @crashy talk to me").size());
    // The exit is noticed: the agent is offline and its callback cleared.
    CHECK(WaitFor([&] { return !Online(fx, agent_id); }, 5s));
  }

  TEST_CASE("an agent that never checks in times out, keeps its messages, gets them later") {
    std::string flag = "/tmp/agentcore-e2e-mute-" + std::to_string(::getpid());
    std::remove(flag.c_str());
    // Silent until the flag file exists, then a normal echo agent.
    std::string script = "if [ -f " + flag + " ]; then exec " + kEcho + "; else exec " + kEcho +
                         " --never-checkin; fi";
    ServerFixture fx(AgentOptions({{"mute", {"/bin/sh", "-c", script}}},
                                  [](ServerConfig& c) { c.activation_timeout = 1500ms; }));
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    HttpResponse r = fx.Call("POST", "/channels/" + channel + "/roster",
                             R"({"callsign":"mute","agentType":"mute"})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    std::string agent_id = AgentId(fx, channel, "mute");
    PostMessage(fx, channel, "@mute one");
    REQUIRE(WaitFor([&] { return Pid(fx, agent_id) != 0; }, 5s));
    int pid = Pid(fx, agent_id);
    // Timeout: stopped, marked failed.
    REQUIRE(WaitFor([&] { return !ProcessAlive(pid); }, 10s));
    CHECK(!Online(fx, agent_id));
    // Its message is still queued (nothing acknowledged).
    auto pending = fx.app().store().TakePending(channel, "mute", 10);
    REQUIRE(pending.ok());
    CHECK(pending->size() == 1);

    // A later activation succeeds: both messages arrive together at checkin.
    { std::ofstream(flag) << "ok"; }
    PostMessage(fx, channel, "@mute two");
    std::vector<Json> replies;
    REQUIRE(WaitFor([&] {
      replies = From(fx, channel, "mute");
      return !replies.empty() && IsComplete(replies[0]);
    }));
    CHECK(Contains(Text(replies[0]), "@mute one"));
    CHECK(Contains(Text(replies[0]), "@mute two"));
    std::remove(flag.c_str());
  }

  TEST_CASE("a silent agent goes stale and is restarted on its next message") {
    ServerFixture fx(AgentOptions({{"quiet", {kEcho, "--heartbeat-ms", "600000"}},
                                   {"chatty", {kEcho, "--heartbeat-ms", "200"}}},
                                  [](ServerConfig& c) { c.heartbeat_staleness = 1000ms; }));
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    AddAgent(fx, channel, "quiet", "quiet");
    AddAgent(fx, channel, "chatty", "chatty");
    std::string quiet = AgentId(fx, channel, "quiet");
    std::string chatty = AgentId(fx, channel, "chatty");
    REQUIRE(WaitFor([&] { return Online(fx, quiet) && Online(fx, chatty); }));
    int old_pid = Pid(fx, quiet);
    std::this_thread::sleep_for(1500ms);
    CHECK_FALSE(Online(fx, quiet));  // no heartbeat for longer than the staleness
    CHECK(Online(fx, chatty));       // heartbeats keep it fresh
    CHECK(Pid(fx, chatty) != 0);

    PostMessage(fx, channel, "@quiet wake up");
    std::vector<Json> replies;
    REQUIRE(WaitFor([&] {
      replies = From(fx, channel, "quiet");
      return !replies.empty() && IsComplete(replies[0]);
    }));
    CHECK(Contains(Text(replies[0]), "wake up"));
    CHECK(Pid(fx, quiet) != old_pid);
    CHECK(WaitFor([&] { return !ProcessAlive(old_pid); }, 5s));
  }

  TEST_CASE("paused agents are not started; removing an agent stops it") {
    ServerFixture fx(AgentOptions());
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    HttpResponse r = fx.Call("POST", "/channels/" + channel + "/roster",
                             R"({"callsign":"echo","agentType":"echo","status":"paused"})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    PostMessage(fx, channel, "@echo are you there");
    std::this_thread::sleep_for(300ms);
    CHECK(Pid(fx, AgentId(fx, channel, "echo")) == 0);

    AddAgent(fx, channel, "other", "echo");
    std::string other = AgentId(fx, channel, "other");
    REQUIRE(WaitFor([&] { return Online(fx, other); }));
    int pid = Pid(fx, other);
    r = fx.Call("GET", "/channels/" + channel + "/roster");
    REQUIRE(r.status == 200);
    std::string other_entry;
    Json roster = BodyJson(r);
    REQUIRE(roster.Find("roster") != nullptr);
    for (const Json& e : roster.Find("roster")->as_array()) {
      if (*e.FindString("callsign") == "other") other_entry = *e.FindString("id");
    }
    REQUIRE(!other_entry.empty());
    r = fx.Call("DELETE", "/channels/" + channel + "/roster/" + other_entry);
    REQUIRE(r.status == 200);
    CHECK(WaitFor([&] { return !ProcessAlive(pid); }, 5s));
  }

  TEST_CASE("a restart after a crash ends the agents the old server left") {
    std::string db;
    std::string data;
    std::string cookie;
    std::string channel;
    int pid = 0;
    std::string agent_id;
    {
      ServerFixture first(AgentOptions({}, [](ServerConfig& c) {
        c.agents_outlive_server = true;  // what a crash leaves behind
      }));
      first.Login();
      channel = first.CreateChannel("general");
      AddAgent(first, channel, "echo", "echo");
      agent_id = AgentId(first, channel, "echo");
      REQUIRE(WaitFor([&] { return Online(first, agent_id); }));
      pid = Pid(first, agent_id);
      REQUIRE(ProcessAlive(pid));
      db = first.app().config().database_url;
      data = first.app().config().data_dir;
      cookie = first.cookie();
      first.app().Stop();
      CHECK(ProcessAlive(pid));  // left running

      ServerFixture second(AgentOptions({}, [&](ServerConfig& c) {
        c.database_url = db;
        c.data_dir = data;
      }));
      // Reconciled at start: the orphan is gone and its callback cleared.
      CHECK(WaitFor([&] { return !ProcessAlive(pid); }, 5s));
      CHECK_FALSE(Online(second, agent_id));
      // And the agent works again on the next message.
      HttpResponse r = second.Call("POST", "/channels/" + channel + "/messages",
                                   R"({"content":"@echo again","sender":"alice","senderType":"user"})",
                                   false, {{"Cookie", cookie}});
      REQUIRE_MESSAGE(r.status == 201, r.body);
      REQUIRE(WaitFor([&] {
        HttpResponse m = second.Call("GET", "/channels/" + channel + "/messages", {}, false,
                                     {{"Cookie", cookie}});
        return Contains(m.body, "echo: --- @alice in #general says:\\n@echo again");
      }));
      int new_pid = Pid(second, agent_id);
      CHECK(new_pid != pid);
      second.app().Stop();
      CHECK(WaitFor([&] { return !ProcessAlive(new_pid); }, 5s));
    }
  }
}

TEST_SUITE("ContainerProtocol") {
  TEST_CASE("an agent's log is read from an offset and followed as it grows") {
    ServerFixture fx(AgentOptions());
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    const std::string logs = "/channels/" + channel + "/agents/echo/logs";

    // Followed from before the agent exists: "no log yet" is waited out, then the lines
    // arrive as the agent writes them.
    AddAgent(fx, channel, "echo", "echo");
    TestSocket follower(fx.port());
    REQUIRE(follower.Send("GET " + logs + "?follow=1 HTTP/1.1\r\nHost: x\r\nCookie: " +
                          fx.cookie() + "\r\n\r\n"));
    TestHead head = agentcore::testing::ReadHead(follower);
    REQUIRE(head.status == 200);
    CHECK(Contains(head.Header("Content-Type"), "text/plain"));
    std::string followed = head.rest;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (!Contains(followed, "checked in as") && std::chrono::steady_clock::now() < deadline) {
      follower.ReadSome(&followed, 100ms);
    }
    CHECK(Contains(followed, "echo-agent: listening on http://127.0.0.1:"));
    CHECK(Contains(followed, "echo-agent: checked in as " + AgentId(fx, channel, "echo")));

    // Read once: the whole log, and where to continue.
    HttpResponse all = fx.Call("GET", logs);
    REQUIRE(all.status == 200);
    CHECK(all.body.rfind(followed, 0) == 0);  // the follower got the log from its start
    CHECK(all.Header("X-Log-Next-Offset").value_or("") == std::to_string(all.body.size()));
    CHECK(all.Header("X-Log-Size").value_or("") == std::to_string(all.body.size()));
    HttpResponse part = fx.Call("GET", logs + "?offset=5&limit=7");
    REQUIRE(part.status == 200);
    CHECK(part.body == all.body.substr(5, 7));
    CHECK(part.Header("X-Log-Next-Offset").value_or("") == "12");
    HttpResponse end = fx.Call("GET", logs + "?offset=" + std::to_string(all.body.size()));
    CHECK(end.status == 200);
    CHECK(end.body.empty());

    // Bad input: each a JSON error of our own form.
    HttpResponse past = fx.Call("GET", logs + "?offset=" + std::to_string(all.body.size() + 100));
    CHECK(past.status == 400);
    CHECK(Contains(past.body, R"("error":"invalid_request")"));
    HttpResponse bad = fx.Call("GET", logs + "?offset=-1");
    CHECK(bad.status == 400);
    CHECK(Contains(bad.body, "offset must be a non-negative integer"));
    HttpResponse unknown = fx.Call("GET", "/channels/" + channel + "/agents/nobody/logs");
    CHECK(unknown.status == 404);
    CHECK(Contains(unknown.body, R"("error":"not_found")"));
    HttpResponse no_channel = fx.Call("GET", "/channels/nope/agents/echo/logs");
    CHECK(no_channel.status == 404);
    HttpResponse anonymous = fx.Call("GET", logs, {}, /*with_cookie=*/false);
    CHECK(anonymous.status == 401);
    CHECK(Contains(anonymous.body, R"("error":"unauthorized")"));
    // On the roster but never started: no log yet.
    HttpResponse paused_add = fx.Call("POST", "/channels/" + channel + "/roster",
                                      R"({"callsign":"quiet","agentType":"echo"})");
    REQUIRE(paused_add.status / 100 == 2);
    HttpResponse none = fx.Call("GET", "/channels/" + channel + "/agents/quiet/logs");
    CHECK(none.status == 404);
    CHECK(Contains(none.body, R"("error":"no_log")"));

    // The follower is let go at shutdown.
    fx.app().Stop();
    std::string rest;
    auto stop_deadline = std::chrono::steady_clock::now() + 5s;
    long got = 0;
    while ((got = follower.ReadSome(&rest, 100ms)) >= 0 &&
           std::chrono::steady_clock::now() < stop_deadline) {
    }
    CHECK(got == -1);
  }

  TEST_CASE("checkin: Cast's checks and texts in order, then the container token") {
    ServerFixture fx;
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    HttpResponse r = fx.Call("POST", "/channels/" + channel + "/roster",
                             R"({"callsign":"bot","agentType":"x"})");
    REQUIRE(r.status == 201);
    std::string id = AgentId(fx, channel, "bot");
    std::string token = fx.ContainerToken(channel, "bot");
    auto checkin = [&](std::string body, std::string auth = "") {
      std::vector<std::pair<std::string, std::string>> headers;
      if (!auth.empty()) headers.emplace_back("Authorization", auth);
      return fx.Call("POST", "/agents/checkin", std::move(body), false, std::move(headers));
    };
    struct Case {
      std::string body;
      int status;
      std::string error;
    };
    const std::string ok_tail = R"(,"agentId":")" + id + R"(","endpoint":"http://127.0.0.1:1"})";
    std::vector<Case> cases = {
        {"{nope", 400, "Invalid JSON body"},
        {R"({"agentId":"a:b:c","endpoint":"x"})", 400,
         R"(Unsupported protocol version. Expected \"3.0\")"},
        {R"({"protocolVersion":"2.0","agentId":"a:b:c","endpoint":"x"})", 400,
         R"(Unsupported protocol version. Expected \"3.0\")"},
        {R"({"protocolVersion":3,"agentId":"a:b:c","endpoint":"x"})", 400,
         R"(Unsupported protocol version. Expected \"3.0\")"},
        {R"({"protocolVersion":"3.0","endpoint":"x"})", 400, "agentId and endpoint are required"},
        {R"({"protocolVersion":"3.0","agentId":"a:b:c","endpoint":""})", 400,
         "agentId and endpoint are required"},
        {R"({"protocolVersion":"3.0","agentId":"a::c","endpoint":"x"})", 400,
         "Invalid agentId format. Expected {spaceId}:{channelId}:{callsign}"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.body);
      HttpResponse res = checkin(c.body, "Container " + token);
      CHECK(res.status == c.status);
      CHECK(res.body == R"({"error":")" + c.error + "\"}");
    }
    // Token: missing, malformed, invalid, another agent's.
    HttpResponse res = checkin(R"({"protocolVersion":"3.0")" + ok_tail);
    CHECK(res.status == 401);
    CHECK(res.body == R"({"error":"Missing Authorization header"})");
    res = checkin(R"({"protocolVersion":"3.0")" + ok_tail, "Bearer x");
    CHECK(res.status == 401);
    res = checkin(R"({"protocolVersion":"3.0")" + ok_tail, "Container nope.nope");
    CHECK(res.status == 401);
    CHECK(res.body == R"({"error":"Invalid container token"})");
    res = checkin(R"({"protocolVersion":"3.0")" + ok_tail,
                  "Container " + fx.ContainerToken(channel, "someone-else"));
    CHECK(res.status == 403);
    // Not in the roster.
    std::string ghost = AgentId(fx, channel, "ghost");
    res = checkin(R"({"protocolVersion":"3.0","agentId":")" + ghost +
                      R"(","endpoint":"http://127.0.0.1:1"})",
                  "Container " + fx.ContainerToken(channel, "ghost"));
    CHECK(res.status == 404);
    CHECK(res.body == R"({"error":"Agent not found in roster"})");
    // Success.
    res = checkin(R"({"protocolVersion":"3.0")" + ok_tail, "Agent " + token);
    CHECK(res.status == 200);
    CHECK(res.body == R"({"ok":true,"agentId":")" + id + R"(","delivered":0})");
    Json status = AgentStatus(fx, id);
    CHECK(*status.FindString("status") == "online");
    CHECK(*status.FindString("endpoint") == "http://127.0.0.1:1");
    CHECK(status.FindString("lastActivity") != nullptr);
  }

  TEST_CASE("heartbeat: Cast's checks and texts, then the container token") {
    ServerFixture fx;
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    REQUIRE(fx.Call("POST", "/channels/" + channel + "/roster",
                    R"({"callsign":"bot","agentType":"x"})")
                .status == 201);
    std::string id = AgentId(fx, channel, "bot");
    std::string auth = "Container " + fx.ContainerToken(channel, "bot");
    auto beat = [&](std::string body, std::string a) {
      std::vector<std::pair<std::string, std::string>> headers;
      if (!a.empty()) headers.emplace_back("Authorization", a);
      return fx.Call("POST", "/agents/heartbeat", std::move(body), false, std::move(headers));
    };
    struct Case {
      std::string body;
      int status;
      std::string error;
    };
    std::vector<Case> cases = {
        {"[1", 400, "Invalid JSON body"},
        {R"({"agentId":"a:b:c","endpoint":null})", 400, "endpoint not allowed in heartbeat"},
        {R"({})", 400, "agentId is required"},
        {R"({"agentId":7})", 400, "agentId is required"},
        {R"({"agentId":"a:b"})", 400, "Invalid agentId format"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.body);
      HttpResponse res = beat(c.body, auth);
      CHECK(res.status == c.status);
      CHECK(res.body == R"({"error":")" + c.error + "\"}");
    }
    HttpResponse res = beat(R"({"agentId":")" + id + "\"}", "");
    CHECK(res.status == 401);
    std::string ghost = AgentId(fx, channel, "ghost");
    res = beat(R"({"agentId":")" + ghost + "\"}", "Container " + fx.ContainerToken(channel, "ghost"));
    CHECK(res.status == 404);
    CHECK(res.body == R"({"error":"Agent not found in roster"})");
    res = beat(R"({"agentId":")" + id + "\"}", auth);
    CHECK(res.status == 200);
    Json body = BodyJson(res);
    CHECK(body.Find("ok")->as_bool());
    CHECK(body.FindString("timestamp")->size() == 24);  // 2026-01-04T10:00:00.000Z
    // A heartbeat alone does not make an agent online: it never checked in (no callback).
    CHECK_FALSE(Online(fx, id));
  }

  TEST_CASE("status: unparsable ids, unknown agents, and open checkin in compat mode") {
    ServerFixtureOptions options;
    options.compat_open_checkin = true;
    ServerFixture fx(options);
    fx.Login();
    std::string channel = fx.CreateChannel("general");
    HttpResponse r = fx.Call("GET", "/agents/status/a%3A%3Ac", {}, false);
    CHECK(r.status == 400);
    CHECK(r.body == R"({"error":"Invalid agentId format"})");
    r = fx.Call("GET", "/agents/status/s%3Ac%3Anobody", {}, false);
    CHECK(r.status == 200);
    CHECK(r.body ==
          R"({"agentId":"s:c:nobody","status":"offline","endpoint":null,"lastActivity":null})");
    REQUIRE(fx.Call("POST", "/channels/" + channel + "/roster",
                    R"({"callsign":"bot","agentType":"x"})")
                .status == 201);
    std::string id = AgentId(fx, channel, "bot");
    // As Cast: no token needed, and extra agentId parts are ignored but echoed back.
    r = fx.Call("POST", "/agents/checkin",
                R"({"protocolVersion":"3.0","agentId":")" + id +
                    R"(:extra","endpoint":"http://127.0.0.1:1"})",
                false);
    CHECK(r.status == 200);
    CHECK(r.body == R"({"ok":true,"agentId":")" + id + R"(:extra","delivered":0})");
    r = fx.Call("POST", "/agents/heartbeat", R"({"agentId":")" + id + "\"}", false);
    CHECK(r.status == 200);
    CHECK(Online(fx, id));
  }
}

}  // namespace agentcore::server::testing
