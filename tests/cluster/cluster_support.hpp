// SPDX-License-Identifier: Apache-2.0
#pragma once

// Support of agentcore_cluster_tests (docs/cluster.md): N real agentcore-server processes
// ("nodes") on one fresh PostgreSQL schema of the test command's server
// (AGENTCORE_TEST_PG_DSN), each with its own port, data directory and --node-id, a short lease
// so takeovers happen within the test, dev auth, and the echo agent as the agent of every type;
// subscribers that collect what one node streams (WebSocket or SSE) on a thread of their own;
// and the check that a subscriber got every line of every publishing node once, in that node's
// order. Test support only.

#include <signal.h>
#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>
#include <agentcore/ulid.hpp>

#include "server/websocket_test_client.hpp"
#include "store/pg_test_schema.hpp"
#include "support/process_table.hpp"
#include "support/server_child.hpp"
#include "support/server_client.hpp"
#include "support/temp_dir.hpp"

#ifndef AGENTCORE_SERVER_BIN
#error "AGENTCORE_SERVER_BIN (the agentcore-server binary) must be defined"
#endif
#ifndef AGENTCORE_ECHO_AGENT
#error "AGENTCORE_ECHO_AGENT (the echo-agent binary) must be defined"
#endif

namespace agentcore::cluster::testing {

using namespace std::chrono_literals;
using agentcore::testing::ChildServer;
using agentcore::testing::FreePort;
using agentcore::testing::ServerClient;
using agentcore::testing::WaitFor;

/// The nodes' lease: short, so that a takeover after kill -9 fits in a test.
inline constexpr std::chrono::milliseconds kLease{1500};

/// What one node is started with beyond the common flags.
struct NodeSpec {
  std::vector<std::string> extra;
  /// "NAME=value" over the test's environment.
  std::vector<std::string> env;
  /// The node gives its agents another node's URL as their API URL (a load balancer's, in a
  /// real deployment): -1 its own.
  int public_url_of = -1;
};

/// N nodes on one fresh PostgreSQL schema, started one after the other; node i is "node-<a+i>".
/// client(i) talks to node i; all clients share the session of the user logged in on node 0.
/// The destructor kills the nodes and the agents they started (orphans included).
class Cluster {
 public:
  explicit Cluster(std::vector<NodeSpec> specs = std::vector<NodeSpec>(3))
      : specs_(std::move(specs)) {
    REQUIRE(!dir_.path().empty());
    for (std::size_t i = 0; i < specs_.size(); ++i) ports_.push_back(FreePort());
    for (std::size_t i = 0; i < specs_.size(); ++i) {
      const std::string node_dir = dir_ / node_id(i);
      REQUIRE(std::filesystem::create_directories(node_dir));
      nodes_.push_back(
          std::make_unique<ChildServer>(Args(i), ports_[i], node_dir, specs_[i].env));
      clients_.push_back(
          std::make_unique<ServerClient>("http://127.0.0.1:" + std::to_string(ports_[i])));
    }
    // One at a time: the first applies the migrations, the others find them applied.
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      REQUIRE_MESSAGE(nodes_[i]->Start(), node_id(i) << " did not start (exit "
                                                     << nodes_[i]->exit_code()
                                                     << "): " << nodes_[i]->Stderr());
    }
    clients_[0]->Login("alice");
    for (std::size_t i = 1; i < clients_.size(); ++i) clients_[i]->ShareSession(*clients_[0]);
  }
  ~Cluster() {
    for (auto& node : nodes_) node->Stop(SIGKILL);
    std::vector<std::string> agents = {AGENTCORE_ECHO_AGENT};
#ifdef AGENTCORE_BUILDER_AGENT
    agents.emplace_back(AGENTCORE_BUILDER_AGENT);
#endif
    for (const std::string& agent : agents) {
      for (int port : ports_) {
        for (pid_t pid : agentcore::testing::AgentPids(agent, port)) ::kill(pid, SIGKILL);
      }
    }
  }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  std::size_t size() const { return nodes_.size(); }
  ChildServer& node(std::size_t i) { return *nodes_.at(i); }
  ServerClient& client(std::size_t i) { return *clients_.at(i); }
  int port(std::size_t i) const { return ports_.at(i); }
  static std::string node_id(std::size_t i) {
    return "node-" + std::string(1, static_cast<char>('a' + i));
  }
  const agentcore::testing::PgTestSchema& pg() const { return pg_; }
  const std::string& space_id() const { return clients_[0]->space_id(); }
  std::string cookie_header() const { return "Cookie: " + clients_[0]->cookie() + "\r\n"; }
  const agentcore::testing::TempDir& dir() const { return dir_; }

  /// The holder of lease `key` in the shared database ("" when there is none; a database
  /// without the leases table fails the test).
  std::string LeaseOwner(const std::string& key) const {
    auto rows = pg_.Query("SELECT owner FROM leases WHERE key = '" + key + "'");
    return rows.empty() ? std::string() : rows[0][0];
  }
  static std::string AgentLeaseKey(const std::string& channel, const std::string& callsign) {
    return "agent:" + channel + "/" + callsign;
  }

  /// Posts one Tymbal frame to node i as the agent `callsign` of `channel` (its container
  /// token); the HTTP status (0: no answer).
  int PostFrame(std::size_t i, const std::string& channel, const std::string& callsign,
                const std::string& line) {
    thread_local std::unique_ptr<HttpClient> http = NewHttpClient();
    HttpRequest req;
    req.method = "POST";
    req.url = node(i).Url("/tymbal/" + channel);
    req.body = line;
    req.timeout = 10s;
    req.headers = {{"Content-Type", "application/json"},
                   {"Authorization",
                    "Container " + MakeContainerToken(kDevContainerSecret,
                                                      AgentIdentity{space_id(), channel,
                                                                    callsign})}};
    auto r = http->Send(req);
    return r.ok() ? r->status : 0;
  }

 private:
  std::vector<std::string> Args(std::size_t i) const {
    const NodeSpec& spec = specs_[i];
    const std::string node_dir = dir_ / node_id(i);
    const int url_port = spec.public_url_of >= 0 ? ports_.at(spec.public_url_of) : ports_[i];
    std::vector<std::string> args = {
        AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port", std::to_string(ports_[i]),
        "--database-url", pg_.url(), "--data-dir", node_dir + "/data", "--auth-mode", "dev",
        "--no-access-log", "--threads", "2", "--node-id", node_id(i), "--lease-ms",
        std::to_string(kLease.count()), "--public-url",
        "http://127.0.0.1:" + std::to_string(url_port), "--agent-command",
        std::string("*=") + AGENTCORE_ECHO_AGENT};
    args.insert(args.end(), spec.extra.begin(), spec.extra.end());
    return args;
  }

  std::vector<NodeSpec> specs_;
  agentcore::testing::TempDir dir_{"agentcore-cluster"};
  agentcore::testing::PgTestSchema pg_;
  std::vector<int> ports_;
  std::vector<std::unique_ptr<ChildServer>> nodes_;
  std::vector<std::unique_ptr<ServerClient>> clients_;
};

/// One line a subscriber received: the frame, and the SSE event id ("" on the WebSocket).
struct Received {
  std::string line;
  std::string event_id;
};

/// A subscriber of one channel on one node, reading on its own thread until Close(), the end
/// of the stream or the destructor. WebSocket: GET /stream then the sync request (history lines
/// are collected too); SSE: GET /channels/:id/events, with Last-Event-ID when given.
class Subscriber {
 public:
  enum class Kind { kWebSocket, kSse };

  Subscriber(Kind kind, int port, const std::string& cookie_header, const std::string& channel,
             const std::string& last_event_id = {})
      : kind_(kind) {
    if (kind_ == Kind::kWebSocket) {
      ws_ = std::make_unique<agentcore::testing::TestWebSocket>(static_cast<std::uint16_t>(port));
      agentcore::testing::TestHead head = ws_->Handshake("/stream", cookie_header);
      REQUIRE_MESSAGE(head.status == 101, head.raw);
      REQUIRE(ws_->SendText(R"({"request":"sync","channelId":")" + channel + "\"}"));
      auto reply = ws_->NextText(10s);  // the history, then the sync line: subscribed
      REQUIRE_MESSAGE(reply.has_value(), "no sync reply from the node on port " << port);
      Add(*reply, {});
    } else {
      socket_ = std::make_unique<agentcore::testing::TestSocket>(static_cast<std::uint16_t>(port));
      REQUIRE(socket_->connected());
      std::string request = "GET /channels/" + channel +
                            "/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" +
                            cookie_header;
      if (!last_event_id.empty()) request += "Last-Event-ID: " + last_event_id + "\r\n";
      REQUIRE(socket_->Send(request + "\r\n"));
      agentcore::testing::TestHead head = agentcore::testing::ReadHead(*socket_, 10s);
      REQUIRE_MESSAGE(head.status == 200, head.raw);
      sse_ = std::make_unique<agentcore::testing::TestSseReader>(socket_.get(), head.rest);
    }
    thread_ = std::thread([this] { Read(); });
  }
  ~Subscriber() { Close(); }
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  /// Stops reading and closes the connection.
  void Close() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ws_.reset();
    sse_.reset();
    socket_.reset();
  }
  /// Whether the node ended the stream (closed, or its process died).
  bool ended() const { return ended_; }

  std::vector<Received> Lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }
  /// The last SSE event id received ("" when none).
  std::string LastEventId() const {
    std::lock_guard lock(mu_);
    for (auto it = lines_.rbegin(); it != lines_.rend(); ++it) {
      if (!it->event_id.empty()) return it->event_id;
    }
    return {};
  }
  /// Whether some received line has the frame id `id` (its "i").
  bool Saw(const std::string& id) const {
    std::lock_guard lock(mu_);
    return ids_.count(id) > 0;
  }
  /// How many of `ids` it saw.
  std::size_t CountSeen(const std::vector<std::string>& ids) const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const std::string& id : ids) n += ids_.count(id) > 0 ? 1 : 0;
    return n;
  }

 private:
  void Read() {
    while (!stop_ && !ended_) {
      if (kind_ == Kind::kWebSocket) {
        auto event = ws_->Next(100ms);
        if (!event) {  // a timeout, or the end
          if (PeerClosed(ws_->socket().fd())) ended_ = true;
          continue;
        }
        if (event->kind == server::WebSocketEvent::Kind::kClose) ended_ = true;
        if (event->kind == server::WebSocketEvent::Kind::kText) Add(event->payload, {});
      } else {
        auto event = sse_->Next(100ms);
        if (!event) {
          if (PeerClosed(socket_->fd())) ended_ = true;
          continue;
        }
        if (!event->data.empty()) Add(event->data, event->id);
      }
    }
  }
  /// Whether the peer closed `fd` (or it failed), without consuming what is still unread.
  static bool PeerClosed(int fd) {
    char byte = 0;
    const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  /// One text message or SSE event; a WebSocket message may hold several lines (a sync reply).
  void Add(const std::string& text, const std::string& event_id) {
    std::lock_guard lock(mu_);
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto parsed = ParseJson(line);
      if (parsed.ok()) {
        if (const std::string* id = parsed->FindString("i")) ids_.insert(*id);
      }
      lines_.push_back(Received{line, event_id});
    }
  }

  Kind kind_;
  std::unique_ptr<agentcore::testing::TestWebSocket> ws_;
  std::unique_ptr<agentcore::testing::TestSocket> socket_;
  std::unique_ptr<agentcore::testing::TestSseReader> sse_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ended_{false};
  mutable std::mutex mu_;
  std::vector<Received> lines_;
  std::multiset<std::string> ids_;
};

/// A set frame of a whole agent message (a new id), as an agent uploads it; `text` its content.
inline std::string SetFrame(const std::string& id, const std::string& text) {
  return R"({"i":")" + id + R"(","t":"2026-12-07T10:00:00.000Z","v":{"type":"agent","content":")" +
         text + R"(","sender":"pub","senderType":"agent"}})";
}

/// What the publishers sent, per origin node, in each node's order (frame ids: the message
/// id of a REST post, the "i" of an uploaded frame). Thread-safe.
class Ledger {
 public:
  void Add(std::size_t origin, const std::string& id) {
    std::lock_guard lock(mu_);
    if (by_origin_.size() <= origin) by_origin_.resize(origin + 1);
    by_origin_[origin].push_back(id);
  }
  std::vector<std::vector<std::string>> ByOrigin() const {
    std::lock_guard lock(mu_);
    return by_origin_;
  }
  std::vector<std::string> All() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> all;
    for (const auto& ids : by_origin_) all.insert(all.end(), ids.begin(), ids.end());
    return all;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::vector<std::string>> by_origin_;
};

/// What is wrong with what a subscriber received against `sent`: ids missing, ids seen more
/// than once, and origins whose ids arrived out of their order. Lines whose "i" is not in
/// `sent` are ignored (history, agents' frames). Empty when all is well.
inline std::string DeliveryProblems(const std::vector<Received>& received,
                                    const std::vector<std::vector<std::string>>& sent) {
  std::map<std::string, std::pair<std::size_t, std::size_t>> where;  // id -> (origin, index)
  for (std::size_t o = 0; o < sent.size(); ++o) {
    for (std::size_t k = 0; k < sent[o].size(); ++k) where[sent[o][k]] = {o, k};
  }
  std::map<std::string, int> seen;
  std::vector<long> last_index(sent.size(), -1);
  std::ostringstream problems;
  for (const Received& r : received) {
    auto parsed = ParseJson(r.line);
    if (!parsed.ok()) continue;
    const std::string* id = parsed->FindString("i");
    if (id == nullptr) continue;
    auto it = where.find(*id);
    if (it == where.end()) continue;
    if (++seen[*id] == 2) problems << "duplicate " << *id << "; ";
    const auto [origin, index] = it->second;
    if (static_cast<long>(index) < last_index[origin]) {
      problems << "out of order from origin " << origin << ": index " << index << " after "
               << last_index[origin] << "; ";
    }
    last_index[origin] = std::max(last_index[origin], static_cast<long>(index));
  }
  std::size_t missing = 0;
  for (const auto& [id, place] : where) missing += seen.count(id) == 0 ? 1 : 0;
  if (missing > 0) problems << missing << " of " << where.size() << " missing; ";
  return problems.str();
}

/// The seconds since `t0`, for messages.
inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace agentcore::cluster::testing
