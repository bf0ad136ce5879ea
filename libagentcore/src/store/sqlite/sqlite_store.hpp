// SPDX-License-Identifier: Apache-2.0
#pragma once

// The SQLite Store (store.hpp), the embedded default. Layout:
//
//  * one writer connection driven by Writer (writer.hpp): every write call is queued and
//    committed with whatever else is queued (group commit), each in its own savepoint;
//  * `readers` read-only connections in a ReaderPool; in WAL mode a read sees the last commit
//    and neither blocks nor is blocked by the writer;
//  * ":memory:" has no WAL and every connection to it is a separate database, so there the
//    pool holds the only connection and the writer leases it for each batch (reads wait for
//    the batch in progress, and never see it half done);
//  * artifact blobs are files in blob_dir (blob_files.hpp), metadata rows in the database;
//  * WAL checkpoints run on their own thread and connection (checkpointer.hpp), not in the
//    writer's commits;
//  * the change feed (change_feed.hpp) is published by the writer after each commit.
//
// Validation and encoding (record_checks.hpp, JSON serialization) run on the calling thread,
// so the writer thread only binds values and steps statements. Thread-safe.

#include <agentcore/store/store.hpp>
#include <agentcore/ulid.hpp>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "store/change_feed.hpp"
#include "store/channel_versions.hpp"
#include "store/sqlite/checkpointer.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/reader_pool.hpp"
#include "store/sqlite/writer.hpp"

namespace agentcore::internal::sqlite {

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteStoreOptions& options);
  ~SqliteStore() override;

  std::string_view Backend() const override { return "sqlite"; }
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
  Result<CompletedMessage> CompleteMessage(const NewMessage& in) override;
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
  Result<std::vector<RunEventRecord>> AppendRunEvents(
      std::string_view run_id, std::span<const std::pair<std::string, Json>> events) override;
  Result<RunEventRecord> AppendRunEvent(std::string_view run_id, std::string_view type,
                                        const Json& data) override;
  Result<std::vector<RunEventRecord>> ListRunEvents(std::string_view run_id,
                                                    std::uint64_t after_seq,
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
  Result<std::string> ReadArtifactBlob(std::string_view channel_id, std::string_view slug) override;
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

  Result<std::unique_ptr<StoreSubscription>> Subscribe(StoreListener* listener) override;
  // Every write goes through writer_, which raises the counters after each commit.
  std::optional<ChannelVersions> CurrentChannelVersions(std::string_view channel_id) override {
    return versions_.Get(channel_id);
  }

  // Queued on the writer without waiting; `done` runs on the writer thread after the commit.
  bool HasNativeAsyncWrites() const override { return true; }
  void AppendMessageAsync(NewMessage in, MessageCallback done) override;
  void UpdateMessageAsync(std::string id, MessagePatch patch, MessageCallback done) override;
  void CompleteMessageAsync(NewMessage in, CompletionCallback done) override;
  void UpsertCostAsync(CostRecord cost, StatusCallback done) override;

  std::optional<StoreWriterStats> GetWriterStats() const override;

  // Transactions and writes committed so far (writes / commits = mean batch size).
  std::uint64_t CommitCountForTesting() const { return writer_->commits(); }
  // Null for ":memory:".
  const Checkpointer* CheckpointerForTesting() const { return checkpointer_.get(); }
  const SqliteStoreOptions& OptionsForTesting() const { return options_; }
  std::uint64_t WriteCountForTesting() const { return writer_->writes(); }
  Writer& WriterForTesting() { return *writer_; }
  // Waits until the change feed has delivered everything published so far.
  void WaitForListenersForTesting() { feed_.WaitIdleForTesting(); }

 private:
  SqliteStore(const SqliteStoreOptions& options, Clock* clock);

  UnixMillis Now() const { return clock_->NowMillis(); }
  // Runs `fn` on a leased reader connection.
  template <typename F>
  auto Read(F&& fn) {
    ReaderPool::Lease lease = readers_->Acquire();
    return fn(*lease);
  }
  Status Write(Writer::WriteFn fn) { return writer_->Write(fn); }

  // The writes with an async form, in three steps shared by both forms: Prepare (validation
  // and encoding, on the caller's thread), Run (on the writer thread, in the batch), Finish
  // (the result, from the state and the write's status). Defined in the .cpp files.
  struct AppendState;
  struct UpdateState;
  struct CostState;
  struct CompleteState;
  Result<AppendState> PrepareAppend(NewMessage in);
  static Status RunAppend(AppendState& st, WriteContext& ctx);
  Result<Message> FinishAppend(AppendState& st, Status written);
  Result<UpdateState> PrepareUpdate(std::string id, const MessagePatch& patch);
  static Status RunMessageUpdate(UpdateState& st, WriteContext& ctx);
  Result<CompleteState> PrepareComplete(NewMessage in);
  static Status RunComplete(CompleteState& st, WriteContext& ctx);
  Result<CostState> PrepareCost(CostRecord cost);
  static Status RunCost(CostState& st, WriteContext& ctx);
  // The blob directory, created on first use.
  Result<std::string> BlobDir();
  // Channel id -> space id of channels appended to before. A channel never changes space and
  // is never deleted (only a down-migration drops it, which clears the cache), so AppendMessage
  // can insert with a plain INSERT (the foreign key still proves the channel exists) instead
  // of reading the channel row in every write.
  std::optional<std::string> CachedChannelSpace(std::string_view channel_id);
  void CacheChannelSpace(std::string_view channel_id, std::string_view space_id);
  static constexpr std::size_t kMaxCachedChannels = 65536;

  // Constant after construction.
  const SqliteStoreOptions options_;
  Clock* const clock_;
  UlidGenerator ids_;
  ChangeFeed feed_;
  ChannelVersionTable versions_;
  std::unique_ptr<ReaderPool> readers_;
  std::unique_ptr<Checkpointer> checkpointer_;  // null for ":memory:" (no WAL)
  std::unique_ptr<Writer> writer_;

  // Guarded by channel_spaces_mu_.
  std::mutex channel_spaces_mu_;
  std::map<std::string, std::string, std::less<>> channel_spaces_;

  // Guarded by blob_mu_.
  std::mutex blob_mu_;
  std::string blob_dir_;        // empty until created
  bool blob_dir_temp_ = false;  // a private directory for ":memory:", removed on close
};

}  // namespace agentcore::internal::sqlite
