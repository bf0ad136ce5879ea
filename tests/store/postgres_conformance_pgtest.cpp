// SPDX-License-Identifier: Apache-2.0
// The Store conformance suite against PostgreSQL: every case on its own fresh database.
#include <memory>

#include <doctest/doctest.h>

#include <agentcore/store/store.hpp>

#include "store/pg_test_schema.hpp"
#include "support/manual_clock.hpp"

namespace agentcore::testing {

class PostgresFixture {
 public:
  PostgresFixture() : store_(db_.Open(&clock_)) {}
  Store& store() { return *store_; }
  ManualClock& clock() { return clock_; }

 private:
  PgTestSchema db_;  // first: dropped after the store closed its connections
  ManualClock clock_;
  std::unique_ptr<Store> store_;
};

}  // namespace agentcore::testing

TYPE_TO_STRING_AS("postgres", agentcore::testing::PostgresFixture);

#define AGENTCORE_STORE_FIXTURES agentcore::testing::PostgresFixture
#include "store/store_conformance.hpp"
