// SPDX-License-Identifier: Apache-2.0
#pragma once

/// `Store` persists everything the library keeps (records.hpp) behind one abstract interface
/// with two real implementations that pass one conformance suite:
///
/// * SQLite, the embedded default: one database file (or `:memory:`), WAL mode, a single
///   writer thread that commits concurrent callers' writes together (group commit), readers
///   that never block it;
/// * PostgreSQL, for deployments that outgrow one machine: several stateless servers share one
///   database and see each other's writes through the change feed (LISTEN/NOTIFY).
///
/// Durability: a write call returns only after the transaction holding it committed, so no
/// acknowledged write is lost. A write whose commit outcome cannot be known (the connection
/// dropped during COMMIT) returns kUnknownOutcome and is never retried behind the caller's
/// back; callers retry with the same id, and ids make retries idempotent (kAlreadyExists).
///
/// Every method is one transaction, is thread-safe, and may block on disk or network: never
/// call it on an I/O thread. The few writes an I/O thread needs on its hot paths also come in
/// an asynchronous form (`...Async`, see "Asynchronous writes" below). Errors are values:
/// kNotFound, kAlreadyExists, kConflict (refused compare-and-set), kInvalidArgument (bad
/// input: invalid UTF-8, oversized content, unknown reference), kUnavailable (the database
/// cannot be reached), kUnknownOutcome, kInternal. Bad input never changes stored data. Every
/// call that names a record by a malformed key (empty, over kMaxKeyBytes, not UTF-8) returns
/// kInvalidArgument; a list call whose parent (space, channel, run) does not exist returns
/// kNotFound, except ListSessions, ListTeams, ListApiKeys and ListProjects, whose owner or
/// space is only a label. `limit` arguments above kMaxPageSize are clamped to it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>

namespace agentcore {

/// What Store::CompleteMessage did.
enum class MessageCompletion : std::uint8_t {
  kInserted,         // a new, complete message
  kCompleted,        // an incomplete message of the channel, now complete
  kAlreadyComplete,  // nothing: the message was complete already
};

/// Store::CompleteMessage's result: what it did, and the message's seq (Message::seq: new
/// for kInserted, the stored one otherwise; a completed message keeps its place).
struct CompletedMessage {
  MessageCompletion outcome = MessageCompletion::kInserted;
  std::uint64_t seq = 0;
};

/// Receives the change feed. Called on a store-owned thread with no store lock held; must
/// return quickly and must not call back into the store synchronously.

class AGENTCORE_EXPORT StoreListener {
 public:
  virtual ~StoreListener();
  virtual void OnChange(const StoreChange& change) = 0;
};

/// Keeps a listener subscribed; destroying it unsubscribes (and waits for a running callback).
class AGENTCORE_EXPORT StoreSubscription {
 public:
  virtual ~StoreSubscription();
};

/// Two change counters of one channel, for callers that cache what they read from the store
/// (Store::CurrentChannelVersions). Compare them for equality only; their values mean nothing
/// else. Immutable value.
struct ChannelVersions {
  /// Raised by every committed write that changes the channel's messages: append, update,
  /// delete. Appends also raise the channel's `last_active_at`, which this counter therefore
  /// covers too.
  std::uint64_t messages = 0;
  /// Raised by every committed write to the channel row (create, update, archive; not the
  /// `last_active_at` that appends raise) or to its roster (add, update, remove an entry).
  std::uint64_t channel = 0;

  friend bool operator==(const ChannelVersions&, const ChannelVersions&) = default;
};

/// What a store's writer has done since the store opened (Store::GetWriterStats), for
/// monitoring: writes / commits is the mean group-commit batch.
struct StoreWriterStats {
  std::uint64_t commits = 0;  ///< transactions committed (one group commit counts once)
  std::uint64_t writes = 0;   ///< write calls those transactions held
  std::uint64_t checkpoints = 0;         ///< WAL checkpoint passes run in the background
  std::uint64_t writer_checkpoints = 0;  ///< catch-ups the writer ran itself to rewind the WAL
};

class AGENTCORE_EXPORT Store {
 public:
  virtual ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// "sqlite" or "postgres".
  virtual std::string_view Backend() const = 0;
  /// The database file when the store is a file that only one hub may serve (SQLite, not
  /// ":memory:"), as it was named; empty otherwise. OpenHub locks "<file>.hub.lock" beside it
  /// (docs/cluster.md "One server on SQLite").
  virtual std::string DatabaseFile() const { return {}; }
  /// The schema version the database is at (see migrations in docs/storage.md).
  virtual Result<int> SchemaVersion() = 0;
  /// Migrates up or down to `version` (0 = empty), each step in its own transaction, running
  /// each migration's reverse on the way down. For operators and tests; opening a store
  /// already migrates it to the newest version. kInvalidArgument: unknown version.
  virtual Status MigrateTo(int version) = 0;

  // --- Users
  /// Stores a new user; an empty id gets a new ULID, created_at and updated_at the store's
  /// clock. kAlreadyExists: the id is taken, or the external_id (when not empty) is.
  virtual Result<User> CreateUser(const User& user) = 0;
  virtual Result<User> GetUser(std::string_view id) = 0;  // kNotFound
  /// The user with that (non-empty) external_id. kNotFound.
  virtual Result<User> FindUserByExternalId(std::string_view external_id) = 0;
  /// The user with that (non-empty) email, compared exactly (AccountService lower-cases
  /// emails before they reach the store). A non-empty email is unique: CreateUser and
  /// CreateUserWithInvite refuse a taken one with kAlreadyExists. kNotFound.
  virtual Result<User> FindUserByEmail(std::string_view email) = 0;
  /// Creates `user` as CreateUser does and uses the invite code whose hash is `code_hash`, in
  /// one transaction: both happen or neither. The code must exist, be unused, not revoked and
  /// not expired at `now` (expires_at 0, or after `now`: the caller's clock decides, as the
  /// expiry was set on it); it is then marked used_at = the store's clock (the user's
  /// created_at), used_by = the new user's id. Of concurrent calls with one code exactly one
  /// succeeds. Errors, checked in this order: kInvalidArgument (bad input, as CreateUser; an
  /// empty or malformed code_hash); kNotFound "invite code not found"; kConflict "invite code
  /// already used", "invite code revoked", "invite code expired"; then CreateUser's
  /// kAlreadyExists (id, external id or email taken; the code stays unused).
  virtual Result<User> CreateUserWithInvite(const User& user, std::string_view code_hash,
                                            UnixMillis now) = 0;

  // --- Invite codes
  /// Stores a new, unused invite code (used_at, used_by and revoked are ignored); an empty id
  /// gets a new ULID, created_at is the store's clock. kAlreadyExists: the id or the hash is
  /// taken; kInvalidArgument: an empty or malformed code_hash, a malformed id or prefix, a
  /// negative expires_at.
  virtual Result<InviteCode> CreateInviteCode(const InviteCode& code) = 0;
  virtual Result<InviteCode> GetInviteCode(std::string_view id) = 0;  // kNotFound
  /// Every invite code, oldest first (created_at, then id), at most `limit` (0: none); used,
  /// revoked and expired ones included.
  virtual Result<std::vector<InviteCode>> ListInviteCodes(std::size_t limit) = 0;
  /// Marks the code revoked (a used one too: it stays used). Idempotent. kNotFound.
  virtual Status RevokeInviteCode(std::string_view id) = 0;

  // --- Spaces and channels
  /// Creates the space (with its name, owner_callsign and owner_id) or returns the existing
  /// one with that id, unchanged (idempotent).
  virtual Result<Space> EnsureSpace(const Space& space) = 0;
  virtual Result<Space> GetSpace(std::string_view id) = 0;  // kNotFound
  /// Every space, oldest first (created_at, then id), at most `limit` (0: none).
  virtual Result<std::vector<Space>> ListSpaces(std::size_t limit) = 0;
  /// kAlreadyExists: the id, or the name within the space, is taken; kNotFound: no space.
  virtual Result<Channel> CreateChannel(const NewChannel& in) = 0;
  virtual Result<Channel> GetChannel(std::string_view id) = 0;  // kNotFound
  virtual Result<Channel> FindChannelByName(std::string_view space_id,
                                            std::string_view name) = 0;  // kNotFound
  /// Channels of a space, newest first; archived ones only when asked. kNotFound: no space.
  virtual Result<std::vector<Channel>> ListChannels(std::string_view space_id,
                                                    bool include_archived) = 0;
  /// kNotFound; kAlreadyExists when renaming onto a taken name.
  virtual Result<Channel> UpdateChannel(std::string_view id, const ChannelPatch& patch) = 0;

  // --- Roster
  /// kAlreadyExists: the callsign is taken in the channel; kNotFound: no channel.
  virtual Result<RosterEntry> AddRosterEntry(const NewRosterEntry& in) = 0;
  virtual Result<RosterEntry> GetRosterEntry(std::string_view channel_id,
                                             std::string_view callsign) = 0;  // kNotFound
  /// Every entry of the channel in creation order, whatever its status: archived entries are
  /// included; callers filter. kNotFound: no channel.
  virtual Result<std::vector<RosterEntry>> ListRoster(std::string_view channel_id) = 0;
  virtual Result<RosterEntry> UpdateRosterEntry(std::string_view channel_id,
                                                std::string_view callsign,
                                                const RosterPatch& patch) = 0;  // kNotFound
  /// Removes the entry and its pending deliveries. kNotFound.
  virtual Status RemoveRosterEntry(std::string_view channel_id, std::string_view callsign) = 0;

  // --- Messages
  /// Appends a message. kNotFound: no channel; kAlreadyExists: the id is taken (a retried
  /// write); kInvalidArgument: content over the size limit or not valid UTF-8, or a space_id
  /// that is not the channel's (empty: the channel's).
  virtual Result<Message> AppendMessage(const NewMessage& in) = 0;
  virtual Result<Message> GetMessage(std::string_view id) = 0;  // kNotFound
  /// Updates a message in place (streaming content, completion). kNotFound.
  virtual Result<Message> UpdateMessage(std::string_view id, const MessagePatch& patch) = 0;
  /// kNotFound.
  virtual Status DeleteMessage(std::string_view id) = 0;
  /// Stores `in` as a message's final state, as a Tymbal set frame does (spec cast §4.8.1):
  /// inserts it when its id is new (kInserted); when a message with that id is in the same
  /// channel and space and still incomplete (a streamed message), replaces its content, type
  /// and metadata and marks it complete (kCompleted; sender, timestamp and addressed agents
  /// stay); when that message is already complete, changes nothing (kAlreadyComplete: a
  /// retried frame). `in.is_complete` is ignored, `in.id` must not be empty. Errors as
  /// AppendMessage, plus kAlreadyExists when the id belongs to another channel or space.
  /// SQLite: one write, one commit. The default composes AppendMessage, GetMessage and
  /// UpdateMessage (two commits, not atomic: two completions racing may both report
  /// kCompleted, the last one's content kept).
  virtual Result<CompletedMessage> CompleteMessage(const NewMessage& in);
  /// A page of a channel's messages in seq order (PageRequest), through an index (no OFFSET
  /// scans).
  /// kNotFound: no channel.
  virtual Result<MessagePage> ListMessages(std::string_view channel_id,
                                           const PageRequest& page) = 0;

  // --- Pending deliveries (at least once)
  /// Queues a message for an agent; queuing the same message twice is a no-op. kNotFound: no
  /// such roster entry, or no such message in that channel.
  virtual Status EnqueuePending(const PendingDelivery& delivery) = 0;
  /// The agent's queued deliveries, oldest message first, at most `limit` (0: none); each
  /// returned one has its attempt count raised. They stay queued until acknowledged.
  /// kNotFound: no such roster entry.
  virtual Result<std::vector<PendingDelivery>> TakePending(std::string_view channel_id,
                                                           std::string_view callsign,
                                                           std::size_t limit) = 0;
  /// Removes delivered messages from the agent's queue (unknown ids are ignored).
  virtual Status AckPending(std::string_view channel_id, std::string_view callsign,
                            const std::vector<std::string>& message_ids) = 0;

  // --- Costs (cumulative per agent and channel)
  /// Inserts or replaces the record of (channel_id, callsign) with these totals; updated_at is
  /// the store's clock. kNotFound: no channel; kInvalidArgument: a space_id that is not the
  /// channel's (empty: the channel's), a negative or non-finite cost, negative counts.
  virtual Status UpsertCost(const CostRecord& cost) = 0;
  /// The channel's records, highest cost_usd first (ties by callsign). kNotFound: no channel.
  virtual Result<std::vector<CostRecord>> ListCosts(std::string_view channel_id) = 0;

  // --- Runs and their event logs
  /// Stores a new queued run (attempts 0, available_at from `in`). kAlreadyExists.
  virtual Result<Run> CreateRun(const NewRun& in) = 0;
  virtual Result<Run> GetRun(std::string_view id) = 0;  // kNotFound
  /// Moves a run from `from` to `to` if it is still in `from` (compare-and-set) and applies
  /// `update`. The store checks only the compare-and-set; which transitions are legal is
  /// state/run_state.hpp's business. kConflict when its state is no longer `from`; kNotFound;
  /// kInvalidArgument: a state outside the enumerators.
  virtual Result<Run> TransitionRun(std::string_view id, RunState from, RunState to,
                                    const RunUpdate& update) = 0;
  /// Newest first ((created_at, id) descending), at most filter.limit (0: none), after the
  /// cursor filter.before_id when set (kNotFound: it names no run).
  virtual Result<std::vector<Run>> ListRuns(const RunFilter& filter) = 0;
  /// The queue: takes the oldest ((created_at, id)) queued run with available_at <= claim.now
  /// whose project_id has no run in planning or building, and moves it to planning with
  /// attempts + 1, lease_expires_at = claim.lease_until and worker_id = claim.worker_id, in
  /// one transaction; returns it, or std::nullopt when no run is due. Concurrent claims (any
  /// number of threads or processes on one database) never hand out one run twice nor two
  /// runs of one project at once: PostgreSQL serializes claims with a transaction-scoped
  /// advisory lock and picks the row FOR UPDATE SKIP LOCKED, SQLite claims in its single
  /// writer. A queued run that is locked by another write at that moment is skipped, and so
  /// are the younger due runs of its project (runs of one project are claimed in order).
  /// kInvalidArgument: an empty or malformed worker_id.
  virtual Result<std::optional<Run>> ClaimRun(const RunClaim& claim) = 0;
  /// Sets the lease_expires_at of a run in planning or building held by `worker_id` to
  /// `lease_until` (and updated_at to the store's clock). kConflict when the run is in another state or held by another worker;
  /// kNotFound; kInvalidArgument: malformed ids.
  virtual Status RenewRunLease(std::string_view run_id, std::string_view worker_id,
                               UnixMillis lease_until) = 0;
  /// Appends an event with the next seq of the run and returns it. kNotFound: no run.
  virtual Result<RunEventRecord> AppendRunEvent(std::string_view run_id, std::string_view type,
                                                const Json& data) = 0;
  /// Appends `events` (type, data) in order with the run's next seqs and returns them. SQLite:
  /// one transaction (all or none); the default appends one at a time and stops at the first
  /// error, returning it (the events before it stay).
  virtual Result<std::vector<RunEventRecord>> AppendRunEvents(
      std::string_view run_id, std::span<const std::pair<std::string, Json>> events);
  /// Events with seq > after_seq, in order, at most `limit`. kNotFound: no run.
  virtual Result<std::vector<RunEventRecord>> ListRunEvents(std::string_view run_id,
                                                            std::uint64_t after_seq,
                                                            std::size_t limit) = 0;

  // --- Projects (Platform Agent)
  /// Stores a new project; created_at and updated_at are the store's clock. kAlreadyExists:
  /// (space_id, id) is taken. kInvalidArgument: an empty or malformed space_id or channel_id,
  /// an id that is empty, over kMaxProjectIdBytes or not all of [A-Za-z0-9._-], a malformed
  /// name, settings neither an object nor null (or over max_content_bytes).
  virtual Result<Project> CreateProject(const Project& in) = 0;
  /// kNotFound; kInvalidArgument: a malformed space id or project id (the rules above).
  virtual Result<Project> GetProject(std::string_view space_id, std::string_view id) = 0;
  /// The space's projects in ascending id order (bytewise), after filter.after_id, at most
  /// filter.limit. An unknown space has none. kInvalidArgument: an empty or malformed
  /// space_id, a malformed after_id.
  virtual Result<std::vector<Project>> ListProjects(const ProjectFilter& filter) = 0;

  // --- Model prices
  /// Inserts or replaces the price of (provider, model); updated_at is the store's clock.
  /// kInvalidArgument: an empty or malformed provider or model, a negative or non-finite
  /// price.
  virtual Status PutModelPrice(const ModelPrice& price) = 0;
  /// The active price of (provider, model). kNotFound: none, or only an inactive one.
  virtual Result<ModelPrice> GetModelPrice(std::string_view provider,
                                           std::string_view model) = 0;
  /// Every price, inactive ones included, by (provider, model).
  virtual Result<std::vector<ModelPrice>> ListModelPrices() = 0;

  // --- Webhook outbox
  /// Stores a delivery (created_at: the store's clock) and returns it; when its id is taken,
  /// returns the stored delivery unchanged (idempotent retries). kInvalidArgument: an empty
  /// or malformed id or run_id, an empty url, url or body not UTF-8 or over max_content_bytes.
  virtual Result<WebhookDelivery> EnqueueWebhook(const WebhookDelivery& delivery) = 0;
  /// Deliveries not delivered, not given up and with next_attempt_at <= now, oldest
  /// next_attempt_at first (then by id), at most `limit` (0: none).
  virtual Result<std::vector<WebhookDelivery>> ListDueWebhooks(UnixMillis now,
                                                               std::size_t limit) = 0;
  /// Replaces the delivery's attempt fields with `update`. kNotFound; kInvalidArgument: a
  /// malformed id, a last_error not UTF-8 or over max_content_bytes.
  virtual Status UpdateWebhook(std::string_view id, const WebhookUpdate& update) = 0;

  // --- Sessions
  /// Inserts or replaces the session by id; a replace keeps the first created_at.
  /// kInvalidArgument: a state outside the enumerators.
  virtual Result<Session> PutSession(const Session& session) = 0;
  virtual Result<Session> GetSession(std::string_view id) = 0;  // kNotFound
  /// The owner's sessions, oldest first.
  virtual Result<std::vector<Session>> ListSessions(std::string_view owner_id) = 0;
  virtual Status DeleteSession(std::string_view id) = 0;  // kNotFound
  /// Sessions matching `filter`, newest (highest id) first, at most filter.limit.
  /// kInvalidArgument: a malformed key in the filter.
  virtual Result<std::vector<Session>> FindSessions(const SessionFilter& filter) = 0;
  /// How many sessions match `filter` (before_id and limit ignored).
  virtual Result<std::size_t> CountSessions(const SessionFilter& filter) = 0;
  /// Usage of the sessions whose api_key_id is `api_key_id`, deleted ones included: a
  /// running session (state running, started_at set) counts up to `now`.
  virtual Result<SessionUsage> SumSessionUsage(std::string_view api_key_id, UnixMillis now) = 0;

  // --- Teams
  virtual Result<Team> CreateTeam(const Team& team) = 0;  // kAlreadyExists (id or name)
  virtual Result<Team> GetTeam(std::string_view id) = 0;  // kNotFound
  /// The space's teams, oldest first.
  virtual Result<std::vector<Team>> ListTeams(std::string_view space_id) = 0;
  virtual Result<Team> UpdateTeamSpec(std::string_view id, const Json& spec) = 0;  // kNotFound
  virtual Status DeleteTeam(std::string_view id) = 0;                              // kNotFound

  // --- API keys
  /// kAlreadyExists: the id or the hash is taken.
  virtual Result<ApiKey> CreateApiKey(const ApiKey& key) = 0;
  /// The live (not revoked) key with this hash. kNotFound.
  virtual Result<ApiKey> FindApiKeyByHash(std::string_view key_hash) = 0;
  /// The space's keys, oldest first, revoked ones included.
  virtual Result<std::vector<ApiKey>> ListApiKeys(std::string_view space_id) = 0;
  /// Idempotent. kNotFound.
  virtual Status RevokeApiKey(std::string_view id) = 0;
  /// Records a use; last_used_at never moves backwards. kNotFound.
  virtual Status TouchApiKey(std::string_view id, UnixMillis used_at) = 0;

  // --- Idempotency keys
  /// Stores the record unless (scope, key) already has a live one: then returns that one
  /// (the caller compares request hashes). A record is live while the store's clock reads at
  /// most its expires_at; expired records count as absent (and are replaced).
  virtual Result<IdempotencyRecord> PutIdempotency(const IdempotencyRecord& record) = 0;
  /// The live record for (scope, key). kNotFound.
  virtual Result<IdempotencyRecord> GetIdempotency(std::string_view scope,
                                                   std::string_view key) = 0;
  /// Deletes records that expired before `now`; returns how many.
  virtual Result<std::uint64_t> PurgeExpiredIdempotency(UnixMillis now) = 0;

  // --- Artifacts (metadata in the database, blob as a file or large object)
  /// Inserts or replaces by (channel, slug) and stores the blob; a replace keeps the id and
  /// created_at and raises the version by one. `size` is the blob's; meta.version is ignored.
  /// kNotFound: no channel.
  virtual Result<Artifact> PutArtifact(const Artifact& meta, std::string_view blob) = 0;
  virtual Result<Artifact> GetArtifact(std::string_view channel_id,
                                       std::string_view slug) = 0;  // kNotFound
  virtual Result<std::string> ReadArtifactBlob(std::string_view channel_id,
                                               std::string_view slug) = 0;  // kNotFound
  /// By slug. kNotFound: no channel.
  virtual Result<std::vector<Artifact>> ListArtifacts(std::string_view channel_id) = 0;
  /// Removes the metadata and the blob. kNotFound.
  virtual Status DeleteArtifact(std::string_view channel_id, std::string_view slug) = 0;

  // --- Asynchronous writes
  //
  // AppendMessage, UpdateMessage and UpsertCost with the result handed to a callback instead
  // of returned: same validation, same errors, same transaction. Threading contract:
  //
  // * `done` is called exactly once. With native async writes (HasNativeAsyncWrites()) the call
  //   returns without waiting for the database, and `done` runs either on the calling thread
  //   before the call returns (invalid input, a store that is closing: nothing was written) or
  //   on a store-owned thread (SQLite: the writer thread) right after the transaction holding
  //   the write committed, or failed: a success is never reported before it is durable, as
  //   for the blocking calls.
  // * `done` runs with no store lock held, but on SQLite's single writer thread: it must be
  //   short (hand the result to your own executor), must not throw, and must not call a
  //   blocking store write (that write would wait for the thread it runs on). Reads and
  //   further async writes are allowed.
  // * Order: async writes submitted one after another from one thread (each call returned
  //   before the next) commit in that order, and their callbacks run in that order.
  // * Closing the store (destroying it) with async writes pending commits them and runs their
  //   callbacks before the destructor returns; writes submitted while it closes complete with
  //   kUnavailable.
  // * The default implementation (PostgreSQL) runs the blocking call on the calling thread and
  //   then `done` there, before returning; HasNativeAsyncWrites() is false. A caller on an I/O
  //   thread then moves the blocking call to a pool itself.
  using MessageCallback = std::function<void(Result<Message>)>;
  using StatusCallback = std::function<void(Status)>;
  /// True when the ...Async calls return without waiting for the database.
  virtual bool HasNativeAsyncWrites() const { return false; }
  virtual void AppendMessageAsync(NewMessage in, MessageCallback done) {
    done(AppendMessage(in));
  }
  virtual void UpdateMessageAsync(std::string id, MessagePatch patch, MessageCallback done) {
    done(UpdateMessage(id, patch));
  }
  virtual void UpsertCostAsync(CostRecord cost, StatusCallback done) { done(UpsertCost(cost)); }
  using CompletionCallback = std::function<void(Result<CompletedMessage>)>;
  virtual void CompleteMessageAsync(NewMessage in, CompletionCallback done) {
    done(CompleteMessage(in));
  }

  // --- Exact caching
  /// The channel's change counters (ChannelVersions), kept in memory by the store, or nullopt
  /// when the store keeps none, which means "do not cache". PostgreSQL, where other processes
  /// write the same database, keeps them exact for this store's writes and raises them for
  /// other processes' writes when its change feed delivers them, and every channel at least
  /// once a second (docs/storage-postgres.md, "Channel versions and the caches").
  ///
  /// Protocol for a caller that caches data of a channel: read the versions first, then the
  /// data, and keep (versions, data); a cached entry may be served only while this call still
  /// returns the same versions. The counters are raised by the store after the transaction
  /// holding the write committed and before any caller of that transaction is acknowledged
  /// (a blocking write returns, an async write's callback runs). So a cached entry is never
  /// older than a write acknowledged before the call that validates it, and data read after
  /// the versions is never older than they are.
  ///
  /// Counters only grow while the store is open and are never reused: a store starts them at
  /// a random value when it opens, a channel it has not seen written reports that value, and
  /// a migration (MigrateTo) raises every channel's. Any channel id gets an answer, existing
  /// or not (creating the channel raises its `channel` counter). Thread-safe and cheap (one
  /// hash and one short lock of a shard): meant to be called per request, on I/O threads too.
  virtual std::optional<ChannelVersions> CurrentChannelVersions(std::string_view channel_id) {
    (void)channel_id;
    return std::nullopt;
  }

  // --- Monitoring
  /// The writer's counters, or nullopt when the store keeps none (PostgreSQL: the database
  /// has its own statistics). Thread-safe.
  virtual std::optional<StoreWriterStats> GetWriterStats() const { return std::nullopt; }

  // --- Clusters (docs/cluster.md)
  /// Appends `events` to the change feed of every process on the database, in order (one
  /// transaction on PostgreSQL; SQLite publishes them to its in-process feed). Listeners get
  /// them as StoreChange::Kind::kCluster, with `cluster` filled, this process's own events
  /// included (a hub skips its own origin). No events: nothing happens. kInvalidArgument (and
  /// nothing appended): a kind outside the enumerators, a payload over max_content_bytes or not
  /// UTF-8 without NUL (it is text; encode binary), an origin, channel id or key that is not a
  /// valid key (empty allowed for key).
  virtual Status AppendClusterEvents(std::span<const ClusterEvent> events) {
    (void)events;
    return Status(ErrorCode::kNotSupported, "cluster events are not supported by this store");
  }
  /// Takes the lease `key` for `owner` until `until` when it is free, expired at `now`
  /// (expires_at <= now) or already `owner`'s (then extends it), and returns it; otherwise
  /// changes nothing and returns the current holder's lease (compare `owner`). Concurrent
  /// calls on one key from any processes: exactly one wins. kInvalidArgument: malformed key or
  /// owner (records.hpp, Lease), until <= now.
  virtual Result<Lease> AcquireLease(std::string_view key, std::string_view owner,
                                     UnixMillis now, UnixMillis until) {
    (void)key, (void)owner, (void)now, (void)until;
    return Status(ErrorCode::kNotSupported, "leases are not supported by this store");
  }
  /// Extends to `until` every lease `owner` still holds (expired ones too, unless another
  /// owner took them) and returns their keys, in key order. kInvalidArgument: malformed owner.
  virtual Result<std::vector<std::string>> RenewLeases(std::string_view owner, UnixMillis until) {
    (void)owner, (void)until;
    return Status(ErrorCode::kNotSupported, "leases are not supported by this store");
  }
  /// Deletes the leases `keys` held by `owner` (others' and unknown keys are ignored); empty
  /// `keys`: every lease `owner` holds. kInvalidArgument (nothing released): malformed owner or
  /// key.
  virtual Status ReleaseLeases(std::string_view owner, std::span<const std::string> keys) {
    (void)owner, (void)keys;
    return Status(ErrorCode::kNotSupported, "leases are not supported by this store");
  }
  /// Leases whose key starts with `prefix`, by key, at most `limit` (0: none); when
  /// `expired_at` is set, only those with expires_at <= *expired_at. Keys compare bytewise.
  /// kInvalidArgument: a prefix over kMaxLeaseKeyBytes or not UTF-8 without NUL.
  virtual Result<std::vector<Lease>> ListLeases(std::string_view prefix,
                                                std::optional<UnixMillis> expired_at,
                                                std::size_t limit) {
    (void)prefix, (void)expired_at, (void)limit;
    return Status(ErrorCode::kNotSupported, "leases are not supported by this store");
  }

  /// Deletes the change log's rows stamped (by the database's clock) before `before` and
  /// returns how many: the retention of docs/cluster.md, run by the node holding the
  /// `janitor` lease. A store without a log (SQLite: its feed is in memory) returns 0.
  virtual Result<std::uint64_t> PurgeChangeLog(UnixMillis before) {
    (void)before;
    return std::uint64_t{0};
  }

  // --- Change feed
  /// Calls `listener` for every change committed from now on, by this process or (PostgreSQL)
  /// any process on the same database. `listener` is not owned and must outlive the returned
  /// subscription. kInvalidArgument: null.
  virtual Result<std::unique_ptr<StoreSubscription>> Subscribe(StoreListener* listener) = 0;

 protected:
  Store() = default;
};

struct SqliteStoreOptions {
  /// A file path, or ":memory:" for a private in-memory database.
  std::string path = "agentcore.db";
  /// PRAGMA synchronous: false = NORMAL (default: durable against a process crash; in WAL mode
  /// a power loss may drop the last commits), true = FULL (durable against power loss too).
  bool synchronous_full = false;
  /// Reader connections (each read runs on one; ":memory:" has a single connection for
  /// everything). Besides these the store opens a writer and a checkpointer connection and
  /// runs a writer thread, a checkpoint thread and, once subscribed to, a notifier thread
  /// (docs/storage.md).
  int readers = 4;
  /// Most writes committed in one transaction.
  int max_batch = 1024;
  /// WAL size, in 4 KiB pages, at which it is checkpointed (in the background) and rewound
  /// (docs/storage.md, "Checkpoints").
  int checkpoint_pages = 4000;
  /// Largest message content accepted, in bytes of JSON.
  std::size_t max_content_bytes = 16u << 20;
  /// Where artifact blobs go; empty: next to the database file ("<path>.blobs"), or for
  /// ":memory:" a private temporary directory removed when the store closes.
  std::string blob_dir;
  Clock* clock = nullptr;  // not owned; nullptr: SystemClock()
};

struct PostgresStoreOptions {
  /// libpq connection string or URL: "postgres://user@127.0.0.1:5432/db".
  std::string url;
  /// Connections in the pool.
  int pool_size = 8;
  /// Once subscribed to, how often the store reads the change log without a wake-up (a lost
  /// NOTIFY, a write by psql); wake-ups make it read at once (docs/storage-postgres.md). Must
  /// be positive.
  std::chrono::milliseconds poll_interval{250};
  std::size_t max_content_bytes = 16u << 20;
  Clock* clock = nullptr;  // not owned; nullptr: SystemClock()
};

/// Opens (creating if needed) a SQLite database and migrates it to the newest schema.
/// kInvalidArgument: bad options; kUnavailable: cannot open; kNotSupported: the database has a
/// newer schema than this library knows.
AGENTCORE_EXPORT Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options);

/// Connects to PostgreSQL and migrates the schema. kUnavailable: cannot connect;
/// kNotSupported: built without PostgreSQL, or a newer schema than this library knows.
AGENTCORE_EXPORT Result<std::unique_ptr<Store>> OpenPostgresStore(
    const PostgresStoreOptions& options);

/// Opens a store from a URL: "postgres://..." or "postgresql://..." for PostgreSQL;
/// "sqlite:///abs/path", "sqlite://rel/path", "sqlite::memory:" or a plain path for SQLite.
/// A sqlite:// URL may end in "?synchronous=full" (SqliteStoreOptions::synchronous_full: every
/// commit fsynced, durable against a power loss) or "?synchronous=normal" (the default).
AGENTCORE_EXPORT Result<std::unique_ptr<Store>> OpenStore(std::string_view url);

}  // namespace agentcore
