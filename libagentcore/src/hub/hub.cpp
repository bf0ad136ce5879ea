// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/hub.hpp>

#include <cstdlib>

#include <condition_variable>
#include <mutex>
#include <utility>

#include <agentcore/hub/accounts.hpp>
#include <agentcore/hub/api_keys.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/hub/credentials.hpp>
#include "agents_internal.hpp"
#include "cluster_internal.hpp"
#include "hub_file_lock.hpp"
#include "runs_internal.hpp"
#include "sessions_internal.hpp"
#include "store/store_url.hpp"

namespace agentcore {

Publisher::~Publisher() = default;

/// The runtimes' observer. Events go to the agent service once it exists; until then (while
/// the runtimes open) there is nobody to tell.
class Hub::Observer final : public RuntimeObserver {
 public:
  void OnAgentEvent(const AgentEvent& event) override {
    std::lock_guard lock(mu_);
    if (target_ != nullptr) target_->OnAgentEvent(event);
  }
  void Set(hub_internal::AgentServiceImpl* target) {
    std::lock_guard lock(mu_);
    target_ = target;
  }

 private:
  std::mutex mu_;
  hub_internal::AgentServiceImpl* target_ = nullptr;  // guarded by mu_
};

AgentService& Hub::agents() { return *agents_; }
RunService& Hub::runs() { return *runs_; }
SessionService& Hub::sessions() { return *sessions_; }

bool Hub::HasSubscribers() const {
  // Clustered: other nodes' subscribers get every line through the change log.
  return clustered_ || (publisher_ != nullptr && publisher_->HasSubscribers()) ||
         (runs_ != nullptr && runs_->Active());
}

std::string DefaultDataHome() {
  // XDG Base Directory: a relative XDG_DATA_HOME is invalid and ignored.
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/agentcore";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return std::string(home) + "/.local/share/agentcore";
  return ".agentcore";
}

namespace {

/// The default runtimes: the local process runtime, running the types it has commands for.
std::vector<RuntimeSpec> DefaultRuntimes(LocalProcessOptions local) {
  if (local.data_dir.empty()) local.data_dir = "agentcore-data";
  RuntimeSpec spec;
  spec.name = "local";
  for (const auto& [type, command] : local.commands) spec.agent_types.push_back(type);
  spec.open = [local](const RuntimeOptions& options) {
    return NewLocalProcessRuntime(local, options);
  };
  std::vector<RuntimeSpec> specs;
  specs.push_back(std::move(spec));
  return specs;
}

}  // namespace

Hub::Hub(HubOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : SystemClock()),
      publisher_(options_.publisher),
      ulids_(clock_),
      container_secret_(options_.container_secret.empty()
                            ? std::string(kDevContainerSecret)
                            : options_.container_secret),
      jwt_secret_(options_.jwt_secret.empty() ? std::string(kDevSessionSecret)
                                              : options_.jwt_secret) {}

Hub::~Hub() {
  Close();  // agents stopped; the agent service posts nothing more
  cluster_.reset();  // stopped by Close; its sinks reach the services
  // Runs what the services queued (deliveries, blocking ingest writes) while every part they
  // use is still there.
  owned_executor_.reset();
  sessions_.reset();  // after the executor: its posted exits have run
  runs_.reset();
  runtimes_.reset();  // joins the runtimes' watcher threads before the observer goes
  observer_.reset();
  agents_.reset();
  store_.reset();
  file_lock_.reset();  // last: the next hub may open the file once this store has closed it
}

Result<std::unique_ptr<Hub>> OpenHub(HubOptions options) {
  std::unique_ptr<Hub> hub(new Hub(std::move(options)));
  HubOptions& o = hub->options_;
  if (o.store) {
    hub->store_ = std::move(o.store);
    if (const std::string file = hub->store_->DatabaseFile(); !file.empty()) {
      AGENTCORE_ASSIGN_OR_RETURN(hub->file_lock_, hub_internal::HubFileLock::Take(file));
    }
  } else if (internal::IsPostgresStoreUrl(o.store_url)) {
    // The change log's polling is the cluster's (ClusterOptions::poll_interval).
    PostgresStoreOptions pg;
    pg.url = o.store_url;
    pg.poll_interval = o.cluster.poll_interval;
    AGENTCORE_ASSIGN_OR_RETURN(hub->store_, OpenPostgresStore(pg));
  } else {
    // Locked before the store opens, so that a second server never migrates a database
    // another one serves.
    Result<SqliteStoreOptions> sqlite = internal::SqliteStoreOptionsFromUrl(o.store_url);
    if (sqlite.ok() && sqlite->path != ":memory:") {
      AGENTCORE_ASSIGN_OR_RETURN(hub->file_lock_, hub_internal::HubFileLock::Take(sqlite->path));
    }  // a bad URL: OpenStore says what is wrong with it
    AGENTCORE_ASSIGN_OR_RETURN(hub->store_, OpenStore(o.store_url));
  }
  // Before the services: the run service's worker ids name the node when clustered.
  if (!o.cluster.node_id.empty() && !hub_internal::IsValidNodeId(o.cluster.node_id)) {
    return Status(ErrorCode::kInvalidArgument,
                  "cluster node id must be 1 to 128 characters of A-Z a-z 0-9 . _ -");
  }
  if (o.cluster.lease < ClusterOptions::kMinLease || o.cluster.lease > ClusterOptions::kMaxLease) {
    return Status(ErrorCode::kInvalidArgument,
                  "cluster lease must be between " +
                      std::to_string(ClusterOptions::kMinLease.count()) + " and " +
                      std::to_string(ClusterOptions::kMaxLease.count()) + " ms, got " +
                      std::to_string(o.cluster.lease.count()) + " ms");
  }
  hub->node_id_ = o.cluster.node_id.empty() ? hub_internal::MakeNodeId() : o.cluster.node_id;
  hub->clustered_ = o.cluster.enabled && hub->store_->Backend() == "postgres";
  hub->credentials_ = std::make_unique<CredentialService>(*hub->store_, *hub->clock_,
                                                          hub->jwt_secret_,
                                                          hub->container_secret_,
                                                          o.rate_limit_tiers);
  hub->api_keys_ = std::make_unique<ApiKeyService>(*hub->store_, &o.rate_limit_tiers);
  hub->accounts_ = std::make_unique<AccountService>(*hub);
  hub->channels_ = std::make_unique<ChannelService>(*hub, o.routing_cache_bytes);
  if (o.executor == nullptr) hub->owned_executor_ = NewThreadPoolExecutor(o.background_threads);
  hub->executor_ = o.executor != nullptr ? o.executor : hub->owned_executor_.get();
  if (o.transport == nullptr) hub->owned_transport_ = NewHttpAgentTransport(o.push_timeout);
  hub->transport_ = o.transport != nullptr ? o.transport : hub->owned_transport_.get();

  hub->ingest_ = std::make_unique<Ingest>(hub.get(), o.ingest);
  hub->observer_ = std::make_unique<Hub::Observer>();
  RuntimeOptions runtime_options;
  runtime_options.observer = hub->observer_.get();
  runtime_options.clock = hub->clock_;
  std::vector<RuntimeSpec> specs =
      o.runtimes.empty() ? DefaultRuntimes(o.local_process) : std::move(o.runtimes);
  o.runtimes.clear();
  AGENTCORE_ASSIGN_OR_RETURN(hub->runtimes_,
                             RuntimeRegistry::Open(std::move(specs), runtime_options));
  hub->agents_ = std::make_unique<hub_internal::AgentServiceImpl>(*hub);
  hub->observer_->Set(hub->agents_.get());
  hub->runs_ = std::make_unique<hub_internal::RunServiceImpl>(*hub);
  // Before any request: the server answers /v1 before RunService::Start (found by
  // server/runs_e2e: a project created right after start-up was 404 "space not found").
  AGENTCORE_RETURN_IF_ERROR(hub->runs_->EnsurePlatformSpace());
  // Sessions (docs/sessions.md): the sandbox runtime by default; when it cannot open, the hub
  // still opens and sandbox sessions are refused with its error.
  SessionServiceOptions sessions = std::move(o.sessions);
  o.sessions = SessionServiceOptions{};
  if (sessions.data_dir.empty()) {
    sessions.data_dir = o.local_process.data_dir.empty() ? "agentcore-data"
                                                         : o.local_process.data_dir;
  }
  Status sandbox_error;
  if (sessions.sandbox == nullptr) {
    SandboxRuntimeOptions sandbox;
    sandbox.state_dir = sessions.data_dir + "/sessions/pids";
    Result<std::unique_ptr<SessionRuntime>> opened = OpenSandboxRuntime(std::move(sandbox));
    if (opened) {
      sessions.sandbox = std::move(opened).value();
    } else {
      sandbox_error = opened.status();
    }
  }
  hub->sessions_ = std::make_unique<hub_internal::SessionServiceImpl>(*hub, std::move(sessions),
                                                                       std::move(sandbox_error));
  AGENTCORE_RETURN_IF_ERROR(hub->sessions_->Start());
  AGENTCORE_RETURN_IF_ERROR(hub->StartCluster());
  hub->agents_->AdvertiseApiUrl();  // HubOptions::api_url (a server sets its own later)
  return hub;
}

Status Hub::StartCluster() {
  if (!clustered_) return Status();
  hub_internal::ClusterLink::Sinks sinks;
  sinks.lines = [this](std::string_view channel_id, std::span<const PublishedLine> lines) {
    PublishHere(channel_id, lines);
  };
  sinks.agent_wake = [this](std::string_view channel_id, std::string_view callsign,
                            std::string_view payload) {
    agents_->OnWake(channel_id, callsign, payload);
  };
  sinks.run_event = [this](std::string_view run_id, std::uint64_t seq) {
    runs_->OnStoredRunEvent(run_id, seq);
  };
  cluster_ = std::make_unique<hub_internal::ClusterLink>(*store_, *clock_, node_id_,
                                                         options_.cluster, std::move(sinks));
  return cluster_->Start();
}

void Hub::Publish(std::string_view channel_id, std::string_view line, std::string_view event_id,
                  std::uint64_t seq) {
  const PublishedLine one{line, event_id, seq};
  Publish(channel_id, std::span<const PublishedLine>(&one, 1));
}

void Hub::Publish(std::string_view channel_id, std::span<const PublishedLine> lines) {
  if (lines.empty()) return;
  PublishHere(channel_id, lines);
  // After the local publisher: local subscribers never wait for the database.
  if (cluster_ != nullptr) cluster_->Enqueue(channel_id, lines);
}

void Hub::PublishHere(std::string_view channel_id, std::span<const PublishedLine> lines) {
  if (runs_ != nullptr && runs_->Active()) runs_->OnLines(channel_id, lines);
  if (publisher_ == nullptr) return;
  publisher_->Publish(channel_id, lines);
}

namespace {

/// One store probe of Hub::Ready, shared with the executor task that runs it: a probe that
/// outlives its caller's timeout finishes harmlessly, and callers meanwhile wait on it instead
/// of posting another.
struct StoreProbe {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
};

}  // namespace

Status Hub::Ready(std::chrono::milliseconds timeout) {
  if (closed_.load()) return Status(ErrorCode::kUnavailable, "closed");
  if (draining_.load()) return Status(ErrorCode::kUnavailable, "draining");
  if (cluster_ != nullptr) {
    const UnixMillis renewed = cluster_->last_renewed();
    const UnixMillis age = clock_->NowMillis() - renewed;
    if (renewed == 0 || age > options_.cluster.lease.count()) {
      return Status(ErrorCode::kUnavailable,
                    renewed == 0 ? std::string("leases not renewed yet")
                                 : "leases not renewed for " + std::to_string(age) + " ms");
    }
  }
  std::shared_ptr<StoreProbe> probe;
  bool post = false;
  {
    std::lock_guard lock(probe_mu_);
    probe = std::static_pointer_cast<StoreProbe>(probe_);
    if (probe == nullptr) {
      probe = std::make_shared<StoreProbe>();
      probe_ = probe;
      post = true;
    }
  }
  if (post) {  // outside probe_mu_: an executor may run the task inline
    Post([this, probe] {
      Status s = store_->SchemaVersion().status();
      {
        std::lock_guard lock(probe_mu_);
        if (probe_ == probe) probe_.reset();
      }
      {
        std::lock_guard done(probe->mu);
        probe->done = true;
        probe->status = std::move(s);
      }
      probe->cv.notify_all();
    });
  }
  std::unique_lock lock(probe->mu);
  if (!probe->cv.wait_for(lock, timeout, [&] { return probe->done; })) {
    return Status(ErrorCode::kUnavailable,
                  "the store did not answer within " + std::to_string(timeout.count()) + " ms");
  }
  if (!probe->status.ok()) {
    return Status(ErrorCode::kUnavailable, "the store failed: " + probe->status.message());
  }
  return Status();
}

void Hub::Drain() {
  if (draining_.exchange(true)) return;
  if (runs_ != nullptr) runs_->Close();  // no new claims; runs in flight go back to the queue
  if (cluster_ != nullptr) cluster_->Drain();
}

bool Hub::draining() const { return draining_.load(); }

void Hub::Close() {
  if (closed_.exchange(true)) return;
  // Other nodes' facts stop first: nothing reaches the services while they close.
  if (cluster_ != nullptr) cluster_->StopFeed();
  if (sessions_ != nullptr) sessions_->Close();
  if (runs_ != nullptr) runs_->Close();
  if (agents_ != nullptr) agents_->Shutdown(options_.stop_agents_on_close);
  // The lines of the shutdown (agents offline) still reach the other nodes; the leases go
  // back unless this close plays a crash (stop_agents_on_close false: they expire).
  if (cluster_ != nullptr) cluster_->Close(options_.stop_agents_on_close);
}

}  // namespace agentcore
