// SPDX-License-Identifier: Apache-2.0
// `status`, `channels`, `messages`, `agents`: Cast's channel API (docs/api.md "Channels",
// "Messages", "Agent lifecycle", "Live frames").
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <agentcore/json_writer.hpp>

#include "commands.hpp"

namespace agentcore::ctl {
namespace {

using namespace std::chrono_literals;

// A channel given by id or by name: names are what people type, ids what scripts keep.
std::string ChannelId(Ctl& ctl, const std::string& name_or_id) {
  Json body = ctl.api().CallJson("GET", "/channels");
  for (const Json& c : Items(body, "channels")) {
    if (Text(c, "name", "") == name_or_id || Text(c, "id", "") == name_or_id) {
      return Text(c, "id", "");
    }
  }
  // Not among the listed ones (at most 100, non-archived): the server decides.
  return name_or_id;
}

std::string MessageContent(const Json& m) {
  const Json* content = m.Find("content");
  if (content == nullptr) return "";
  return content->is_string() ? content->as_string() : ToJson(*content);
}

std::string TimeOfDay(const std::string& iso) {
  // 2026-01-04T10:00:00.000Z -> 10:00:00
  return iso.size() >= 19 ? iso.substr(11, 8) : iso;
}

void PrintMessages(Ctl& ctl, const Json& body) {
  Table t({"TIME", "SENDER", "TYPE", "CONTENT"});
  for (const Json& m : Items(body, "messages")) {
    t.Row({TimeOfDay(Text(m, "timestamp")), Cell(Text(m, "sender"), 40), Cell(Text(m, "type"), 20),
           Cell(MessageContent(m), 100)});
  }
  t.Print(ctl.out());
}

// One live frame of a channel's event stream in human form; empty for frames without a
// message (start/append frames of a message still streaming, resets).
std::string FrameLine(const Output& out, const Json& frame) {
  const Json* v = frame.Find("v");
  if (v == nullptr || !v->is_object()) return "";
  const std::string type = Text(*v, "type", "");
  if (type == "agent_state") {
    return out.Paint("* @" + Cell(Text(*v, "sender")) + " is " + Cell(Text(*v, "state")),
                     Colour::kDim);
  }
  if (v->Find("sender") == nullptr || v->Find("content") == nullptr) return "";
  const std::string when = TimeOfDay(Text(frame, "t", Text(*v, "timestamp", "")));
  return out.Paint(when, Colour::kDim) + " " + out.Paint(Cell(Text(*v, "sender"), 40), Colour::kBold) +
         ": " + Cell(MessageContent(*v));
}

void AddStatus(CLI::App& app, Ctl& ctl) {
  Command(&app, ctl, "status", "Server health, readiness and whether the credential works", [&ctl] {
    Api& api = ctl.api();
    HttpResponse health = api.Send("GET", "/health");
    HttpResponse ready = api.Send("GET", "/ready");
    // A route that needs credentials tells whether ours work.
    int auth_status = 0;
    if (!api.settings().api_key.empty()) auth_status = api.Send("GET", "/channels").status;
    const std::string auth = auth_status == 0     ? "none"
                             : auth_status == 200 ? "ok"
                                                  : "rejected (" + std::to_string(auth_status) + ")";
    if (ctl.out().json) {
      std::string out;
      JsonWriter w(&out);
      w.BeginObject().Field("url", api.settings().url).Key("health");
      auto h = ParseJson(health.body);
      h.ok() ? w.Value(*h) : w.Null();
      w.Key("ready");
      auto r = ParseJson(ready.body);
      r.ok() ? w.Value(*r) : w.Null();
      w.Field("credentials", auth_status == 0 ? "none" : auth_status == 200 ? "ok" : "rejected")
          .EndObject();
      ctl.out().Line(out);
    } else {
      const Output& o = ctl.out();
      auto h = ParseJson(health.body);
      auto r = ParseJson(ready.body);
      Table t({"URL", "HEALTH", "VERSION", "READY", "NODE", "CREDENTIALS"});
      t.Row({api.settings().url, o.State(health.status == 200 ? "ok" : "failed"),
             h.ok() ? Cell(Text(*h, "version")) : "-",
             o.State(ready.status == 200 ? "ready" : "failed"), r.ok() ? Cell(Text(*r, "node")) : "-",
             o.State(auth)});
      t.Print(o);
      if (ready.status != 200 && r.ok()) o.Line("not ready: " + Cell(Text(*r, "reason")));
    }
    if (health.status != 200) throw CtlError(kExitServerError, "the server is not healthy");
    if (ready.status != 200) throw CtlError(kExitServerError, "the server is not ready");
    if (auth_status != 0 && auth_status != 200) {
      throw CtlError(ExitCodeOfStatus(auth_status), "the credential was refused");
    }
  });
}

void AddChannels(CLI::App& app, Ctl& ctl) {
  CLI::App* g = Group(app, "channels", "The channels of the credential's space");
  Command(g, ctl, "list", "Channels, most recently active first", [&ctl] {
    HttpResponse r = ctl.api().Call("GET", "/channels");
    if (PrintedJson(ctl, r.body)) return;
    Json body = Body(r);
    Table t({"ID", "NAME", "TAGLINE", "LAST ACTIVE"});
    for (const Json& c : Items(body, "channels")) {
      t.Row({Text(c, "id"), Cell(Text(c, "name"), 40), Cell(Text(c, "tagline"), 50),
             Text(c, "lastActiveAt")});
    }
    t.Print(ctl.out());
  });

  auto create = std::make_shared<std::tuple<std::string, std::string, std::string>>();
  CLI::App* c = Command(g, ctl, "create", "Create a channel", [&ctl, create] {
    auto& [name, tagline, mission] = *create;
    std::string body;
    JsonWriter w(&body);
    w.BeginObject().Field("name", name);
    if (!tagline.empty()) w.Field("tagline", tagline);
    if (!mission.empty()) w.Field("mission", mission);
    w.EndObject();
    HttpResponse r = ctl.api().Call("POST", "/channels", body);
    if (PrintedJson(ctl, r.body)) return;
    Json channel = Member(Body(r), "channel");
    ctl.out().Line("created channel " + Cell(Text(channel, "name")) + " " + Text(channel, "id"));
  });
  c->add_option("name", std::get<0>(*create), "Channel name")->required();
  c->add_option("--tagline", std::get<1>(*create), "One-line description");
  c->add_option("--mission", std::get<2>(*create), "What the channel is for");

  auto channel = std::make_shared<std::string>();
  CLI::App* show = Command(g, ctl, "show", "A channel and its roster", [&ctl, channel] {
    HttpResponse r = ctl.api().Call("GET", "/channels/" + Seg(ChannelId(ctl, *channel)));
    if (PrintedJson(ctl, r.body)) return;
    Json body = Body(r);
    PrintFields(ctl.out(), Member(body, "channel"));
    ctl.out().Line("");
    Table t({"CALLSIGN", "TYPE", "STATUS", "SINCE"});
    for (const Json& e : Items(body, "roster")) {
      t.Row({Cell(Text(e, "callsign"), 40), Cell(Text(e, "agentType"), 30),
             ctl.out().State(Cell(Text(e, "status"))), Text(e, "createdAt")});
    }
    t.Print(ctl.out());
  });
  show->add_option("channel", *channel, "Channel name or id")->required();
}

struct MessageArgs {
  std::string channel;
  std::string text;
  std::string sender;
  std::string since;
  std::string before;
  int limit = 50;
  bool follow = false;
};

void AddMessages(CLI::App& app, Ctl& ctl) {
  CLI::App* g = Group(app, "messages", "A channel's messages");
  auto a = std::make_shared<MessageArgs>();

  CLI::App* list = Command(g, ctl, "list", "Stored messages, oldest first", [&ctl, a] {
    std::string path = "/channels/" + Seg(ChannelId(ctl, a->channel)) +
                       "/messages?limit=" + std::to_string(a->limit);
    if (!a->since.empty()) path += "&since=" + Seg(a->since);
    if (!a->before.empty()) path += "&before=" + Seg(a->before);
    HttpResponse r = ctl.api().Call("GET", path);
    if (PrintedJson(ctl, r.body)) return;
    PrintMessages(ctl, Body(r));
  });
  list->add_option("channel", a->channel, "Channel name or id")->required();
  list->add_option("--limit", a->limit, "At most this many (the newest; 0-1000)")
      ->check(CLI::Range(0, 1000));
  list->add_option("--since", a->since, "Only messages after this message id");
  list->add_option("--before", a->before, "Only messages before this message id");

  a = std::make_shared<MessageArgs>();  // each command its own arguments and defaults
  CLI::App* post = Command(g, ctl, "post", "Post a message as a user", [&ctl, a] {
    std::string sender = a->sender;
    if (sender.empty()) {
      const char* user = std::getenv("USER");
      sender = user != nullptr && *user != 0 ? user : "agentctl";
    }
    std::string body;
    JsonWriter(&body).BeginObject().Field("content", a->text).Field("sender", sender)
        .Field("senderType", "user").EndObject();
    HttpResponse r =
        ctl.api().Call("POST", "/channels/" + Seg(ChannelId(ctl, a->channel)) + "/messages", body);
    if (PrintedJson(ctl, r.body)) return;
    Json m = Member(Body(r), "message");
    std::string to;
    for (const Json& agent : Items(m, "addressedAgents")) {
      to += (to.empty() ? " to @" : ", @") + Cell(agent.is_string() ? agent.as_string() : "?");
    }
    ctl.out().Line("posted " + Text(m, "id") + to);
  });
  post->add_option("channel", a->channel, "Channel name or id")->required();
  post->add_option("text", a->text, "The message (mention agents with @callsign)")->required();
  post->add_option("--sender", a->sender, "Sender name (default $USER)");

  a = std::make_shared<MessageArgs>();
  a->limit = 10;
  CLI::App* tail = Command(g, ctl, "tail", "The last messages; with -f, then live ones", [&ctl, a] {
    const std::string id = Seg(ChannelId(ctl, a->channel));
    HttpResponse r = ctl.api().Call(
        "GET", "/channels/" + id + "/messages?limit=" + std::to_string(a->limit));
    Json history = Body(r);
    std::string last_id;
    for (const Json& m : Items(history, "messages")) {
      last_id = Text(m, "id", "");
      Json frame = Json::Object();
      Json v = m;
      frame.Set("i", last_id);
      frame.Set("t", Text(m, "timestamp", ""));
      frame.Set("v", std::move(v));
      ctl.out().Line(ctl.out().json ? ToJson(m) : FrameLine(ctl.out(), frame));
    }
    if (!a->follow) return;
    ProgressLine progress(ctl.out());
    ctl.api().FollowEvents(
        "/channels/" + id + "/events", last_id,
        [&](const SseEvent& e) {
          progress.Clear();
          auto frame = ParseJson(e.data);
          if (!frame.ok()) return true;  // not a frame: nothing to show
          if (ctl.out().json) {
            ctl.out().Line(e.data);
          } else if (std::string line = FrameLine(ctl.out(), *frame); !line.empty()) {
            ctl.out().Line(line);
          }
          return true;
        },
        [&](const std::string& notice) { std::fprintf(stderr, "agentctl: %s\n", notice.c_str()); },
        /*reached=*/true);  // the history came from this server: a failed connect is retried
  });
  tail->add_option("channel", a->channel, "Channel name or id")->required();
  tail->add_option("-n,--lines", a->limit, "How many stored messages first (default 10)")
      ->check(CLI::Range(0, 1000));
  tail->add_flag("-f,--follow", a->follow,
                 "Keep printing new messages (SSE; reconnects with Last-Event-ID)");
}

struct AgentArgs {
  std::string channel;
  std::string callsign;
  std::string type = "echo";
  std::string runtime_id;
  bool wait = false;
  int wait_seconds = 60;
  bool follow = false;
};

// Polls the roster until `callsign` has checked in (a callback URL or a heartbeat).
void WaitForCheckin(Ctl& ctl, const std::string& channel_id, const AgentArgs& a) {
  ProgressLine progress(ctl.out());
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    Json roster = ctl.api().CallJson("GET", "/channels/" + Seg(channel_id) + "/roster");
    for (const Json& e : Items(roster, "roster")) {
      if (Text(e, "callsign", "") != a.callsign) continue;
      if (e.Find("callbackUrl") != nullptr || e.Find("lastHeartbeat") != nullptr) return;
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    const long secs = std::chrono::duration_cast<std::chrono::seconds>(waited).count();
    if (secs >= a.wait_seconds) {
      throw CtlError(kExitServerError, "@" + a.callsign + " did not check in within " +
                                           std::to_string(a.wait_seconds) + " s");
    }
    progress.Show("waiting for @" + a.callsign + " to check in… " + std::to_string(secs) + " s");
    std::this_thread::sleep_for(250ms);
  }
}

void AddAgents(CLI::App& app, Ctl& ctl) {
  CLI::App* g = Group(app, "agents", "The agents on a channel's roster");
  auto a = std::make_shared<AgentArgs>();
  auto channel_and_callsign = [a](CLI::App* c) {
    c->add_option("channel", a->channel, "Channel name or id")->required();
    c->add_option("callsign", a->callsign, "The agent's callsign")->required();
  };

  CLI::App* list = Command(g, ctl, "list", "The roster", [&ctl, a] {
    HttpResponse r = ctl.api().Call("GET", "/channels/" + Seg(ChannelId(ctl, a->channel)) + "/roster");
    if (PrintedJson(ctl, r.body)) return;
    Table t({"CALLSIGN", "TYPE", "STATUS", "LAST HEARTBEAT", "ID"});
    const Json body = Body(r);  // outlives the loop
    for (const Json& e : Items(body, "roster")) {
      t.Row({Cell(Text(e, "callsign"), 40), Cell(Text(e, "agentType"), 30),
             ctl.out().State(Cell(Text(e, "status"))), Text(e, "lastHeartbeat"), Text(e, "id")});
    }
    t.Print(ctl.out());
  });
  list->add_option("channel", a->channel, "Channel name or id")->required();

  CLI::App* add = Command(g, ctl, "add", "Summon an agent onto the channel", [&ctl, a] {
    const std::string id = ChannelId(ctl, a->channel);
    std::string body;
    JsonWriter w(&body);
    w.BeginObject().Field("callsign", a->callsign).Field("agentType", a->type);
    if (!a->runtime_id.empty()) w.Field("runtimeId", a->runtime_id);
    w.EndObject();
    HttpResponse r = ctl.api().Call("POST", "/channels/" + Seg(id) + "/agents", body);
    if (a->wait) WaitForCheckin(ctl, id, *a);
    if (PrintedJson(ctl, r.body)) return;
    ctl.out().Line("added @" + Cell(a->callsign) + (a->wait ? " (checked in)" : ""));
  });
  channel_and_callsign(add);
  add->add_option("--type", a->type, "Agent type (default echo)");
  add->add_option("--runtime-id", a->runtime_id, "A runtime registered with the server");
  add->add_flag("--wait", a->wait, "Wait until the agent has checked in");
  add->add_option("--wait-seconds", a->wait_seconds, "How long --wait waits (default 60)");

  struct Lifecycle {
    const char* name;
    const char* method;
    const char* suffix;
    const char* help;
  };
  for (const Lifecycle& l : {Lifecycle{"pause", "POST", "/pause", "Pause an agent"},
                             Lifecycle{"resume", "POST", "/resume", "Resume a paused agent"},
                             Lifecycle{"dismiss", "DELETE", "", "Dismiss (archive) an agent"}}) {
    CLI::App* c = Command(g, ctl, l.name, l.help, [&ctl, a, l] {
      HttpResponse r = ctl.api().Call(l.method, "/channels/" + Seg(ChannelId(ctl, a->channel)) +
                                                    "/agents/" + Seg(a->callsign) + l.suffix);
      if (PrintedJson(ctl, r.body)) return;
      Json body = Body(r);
      ctl.out().Line("@" + Cell(a->callsign) + " " +
                     ctl.out().State(Text(body, "status", std::string(l.name) == "dismiss"
                                                              ? "archived"
                                                              : "done")));
    });
    channel_and_callsign(c);
  }

  CLI::App* logs = Command(g, ctl, "logs", "The agent's stdout and stderr; -f to follow", [&ctl, a] {
    const std::string path = "/channels/" + Seg(ChannelId(ctl, a->channel)) + "/agents/" +
                             Seg(a->callsign) + "/logs" + (a->follow ? "?follow=1" : "");
    ctl.api().Stream(path, {{"Accept", "text/plain"}},
                     [](const HttpResponse&, std::string_view data) {
                       std::fwrite(data.data(), 1, data.size(), stdout);
                       std::fflush(stdout);
                       return true;
                     });
  });
  channel_and_callsign(logs);
  logs->add_flag("-f,--follow", a->follow, "Keep printing what the agent writes");
}

}  // namespace

void AddChatCommands(CLI::App& app, Ctl& ctl) {
  AddStatus(app, ctl);
  AddChannels(app, ctl);
  AddMessages(app, ctl);
  AddAgents(app, ctl);
}

}  // namespace agentcore::ctl
