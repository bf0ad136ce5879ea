// SPDX-License-Identifier: Apache-2.0
// Users and cost records of the SQLite store.
#include <algorithm>

#include <fmt/format.h>

#include "store/record_checks.hpp"
#include "store/sqlite/query.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace agentcore::internal::sqlite {

namespace {

Status ChannelNotFound(std::string_view id) {
  return NotFound(fmt::format("channel \"{}\" not found", id));
}

}  // namespace

// --- Users

namespace {

// The checks and the insert of CreateUser, inside a write: kAlreadyExists for a taken id,
// external id or email.
Status InsertUser(Connection& c, const User& u) {
  AGENTCORE_ASSIGN_OR_RETURN(bool taken, Exists(c, "SELECT 1 FROM users WHERE id = ?1", u.id));
  if (taken) return AlreadyExists(fmt::format("user \"{}\" already exists", u.id));
  if (!u.external_id.empty()) {
    AGENTCORE_ASSIGN_OR_RETURN(
        bool external_taken,
        Exists(c, "SELECT 1 FROM users WHERE external_id = ?1 AND external_id <> ''",
               u.external_id));
    if (external_taken) {
      return AlreadyExists(
          fmt::format("a user with external id \"{}\" already exists", u.external_id));
    }
  }
  if (!u.email.empty()) {
    AGENTCORE_ASSIGN_OR_RETURN(
        bool email_taken,
        Exists(c, "SELECT 1 FROM users WHERE email = ?1 AND email <> ''", u.email));
    if (email_taken) {
      return AlreadyExists(fmt::format("a user with email \"{}\" already exists", u.email));
    }
  }
  return Execute(c,
                 "INSERT INTO users (id, external_id, callsign, email, avatar_url, "
                 "disclaimer_accepted_version, created_at, updated_at, password_hash) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
                 u.id, u.external_id, u.callsign, u.email, u.avatar_url,
                 u.disclaimer_accepted_version, u.created_at, u.password_hash)
      .status();
}

Status InviteCodeNotFound(std::string_view id) {
  return NotFound(fmt::format("invite code \"{}\" not found", id));
}

}  // namespace

Result<User> SqliteStore::CreateUser(const User& user) {
  AGENTCORE_RETURN_IF_ERROR(CheckUser(user, options_.max_content_bytes));
  User u = user;
  if (u.id.empty()) u.id = ids_.Next();
  u.created_at = u.updated_at = Now();
  if (Status written = Write([&](WriteContext& ctx) { return InsertUser(ctx.conn(), u); });
      !written.ok()) {
    return written;
  }
  return u;
}

Result<User> SqliteStore::CreateUserWithInvite(const User& user, std::string_view code_hash,
                                               UnixMillis now) {
  AGENTCORE_RETURN_IF_ERROR(CheckUser(user, options_.max_content_bytes));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("invite code hash", code_hash));
  User u = user;
  if (u.id.empty()) u.id = ids_.Next();
  u.created_at = u.updated_at = Now();
  // One write: the single writer serializes registrations, so of two with one code the second
  // sees the first's used_at. A failed insert rolls the write's savepoint back, code included.
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        static const std::string sql =
            SelectSql(kInviteCodeColumns, "invite_codes", "WHERE code_hash = ?1");
        AGENTCORE_ASSIGN_OR_RETURN(
            InviteCode code,
            QueryOne<InviteCode>(
                c, sql, InviteCodeFromRow, [] { return NotFound("invite code not found"); },
                code_hash));
        if (code.used_at != 0) return Status(ErrorCode::kConflict, "invite code already used");
        if (code.revoked) return Status(ErrorCode::kConflict, "invite code revoked");
        if (code.expires_at != 0 && now >= code.expires_at) {
          return Status(ErrorCode::kConflict, "invite code expired");
        }
        AGENTCORE_RETURN_IF_ERROR(InsertUser(c, u));
        return Execute(c, "UPDATE invite_codes SET used_at = ?1, used_by = ?2 WHERE id = ?3",
                       u.created_at, u.id, code.id)
            .status();
      });
      !written.ok()) {
    return written;
  }
  return u;
}

Result<User> SqliteStore::FindUserByEmail(std::string_view email) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("user email", email));
  static const std::string sql =
      SelectSql(kUserColumns, "users", "WHERE email = ?1 AND email <> ''");
  return Read([&](Connection& c) {
    return QueryOne<User>(
        c, sql, UserFromRow,
        [&] { return NotFound(fmt::format("user with email \"{}\" not found", email)); }, email);
  });
}

// --- Invite codes

Result<InviteCode> SqliteStore::CreateInviteCode(const InviteCode& code) {
  AGENTCORE_RETURN_IF_ERROR(CheckInviteCode(code));
  InviteCode k = code;
  if (k.id.empty()) k.id = ids_.Next();
  k.created_at = Now();
  k.used_at = 0;
  k.used_by.clear();
  k.revoked = false;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        AGENTCORE_ASSIGN_OR_RETURN(bool taken,
                                   Exists(c, "SELECT 1 FROM invite_codes WHERE id = ?1", k.id));
        if (taken) return AlreadyExists(fmt::format("invite code \"{}\" already exists", k.id));
        AGENTCORE_ASSIGN_OR_RETURN(
            bool hash_taken,
            Exists(c, "SELECT 1 FROM invite_codes WHERE code_hash = ?1", k.code_hash));
        // The message leaves the hash out: it is a credential's fingerprint.
        if (hash_taken) return AlreadyExists("an invite code with that hash already exists");
        return Execute(c,
                       "INSERT INTO invite_codes (id, code_hash, prefix, created_at, expires_at, "
                       "used_at, used_by, revoked) VALUES (?1, ?2, ?3, ?4, ?5, 0, '', 0)",
                       k.id, k.code_hash, k.prefix, k.created_at, k.expires_at)
            .status();
      });
      !written.ok()) {
    return written;
  }
  return k;
}

Result<InviteCode> SqliteStore::GetInviteCode(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("invite code id", id));
  static const std::string sql = SelectSql(kInviteCodeColumns, "invite_codes", "WHERE id = ?1");
  return Read([&](Connection& c) {
    return QueryOne<InviteCode>(
        c, sql, InviteCodeFromRow, [&] { return InviteCodeNotFound(id); }, id);
  });
}

Result<std::vector<InviteCode>> SqliteStore::ListInviteCodes(std::size_t limit) {
  static const std::string sql =
      SelectSql(kInviteCodeColumns, "invite_codes", "ORDER BY created_at, id LIMIT ?1");
  const std::size_t n = std::min(limit, kMaxPageSize);
  return Read(
      [&](Connection& c) { return QueryAll<InviteCode>(c, sql, InviteCodeFromRow, n); });
}

Status SqliteStore::RevokeInviteCode(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("invite code id", id));
  return Write([&](WriteContext& ctx) -> Status {
    AGENTCORE_ASSIGN_OR_RETURN(
        int n, Execute(ctx.conn(), "UPDATE invite_codes SET revoked = 1 WHERE id = ?1", id));
    return n == 0 ? InviteCodeNotFound(id) : Status::Ok();
  });
}

Result<User> SqliteStore::GetUser(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("user id", id));
  static const std::string sql = SelectSql(kUserColumns, "users", "WHERE id = ?1");
  return Read([&](Connection& c) {
    return QueryOne<User>(
        c, sql, UserFromRow, [&] { return NotFound(fmt::format("user \"{}\" not found", id)); },
        id);
  });
}

Result<User> SqliteStore::FindUserByExternalId(std::string_view external_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("user external id", external_id));
  // `<> ''` lets the partial unique index serve the lookup.
  static const std::string sql =
      SelectSql(kUserColumns, "users", "WHERE external_id = ?1 AND external_id <> ''");
  return Read([&](Connection& c) {
    return QueryOne<User>(
        c, sql, UserFromRow,
        [&] { return NotFound(fmt::format("user with external id \"{}\" not found", external_id)); },
        external_id);
  });
}

// --- Costs

struct SqliteStore::CostState {
  CostRecord cost;
  std::optional<std::string> usage;
  std::optional<std::string> model_usage;
  UnixMillis now = 0;
};

Result<SqliteStore::CostState> SqliteStore::PrepareCost(CostRecord cost) {
  AGENTCORE_RETURN_IF_ERROR(CheckCostRecord(cost));
  const std::size_t max = options_.max_content_bytes;
  CostState st;
  AGENTCORE_ASSIGN_OR_RETURN(st.usage, EncodeNullableJson("cost usage", cost.usage, max));
  AGENTCORE_ASSIGN_OR_RETURN(st.model_usage,
                             EncodeNullableJson("cost model usage", cost.model_usage, max));
  st.now = Now();
  st.cost = std::move(cost);
  return st;
}

Status SqliteStore::RunCost(CostState& st, WriteContext& ctx) {
  Connection& c = ctx.conn();
  const CostRecord& cost = st.cost;
  AGENTCORE_ASSIGN_OR_RETURN(
      std::string space_id,
      QueryOne<std::string>(
          c, "SELECT space_id FROM channels WHERE id = ?1",
          [](const Statement& row) { return row.String(0); },
          [&] { return ChannelNotFound(cost.channel_id); }, cost.channel_id));
  if (!cost.space_id.empty() && cost.space_id != space_id) {
    return InvalidArgument(fmt::format("cost space \"{}\" is not the space of channel \"{}\"",
                                       cost.space_id, cost.channel_id));
  }
  return Execute(c,
                 "INSERT INTO cost_records (channel_id, callsign, space_id, cost_usd, "
                 "duration_ms, num_turns, usage, model_usage, updated_at) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                 "ON CONFLICT (channel_id, callsign) DO UPDATE SET "
                 "space_id = excluded.space_id, cost_usd = excluded.cost_usd, "
                 "duration_ms = excluded.duration_ms, num_turns = excluded.num_turns, "
                 "usage = excluded.usage, model_usage = excluded.model_usage, "
                 "updated_at = excluded.updated_at",
                 cost.channel_id, cost.callsign, space_id, cost.cost_usd, cost.duration_ms,
                 cost.num_turns, st.usage, st.model_usage, st.now)
      .status();
}

Status SqliteStore::UpsertCost(const CostRecord& cost) {
  AGENTCORE_ASSIGN_OR_RETURN(CostState st, PrepareCost(cost));
  return Write([&](WriteContext& ctx) { return RunCost(st, ctx); });
}

void SqliteStore::UpsertCostAsync(CostRecord cost, StatusCallback done) {
  Result<CostState> st = PrepareCost(std::move(cost));
  if (!st.ok()) {
    done(st.status());
    return;
  }
  writer_->WriteAsync(MakeAsyncWrite(
      *std::move(st), [](CostState& s, WriteContext& ctx) { return RunCost(s, ctx); },
      [done = std::move(done)](CostState&, Status written) { done(std::move(written)); }));
}

Result<std::vector<CostRecord>> SqliteStore::ListCosts(std::string_view channel_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("cost channel id", channel_id));
  static const std::string sql = SelectSql(kCostColumns, "cost_records",
                                           "WHERE channel_id = ?1 ORDER BY cost_usd DESC, callsign");
  return Read([&](Connection& c) -> Result<std::vector<CostRecord>> {
    AGENTCORE_ASSIGN_OR_RETURN(auto costs, QueryAll<CostRecord>(c, sql, CostFromRow, channel_id));
    if (costs.empty()) {
      AGENTCORE_ASSIGN_OR_RETURN(bool channel,
                                 Exists(c, "SELECT 1 FROM channels WHERE id = ?1", channel_id));
      if (!channel) return ChannelNotFound(channel_id);
    }
    return costs;
  });
}

}  // namespace agentcore::internal::sqlite
