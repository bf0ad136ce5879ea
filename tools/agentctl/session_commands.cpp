// SPDX-License-Identifier: Apache-2.0
// `sessions`: commands in a sandbox or container (docs/sessions.md, docs/api.md "Sessions").
#include <memory>
#include <string>
#include <vector>

#include <agentcore/json_writer.hpp>

#include "attach.hpp"
#include "commands.hpp"

namespace agentcore::ctl {
namespace {

struct SessionArgs {
  std::string id;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> env;    // NAME=value
  std::vector<std::string> ports;  // PORT or NAME=PORT
  std::string work_dir;
  std::string network;
  std::string status;
  std::string cursor;
  long cpu_millis = -1;
  long memory_mb = -1;
  long timeout_ms = -1;
  int limit = 20;
};

std::string CreateBody(const SessionArgs& a) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  if (!a.image.empty()) w.Field("image", a.image);
  if (!a.command.empty()) {
    w.Key("command").BeginArray();
    for (const std::string& arg : a.command) w.String(arg);
    w.EndArray();
  }
  if (!a.env.empty()) {
    w.Key("env").BeginObject();
    for (const std::string& kv : a.env) {
      const std::size_t eq = kv.find('=');
      if (eq == std::string::npos) throw CtlError(kExitUsage, "--env wants NAME=value, not " + kv);
      w.Field(kv.substr(0, eq), kv.substr(eq + 1));
    }
    w.EndObject();
  }
  if (!a.work_dir.empty()) w.Field("workDir", a.work_dir);
  if (!a.network.empty()) w.Field("network", a.network);
  if (a.cpu_millis >= 0 || a.memory_mb >= 0 || a.timeout_ms >= 0) {
    w.Key("resources").BeginObject();
    if (a.cpu_millis >= 0) w.Field("cpuMillis", a.cpu_millis);
    if (a.memory_mb >= 0) w.Field("memoryMB", a.memory_mb);
    if (a.timeout_ms >= 0) w.Field("timeoutMs", a.timeout_ms);
    w.EndObject();
  }
  if (!a.ports.empty()) {
    w.Key("ports").BeginArray();
    for (const std::string& p : a.ports) {
      const std::size_t eq = p.find('=');
      const std::string number = eq == std::string::npos ? p : p.substr(eq + 1);
      if (number.empty() || number.size() > 5 ||
          number.find_first_not_of("0123456789") != std::string::npos) {
        throw CtlError(kExitUsage, "--port wants PORT or NAME=PORT, not " + p);
      }
      w.BeginObject().Field("port", std::stol(number));
      if (eq != std::string::npos) w.Field("name", p.substr(0, eq));
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return body;
}

void PrintSessionLine(Ctl& ctl, const Json& s) {
  std::string line = "session " + Text(s, "id") + " " + ctl.out().State(Cell(Text(s, "status")));
  if (const std::string reason = Text(s, "reason", ""); !reason.empty()) line += ": " + Cell(reason);
  ctl.out().Line(line);
}

}  // namespace

void AddSessionCommands(CLI::App& app, Ctl& ctl) {
  CLI::App* g = Group(app, "sessions", "Commands in a sandbox or container (docs/sessions.md)");

  auto a = std::make_shared<SessionArgs>();
  CLI::App* create = Command(g, ctl, "create", "Start a session: [options] [-- command args...]", [&ctl, a] {
    HttpResponse r = ctl.api().Call("POST", "/v1/sessions", CreateBody(*a));
    if (!PrintedJson(ctl, r.body)) PrintSessionLine(ctl, Body(r));
  });
  create->add_option("command", a->command, "The command and its arguments (after --)");
  create->add_option("--image", a->image, "Container image (default: the sandbox runs the command)");
  create->add_option("-e,--env", a->env, "NAME=value (repeatable)");
  create->add_option("-p,--port", a->ports, "PORT or NAME=PORT to expose (repeatable)");
  create->add_option("-w,--workdir", a->work_dir, "Absolute working directory");
  create->add_option("--network", a->network, "none, outgoing or exposed");
  create->add_option("--cpu-millis", a->cpu_millis, "CPU limit in thousandths of a core");
  create->add_option("--memory-mb", a->memory_mb, "Memory limit in MiB");
  create->add_option("--timeout-ms", a->timeout_ms, "Stop the session after this long");

  a = std::make_shared<SessionArgs>();
  CLI::App* list = Command(g, ctl, "list", "Sessions, newest first", [&ctl, a] {
    std::string path = "/v1/sessions?limit=" + std::to_string(a->limit);
    if (!a->status.empty()) path += "&status=" + Seg(a->status);
    if (!a->cursor.empty()) path += "&cursor=" + Seg(a->cursor);
    HttpResponse r = ctl.api().Call("GET", path);
    if (PrintedJson(ctl, r.body)) return;
    Json body = Body(r);
    Table t({"ID", "STATUS", "IMAGE", "COMMAND", "CREATED"});
    for (const Json& s : Items(body, "sessions")) {
      std::string command;
      for (const Json& arg : Items(s, "command")) {
        command += (command.empty() ? "" : " ") + (arg.is_string() ? arg.as_string() : ToJson(arg));
      }
      t.Row({Text(s, "id"), ctl.out().State(Cell(Text(s, "status"))), Cell(Text(s, "image"), 40),
             Cell(command.empty() ? "-" : command, 50), Text(s, "createdAt")});
    }
    t.Print(ctl.out());
    if (const std::string next = Text(body, "nextCursor", ""); !next.empty()) {
      ctl.out().Line(ctl.out().Paint("more: --cursor " + Cell(next), Colour::kDim));
    }
  });
  list->add_option("--status", a->status, "Only sessions in this status");
  list->add_option("--limit", a->limit, "Sessions per page")->check(CLI::Range(1, 1000));
  list->add_option("--cursor", a->cursor, "Continue after a previous page");

  a = std::make_shared<SessionArgs>();
  CLI::App* show = Command(g, ctl, "show", "A session's envelope", [&ctl, a] {
    HttpResponse r = ctl.api().Call("GET", "/v1/sessions/" + Seg(a->id));
    if (!PrintedJson(ctl, r.body)) PrintFields(ctl.out(), Body(r));
  });
  show->add_option("id", a->id, "Session id")->required();

  for (const char* verb : {"stop", "resume", "upgrade"}) {
    a = std::make_shared<SessionArgs>();
    const std::string help = std::string(verb) == "stop"     ? "Stop a session (its workspace stays)"
                             : std::string(verb) == "resume" ? "Run a stopped session's command again"
                                                             : "Restart a session on its image's newest version";
    CLI::App* c = Command(g, ctl, verb, help, [&ctl, a, verb] {
      HttpResponse r = ctl.api().Call("POST", "/v1/sessions/" + Seg(a->id) + "/" + verb);
      if (!PrintedJson(ctl, r.body)) PrintSessionLine(ctl, Body(r));
    });
    c->add_option("id", a->id, "Session id")->required();
  }

  a = std::make_shared<SessionArgs>();
  CLI::App* del = Command(g, ctl, "delete", "Delete a session and its workspace", [&ctl, a] {
    ctl.api().Call("DELETE", "/v1/sessions/" + Seg(a->id));
    if (ctl.out().json) {
      std::string text;
      JsonWriter(&text).BeginObject().Field("id", a->id).Field("deleted", true).EndObject();
      ctl.out().Line(text);
    } else {
      ctl.out().Line("deleted session " + a->id);
    }
  });
  del->add_option("id", a->id, "Session id")->required();

  a = std::make_shared<SessionArgs>();
  CLI::App* attach = Command(g, ctl, "attach",
                             "Interactive terminal on a session's stdio (Ctrl-] detaches); "
                             "exits with the command's status",
                             [&ctl, a] {
    const int status = AttachSession(ctl.api().settings(), a->id);
    if (status != 0) throw CtlError(status, "the session's command exited with status " + std::to_string(status));
  });
  attach->add_option("id", a->id, "Session id")->required();
}

}  // namespace agentcore::ctl
