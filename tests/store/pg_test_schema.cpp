// SPDX-License-Identifier: Apache-2.0
#include "store/pg_test_schema.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <thread>
#include <mutex>
#include <string_view>

#include <doctest/doctest.h>
#include <libpq-fe.h>

namespace agentcore::testing {
namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;
using Res = std::unique_ptr<PGresult, ResultCloser>;

Conn Connect(const std::string& conninfo) {
  Conn c(PQconnectdb(conninfo.c_str()));
  REQUIRE_MESSAGE(PQstatus(c.get()) == CONNECTION_OK,
                  "cannot connect to the test server: " << PQerrorMessage(c.get()));
  PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
  return c;
}

std::vector<std::vector<std::string>> Run(PGconn* c, const std::string& sql) {
  Res r(PQexec(c, sql.c_str()));
  const ExecStatusType st = PQresultStatus(r.get());
  REQUIRE_MESSAGE((st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK),
                  sql << ": " << std::string(PQresultErrorMessage(r.get())));
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    std::vector<std::string> row;
    for (int j = 0; j < PQnfields(r.get()); ++j) row.emplace_back(PQgetvalue(r.get(), i, j));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string PercentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The DSN's settings with another database and a search_path, as a URL:
// postgresql:///<db>?host=..&port=..&options=-c%20search_path%3D<schema>
std::string UrlFor(const std::string& dsn, const std::string& database,
                   const std::string& schema) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  REQUIRE_MESSAGE(opts != nullptr, "AGENTCORE_TEST_PG_DSN does not parse: " << (err ? err : ""));
  std::string url = "postgresql:///" + PercentEncode(database) +
                    "?options=" + PercentEncode("-c search_path=" + schema);
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    const std::string_view k = o->keyword;
    if (o->val == nullptr || *o->val == '\0' || k == "dbname" || k == "options") continue;
    url += '&';
    url += k;
    url += '=';
    url += PercentEncode(o->val);
  }
  PQconninfoFree(opts);
  return url;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// The process's database, created on first use and dropped when the process exits.
class ProcessDatabase {
 public:
  static const std::string& Name(const std::string& dsn) {
    static ProcessDatabase db(dsn);
    return db.name_;
  }

 private:
  explicit ProcessDatabase(const std::string& dsn)
      : dsn_(dsn), name_("agentcore_t_" + std::to_string(::getpid())) {
    Conn admin = Connect(dsn_);
    Run(admin.get(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    Run(admin.get(), "CREATE DATABASE " + name_ + " TEMPLATE template0 ENCODING 'UTF8'");
  }
  ~ProcessDatabase() {
    Conn admin(PQconnectdb(dsn_.c_str()));  // no REQUIRE at exit
    if (PQstatus(admin.get()) != CONNECTION_OK) return;
    Res r(PQexec(admin.get(), ("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str()));
  }

  std::string dsn_;
  std::string name_;
};

}  // namespace

std::string RequirePgDsn() {
  const char* dsn = ::getenv("AGENTCORE_TEST_PG_DSN");
  REQUIRE_MESSAGE((dsn != nullptr && *dsn != '\0'),
                  "AGENTCORE_TEST_PG_DSN is not set: the PostgreSQL tests need a server. Start "
                  "one with `scripts/pg-test-server.sh start` and export the DSN it prints "
                  "(scripts/run-tests.sh does this)");
  return dsn;
}

PgTestSchema::PgTestSchema() : dsn_(RequirePgDsn()) {
  static std::atomic<int> counter{0};
  database_ = ProcessDatabase::Name(dsn_);
  schema_ = "t" + std::to_string(++counter);
  url_ = UrlFor(dsn_, database_, schema_);
  Conn c = Connect(url_);
  Run(c.get(), "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_);
}

PgTestSchema::~PgTestSchema() {
  // No REQUIRE here: a destructor may run while a failed REQUIRE unwinds.
  Conn c(PQconnectdb(url_.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) return;
  PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
  Res r(PQexec(c.get(), ("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE").c_str()));
}

std::unique_ptr<Store> PgTestSchema::Open(Clock* clock, int pool_size) const {
  PostgresStoreOptions options;
  options.url = url_;
  options.clock = clock;
  options.pool_size = pool_size;
  Result<std::unique_ptr<Store>> store = OpenPostgresStore(options);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return std::move(store).value();
}

std::vector<std::vector<std::string>> PgTestSchema::Query(const std::string& sql) const {
  Conn c = Connect(url_);
  return Run(c.get(), sql);
}

std::string PgTestSchema::Value(const std::string& sql) const {
  auto rows = Query(sql);
  REQUIRE_MESSAGE((rows.size() == 1 && rows[0].size() == 1), sql << ": not one value");
  return rows[0][0];
}

void PgTestSchema::WaitUntilAlone() const {
  Conn c = Connect(url_);
  for (int i = 0; i < 3000; ++i) {
    auto rows = Run(c.get(),
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()");
    if (rows[0][0] == "0") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("other connections to the test database did not go away");
}

int PgTestSchema::TerminateWhere(const std::string& where) const {
  Conn admin = Connect(dsn_);
  auto rows = Run(admin.get(),
                  "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                  "WHERE datname = " + Quote(database_) + " AND pid <> pg_backend_pid() AND (" +
                      where + ")");
  return std::stoi(rows[0][0]);
}

int PgTestSchema::TerminateAll() const {
  Conn admin = Connect(dsn_);
  // pg_terminate_backend(pid, timeout) waits until the backend is gone: its FATAL message and
  // the connection's EOF are then already on their way to the client.
  auto rows = Run(admin.get(),
                  "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
                  "FROM pg_stat_activity WHERE datname = " + Quote(database_) +
                      " AND pid <> pg_backend_pid()");
  return std::stoi(rows[0][0]);
}

}  // namespace agentcore::testing
