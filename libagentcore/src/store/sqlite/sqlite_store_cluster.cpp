// SPDX-License-Identifier: Apache-2.0
// Cluster events and leases of the SQLite store (docs/cluster.md). SQLite serves one server, so
// its cluster events only reach this process's listeners and its leases only ever see one
// node; both behave as on PostgreSQL so that the hub needs no second code path.
#include <algorithm>

#include <fmt/format.h>

#include "store/record_checks.hpp"
#include "store/sqlite/query.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace agentcore::internal::sqlite {

namespace {

Lease LeaseFromRow(const Statement& st) { return Lease{st.String(0), st.String(1), st.Int(2)}; }

}  // namespace

Status SqliteStore::AppendClusterEvents(std::span<const ClusterEvent> events) {
  AGENTCORE_RETURN_IF_ERROR(CheckClusterEvents(events, options_.max_content_bytes));
  // Nobody to tell: nothing to do (Subscribe waits for the writes under way, so a subscriber
  // arriving now cannot have been owed these).
  if (events.empty() || !feed_.HasSubscribers()) return Status::Ok();
  // Through the writer, although nothing is stored: the events then reach the feed after
  // every write this thread queued before (async writes included), as on PostgreSQL.
  return Write([&](WriteContext& ctx) -> Status {
    for (const ClusterEvent& e : events) ctx.ChangedCluster(e);
    return Status::Ok();
  });
}

Result<Lease> SqliteStore::AcquireLease(std::string_view key, std::string_view owner,
                                        UnixMillis now, UnixMillis until) {
  AGENTCORE_RETURN_IF_ERROR(CheckLeaseRequest(key, owner, now, until));
  Lease out;
  AGENTCORE_RETURN_IF_ERROR(Write([&](WriteContext& ctx) -> Status {
    Connection& c = ctx.conn();
    // One writer: the upsert and the read that follows see no other write in between.
    AGENTCORE_RETURN_IF_ERROR(
        Execute(c,
                "INSERT INTO leases (key, owner, expires_at) VALUES (?1, ?2, ?4) "
                "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, "
                "expires_at = excluded.expires_at "
                "WHERE leases.expires_at <= ?3 OR leases.owner = excluded.owner",
                key, owner, now, until)
            .status());
    AGENTCORE_ASSIGN_OR_RETURN(
        out, QueryOne<Lease>(
                 c, "SELECT key, owner, expires_at FROM leases WHERE key = ?1", LeaseFromRow,
                 [&] { return Internal(fmt::format("lease \"{}\" vanished", key)); }, key));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<std::string>> SqliteStore::RenewLeases(std::string_view owner,
                                                          UnixMillis until) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("lease owner", owner));
  std::vector<std::string> keys;
  AGENTCORE_RETURN_IF_ERROR(Write([&](WriteContext& ctx) -> Status {
    Connection& c = ctx.conn();
    AGENTCORE_RETURN_IF_ERROR(
        Execute(c, "UPDATE leases SET expires_at = ?2 WHERE owner = ?1", owner, until).status());
    AGENTCORE_ASSIGN_OR_RETURN(
        keys, QueryAll<std::string>(
                  c, "SELECT key FROM leases WHERE owner = ?1 ORDER BY key",
                  [](const Statement& st) { return st.String(0); }, owner));
    return Status::Ok();
  }));
  return keys;
}

Status SqliteStore::ReleaseLeases(std::string_view owner, std::span<const std::string> keys) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("lease owner", owner));
  for (const std::string& key : keys) AGENTCORE_RETURN_IF_ERROR(CheckLeaseKey(key));
  return Write([&](WriteContext& ctx) -> Status {
    Connection& c = ctx.conn();
    if (keys.empty()) return Execute(c, "DELETE FROM leases WHERE owner = ?1", owner).status();
    for (const std::string& key : keys) {
      AGENTCORE_RETURN_IF_ERROR(
          Execute(c, "DELETE FROM leases WHERE key = ?1 AND owner = ?2", key, owner).status());
    }
    return Status::Ok();
  });
}

Result<std::vector<Lease>> SqliteStore::ListLeases(std::string_view prefix,
                                                   std::optional<UnixMillis> expired_at,
                                                   std::size_t limit) {
  if (!prefix.empty()) AGENTCORE_RETURN_IF_ERROR(CheckLeaseKey(prefix));
  const auto n = static_cast<std::int64_t>(std::min(limit, kMaxPageSize));
  // key >= prefix starts the range scan; substr compares the prefix itself (no LIKE: a prefix
  // may hold % and _). BINARY collation: bytewise, as PostgreSQL's COLLATE "C".
  return Read([&](Connection& c) {
    return QueryAll<Lease>(
        c,
        "SELECT key, owner, expires_at FROM leases WHERE key >= ?1 "
        "AND substr(key, 1, length(?1)) = ?1 AND (?2 IS NULL OR expires_at <= ?2) "
        "ORDER BY key LIMIT ?3",
        LeaseFromRow, prefix, expired_at, n);
  });
}

}  // namespace agentcore::internal::sqlite
