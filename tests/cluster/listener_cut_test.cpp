// SPDX-License-Identifier: Apache-2.0
// PostgreSQL cuts the nodes' listener connections while frames flow (docs/cluster.md, "The
// change log": NOTIFY only wakes): pg_terminate_backend of every connection that LISTENs, twice,
// while each node uploads frames; every node's WebSocket subscriber still gets every frame of
// every node once, in that node's order.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "cluster/cluster_support.hpp"

namespace agentcore::cluster::testing {
namespace {

/// The listener connections in pg_stat_activity: named so by the store, or whose last
/// statement was a LISTEN.
constexpr const char* kListeners =
    "application_name ILIKE '%listen%' OR query ILIKE 'LISTEN%'";

}  // namespace

TEST_SUITE("ClusterListener") {
  TEST_CASE("pg_terminate_backend of the listeners while frames flow loses nothing") {
    Cluster cluster;
    const std::string channel = cluster.client(0).CreateChannel("listeners");
    std::vector<std::unique_ptr<Subscriber>> subscribers;
    for (std::size_t n = 0; n < cluster.size(); ++n) {
      subscribers.push_back(std::make_unique<Subscriber>(
          Subscriber::Kind::kWebSocket, cluster.port(n), cluster.cookie_header(), channel));
    }
    // Each node LISTENs once it runs: three listeners to cut.
    REQUIRE_MESSAGE(WaitFor([&] {
                      return std::stoi(cluster.pg().Value(
                                 "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                 "current_database() AND (" + std::string(kListeners) + ")")) >=
                             static_cast<int>(cluster.size());
                    }, 10s),
                    "fewer listener connections than nodes in pg_stat_activity");

    Ledger ledger;
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::vector<std::thread> publishers;
    for (std::size_t n = 0; n < cluster.size(); ++n) {
      publishers.emplace_back([&, n] {
        for (int k = 0; !stop.load(); ++k) {
          const std::string id = NewUlid();
          const std::string text = Cluster::node_id(n) + "-" + std::to_string(k);
          if (cluster.PostFrame(n, channel, "pub", SetFrame(id, text)) == 200) {
            ledger.Add(n, id);
          } else {
            ++failures;
          }
          std::this_thread::sleep_for(10ms);
        }
      });
    }
    int cut = 0;
    for (int round = 0; round < 2; ++round) {
      std::this_thread::sleep_for(700ms);
      const int n = cluster.pg().TerminateWhere(kListeners);
      MESSAGE("round " << round << ": terminated " << n << " listener connections");
      cut += n;
    }
    std::this_thread::sleep_for(700ms);
    stop = true;
    for (auto& t : publishers) t.join();
    CHECK(cut >= 2 * static_cast<int>(cluster.size()));
    CHECK(failures.load() == 0);  // uploads do not depend on the listener
    const std::vector<std::string> all = ledger.All();
    REQUIRE(all.size() > 100);

    for (std::size_t s = 0; s < subscribers.size(); ++s) {
      CHECK_MESSAGE(WaitFor([&] { return subscribers[s]->CountSeen(all) == all.size(); }, 20s),
                    Cluster::node_id(s) << "'s subscriber got " << subscribers[s]->CountSeen(all)
                                        << " of " << all.size());
    }
    std::this_thread::sleep_for(500ms);
    for (std::size_t s = 0; s < subscribers.size(); ++s) {
      const std::string problems = DeliveryProblems(subscribers[s]->Lines(), ledger.ByOrigin());
      CHECK_MESSAGE(problems.empty(), Cluster::node_id(s) << ": " << problems);
    }
    // The nodes listen again.
    CHECK(WaitFor([&] {
      return std::stoi(cluster.pg().Value(
                 "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND (" +
                 std::string(kListeners) + ")")) >= static_cast<int>(cluster.size());
    }, 10s));
  }
}

}  // namespace agentcore::cluster::testing
