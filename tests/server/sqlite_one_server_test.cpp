// SPDX-License-Identifier: Apache-2.0
// A second agentcore-server on the SQLite file another one serves exits 1 with the message of
// docs/cluster.md "One server on SQLite", and the first goes on serving; once the first has
// stopped, a server starts on the file again.

#include <signal.h>

#include <string>

#include <doctest/doctest.h>

#include <agentcore/http/client.hpp>

#include "server/server_process.hpp"
#include "store/temp_dir.hpp"
#include "support/run_command.hpp"

namespace agentcore::server::testing {
namespace {

bool Healthy(const ServerProcess& server) {
  HttpRequest req;
  req.url = server.Url("/health");
  req.timeout = std::chrono::seconds(2);
  auto r = NewHttpClient()->Send(req);
  return r.ok() && r->status == 200;
}

TEST_CASE("a second server on one SQLite file exits 1 saying why; the first keeps serving") {
  agentcore::testing::TempDir dir;
  const std::string db = dir.File("server.db");
  {
    ServerProcess first(db, FreePort());
    std::string out;
    // `timeout`: were it not refused, the second server would run until killed.
    const int rc = agentcore::testing::RunCommand(
        {"timeout", "30", AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port",
         std::to_string(FreePort()), "--database-url", "sqlite://" + db, "--data-dir",
         dir.File("second-data"), "--auth-mode", "dev", "--no-access-log"},
        &out);
    CHECK(rc == 1);
    CHECK_MESSAGE(out.find("another agentcore server uses " + db +
                           ": SQLite serves one server; use PostgreSQL (--database-url "
                           "postgres://…) for several") != std::string::npos,
                  out);
    CHECK(out.find("\"event\":\"listening\"") == std::string::npos);
    CHECK(Healthy(first));
    first.Kill(SIGTERM);  // a clean stop releases the file
  }
  ServerProcess again(db, FreePort());
  CHECK(Healthy(again));
}

}  // namespace
}  // namespace agentcore::server::testing
