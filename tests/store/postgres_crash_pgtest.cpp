// SPDX-License-Identifier: Apache-2.0
// Crash safety against PostgreSQL: a child process appends and prints every acknowledged id;
// it is killed with SIGKILL at a random moment, again and again. Every id it printed must be
// in the database afterwards, and the indexes must agree with the table (amcheck).
#include <agentcore/store/store.hpp>

#include <chrono>
#include <random>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include "store/crash_harness.hpp"
#include "store/pg_test_schema.hpp"

namespace agentcore::testing {

TEST_SUITE("PostgresStore") {

TEST_CASE("keeps every acknowledged append of a writer killed with SIGKILL, 20 times") {
  PgTestSchema db;
  db.Open();  // migrate once, so the first child does not spend its life on it
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(60, 250);
  std::set<std::string> acked;
  for (int round = 0; round < 20; ++round) {
    const int ms = delay_ms(rng);
    CAPTURE(round);
    CAPTURE(ms);
    CrashRun run = RunAndKill(AGENTCORE_CRASH_WRITER, db.url(), std::chrono::milliseconds(ms));
    REQUIRE_MESSAGE(run.killed, "the writer exited by itself with code " << run.exit_code);
    acked.insert(run.acked.begin(), run.acked.end());
  }
  REQUIRE(!acked.empty());
  MESSAGE(acked.size(), " acknowledged appends over 20 kills");

  // A killed client's backend finishes what it was doing (possibly a commit) before it
  // notices the closed socket: count only once they are all gone.
  db.WaitUntilAlone();
  std::set<std::string> stored;
  for (const auto& row : db.Query("SELECT id FROM messages")) stored.insert(row[0]);
  std::size_t missing = 0;
  for (const std::string& id : acked) missing += stored.count(id) == 0 ? 1 : 0;
  CHECK(missing == 0);
  // Writes in flight at a kill may have committed without being printed: extra rows are fine,
  // lost acknowledged ones are not.
  CHECK(stored.size() >= acked.size());

  // The table and its indexes agree (PostgreSQL's counterpart of PRAGMA integrity_check).
  db.Query("CREATE EXTENSION IF NOT EXISTS amcheck");
  db.Query("SELECT bt_index_check(c.oid, true) FROM pg_index i JOIN pg_class c ON "
           "c.oid = i.indexrelid WHERE i.indrelid = 'messages'::regclass");
  // And a store opened afterwards reads every message back through its keyset pages.
  auto store = db.Open();
  const Channel ch = [&] {
    auto r = store->FindChannelByName("crash", "crash");
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return std::move(r).value();
  }();
  std::size_t paged = 0;
  PageRequest page;
  page.limit = kMaxPageSize;
  page.after = "";
  for (;;) {
    auto p = store->ListMessages(ch.id, page);
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    paged += p->messages.size();
    if (!p->has_more) break;
    page.after = p->messages.back().id;
  }
  CHECK(paged == stored.size());
}

}  // TEST_SUITE("PostgresStore")

}  // namespace agentcore::testing
