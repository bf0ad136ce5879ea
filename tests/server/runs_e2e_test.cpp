// SPDX-License-Identifier: Apache-2.0
// A run end to end over HTTP (docs/runs.md): a project, a run "create hello.txt with hi" that
// the real builder-agent (examples/builder-agent, on the local runtime) plans and builds, its
// event stream until done, and hello.txt in the workspace's download.zip.
//
// The cases after the first run real agentcore-server processes (server_process.hpp's way:
// posix_spawn, SIGTERM or SIGKILL, a new process on the same database and data directory) on
// the backend of the pass (SQLite, or a fresh PostgreSQL schema with
// AGENTCORE_SERVER_TEST_BACKEND=postgres), with the real builder-agent on the local runtime,
// and a client that follows Platform Agent's documented flow over HTTP: create the project,
// create a run with an Idempotency-Key, stream it, continue with a message, cancel, download.
// Builder processes are found in the process table by the CAST_API_URL of their server.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "server/raw_client.hpp"
#include "server/server_fixture.hpp"
#include "server/server_process.hpp"
#include "support/process_table.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

#ifdef AGENTCORE_BUILDER_AGENT
constexpr std::string_view kKey = "e2e-agent-api-key-0123456789";

/// The output of `command` (stdout), or nullopt when it fails.
std::optional<std::string> Capture(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  if (::pclose(pipe) != 0) return std::nullopt;
  return out;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

/// What a server's state lives on across restarts: the database of the pass (a SQLite file, or
/// a fresh PostgreSQL schema with AGENTCORE_SERVER_TEST_BACKEND=postgres) and a data directory.
/// Declared before the servers of a test, so that it outlives them.
class Storage {
 public:
  Storage() {
    REQUIRE(!dir_.path().empty());
    if (ServerFixture::UsePostgres()) {
#if AGENTCORE_SERVER_TESTS_WITH_PG
      pg_ = std::make_unique<agentcore::testing::PgTestSchema>();
      url_ = pg_->url();
#else
      FAIL("AGENTCORE_SERVER_TEST_BACKEND=postgres, but built without PostgreSQL");
#endif
    } else {
      url_ = "sqlite://" + dir_.File("server.db");
    }
  }
  const std::string& database_url() const { return url_; }
  std::string data_dir() const { return dir_.File("data"); }
  std::string File(const std::string& name) const { return dir_.File(name); }
  /// The host workspace of `project` of the X-Agent-Api-Key callers (space "platform").
  std::string Workspace(const std::string& project) const {
    return data_dir() + "/projects/platform/" + project + "/workspace";
  }

 private:
  agentcore::testing::TempDir dir_;
#if AGENTCORE_SERVER_TESTS_WITH_PG
  std::unique_ptr<agentcore::testing::PgTestSchema> pg_;
#endif
  std::string url_;
};

/// The pids of the live builder-agent processes whose CAST_API_URL names `port` (the agents
/// of the servers on that port, orphans of a killed one included; zombies are not counted).
std::set<pid_t> BuilderPids(int port) {
  return agentcore::testing::AgentPids(AGENTCORE_BUILDER_AGENT, port);
}
using agentcore::testing::Alive;

/// Polls `done` every 20 ms until it holds or `timeout` passes; whether it held.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

/// The real agentcore-server as a child process on `storage`, with AGENT_API_KEY set and the
/// real builder-agent for the agent type builder. Its stderr goes to a log file (shown when a
/// check fails). The destructor stops it with SIGTERM (SIGKILL after 20 s).
class RunServer {
 public:
  RunServer(const Storage& storage, int port, std::vector<std::string> extra = {})
      : port_(port), log_(storage.File("server-" + std::to_string(port) + "-" +
                                       std::to_string(++starts_) + ".log")) {
    std::vector<std::string> args = {AGENTCORE_SERVER_BIN,
                                     "--host", "127.0.0.1",
                                     "--port", std::to_string(port),
                                     "--database-url", storage.database_url(),
                                     "--data-dir", storage.data_dir(),
                                     "--auth-mode", "dev",
                                     "--no-access-log",
                                     "--threads", "2",
                                     "--shutdown-grace-ms", "2000",
                                     // One node restarted, as systemd restarts it: on
                                     // PostgreSQL (clustered) a stable node id is what lets
                                     // the next server requeue its previous life's runs at
                                     // once (docs/cluster.md "Runs").
                                     "--node-id", "runs-e2e",
                                     "--agent-command",
                                     std::string("builder=") + AGENTCORE_BUILDER_AGENT};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).starts_with("AGENT_API_KEY=")) continue;
      env_strings.emplace_back(*e);
    }
    env_strings.push_back("AGENT_API_KEY=" + std::string(kKey));
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(spawned == 0);
    client_ = NewHttpClient();
    const bool up = WaitFor(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;  // exited: fails below
          }
          HttpRequest req;
          req.url = Url("/health");
          req.timeout = 1s;
          auto r = client_->Send(req);
          return r.ok() && r->status == 200;
        },
        20'000ms);
    REQUIRE_MESSAGE((up && pid_ > 0), "agentcore-server did not start: " << Log());
  }
  ~RunServer() { Stop(SIGTERM); }
  RunServer(const RunServer&) = delete;
  RunServer& operator=(const RunServer&) = delete;

  /// Sends `signal` and waits for the exit (SIGKILL after 20 s); whether it exited by itself.
  bool Stop(int signal) {
    if (pid_ <= 0) return true;
    ::kill(pid_, signal);
    int status = 0;
    const bool exited = WaitFor([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                                20'000ms);
    if (!exited) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    return exited;
  }

  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  /// The server's stderr so far (its last 4 KiB).
  std::string Log() const {
    std::ifstream in(log_);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return text.size() > 4096 ? text.substr(text.size() - 4096) : text;
  }

  /// One request with X-Agent-Api-Key (and `extra`); REQUIREs an answer.
  HttpResponse Call(const std::string& method, const std::string& path, std::string body = {},
                    Headers extra = {}) {
    HttpRequest req;
    req.method = method;
    req.url = Url(path);
    req.body = std::move(body);
    req.headers = std::move(extra);
    req.headers.emplace_back("X-Agent-Api-Key", std::string(kKey));
    if (!req.body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.timeout = 30s;
    auto r = client_->Send(req);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return std::move(*r);
  }

  void CreateProject(const std::string& id) {
    HttpResponse r = Call("POST", "/v1/projects", R"({"id":")" + id + R"("})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }

  /// POST …/runs with `body` and `key`: REQUIREs `expected` and returns the run's id.
  std::string CreateRun(const std::string& project, const std::string& body,
                        const std::string& key, int expected = 202) {
    HttpResponse r =
        Call("POST", "/v1/projects/" + project + "/runs", body, {{"Idempotency-Key", key}});
    REQUIRE_MESSAGE(r.status == expected, r.body);
    const Json created = BodyJson(r);
    const std::string* id = created.FindString("id");
    REQUIRE(id != nullptr);
    return *id;
  }

  Json Envelope(const std::string& project, const std::string& run) {
    HttpResponse r = Call("GET", "/v1/projects/" + project + "/runs/" + run);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return BodyJson(r);
  }

 private:
  static inline int starts_ = 0;
  pid_t pid_ = -1;
  int port_;
  std::string log_;
  std::unique_ptr<HttpClient> client_;
};

struct Event {
  std::uint64_t id = 0;
  std::string event;
  Json data;
};

/// The complete events of an SSE response read so far (the head skipped, comments too).
std::vector<Event> ParseEvents(const std::string& response) {
  std::vector<Event> out;
  const std::size_t head = response.find("\r\n\r\n");
  if (head == std::string::npos) return out;
  std::string_view body(response);
  body.remove_prefix(head + 4);
  while (!body.empty()) {
    const std::size_t end = body.find("\n\n");
    if (end == std::string_view::npos) break;
    std::string_view block = body.substr(0, end);
    body.remove_prefix(end + 2);
    Event e;
    bool any = false;
    while (!block.empty()) {
      const std::size_t nl = block.find('\n');
      std::string_view line = block.substr(0, nl);
      block = nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1);
      if (line.starts_with(":")) continue;
      any = true;
      if (line.starts_with("id: ")) {
        e.id = std::stoull(std::string(line.substr(4)));
      } else if (line.starts_with("event: ")) {
        e.event = line.substr(7);
      } else if (line.starts_with("data: ")) {
        auto parsed = ParseJson(line.substr(6));
        REQUIRE_MESSAGE(parsed.ok(), std::string(line));
        e.data = std::move(*parsed);
      } else {
        FAIL("unexpected SSE line: " << std::string(line));
      }
    }
    if (any) out.push_back(std::move(e));
  }
  return out;
}

std::string StatusOf(const Event& e) {
  const std::string* s = e.event == "status" ? e.data.FindString("status") : nullptr;
  return s != nullptr ? *s : std::string();
}

/// A client of GET …/runs/:id/stream on its own connection.
class StreamClient {
 public:
  StreamClient(int port, const std::string& project, const std::string& run,
               std::optional<std::uint64_t> last_event_id = std::nullopt)
      : c_(static_cast<std::uint16_t>(port)) {
    REQUIRE(c_.connected());
    std::string req = "GET /v1/projects/" + project + "/runs/" + run +
                      "/stream HTTP/1.1\r\nHost: x\r\nX-Agent-Api-Key: " + std::string(kKey) +
                      "\r\n";
    if (last_event_id) req += "Last-Event-ID: " + std::to_string(*last_event_id) + "\r\n";
    req += "\r\n";
    REQUIRE(c_.Send(req));
  }

  /// Reads until an event satisfies `match` (true), or the stream closes or `timeout` passes.
  bool WaitForEvent(const std::function<bool(const Event&)>& match,
                    std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (const Event& e : Events()) {
        if (match(e)) return true;
      }
      if (c_.closed() || std::chrono::steady_clock::now() >= deadline) return false;
      c_.ReadUntil("\x01never", 50ms);
    }
  }
  /// Reads until the server closes the stream; whether it did within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout) { return c_.WaitClosed(timeout); }
  std::vector<Event> Events() const { return ParseEvents(c_.received()); }
  const std::string& received() const { return c_.received(); }

 private:
  RawClient c_;
};

/// The whole stream of a run from `last_event_id` on; REQUIREs that it closes in `timeout`.
std::vector<Event> ReadStream(int port, const std::string& project, const std::string& run,
                              std::optional<std::uint64_t> last_event_id = std::nullopt,
                              std::chrono::milliseconds timeout = 60'000ms) {
  StreamClient s(port, project, run, last_event_id);
  REQUIRE_MESSAGE(s.WaitClosed(timeout), s.received());
  REQUIRE_MESSAGE(s.received().starts_with("HTTP/1.1 200 OK\r\n"), s.received());
  return s.Events();
}

/// CHECKs that `events` are numbered first, first+1, … without a gap or a repeat.
void CheckConsecutive(const std::vector<Event>& events, std::uint64_t first) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK_MESSAGE(events[i].id == first + i, "event " << i << " has id " << events[i].id);
  }
}

/// The entries of a zip file: name → content (python3's zipfile reads it and checks every
/// CRC); REQUIREs that it is a valid zip.
std::map<std::string, std::string> ZipEntries(const std::string& zip_bytes) {
  agentcore::testing::TempDir dir;
  const std::string path = dir.File("download.zip");
  std::ofstream(path, std::ios::binary) << zip_bytes;
  std::optional<std::string> listing = Capture(
      "python3 -c \"import sys, zipfile, json; z = zipfile.ZipFile(sys.argv[1]); "
      "assert z.testzip() is None; "
      "print(json.dumps({n: z.read(n).hex() for n in z.namelist()}))\" " + path);
  REQUIRE_MESSAGE(listing.has_value(), "not a valid zip");
  auto parsed = ParseJson(*listing);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->is_object());
  std::map<std::string, std::string> out;
  for (const auto& [name, hex] : parsed->as_object()) {
    std::string bytes;
    const std::string& h = hex.as_string();
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
    }
    out[name] = bytes;
  }
  return out;
}

std::int64_t Words(std::string_view s) {
  std::istringstream in{std::string(s)};
  std::int64_t n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

/// usage.inputTokens of an envelope (-1 when absent).
std::int64_t InputTokens(const Json& envelope) {
  const Json* usage = envelope.Find("usage");
  const Json* n = usage != nullptr && usage->is_object() ? usage->Find("inputTokens") : nullptr;
  return n != nullptr && n->is_number() ? static_cast<std::int64_t>(n->as_number()) : -1;
}

bool GitOnPath() { return Capture("git --version >/dev/null 2>&1 && echo yes").has_value(); }
#endif

TEST_SUITE("server/runs_e2e") {
  TEST_CASE("a run creates hello.txt: stream until done, then the file is in the zip") {
#ifndef AGENTCORE_BUILDER_AGENT
    FAIL("AGENTCORE_BUILDER_AGENT (examples/builder-agent) is not built");
#else
    ServerFixtureOptions options;
    options.tweak = [](ServerConfig& c) {
      c.agent_api_key = std::string(kKey);
      c.agent_commands["builder"] = {AGENTCORE_BUILDER_AGENT};
    };
    ServerFixture server(options);
    const std::vector<std::pair<std::string, std::string>> key = {
        {"X-Agent-Api-Key", std::string(kKey)}};
    HttpResponse project = server.Call("POST", "/v1/projects", R"({"id":"hello"})", false, key);
    REQUIRE_MESSAGE(project.status == 201, project.body);

    auto headers = key;
    headers.emplace_back("Idempotency-Key", "e2e-1");
    HttpResponse created = server.Call("POST", "/v1/projects/hello/runs",
                                       R"({"prompt":"create hello.txt with hi"})", false, headers);
    REQUIRE_MESSAGE(created.status == 202, created.body);
    const std::string run = *BodyJson(created).FindString("id");

    RawClient c(server.port());
    REQUIRE(c.connected());
    REQUIRE(c.Send("GET /v1/projects/hello/runs/" + run +
                   "/stream HTTP/1.1\r\nHost: x\r\nX-Agent-Api-Key: " + std::string(kKey) +
                   "\r\n\r\n"));
    REQUIRE_MESSAGE(c.WaitClosed(90'000ms), c.ReadUntil("", 0ms));
    const std::string stream = c.ReadUntil("", 0ms);
    INFO(stream);
    CHECK(stream.find("\"planning\"") != std::string::npos);
    CHECK(stream.find("\"plan_ready\"") != std::string::npos);
    CHECK(stream.find("\"building\"") != std::string::npos);
    const std::size_t done = stream.rfind("event: done\ndata: ");
    REQUIRE(done != std::string::npos);
    CHECK(stream.find("\"status\":\"succeeded\"", done) != std::string::npos);

    HttpResponse envelope = server.Call("GET", "/v1/projects/hello/runs/" + run, {}, false, key);
    REQUIRE(envelope.status == 200);
    CHECK(envelope.body.find("succeeded") != std::string::npos);

    HttpResponse zip =
        server.Call("GET", "/v1/projects/hello/runs/" + run + "/download.zip", {}, false, key);
    REQUIRE_MESSAGE(zip.status == 200, zip.body);
    agentcore::testing::TempDir dir;
    const std::string path = dir.path() + "/hello.zip";
    std::ofstream(path, std::ios::binary) << zip.body;
    std::optional<std::string> text = Capture(
        "python3 -c \"import sys, zipfile; "
        "sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read('hello.txt').decode())\" " +
        path);
    REQUIRE(text.has_value());
    CHECK(*text == "hi");
#endif
  }

#ifdef AGENTCORE_BUILDER_AGENT
  /// SIGTERM stops the server, and its shutdown stops its builders.
  void StopAndCheckBuilders(RunServer& server) {
    CHECK_MESSAGE(server.Stop(SIGTERM), "agentcore-server did not exit on SIGTERM");
    CHECK_MESSAGE(WaitFor([&] { return BuilderPids(server.port()).empty(); }, 5000ms),
                  "builder-agent processes outlived their server");
  }

  bool IsStatus(const Event& e, std::string_view status) { return StatusOf(e) == status; }

  bool IsToolStart(const Event& e, std::string_view name) {
    const std::string* phase = e.data.FindString("phase");
    const std::string* n = e.data.FindString("name");
    return e.event == "tool" && phase != nullptr && *phase == "start" && n != nullptr &&
           *n == name;
  }

  /// The index of the first event at or after `from` that satisfies `match`, or npos.
  std::size_t FindEvent(const std::vector<Event>& events, std::size_t from,
                        const std::function<bool(const Event&)>& match) {
    for (std::size_t i = from; i < events.size(); ++i) {
      if (match(events[i])) return i;
    }
    return std::string::npos;
  }

  TEST_CASE("the documented flow: a keyed run streamed to done, its envelope and zip, then a "
            "message that continues the conversation") {
    Storage storage;
    const int port = FreePort();
    RunServer server(storage, port);
    INFO(server.Log());
    server.CreateProject("default");
    HttpResponse again = server.Call("POST", "/v1/projects", R"({"id":"default"})");
    CHECK_MESSAGE(again.status == 200, again.body);

    const std::string prompt1 =
        "create hello.txt with hi; create src/app.js with console.log(1); "
        "create .env with SECRET=1";
    Json body = Json::Object();
    body.Set("prompt", prompt1);
    body.Set("stream", false);
    body.Set("workspaceBackend", "host");
    HttpResponse created = server.Call("POST", "/v1/projects/default/runs", ToJson(body),
                                       {{"Idempotency-Key", "flow-1"}});
    REQUIRE_MESSAGE(created.status == 202, created.body);
    const std::string run = *BodyJson(created).FindString("id");
    CHECK(*BodyJson(created).FindString("projectId") == "default");
    auto location = created.Header("Location");
    REQUIRE(location.has_value());
    CHECK(location->find(run) != std::string_view::npos);

    const std::vector<Event> events = ReadStream(port, "default", run);
    REQUIRE(!events.empty());
    CheckConsecutive(events, 1);
    std::size_t tokens = 0;
    std::size_t writes = 0;
    const std::set<std::string> kinds = {"status", "token", "tool", "done"};
    for (const Event& e : events) {
      CHECK_MESSAGE(kinds.count(e.event) == 1, e.event << " " << ToJson(e.data));
      tokens += e.event == "token" ? 1 : 0;
      const std::string* phase = e.data.FindString("phase");
      if (e.event == "tool" && phase != nullptr && *phase == "end" &&
          *e.data.FindString("name") == "write_file") {
        ++writes;
        CHECK(e.data.Find("isError")->as_bool() == false);
      }
    }
    CHECK(tokens > 0);
    CHECK(writes == 3);
    // The phases in their order.
    std::size_t at = 0;
    for (std::string_view status : {"queued", "planning", "plan_ready", "building", "usage"}) {
      at = FindEvent(events, at, [&](const Event& e) { return IsStatus(e, status); });
      CHECK_MESSAGE(at != std::string::npos, "no " << status << " in order");
      if (at == std::string::npos) break;
    }
    const bool git = GitOnPath();
    if (git) {
      CHECK(FindEvent(events, 0, [](const Event& e) { return IsStatus(e, "committed"); }) !=
            std::string::npos);
    }
    const Event& done = events.back();
    REQUIRE(done.event == "done");
    CHECK(*done.data.FindString("status") == "succeeded");
    CHECK(*done.data.Find("run")->FindString("id") == run);

    const Json envelope = server.Envelope("default", run);
    CHECK(*envelope.FindString("status") == "succeeded");
    CHECK(envelope.Find("attempts")->as_number() == 1);
    CHECK(envelope.Find("lastEventSeq")->as_number() == static_cast<double>(events.size()));
    CHECK(InputTokens(envelope) == Words(prompt1));
    if (git) {
      const std::string* commit = envelope.FindString("commit");
      REQUIRE_MESSAGE(commit != nullptr, ToJson(envelope));
      CHECK(commit->size() == 40);
      CHECK(commit->find_first_not_of("0123456789abcdef") == std::string::npos);
    }

    HttpResponse zip = server.Call("GET", "/v1/projects/default/runs/" + run + "/download.zip");
    REQUIRE_MESSAGE(zip.status == 200, zip.body);
    CHECK(zip.Header("Content-Type").value_or("") == "application/zip");
    std::map<std::string, std::string> entries = ZipEntries(zip.body);
    CHECK(entries["hello.txt"] == "hi");
    CHECK(entries["src/app.js"] == "console.log(1)");
    for (const auto& entry : entries) {
      const std::string& name = entry.first;
      CHECK_MESSAGE(name.find(".git") == std::string::npos, name);
      CHECK_MESSAGE(name.find(".env") == std::string::npos, name);
      CHECK(entry.second.find("SECRET=1") == std::string::npos);
    }
    // The secret is in the workspace, only not in the download.
    std::ifstream env_file(storage.Workspace("default") + "/.env");
    std::string secret((std::istreambuf_iterator<char>(env_file)), {});
    CHECK(secret == "SECRET=1");

    // The run's messages: the prompt, then the builder's messages; the last is its answer.
    HttpResponse messages = server.Call("GET", "/v1/projects/default/runs/" + run + "/messages");
    REQUIRE_MESSAGE(messages.status == 200, messages.body);
    const Json listed = BodyJson(messages);
    const auto& list = listed.Find("messages")->as_array();
    REQUIRE(list.size() >= 2);
    CHECK(*list.front().FindString("role") == "user");
    CHECK(*list.front().FindString("content") == prompt1);
    CHECK(*list.back().FindString("role") == "assistant");
    const std::string final1 = *list.back().FindString("content");

    // Continue with a message: the next turn of the builder, with the first in its conversation.
    const std::string prompt2 = "append more to hello.txt";
    HttpResponse next = server.Call("POST", "/v1/projects/default/messages",
                                    R"({"content":")" + prompt2 + R"("})",
                                    {{"Idempotency-Key", "flow-2"}});
    REQUIRE_MESSAGE(next.status == 202, next.body);
    const std::string run2 = *BodyJson(next).FindString("id");
    CHECK(run2 != run);
    const std::vector<Event> events2 = ReadStream(port, "default", run2);
    REQUIRE(!events2.empty());
    CheckConsecutive(events2, 1);
    CHECK(events2.back().event == "done");
    const Json envelope2 = server.Envelope("default", run2);
    CHECK(*envelope2.FindString("status") == "succeeded");
    // The builder counts the words of the prompt and of the conversation it was given.
    CHECK(InputTokens(envelope2) == Words(prompt2) + Words(prompt1) + Words(final1));
    HttpResponse zip2 = server.Call("GET", "/v1/projects/default/runs/" + run2 + "/download.zip");
    REQUIRE(zip2.status == 200);
    std::map<std::string, std::string> entries2 = ZipEntries(zip2.body);
    CHECK(entries2["hello.txt"] == "himore");
    CHECK(entries2["src/app.js"] == "console.log(1)");
    StopAndCheckBuilders(server);
  }

  TEST_CASE("idempotent create: the same key and body is the same run, also after a restart, "
            "and another body is 409") {
    Storage storage;
    const int port = FreePort();
    const std::string body = R"({"prompt":"create a.txt with 1"})";
    const std::string other = R"({"prompt":"create b.txt with 2"})";
    std::string run;
    {
      RunServer server(storage, port);
      INFO(server.Log());
      server.CreateProject("idem");
      run = server.CreateRun("idem", body, "idem-1", 202);
      CHECK(server.CreateRun("idem", body, "idem-1", 200) == run);
      HttpResponse conflict = server.Call("POST", "/v1/projects/idem/runs", other,
                                          {{"Idempotency-Key", "idem-1"}});
      CHECK(conflict.status == 409);
      CHECK(*BodyJson(conflict).FindString("error") == "idempotency_conflict");
      HttpResponse keyless = server.Call("POST", "/v1/projects/idem/runs", body);
      CHECK(keyless.status == 400);
      CHECK(*BodyJson(keyless).FindString("error") == "idempotency_key_required");
      const std::vector<Event> events = ReadStream(port, "idem", run);
      REQUIRE(!events.empty());
      CHECK(events.back().event == "done");
      CHECK(server.CreateRun("idem", body, "idem-1", 200) == run);  // finished: still the same
      StopAndCheckBuilders(server);
    }
    RunServer restarted(storage, port);
    INFO(restarted.Log());
    CHECK(restarted.CreateRun("idem", body, "idem-1", 200) == run);
    HttpResponse conflict = restarted.Call("POST", "/v1/projects/idem/runs", other,
                                           {{"Idempotency-Key", "idem-1"}});
    CHECK(conflict.status == 409);
    CHECK(*BodyJson(conflict).FindString("error") == "idempotency_conflict");
    HttpResponse runs = restarted.Call("GET", "/v1/projects/idem/runs");
    REQUIRE(runs.status == 200);
    CHECK(BodyJson(runs).Find("runs")->as_array().size() == 1);
    CHECK(*restarted.Envelope("idem", run).FindString("status") == "succeeded");
    StopAndCheckBuilders(restarted);
  }

  TEST_CASE("cancel during the build: done cancelled within 5 s, the builder stopped, nothing "
            "of the run written or fed to the next run") {
    Storage storage;
    const int port = FreePort();
    RunServer server(storage, port);
    INFO(server.Log());
    server.CreateProject("cancel");
    const std::string prompt = "sleep 30000; create late.txt with x";
    const std::string run =
        server.CreateRun("cancel", R"({"prompt":")" + prompt + R"("})", "cancel-1");
    StreamClient live(port, "cancel", run);
    REQUIRE_MESSAGE(live.WaitForEvent([](const Event& e) { return IsStatus(e, "building"); },
                                      20'000ms),
                    live.received());
    REQUIRE(live.WaitForEvent([](const Event& e) { return IsToolStart(e, "sleep"); }, 10'000ms));
    const std::set<pid_t> builders = BuilderPids(port);
    REQUIRE(builders.size() == 1);
    const pid_t builder = *builders.begin();

    const auto asked = std::chrono::steady_clock::now();
    HttpResponse cancelled = server.Call("POST", "/v1/projects/cancel/runs/" + run + "/cancel");
    REQUIRE_MESSAGE(cancelled.status == 200, cancelled.body);
    CHECK(*BodyJson(cancelled).FindString("status") == "cancelled");
    REQUIRE_MESSAGE(live.WaitClosed(5000ms), live.received());
    CHECK(std::chrono::steady_clock::now() - asked < 5s);
    const std::vector<Event> events = live.Events();
    CheckConsecutive(events, 1);
    REQUIRE(!events.empty());
    CHECK(events.back().event == "done");
    CHECK(*events.back().data.FindString("status") == "cancelled");
    // The builder that was building is stopped (its process gone within the stop grace).
    CHECK_MESSAGE(WaitFor([&] { return !Alive(builder); }, 5000ms),
                  "the cancelled run's builder " << builder << " still runs");
    HttpResponse twice = server.Call("POST", "/v1/projects/cancel/runs/" + run + "/cancel");
    CHECK(twice.status == 409);
    CHECK(*BodyJson(twice).FindString("error") == "conflict");

    // The next run: a builder of its own, and an empty conversation (the cancelled turn is not
    // in it: the builder's inputTokens are the words of this prompt only).
    const std::string prompt2 = "create next.txt with y";
    const std::string run2 =
        server.CreateRun("cancel", R"({"prompt":")" + prompt2 + R"("})", "cancel-2");
    const std::vector<Event> events2 = ReadStream(port, "cancel", run2);
    REQUIRE(!events2.empty());
    CHECK(events2.back().event == "done");
    CHECK(*events2.back().data.FindString("status") == "succeeded");
    for (const Event& e : events2) {
      const std::string text = ToJson(e.data);
      CHECK_MESSAGE(text.find("late.txt") == std::string::npos, text);
      CHECK_MESSAGE(text.find("30000") == std::string::npos, text);
    }
    const Json envelope2 = server.Envelope("cancel", run2);
    CHECK(InputTokens(envelope2) == Words(prompt2));
    CHECK(BuilderPids(port).count(builder) == 0);
    CHECK(std::filesystem::exists(storage.Workspace("cancel") + "/next.txt"));
    CHECK_FALSE(std::filesystem::exists(storage.Workspace("cancel") + "/late.txt"));
    HttpResponse zip = server.Call("GET", "/v1/projects/cancel/runs/" + run2 + "/download.zip");
    REQUIRE(zip.status == 200);
    std::map<std::string, std::string> entries = ZipEntries(zip.body);
    CHECK(entries.count("next.txt") == 1);
    CHECK(entries.count("late.txt") == 0);
    StopAndCheckBuilders(server);
  }

  TEST_CASE("a builder that crashes is retried, then the run ends in error with 2 attempts") {
    Storage storage;
    const int port = FreePort();
    RunServer server(storage, port);
    INFO(server.Log());
    server.CreateProject("crash");
    const std::string run =
        server.CreateRun("crash", R"({"prompt":"crash","maxAttempts":2})", "crash-1");
    const std::vector<Event> events = ReadStream(port, "crash", run, std::nullopt, 30'000ms);
    REQUIRE(!events.empty());
    CheckConsecutive(events, 1);
    auto attempt_failed = [](int attempt) {
      return [attempt](const Event& e) {
        const Json* n = e.data.Find("attempt");
        return IsStatus(e, "attempt_failed") && n != nullptr && n->as_number() == attempt;
      };
    };
    const std::size_t first = FindEvent(events, 0, attempt_failed(1));
    REQUIRE_MESSAGE(first != std::string::npos, "no attempt_failed of attempt 1");
    const std::size_t retry =
        FindEvent(events, first, [](const Event& e) { return IsStatus(e, "retrying"); });
    REQUIRE(retry != std::string::npos);
    CHECK(events[retry].data.Find("delayMs") != nullptr);
    CHECK(FindEvent(events, retry, [](const Event& e) { return IsStatus(e, "building"); }) !=
          std::string::npos);
    const std::size_t second = FindEvent(events, retry, attempt_failed(2));
    REQUIRE_MESSAGE(second != std::string::npos, "no attempt_failed of attempt 2");
    CHECK(FindEvent(events, 0, [](const Event& e) { return e.event == "done"; }) ==
          std::string::npos);
    const Event& last = events.back();
    REQUIRE(last.event == "error");
    CHECK(last.data.FindString("error") != nullptr);
    CHECK(last.data.FindString("message") != nullptr);
    CHECK(*last.data.Find("run")->FindString("status") == "failed");
    const Json envelope = server.Envelope("crash", run);
    CHECK(*envelope.FindString("status") == "failed");
    CHECK(envelope.Find("attempts")->as_number() == 2);
    REQUIRE(envelope.Find("error")->is_object());
    CHECK(*envelope.Find("error")->FindString("code") == "run_failed");
    StopAndCheckBuilders(server);
  }

  TEST_CASE("SSE resume: Last-Event-ID N gives exactly the events after N, finished or live") {
    Storage storage;
    const int port = FreePort();
    RunServer server(storage, port);
    INFO(server.Log());
    server.CreateProject("resume");
    const std::string run = server.CreateRun(
        "resume", R"({"prompt":"create r.txt with 1; create s.txt with 2"})", "resume-1");
    const std::vector<Event> full = ReadStream(port, "resume", run);
    REQUIRE(full.size() >= 5);
    CheckConsecutive(full, 1);
    REQUIRE(full.back().event == "done");
    for (std::size_t k = 0; k <= full.size(); ++k) {
      CAPTURE(k);
      const std::vector<Event> rest = ReadStream(port, "resume", run, k, 10'000ms);
      REQUIRE(rest.size() == full.size() - k);
      for (std::size_t i = 0; i < rest.size(); ++i) {
        CHECK(rest[i].id == full[k + i].id);
        CHECK(rest[i].event == full[k + i].event);
        CHECK(ToJson(rest[i].data) == ToJson(full[k + i].data));
      }
    }

    // Live: a client that saw the run up to its build reconnects while it is still building.
    const std::string run2 =
        server.CreateRun("resume", R"({"prompt":"sleep 1500; create t.txt with 1"})", "resume-2");
    std::uint64_t seen = 0;
    {
      StreamClient first(port, "resume", run2);
      REQUIRE(first.WaitForEvent([](const Event& e) { return IsToolStart(e, "sleep"); },
                                 20'000ms));
      const std::vector<Event> got = first.Events();
      CheckConsecutive(got, 1);
      seen = got.back().id;
    }
    CHECK(*server.Envelope("resume", run2).FindString("status") == "building");
    StreamClient second(port, "resume", run2, seen);
    REQUIRE(second.WaitClosed(30'000ms));
    const std::vector<Event> rest = second.Events();
    REQUIRE(!rest.empty());
    CheckConsecutive(rest, seen + 1);
    CHECK(rest.back().event == "done");
    const std::vector<Event> whole = ReadStream(port, "resume", run2);
    REQUIRE(whole.size() == seen + rest.size());
    for (std::size_t i = 0; i < rest.size(); ++i) {
      CHECK(ToJson(rest[i].data) == ToJson(whole[seen + i].data));
    }
    StopAndCheckBuilders(server);
  }

  TEST_CASE("kill -9 mid-build: the next server requeues the run, reaps the orphan builder and "
            "completes it; a client resumes without gaps or repeats") {
    Storage storage;
    const int port = FreePort();
    std::string run;
    std::vector<Event> seen;
    std::set<pid_t> orphans;
    {
      RunServer first(storage, port);
      INFO(first.Log());
      first.CreateProject("killed");
      run = first.CreateRun("killed", R"({"prompt":"sleep 3000; create a.txt with x"})", "k-1");
      StreamClient live(port, "killed", run);
      REQUIRE(live.WaitForEvent([](const Event& e) { return IsToolStart(e, "sleep"); },
                                20'000ms));
      seen = live.Events();
      orphans = BuilderPids(port);
      REQUIRE(orphans.size() == 1);
      first.Stop(SIGKILL);
    }
    REQUIRE(!seen.empty());
    CheckConsecutive(seen, 1);

    RunServer second(storage, port);
    INFO(second.Log());
    CHECK_MESSAGE(WaitFor(
                      [&] {
                        for (pid_t pid : orphans) {
                          if (Alive(pid)) return false;
                        }
                        return true;
                      },
                      5000ms),
                  "the killed server's builder was not reaped");
    StreamClient resumed(port, "killed", run, seen.back().id);
    REQUIRE_MESSAGE(resumed.WaitClosed(40'000ms), resumed.received());
    const std::vector<Event> rest = resumed.Events();
    REQUIRE(!rest.empty());
    CheckConsecutive(rest, seen.back().id + 1);
    const std::size_t failed = FindEvent(rest, 0, [](const Event& e) {
      const std::string* error = e.data.FindString("error");
      return IsStatus(e, "attempt_failed") && error != nullptr &&
             error->find("restarted") != std::string::npos;
    });
    REQUIRE_MESSAGE(failed != std::string::npos, "no attempt_failed naming the restart");
    const std::size_t retry =
        FindEvent(rest, failed, [](const Event& e) { return IsStatus(e, "retrying"); });
    CHECK(retry != std::string::npos);
    CHECK(FindEvent(rest, failed, [](const Event& e) { return IsStatus(e, "building"); }) !=
          std::string::npos);
    REQUIRE(rest.back().event == "done");
    CHECK(*rest.back().data.FindString("status") == "succeeded");
    const std::vector<Event> whole = ReadStream(port, "killed", run);
    CHECK(whole.size() == seen.size() + rest.size());
    const Json envelope = second.Envelope("killed", run);
    CHECK(*envelope.FindString("status") == "succeeded");
    CHECK(envelope.Find("attempts")->as_number() == 2);
    std::ifstream a(storage.Workspace("killed") + "/a.txt");
    std::string text((std::istreambuf_iterator<char>(a)), {});
    CHECK(text == "x");
    StopAndCheckBuilders(second);
  }
#endif
}

}  // namespace
}  // namespace agentcore::server::testing
