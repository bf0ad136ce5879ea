// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The hub is the application: what Cast's server, with its AgentManager, invoker and Tymbal
/// routes, does with the library's parts, as one object that a C++ program, the bindings and
/// `agentcore-server` all call. It composes
///   - a `Store` (default: a SQLite file),
///   - a `RuntimeRegistry` (default: the local process runtime),
///   - a `Clock` (default: the system clock),
///   - a `Publisher` (default: none; the server fans lines out to WebSocket and SSE clients),
///   - an `Executor` for work nobody waits for (default: a small pool of its own),
///   - an `AgentTransport` for pushes to agents (default: HTTP),
/// and offers the services built on them (hub/agents.hpp, hub/ingest.hpp, hub/channels.hpp,
/// hub/credentials.hpp). Every service method is synchronous, thread-safe and may block on the
/// store or the runtime: call it from a thread that may block (the server: its blocking pool).
/// Time-driven rules run when the embedder calls `Sweep(now)` from its own timer.
///
/// Ownership: the hub owns the store, the runtimes and (when it made them) the executor and the
/// transport; clock, publisher and borrowed executor/transport must outlive it.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/hub/agent_transport.hpp>
#include <agentcore/hub/agents.hpp>
#include <agentcore/hub/auth_throttle.hpp>
#include <agentcore/hub/executor.hpp>
#include <agentcore/hub/ingest.hpp>
#include <agentcore/hub/publisher.hpp>
#include <agentcore/hub/rate_limits.hpp>
#include <agentcore/hub/runtime_registry.hpp>
#include <agentcore/hub/runs.hpp>
#include <agentcore/hub/sessions.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <agentcore/runtime/runtimes.hpp>
#include <agentcore/state/agent_state.hpp>
#include <agentcore/store/store.hpp>
#include <agentcore/ulid.hpp>

namespace agentcore {

class AccountService;
class ApiKeyService;
class ChannelService;
class CredentialService;
namespace hub_internal {
class AgentServiceImpl;
class ClusterLink;
class HubFileLock;
class RunServiceImpl;
class SessionServiceImpl;
}  // namespace hub_internal

/// Many hubs (processes, "nodes") on one PostgreSQL database (docs/cluster.md). Ignored on
/// SQLite, which serves one hub per file.
struct ClusterOptions {
  /// On PostgreSQL: publish lines to the other nodes, drive agents and sessions through
  /// leases. false: behave as the only node (tests, one-server deployments on PostgreSQL).
  bool enabled = true;
  /// This node's id in leases and published facts; empty: "<hostname>-<pid>-<random>".
  /// 1 to 128 characters of A-Z a-z 0-9 . _ - (OpenHub: kInvalidArgument otherwise).
  std::string node_id;
  /// How long a lease lasts; renewed every third of it by Sweep. kMinLease to kMaxLease
  /// (OpenHub: kInvalidArgument otherwise).
  std::chrono::milliseconds lease{10'000};
  static constexpr std::chrono::milliseconds kMinLease{30};
  static constexpr std::chrono::milliseconds kMaxLease{3'600'000};
  /// The change log is read at every wake-up and at least this often without one.
  std::chrono::milliseconds poll_interval{250};
  /// Change-log rows older than this are deleted (by the node holding the "janitor" lease).
  std::chrono::milliseconds retention{600'000};
  /// Bound of the lines waiting to be appended for the other nodes (and of the other nodes'
  /// facts waiting to be handed to this hub). Past it the oldest live-only lines are dropped
  /// (counted): stored messages replay from the store, live-only lines are best effort.
  std::size_t line_queue_bytes = 8u << 20;
};

/// Everything a hub is made of. Every field has a working default.
struct HubOptions {
  /// The store; when null, OpenStore(store_url) (SQLite file, `postgres://…`, `memory:`).
  std::unique_ptr<Store> store;
  std::string store_url = "sqlite://agentcore.db";
  /// The runtimes. Empty: one local process runtime ("local") from `local_process`, running
  /// every agent type listed in its commands ("*" when it has a "*" command; none when it has
  /// no command at all: agents are then started elsewhere and only check in).
  std::vector<RuntimeSpec> runtimes;
  /// An empty `data_dir` means "agentcore-data" in the working directory.
  LocalProcessOptions local_process;
  /// Not owned; must outlive the hub. nullptr: SystemClock().
  Clock* clock = nullptr;
  /// Not owned; must outlive the hub. nullptr: nothing is published.
  Publisher* publisher = nullptr;
  /// Not owned; must outlive the hub. nullptr: the hub runs a pool of `background_threads`.
  Executor* executor = nullptr;
  unsigned background_threads = 4;
  /// Not owned; must outlive the hub. nullptr: HTTP pushes bounded by `push_timeout`.
  AgentTransport* transport = nullptr;
  std::chrono::milliseconds push_timeout{10'000};
  /// Heartbeat staleness and activation timeout (spec cast §5.7).
  AgentPolicy policy;
  /// Signs container tokens (CAST_CONTAINER_SECRET) and session JWTs (JWT_SECRET); empty
  /// means the public development secrets of auth/tokens.hpp.
  std::string container_secret;
  std::string jwt_secret;
  /// The API URL agents are told to call (CAST_API_URL), e.g. "http://127.0.0.1:3234"; a
  /// server that learns its port only once bound sets it later (AgentService::SetApiUrl).
  std::string api_url;
  /// Close(): stop every agent the runtimes started (true), or leave them running as a crash
  /// would, for the next hub to reap (false; tests of crash recovery).
  bool stop_agents_on_close = true;
  /// Bound of the channel service's routing roster cache (hub/channels.hpp); 0 turns it off.
  std::size_t routing_cache_bytes = 8u << 20;
  /// Caps per space (issue 13 §2), 0 for none: roster entries that are not archived (adding
  /// or unarchiving past it is kRateLimited, ChannelService::CheckAgentCap), and agents whose
  /// process is starting or running (an activation past it is kRateLimited, nothing started).
  std::size_t max_agents_per_space = 50;
  std::size_t max_running_agents_per_space = 20;
  /// Tymbal ingest (hub/ingest.hpp): the streamed uploads' progress-save interval, async writes.
  IngestOptions ingest;
  /// Platform Agent's runs (hub/runs.hpp): queue, phases, limits, git, webhooks.
  RunServiceOptions runs;
  /// API keys' tiers and the defaults (hub/rate_limits.hpp): what a key's limits resolve
  /// through (CredentialService::VerifyApiKey) and which tiers a new key may name.
  RateLimitTiers rate_limit_tiers;
  /// execbox's and Octo's sessions (hub/sessions.hpp): runtimes, caps, timeouts, buffers.
  SessionServiceOptions sessions;
  /// Failed password logins per email (AccountService::Login): 10 in 5 minutes block the email
  /// for 5 minutes; max_failures 0 turns it off.
  AuthThrottleOptions login_throttle{10, std::chrono::minutes(5), 16'384};
  /// Many nodes on one PostgreSQL (docs/cluster.md).
  ClusterOptions cluster;
};

/// See the top of this file. Thread-safe.
class AGENTCORE_EXPORT Hub {
 public:
  ~Hub();  // Close(), then the parts in reverse order of construction
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  Store& store() { return *store_; }
  Clock& clock() { return *clock_; }
  RuntimeRegistry& runtimes() { return *runtimes_; }
  /// Tymbal ingest: frames from agents stored and published (hub/ingest.hpp).
  Ingest& ingest() { return *ingest_; }
  const HubOptions& options() const { return options_; }
  /// Channels, roster and posting (hub/channels.hpp).
  ChannelService& channels() { return *channels_; }
  /// Session, API key and container credentials (hub/credentials.hpp).
  CredentialService& credentials() { return *credentials_; }
  /// Development login, session accounts, the space listing (hub/accounts.hpp).
  AccountService& accounts() { return *accounts_; }
  /// API keys' administration: create, list, revoke (hub/api_keys.hpp).
  ApiKeyService& api_keys() { return *api_keys_; }

  /// A new record id (a ULID on the hub's clock).
  std::string NewId() { return ulids_.Next(); }
  /// The container token of `agent`, signed with the container secret (spec cast §5.1).
  std::string ContainerToken(const AgentIdentity& agent) const {
    return MakeContainerToken(container_secret_, agent);
  }
  const std::string& container_secret() const { return container_secret_; }
  const std::string& jwt_secret() const { return jwt_secret_; }

  /// Whether publishing can reach anyone: a publisher with subscribers, or a run in progress
  /// (the run service reads its channel's lines).
  bool HasSubscribers() const;
  /// Publishes one line of `channel_id` (no-op without subscribers).
  /// `seq`: the stored message's (PublishedLine::seq), with its `event_id`.
  void Publish(std::string_view channel_id, std::string_view line,
               std::string_view event_id = {}, std::uint64_t seq = 0);
  /// Publishes lines of one channel together, in order.
  void Publish(std::string_view channel_id, std::span<const PublishedLine> lines);
  /// Runs `task` on the executor.
  void Post(std::function<void()> task) { executor_->Post(std::move(task)); }
  AgentTransport& transport() { return *transport_; }

  /// The agents: activation, delivery, lifecycle, checkin, sweeps (hub/agents.hpp).
  AgentService& agents();
  /// Platform Agent's projects and runs (hub/runs.hpp).
  RunService& runs();
  /// execbox's and Octo's sandboxed sessions (hub/sessions.hpp).
  SessionService& sessions();

  /// This node's id (ClusterOptions::node_id, or the one made up at open).
  const std::string& node_id() const { return node_id_; }
  /// Whether other nodes may share the database: PostgreSQL with ClusterOptions::enabled.
  bool clustered() const { return clustered_; }
  /// Readiness (docs/cluster.md "Readiness and drain"): OK when the store answers within
  /// `timeout`, the node's leases were renewed within one lease period and it is not
  /// draining; kUnavailable with the reason otherwise.
  Status Ready(std::chrono::milliseconds timeout);
  /// Stops taking new work (claims, activations of agents it does not hold) and hands every
  /// lease back so that other nodes take over at once. Close() is still to be called.
  /// Idempotent.
  void Drain();
  /// Whether Drain() was called.
  bool draining() const;
  /// The link to the other nodes; null when not clustered. Library-internal.
  hub_internal::ClusterLink* cluster_link() { return cluster_.get(); }

  /// Stops what the hub started (agents, unless HubOptions::stop_agents_on_close is false)
  /// and waits for the work it posted. Later activations fail with kUnavailable. Idempotent.
  void Close();

 private:
  friend Result<std::unique_ptr<Hub>> OpenHub(HubOptions options);
  class Observer;
  explicit Hub(HubOptions options);
  /// Clustered: the link to the other nodes; last step of OpenHub.
  Status StartCluster();
  /// To this process's run tap and publisher only (lines of this node, or from another).
  void PublishHere(std::string_view channel_id, std::span<const PublishedLine> lines);

  // Constant after OpenHub.
  HubOptions options_;
  Clock* clock_;
  Publisher* publisher_;
  UlidGenerator ulids_;
  std::string container_secret_;
  std::string jwt_secret_;
  std::string node_id_;
  bool clustered_ = false;
  std::unique_ptr<Executor> owned_executor_;
  Executor* executor_ = nullptr;
  std::unique_ptr<AgentTransport> owned_transport_;
  AgentTransport* transport_ = nullptr;
  std::unique_ptr<hub_internal::HubFileLock> file_lock_;  // SQLite: one hub per file
  std::unique_ptr<Store> store_;
  std::unique_ptr<Observer> observer_;
  std::unique_ptr<RuntimeRegistry> runtimes_;
  std::unique_ptr<CredentialService> credentials_;
  std::unique_ptr<AccountService> accounts_;
  std::unique_ptr<ApiKeyService> api_keys_;
  std::unique_ptr<ChannelService> channels_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<hub_internal::AgentServiceImpl> agents_;  // observes the runtimes
  std::unique_ptr<hub_internal::RunServiceImpl> runs_;      // taps published lines
  std::unique_ptr<hub_internal::SessionServiceImpl> sessions_;
  std::unique_ptr<hub_internal::ClusterLink> cluster_;  // clustered only; reaches the services
  std::atomic<bool> closed_{false};
  std::atomic<bool> draining_{false};
  std::mutex probe_mu_;
  std::shared_ptr<void> probe_;  // Ready's store probe in flight; guarded by probe_mu_
};

/// Where a program keeps a hub's files when told nothing (the server's and the CLI's default
/// database and agent data): `$XDG_DATA_HOME/agentcore` when XDG_DATA_HOME is an absolute
/// path, else `$HOME/.local/share/agentcore`, else `.agentcore` in the working directory. Not
/// created here. HubOptions' own defaults (store_url, local_process.data_dir) stay relative to
/// the working directory.
AGENTCORE_EXPORT std::string DefaultDataHome();

/// Opens the store (migrating it), then the runtimes, then the services. Errors: the store's
/// (OpenStore), the runtimes' (RuntimeRegistry::Open). On a SQLite file the hub first takes an
/// exclusive lock on "<file>.hub.lock", held until the hub is destroyed (or its process dies):
/// a second hub on the same file, in this process or another, gets kUnavailable "another
/// agentcore server uses <file>: SQLite serves one server; use PostgreSQL (--database-url
/// postgres://…) for several" and opens nothing. ":memory:" and PostgreSQL take no lock; a
/// store opened without a hub (OpenStore: the CLI's commands) does not either.
AGENTCORE_EXPORT Result<std::unique_ptr<Hub>> OpenHub(HubOptions options);

}  // namespace agentcore
