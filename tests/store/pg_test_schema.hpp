// SPDX-License-Identifier: Apache-2.0
#pragma once

// A fresh, empty PostgreSQL schema per test, on the server named by AGENTCORE_TEST_PG_DSN
// (which scripts/pg-test-server.sh starts). Without that variable every PostgreSQL test FAILS
// rather than skips: CI must run them, and a silently skipped suite would pass untested.
//
// Isolation: each test process creates its own database (agentcore_t_<pid>, dropped at exit),
// and each PgTestSchema a new schema in it, which the store uses through the URL's
// search_path. A schema costs a few milliseconds where CREATE DATABASE costs about 400 on this
// machine, which keeps the whole binary well under a minute. Tests in one process run one at a
// time, so the database-wide parts (NOTIFY channel, advisory locks) never see two tests at once;
// ctest's parallel runs use separate processes, hence separate databases.
//
// Thread-compatible; Query() and Terminate*() open a connection per call and may run on any
// thread.

#include <memory>
#include <string>
#include <vector>

#include <agentcore/store/store.hpp>

namespace agentcore::testing {

/// AGENTCORE_TEST_PG_DSN; fails the current test (doctest REQUIRE) when it is unset.
std::string RequirePgDsn();

class PgTestSchema {
 public:
  /// Creates the schema (and the process's database on first use); REQUIREs that this works.
  PgTestSchema();
  /// Drops the schema with everything in it.
  ~PgTestSchema();
  PgTestSchema(const PgTestSchema&) = delete;
  PgTestSchema& operator=(const PgTestSchema&) = delete;

  /// A postgresql:// URL whose connections use the schema (for OpenStore, the crash writer).
  const std::string& url() const { return url_; }
  const std::string& schema() const { return schema_; }
  const std::string& database() const { return database_; }

  /// Opens a store on the schema; REQUIREs success.
  std::unique_ptr<Store> Open(Clock* clock = nullptr, int pool_size = 8) const;

  /// Runs `sql` (one or more statements) on a new connection in the schema; the rows of the
  /// last statement as text (NULL as ""). REQUIREs success.
  std::vector<std::vector<std::string>> Query(const std::string& sql) const;
  /// Query() for a single value.
  std::string Value(const std::string& sql) const;

  /// Terminates every other connection to the database and waits until they are gone.
  /// Returns how many there were.
  int TerminateAll() const;
  /// Waits (up to 30 s) until no other connection to the database is left, e.g. those of a
  /// killed client, whose backends may still be finishing a commit. REQUIREs that they go.
  void WaitUntilAlone() const;
  /// Terminates, without waiting, the connections to the database for which `where` (SQL over
  /// pg_stat_activity) holds. Returns how many.
  int TerminateWhere(const std::string& where) const;

 private:
  std::string dsn_;
  std::string database_;
  std::string schema_;
  std::string url_;
};

}  // namespace agentcore::testing
