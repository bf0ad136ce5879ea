// SPDX-License-Identifier: Apache-2.0
// PostgresStore: users and cost records.
#include <algorithm>
#include <cstdint>
#include <utility>

#include <fmt/format.h>

#include "store/postgres/postgres_store.hpp"
#include "store/record_checks.hpp"

namespace agentcore::internal {
namespace {

Status ChannelNotFound(std::string_view id) {
  return NotFound(fmt::format("channel \"{}\" not found", id));
}

// Adds the parameters $1..$8 of kInsertUser (and kInsertUserWithInvite) to `p`.
void AddUserParams(PgParams& p, const User& user, const std::string& id, UnixMillis now) {
  p.Text(id).Text(user.external_id).Text(user.callsign).Text(user.email).Text(user.avatar_url);
  p.Text(user.disclaimer_accepted_version).Int(now).Text(user.password_hash);
}

// A failed user insert: which key was taken, or the reply's error.
Status UserInsertError(const PgReply& r, const User& user, const std::string& id) {
  if (r.status.code() == ErrorCode::kAlreadyExists) {
    if (r.constraint == "users_external_id") {
      return AlreadyExists(
          fmt::format("a user with external id \"{}\" already exists", user.external_id));
    }
    if (r.constraint == "users_email") {
      return AlreadyExists(fmt::format("a user with email \"{}\" already exists", user.email));
    }
    return AlreadyExists(fmt::format("user \"{}\" already exists", id));
  }
  return r.status;
}

Status InviteCodeNotFound(std::string_view id) {
  return NotFound(fmt::format("invite code \"{}\" not found", id));
}

}  // namespace

// --- Users

Result<User> PostgresStore::CreateUser(const User& user) {
  AGENTCORE_RETURN_IF_ERROR(CheckUser(user, options_.max_content_bytes));
  const std::string id = user.id.empty() ? ids_.Next() : user.id;
  PgParams p;
  AddUserParams(p, user, id, Now());
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kInsertUser, p));
  if (r.ok()) return DecodeUser(PgRow(r.result.get(), 0));
  return UserInsertError(r, user, id);
}

Result<User> PostgresStore::CreateUserWithInvite(const User& user, std::string_view code_hash,
                                                 UnixMillis now) {
  AGENTCORE_RETURN_IF_ERROR(CheckUser(user, options_.max_content_bytes));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("invite code hash", code_hash));
  const std::string id = user.id.empty() ? ids_.Next() : user.id;
  PgParams p;
  AddUserParams(p, user, id, Now());
  p.Text(code_hash).Int(now);
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kInsertUserWithInvite, p));
  if (!r.ok()) return UserInsertError(r, user, id);
  if (PQntuples(r.result.get()) > 0) return DecodeUser(PgRow(r.result.get(), 0));
  // The code was not usable when the statement ran: say why (a later read; the code only ever
  // moves from usable to used, revoked or expired, so the answer still holds).
  PgParams q;
  q.Text(code_hash);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr c, Query(Access::kRead, Stmt::kClassifyInvite, q));
  if (PQntuples(c.get()) == 0) return NotFound("invite code not found");
  PgRow row(c.get(), 0);
  if (row.Int(0) != 0) return Status(ErrorCode::kConflict, "invite code already used");
  if (row.Bool(1)) return Status(ErrorCode::kConflict, "invite code revoked");
  const std::int64_t expires_at = row.Int(2);
  if (expires_at != 0 && now >= expires_at) {
    return Status(ErrorCode::kConflict, "invite code expired");
  }
  return Status(ErrorCode::kConflict, "invite code already used");
}

Result<User> PostgresStore::FindUserByEmail(std::string_view email) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("user email", email));
  PgParams p;
  p.Text(email);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kFindUserByEmail, p));
  if (PQntuples(r.get()) == 0) {
    return NotFound(fmt::format("user with email \"{}\" not found", email));
  }
  return DecodeUser(PgRow(r.get(), 0));
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

// --- Invite codes

Result<InviteCode> PostgresStore::CreateInviteCode(const InviteCode& code) {
  AGENTCORE_RETURN_IF_ERROR(CheckInviteCode(code));
  const std::string id = code.id.empty() ? ids_.Next() : code.id;
  PgParams p;
  p.Text(id).Text(code.code_hash).Text(code.prefix).Int(Now()).Int(code.expires_at);
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kInsertInviteCode, p));
  if (r.ok()) return DecodeInviteCode(PgRow(r.result.get(), 0));
  if (r.status.code() == ErrorCode::kAlreadyExists) {
    if (r.constraint == "invite_codes_code_hash") {
      return AlreadyExists("an invite code with that hash already exists");  // never echo it
    }
    return AlreadyExists(fmt::format("invite code \"{}\" already exists", id));
  }
  return r.status;
}

Result<InviteCode> PostgresStore::GetInviteCode(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("invite code id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetInviteCode, p));
  if (PQntuples(r.get()) == 0) return InviteCodeNotFound(id);
  return DecodeInviteCode(PgRow(r.get(), 0));
}

Result<std::vector<InviteCode>> PostgresStore::ListInviteCodes(std::size_t limit) {
  PgParams p;
  p.Int(static_cast<std::int64_t>(std::min(limit, kMaxPageSize)));
  return QueryAll<InviteCode>(Stmt::kListInviteCodes, p, DecodeInviteCode);
}

Status PostgresStore::RevokeInviteCode(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("invite code id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kRevokeInviteCode, p));
  if (PQntuples(r.get()) == 0) return InviteCodeNotFound(id);
  return Status::Ok();
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
