// SPDX-License-Identifier: Apache-2.0
// The wire format of Platform Agent's `/v1` routes and GET /agents/task (docs/runs.md): auth,
// status codes and error bodies, idempotency, pagination, the SSE framing and resume,
// download.zip. The rules themselves are the run service's and are tested without HTTP;
// these servers claim no run (--max-concurrent-runs 0), so runs stay where the test puts them.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/runs.hpp>
#include <agentcore/ulid.hpp>

#include "server/raw_client.hpp"
#include "server/server_fixture.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kAgentKey = "test-agent-api-key-0123456789";

ServerFixtureOptions RunsOptions(std::function<void(ServerConfig&)> more = {}) {
  ServerFixtureOptions o;
  o.tweak = [more](ServerConfig& c) {
    c.agent_api_key = std::string(kAgentKey);
    c.max_concurrent_runs = 0;  // nothing is claimed: runs stay queued until cancelled
    c.sse_heartbeat = 15'000ms;
    if (more) more(c);
  };
  return o;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

struct RunsServer {
  ServerFixture server;
  explicit RunsServer(std::function<void(ServerConfig&)> more = {})
      : server(RunsOptions(std::move(more))) {}

  /// A call with the X-Agent-Api-Key header (and `extra`).
  HttpResponse Call(const std::string& method, const std::string& path, std::string body = {},
                    Headers extra = {}) {
    extra.emplace_back("X-Agent-Api-Key", std::string(kAgentKey));
    return server.Call(method, path, std::move(body), /*with_cookie=*/false, std::move(extra));
  }

  std::string CreateProject(const std::string& id) {
    HttpResponse r = Call("POST", "/v1/projects", R"({"id":")" + id + R"("})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return id;
  }

  /// POST …/runs with `key`; returns the run's id.
  std::string CreateRun(const std::string& project, const std::string& prompt,
                        const std::string& key) {
    HttpResponse r = Call("POST", "/v1/projects/" + project + "/runs",
                          R"({"prompt":")" + prompt + R"("})", {{"Idempotency-Key", key}});
    REQUIRE_MESSAGE(r.status == 202, r.body);
    Json body = BodyJson(r);
    REQUIRE(body.FindString("id") != nullptr);
    return *body.FindString("id");
  }

  void Cancel(const std::string& project, const std::string& run) {
    HttpResponse r = Call("POST", "/v1/projects/" + project + "/runs/" + run + "/cancel");
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }

  std::string Workspace(const std::string& project) {
    return server.app().config().data_dir + "/projects/" +
           server.app().hub().options().runs.platform_space_id + "/" + project + "/workspace";
  }
};

std::string ErrorCodeOf(const HttpResponse& r) {
  Json body = BodyJson(r);
  const std::string* code = body.FindString("error");
  CHECK(body.FindString("message") != nullptr);
  return code ? *code : std::string();
}

struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
};

/// The events of an SSE body (after the head), comments skipped.
std::vector<SseEvent> ParseSse(std::string_view body) {
  std::vector<SseEvent> out;
  while (!body.empty()) {
    std::size_t end = body.find("\n\n");
    if (end == std::string_view::npos) break;
    std::string_view block = body.substr(0, end);
    body.remove_prefix(end + 2);
    SseEvent e;
    bool any = false;
    while (!block.empty()) {
      std::size_t nl = block.find('\n');
      std::string_view line = block.substr(0, nl);
      block = nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1);
      if (line.starts_with(":")) continue;
      any = true;
      if (line.starts_with("id: ")) e.id = line.substr(4);
      else if (line.starts_with("event: ")) e.event = line.substr(7);
      else if (line.starts_with("data: ")) e.data = line.substr(6);
      else FAIL("unexpected SSE line: " << std::string(line));
    }
    if (any) out.push_back(std::move(e));
  }
  return out;
}

/// GET `target` on a raw connection with `headers`; reads until the server closes (or the
/// timeout). Returns the whole response.
std::string ReadWhole(RunsServer& t, const std::string& target, const Headers& headers,
                      bool* closed, std::chrono::milliseconds timeout = 10'000ms) {
  RawClient c(t.server.port());
  REQUIRE(c.connected());
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nX-Agent-Api-Key: " +
                    std::string(kAgentKey) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  REQUIRE(c.Send(req));
  *closed = c.WaitClosed(timeout);
  return c.ReadUntil("", 0ms);
}

std::string BodyOf(const std::string& response) {
  std::size_t head = response.find("\r\n\r\n");
  REQUIRE(head != std::string::npos);
  return response.substr(head + 4);
}

TEST_SUITE("server/runs") {
  TEST_CASE("the open routes describe the server and Cast's / and /health stay Cast's") {
    RunsServer t;
    HttpResponse root = t.server.Call("GET", "/v1", {}, false);
    CHECK(root.status == 200);
    Json info = BodyJson(root);
    CHECK(*info.FindString("name") == "agentcore");
    REQUIRE(info.Find("links") != nullptr);
    CHECK(*info.Find("links")->FindString("capabilities") == "/v1/capabilities");

    HttpResponse health = t.server.Call("GET", "/v1/health", {}, false);
    CHECK(health.status == 200);
    CHECK(*BodyJson(health).FindString("status") == "ok");

    for (const char* path : {"/v1/capabilities", "/capabilities"}) {
      HttpResponse caps = t.server.Call("GET", path, {}, false);
      CHECK(caps.status == 200);
      Json c = BodyJson(caps);
      REQUIRE(c.Find("workspaceBackends") != nullptr);
      CHECK(ToJson(*c.Find("workspaceBackends")) == R"(["host"])");
      CHECK(ToJson(*c.Find("phases")) == R"(["plan","build"])");
      CHECK(c.Find("limits")->Find("maxConcurrentRuns")->as_number() == 0);
      CHECK(*c.Find("auth")->FindString("apiKeyHeader") == "X-Agent-Api-Key");
      CHECK(c.Find("auth")->Find("apiKeyEnabled")->as_bool());
    }
    CHECK(*BodyJson(t.server.Call("GET", "/", {}, false)).FindString("name") == "Cast Backend");
    CHECK(BodyJson(t.server.Call("GET", "/health", {}, false)).FindString("timestamp") !=
          nullptr);
  }

  TEST_CASE("the /v1 routes need a key: none or a wrong one is 401, a container token too") {
    RunsServer t;
    HttpResponse none = t.server.Call("GET", "/v1/projects", {}, false);
    CHECK(none.status == 401);
    CHECK(ErrorCodeOf(none) == "unauthorized");
    HttpResponse wrong =
        t.server.Call("GET", "/v1/projects", {}, false, {{"X-Agent-Api-Key", "not-the-key"}});
    CHECK(wrong.status == 401);
    CHECK(ErrorCodeOf(wrong) == "unauthorized");
    CHECK(wrong.body.find(kAgentKey) == std::string::npos);

    std::string project = t.CreateProject("p1");
    Json p = BodyJson(t.Call("GET", "/v1/projects/" + project));
    std::string channel = *p.FindString("channelId");
    std::string token = t.server.app().ContainerToken(
        AgentIdentity{t.server.app().hub().options().runs.platform_space_id, channel, "builder"});
    for (const std::string& auth : {"Container " + token, "Bearer " + token}) {
      HttpResponse r = t.server.Call("GET", "/v1/projects", {}, false, {{"Authorization", auth}});
      CHECK_MESSAGE(r.status == 401, auth.substr(0, 10));
      CHECK(ErrorCodeOf(r) == "unauthorized");
    }
    CHECK(t.Call("GET", "/v1/projects").status == 200);
  }

  TEST_CASE("a Bearer API key and a session cookie are /v1 callers of their own space") {
    RunsServer t;
    std::string key = NewApiKey();
    std::string space_id = "space-" + NewUlid();
    Space space;
    space.id = space_id;
    space.name = "keyed";
    REQUIRE(t.server.app().store().EnsureSpace(space).ok());
    ApiKey record;
    record.id = NewUlid();
    record.space_id = space_id;
    record.name = "ci";
    record.key_hash = ApiKeyHash(key);
    record.prefix = ApiKeyPrefix(key);
    REQUIRE(t.server.app().store().CreateApiKey(record).ok());

    Headers bearer = {{"Authorization", "Bearer " + key}};
    HttpResponse created =
        t.server.Call("POST", "/v1/projects", R"({"id":"mine"})", false, bearer);
    CHECK(created.status == 201);
    CHECK(t.server.Call("GET", "/v1/projects/mine", {}, false, bearer).status == 200);
    // Another space's caller does not see it.
    CHECK(t.Call("GET", "/v1/projects/mine").status == 404);
    t.server.Login("alice");
    CHECK(t.server.Call("GET", "/v1/projects/mine").status == 404);
    CHECK(t.server.Call("POST", "/v1/projects", R"({"id":"mine"})").status == 201);
  }

  TEST_CASE("projects: 201 created, 200 resolved, listed by cursor; bad JSON and ids are 400") {
    RunsServer t;
    HttpResponse first = t.Call("POST", "/v1/projects", R"({"id":"demo","name":"Demo"})");
    CHECK(first.status == 201);
    Json p = BodyJson(first);
    CHECK(*p.FindString("id") == "demo");
    CHECK(*p.FindString("name") == "Demo");
    CHECK(p.FindString("channelId") != nullptr);
    CHECK(p.FindString("createdAt") != nullptr);
    HttpResponse again = t.Call("POST", "/v1/projects", R"({"id":"demo","name":"Other"})");
    CHECK(again.status == 200);
    CHECK(*BodyJson(again).FindString("name") == "Demo");
    // An empty body makes a project with a new id.
    HttpResponse fresh = t.Call("POST", "/v1/projects");
    CHECK(fresh.status == 201);

    HttpResponse bad = t.Call("POST", "/v1/projects", "{not json");
    CHECK(bad.status == 400);
    CHECK(ErrorCodeOf(bad) == "invalid_request");
    HttpResponse bad_id = t.Call("POST", "/v1/projects", R"({"id":"no/slash"})");
    CHECK(bad_id.status == 400);
    CHECK(ErrorCodeOf(bad_id) == "invalid_request");

    for (int i = 0; i < 3; ++i) t.CreateProject("more-" + std::to_string(i));
    std::set<std::string> seen;
    std::string cursor;
    int pages = 0;
    do {
      HttpResponse r = t.Call("GET", "/v1/projects?limit=2" +
                                          (cursor.empty() ? "" : "&cursor=" + cursor));
      REQUIRE(r.status == 200);
      Json page = BodyJson(r);
      CHECK(page.Find("projects")->as_array().size() <= 2);
      for (const Json& item : page.Find("projects")->as_array()) {
        CHECK(seen.insert(*item.FindString("id")).second);
      }
      const Json* next = page.Find("nextCursor");
      cursor = next && next->is_string() ? next->as_string() : "";
      ++pages;
    } while (!cursor.empty() && pages < 10);
    CHECK(seen.size() == 5);
    CHECK(t.Call("GET", "/v1/projects?limit=x").status == 400);
    CHECK(t.Call("GET", "/v1/projects/nope").status == 404);
    CHECK(ErrorCodeOf(t.Call("GET", "/v1/projects/nope")) == "not_found");
  }

  TEST_CASE("unknown routes under /v1 are 404 JSON") {
    RunsServer t;
    HttpResponse r = t.Call("GET", "/v1/nothing/here");
    CHECK(r.status == 404);
    CHECK(ErrorCodeOf(r) == "not_found");
    CHECK(t.Call("GET", "/v1/projects/p/runs/r/nothing").status == 404);
  }

  TEST_CASE("creating a run needs an Idempotency-Key; the same key resolves, another body is 409") {
    RunsServer t;
    std::string project = t.CreateProject("demo");
    const std::string path = "/v1/projects/" + project + "/runs";
    HttpResponse no_key = t.Call("POST", path, R"({"prompt":"hi"})");
    CHECK(no_key.status == 400);
    CHECK(ErrorCodeOf(no_key) == "idempotency_key_required");
    HttpResponse bad_json = t.Call("POST", path, "[1,", {{"Idempotency-Key", "k0"}});
    CHECK(bad_json.status == 400);
    CHECK(ErrorCodeOf(bad_json) == "invalid_request");
    HttpResponse no_prompt = t.Call("POST", path, "{}", {{"Idempotency-Key", "k0"}});
    CHECK(no_prompt.status == 400);
    CHECK(ErrorCodeOf(no_prompt) == "invalid_request");

    HttpResponse first = t.Call("POST", path, R"({"prompt":"hi"})", {{"Idempotency-Key", "k1"}});
    CHECK(first.status == 202);
    Json run = BodyJson(first);
    std::string id = *run.FindString("id");
    HttpResponse same = t.Call("POST", path, R"({"prompt":"hi"})", {{"Idempotency-Key", "k1"}});
    CHECK(same.status == 200);
    CHECK(*BodyJson(same).FindString("id") == id);
    HttpResponse other = t.Call("POST", path, R"({"prompt":"bye"})", {{"Idempotency-Key", "k1"}});
    CHECK(other.status == 409);
    CHECK(ErrorCodeOf(other) == "idempotency_conflict");

    HttpResponse get = t.Call("GET", path + "/" + id);
    CHECK(get.status == 200);
    CHECK(*BodyJson(get).FindString("id") == id);
    CHECK(t.Call("GET", path + "/" + NewUlid()).status == 404);
    CHECK(t.Call("POST", "/v1/projects/nope/runs", R"({"prompt":"hi"})",
                 {{"Idempotency-Key", "k2"}})
              .status == 404);
    HttpResponse messages = t.Call("GET", path + "/" + id + "/messages");
    CHECK(messages.status == 200);
    CHECK(BodyJson(messages).Find("messages")->is_array());

    HttpResponse message = t.Call("POST", "/v1/projects/" + project + "/messages",
                                  R"({"content":"and more"})", {{"Idempotency-Key", "m1"}});
    CHECK(message.status == 202);
    CHECK(*BodyJson(message).FindString("id") != id);
  }

  TEST_CASE("runs are listed newest first, page by page with nextCursor") {
    RunsServer t;
    std::string project = t.CreateProject("demo");
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(t.CreateRun(project, "p" + std::to_string(i),
                                                          "key-" + std::to_string(i)));
    std::vector<std::string> listed;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
      HttpResponse r = t.Call("GET", "/v1/projects/" + project + "/runs?limit=2" +
                                         (cursor.empty() ? "" : "&cursor=" + cursor));
      REQUIRE_MESSAGE(r.status == 200, r.body);
      Json body = BodyJson(r);
      CHECK(body.Find("runs")->as_array().size() <= 2);
      for (const Json& run : body.Find("runs")->as_array()) listed.push_back(*run.FindString("id"));
      const Json* next = body.Find("nextCursor");
      cursor = next && next->is_string() ? next->as_string() : "";
      if (cursor.empty()) break;
    }
    std::vector<std::string> newest_first(ids.rbegin(), ids.rend());
    CHECK(listed == newest_first);
    CHECK(t.Call("GET", "/v1/projects/" + project + "/runs?limit=-1").status == 400);
    CHECK(t.Call("GET", "/v1/projects/" + project + "/runs?cursor=garbage").status == 400);
  }

  TEST_CASE("cancel: 200 with the envelope, then 409 conflict on the finished run") {
    RunsServer t;
    std::string project = t.CreateProject("demo");
    std::string run = t.CreateRun(project, "hi", "k1");
    HttpResponse first = t.Call("POST", "/v1/projects/" + project + "/runs/" + run + "/cancel");
    CHECK(first.status == 200);
    CHECK(*BodyJson(first).FindString("id") == run);
    HttpResponse again = t.Call("POST", "/v1/projects/" + project + "/runs/" + run + "/cancel");
    CHECK(again.status == 409);
    CHECK(ErrorCodeOf(again) == "conflict");
  }

  TEST_CASE("the stream frames each event with id, event and data, and closes after done") {
    RunsServer t;
    std::string project = t.CreateProject("demo");
    std::string run = t.CreateRun(project, "hi", "k1");
    t.Cancel(project, run);
    const std::string target = "/v1/projects/" + project + "/runs/" + run + "/stream";
    bool closed = false;
    std::string whole = ReadWhole(t, target, {}, &closed);
    CHECK(closed);
    CHECK(whole.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(whole.find("Content-Type: text/event-stream\r\n") != std::string::npos);
    std::vector<SseEvent> events = ParseSse(BodyOf(whole));
    REQUIRE(events.size() >= 2);
    for (std::size_t i = 0; i < events.size(); ++i) {
      CHECK(events[i].id == std::to_string(i + 1));
      CHECK(ParseJson(events[i].data).ok());
      CHECK(std::set<std::string>{"status", "token", "tool", "done", "error"}.count(
                events[i].event) == 1);
    }
    CHECK(events.front().event == "status");
    CHECK(*ParseJson(events.front().data)->FindString("status") == "queued");
    CHECK(events.back().event == "done");
    Json done = *ParseJson(events.back().data);
    CHECK(*done.FindString("status") == "cancelled");
    CHECK(*done.Find("run")->FindString("id") == run);

    // Resume from every id: exactly the events after it, by header and by query.
    for (std::size_t k = 0; k <= events.size(); ++k) {
      bool c1 = false;
      std::vector<SseEvent> rest = ParseSse(
          BodyOf(ReadWhole(t, target, {{"Last-Event-ID", std::to_string(k)}}, &c1)));
      CHECK(c1);
      REQUIRE(rest.size() == events.size() - k);
      for (std::size_t i = 0; i < rest.size(); ++i) {
        CHECK(rest[i].id == events[k + i].id);
        CHECK(rest[i].event == events[k + i].event);
        CHECK(rest[i].data == events[k + i].data);
      }
      bool c2 = false;
      std::vector<SseEvent> by_query = ParseSse(
          BodyOf(ReadWhole(t, target + "?lastEventId=" + std::to_string(k), {}, &c2)));
      CHECK(by_query.size() == events.size() - k);
    }

    HttpResponse bad = t.Call("GET", target, {}, {{"Last-Event-ID", "x1"}});
    CHECK(bad.status == 400);
    CHECK(ErrorCodeOf(bad) == "invalid_request");
    HttpResponse missing = t.Call("GET", "/v1/projects/" + project + "/runs/" + NewUlid() +
                                             "/stream");
    CHECK(missing.status == 404);
  }

  TEST_CASE("a live stream gets the events as they happen and closes after done") {
    RunsServer t;
    std::string project = t.CreateProject("demo");
    std::string run = t.CreateRun(project, "hi", "k1");
    RawClient c(t.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.Send("GET /v1/projects/" + project + "/runs/" + run +
                   "/stream HTTP/1.1\r\nHost: x\r\nX-Agent-Api-Key: " + std::string(kAgentKey) +
                   "\r\n\r\n"));
    std::string first = c.ReadUntil("event: status", 5000ms);
    CHECK(first.find("\"queued\"") != std::string::npos);
    t.Cancel(project, run);
    CHECK(c.WaitClosed(5000ms));
    std::vector<SseEvent> events = ParseSse(BodyOf(c.ReadUntil("", 0ms)));
    REQUIRE(!events.empty());
    CHECK(events.back().event == "done");
    for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].id == std::to_string(i + 1));
  }

  TEST_CASE("POST runs with stream true answers with the new run's event stream") {
    RunsServer t;
    std::string project = t.CreateProject("demo");
    RawClient c(t.server.port());
    REQUIRE(c.connected());
    const std::string body = R"({"prompt":"hi","stream":true})";
    REQUIRE(c.Send("POST /v1/projects/" + project +
                   "/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Idempotency-Key: s1\r\nX-Agent-Api-Key: " + std::string(kAgentKey) +
                   "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
    std::string head = c.ReadUntil("\"queued\"", 5000ms);
    CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(head.find("text/event-stream") != std::string::npos);
    HttpResponse list = t.Call("GET", "/v1/projects/" + project + "/runs");
    std::string run = *BodyJson(list).Find("runs")->as_array().at(0).FindString("id");
    t.Cancel(project, run);
    CHECK(c.WaitClosed(5000ms));
    CHECK(c.ReadUntil("", 0ms).find("event: done") != std::string::npos);
  }

  TEST_CASE("download.zip is the workspace without secrets, as an attachment") {
    RunsServer t;
    std::string project = t.CreateProject("demo");
    std::string run = t.CreateRun(project, "hi", "k1");
    const std::string ws = t.Workspace(project);
    std::filesystem::create_directories(ws + "/src");
    std::ofstream(ws + "/hello.txt") << "hi\n";
    std::ofstream(ws + "/src/main.py") << "print('hi')\n";
    std::ofstream(ws + "/.env") << "SECRET=1\n";
    HttpResponse r = t.Call("GET", "/v1/projects/" + project + "/runs/" + run + "/download.zip");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.Header("Content-Type") == "application/zip");
    CHECK(r.Header("Content-Disposition") ==
          "attachment; filename=\"" + project + "-" + run + ".zip\"");
    agentcore::testing::TempDir dir;
    const std::string zip = dir.path() + "/w.zip";
    std::ofstream(zip, std::ios::binary) << r.body;
    const std::string list = dir.path() + "/list.txt";
    REQUIRE(std::system(("python3 -m zipfile -t " + zip + " > /dev/null").c_str()) == 0);
    REQUIRE(std::system(("python3 -m zipfile -l " + zip + " > " + list).c_str()) == 0);
    std::ifstream in(list);
    std::string listing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(listing.find("hello.txt") != std::string::npos);
    CHECK(listing.find("src/main.py") != std::string::npos);
    CHECK(listing.find(".env") == std::string::npos);
    CHECK(t.Call("GET", "/v1/projects/" + project + "/runs/" + NewUlid() + "/download.zip")
              .status == 404);
  }

  TEST_CASE("download.zip of a workspace over --download-max-mb is 413 before any byte") {
    RunsServer t([](ServerConfig& c) { c.download_max_mb = 1; });
    std::string project = t.CreateProject("demo");
    std::string run = t.CreateRun(project, "hi", "k1");
    const std::string ws = t.Workspace(project);
    std::filesystem::create_directories(ws);
    std::ofstream(ws + "/big.bin", std::ios::binary) << std::string(2u << 20, 'x');
    HttpResponse r = t.Call("GET", "/v1/projects/" + project + "/runs/" + run + "/download.zip");
    CHECK(r.status == 413);
    CHECK(ErrorCodeOf(r) == "payload_too_large");
  }

  TEST_CASE("a refusal found before the first byte is answered on every connection") {
    // The library refuses at once, sometimes before the session's reader runs: the answer
    // must still go out before the connection closes (it once closed empty 1 time in 7).
    RunsServer t([](ServerConfig& c) { c.download_max_mb = 1; });
    std::string project = t.CreateProject("demo");
    std::string run = t.CreateRun(project, "hi", "k1");
    const std::string ws = t.Workspace(project);
    std::filesystem::create_directories(ws);
    std::ofstream(ws + "/big.bin", std::ios::binary) << std::string(2u << 20, 'x');
    int answered = 0;
    for (int i = 0; i < 100; ++i) {
      bool closed = false;
      std::string r = ReadWhole(t, "/v1/projects/" + project + "/runs/" + run + "/download.zip",
                                {}, &closed);
      CHECK(closed);
      if (r.starts_with("HTTP/1.1 413 ") &&
          r.find("\"error\":\"payload_too_large\"") != std::string::npos) {
        ++answered;
      }
    }
    CHECK(answered == 100);
  }

  TEST_CASE("GET /agents/task: 401 without a container token, 204 with no task") {
    RunsServer t;
    std::string project = t.CreateProject("demo");
    Json p = BodyJson(t.Call("GET", "/v1/projects/" + project));
    HttpResponse none = t.server.Call("GET", "/agents/task", {}, false);
    CHECK(none.status == 401);
    CHECK(BodyJson(none).FindString("error") != nullptr);
    HttpResponse bad =
        t.server.Call("GET", "/agents/task", {}, false, {{"Authorization", "Container nope"}});
    CHECK(bad.status == 401);
    std::string token = t.server.app().ContainerToken(
        AgentIdentity{t.server.app().hub().options().runs.platform_space_id,
                      *p.FindString("channelId"), "builder"});
    for (const std::string& auth : {"Container " + token, "Bearer " + token}) {
      HttpResponse r = t.server.Call("GET", "/agents/task", {}, false, {{"Authorization", auth}});
      CHECK(r.status == 204);
      CHECK(r.body.empty());
    }
  }

  TEST_CASE("start-up refuses a workspace backend other than host and a bad --model-pricing") {
    agentcore::testing::TempDir dir;
    auto open = [&dir](std::function<void(ServerConfig&)> tweak) {
      ServerConfig c;
      c.host = "127.0.0.1";
      c.port = 0;
      c.auth_mode = "dev";
      c.database_url = "sqlite://" + dir.path() + "/s.db";
      c.data_dir = dir.path() + "/data";
      c.access_log = false;
      tweak(c);
      return App::Open(c);
    };
    auto e2b = open([](ServerConfig& c) { c.workspace_backend = "e2b"; });
    REQUIRE(!e2b.ok());
    CHECK(e2b.status().message().find("e2b") != std::string::npos);

    const std::string bad = dir.path() + "/bad.json";
    std::ofstream(bad) << R"([{"provider":"openai"}])";
    auto bad_rows = open([&bad](ServerConfig& c) { c.model_pricing_file = bad; });
    REQUIRE(!bad_rows.ok());
    CHECK(bad_rows.status().message().find("--model-pricing") != std::string::npos);
    auto missing = open([&dir](ServerConfig& c) { c.model_pricing_file = dir.path() + "/no"; });
    CHECK(!missing.ok());
    const std::string not_json = dir.path() + "/nj.json";
    std::ofstream(not_json) << "[{";
    CHECK(!open([&not_json](ServerConfig& c) { c.model_pricing_file = not_json; }).ok());

    const std::string good = dir.path() + "/good.json";
    std::ofstream(good) << R"([{"provider":"openai","model":"gpt-4o-mini",)"
                           R"("inputUsdPerMTok":0.15,"outputUsdPerMTok":0.6}])";
    auto app = open([&good](ServerConfig& c) { c.model_pricing_file = good; });
    REQUIRE_MESSAGE(app.ok(), app.status().ToString());
    auto price = (*app)->store().GetModelPrice("openai", "gpt-4o-mini");
    REQUIRE(price.ok());
    CHECK(price->output_usd_per_mtok == doctest::Approx(0.6));
  }
}

}  // namespace
}  // namespace agentcore::server::testing
