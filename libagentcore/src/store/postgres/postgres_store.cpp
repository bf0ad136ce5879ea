// SPDX-License-Identifier: Apache-2.0
// PostgresStore: opening, the request helpers, the schema, spaces, channels and the roster.
#include "store/postgres/postgres_store.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "store/postgres/postgres_migrations.hpp"
#include "store/record_checks.hpp"

namespace agentcore {

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options) {
  return internal::PostgresStore::Open(options);
}

namespace internal {
namespace {

bool Retryable(const PgReply& r) { return r.sqlstate == "40001" || r.sqlstate == "40P01"; }

Status SpaceNotFound(std::string_view id) {
  return NotFound(fmt::format("space \"{}\" not found", id));
}
Status ChannelNotFound(std::string_view id) {
  return NotFound(fmt::format("channel \"{}\" not found", id));
}
Status RosterNotFound(std::string_view channel_id, std::string_view callsign) {
  return NotFound(
      fmt::format("roster entry \"{}\" not found in channel \"{}\"", callsign, channel_id));
}

}  // namespace

PostgresStore::PostgresStore(const PostgresStoreOptions& options)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : SystemClock()),
      ids_(clock_),
      pool_(options.url, options.pool_size, PostgresStatements()) {}

PostgresStore::~PostgresStore() {
  // The writer first: its callers still wait on it. Then the listener, which publishes into
  // feed_ (destroyed last, as a member).
  writer_.reset();
  listener_.reset();
  {
    std::lock_guard lock(versions_mu_);
    versions_sub_.reset();
  }
  notifier_.reset();
}

Result<std::unique_ptr<Store>> PostgresStore::Open(const PostgresStoreOptions& options) {
  if (options.url.empty()) return InvalidArgument("postgresql store url is empty");
  if (options.pool_size < 1) {
    return InvalidArgument(
        fmt::format("postgresql pool size {} is not positive", options.pool_size));
  }
  if (options.poll_interval.count() <= 0) {
    return InvalidArgument(fmt::format("postgresql poll interval {} ms is not positive",
                                       options.poll_interval.count()));
  }
  std::unique_ptr<PostgresStore> store(new PostgresStore(options));
  {
    AGENTCORE_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, store->pool_.Acquire());
    AGENTCORE_RETURN_IF_ERROR(MigratePostgres(*conn, LatestPostgresSchemaVersion()));
  }
  store->notifier_ = std::make_unique<PgNotifier>(options.url);
  store->writer_ = std::make_unique<MessageWriter>(options.url, PostgresStatements(),
                                                   kWriterConnections, kMaxAppendBatch);
  return std::unique_ptr<Store>(std::move(store));
}

// --- Request helpers

Status PostgresStore::Pipeline(Access access, std::span<const PgCall> calls,
                          std::vector<PgReply>* replies) {
  for (int attempt = 0;; ++attempt) {
    AGENTCORE_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
    Status s = conn->Run(calls, replies);
    // Sent (committed, failed or unknown): a statement that logs changes may have committed, so
    // wake the listeners. A needless wake-up costs them one empty read.
    if (s.code() != ErrorCode::kUnavailable) WakeListenersAfter(calls);
    if (s.ok()) {
      // A deadlock or serialization failure rolled everything back: safe to send again.
      bool again = false;
      for (const PgReply& r : *replies) again = again || Retryable(r);
      if (!again || attempt >= 2) return s;
      continue;
    }
    // kUnavailable: nothing was sent, so anything may be sent again. A read may always be.
    if (attempt == 0 && (s.code() == ErrorCode::kUnavailable || access == Access::kRead)) {
      continue;
    }
    if (access == Access::kRead && s.code() == ErrorCode::kUnknownOutcome) {
      return Unavailable(s.message());  // a read has no outcome to be unsure about
    }
    return s;
  }
}

void PostgresStore::WakeListenersAfter(std::span<const PgCall> calls) {
  for (const PgCall& call : calls) {
    if (WritesChangeLog(static_cast<Stmt>(call.statement))) {
      notifier_->Poke();
      return;
    }
  }
}

Result<PgReply> PostgresStore::Exec(Access access, Stmt stmt, const PgParams& params) {
  const PgCall call{Index(stmt), &params};
  std::vector<PgReply> replies;
  AGENTCORE_RETURN_IF_ERROR(Pipeline(access, std::span(&call, 1), &replies));
  return std::move(replies[0]);
}

Result<PgResultPtr> PostgresStore::Query(Access access, Stmt stmt, const PgParams& params) {
  AGENTCORE_ASSIGN_OR_RETURN(PgReply reply, Exec(access, stmt, params));
  if (!reply.ok()) return reply.status;
  return std::move(reply.result);
}

Result<PgResultPtr> PostgresStore::ListIfExists(Stmt check, const PgParams& check_params,
                                                Stmt list, const PgParams& list_params) {
  const PgCall calls[] = {{Index(check), &check_params}, {Index(list), &list_params}};
  std::vector<PgReply> replies;
  AGENTCORE_RETURN_IF_ERROR(Pipeline(Access::kRead, calls, &replies));
  for (const PgReply& r : replies) {
    if (!r.ok()) return r.status;
  }
  // Both ran in one implicit transaction, but each statement has its own snapshot under READ
  // COMMITTED; an owner created in between only makes an empty list look owned, never the
  // reverse (nothing deletes channels, spaces or runs).
  if (PQntuples(replies[0].result.get()) == 0 && PQntuples(replies[1].result.get()) == 0) {
    return PgResultPtr();
  }
  return std::move(replies[1].result);
}

// --- Schema

Result<int> PostgresStore::SchemaVersion() {
  AGENTCORE_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  return ReadPostgresSchemaVersion(*conn);
}

Status PostgresStore::MigrateTo(int version) {
  AGENTCORE_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_.Acquire());
  Status out = MigratePostgres(*conn, version);
  versions_.RaiseAll();  // rows may have changed under every cache
  return out;
}

// --- Spaces and channels

Result<Space> PostgresStore::EnsureSpace(const Space& space) {
  AGENTCORE_RETURN_IF_ERROR(CheckSpace(space));
  PgParams p;
  p.Text(space.id).Text(space.name).Text(space.owner_callsign).Text(space.owner_id).Int(Now());
  // Twice at most: when a concurrent creator commits between the insert's and the select's
  // snapshots, the first run sees neither row.
  for (int attempt = 0; attempt < 2; ++attempt) {
    AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kEnsureSpace, p));
    if (PQntuples(r.get()) == 1) return DecodeSpace(PgRow(r.get(), 0));
  }
  return Internal(fmt::format("space \"{}\" neither inserted nor found", space.id));
}

Result<Space> PostgresStore::GetSpace(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("space id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetSpace, p));
  if (PQntuples(r.get()) == 0) return SpaceNotFound(id);
  return DecodeSpace(PgRow(r.get(), 0));
}

Result<std::vector<Space>> PostgresStore::ListSpaces(std::size_t limit) {
  PgParams p;
  p.Int(static_cast<std::int64_t>(std::min(limit, kMaxPageSize)));
  return QueryAll<Space>(Stmt::kListSpaces, p, DecodeSpace);
}

Result<Channel> PostgresStore::CreateChannel(const NewChannel& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckNewChannel(in, options_.max_content_bytes));
  const std::string id = in.id.empty() ? ids_.Next() : in.id;
  Result<Channel> out = [&]() -> Result<Channel> {
    PgParams p;
    p.Text(id).Text(in.space_id).Text(in.name).Text(in.tagline).Text(in.mission).Int(Now());
    AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kInsertChannel, p));
    if (r.ok()) {
      // INSERT ... SELECT FROM spaces: no row when the space is missing.
      if (PQntuples(r.result.get()) == 0) return SpaceNotFound(in.space_id);
      return DecodeChannel(PgRow(r.result.get(), 0));
    }
    if (r.status.code() == ErrorCode::kAlreadyExists) {
      if (r.constraint == "channels_space_name") {
        return AlreadyExists(fmt::format("channel named \"{}\" already exists in space \"{}\"",
                                         in.name, in.space_id));
      }
      return AlreadyExists(fmt::format("channel \"{}\" already exists", id));
    }
    // A space deleted by hand between the SELECT and the insert's foreign key check.
    if (r.status.code() == ErrorCode::kNotFound) return SpaceNotFound(in.space_id);
    return r.status;
  }();
  ChannelWritten(out.status(), id, ChannelVersionTable::kChannel);
  return out;
}

Result<Channel> PostgresStore::GetChannel(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetChannel, p));
  if (PQntuples(r.get()) == 0) return ChannelNotFound(id);
  return DecodeChannel(PgRow(r.get(), 0));
}

Result<Channel> PostgresStore::FindChannelByName(std::string_view space_id,
                                                 std::string_view name) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel space id", space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel name", name));
  PgParams p;
  p.Text(space_id).Text(name);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kFindChannelByName, p));
  if (PQntuples(r.get()) == 0) {
    return NotFound(
        fmt::format("channel named \"{}\" not found in space \"{}\"", name, space_id));
  }
  return DecodeChannel(PgRow(r.get(), 0));
}

Result<std::vector<Channel>> PostgresStore::ListChannels(std::string_view space_id,
                                                         bool include_archived) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel space id", space_id));
  PgParams space;
  space.Text(space_id);
  PgParams p;
  p.Text(space_id).Bool(include_archived);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr rows,
                             ListIfExists(Stmt::kSpaceExists, space, Stmt::kListChannels, p));
  if (rows == nullptr) return SpaceNotFound(space_id);
  return DecodeAll<Channel>(rows.get(), DecodeChannel);
}

Result<Channel> PostgresStore::UpdateChannel(std::string_view id, const ChannelPatch& patch) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel id", id));
  AGENTCORE_RETURN_IF_ERROR(CheckChannelPatch(patch, options_.max_content_bytes));
  Result<Channel> out = [&]() -> Result<Channel> {
    PgParams p;
    p.Text(id).OptText(patch.name).OptText(patch.tagline).OptText(patch.mission);
    p.OptBool(patch.archived).Int(Now());
    AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kUpdateChannel, p));
    if (!r.ok()) {
      if (r.status.code() == ErrorCode::kAlreadyExists) {
        // Only a rename can collide; the space is the channel's own, which the error names.
        return AlreadyExists(fmt::format("channel named \"{}\" already exists in its space",
                                         patch.name.value_or("")));
      }
      return r.status;
    }
    if (PQntuples(r.result.get()) == 0) return ChannelNotFound(id);
    return DecodeChannel(PgRow(r.result.get(), 0));
  }();
  ChannelWritten(out.status(), id, ChannelVersionTable::kChannel);
  return out;
}

// --- Roster

Result<RosterEntry> PostgresStore::AddRosterEntry(const NewRosterEntry& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckNewRosterEntry(in, options_.max_content_bytes));
  AGENTCORE_ASSIGN_OR_RETURN(std::string props,
                             EncodeJson("roster props", in.props, options_.max_content_bytes));
  const std::string id = in.id.empty() ? ids_.Next() : in.id;
  Result<RosterEntry> out = [&]() -> Result<RosterEntry> {
    PgParams p;
    p.Text(id).Text(in.channel_id).Text(in.callsign).Text(in.agent_type);
    p.Text(RosterStatusName(in.status));  // static storage
    p.Int(Now()).JsonText(props).Text(in.runtime_id);
    AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kInsertRoster, p));
    if (r.ok()) {
      if (PQntuples(r.result.get()) == 0) return ChannelNotFound(in.channel_id);
      return DecodeRoster(PgRow(r.result.get(), 0));
    }
    if (r.status.code() == ErrorCode::kAlreadyExists) {
      if (r.constraint == "roster_channel_callsign") {
        return AlreadyExists(fmt::format("callsign \"{}\" is already on the roster of channel \"{}\"",
                                         in.callsign, in.channel_id));
      }
      return AlreadyExists(fmt::format("roster entry \"{}\" already exists", id));
    }
    if (r.status.code() == ErrorCode::kNotFound) return ChannelNotFound(in.channel_id);
    return r.status;
  }();
  ChannelWritten(out.status(), in.channel_id, ChannelVersionTable::kChannel);
  return out;
}

Result<RosterEntry> PostgresStore::GetRosterEntry(std::string_view channel_id,
                                                  std::string_view callsign) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster callsign", callsign));
  PgParams p;
  p.Text(channel_id).Text(callsign);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetRoster, p));
  if (PQntuples(r.get()) == 0) return RosterNotFound(channel_id, callsign);
  return DecodeRoster(PgRow(r.get(), 0));
}

Result<std::vector<RosterEntry>> PostgresStore::ListRoster(std::string_view channel_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster channel id", channel_id));
  PgParams p;
  p.Text(channel_id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr rows,
                             ListIfExists(Stmt::kChannelExists, p, Stmt::kListRoster, p));
  if (rows == nullptr) return ChannelNotFound(channel_id);
  return DecodeAll<RosterEntry>(rows.get(), DecodeRoster);
}

Result<RosterEntry> PostgresStore::UpdateRosterEntry(std::string_view channel_id,
                                                     std::string_view callsign,
                                                     const RosterPatch& patch) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster callsign", callsign));
  AGENTCORE_RETURN_IF_ERROR(CheckRosterPatch(patch, options_.max_content_bytes));
  Result<RosterEntry> out = [&]() -> Result<RosterEntry> {
    const std::size_t max = options_.max_content_bytes;
    // Unset leaves a JSON column alone; a value (Json null included) replaces it.
    std::optional<std::string> route_hints, current, props;
    if (patch.route_hints) {
      AGENTCORE_ASSIGN_OR_RETURN(route_hints,
                                 EncodeJson("roster route hints", *patch.route_hints, max));
    }
    if (patch.current) {
      AGENTCORE_ASSIGN_OR_RETURN(current, EncodeJson("roster current", *patch.current, max));
    }
    if (patch.props) {
      AGENTCORE_ASSIGN_OR_RETURN(props, EncodeJson("roster props", *patch.props, max));
    }
    PgParams p;
    p.Text(channel_id).Text(callsign);
    if (patch.status) {
      p.Text(RosterStatusName(*patch.status));  // static storage
    } else {
      p.Null();
    }
    p.OptText(patch.agent_type);
    p.Bool(patch.clear_callback_url).OptText(patch.callback_url).OptText(patch.readmark);
    p.OptInt(patch.last_heartbeat).OptInt(patch.last_message_routed_at);
    p.OptText(route_hints).OptText(current).OptText(props).OptText(patch.container_token_hash);
    AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kUpdateRoster, p));
    if (PQntuples(r.get()) == 0) return RosterNotFound(channel_id, callsign);
    return DecodeRoster(PgRow(r.get(), 0));
  }();
  ChannelWritten(out.status(), channel_id, ChannelVersionTable::kChannel);
  return out;
}

Status PostgresStore::RemoveRosterEntry(std::string_view channel_id, std::string_view callsign) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster callsign", callsign));
  Status out = [&]() -> Status {
    PgParams p;
    p.Text(channel_id).Text(callsign);
    // Pending deliveries go with the entry (ON DELETE CASCADE).
    AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kDeleteRoster, p));
    if (PQntuples(r.get()) == 0) return RosterNotFound(channel_id, callsign);
    return Status::Ok();
  }();
  ChannelWritten(out, channel_id, ChannelVersionTable::kChannel);
  return out;
}

// --- Change feed and channel versions

std::optional<ChannelVersions> PostgresStore::CurrentChannelVersions(
    std::string_view channel_id) {
  // Subscribed on first use, through Subscribe (which starts the feed's reader if need be):
  // a caller caches only what it read after the versions, so changes committed before this
  // subscription are in whatever it reads next. A store nobody asks (a CLI command) never
  // follows the feed for this.
  if (!versions_live_.load(std::memory_order_acquire)) {
    std::lock_guard lock(versions_mu_);
    if (versions_sub_ == nullptr) {
      Result<std::unique_ptr<StoreSubscription>> sub = Subscribe(&versions_);
      if (!sub.has_value()) return std::nullopt;  // no feed, no caching; retried next call
      versions_sub_ = *std::move(sub);
      versions_live_.store(true, std::memory_order_release);
    }
  }
  return versions_.Get(channel_id);
}

void PostgresStore::ChannelWritten(const Status& outcome, std::string_view channel_id,
                                   unsigned parts) {
  // kUnknownOutcome: the commit may have happened; raising too often only costs a cache miss.
  if (outcome.ok() || outcome.code() == ErrorCode::kUnknownOutcome) {
    versions_.Raise(channel_id, parts);
  }
}

Result<std::unique_ptr<StoreSubscription>> PostgresStore::Subscribe(StoreListener* listener) {
  if (listener == nullptr) return InvalidArgument("store listener is null");
  std::unique_ptr<StoreSubscription> sub = feed_.Subscribe(listener);
  std::lock_guard lock(listener_mu_);
  // The first subscriber starts the reader at the log's head: a store nobody subscribes to (a
  // CLI command) neither reads nor polls the log.
  if (listener_ == nullptr) {
    AGENTCORE_ASSIGN_OR_RETURN(listener_,
                               PgListener::Start(options_.url, &feed_, options_.poll_interval));
  }
  return sub;
}

}  // namespace internal
}  // namespace agentcore
