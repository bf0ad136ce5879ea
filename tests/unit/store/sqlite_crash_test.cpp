// SPDX-License-Identifier: Apache-2.0
// Crash safety of the SQLite store: a child process appends messages and prints each
// acknowledged id; it is killed with SIGKILL at random moments (during open and migration
// too); after every kill the database passes PRAGMA integrity_check, and at the end every
// acknowledged id is in the store.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <agentcore/store/store.hpp>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "store/crash_harness.hpp"
#include "store/temp_dir.hpp"

namespace {

std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open";
  }
  sqlite3_stmt* st = nullptr;
  std::string result = "no result";
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return result;
}

}  // namespace

TEST_SUITE("SqliteCrash") {
  TEST_CASE("keeps every acknowledged message when the writer is killed at random moments") {
    agentcore::testing::TempDir dir;
    const std::string path = dir.File("crash.db");
    const unsigned seed = std::random_device{}();
    MESSAGE("crash test seed " << seed);
    std::mt19937 rng(seed);
    // From 5 ms (usually while opening and migrating) to 150 ms (well into the appends).
    std::uniform_int_distribution<int> kill_ms(5, 150);

    constexpr int kRuns = 24;
    std::vector<std::string> acked;
    int killed = 0;
    for (int i = 0; i < kRuns; ++i) {
      const auto run = agentcore::testing::RunAndKill(AGENTCORE_CRASH_WRITER, "sqlite://" + path,
                                                      std::chrono::milliseconds(kill_ms(rng)));
      CAPTURE(i);
      CHECK_MESSAGE(run.exit_code == -1, "the writer exited by itself with " << run.exit_code);
      if (run.killed) ++killed;
      acked.insert(acked.end(), run.acked.begin(), run.acked.end());
      if (!std::filesystem::exists(path)) {
        // Killed before SQLite created the file (a slow start, e.g. under a sanitizer).
        CHECK(acked.empty());
        continue;
      }
      CHECK(IntegrityCheck(path) == "ok");
    }
    MESSAGE(acked.size() << " acknowledged appends over " << killed << " kills");
    CHECK(killed == kRuns);
    REQUIRE(acked.size() > 100);  // the kills did land while messages were being written

    auto store = agentcore::OpenStore("sqlite://" + path);
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    int missing = 0;
    for (const std::string& id : acked) {
      if (!(*store)->GetMessage(id).ok()) ++missing;
    }
    CHECK(missing == 0);
    store->reset();
    CHECK(IntegrityCheck(path) == "ok");
  }

}  // TEST_SUITE("SqliteCrash")
