// SPDX-License-Identifier: Apache-2.0
// PostgresStore: cluster events, leases and the change log's retention (docs/cluster.md).
#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "store/postgres/postgres_store.hpp"
#include "store/record_checks.hpp"

namespace agentcore::internal {
namespace {

Lease DecodeLease(const PgRow& row) { return Lease{row.Str(0), row.Str(1), row.Int(2)}; }

}  // namespace

Status PostgresStore::AppendClusterEvents(std::span<const ClusterEvent> events) {
  AGENTCORE_RETURN_IF_ERROR(CheckClusterEvents(events, options_.max_content_bytes));
  if (events.empty()) return Status::Ok();
  PgArray kinds(PgArray::kText), channels(PgArray::kText), keys(PgArray::kText);
  PgArray origins(PgArray::kText), payloads(PgArray::kText);
  for (const ClusterEvent& e : events) {
    const char kind = LogKindOf(e.kind);
    kinds.Add(std::string_view(&kind, 1));
    channels.Add(e.channel_id);
    keys.Add(e.key);
    origins.Add(e.origin);
    payloads.Add(e.payload);
  }
  PgParams p;
  for (PgArray* column : {&kinds, &channels, &keys, &origins, &payloads}) {
    p.OwnedBinary(column->Finish());
  }
  // One statement, one transaction; Pipeline wakes the listeners after it.
  return Query(Access::kWrite, Stmt::kAppendClusterEvents, p).status();
}

Result<Lease> PostgresStore::AcquireLease(std::string_view key, std::string_view owner,
                                          UnixMillis now, UnixMillis until) {
  AGENTCORE_RETURN_IF_ERROR(CheckLeaseRequest(key, owner, now, until));
  PgParams p;
  p.Text(key).Text(owner).Int(now).Int(until);
  PgParams get;
  get.Text(key);
  // Lost to a live holder: read it. It may release in between (no row): then try again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr won, Query(Access::kWrite, Stmt::kAcquireLease, p));
    if (PQntuples(won.get()) == 1) return DecodeLease(PgRow(won.get(), 0));
    AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr held, Query(Access::kRead, Stmt::kGetLease, get));
    if (PQntuples(held.get()) == 1) return DecodeLease(PgRow(held.get(), 0));
  }
  return Unavailable(fmt::format("lease \"{}\" keeps changing hands; try again", key));
}

Result<std::vector<std::string>> PostgresStore::RenewLeases(std::string_view owner,
                                                            UnixMillis until) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("lease owner", owner));
  PgParams p;
  p.Text(owner).Int(until);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kRenewLeases, p));
  return DecodeAll<std::string>(r.get(), [](const PgRow& row) { return row.Str(0); });
}

Status PostgresStore::ReleaseLeases(std::string_view owner, std::span<const std::string> keys) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("lease owner", owner));
  PgArray array(PgArray::kText);
  for (const std::string& key : keys) {
    AGENTCORE_RETURN_IF_ERROR(CheckLeaseKey(key));
    array.Add(key);
  }
  PgParams p;
  p.Text(owner).OwnedBinary(array.Finish());
  return Query(Access::kWrite, Stmt::kReleaseLeases, p).status();
}

Result<std::vector<Lease>> PostgresStore::ListLeases(std::string_view prefix,
                                                     std::optional<UnixMillis> expired_at,
                                                     std::size_t limit) {
  if (!prefix.empty()) AGENTCORE_RETURN_IF_ERROR(CheckLeaseKey(prefix));
  PgParams p;
  p.Text(prefix).OptInt(expired_at);
  p.Int(static_cast<std::int64_t>(std::min(limit, kMaxPageSize)));
  return QueryAll<Lease>(Stmt::kListLeases, p, DecodeLease);
}

Result<std::uint64_t> PostgresStore::PurgeChangeLog(UnixMillis before) {
  PgParams p;
  p.Int(before);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kPurgeChangeLog, p));
  const std::string_view n = PQcmdTuples(r.get());
  std::uint64_t count = 0;
  std::from_chars(n.data(), n.data() + n.size(), count);
  return count;
}

}  // namespace agentcore::internal
