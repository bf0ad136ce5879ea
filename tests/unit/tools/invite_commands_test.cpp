// SPDX-License-Identifier: Apache-2.0
// `agentcore invite-codes generate|list|revoke` (tools/invite_commands.cpp), run as a process
// against a temporary SQLite database, then checked through the store and AccountService's
// rules: a generated code registers, a revoked one does not.
#ifdef AGENTCORE_CLI

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/json.hpp>
#include <agentcore/store/store.hpp>

#include "store/temp_dir.hpp"
#include "support/run_command.hpp"

namespace agentcore {
namespace {

using testing::RunCommand;
using testing::TempDir;

// Runs the CLI with `args` on the database `url`; its output lines.
int Cli(const std::string& url, std::vector<std::string> args, std::vector<std::string>* lines) {
  std::vector<std::string> argv = {AGENTCORE_CLI, "invite-codes", "--database-url", url};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  const int rc = RunCommand(argv, &out);
  lines->clear();
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    if (end > start) lines->push_back(out.substr(start, end - start));
    start = end + 1;
  }
  return rc;
}

Json Line(const std::string& line) {
  Result<Json> json = ParseJson(line);
  REQUIRE_MESSAGE(json.ok(), line);
  return *std::move(json);
}

TEST_SUITE("tools/invite-codes") {
  TEST_CASE("generate prints codes once; list shows them without the code; revoke revokes") {
    TempDir dir;
    const std::string url = "sqlite://" + dir.File("cli.db");
    std::vector<std::string> lines;
    REQUIRE(Cli(url, {"generate", "--count", "3", "--ttl-hours", "2"}, &lines) == 0);
    REQUIRE(lines.size() == 3);
    std::vector<std::string> ids;
    std::vector<std::string> codes;
    for (const std::string& l : lines) {
      Json j = Line(l);
      REQUIRE(j.FindString("code") != nullptr);
      CHECK(j.FindString("code")->rfind("inv_", 0) == 0);
      CHECK(j.FindString("expiresAt") != nullptr);
      ids.push_back(*j.FindString("id"));
      codes.push_back(*j.FindString("code"));
    }
    {
      auto store = OpenStore(url);
      REQUIRE(store.ok());
      for (std::size_t i = 0; i < 3; ++i) {
        Result<InviteCode> c = (*store)->GetInviteCode(ids[i]);
        REQUIRE(c.ok());
        CHECK(c->code_hash == Sha256Hex(codes[i]));  // stored hashed
      }
    }

    REQUIRE(Cli(url, {"list"}, &lines) == 0);
    REQUIRE(lines.size() == 3);
    for (const std::string& l : lines) {
      for (const std::string& code : codes) CHECK(l.find(code) == std::string::npos);
      Json j = Line(l);
      CHECK(j.Find("revoked")->as_bool() == false);
      CHECK(j.Find("usedAt")->is_null());
    }

    REQUIRE(Cli(url, {"revoke", ids[1]}, &lines) == 0);
    REQUIRE(Cli(url, {"list"}, &lines) == 0);
    REQUIRE(lines.size() == 3);
    CHECK(Line(lines[1]).Find("revoked")->as_bool());
    CHECK_FALSE(Line(lines[0]).Find("revoked")->as_bool());

    // A revoked code cannot register; another can.
    auto store = OpenStore(url);
    REQUIRE(store.ok());
    User u;
    u.email = "a@example.com";
    const UnixMillis now = SystemClock()->NowMillis();
    CHECK((*store)->CreateUserWithInvite(u, Sha256Hex(codes[1]), now).status().code() ==
          ErrorCode::kConflict);
    CHECK((*store)->CreateUserWithInvite(u, Sha256Hex(codes[0]), now).ok());
  }

  TEST_CASE("--ttl-hours 0 makes codes that never expire") {
    TempDir dir;
    const std::string url = "sqlite://" + dir.File("cli.db");
    std::vector<std::string> lines;
    REQUIRE(Cli(url, {"generate", "--ttl-hours", "0"}, &lines) == 0);
    REQUIRE(lines.size() == 1);
    CHECK(Line(lines[0]).Find("expiresAt")->is_null());
  }

  TEST_CASE("bad arguments fail with a message and change nothing") {
    TempDir dir;
    const std::string url = "sqlite://" + dir.File("cli.db");
    std::vector<std::string> lines;
    CHECK(Cli(url, {"generate", "--count", "0"}, &lines) != 0);
    CHECK(Cli(url, {"generate", "--count", "101"}, &lines) != 0);
    CHECK(Cli(url, {"generate", "--ttl-hours", "-1"}, &lines) != 0);
    CHECK(Cli(url, {"generate", "--count", "x"}, &lines) != 0);
    CHECK(Cli(url, {"revoke", "no-such-id"}, &lines) != 0);
    REQUIRE_FALSE(lines.empty());
    CHECK(lines.back().find("not found") != std::string::npos);
    CHECK(Cli(url, {"revoke"}, &lines) != 0);
    CHECK(Cli(url, {}, &lines) != 0);
    REQUIRE(Cli(url, {"list"}, &lines) == 0);
    CHECK(lines.empty());
  }
}

}  // namespace
}  // namespace agentcore

#endif  // AGENTCORE_CLI
