// SPDX-License-Identifier: Apache-2.0
// An agent activated by one node checks in on another (docs/cluster.md, "Leases"): node-a
// activates the echo agent and holds its lease, but gives it node-b's URL (as a load balancer
// would route it elsewhere); the messages queued for it while it starts, posted on node-c, are
// pushed to it once each, wherever the checkin landed.

#include <sys/stat.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "cluster/cluster_support.hpp"

namespace agentcore::cluster::testing {
namespace {

/// How many of the echo agent's stored replies answer the message `text`.
std::size_t RepliesTo(const std::vector<std::string>& replies, const std::string& text) {
  const std::string expected = "echo: Message from @alice: " + text;
  std::size_t n = 0;
  for (const std::string& r : replies) n += r == expected ? 1 : 0;
  return n;
}

}  // namespace

TEST_SUITE("ClusterAgents") {
  TEST_CASE("an agent activated by node-a checks in on node-b and gets its pending messages once") {
    // The echo agent of type "slow" waits a second before it starts, so that the messages
    // posted right after its activation are still queued when it checks in.
    agentcore::testing::TempDir scripts("agentcore-cluster-agent");
    const std::string slow = scripts / "slow-echo";
    REQUIRE(scripts.Write("slow-echo", std::string("#!/bin/sh\nsleep 1\nexec ") +
                                           AGENTCORE_ECHO_AGENT + " \"$@\"\n"));
    REQUIRE(::chmod(slow.c_str(), 0755) == 0);
    std::vector<NodeSpec> specs(3);
    specs[0].public_url_of = 1;  // node-a's agents reach the cluster through node-b
    specs[0].extra = {"--agent-command", "slow=" + slow};
    Cluster cluster(specs);

    const std::string channel = cluster.client(2).CreateChannel("checkin");
    cluster.client(0).AddAgent(channel, "echo", "slow");  // node-a activates it
    const std::vector<std::string> texts = {"@echo one", "@echo two", "@echo three"};
    for (const std::string& text : texts) cluster.client(2).PostMessage(channel, text);

    // node-a holds the agent's lease; its process was told node-b's URL.
    CHECK(cluster.LeaseOwner(Cluster::AgentLeaseKey(channel, "echo")) == Cluster::node_id(0));
    CHECK(WaitFor([&] {
      return !agentcore::testing::AgentPids(AGENTCORE_ECHO_AGENT, cluster.port(1)).empty();
    }, 10s));

    const std::string agent_id = cluster.space_id() + ":" + channel + ":echo";
    CHECK_MESSAGE(WaitFor([&] { return cluster.client(1).AgentStatus(agent_id) == "online"; }, 15s),
                  "the agent never came online; node-a: " << cluster.node(0).Stderr()
                                                          << "\nnode-b: " << cluster.node(1).Stderr());
    std::vector<std::string> replies;
    CHECK_MESSAGE(WaitFor([&] {
                    replies = cluster.client(2).Replies(channel, "echo");
                    return replies.size() >= texts.size();
                  }, 20s),
                  "replies: " << replies.size() << " of " << texts.size());
    // A second push would show as a second reply: give one the time of two leases to come.
    std::this_thread::sleep_for(2 * kLease);
    replies = cluster.client(1).Replies(channel, "echo");
    for (const std::string& text : texts) {
      CHECK_MESSAGE(RepliesTo(replies, text) == 1, text << " was answered "
                                                        << RepliesTo(replies, text) << " times");
    }
    // Still node-a's: a checkin elsewhere does not take a live owner's lease.
    CHECK(cluster.LeaseOwner(Cluster::AgentLeaseKey(channel, "echo")) == Cluster::node_id(0));
  }
}

}  // namespace agentcore::cluster::testing
