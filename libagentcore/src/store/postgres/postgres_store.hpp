// SPDX-License-Identifier: Apache-2.0
#pragma once

// Store over libpq (OpenPostgresStore). What runs where:
//
//  * AppendMessage goes through MessageWriter: group commit on its own writer connections;
//  * every other call runs as one pipeline (usually one statement, its own transaction) on a
//    connection from a bounded ConnectionPool of options.pool_size;
//  * the change feed: PgNotifier's connection and thread send a NOTIFY after the store's commits
//    that wrote change_log rows (every pipeline holding a statement for which WritesChangeLog()
//    holds, and every AppendMessage); once subscribed to, PgListener's connection and thread
//    read the log and publish it through ChangeFeed.
//
// So one store holds up to pool_size + kWriterConnections + 2 connections.
//
// Retries: a read whose connection broke is retried once on a fresh connection (reads are
// idempotent). A write is retried only when nothing of it was sent; once sent, a lost connection
// is kUnknownOutcome (pg_connection.hpp). Multi-row writes are single statements (CTEs) so each
// method is one transaction without BEGIN/COMMIT round trips.
//
// The method bodies are split by aggregate: postgres_store.cpp (open, schema, spaces,
// channels, roster), postgres_messages.cpp (messages, pending deliveries),
// postgres_runs.cpp (runs, sessions, teams), postgres_records.cpp (API keys, idempotency,
// artifacts), postgres_users.cpp (users, cost records), postgres_projects.cpp (projects, model
// prices, webhook outbox). Thread-safe.

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <type_traits>
#include <string>
#include <vector>

#include <agentcore/store/store.hpp>
#include <agentcore/ulid.hpp>

#include "store/change_feed.hpp"
#include "store/postgres/connection_pool.hpp"
#include "store/postgres/message_writer.hpp"
#include "store/postgres/pg_channel_versions.hpp"
#include "store/postgres/pg_listener.hpp"
#include "store/postgres/pg_notifier.hpp"
#include "store/postgres/pg_rows.hpp"
#include "store/postgres/pg_statements.hpp"

namespace agentcore::internal {

/// Writer connections for group commit (message_writer.hpp explains why one).
inline constexpr int kWriterConnections = 1;
/// Most messages one group commit holds.
inline constexpr std::size_t kMaxAppendBatch = 1024;

class PostgresStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const PostgresStoreOptions& options);
  ~PostgresStore() override;

  std::string_view Backend() const override { return "postgres"; }
  Result<int> SchemaVersion() override;
  Status MigrateTo(int version) override;

  Result<User> CreateUser(const User& user) override;
  Result<User> GetUser(std::string_view id) override;
  Result<User> FindUserByExternalId(std::string_view external_id) override;
  Result<User> FindUserByEmail(std::string_view email) override;
  Result<User> CreateUserWithInvite(const User& user, std::string_view code_hash,
                                    UnixMillis now) override;
  Result<InviteCode> CreateInviteCode(const InviteCode& code) override;
  Result<InviteCode> GetInviteCode(std::string_view id) override;
  Result<std::vector<InviteCode>> ListInviteCodes(std::size_t limit) override;
  Status RevokeInviteCode(std::string_view id) override;

  Result<Space> EnsureSpace(const Space& space) override;
  Result<Space> GetSpace(std::string_view id) override;
  Result<std::vector<Space>> ListSpaces(std::size_t limit) override;
  Result<Channel> CreateChannel(const NewChannel& in) override;
  Result<Channel> GetChannel(std::string_view id) override;
  Result<Channel> FindChannelByName(std::string_view space_id, std::string_view name) override;
  Result<std::vector<Channel>> ListChannels(std::string_view space_id,
                                            bool include_archived) override;
  Result<Channel> UpdateChannel(std::string_view id, const ChannelPatch& patch) override;

  Result<RosterEntry> AddRosterEntry(const NewRosterEntry& in) override;
  Result<RosterEntry> GetRosterEntry(std::string_view channel_id,
                                     std::string_view callsign) override;
  Result<std::vector<RosterEntry>> ListRoster(std::string_view channel_id) override;
  Result<RosterEntry> UpdateRosterEntry(std::string_view channel_id, std::string_view callsign,
                                        const RosterPatch& patch) override;
  Status RemoveRosterEntry(std::string_view channel_id, std::string_view callsign) override;

  Status UpsertCost(const CostRecord& cost) override;
  Result<std::vector<CostRecord>> ListCosts(std::string_view channel_id) override;

  Result<Message> AppendMessage(const NewMessage& in) override;
  Result<Message> GetMessage(std::string_view id) override;
  Result<Message> UpdateMessage(std::string_view id, const MessagePatch& patch) override;
  Status DeleteMessage(std::string_view id) override;
  Result<MessagePage> ListMessages(std::string_view channel_id, const PageRequest& page) override;

  Status EnqueuePending(const PendingDelivery& delivery) override;
  Result<std::vector<PendingDelivery>> TakePending(std::string_view channel_id,
                                                   std::string_view callsign,
                                                   std::size_t limit) override;
  Status AckPending(std::string_view channel_id, std::string_view callsign,
                    const std::vector<std::string>& message_ids) override;

  Result<Run> CreateRun(const NewRun& in) override;
  Result<Run> GetRun(std::string_view id) override;
  Result<Run> TransitionRun(std::string_view id, RunState from, RunState to,
                            const RunUpdate& update) override;
  Result<std::vector<Run>> ListRuns(const RunFilter& filter) override;
  Result<std::optional<Run>> ClaimRun(const RunClaim& claim) override;
  Status RenewRunLease(std::string_view run_id, std::string_view worker_id,
                       UnixMillis lease_until) override;
  Result<RunEventRecord> AppendRunEvent(std::string_view run_id, std::string_view type,
                                  const Json& data) override;
  Result<std::vector<RunEventRecord>> ListRunEvents(std::string_view run_id, std::uint64_t after_seq,
                                              std::size_t limit) override;

  Result<Project> CreateProject(const Project& in) override;
  Result<Project> GetProject(std::string_view space_id, std::string_view id) override;
  Result<std::vector<Project>> ListProjects(const ProjectFilter& filter) override;
  Status PutModelPrice(const ModelPrice& price) override;
  Result<ModelPrice> GetModelPrice(std::string_view provider, std::string_view model) override;
  Result<std::vector<ModelPrice>> ListModelPrices() override;
  Result<WebhookDelivery> EnqueueWebhook(const WebhookDelivery& delivery) override;
  Result<std::vector<WebhookDelivery>> ListDueWebhooks(UnixMillis now,
                                                       std::size_t limit) override;
  Status UpdateWebhook(std::string_view id, const WebhookUpdate& update) override;

  Result<Session> PutSession(const Session& session) override;
  Result<Session> GetSession(std::string_view id) override;
  Result<std::vector<Session>> ListSessions(std::string_view owner_id) override;
  Status DeleteSession(std::string_view id) override;
  Result<std::vector<Session>> FindSessions(const SessionFilter& filter) override;
  Result<std::size_t> CountSessions(const SessionFilter& filter) override;
  Result<SessionUsage> SumSessionUsage(std::string_view api_key_id, UnixMillis now) override;

  Result<Team> CreateTeam(const Team& team) override;
  Result<Team> GetTeam(std::string_view id) override;
  Result<std::vector<Team>> ListTeams(std::string_view space_id) override;
  Result<Team> UpdateTeamSpec(std::string_view id, const Json& spec) override;
  Status DeleteTeam(std::string_view id) override;

  Result<ApiKey> CreateApiKey(const ApiKey& key) override;
  Result<ApiKey> FindApiKeyByHash(std::string_view key_hash) override;
  Result<std::vector<ApiKey>> ListApiKeys(std::string_view space_id) override;
  Status RevokeApiKey(std::string_view id) override;
  Status TouchApiKey(std::string_view id, UnixMillis used_at) override;

  Result<IdempotencyRecord> PutIdempotency(const IdempotencyRecord& record) override;
  Result<IdempotencyRecord> GetIdempotency(std::string_view scope, std::string_view key) override;
  Result<std::uint64_t> PurgeExpiredIdempotency(UnixMillis now) override;

  Result<Artifact> PutArtifact(const Artifact& meta, std::string_view blob) override;
  Result<Artifact> GetArtifact(std::string_view channel_id, std::string_view slug) override;
  Result<std::string> ReadArtifactBlob(std::string_view channel_id,
                                       std::string_view slug) override;
  Result<std::vector<Artifact>> ListArtifacts(std::string_view channel_id) override;
  Status DeleteArtifact(std::string_view channel_id, std::string_view slug) override;

  Status AppendClusterEvents(std::span<const ClusterEvent> events) override;
  Result<Lease> AcquireLease(std::string_view key, std::string_view owner, UnixMillis now,
                             UnixMillis until) override;
  Result<std::vector<std::string>> RenewLeases(std::string_view owner, UnixMillis until) override;
  Status ReleaseLeases(std::string_view owner, std::span<const std::string> keys) override;
  Result<std::vector<Lease>> ListLeases(std::string_view prefix,
                                        std::optional<UnixMillis> expired_at,
                                        std::size_t limit) override;
  Result<std::uint64_t> PurgeChangeLog(UnixMillis before) override;

  Result<std::unique_ptr<StoreSubscription>> Subscribe(StoreListener* listener) override;

  /// Exact for this store's own writes, other processes' within the feed's delay, everything
  /// within PgChannelVersions::kDefaultResync (pg_channel_versions.hpp). The first call
  /// subscribes the counters to the change feed (nothing can be cached before it); nullopt
  /// ("do not cache") while that fails.
  std::optional<ChannelVersions> CurrentChannelVersions(std::string_view channel_id) override;

 private:
  enum class Access { kRead, kWrite };

  explicit PostgresStore(const PostgresStoreOptions& options);

  /// Runs `calls` as one pipeline on a pooled connection (see the retry rules above). OK means
  /// every reply arrived; each reply still carries its own SQL error, if any.
  Status Pipeline(Access access, std::span<const PgCall> calls, std::vector<PgReply>* replies);
  /// One statement; its reply, which may hold a SQL error. Transport failures as Status.
  Result<PgReply> Exec(Access access, Stmt stmt, const PgParams& params);
  /// Pokes the notifier when one of `calls` writes change_log rows.
  void WakeListenersAfter(std::span<const PgCall> calls);
  /// One statement that must succeed: its result, or its error as a Status.
  Result<PgResultPtr> Query(Access access, Stmt stmt, const PgParams& params);
  /// After a write of `channel_id` returned: raises its counters (`parts`) when it may have
  /// been applied (done, or its outcome lost with the connection), before the caller hears.
  void ChannelWritten(const Status& outcome, std::string_view channel_id, unsigned parts);
  /// Rows of a query decoded by `decode` (returning T or Result<T>).
  template <typename T, typename Decode>
  Result<std::vector<T>> QueryAll(Stmt stmt, const PgParams& params, Decode decode);
  /// Runs the existence query `check` and the listing `list` in one pipeline: the listing's
  /// rows, or a null result when it is empty because the owner (`check`) does not exist.
  Result<PgResultPtr> ListIfExists(Stmt check, const PgParams& check_params, Stmt list,
                                   const PgParams& list_params);

  UnixMillis Now() const { return clock_->NowMillis(); }

  // Constant after construction.
  const PostgresStoreOptions options_;
  Clock* const clock_;
  UlidGenerator ids_;
  ConnectionPool pool_;

  std::unique_ptr<PgNotifier> notifier_;  // wakes every listener after log-writing commits
  PgChannelVersions versions_;  // before feed_: subscribed to it (versions_sub_)
  ChangeFeed feed_;  // before listener_: the listener publishes into it until destroyed
  std::mutex listener_mu_;
  std::unique_ptr<PgListener> listener_;  // guarded by listener_mu_; started by Subscribe
  std::atomic<bool> versions_live_{false};  // versions_sub_ is set
  std::mutex versions_mu_;
  std::unique_ptr<StoreSubscription> versions_sub_;  // guarded by versions_mu_
  std::unique_ptr<MessageWriter> writer_;
};

template <typename T, typename Decode>
Result<std::vector<T>> PostgresStore::QueryAll(Stmt stmt, const PgParams& params, Decode decode) {
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, stmt, params));
  return DecodeAll<T>(r.get(), decode);
}

}  // namespace agentcore::internal
