// SPDX-License-Identifier: Apache-2.0
// Issue 13 §2, safe defaults. Before: `bash scripts/run-server.sh` listened on 0.0.0.0 in dev
// mode on the public secrets, the server started without AUTH_MODE on those same public secrets
// (a JWT signed with the documented dev secret opened 21 routes), 40 POST …/agents spawned 40
// processes, /metrics was open in dev mode whatever the address, and the data landed in the
// working directory. Now: dev mode binds 127.0.0.1 unless told otherwise, outside dev mode the
// server refuses to start without real secrets, agents per space are capped, the posture is
// printed at start-up, and the data lives under $XDG_DATA_HOME/agentcore.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/json.hpp>

#include "server/rest_test_client.hpp"
#include "server/server_fixture.hpp"
#include "store/temp_dir.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

using agentcore::testing::Str;

using agentcore::testing::TempDir;

const std::string kRealJwt(64, 'j');
const std::string kRealContainer(64, 'c');

/// A configuration on files of `dir`, on an ephemeral port.
ServerConfig Config(const TempDir& dir, std::string auth_mode) {
  ServerConfig c;
  c.port = 0;
  c.database_url = "sqlite://" + dir.File("server.db");
  c.data_dir = dir.File("data");
  c.auth_mode = std::move(auth_mode);
  c.threads = 1;
  c.blocking_threads = 2;
  c.access_log = false;
  return c;
}

// --- Secrets ---------------------------------------------------------------------------------

TEST_SUITE("hostile/defaults") {
  TEST_CASE("outside dev mode the server refuses to start without real secrets") {
    TempDir dir;
    struct Case {
      std::string jwt;
      std::string container;
      bool production;
      std::string auth_mode;
      std::string names;  // the variable the message names
    };
    const Case cases[] = {
        {"", "", false, "", "JWT_SECRET is not set"},
        {"", kRealContainer, false, "", "JWT_SECRET is not set"},
        {std::string(kDevSessionSecret), kRealContainer, false, "",
         "JWT_SECRET is a public development secret"},
        {"0123456789abcdef0123456789abcde", kRealContainer, false, "",
         "JWT_SECRET is too short (31 bytes; at least 32)"},
        {kRealJwt, "", false, "", "CAST_CONTAINER_SECRET is not set"},
        {kRealJwt, std::string(kDevContainerSecret), false, "",
         "CAST_CONTAINER_SECRET is a public development secret"},
        {kRealJwt, "short", false, "workos", "CAST_CONTAINER_SECRET is too short"},
        // NODE_ENV=production demands real secrets even with dev login.
        {"", "", true, "dev", "JWT_SECRET is not set"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.names);
      ServerConfig config = Config(dir, c.auth_mode);
      config.jwt_secret = c.jwt;
      config.container_secret = c.container;
      config.production = c.production;
      Result<std::unique_ptr<App>> app = App::Open(config);
      REQUIRE_FALSE(app.ok());
      CHECK(app.status().code() == ErrorCode::kInvalidArgument);
      CHECK(app.status().message().rfind(c.names, 0) == 0);
      CHECK(app.status().message().find("openssl rand -hex 32") != std::string::npos);
    }
    // Nothing was created: the refusal comes before the store is opened.
    CHECK_FALSE(std::filesystem::exists(dir.File("server.db")));
  }

  TEST_CASE("real secrets start a server outside dev mode; dev mode starts on the fallbacks") {
    TempDir dir;
    ServerConfig config = Config(dir, "");
    config.jwt_secret = kRealJwt;
    config.container_secret = kRealContainer;
    CHECK(App::Open(config).ok());
    TempDir dev_dir;
    CHECK(App::Open(Config(dev_dir, "dev")).ok());
  }

  TEST_CASE("a session signed with the public development secret opens nothing outside dev mode") {
    ServerFixture server(ServerFixtureOptions{.auth_mode = ""});
    SessionClaims claims;
    claims.user_id = "u1";
    claims.space_id = "s1";
    claims.mode = "dev";
    claims.iat = std::time(nullptr);
    claims.exp = claims.iat + 3600;
    const std::string forged = "cast_session=" + SignSessionToken(kDevSessionSecret, claims);
    for (const char* path : {"/channels", "/auth/me", "/metrics"}) {
      CAPTURE(path);
      HttpResponse r = server.Call("GET", path, {}, false, {{"Cookie", forged}});
      CHECK(r.status == 401);
    }
    const std::string forged_agent =
        "Container " + MakeContainerToken(kDevContainerSecret, AgentIdentity{"s1", "c1", "x"});
    HttpResponse checkin = server.Call(
        "POST", "/agents/checkin",
        R"({"protocolVersion":"3.0","agentId":"s1:c1:x","endpoint":"http://attacker"})", false,
        {{"Authorization", forged_agent}});
    CHECK(checkin.status == 401);
  }

  // --- Bind address, posture ------------------------------------------------------------------

  TEST_CASE("dev mode binds 127.0.0.1 unless a host is given; other modes 0.0.0.0") {
    TempDir dir;
    auto dev = App::Open(Config(dir, "dev"));
    REQUIRE(dev.ok());
    CHECK((*dev)->config().host == "127.0.0.1");

    TempDir dir2;
    ServerConfig wide = Config(dir2, "dev");
    wide.host = "0.0.0.0";
    auto explicit_host = App::Open(wide);
    REQUIRE(explicit_host.ok());
    CHECK((*explicit_host)->config().host == "0.0.0.0");

    TempDir dir3;
    ServerConfig keys = Config(dir3, "");
    keys.jwt_secret = kRealJwt;
    keys.container_secret = kRealContainer;
    auto production = App::Open(keys);
    REQUIRE(production.ok());
    CHECK((*production)->config().host == "0.0.0.0");
  }

  TEST_CASE("the posture line states auth mode, address, secrets, metrics, caps and throttle") {
    ServerConfig dev;
    dev.auth_mode = "dev";
    dev.host = "127.0.0.1";
    Result<Json> line = ParseJson(DescribeSecurity(dev));
    REQUIRE(line.ok());
    CHECK(Str(*line, "event") == "security");
    CHECK(Str(*line, "authMode") == "dev");
    CHECK(Str(*line, "host") == "127.0.0.1");
    CHECK(Str(*line, "secrets") == "public development fallbacks");
    CHECK(Str(*line, "metrics") == "open (dev mode on loopback)");
    REQUIRE(line->Find("maxAgentsPerSpace") != nullptr);
    CHECK(line->Find("maxAgentsPerSpace")->as_number() == 50);
    CHECK(line->Find("maxRunningAgentsPerSpace")->as_number() == 20);
    CHECK(line->Find("authFailureLimit")->as_number() == 20);
    CHECK(line->Find("warning") == nullptr);

    dev.host = "0.0.0.0";
    line = ParseJson(DescribeSecurity(dev));
    REQUIRE(line.ok());
    CHECK(Str(*line, "warning").find("anyone") != std::string::npos);
    CHECK(Str(*line, "metrics") == "session or API key");

    ServerConfig keys;
    keys.host = "0.0.0.0";
    keys.jwt_secret = kRealJwt;
    keys.container_secret = kRealContainer;
    keys.metrics_token = "t";
    line = ParseJson(DescribeSecurity(keys));
    REQUIRE(line.ok());
    CHECK(Str(*line, "authMode") == "keys");
    CHECK(Str(*line, "secrets") == "real");
    CHECK(Str(*line, "metrics") == "session, API key or metrics token");
  }

  // --- /metrics -------------------------------------------------------------------------------

  TEST_CASE("/metrics needs credentials in dev mode on a non-loopback address") {
    ServerFixture server(ServerFixtureOptions{
        .tweak = [](ServerConfig& c) { c.host = "0.0.0.0"; }});
    HttpResponse r = server.Call("GET", "/metrics", {}, false);
    CHECK(r.status == 401);
    CHECK(r.body == R"({"error":"Authentication required"})");
    server.Login();
    CHECK(server.Call("GET", "/metrics").status == 200);
  }

  TEST_CASE("/metrics accepts the --metrics-token and nothing like it") {
    ServerFixture server(ServerFixtureOptions{
        .auth_mode = "", .tweak = [](ServerConfig& c) { c.metrics_token = "scrape-me-0123"; }});
    CHECK(server.Call("GET", "/metrics", {}, false, {{"Authorization", "Bearer scrape-me-0123"}})
              .status == 200);
    for (const char* wrong : {"Bearer scrape-me-012", "Bearer scrape-me-01234", "scrape-me-0123",
                              "Bearer ", "Basic scrape-me-0123", "Bearer SCRAPE-ME-0123"}) {
      CAPTURE(wrong);
      HttpResponse r = server.Call("GET", "/metrics", {}, false, {{"Authorization", wrong}});
      CHECK(r.status == 401);
      CHECK(r.body == R"({"error":"Authentication required"})");
    }
    // The token opens /metrics only.
    CHECK(server.Call("GET", "/channels", {}, false, {{"Authorization", "Bearer scrape-me-0123"}})
              .status == 401);
  }

  // --- Caps -----------------------------------------------------------------------------------

  TEST_CASE("the 21st agent of a space is refused with 429 by default: nothing stored") {
    ServerFixture server;
    server.Login();
    const std::string channel = server.CreateChannel("crowd");
    for (int i = 0; i < 20; ++i) {
      HttpResponse r = server.Call("POST", "/channels/" + channel + "/agents",
                                   R"({"callsign":"a)" + std::to_string(i) +
                                       R"(","agentType":"echo"})");
      REQUIRE_MESSAGE(r.status == 201, r.body);
    }
    const std::string roster = server.Call("GET", "/channels/" + channel + "/roster").body;
    const std::string messages = server.Call("GET", "/channels/" + channel + "/messages").body;
    HttpResponse refused = server.Call("POST", "/channels/" + channel + "/agents",
                                       R"({"callsign":"one-too-many","agentType":"echo"})");
    CHECK(refused.status == 429);
    Result<Json> body = ParseJson(refused.body);
    REQUIRE(body.ok());
    CHECK(Str(*body, "error").find("already runs 20 agents") !=
          std::string::npos);
    CHECK(server.Call("GET", "/channels/" + channel + "/roster").body == roster);
    CHECK(server.Call("GET", "/channels/" + channel + "/messages").body == messages);
  }

  TEST_CASE("adds past --max-agents-per-space are refused on both routes, activation past the "
            "running cap too") {
    ServerFixture server(ServerFixtureOptions{.tweak = [](ServerConfig& c) {
      c.max_agents_per_space = 3;
      c.max_running_agents_per_space = 2;
    }});
    server.Login();
    const std::string channel = server.CreateChannel("capped");
    const std::string other = server.CreateChannel("capped-too");
    auto add = [&](const std::string& ch, const std::string& callsign) {
      return server.Call("POST", "/channels/" + ch + "/agents",
                         R"({"callsign":")" + callsign + R"(","agentType":"echo"})");
    };
    CHECK(add(channel, "a").status == 201);
    CHECK(add(other, "b").status == 201);  // the cap is per space, across channels
    CHECK(add(channel, "c").status == 429);  // a third running agent
    CHECK(server.Call("POST", "/channels/" + channel + "/agents/a/pause").status == 200);
    CHECK(add(channel, "c").status == 201);
    // Three agents now: a fourth is refused on the agents route and the raw roster route.
    HttpResponse refused = add(channel, "d");
    CHECK(refused.status == 429);
    CHECK(refused.body.find("already has 3 agents") != std::string::npos);
    HttpResponse raw = server.Call("POST", "/channels/" + channel + "/roster",
                                   R"({"callsign":"d","agentType":"echo"})");
    CHECK(raw.status == 429);
    CHECK(raw.body.find("already has 3 agents") != std::string::npos);
    // Activating paused a would make a third running agent.
    HttpResponse activate =
        server.Call("POST", "/channels/" + channel + "/agents/a/activate");
    CHECK(activate.status == 429);
    CHECK(activate.body.find("already runs 2 agents") != std::string::npos);
    CHECK(server.Call("GET", "/channels/" + channel + "/roster").body.find("\"paused\"") !=
          std::string::npos);
  }

  // --- The binary: bind address, posture line, refusal, data location ---------------------------

  struct Run {
    int exit_code = -1;  // -1: still running when stopped by the test
    std::string output;  // stdout and stderr
  };

  /// Runs agentcore-server in `cwd` with exactly `env`, until it prints its "listening" line
  /// (then SIGTERM) or exits.
  Run RunServer(const std::string& cwd, std::vector<std::string> env,
                std::vector<std::string> args = {}) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::vector<std::string> argv_s = {AGENTCORE_SERVER_BIN, "--port", "0", "--threads", "1",
                                       "--no-access-log"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    pid_t pid = -1;
    REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    Run run;
    char buf[4096];
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    bool listening = false;
    while (std::chrono::steady_clock::now() < deadline) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;  // exited
      run.output.append(buf, static_cast<std::size_t>(n));
      if (run.output.find("\"event\":\"listening\"") != std::string::npos) {
        listening = true;
        break;
      }
    }
    if (listening) ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(fds[0]);
    if (!listening && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
    return run;
  }

  /// The JSON line of `output` whose "event" is `event`.
  Json EventLine(const std::string& output, std::string_view event) {
    std::size_t at = output.find("{\"event\":\"" + std::string(event) + "\"");
    REQUIRE_MESSAGE(at != std::string::npos, output);
    Result<Json> line = ParseJson(output.substr(at, output.find('\n', at) - at));
    REQUIRE(line.ok());
    return *line;
  }

  TEST_CASE("the binary in dev mode binds 127.0.0.1, says so, and keeps its data in XDG_DATA_HOME") {
    TempDir dir;
    std::filesystem::create_directories(dir.File("cwd"));
    Run run = RunServer(dir.File("cwd"), {"PATH=/usr/bin:/bin", "HOME=" + dir.File("home"),
                                          "XDG_DATA_HOME=" + dir.File("xdg"), "AUTH_MODE=dev"});
    CHECK(run.exit_code == -1);
    Json security = EventLine(run.output, "security");
    CHECK(Str(security, "host") == "127.0.0.1");
    CHECK(Str(security, "authMode") == "dev");
    CHECK(Str(security, "secrets") == "public development fallbacks");
    CHECK(Str(EventLine(run.output, "config"), "host") == "127.0.0.1");
    CHECK(std::filesystem::exists(dir.File("xdg/agentcore/agentcore.db")));
    CHECK_FALSE(std::filesystem::exists(dir.File("cwd/agentcore.db")));
    CHECK_FALSE(std::filesystem::exists(dir.File("cwd/agentcore-data")));

    // HOST (or --host) says otherwise: then it listens there, and warns.
    Run wide = RunServer(dir.File("cwd"), {"PATH=/usr/bin:/bin", "HOME=" + dir.File("home"),
                                           "AUTH_MODE=dev", "HOST=0.0.0.0"});
    Json wide_security = EventLine(wide.output, "security");
    CHECK(Str(wide_security, "host") == "0.0.0.0");
    CHECK_FALSE(Str(wide_security, "warning").empty());
    // Without XDG_DATA_HOME: ~/.local/share/agentcore.
    CHECK(std::filesystem::exists(dir.File("home/.local/share/agentcore/agentcore.db")));
  }

  TEST_CASE("the binary without AUTH_MODE and secrets exits 1 naming the variable") {
    TempDir dir;
    Run run = RunServer(dir.path(), {"PATH=/usr/bin:/bin", "HOME=" + dir.File("home")});
    CHECK(run.exit_code == 1);
    CHECK(run.output.find("JWT_SECRET is not set") != std::string::npos);
    CHECK(run.output.find("openssl rand -hex 32") != std::string::npos);
    CHECK(run.output.find("\"event\":\"listening\"") == std::string::npos);

    Run real = RunServer(dir.path(), {"PATH=/usr/bin:/bin", "HOME=" + dir.File("home"),
                                      "JWT_SECRET=" + kRealJwt,
                                      "CAST_CONTAINER_SECRET=" + kRealContainer});
    CHECK(real.exit_code == -1);
    CHECK(Str(EventLine(real.output, "security"), "secrets") == "real");
  }
}

}  // namespace
}  // namespace agentcore::server::testing
