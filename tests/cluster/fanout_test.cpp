// SPDX-License-Identifier: Apache-2.0
// Three nodes on one PostgreSQL (docs/cluster.md, "Cluster events"): what is posted on any node
// (REST messages, uploaded Tymbal frames) reaches the WebSocket and SSE subscribers of every
// node, each publishing node's lines in its order, none missing, none twice; an SSE subscriber
// that reconnects to another node with Last-Event-ID gets every message stored after it, once.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "cluster/cluster_support.hpp"

namespace agentcore::cluster::testing {
namespace {

/// Every subscriber has every id of `ledger` (or `timeout` passed).
bool AllSeen(const std::vector<std::unique_ptr<Subscriber>>& subscribers, const Ledger& ledger,
             std::chrono::milliseconds timeout = 20s) {
  const std::vector<std::string> all = ledger.All();
  return WaitFor(
      [&] {
        for (const auto& s : subscribers) {
          if (s->CountSeen(all) < all.size()) return false;
        }
        return true;
      },
      timeout);
}

}  // namespace

TEST_SUITE("ClusterFanout") {
  TEST_CASE("posts and frames on each node reach the subscribers of every node in order, once") {
    Cluster cluster;
    const std::string channel = cluster.client(0).CreateChannel("fanout");
    std::vector<std::unique_ptr<Subscriber>> subscribers;
    for (std::size_t n = 0; n < cluster.size(); ++n) {
      subscribers.push_back(std::make_unique<Subscriber>(
          Subscriber::Kind::kWebSocket, cluster.port(n), cluster.cookie_header(), channel));
      subscribers.push_back(std::make_unique<Subscriber>(
          Subscriber::Kind::kSse, cluster.port(n), cluster.cookie_header(), channel));
    }
    // Every subscriber is live once it sees a first message of another node than its own.
    Ledger warm_up;
    warm_up.Add(0, cluster.client(0).PostMessage(channel, "warm-up"));
    REQUIRE_MESSAGE(AllSeen(subscribers, warm_up),
                    "a message posted on node-a did not reach every node's subscribers");

    // One publisher per node at once: REST posts and uploaded set frames, alternating.
    constexpr int kPerNode = 40;
    Ledger ledger;
    std::vector<std::thread> publishers;
    std::atomic<int> failures{0};
    for (std::size_t n = 0; n < cluster.size(); ++n) {
      publishers.emplace_back([&, n] {
        ServerClient client("http://127.0.0.1:" + std::to_string(cluster.port(n)));
        client.ShareSession(cluster.client(0));
        for (int k = 0; k < kPerNode; ++k) {
          const std::string text = Cluster::node_id(n) + "-" + std::to_string(k);
          if (k % 2 == 0) {
            HttpResponse r = client.Call("POST", "/channels/" + channel + "/messages",
                                         R"({"content":")" + text +
                                             R"(","sender":"alice","senderType":"user"})");
            auto body = ParseJson(r.body);
            if (r.status != 201 || !body.ok()) {
              ++failures;
              continue;
            }
            ledger.Add(n, *body->Find("message")->FindString("id"));
          } else {
            const std::string id = NewUlid();
            if (cluster.PostFrame(n, channel, "pub", SetFrame(id, text)) != 200) {
              ++failures;
              continue;
            }
            ledger.Add(n, id);
          }
        }
      });
    }
    for (auto& t : publishers) t.join();
    REQUIRE(failures.load() == 0);
    REQUIRE(ledger.All().size() == cluster.size() * kPerNode);

    CHECK_MESSAGE(AllSeen(subscribers, ledger), "some subscriber misses lines (see below)");
    std::this_thread::sleep_for(500ms);  // a duplicate would come late: give it the time
    for (std::size_t s = 0; s < subscribers.size(); ++s) {
      const std::string problems = DeliveryProblems(subscribers[s]->Lines(), ledger.ByOrigin());
      CHECK_MESSAGE(problems.empty(), (s % 2 == 0 ? "WebSocket" : "SSE") << " subscriber on "
                                          << Cluster::node_id(s / 2) << ": " << problems);
    }
  }

  TEST_CASE("an SSE subscriber that reconnects to another node with Last-Event-ID misses nothing") {
    Cluster cluster;
    const std::string channel = cluster.client(0).CreateChannel("resume");
    auto first = std::make_unique<Subscriber>(Subscriber::Kind::kSse, cluster.port(0),
                                              cluster.cookie_header(), channel);
    // Before: one message at a time, each seen before the next, so that the last event id
    // seen is the newest message.
    Ledger before;
    for (int k = 0; k < 9; ++k) {
      const std::size_t n = static_cast<std::size_t>(k) % cluster.size();
      const std::string id = cluster.client(n).PostMessage(channel, "before-" + std::to_string(k));
      before.Add(0, id);
      REQUIRE_MESSAGE(WaitFor([&] { return first->Saw(id); }, 20s),
                      "a message posted on " << Cluster::node_id(n) << " did not reach node-a");
    }
    const std::string last_id = first->LastEventId();
    REQUIRE(last_id == before.All().back());
    first->Close();

    // While away: posts on every node.
    Ledger after;
    for (int k = 0; k < 9; ++k) {
      const std::size_t n = static_cast<std::size_t>(k) % cluster.size();
      after.Add(n, cluster.client(n).PostMessage(channel, "away-" + std::to_string(k)));
    }
    Subscriber second(Subscriber::Kind::kSse, cluster.port(1), cluster.cookie_header(), channel,
                      last_id);
    // Back, on node-b: more posts on every node, live.
    for (int k = 0; k < 9; ++k) {
      const std::size_t n = static_cast<std::size_t>(k) % cluster.size();
      after.Add(n, cluster.client(n).PostMessage(channel, "back-" + std::to_string(k)));
    }
    const std::vector<std::string> expected = after.All();
    CHECK_MESSAGE(WaitFor([&] { return second.CountSeen(expected) == expected.size(); }, 20s),
                  "the resumed stream got " << second.CountSeen(expected) << " of "
                                            << expected.size());
    std::this_thread::sleep_for(500ms);
    const std::string problems = DeliveryProblems(second.Lines(), after.ByOrigin());
    CHECK_MESSAGE(problems.empty(), problems);
    // Nothing from before the cursor comes again.
    for (const std::string& id : before.All()) CHECK_FALSE(second.Saw(id));
  }
}

}  // namespace agentcore::cluster::testing
