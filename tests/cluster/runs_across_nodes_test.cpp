// SPDX-License-Identifier: Apache-2.0
// Runs across nodes (docs/cluster.md, "Runs"; docs/runs.md). First: every node gives its
// builders another node's URL, so the builder's checkin, task requests and frames land on a
// node other than the run's worker; the run still succeeds. Then:
// kill -9 of the node whose builder runs a run (docs/cluster.md, "Leases", runs; docs/runs.md):
// three nodes with the real builder-agent; a run "sleep 3000; create a.txt with x" is created on
// node-a and claimed by whichever node's worker takes it; once its builder runs, that node is
// SIGKILLed. Another node requeues the run when its lease expired and finishes it (2 attempts),
// and its event stream, read on a surviving node from the start, has every event once, in
// order, up to done.

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cluster/cluster_support.hpp"

#ifdef AGENTCORE_BUILDER_AGENT

namespace agentcore::cluster::testing {
namespace {

constexpr const char* kApiKey = "cluster-agent-api-key-0123456789";

/// One /v1 request with X-Agent-Api-Key on node `port`; status 0 when nothing answered.
HttpResponse V1(int port, const std::string& method, const std::string& path,
                const std::string& body = {}, const std::string& idempotency_key = {}) {
  thread_local std::unique_ptr<HttpClient> http = NewHttpClient();
  HttpRequest req;
  req.method = method;
  req.url = "http://127.0.0.1:" + std::to_string(port) + path;
  req.body = body;
  req.timeout = 15s;
  req.headers = {{"X-Agent-Api-Key", kApiKey}};
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  if (!idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", idempotency_key);
  auto r = http->Send(req);
  if (!r.ok()) return HttpResponse{};
  return *std::move(r);
}

/// The run's envelope field `key` as read on node `port` ("" when unreadable).
std::string RunField(int port, const std::string& project, const std::string& run,
                     const std::string& key) {
  HttpResponse r = V1(port, "GET", "/v1/projects/" + project + "/runs/" + run);
  auto body = ParseJson(r.body);
  if (r.status != 200 || !body.ok()) return {};
  if (const std::string* s = body->FindString(key)) return *s;
  if (const Json* n = body->Find(key); n != nullptr && n->is_number()) {
    return std::to_string(static_cast<long>(n->as_number()));
  }
  return {};
}

/// The last 3,000 bytes of a log.
std::string Tail(const std::string& log) {
  return log.size() > 3000 ? log.substr(log.size() - 3000) : log;
}

}  // namespace

TEST_SUITE("ClusterRuns") {
  TEST_CASE("a builder that talks to a node other than the run's worker gets its tasks") {
    std::vector<NodeSpec> specs(3);
    for (std::size_t i = 0; i < specs.size(); ++i) {
      specs[i].env = {std::string("AGENT_API_KEY=") + kApiKey};
      specs[i].extra = {"--agent-command", std::string("builder=") + AGENTCORE_BUILDER_AGENT};
      specs[i].public_url_of = static_cast<int>((i + 1) % specs.size());
    }
    Cluster cluster(specs);
    HttpResponse created = V1(cluster.port(0), "POST", "/v1/projects", R"({"id":"elsewhere"})");
    REQUIRE_MESSAGE(created.status == 201, created.body);
    HttpResponse run_created = V1(cluster.port(0), "POST", "/v1/projects/elsewhere/runs",
                                  R"({"prompt":"create a.txt with x"})", "k-1");
    REQUIRE_MESSAGE(run_created.status == 202, run_created.body);
    const std::string run = *ParseJson(run_created.body)->FindString("id");
    CHECK_MESSAGE(WaitFor([&] {
                    return RunField(cluster.port(1), "elsewhere", run, "status") == "succeeded";
                  }, 30s),
                  "the run is " << RunField(cluster.port(1), "elsewhere", run, "status")
                                << "; node-a's log ends: " << Tail(cluster.node(0).Stderr()));
    CHECK(RunField(cluster.port(2), "elsewhere", run, "attempts") == "1");
  }
}

TEST_SUITE("ClusterTakeover") {
  TEST_CASE("kill -9 of the node running a run's builder: another node finishes the run") {
    std::vector<NodeSpec> specs(3);
    for (NodeSpec& spec : specs) {
      spec.env = {std::string("AGENT_API_KEY=") + kApiKey};
      spec.extra = {"--agent-command", std::string("builder=") + AGENTCORE_BUILDER_AGENT};
    }
    Cluster cluster(specs);
    HttpResponse created = V1(cluster.port(0), "POST", "/v1/projects", R"({"id":"killed"})");
    REQUIRE_MESSAGE(created.status == 201, created.body);
    HttpResponse run_created = V1(cluster.port(0), "POST", "/v1/projects/killed/runs",
                                  R"({"prompt":"sleep 3000; create a.txt with x"})", "k-1");
    REQUIRE_MESSAGE(run_created.status == 202, run_created.body);
    const std::string run = *ParseJson(run_created.body)->FindString("id");

    // The node whose builder runs it: the one whose URL its builder was given.
    std::size_t worker = cluster.size();
    REQUIRE_MESSAGE(WaitFor([&] {
                      for (std::size_t n = 0; n < cluster.size(); ++n) {
                        if (!agentcore::testing::AgentPids(AGENTCORE_BUILDER_AGENT,
                                                           cluster.port(n)).empty()) {
                          worker = n;
                        }
                      }
                      return worker < cluster.size() &&
                             RunField(cluster.port(worker), "killed", run, "status") == "building";
                    }, 30s),
                    "no node started building the run");
    MESSAGE("the run is built by " << Cluster::node_id(worker));
    const std::size_t survivor = (worker + 1) % cluster.size();
    cluster.node(worker).Stop(SIGKILL);

    CHECK_MESSAGE(WaitFor([&] {
                    return RunField(cluster.port(survivor), "killed", run, "status") ==
                           "succeeded";
                  }, 60s),
                  "the run is " << RunField(cluster.port(survivor), "killed", run, "status")
                                << " on " << Cluster::node_id(survivor) << "; its log ends: "
                                << Tail(cluster.node(survivor).Stderr()) << "\n"
                                << Cluster::node_id((survivor + 1) % cluster.size())
                                << "'s: "
                                << Tail(cluster.node((survivor + 1) % cluster.size()).Stderr()));
    CHECK(RunField(cluster.port(survivor), "killed", run, "attempts") == "2");

    // Its stream from the start on a surviving node: ids 1, 2, … without gap or repeat, done.
    agentcore::testing::TestSocket socket(static_cast<std::uint16_t>(cluster.port(survivor)));
    REQUIRE(socket.Send("GET /v1/projects/killed/runs/" + run +
                        "/stream HTTP/1.1\r\nHost: x\r\nX-Agent-Api-Key: " + kApiKey +
                        "\r\n\r\n"));
    agentcore::testing::TestHead head = agentcore::testing::ReadHead(socket, 10s);
    REQUIRE_MESSAGE(head.status == 200, head.raw);
    agentcore::testing::TestSseReader reader(&socket, head.rest);
    std::vector<agentcore::testing::TestSseEvent> events;
    while (auto e = reader.Next(10s)) {
      if (!e->id.empty()) events.push_back(*e);
      if (e->event == "done") break;
    }
    REQUIRE(!events.empty());
    for (std::size_t k = 0; k < events.size(); ++k) {
      CHECK_MESSAGE(events[k].id == std::to_string(k + 1), "event " << k << " has id "
                                                                   << events[k].id);
    }
    CHECK(events.back().event == "done");
  }
}

}  // namespace agentcore::cluster::testing

#endif  // AGENTCORE_BUILDER_AGENT
