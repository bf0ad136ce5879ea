// SPDX-License-Identifier: Apache-2.0
#pragma once

// The hub the service tests open: an in-memory SQLite store, the test's clock and publisher,
// the local runtime's files in a temporary directory. A test sets what else it needs on the
// options before OpenTestHub.

#include <memory>
#include <utility>

#include <doctest/doctest.h>

#include <agentcore/hub/hub.hpp>

#include "store/temp_dir.hpp"

namespace agentcore::testing {

inline HubOptions TestHubOptions(Clock* clock, Publisher* publisher, const TempDir& dir) {
  HubOptions o;
  o.store_url = "sqlite::memory:";
  o.clock = clock;
  o.publisher = publisher;
  o.local_process.data_dir = dir.path();
  return o;
}

/// OpenHub, required to succeed.
inline std::unique_ptr<Hub> OpenTestHub(HubOptions options) {
  Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(options));
  REQUIRE(opened.ok());
  return *std::move(opened);
}

}  // namespace agentcore::testing
