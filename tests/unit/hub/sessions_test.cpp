// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/sessions.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <signal.h>

#include <agentcore/hub/hub.hpp>
#include <agentcore/json.hpp>

#include "process/spawn.hpp"
#include "store/temp_dir.hpp"
#include "support/fake_session_runtime.hpp"
#include "support/manual_clock.hpp"

namespace agentcore {
namespace {

namespace fs = std::filesystem;
using testing::FakeSessionProcess;
using testing::FakeSessionRuntime;
using testing::ManualClock;
using testing::TempDir;

Json J(std::string_view text) {
  Result<Json> json = ParseJson(text);
  REQUIRE_MESSAGE(json.ok(), json.status().ToString());
  return *std::move(json);
}

template <typename T>
T Must(Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return *std::move(r);
}

void MustOk(const Status& s) { REQUIRE_MESSAGE(s.ok(), s.ToString()); }

template <typename T>
ErrorCode CodeOf(const Result<T>& r) {
  return r.ok() ? ErrorCode::kOk : r.status().code();
}
ErrorCode CodeOf(const Status& s) { return s.code(); }

/// Waits (up to 5 s) for `pred`: for what the service does on its executor (a process's exit).
bool WaitFor(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

std::string Out(std::string_view bytes) { return std::string(1, '\x02') + std::string(bytes); }
std::string Err(std::string_view bytes) { return std::string(1, '\x03') + std::string(bytes); }
std::string ExitFrame(int code) {
  const auto u = static_cast<std::uint32_t>(code);
  return std::string{'\x04', static_cast<char>(u >> 24), static_cast<char>((u >> 16) & 0xff),
                     static_cast<char>((u >> 8) & 0xff), static_cast<char>(u & 0xff)};
}

/// A hub whose session runtimes are fakes (sandbox and containers), on an in-memory store, with
/// a manual clock and an API-key caller of space "s1".
class Fixture {
 public:
  explicit Fixture(std::function<void(SessionServiceOptions&)> configure = {},
                   bool with_containers = true) {
    HubOptions o;
    o.store_url = "sqlite::memory:";
    o.clock = &clock;
    o.local_process.data_dir = dir.path();
    o.sessions.sandbox = sandbox;
    if (with_containers) o.sessions.containers = containers;
    o.sessions.instance = "test-instance";
    if (configure) configure(o.sessions);
    Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(o));
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    hub = *std::move(opened);
    caller.kind = Principal::Kind::kApiKey;
    caller.space_id = "s1";
    caller.api_key_id = "key-1";
  }

  SessionService& sessions() { return hub->sessions(); }
  Session Create(std::string_view body = R"({"command":["sleep","1000"]})") {
    return Must(sessions().Create(caller, J(body)));
  }
  Session Get(const std::string& id) { return Must(sessions().Get(caller, id)); }
  FakeSessionProcess* Process(const std::string& id) {
    FakeSessionProcess* p = sandbox->process(id);
    REQUIRE(p != nullptr);
    return p;
  }
  std::string Workspace(const std::string& id) {
    return dir.path() + "/sessions/" + id + "/workspace";
  }

  ManualClock clock;
  TempDir dir;
  std::shared_ptr<FakeSessionRuntime> sandbox = std::make_shared<FakeSessionRuntime>("sandbox");
  std::shared_ptr<FakeSessionRuntime> containers =
      std::make_shared<FakeSessionRuntime>("containers");
  std::unique_ptr<Hub> hub;
  Principal caller;
};

/// An attachment with its wake-up count and everything drained so far.
struct Client {
  std::atomic<int> wakes{0};
  std::unique_ptr<SessionAttachment> a;
  std::vector<std::string> got;

  Client(SessionService& s, const Principal& caller, const std::string& id) {
    a = Must(s.Attach(caller, id, [this] { ++wakes; }));
  }
  std::vector<std::string> Drain() {
    std::vector<std::string> out;
    a->Drain(1 << 20, &out);
    got.insert(got.end(), out.begin(), out.end());
    return out;
  }
};

// --- Create ---------------------------------------------------------------------------------

TEST_SUITE("hub/sessions") {
  TEST_CASE("create waits for the process and answers the session running") {
    Fixture f;
    Session s = f.Create(
        R"({"command":["sleep","1000"],"env":{"TOKEN":"s3cret"},"workDir":"/workspace/app",
            "resources":{"cpuMillis":500,"memoryMB":256,"timeoutMs":60000},
            "network":"exposed","ports":[{"name":"web","port":8080},9000]})");
    CHECK(s.state == SessionState::kRunning);
    CHECK(s.generation == 1);
    CHECK(s.reason == "ready");
    CHECK(s.api_key_id == "key-1");
    CHECK(s.owner_id == "s1");
    CHECK(s.container_id == "fake:1");
    REQUIRE(f.sandbox->specs().size() == 1);
    const SessionSpec spec = f.sandbox->specs()[0];
    CHECK(spec.session_id == s.id);
    CHECK(spec.instance == "test-instance");
    CHECK(spec.command == std::vector<std::string>{"sleep", "1000"});
    CHECK(spec.work_dir == "/workspace/app");
    CHECK(spec.workspace_dir == f.Workspace(s.id));
    CHECK(fs::is_directory(spec.workspace_dir));
    CHECK(spec.resources.cpu_millis == 500);
    CHECK(spec.resources.memory_mb == 256);
    CHECK(spec.network == SessionNetwork::kExposed);
    REQUIRE(spec.ports.size() == 2);
    CHECK(spec.ports[1].name == "9000");
    CHECK(spec.env == std::vector<std::pair<std::string, std::string>>{{"TOKEN", "s3cret"}});
    CHECK(f.containers->started() == 0);

    const Json env = f.sessions().Envelope(s);
    const std::string text = ToJson(env);
    CHECK(text.find("s3cret") == std::string::npos);  // env values never leave
    CHECK(*env.FindString("status") == "running");
    CHECK(env.Find("envNames")->as_array().at(0) == Json("TOKEN"));
    CHECK(*env.FindString("workDir") == "/workspace/app");
    CHECK(env.Find("resources")->Find("timeoutMs")->as_number() == 60000);
    CHECK(*env.FindString("network") == "exposed");
    CHECK(env.Find("exitCode")->is_null());
    CHECK(env.Find("startedAt")->is_string());
    CHECK(env.Find("stoppedAt")->is_null());
    CHECK(*env.FindString("createdAt") == FormatIsoTimestamp(s.created_at));
  }

  TEST_CASE("a command string runs with /bin/sh -c; an image goes to the container runtime") {
    Fixture f;
    f.Create(R"({"command":"echo hi && sleep 1"})");
    CHECK(f.sandbox->specs().at(0).command ==
          std::vector<std::string>{"/bin/sh", "-c", "echo hi && sleep 1"});
    Session img = f.Create(R"({"image":"octo:1"})");
    CHECK(img.state == SessionState::kRunning);
    CHECK(img.image == "octo:1");
    CHECK(f.containers->started() == 1);
    CHECK(f.containers->specs().at(0).image == "octo:1");
    CHECK(f.containers->specs().at(0).work_dir == "/workspace");
  }

  TEST_CASE("create refuses a bad body with invalid_argument and stores nothing") {
    Fixture f;
    for (const char* body : {
             R"([1])",
             R"({})",
             R"({"command":[]})",
             R"({"command":42})",
             R"({"command":[1,2]})",
             R"({"command":[""]})",
             R"({"command":""})",
             R"({"command":"x","env":{"A":1}})",
             R"({"command":"x","env":{"1A":"v"}})",
             R"({"command":"x","env":{"A B":"v"}})",
             R"({"command":"x","env":[]})",
             R"({"command":"x","workDir":"relative"})",
             R"({"command":"x","workDir":7})",
             R"({"command":"x","resources":{"cpuMillis":-1}})",
             R"({"command":"x","resources":{"memoryMB":1.5}})",
             R"({"command":"x","resources":{"timeoutMs":"60"}})",
             R"({"command":"x","resources":[]})",
             R"({"command":"x","network":"bogus"})",
             R"({"command":"x","network":1})",
             R"({"command":"x","ports":[0]})",
             R"({"command":"x","ports":[70000]})",
             R"({"command":"x","ports":[80,80]})",
             R"({"command":"x","ports":[{"name":"a b","port":80}]})",
             R"({"command":"x","ports":[{"name":"web"}]})",
             R"({"command":"x","ports":["80"]})",
             R"({"image":5})",
         }) {
      CAPTURE(body);
      Result<Session> r = f.sessions().Create(f.caller, J(body));
      CHECK(CodeOf(r) == ErrorCode::kInvalidArgument);
      CHECK(SessionErrorCode(r.status()) == "invalid_argument");
    }
    CHECK(Must(f.sessions().List(f.caller, "", "", 0)).sessions.empty());
    CHECK(f.sandbox->started() == 0);
  }

  TEST_CASE("an image session without a container runtime is refused; the default image") {
    Fixture f({}, /*with_containers=*/false);
    Result<Session> r = f.sessions().Create(f.caller, J(R"({"image":"octo:1"})"));
    CHECK(CodeOf(r) == ErrorCode::kUnavailable);
    CHECK(r.status().message().find("no container runtime") != std::string::npos);
    CHECK(Must(f.sessions().List(f.caller, "", "", 0)).sessions.empty());

    Fixture d([](SessionServiceOptions& o) { o.default_image = "octo:default"; });
    Session s = d.Create(R"({})");
    CHECK(s.image == "octo:default");
    CHECK(d.containers->specs().at(0).image == "octo:default");
  }

  TEST_CASE("a start failure answers the session failed with the reason") {
    Fixture f;
    f.sandbox->FailNextStart(Status(ErrorCode::kUnavailable, "bwrap: not found"));
    Session s = f.Create();
    CHECK(s.state == SessionState::kFailed);
    CHECK(s.reason == "start failed: bwrap: not found");
    CHECK(f.Get(s.id).state == SessionState::kFailed);
    // It can be resumed once the runtime works.
    CHECK(Must(f.sessions().Resume(f.caller, s.id)).state == SessionState::kRunning);
  }

  TEST_CASE("a start slower than startup_timeout fails the session and stops the process") {
    Fixture f([](SessionServiceOptions& o) { o.startup_timeout = std::chrono::seconds(5); });
    f.sandbox->BeforeStart([&](const SessionSpec&) { f.clock.Advance(5'001); });
    Session s = f.Create();
    CHECK(s.state == SessionState::kFailed);
    CHECK(s.reason.find("startup timeout") == 0);
    CHECK(f.sandbox->started() == 1);
    CHECK(f.Get(s.id).state == SessionState::kFailed);
  }

  // --- Death and reconciliation ------------------------------------------------------------

  TEST_CASE("a process that exits moves the session to failed with its exit code") {
    Fixture f;
    Session s = f.Create();
    f.Process(s.id)->Exit(3, "exited with code 3");
    Session got = f.Get(s.id);
    CHECK(got.state == SessionState::kFailed);
    REQUIRE(got.exit_code.has_value());
    CHECK(*got.exit_code == 3);
    CHECK(got.reason == "exited with code 3");
    CHECK(got.stopped_at.has_value());
    CHECK(f.sessions().Envelope(got).Find("exitCode")->as_number() == 3);
    Result<Session> stop = f.sessions().Stop(f.caller, s.id);
    CHECK(CodeOf(stop) == ErrorCode::kConflict);
    CHECK(stop.status().message() == "cannot stop session in state \"failed\"");
  }

  TEST_CASE("a command that ends at once with status 0 answers stopped with its exit") {
    Fixture f;
    f.sandbox->ExitAtStart(0);
    f.sandbox->OutputAtStart({{SessionStream::kStdout, "hi\n"}});
    Session s = f.Create(R"({"command":"echo hi"})");
    CHECK(s.state == SessionState::kStopped);
    REQUIRE(s.exit_code.has_value());
    CHECK(*s.exit_code == 0);
    CHECK(s.reason == "exited with code 0");
    Client c(f.sessions(), f.caller, s.id);
    CHECK(c.Drain() == std::vector<std::string>{Out("hi\n"), ExitFrame(0)});
  }

  TEST_CASE("a process gone without OnExit is failed when fetched and by Sweep") {
    Fixture f;
    Session a = f.Create();
    Session b = f.Create();
    f.Process(a.id)->Vanish();
    f.Process(b.id)->Vanish();
    Session got = f.Get(a.id);
    CHECK(got.state == SessionState::kFailed);
    // Its exit, delivered by the runtime's Stop (which waits for OnExit).
    CHECK(got.reason == "the process vanished");
    REQUIRE(got.exit_code.has_value());
    CHECK(*got.exit_code == -1);
    f.sessions().Sweep(f.clock.NowMillis());
    CHECK(Must(f.hub->store().GetSession(b.id)).state == SessionState::kFailed);
    CHECK(Must(f.hub->store().GetSession(b.id)).reason == "the process vanished");
  }

  // --- Stop, resume, upgrade, delete -------------------------------------------------------

  TEST_CASE("stop ends the process with the grace and answers stopped; refusals are 409") {
    Fixture f([](SessionServiceOptions& o) { o.stop_grace = std::chrono::milliseconds(1234); });
    Session s = f.Create();
    FakeSessionProcess* p = f.Process(s.id);
    CHECK(p->stop_graces().empty());
    Result<Session> resumed = f.sessions().Resume(f.caller, s.id);
    CHECK(CodeOf(resumed) == ErrorCode::kConflict);
    CHECK(resumed.status().message() == "cannot resume session in state \"running\"");
    CHECK(SessionErrorCode(resumed.status()) == "conflict");
    Session stopped = Must(f.sessions().Stop(f.caller, s.id));
    CHECK(stopped.state == SessionState::kStopped);
    CHECK(stopped.reason == "stopped by request");
    REQUIRE(stopped.exit_code.has_value());
    CHECK(*stopped.exit_code == 143);
    Result<Session> again = f.sessions().Stop(f.caller, s.id);
    CHECK(CodeOf(again) == ErrorCode::kConflict);
    CHECK(again.status().message() == "cannot stop session in state \"stopped\"");
    // The posted exit of the stopped process changes nothing.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(f.Get(s.id).state == SessionState::kStopped);
  }

  TEST_CASE("resume starts a new process and keeps the workspace; upgrade adds a generation") {
    Fixture f;
    Session s = f.Create();
    MustOk(f.sessions().WriteFile(f.caller, s.id, "notes.txt", "kept"));
    Must(f.sessions().Stop(f.caller, s.id));
    Session r = Must(f.sessions().Resume(f.caller, s.id));
    CHECK(r.state == SessionState::kRunning);
    CHECK(r.generation == 1);
    CHECK(r.reason == "ready");
    CHECK(f.sandbox->started() == 2);
    CHECK(f.sandbox->specs().at(1).workspace_dir == f.Workspace(s.id));
    std::ifstream in(f.Workspace(s.id) + "/notes.txt");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(content == "kept");

    // Upgrade from running: the old process is stopped first.
    FakeSessionProcess* old = f.Process(s.id);
    CHECK(old->running());
    Session u = Must(f.sessions().Upgrade(f.caller, s.id));
    CHECK(u.state == SessionState::kRunning);
    CHECK(u.generation == 2);
    CHECK(f.sandbox->started() == 3);
    // Upgrade from failed too.
    f.Process(s.id)->Exit(1, "exited with code 1");
    CHECK(f.Get(s.id).state == SessionState::kFailed);
    CHECK(Must(f.sessions().Upgrade(f.caller, s.id)).generation == 3);
  }

  TEST_CASE("delete kills the process, removes the workspace, and the session is gone") {
    Fixture f;
    Session s = f.Create();
    MustOk(f.sessions().WriteFile(f.caller, s.id, "a/b.txt", "x"));
    Client c(f.sessions(), f.caller, s.id);
    MustOk(f.sessions().Delete(f.caller, s.id));
    CHECK_FALSE(fs::exists(f.dir.path() + "/sessions/" + s.id));
    CHECK(CodeOf(f.sessions().Get(f.caller, s.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().Delete(f.caller, s.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().Stop(f.caller, s.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().Attach(f.caller, s.id, [] {})) == ErrorCode::kNotFound);
    CHECK(Must(f.sessions().List(f.caller, "", "", 0)).sessions.empty());
    CHECK(Must(f.hub->store().GetSession(s.id)).state == SessionState::kDeleted);  // row stays
    CHECK(c.Drain() == std::vector<std::string>{ExitFrame(143)});  // stopped by the delete
    CHECK(c.a->ended());
    // A stopped one too (no process).
    Session t = f.Create();
    Must(f.sessions().Stop(f.caller, t.id));
    MustOk(f.sessions().Delete(f.caller, t.id));
    CHECK(Must(f.sessions().Usage(f.caller, "")).Find("sessions")->as_number() == 2);
  }

  TEST_CASE("another space's session is answered like a missing one") {
    Fixture f;
    Session s = f.Create();
    Principal other = f.caller;
    other.space_id = "s2";
    CHECK(CodeOf(f.sessions().Get(other, s.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().Stop(other, s.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().Resume(other, s.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().Delete(other, s.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().Attach(other, s.id, [] {})) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().Watch(other, s.id, [](const SessionChange&) {})) ==
          ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().ListFiles(other, s.id, "")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().ServiceEndpoint(other, s.id, "web")) == ErrorCode::kNotFound);
    CHECK(Must(f.sessions().List(other, "", "", 0)).sessions.empty());
    CHECK(f.Get(s.id).state == SessionState::kRunning);  // untouched
    for (const char* bad : {"", "../x", "a/b", "nope", "X\xff"}) {
      CHECK(CodeOf(f.sessions().Get(f.caller, bad)) == ErrorCode::kNotFound);
    }
  }

  // --- Caps and ports ----------------------------------------------------------------------

  TEST_CASE("running sessions per key are capped; a principal's own cap wins; stop frees") {
    Fixture f([](SessionServiceOptions& o) { o.max_running_sessions_per_key = 2; });
    Session a = f.Create();
    f.Create();
    Result<Session> third = f.sessions().Create(f.caller, J(R"({"command":"x"})"));
    CHECK(CodeOf(third) == ErrorCode::kRateLimited);
    CHECK(SessionErrorCode(third.status()) == "rate_limited");
    CHECK(f.sandbox->started() == 2);
    Principal other = f.caller;
    other.api_key_id = "key-2";
    Must(f.sessions().Create(other, J(R"({"command":"x"})")));  // another key: its own count
    Must(f.sessions().Stop(f.caller, a.id));
    f.Create();  // room again
    // Resume past the cap is refused too.
    CHECK(CodeOf(f.sessions().Resume(f.caller, a.id)) == ErrorCode::kRateLimited);

    Principal tight = f.caller;
    tight.api_key_id = "key-3";
    tight.max_running_sessions = 1;
    Must(f.sessions().Create(tight, J(R"({"command":"x"})")));
    CHECK(CodeOf(f.sessions().Create(tight, J(R"({"command":"x"})"))) ==
          ErrorCode::kRateLimited);
    // A user (cookie) counts as "user:<id>".
    Principal user;
    user.space_id = "s1";
    user.user_id = "u1";
    Session us = Must(f.sessions().Create(user, J(R"({"command":"x"})")));
    CHECK(us.api_key_id == "user:u1");
  }

  TEST_CASE("sessions per space are capped, stopped ones included, deleted ones not") {
    Fixture f([](SessionServiceOptions& o) { o.max_sessions_per_space = 2; });
    Session a = f.Create();
    f.Create();
    Must(f.sessions().Stop(f.caller, a.id));
    CHECK(CodeOf(f.sessions().Create(f.caller, J(R"({"command":"x"})"))) ==
          ErrorCode::kRateLimited);
    MustOk(f.sessions().Delete(f.caller, a.id));
    f.Create();
  }

  TEST_CASE("an exposed port of a running sandbox session is refused to another: port_in_use") {
    Fixture f;
    Session a = f.Create(R"({"command":"x","network":"exposed","ports":[{"name":"web","port":8080}]})");
    Result<Session> b =
        f.sessions().Create(f.caller, J(R"({"command":"x","network":"exposed","ports":[8080]})"));
    CHECK(CodeOf(b) == ErrorCode::kAlreadyExists);
    CHECK(SessionErrorCode(b.status()) == "port_in_use");
    CHECK(b.status().message().find("8080") != std::string::npos);
    // Other networks and container sessions do not hold host ports.
    f.Create(R"({"command":"x","network":"outgoing","ports":[8080]})");
    f.Create(R"({"image":"i","network":"exposed","ports":[8080]})");
    CHECK(Must(f.sessions().ServiceEndpoint(f.caller, a.id, "web")) == "127.0.0.1:8080");
    CHECK(CodeOf(f.sessions().ServiceEndpoint(f.caller, a.id, "nope")) == ErrorCode::kNotFound);
    Must(f.sessions().Stop(f.caller, a.id));
    CHECK(CodeOf(f.sessions().ServiceEndpoint(f.caller, a.id, "web")) == ErrorCode::kConflict);
    Session c = f.Create(R"({"command":"x","network":"exposed","ports":[8080]})");
    CHECK(c.state == SessionState::kRunning);
    // Resuming the first now collides.
    Result<Session> r = f.sessions().Resume(f.caller, a.id);
    CHECK(SessionErrorCode(r.status()) == "port_in_use");
    // A failed start frees its port.
    MustOk(f.sessions().Delete(f.caller, c.id));
    f.sandbox->FailNextStart(Status(ErrorCode::kInternal, "boom"));
    CHECK(f.Create(R"({"command":"x","network":"exposed","ports":[8080]})").state ==
          SessionState::kFailed);
    CHECK(f.Create(R"({"command":"x","network":"exposed","ports":[8080]})").state ==
          SessionState::kRunning);
  }

  TEST_CASE("while creating: the endpoint is unavailable (retry), an attach waits") {
    Fixture f;
    std::mutex gate;
    std::unique_lock hold(gate);
    std::atomic<bool> in_start{false};
    f.sandbox->BeforeStart([&](const SessionSpec&) {
      in_start = true;
      std::lock_guard wait(gate);
    });
    std::thread creator([&] {
      f.Create(R"({"command":"x","network":"exposed","ports":[{"name":"web","port":8081}]})");
    });
    REQUIRE(WaitFor([&] { return in_start.load(); }));
    SessionPage page = Must(f.sessions().List(f.caller, "creating", "", 0));
    REQUIRE(page.sessions.size() == 1);
    CHECK(CodeOf(f.sessions().ServiceEndpoint(f.caller, page.sessions[0].id, "web")) ==
          ErrorCode::kUnavailable);
    CHECK(f.Get(page.sessions[0].id).state == SessionState::kCreating);
    Client early(f.sessions(), f.caller, page.sessions[0].id);
    CHECK(early.Drain().empty());
    CHECK_FALSE(early.a->ended());
    hold.unlock();
    creator.join();
    CHECK(f.Get(page.sessions[0].id).state == SessionState::kRunning);
    f.Process(page.sessions[0].id)->Emit(SessionStream::kStdout, "up");
    CHECK(early.Drain() == std::vector<std::string>{Out("up")});
  }

  // --- List ----------------------------------------------------------------------------------

  TEST_CASE("list pages newest first with a cursor and filters by status") {
    Fixture f;
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
      ids.push_back(f.Create().id);
      f.clock.Advance(1);
    }
    Must(f.sessions().Stop(f.caller, ids[1]));
    Must(f.sessions().Stop(f.caller, ids[3]));
    SessionPage p1 = Must(f.sessions().List(f.caller, "", "", 2));
    REQUIRE(p1.sessions.size() == 2);
    CHECK(p1.sessions[0].id == ids[4]);
    CHECK(p1.sessions[1].id == ids[3]);
    CHECK(p1.next_cursor == ids[3]);
    SessionPage p2 = Must(f.sessions().List(f.caller, "", p1.next_cursor, 2));
    CHECK(p2.sessions.at(0).id == ids[2]);
    CHECK(p2.sessions.at(1).id == ids[1]);
    SessionPage p3 = Must(f.sessions().List(f.caller, "", p2.next_cursor, 2));
    REQUIRE(p3.sessions.size() == 1);
    CHECK(p3.sessions[0].id == ids[0]);
    CHECK(p3.next_cursor.empty());
    SessionPage stopped = Must(f.sessions().List(f.caller, "stopped", "", 0));
    REQUIRE(stopped.sessions.size() == 2);
    CHECK(stopped.sessions[0].id == ids[3]);
    CHECK(Must(f.sessions().List(f.caller, "running", "", 0)).sessions.size() == 3);
    MustOk(f.sessions().Delete(f.caller, ids[4]));
    CHECK(Must(f.sessions().List(f.caller, "", "", 0)).sessions.size() == 4);
    CHECK(Must(f.sessions().List(f.caller, "deleted", "", 0)).sessions.empty());
    CHECK(CodeOf(f.sessions().List(f.caller, "bogus", "", 0)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.sessions().List(f.caller, "", "", 101)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.sessions().List(f.caller, "", "../x", 0)) == ErrorCode::kInvalidArgument);
  }

  // --- Attach -------------------------------------------------------------------------------

  TEST_CASE("attach replays the tail, then live output in order, then the exit") {
    Fixture f;
    Session s = f.Create();
    FakeSessionProcess* p = f.Process(s.id);
    p->Emit(SessionStream::kStdout, "before ");
    Client c(f.sessions(), f.caller, s.id);
    CHECK(c.Drain() == std::vector<std::string>{Out("before ")});
    CHECK_FALSE(c.a->ended());
    const int wakes = c.wakes;
    p->Emit(SessionStream::kStderr, "oops");
    p->Emit(SessionStream::kStdout, "after");
    CHECK(c.wakes >= wakes + 2);
    CHECK(c.Drain() == std::vector<std::string>{Err("oops"), Out("after")});
    p->Exit(7, "exited with code 7");
    CHECK(c.a->ended());
    CHECK(c.Drain() == std::vector<std::string>{ExitFrame(7)});
    CHECK(c.Drain().empty());
    CHECK(ExitFrame(-1) == std::string("\x04\xff\xff\xff\xff", 5));
  }

  TEST_CASE("several attachers each get everything; Drain takes about max_bytes") {
    Fixture f;
    Session s = f.Create();
    Client a(f.sessions(), f.caller, s.id);
    Client b(f.sessions(), f.caller, s.id);
    FakeSessionProcess* p = f.Process(s.id);
    p->Emit(SessionStream::kStdout, "one");
    p->Emit(SessionStream::kStdout, "two");
    std::vector<std::string> first;
    a.a->Drain(1, &first);  // at least one message, however small max_bytes
    CHECK(first == std::vector<std::string>{Out("one")});
    CHECK(a.Drain() == std::vector<std::string>{Out("two")});
    CHECK(b.Drain() == std::vector<std::string>{Out("one"), Out("two")});
  }

  TEST_CASE("a slow attacher is dropped at its bound while another keeps receiving") {
    Fixture f([](SessionServiceOptions& o) { o.attach_buffer_bytes = 100; });
    Session s = f.Create();
    Client slow(f.sessions(), f.caller, s.id);
    Client fast(f.sessions(), f.caller, s.id);
    FakeSessionProcess* p = f.Process(s.id);
    const std::string chunk(60, 'x');
    p->Emit(SessionStream::kStdout, chunk);
    CHECK(fast.Drain().size() == 1);
    CHECK_FALSE(slow.a->dropped());
    p->Emit(SessionStream::kStdout, chunk);  // slow: 61 + 61 > 100
    CHECK(slow.a->dropped());
    CHECK(fast.Drain().size() == 1);
    p->Emit(SessionStream::kStdout, "more");
    CHECK(fast.Drain() == std::vector<std::string>{Out("more")});
    CHECK(slow.Drain().empty());  // freed, nothing more queued
    p->Exit(0, "exited with code 0");
    CHECK(slow.Drain().empty());
    CHECK(fast.Drain() == std::vector<std::string>{ExitFrame(0)});
  }

  TEST_CASE("stdin reaches the process; after stdin is closed it is refused") {
    Fixture f;
    Session s = f.Create();
    Client c(f.sessions(), f.caller, s.id);
    FakeSessionProcess* p = f.Process(s.id);
    p->EchoStdin(true);
    MustOk(c.a->WriteStdin("hello\n"));
    CHECK(p->stdin_bytes() == "hello\n");
    CHECK(c.Drain() == std::vector<std::string>{Out("hello\n")});
    MustOk(c.a->CloseStdin());
    CHECK(p->stdin_closed());
    CHECK(c.Drain() == std::vector<std::string>{std::string(1, '\x06')});
    Status after = c.a->WriteStdin("more");
    CHECK(after.code() == ErrorCode::kConflict);
    CHECK(after.message() == "stdin was closed");
    CHECK(p->stdin_bytes() == "hello\n");
  }

  TEST_CASE("attaching to a stopped session gives the tail and the last exit, then ends") {
    Fixture f;
    Session s = f.Create();
    f.Process(s.id)->Emit(SessionStream::kStdout, "log");
    Must(f.sessions().Stop(f.caller, s.id));
    Client c(f.sessions(), f.caller, s.id);
    CHECK(c.a->ended());
    CHECK(c.Drain() == std::vector<std::string>{Out("log"), ExitFrame(143)});
    Status write = c.a->WriteStdin("x");
    CHECK(write.code() == ErrorCode::kConflict);
    CHECK(write.message() == "session is not running");
    // Never ran: no exit code, so an error frame.
    f.sandbox->FailNextStart(Status(ErrorCode::kInternal, "boom"));
    Session failed = f.Create();
    Client e(f.sessions(), f.caller, failed.id);
    std::vector<std::string> got = e.Drain();
    REQUIRE(got.size() == 1);
    CHECK(got[0].at(0) == '\x05');
    CHECK(e.a->ended());
  }

  TEST_CASE("re-attaching after resume sees the tail of the earlier process") {
    Fixture f;
    Session s = f.Create();
    f.Process(s.id)->Emit(SessionStream::kStdout, "first run\n");
    Must(f.sessions().Stop(f.caller, s.id));
    Must(f.sessions().Resume(f.caller, s.id));
    Client c(f.sessions(), f.caller, s.id);
    CHECK(c.Drain() == std::vector<std::string>{Out("first run\n")});
    CHECK_FALSE(c.a->ended());
    f.Process(s.id)->Emit(SessionStream::kStdout, "second");
    CHECK(c.Drain() == std::vector<std::string>{Out("second")});
  }

  TEST_CASE("the ring keeps the last output_ring_bytes of output") {
    Fixture f([](SessionServiceOptions& o) { o.output_ring_bytes = 10; });
    Session s = f.Create();
    FakeSessionProcess* p = f.Process(s.id);
    p->Emit(SessionStream::kStdout, "0123456789");
    p->Emit(SessionStream::kStderr, "abcde");
    Client c(f.sessions(), f.caller, s.id);
    CHECK(c.Drain() == std::vector<std::string>{Out("56789"), Err("abcde")});
    p->Emit(SessionStream::kStdout, "this is longer than ten");
    Client d(f.sessions(), f.caller, s.id);
    CHECK(d.Drain() == std::vector<std::string>{Out("r than ten")});
  }

  TEST_CASE("attachments per session are capped; a detached one frees its place") {
    Fixture f([](SessionServiceOptions& o) { o.max_attachments_per_session = 2; });
    Session s = f.Create();
    auto a = Must(f.sessions().Attach(f.caller, s.id, [] {}));
    auto b = Must(f.sessions().Attach(f.caller, s.id, [] {}));
    CHECK(CodeOf(f.sessions().Attach(f.caller, s.id, [] {})) == ErrorCode::kRateLimited);
    a.reset();
    Must(f.sessions().Attach(f.caller, s.id, [] {}));
  }

  // --- Watch --------------------------------------------------------------------------------

  TEST_CASE("watch delivers the current state, then every change in order, until destroyed") {
    Fixture f;
    Session s = f.Create();
    std::mutex mu;
    std::vector<SessionChange> seen;
    auto sink = [&](const SessionChange& c) {
      std::lock_guard lock(mu);
      seen.push_back(c);
    };
    auto w = Must(f.sessions().Watch(f.caller, s.id, sink));
    Must(f.sessions().Stop(f.caller, s.id));
    Must(f.sessions().Resume(f.caller, s.id));
    f.Process(s.id)->Exit(2, "exited with code 2");  // settled on the executor
    REQUIRE(WaitFor([&] {
      std::lock_guard lock(mu);
      return seen.size() == 5;
    }));
    {
      std::lock_guard lock(mu);
      std::vector<std::pair<std::int64_t, SessionState>> got;
      for (const SessionChange& c : seen) got.emplace_back(c.seq, c.state);
      CHECK(got == std::vector<std::pair<std::int64_t, SessionState>>{
                       {1, SessionState::kRunning},
                       {2, SessionState::kStopped},
                       {3, SessionState::kCreating},
                       {4, SessionState::kRunning},
                       {5, SessionState::kFailed}});
      CHECK(seen[1].reason == "stopped by request");
      CHECK(seen[2].reason == "resumed");
      REQUIRE(seen[4].exit_code.has_value());
      CHECK(*seen[4].exit_code == 2);
      CHECK(seen[4].reason == "exited with code 2");
    }
    w.reset();
    Must(f.sessions().Resume(f.caller, s.id));
    std::lock_guard lock(mu);
    CHECK(seen.size() == 5);  // nothing after the watch went
  }

  // --- Sweep, Start, Close -----------------------------------------------------------------

  TEST_CASE("sweep stops a session idle for idle_timeout, not one with a client attached") {
    Fixture f([](SessionServiceOptions& o) { o.idle_timeout = std::chrono::seconds(10); });
    Session idle = f.Create();
    Session watched = f.Create();
    auto client = Must(f.sessions().Attach(f.caller, watched.id, [] {}));
    f.clock.Advance(10'000);
    f.sessions().Sweep(f.clock.NowMillis());
    CHECK(Must(f.hub->store().GetSession(idle.id)).state == SessionState::kRunning);  // not past
    f.clock.Advance(1);
    f.Process(watched.id)->Emit(SessionStream::kStdout, "x");
    f.sessions().Sweep(f.clock.NowMillis());
    Session got = Must(f.hub->store().GetSession(idle.id));
    CHECK(got.state == SessionState::kStopped);
    CHECK(got.reason.find("idle timeout") == 0);
    CHECK(Must(f.hub->store().GetSession(watched.id)).state == SessionState::kRunning);
  }

  TEST_CASE("sweep stops a session past its resources.timeoutMs") {
    Fixture f;
    Session s = f.Create(R"({"command":"x","resources":{"timeoutMs":5000}})");
    f.clock.Advance(5'000);
    f.sessions().Sweep(f.clock.NowMillis());
    CHECK(Must(f.hub->store().GetSession(s.id)).state == SessionState::kRunning);
    f.clock.Advance(1);
    f.sessions().Sweep(f.clock.NowMillis());
    Session got = Must(f.hub->store().GetSession(s.id));
    CHECK(got.state == SessionState::kStopped);
    CHECK(got.reason.find("timeoutMs") != std::string::npos);
  }

  TEST_CASE("Start reaps this instance's orphans and fails its leftover sessions") {
    Fixture f;
    CHECK(f.sandbox->reaped() == std::vector<std::string>{"test-instance"});
    CHECK(f.containers->reaped() == std::vector<std::string>{"test-instance"});
    Session left;
    left.id = "01LEFTOVER";
    left.owner_id = "s1";
    left.state = SessionState::kRunning;
    left.generation = 1;
    left.instance = "test-instance";
    left.api_key_id = "key-1";
    left.started_at = f.clock.NowMillis() - 1000;
    Must(f.hub->store().PutSession(left));
    Session other = left;
    other.id = "01OTHERSERVER";
    other.instance = "another-instance";
    Must(f.hub->store().PutSession(other));
    Session creating = left;
    creating.id = "01CREATING";
    creating.state = SessionState::kCreating;
    Must(f.hub->store().PutSession(creating));
    MustOk(f.sessions().Start());
    Session got = Must(f.hub->store().GetSession(left.id));
    CHECK(got.state == SessionState::kFailed);
    CHECK(got.reason == "server restarted");
    CHECK(got.running_ms == 1000);
    CHECK(Must(f.hub->store().GetSession(creating.id)).state == SessionState::kFailed);
    CHECK(Must(f.hub->store().GetSession(other.id)).state == SessionState::kRunning);
    CHECK(f.Get(left.id).state == SessionState::kFailed);
  }

  TEST_CASE("Close stops every running session; later creates are refused") {
    Fixture f;
    Session a = f.Create();
    Session b = f.Create();
    Session stopped = f.Create();
    Must(f.sessions().Stop(f.caller, stopped.id));
    f.hub->Close();
    for (const Session& s : {a, b}) {
      Session got = Must(f.hub->store().GetSession(s.id));
      CHECK(got.state == SessionState::kStopped);
      CHECK(got.reason == "server shutdown");
    }
    CHECK(Must(f.hub->store().GetSession(stopped.id)).reason == "stopped by request");
    CHECK(CodeOf(f.sessions().Create(f.caller, J(R"({"command":"x"})"))) ==
          ErrorCode::kUnavailable);
    f.sessions().Close();  // idempotent
  }

  // --- Files ---------------------------------------------------------------------------------

  TEST_CASE("files are written, listed and read in 64 KiB chunks") {
    Fixture f;
    Session s = f.Create();
    MustOk(f.sessions().WriteFile(f.caller, s.id, "src/main.c", "int main;"));
    MustOk(f.sessions().WriteFile(f.caller, s.id, "README", ""));
    const std::string big(150 * 1024, 'b');
    MustOk(f.sessions().WriteFile(f.caller, s.id, "big.bin", big));
    std::vector<SessionFileEntry> root = Must(f.sessions().ListFiles(f.caller, s.id, ""));
    REQUIRE(root.size() == 3);
    CHECK(root[0].path == "README");
    CHECK(root[1].path == "big.bin");
    CHECK(root[1].size == big.size());
    CHECK(root[2].path == "src");
    CHECK(root[2].directory);
    CHECK(root[1].modified_at > 0);
    std::vector<SessionFileEntry> src = Must(f.sessions().ListFiles(f.caller, s.id, "src"));
    REQUIRE(src.size() == 1);
    CHECK(src[0].path == "src/main.c");
    CHECK(src[0].size == 9);
    std::vector<std::size_t> chunks;
    std::string read;
    MustOk(f.sessions().ReadFile(f.caller, s.id, "big.bin", [&](std::string_view bytes) {
      chunks.push_back(bytes.size());
      read.append(bytes);
      return Status();
    }));
    CHECK(read == big);
    CHECK(chunks == std::vector<std::size_t>{65536, 65536, 22528});
    // A sink error stops the read.
    int calls = 0;
    Status stopped = f.sessions().ReadFile(f.caller, s.id, "big.bin", [&](std::string_view) {
      ++calls;
      return Status(ErrorCode::kUnavailable, "client gone");
    });
    CHECK(stopped.code() == ErrorCode::kUnavailable);
    CHECK(calls == 1);
    // Replacing a file.
    MustOk(f.sessions().WriteFile(f.caller, s.id, "src/main.c", "v2"));
    std::string v2;
    MustOk(f.sessions().ReadFile(f.caller, s.id, "src/main.c", [&](std::string_view b) {
      v2.append(b);
      return Status();
    }));
    CHECK(v2 == "v2");
  }

  TEST_CASE("files refuse traversal, symlinks out, directories, missing paths and large files") {
    Fixture f([](SessionServiceOptions& o) { o.max_file_bytes = 10; });
    Session s = f.Create();
    auto noop = [](std::string_view) { return Status(); };
    for (const char* bad : {"../outside", "a/../../outside", "/etc/passwd"}) {
      CAPTURE(bad);
      const ErrorCode write = CodeOf(f.sessions().WriteFile(f.caller, s.id, bad, "x"));
      CHECK((write == ErrorCode::kInvalidArgument));
      CHECK(CodeOf(f.sessions().ReadFile(f.caller, s.id, bad, noop)) ==
            ErrorCode::kInvalidArgument);
    }
    CHECK_FALSE(fs::exists(f.dir.path() + "/sessions/" + s.id + "/outside"));
    CHECK(CodeOf(f.sessions().ListFiles(f.caller, s.id, "..")) == ErrorCode::kInvalidArgument);
    // A symlink pointing out of the workspace.
    fs::create_directory_symlink(f.dir.path(), f.Workspace(s.id) + "/out");
    CHECK(CodeOf(f.sessions().ReadFile(f.caller, s.id, "out/x", noop)) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.sessions().WriteFile(f.caller, s.id, "out/planted", "x")) ==
          ErrorCode::kInvalidArgument);
    CHECK_FALSE(fs::exists(f.dir.path() + "/planted"));
    CHECK(CodeOf(f.sessions().ListFiles(f.caller, s.id, "out")) == ErrorCode::kInvalidArgument);
    // Sizes.
    CHECK(CodeOf(f.sessions().WriteFile(f.caller, s.id, "big", std::string(11, 'x'))) ==
          ErrorCode::kTooLarge);
    MustOk(f.sessions().WriteFile(f.caller, s.id, "ten", std::string(10, 'x')));
    {
      std::ofstream(f.Workspace(s.id) + "/grown") << std::string(11, 'y');
    }
    int calls = 0;
    CHECK(CodeOf(f.sessions().ReadFile(f.caller, s.id, "grown", [&](std::string_view) {
      ++calls;
      return Status();
    })) == ErrorCode::kTooLarge);
    CHECK(calls == 0);  // before any byte
    // Missing, directories, the root.
    CHECK(CodeOf(f.sessions().ReadFile(f.caller, s.id, "missing", noop)) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.sessions().ListFiles(f.caller, s.id, "missing")) == ErrorCode::kNotFound);
    MustOk(f.sessions().WriteFile(f.caller, s.id, "d/f", "x"));
    CHECK(CodeOf(f.sessions().ReadFile(f.caller, s.id, "d", noop)) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.sessions().WriteFile(f.caller, s.id, "d", "x")) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.sessions().WriteFile(f.caller, s.id, "", "x")) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.sessions().WriteFile(f.caller, s.id, "a/..", "x")) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.sessions().ListFiles(f.caller, s.id, "ten")) == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("listing stops at max_listed_files") {
    Fixture f([](SessionServiceOptions& o) { o.max_listed_files = 3; });
    Session s = f.Create();
    for (const char* name : {"a", "b", "c"}) MustOk(f.sessions().WriteFile(f.caller, s.id, name, ""));
    CHECK(Must(f.sessions().ListFiles(f.caller, s.id, "")).size() == 3);
    MustOk(f.sessions().WriteFile(f.caller, s.id, "d", ""));
    CHECK(CodeOf(f.sessions().ListFiles(f.caller, s.id, "")) == ErrorCode::kTooLarge);
  }

  // --- Usage --------------------------------------------------------------------------------

  TEST_CASE("usage sums a key's session seconds, CPU and memory; another key needs admin") {
    Fixture f;
    Session s = f.Create(R"({"command":"x","resources":{"cpuMillis":500,"memoryMB":100}})");
    f.clock.Advance(10'000);
    Must(f.sessions().Stop(f.caller, s.id));
    Session r = f.Create(R"({"command":"x","resources":{"cpuMillis":1000}})");
    f.clock.Advance(2'000);  // r runs: counted up to now
    Json u = Must(f.sessions().Usage(f.caller, ""));
    CHECK(*u.FindString("key") == "key-1");
    CHECK(u.Find("sessions")->as_number() == 2);
    CHECK(u.Find("running")->as_number() == 1);
    CHECK(u.Find("sessionSeconds")->as_number() == 12);
    CHECK(u.Find("cpuMilliSeconds")->as_number() == 5'000 + 2'000);
    CHECK(u.Find("memoryMBSeconds")->as_number() == 1'000);
    MustOk(f.sessions().Delete(f.caller, r.id));
    CHECK(Must(f.sessions().Usage(f.caller, "key-1")).Find("sessionSeconds")->as_number() == 12);
    Result<Json> other = f.sessions().Usage(f.caller, "key-2");
    CHECK(CodeOf(other) == ErrorCode::kPermissionDenied);
    Principal admin = f.caller;
    admin.api_key_id = "key-admin";
    admin.admin = true;
    CHECK(Must(f.sessions().Usage(admin, "key-1")).Find("sessions")->as_number() == 2);
    CHECK(Must(f.sessions().Usage(admin, "key-2")).Find("sessions")->as_number() == 0);
  }

  TEST_CASE("SessionErrorCode names every code the routes answer") {
    CHECK(SessionErrorCode(Status()) == "ok");
    CHECK(SessionErrorCode(Status(ErrorCode::kAlreadyExists, "port 1 is in use")) ==
          "port_in_use");
    CHECK(SessionErrorCode(Status(ErrorCode::kAlreadyExists, "other")) == "conflict");
    CHECK(SessionErrorCode(Status(ErrorCode::kConflict, "x")) == "conflict");
    CHECK(SessionErrorCode(Status(ErrorCode::kNotFound, "x")) == "not_found");
    CHECK(SessionErrorCode(Status(ErrorCode::kTooLarge, "x")) == "too_large");
    CHECK(SessionErrorCode(Status(ErrorCode::kUnavailable, "x")) == "unavailable");
    CHECK(SessionErrorCode(Status(ErrorCode::kInternal, "x")) == "internal");
    CHECK(SessionErrorCode(Status(ErrorCode::kPermissionDenied, "x")) == "permission_denied");
    CHECK(SessionErrorCode(Status(ErrorCode::kUnauthenticated, "x")) == "unauthenticated");
  }
}

// --- With the real bubblewrap runtime (the hub's default sandbox) -----------------------------

bool HaveBwrap() {
  static const bool have = !internal::FindProgram("bwrap").empty();
  if (!have) MESSAGE("bwrap is not installed (apt-get install bubblewrap): case skipped");
  return have;
}

/// The hub opens its own sandbox runtime (SessionServiceOptions::sandbox left null).
void DefaultSandbox(SessionServiceOptions& o) { o.sandbox = nullptr; }

/// Drains `c` until it ended (or 10 s); returns the stdout bytes and the frames' types.
std::string DrainUntilEnded(Client& c, std::vector<char>* types = nullptr) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    const bool ended = c.a->ended();
    for (const std::string& m : c.Drain()) {
      if (types != nullptr) types->push_back(m.at(0));
      if (m.at(0) == '\x02') out += m.substr(1);
    }
    if (ended || std::chrono::steady_clock::now() > deadline) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST_SUITE("hub/sessions/bwrap") {
  TEST_CASE("with bubblewrap: a command's output reaches an attach, then its exit code") {
    if (!HaveBwrap()) return;
    Fixture f(DefaultSandbox);
    Session s = f.Create(R"({"command":["sh","-c","sleep 0.2; echo hi"]})");
    CHECK(s.container_id.rfind("pid:", 0) == 0);
    Client c(f.sessions(), f.caller, s.id);
    std::vector<char> types;
    CHECK(DrainUntilEnded(c, &types) == "hi\n");
    REQUIRE_FALSE(types.empty());
    CHECK(types.back() == '\x04');
    CHECK(c.got.back() == ExitFrame(0));
    Session got = f.Get(s.id);
    CHECK(got.state == SessionState::kStopped);
    REQUIRE(got.exit_code.has_value());
    CHECK(*got.exit_code == 0);
    // A later attach gets the tail and the exit.
    Client again(f.sessions(), f.caller, s.id);
    CHECK(DrainUntilEnded(again) == "hi\n");
    CHECK(again.got.back() == ExitFrame(0));
  }

  TEST_CASE("with bubblewrap: stdin reaches the command and its echo comes back") {
    if (!HaveBwrap()) return;
    Fixture f(DefaultSandbox);
    Session s = f.Create(R"({"command":["cat"]})");
    REQUIRE(s.state == SessionState::kRunning);
    Client c(f.sessions(), f.caller, s.id);
    MustOk(c.a->WriteStdin("ping\n"));
    MustOk(c.a->CloseStdin());  // cat ends at EOF
    CHECK(DrainUntilEnded(c) == "ping\n");
    CHECK(c.got.back() == ExitFrame(0));
  }

  TEST_CASE("with bubblewrap: a process killed from outside fails the session with a reason") {
    if (!HaveBwrap()) return;
    Fixture f(DefaultSandbox);
    Session s = f.Create(R"({"command":["sleep","600"]})");
    REQUIRE(s.state == SessionState::kRunning);
    REQUIRE(s.container_id.rfind("pid:", 0) == 0);
    const int pid = std::stoi(s.container_id.substr(4));
    REQUIRE(pid > 1);
    REQUIRE(::kill(pid, SIGKILL) == 0);
    REQUIRE(WaitFor([&] { return f.Get(s.id).state == SessionState::kFailed; }));
    Session got = f.Get(s.id);
    CHECK_FALSE(got.reason.empty());
    REQUIRE(got.exit_code.has_value());
    CHECK(*got.exit_code != 0);
    MESSAGE("killed from outside: exit ", *got.exit_code, ", reason: ", got.reason);
  }

  TEST_CASE("with bubblewrap: stop and resume keep the workspace's files") {
    if (!HaveBwrap()) return;
    Fixture f(DefaultSandbox);
    Session s = f.Create(
        R"({"command":["sh","-c","echo made-inside > /workspace/inside.txt; exec sleep 600"]})");
    REQUIRE(s.state == SessionState::kRunning);
    const std::string file = f.Workspace(s.id) + "/inside.txt";
    REQUIRE(WaitFor([&] { return fs::exists(file) && fs::file_size(file) > 0; }));
    Session stopped = Must(f.sessions().Stop(f.caller, s.id));
    CHECK(stopped.state == SessionState::kStopped);
    CHECK(fs::exists(file));
    Session resumed = Must(f.sessions().Resume(f.caller, s.id));
    CHECK(resumed.state == SessionState::kRunning);
    std::string read;
    MustOk(f.sessions().ReadFile(f.caller, s.id, "inside.txt", [&](std::string_view b) {
      read.append(b);
      return Status();
    }));
    CHECK(read == "made-inside\n");
    MustOk(f.sessions().Delete(f.caller, s.id));
    CHECK_FALSE(fs::exists(f.Workspace(s.id)));
  }

  // Flow control (docs/sessions.md "Attach protocol"): with a real pipe behind it.
  TEST_CASE("with bubblewrap: a client that reads slowly gets every byte, none dropped") {
    if (!HaveBwrap()) return;
    Fixture f([](SessionServiceOptions& o) {
      o.sandbox = nullptr;
      o.attach_buffer_bytes = 256 * 1024;
    });
    const std::size_t total = 4'000'000;  // 15 times the bound
    Session s = f.Create(R"({"command":["sh","-c","read x; head -c 4000000 /dev/zero"]})");
    Client c(f.sessions(), f.caller, s.id);
    MustOk(c.a->WriteStdin("go\n"));
    std::size_t got = 0;
    bool ended = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!ended && std::chrono::steady_clock::now() < deadline) {
      std::vector<std::string> out;
      c.a->Drain(16 * 1024, &out);  // slower than the command writes
      for (const std::string& m : out) {
        if (m.at(0) == '\x02') got += m.size() - 1;
        if (m.at(0) == '\x04') ended = true;  // the last message
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    CHECK_FALSE(c.a->dropped());
    CHECK(ended);
    CHECK(got == total);
  }

  TEST_CASE("with bubblewrap: a stalled client is dropped after the stall timeout; "
            "another gets every byte") {
    if (!HaveBwrap()) return;
    Fixture f([](SessionServiceOptions& o) {
      o.sandbox = nullptr;
      o.attach_buffer_bytes = 256 * 1024;
      o.attach_stall_timeout = std::chrono::milliseconds(5'000);
    });
    Session s = f.Create(R"({"command":["sh","-c","read x; head -c 2000000 /dev/zero"]})");
    Client stalled(f.sessions(), f.caller, s.id);
    Client reader(f.sessions(), f.caller, s.id);
    MustOk(reader.a->WriteStdin("go\n"));
    // The stalled client holds the output: the reader gets at most a bound's worth.
    std::size_t got = 0;
    auto drain = [&] {
      std::vector<std::string> out;
      reader.a->Drain(1 << 20, &out);
      for (const std::string& m : out) {
        if (m.at(0) == '\x02') got += m.size() - 1;
      }
    };
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    drain();
    CHECK(got < 2'000'000);
    f.sessions().Sweep(f.clock.NowMillis());  // not stalled long enough yet
    CHECK_FALSE(stalled.a->dropped());
    f.clock.Advance(5'001);
    f.sessions().Sweep(f.clock.NowMillis());
    CHECK(stalled.a->dropped());
    CHECK(WaitFor([&] {
      drain();
      return reader.a->ended();
    }));
    drain();  // what was queued before the exit message
    CHECK_FALSE(reader.a->dropped());
    CHECK(got == 2'000'000);
  }
}

}  // namespace
}  // namespace agentcore
