// SPDX-License-Identifier: Apache-2.0
// agentctl (tools/agentctl, docs/agentctl.md) as a user runs it: the built binary as a child
// process against a real agentcore-server on 127.0.0.1 (SQLite, dev auth, the real echo and
// builder agents on the local runtime, sessions on the bubblewrap sandbox), with an
// administrator API key made by `agentcore api-key create` on the server's database. Every
// command runs at least once with --json and its output is parsed; errors are checked by
// their exit codes (docs/agentctl.md "Exit codes").
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>

#include "agentctl/ctl_process.hpp"
#include "support/run_command.hpp"
#include "support/server_child.hpp"
#include "support/server_client.hpp"
#include "support/temp_dir.hpp"

namespace agentcore::testing {
namespace {

using namespace std::chrono_literals;

// The server, its database and the keys, shared by the cases (a server start is most of a
// case's time otherwise). Cases use channels, projects and keys of their own names.
struct World {
  TempDir dir;
  int port = FreePort();
  std::unique_ptr<ChildServer> server;
  std::string space_id;
  std::string admin_key;
  std::string user_key;  // not an administrator

  World() {
    const std::string db = dir.path() + "/agentcore.db";
    server = std::make_unique<ChildServer>(
        std::vector<std::string>{AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port",
                                 std::to_string(port), "--database-url", "sqlite://" + db,
                                 "--data-dir", dir.path() + "/data", "--auth-mode", "dev",
                                 "--no-access-log", "--threads", "2", "--shutdown-grace-ms",
                                 "2000",
                                 // Every case's requests on one key: no per-key or per-IP limit.
                                 "--requests-per-minute", "0", "--ip-requests-per-minute", "0"},
        port, dir.path());
    REQUIRE_MESSAGE(server->Start(), server->Stderr());
    ServerClient client(server->Url(""));
    client.Login("ctl");
    space_id = client.space_id();
    admin_key = MakeKey(db, "admin", true);
    user_key = MakeKey(db, "user", false);
  }

  std::string MakeKey(const std::string& db, const std::string& name, bool admin) {
    std::vector<std::string> args = {AGENTCORE_CLI, "api-key", "--database-url", "sqlite://" + db,
                                     "create", "--space-id", space_id, "--name", name};
    if (admin) args.push_back("--admin");
    std::string out;
    REQUIRE_MESSAGE(RunCommand(args, &out) == 0, out);
    auto key = ParseJson(out.substr(0, out.find('\n')));
    REQUIRE_MESSAGE(key.ok(), out);
    return *key->FindString("key");
  }

  std::string url() const { return server->Url(""); }
  std::string config_home() const { return dir.path() + "/config"; }
};

World& Shared() {
  static World world;
  return world;
}

// agentctl with `args` against the shared server (URL and admin key from the environment
// unless `env` says otherwise), stdin from `input`.
CtlResult Ctl(std::vector<std::string> args, std::vector<std::string> env = {},
              const std::string& input = {}, std::chrono::milliseconds timeout = 60s) {
  World& w = Shared();
  std::vector<std::string> full = {AGENTCTL_BIN};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<std::string> environment = {"AGENTCORE_URL=" + w.url(),
                                          "AGENTCORE_API_KEY=" + w.admin_key,
                                          "XDG_CONFIG_HOME=" + w.config_home()};
  environment.insert(environment.end(), env.begin(), env.end());
  CtlProcess p(full, environment);
  REQUIRE(p.Start(input));
  return p.Wait(timeout);
}

// Ctl() with --json; REQUIREs exit 0 and returns stdout parsed.
Json CtlJson(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), "--json");  // before a `--` that ends the options
  CtlResult r = Ctl(args, env);
  REQUIRE_MESSAGE(r.code == 0, "exit " << r.code << "\nstdout: " << r.out << "\nstderr: " << r.err);
  auto parsed = ParseJson(r.out);
  REQUIRE_MESSAGE(parsed.ok(), r.out);
  return *parsed;
}

// The lines of --json output that prints one JSON value per line.
std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::string line = text.substr(start, nl - start);
    start = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty()) continue;
    auto v = ParseJson(line);
    REQUIRE_MESSAGE(v.ok(), line);
    out.push_back(*v);
  }
  return out;
}

std::string Str(const Json& v, const char* key) {
  const std::string* s = v.FindString(key);
  return s != nullptr ? *s : std::string();
}

TEST_SUITE("agentctl") {
  TEST_CASE("status: health, readiness and a working credential; --json carries the server's answers") {
    CtlResult human = Ctl({"status"});
    CHECK_MESSAGE(human.code == 0, human.err);
    CHECK(human.out.find("HEALTH") != std::string::npos);
    CHECK(human.out.find("\033[") == std::string::npos);  // a pipe gets no colours
    Json j = CtlJson({"status"});
    CHECK(Str(*j.Find("health"), "status") == "ok");
    CHECK(j.Find("ready")->Find("ready")->as_bool());
    CHECK(Str(j, "credentials") == "ok");
  }

  TEST_CASE("a server that is not there: exit 3 with the URL in the message") {
    const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort());
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"status"}, {"channels", "list"}, {"messages", "tail", "x", "-f"},
          {"sessions", "attach", "x"}}) {
      CAPTURE(args[0]);
      CtlResult r = Ctl(args, {"AGENTCORE_URL=" + dead});
      CHECK(r.code == 3);
      CHECK(r.err.find("127.0.0.1") != std::string::npos);
    }
  }

  TEST_CASE("a bad or missing key: exit 4; a non-administrator key on admin commands: exit 4") {
    CHECK(Ctl({"channels", "list"}, {"AGENTCORE_API_KEY=ak_not_a_key"}).code == 4);
    CHECK(Ctl({"channels", "list"}, {"AGENTCORE_API_KEY="}).code == 4);
    CtlResult status = Ctl({"status"}, {"AGENTCORE_API_KEY=ak_not_a_key"});
    CHECK(status.code == 4);
    const std::string user = "AGENTCORE_API_KEY=" + Shared().user_key;
    CHECK(Ctl({"channels", "list"}, {user}).code == 0);
    CtlResult keys = Ctl({"keys", "list"}, {user});
    CHECK(keys.code == 4);
    CHECK(keys.err.find("administrator API key required") != std::string::npos);
    CHECK(Ctl({"invite-codes", "list"}, {user}).code == 4);
    CHECK(Ctl({"invite-codes", "generate"}, {user}).code == 4);
  }

  TEST_CASE("usage errors exit 2: no command, unknown command, missing argument, bad values, bad URL") {
    CHECK(Ctl({}).code == 2);
    CHECK(Ctl({"frobnicate"}).code == 2);
    CHECK(Ctl({"channels", "create"}).code == 2);
    CHECK(Ctl({"messages", "list", "x", "--limit", "5000"}).code == 2);
    CHECK(Ctl({"completions", "fish"}).code == 2);
    CHECK(Ctl({"channels", "list"}, {"AGENTCORE_URL=ftp://example"}).code == 2);
    CHECK(Ctl({"sessions", "create", "--env", "NOEQUALS", "--", "true"}).code == 2);
    CtlResult help = Ctl({"--help"});
    CHECK(help.code == 0);
    CHECK(help.out.find("Exit codes") != std::string::npos);
  }

  TEST_CASE("settings: flag over env over the config file; config set writes a 0600 file") {
    World& w = Shared();
    const std::string home = w.dir.path() + "/xdg-settings";
    const std::vector<std::string> no_env = {"AGENTCORE_URL=", "AGENTCORE_API_KEY=",
                                             "XDG_CONFIG_HOME=" + home};
    Json defaults = CtlJson({"config", "show"}, no_env);
    CHECK(Str(defaults, "url") == "http://127.0.0.1:3000");
    CHECK(Str(defaults, "urlFrom") == "default");
    REQUIRE(Ctl({"config", "set", "url", w.url()}, no_env).code == 0);
    REQUIRE(Ctl({"config", "set", "api-key", w.admin_key}, no_env).code == 0);
    struct stat st {};
    REQUIRE(::stat((home + "/agentctl/config").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    // The file alone reaches the server.
    Json file_only = CtlJson({"config", "show"}, no_env);
    CHECK(Str(file_only, "urlFrom") == "file");
    CHECK(Str(file_only, "apiKeyFrom") == "file");
    CHECK(Str(file_only, "apiKey").find(w.admin_key.substr(9)) == std::string::npos);  // masked
    CHECK(Ctl({"channels", "list"}, no_env).code == 0);
    // The environment beats the file, a flag beats both.
    std::vector<std::string> env = no_env;
    env.push_back("AGENTCORE_URL=http://127.0.0.1:1");
    CHECK(Str(CtlJson({"config", "show"}, env), "urlFrom") == "env");
    CHECK(Ctl({"channels", "list"}, env).code == 3);
    CHECK(Ctl({"channels", "list", "--url", w.url()}, env).code == 0);
    CHECK(Str(CtlJson({"config", "show", "--url", w.url()}, env), "urlFrom") == "flag");
    // A broken file is a usage error, named.
    std::ofstream(home + "/agentctl/config") << "{\"url\": 42}";
    CtlResult broken = Ctl({"channels", "list"}, no_env);
    CHECK(broken.code == 2);
    CHECK(broken.err.find("\"url\" must be a string") != std::string::npos);
    CHECK(Ctl({"config", "set", "colour", "x"}, no_env).code == 2);
  }

  TEST_CASE("channels: create, list, show by name or id; unknown: 5; duplicate name: 1") {
    Json created = CtlJson({"channels", "create", "ctl-channels", "--tagline", "for agentctl"});
    const std::string id = Str(*created.Find("channel"), "id");
    REQUIRE(!id.empty());
    Json list = CtlJson({"channels", "list"});
    bool listed = false;
    for (const Json& c : list.Find("channels")->as_array()) listed = listed || Str(c, "id") == id;
    CHECK(listed);
    CHECK(Str(*CtlJson({"channels", "show", "ctl-channels"}).Find("channel"), "id") == id);
    CHECK(Str(*CtlJson({"channels", "show", id}).Find("channel"), "tagline") == "for agentctl");
    CtlResult table = Ctl({"channels", "list"});
    CHECK(table.out.find("ctl-channels") != std::string::npos);
    CtlResult unknown = Ctl({"channels", "show", "no-such-channel"});
    CHECK(unknown.code == 5);
    CHECK(unknown.err.find("Channel not found") != std::string::npos);
    CtlResult twice = Ctl({"channels", "create", "ctl-channels"});
    CHECK(twice.code == 1);
    CHECK(twice.err.find("409") != std::string::npos);
  }

  TEST_CASE("messages: post, list, tail; tail -f prints a message posted after it started") {
    CtlJson({"channels", "create", "ctl-messages"});
    Json posted = CtlJson({"messages", "post", "ctl-messages", "first one", "--sender", "tester"});
    CHECK(Str(*posted.Find("message"), "content") == "first one");
    Json list = CtlJson({"messages", "list", "ctl-messages"});
    REQUIRE(list.Find("messages")->as_array().size() == 1);
    CHECK(Str(list.Find("messages")->as_array()[0], "sender") == "tester");
    CtlResult tail = Ctl({"messages", "tail", "ctl-messages"});
    CHECK(tail.code == 0);
    CHECK(tail.out.find("tester: first one") != std::string::npos);

    World& w = Shared();
    CtlProcess follow({AGENTCTL_BIN, "messages", "tail", "ctl-messages", "-f"},
                      {"AGENTCORE_URL=" + w.url(), "AGENTCORE_API_KEY=" + w.admin_key,
                       "XDG_CONFIG_HOME=" + w.config_home()});
    REQUIRE(follow.Start());
    REQUIRE_MESSAGE(follow.ReadUntil("first one", 10s), follow.out());
    // Posted after tail -f printed the history: it must arrive over the event stream.
    REQUIRE(Ctl({"messages", "post", "ctl-messages", "second, live", "--sender", "tester"}).code == 0);
    CHECK_MESSAGE(follow.ReadUntil("tester: second, live", 10s), follow.out());
    CtlResult stopped = follow.Stop(SIGTERM);
    CHECK(stopped.out.find("first one") == stopped.out.rfind("first one"));  // not twice

    // --json -f: one frame per line, the live one with the message's id.
    CtlProcess json_follow({AGENTCTL_BIN, "messages", "tail", "ctl-messages", "-f", "-n", "0", "--json"},
                           {"AGENTCORE_URL=" + w.url(), "AGENTCORE_API_KEY=" + w.admin_key,
                            "XDG_CONFIG_HOME=" + w.config_home()});
    REQUIRE(json_follow.Start());
    // Without history there is no Last-Event-ID: post until the subscription sees one.
    bool seen = false;
    for (int i = 0; i < 20 && !seen; ++i) {
      REQUIRE(Ctl({"messages", "post", "ctl-messages", "json live", "--sender", "tester"}).code == 0);
      seen = json_follow.ReadUntil("json live", 500ms);
    }
    CHECK(seen);
    CtlResult frames = json_follow.Stop(SIGTERM);
    const std::string first_line = frames.out.substr(0, frames.out.find('\n'));
    auto frame = ParseJson(first_line);
    REQUIRE_MESSAGE(frame.ok(), frames.out);
    CHECK(Str(*frame->Find("v"), "content") == "json live");

    CHECK(Ctl({"messages", "list", "no-such-channel"}).code == 5);
    CHECK(Ctl({"messages", "tail", "no-such-channel", "-f"}).code == 5);
    CHECK(Ctl({"messages", "post", "ctl-messages", ""}).code == 1);  // 400 from the server
  }

  TEST_CASE("agents: add --wait sees the echo agent check in; list, pause, resume, logs, dismiss") {
    CtlJson({"channels", "create", "ctl-agents"});
    CtlResult added = Ctl({"agents", "add", "ctl-agents", "echo1", "--wait", "--wait-seconds", "30"});
    REQUIRE_MESSAGE(added.code == 0, added.err);
    CHECK(added.out.find("checked in") != std::string::npos);
    Json roster = CtlJson({"agents", "list", "ctl-agents"});
    REQUIRE(roster.Find("roster")->as_array().size() == 1);
    CHECK(Str(roster.Find("roster")->as_array()[0], "callsign") == "echo1");
    CHECK(Str(CtlJson({"agents", "pause", "ctl-agents", "echo1"}), "status") == "paused");
    CtlResult again = Ctl({"agents", "pause", "ctl-agents", "echo1"});
    CHECK(again.code == 1);
    CHECK(again.err.find("already paused") != std::string::npos);
    CHECK(Str(CtlJson({"agents", "resume", "ctl-agents", "echo1"}), "status") == "active");
    // The echo agent logs its check-in: the log has it, and -f prints it and keeps following.
    CtlResult logs = Ctl({"agents", "logs", "ctl-agents", "echo1"});
    CHECK_MESSAGE(logs.code == 0, logs.err);
    CHECK(logs.out.find("checked in") != std::string::npos);
    World& w = Shared();
    CtlProcess follow({AGENTCTL_BIN, "agents", "logs", "ctl-agents", "echo1", "-f"},
                      {"AGENTCORE_URL=" + w.url(), "AGENTCORE_API_KEY=" + w.admin_key});
    REQUIRE(follow.Start());
    CHECK_MESSAGE(follow.ReadUntil("checked in", 10s), follow.out());
    CtlResult followed = follow.Stop(SIGTERM);
    CHECK(followed.code == 128 + SIGTERM);  // still following when stopped
    CHECK(Ctl({"agents", "dismiss", "ctl-agents", "echo1"}).code == 0);
    CHECK(Ctl({"agents", "pause", "ctl-agents", "nobody"}).code == 5);
    CHECK(Ctl({"agents", "logs", "ctl-agents", "nobody"}).code == 5);
  }

  TEST_CASE("runs: create --wait follows the real builder to success; list, show, stream, download, cancel") {
    World& w = Shared();
    CtlResult created = Ctl({"runs", "create", "ctl-project", "count these four words", "--wait"});
    REQUIRE_MESSAGE(created.code == 0, created.out << created.err);
    CHECK(created.out.find("run succeeded") != std::string::npos);
    Json runs = CtlJson({"runs", "list", "ctl-project"});
    REQUIRE(runs.Find("runs")->as_array().size() == 1);
    const std::string run = Str(runs.Find("runs")->as_array()[0], "id");
    CHECK(Str(CtlJson({"runs", "show", "ctl-project", run}), "status") == "succeeded");
    // The whole event history again, as JSON lines ending with done.
    CtlResult stream = Ctl({"runs", "stream", "ctl-project", run, "--json"});
    REQUIRE(stream.code == 0);
    std::vector<Json> events = JsonLines(stream.out);
    REQUIRE(!events.empty());
    CHECK(Str(events.back(), "event") == "done");
    CHECK(Str(*events.front().Find("data"), "status") == "queued");
    // The workspace zip, to a named file.
    const std::string zip = w.dir.path() + "/run.zip";
    CtlResult download = Ctl({"runs", "download", "ctl-project", run, "-o", zip, "--json"});
    REQUIRE_MESSAGE(download.code == 0, download.err);
    std::ifstream in(zip, std::ios::binary);
    char magic[2] = {};
    in.read(magic, 2);
    CHECK(std::string(magic, 2) == "PK");
    CHECK(!std::filesystem::exists(zip + ".part"));
    // A finished run cannot be cancelled: 409, exit 1.
    CtlResult cancel = Ctl({"runs", "cancel", "ctl-project", run});
    CHECK(cancel.code == 1);
    CHECK(cancel.err.find("conflict") != std::string::npos);
    CHECK(Ctl({"runs", "show", "ctl-project", "01JNOSUCHRUN0000000000000"}).code == 5);
    CHECK(Ctl({"runs", "stream", "no-project", "01JNOSUCHRUN0000000000000"}).code == 5);
  }

  TEST_CASE("sessions: create on the sandbox, attach through pipes, stop, resume, delete") {
    Json created = CtlJson({"sessions", "create", "--", "/bin/sh", "-c",
                            "read line; echo \"got $line\"; echo oops >&2; exit 7"});
    const std::string id = Str(created, "id");
    REQUIRE_MESSAGE(Str(created, "status") == "running", ToJson(created));
    Json list = CtlJson({"sessions", "list"});
    bool listed = false;
    for (const Json& s : list.Find("sessions")->as_array()) listed = listed || Str(s, "id") == id;
    CHECK(listed);
    // stdin from a pipe, then EOF; the command's stdout and stderr come back on ours, and its
    // exit status becomes ours.
    CtlResult attached = Ctl({"sessions", "attach", id}, {}, "hello\n", 30s);
    CHECK(attached.out.find("got hello") != std::string::npos);
    CHECK(attached.err.find("oops") != std::string::npos);
    CHECK_MESSAGE(attached.code == 7, attached.err);
    // A command that exits non-zero on its own leaves its session failed (docs/sessions.md).
    Json ended = CtlJson({"sessions", "show", id});
    CHECK(Str(ended, "status") == "failed");
    CHECK(ended.Find("exitCode")->as_number() == 7);
    // Resume runs the command again; stop stops it; delete removes it.
    Json resumed = CtlJson({"sessions", "resume", id});
    CHECK(Str(resumed, "status") == "running");
    Json upgraded = CtlJson({"sessions", "upgrade", id});  // restarted: a new generation
    CHECK(upgraded.Find("generation")->as_number() > resumed.Find("generation")->as_number());
    CHECK(Str(CtlJson({"sessions", "stop", id}), "status") == "stopped");
    CHECK(Ctl({"sessions", "delete", id}).code == 0);
    CHECK(Ctl({"sessions", "show", id}).code == 5);
    CHECK(Ctl({"sessions", "attach", id}).code == 5);
    CHECK(Ctl({"sessions", "stop", "no-such-session"}).code == 5);
    CHECK(Ctl({"sessions", "create", "--workdir", "relative", "--", "true"}).code == 1);
  }

  TEST_CASE("keys: create (shown once), list, revoke; a revoked key is refused") {
    Json created = CtlJson({"keys", "create", "ctl-made", "--requests-per-minute", "600"});
    const std::string key = Str(created, "key");
    const std::string id = Str(created, "id");
    REQUIRE(!key.empty());
    CHECK(Ctl({"channels", "list"}, {"AGENTCORE_API_KEY=" + key}).code == 0);
    Json list = CtlJson({"keys", "list"});
    bool listed = false;
    for (const Json& k : list.Find("keys")->as_array()) {
      listed = listed || Str(k, "id") == id;
      CHECK(k.Find("key") == nullptr);  // never the key itself
    }
    CHECK(listed);
    CHECK(Ctl({"keys", "revoke", id}).code == 0);
    CHECK(Ctl({"channels", "list"}, {"AGENTCORE_API_KEY=" + key}).code == 4);
    CHECK(Ctl({"keys", "revoke", "no-such-key"}).code == 5);
    CHECK(Ctl({"keys", "create", "x", "--tier", "no-such-tier"}).code == 1);
  }

  TEST_CASE("invite-codes: generate, list, revoke over HTTP; a code registers an account once") {
    Json generated = CtlJson({"invite-codes", "generate", "--count", "2", "--ttl-hours", "1"});
    const JsonArray& codes = generated.Find("inviteCodes")->as_array();
    REQUIRE(codes.size() == 2);
    const std::string code = Str(codes[0], "code");
    CHECK(code.rfind("inv_", 0) == 0);
    Json list = CtlJson({"invite-codes", "list"});
    bool listed = false;
    for (const Json& c : list.Find("inviteCodes")->as_array()) {
      listed = listed || Str(c, "id") == Str(codes[1], "id");
      CHECK(c.Find("code") == nullptr);
    }
    CHECK(listed);
    // The generated code works for registration.
    ServerClient client(Shared().url());
    HttpResponse reg = client.Call(
        "POST", "/api/auth/register",
        R"({"inviteCode":")" + code + R"(","email":"ctl@example.com","password":"long enough"})");
    CHECK_MESSAGE(reg.status == 201, reg.body);
    CHECK(Ctl({"invite-codes", "revoke", Str(codes[1], "id")}).code == 0);
    CHECK(Ctl({"invite-codes", "revoke", "no-such-code"}).code == 5);
    CHECK(Ctl({"invite-codes", "generate", "--count", "0"}).code == 2);
  }

  TEST_CASE("the invite-code routes refuse bad bodies and callers without a key") {
    ServerClient client(Shared().url());
    HttpResponse anonymous = client.Call("GET", "/v1/invite-codes");
    CHECK(anonymous.status == 401);
    client.Login("ctl-invites");  // a dev session is no administrator key
    CHECK(client.Call("POST", "/v1/invite-codes", "{}").status == 403);
    ServerClient admin(Shared().url());
    auto call = [&](const std::string& body) {
      HttpRequest req;
      req.method = "POST";
      req.url = Shared().url() + "/v1/invite-codes";
      req.body = body;
      req.headers = {{"Authorization", "Bearer " + Shared().admin_key}};
      auto r = NewHttpClient()->Send(req);
      REQUIRE(r.ok());
      return *r;
    };
    CHECK(call("{\"count\":0}").status == 400);
    CHECK(call("{\"count\":101}").status == 400);
    CHECK(call("{\"count\":1.5}").status == 400);
    CHECK(call("{\"ttlHours\":-1}").status == 400);
    CHECK(call("{\"ttlHours\":876001}").status == 400);
    CHECK(call("{\"ttlHours\":1e300}").status == 400);
    CHECK(call("{\"count\":1e300}").status == 400);
    CHECK(call("{\"ttlHours\":876000,\"count\":1}").status == 201);
    CHECK(call("{\"bogus\":1}").status == 400);
    CHECK(call("[1]").status == 400);
    CHECK(call("not json").status == 400);
    HttpResponse ok = call("");
    CHECK(ok.status == 201);
    CHECK(ok.Header("Cache-Control").value_or("") == "no-store");
  }

  TEST_CASE("messages tail -f reconnects with Last-Event-ID after the server restarts") {
    TempDir dir;
    const int port = FreePort();
    ChildServer server({AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port", std::to_string(port),
                        "--database-url", "sqlite://" + dir.path() + "/db", "--data-dir",
                        dir.path() + "/data", "--auth-mode", "dev", "--no-access-log", "--threads",
                        "1"},
                       port, dir.path());
    REQUIRE_MESSAGE(server.Start(), server.Stderr());
    ServerClient client(server.Url(""));
    client.Login("restart");
    const std::string channel = client.CreateChannel("restarts");
    client.PostMessage(channel, "before");
    // The session JWT works as a Bearer credential as an API key does.
    const std::string jwt = client.cookie().substr(client.cookie().find('=') + 1);
    CtlProcess follow({AGENTCTL_BIN, "messages", "tail", "restarts", "-f"},
                      {"AGENTCORE_URL=" + server.Url(""), "AGENTCORE_API_KEY=" + jwt});
    REQUIRE(follow.Start());
    REQUIRE_MESSAGE(follow.ReadUntil("before", 10s), follow.out());
    server.Stop(SIGKILL);
    // Stored while agentctl had no connection: it must come with the replay after the restart.
    REQUIRE_MESSAGE(server.Start(), server.Stderr());
    ServerClient again(server.Url(""));
    again.ShareSession(client);
    again.PostMessage(channel, "while away");
    CHECK_MESSAGE(follow.ReadUntil("while away", 20s), follow.out());
    again.PostMessage(channel, "after");
    CHECK_MESSAGE(follow.ReadUntil("after", 10s), follow.out());
    CtlResult r = follow.Stop(SIGTERM);
    CHECK_MESSAGE(r.err.find("reconnecting") != std::string::npos, "exit " << r.code << ": " << r.err);
    CHECK(r.out.find("before") == r.out.rfind("before"));  // the replay starts after the last seen
  }

  TEST_CASE("on a terminal: colours and a live progress line; NO_COLOR and --no-color turn colours off") {
    // `script` runs agentctl on a pseudo-terminal (util-linux, always installed on Debian).
    World& w = Shared();
    auto on_tty = [&](const std::string& command, const std::string& extra_env = "") {
      std::string out;
      const int rc = RunCommand({"env", "AGENTCORE_URL=" + w.url(), "AGENTCORE_API_KEY=" + w.admin_key,
                                 "XDG_CONFIG_HOME=" + w.config_home(), "TERM=xterm", "NO_COLOR=" + extra_env,
                                 "script", "-qec", std::string(AGENTCTL_BIN) + " " + command, "/dev/null"},
                                &out);
      CHECK_MESSAGE(rc == 0, out);
      return out;
    };
    CHECK(on_tty("status").find("\033[32mok\033[0m") != std::string::npos);
    CHECK(on_tty("status", "1").find("\033[") == std::string::npos);
    CHECK(on_tty("status --no-color").find("\033[") == std::string::npos);
    // A run followed on a terminal draws its phase on a line it rewrites (\r, erase line).
    const std::string run = on_tty("runs create ctl-tty 'two words' --wait");
    CHECK(run.find("\r\033[Krun ") != std::string::npos);
    CHECK(run.find("succeeded") != std::string::npos);
    // Not on a pipe.
    CtlResult piped = Ctl({"runs", "list", "ctl-tty"});
    CHECK(piped.out.find("\033[") == std::string::npos);
    CHECK(piped.err.find("\033[") == std::string::npos);
  }

  TEST_CASE("completions: bash and zsh scripts from the command tree; both parse, bash completes") {
    TempDir dir;
    CtlResult bash = Ctl({"completions", "bash"});
    REQUIRE(bash.code == 0);
    const std::string script = dir.path() + "/agentctl.bash";
    std::ofstream(script) << bash.out;
    std::string out;
    CHECK_MESSAGE(RunCommand({"bash", "-n", script}, &out) == 0, out);
    // Completing `agentctl invite-codes re` offers `revoke`; `agentctl ch` offers `channels`.
    const std::string probe =
        "source " + script +
        "; COMP_WORDS=(agentctl invite-codes re); COMP_CWORD=2; _agentctl; echo \"${COMPREPLY[*]}\";"
        " COMP_WORDS=(agentctl --json ch); COMP_CWORD=2; _agentctl; echo \"${COMPREPLY[*]}\";"
        " COMP_WORDS=(agentctl runs create --); COMP_CWORD=3; _agentctl; echo \"${COMPREPLY[*]}\"";
    REQUIRE(RunCommand({"bash", "-c", probe}, &out) == 0);
    CHECK(out.find("revoke\n") != std::string::npos);
    CHECK(out.find("channels\n") != std::string::npos);
    CHECK(out.find("--idempotency-key") != std::string::npos);
    CtlResult zsh = Ctl({"completions", "zsh"});
    REQUIRE(zsh.code == 0);
    CHECK(zsh.out.rfind("#compdef agentctl", 0) == 0);
    CHECK(zsh.out.find("'agentctl_sessions_attach')") != std::string::npos);
    const std::string zsh_script = dir.path() + "/_agentctl";
    std::ofstream(zsh_script) << zsh.out;
    CHECK_MESSAGE(RunCommand({"zsh", "-n", zsh_script}, &out) == 0, out);  // zsh: install-deps
  }

  TEST_CASE("docs/embedding.md's terminal example runs as printed") {
    // examples/agentctl/quickstart.sh is the example; the doc shows it verbatim.
    const std::string example = ReadWholeFile(AGENTCORE_SOURCE_DIR "/examples/agentctl/quickstart.sh");
    const std::string doc = ReadWholeFile(AGENTCORE_SOURCE_DIR "/docs/embedding.md");
    REQUIRE(!example.empty());
    const std::string body = example.substr(example.find("agentctl status"));
    CHECK_MESSAGE(doc.find(body) != std::string::npos,
                  "docs/embedding.md does not show examples/agentctl/quickstart.sh as it is");
    const std::string bin_dir = std::filesystem::path(AGENTCTL_BIN).parent_path().string();
    std::string out;
    const int rc = RunCommand({"env", "PATH=" + bin_dir + ":/usr/bin:/bin",
                               "AGENTCORE_URL=" + Shared().url(),
                               "AGENTCORE_API_KEY=" + Shared().admin_key,
                               "XDG_CONFIG_HOME=" + Shared().config_home(), "bash",
                               AGENTCORE_SOURCE_DIR "/examples/agentctl/quickstart.sh"},
                              &out);
    CHECK_MESSAGE(rc == 0, out);
    CHECK(out.find("to @echo") != std::string::npos);  // the post was routed to the agent
  }
}

}  // namespace
}  // namespace agentcore::testing
