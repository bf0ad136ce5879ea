// SPDX-License-Identifier: Apache-2.0
// PostgresStore: users and cost records.
#include <utility>

#include <fmt/format.h>

#include "store/postgres/postgres_store.hpp"
#include "store/record_checks.hpp"

namespace agentcore::internal {
namespace {

Status ChannelNotFound(std::string_view id) {
  return NotFound(fmt::format("channel \"{}\" not found", id));
}

}  // namespace

// --- Users

Result<User> PostgresStore::CreateUser(const User& user) {
  AGENTCORE_RETURN_IF_ERROR(CheckUser(user, options_.max_content_bytes));
  const std::string id = user.id.empty() ? ids_.Next() : user.id;
  PgParams p;
  p.Text(id).Text(user.external_id).Text(user.callsign).Text(user.email).Text(user.avatar_url);
  p.Text(user.disclaimer_accepted_version).Int(Now());
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kInsertUser, p));
  if (r.ok()) return DecodeUser(PgRow(r.result.get(), 0));
  if (r.status.code() == ErrorCode::kAlreadyExists) {
    if (r.constraint == "users_external_id") {
      return AlreadyExists(
          fmt::format("a user with external id \"{}\" already exists", user.external_id));
    }
    return AlreadyExists(fmt::format("user \"{}\" already exists", id));
  }
  return r.status;
}

Result<User> PostgresStore::GetUser(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("user id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetUser, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("user \"{}\" not found", id));
  return DecodeUser(PgRow(r.get(), 0));
}

Result<User> PostgresStore::FindUserByExternalId(std::string_view external_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("user external id", external_id));
  PgParams p;
  p.Text(external_id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kFindUserByExternalId, p));
  if (PQntuples(r.get()) == 0) {
    return NotFound(fmt::format("user with external id \"{}\" not found", external_id));
  }
  return DecodeUser(PgRow(r.get(), 0));
}

// --- Costs

Status PostgresStore::UpsertCost(const CostRecord& cost) {
  AGENTCORE_RETURN_IF_ERROR(CheckCostRecord(cost));
  const std::size_t max = options_.max_content_bytes;
  AGENTCORE_ASSIGN_OR_RETURN(std::string usage, EncodeJson("cost usage", cost.usage, max));
  AGENTCORE_ASSIGN_OR_RETURN(std::string model_usage,
                             EncodeJson("cost model usage", cost.model_usage, max));
  PgParams p;
  p.Text(cost.channel_id).Text(cost.callsign).Text(cost.space_id).Double(cost.cost_usd);
  p.Int(cost.duration_ms).Int(cost.num_turns).JsonText(usage).JsonText(model_usage).Int(Now());
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kUpsertCost, p));
  if (!r.ok()) {
    // A channel removed by hand between the statement's snapshot and the foreign key check.
    if (r.status.code() == ErrorCode::kNotFound) return ChannelNotFound(cost.channel_id);
    return r.status;
  }
  if (PQntuples(r.result.get()) == 0) return ChannelNotFound(cost.channel_id);
  if (!PgRow(r.result.get(), 0).Bool(0)) {
    return InvalidArgument(fmt::format("cost space \"{}\" is not the space of channel \"{}\"",
                                       cost.space_id, cost.channel_id));
  }
  return Status::Ok();
}

Result<std::vector<CostRecord>> PostgresStore::ListCosts(std::string_view channel_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("cost channel id", channel_id));
  PgParams p;
  p.Text(channel_id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr rows,
                             ListIfExists(Stmt::kChannelExists, p, Stmt::kListCosts, p));
  if (rows == nullptr) return ChannelNotFound(channel_id);
  return DecodeAll<CostRecord>(rows.get(), DecodeCost);
}

}  // namespace agentcore::internal
