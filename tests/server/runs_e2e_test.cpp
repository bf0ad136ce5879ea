// SPDX-License-Identifier: Apache-2.0
// A run end to end over HTTP (docs/runs.md): a project, a run "create hello.txt with hi" that
// the real builder-agent (examples/builder-agent, on the local runtime) plans and builds, its
// event stream until done, and hello.txt in the workspace's download.zip.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "server/raw_client.hpp"
#include "server/server_fixture.hpp"

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
}

}  // namespace
}  // namespace agentcore::server::testing
