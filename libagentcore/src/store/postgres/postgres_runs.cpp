// SPDX-License-Identifier: Apache-2.0
// PostgresStore: runs and their event logs, sessions, teams.
#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "store/postgres/postgres_store.hpp"
#include "store/record_checks.hpp"

namespace agentcore::internal {
namespace {

bool IsRunState(RunState s) {
  return std::find(kAllRunStates.begin(), kAllRunStates.end(), s) != kAllRunStates.end();
}
bool IsSessionState(SessionState s) {
  return std::find(kAllSessionStates.begin(), kAllSessionStates.end(), s) !=
         kAllSessionStates.end();
}

}  // namespace

// --- Runs

Result<Run> PostgresStore::CreateRun(const NewRun& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckNewRun(in, options_.max_content_bytes));
  AGENTCORE_ASSIGN_OR_RETURN(std::string input,
                             EncodeJson("run input", in.input, options_.max_content_bytes));
  const std::string id = in.id.empty() ? ids_.Next() : in.id;
  PgParams p;
  p.Text(id).Text(in.project_id).JsonText(input).Int(Now()).Int(in.available_at);
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kInsertRun, p));
  if (r.ok()) return DecodeRun(PgRow(r.result.get(), 0));
  if (r.status.code() == ErrorCode::kAlreadyExists) {
    return AlreadyExists(fmt::format("run \"{}\" already exists", id));
  }
  return r.status;
}

Result<Run> PostgresStore::GetRun(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetRun, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("run \"{}\" not found", id));
  return DecodeRun(PgRow(r.get(), 0));
}

Result<Run> PostgresStore::TransitionRun(std::string_view id, RunState from, RunState to,
                                         const RunUpdate& update) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run id", id));
  if (!IsRunState(from) || !IsRunState(to)) return InvalidArgument("run state out of range");
  AGENTCORE_RETURN_IF_ERROR(CheckRunUpdate(update, options_.max_content_bytes));
  std::optional<std::string> result;
  if (update.result) {
    AGENTCORE_ASSIGN_OR_RETURN(result,
                               EncodeJson("run result", *update.result, options_.max_content_bytes));
  }
  PgParams p;
  p.Text(id).Text(RunStateName(from)).Text(RunStateName(to));
  p.OptInt(update.attempts ? std::optional<std::int64_t>(*update.attempts) : std::nullopt);
  p.OptText(result).OptText(update.error);
  p.Bool(update.lease_expires_at.has_value());
  p.OptInt(update.lease_expires_at ? *update.lease_expires_at : std::nullopt);
  p.OptText(update.worker_id).Int(Now()).OptInt(update.available_at);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kTransitionRun, p));
  if (PQntuples(r.get()) == 1) return DecodeRun(PgRow(r.get(), 0));
  // Nothing matched: no such run, or it is no longer in `from`.
  AGENTCORE_ASSIGN_OR_RETURN(Run now, GetRun(id));
  return Conflict(fmt::format("run \"{}\" is {}, not {}", id, RunStateName(now.state),
                              RunStateName(from)));
}

Result<std::vector<Run>> PostgresStore::ListRuns(const RunFilter& filter) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("run project id", filter.project_id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("run cursor", filter.before_id));
  std::vector<std::string> states;
  for (RunState s : filter.states) {
    if (!IsRunState(s)) return InvalidArgument("run state out of range");
    states.emplace_back(RunStateName(s));
  }
  const std::size_t limit = std::min(filter.limit, kMaxPageSize);
  if (limit == 0) return std::vector<Run>();
  PgParams p;
  p.Text(filter.project_id).TextArray(states).OptInt(filter.lease_before);
  p.Int(static_cast<std::int64_t>(limit));
  if (filter.before_id.empty()) return QueryAll<Run>(Stmt::kListRuns, p, DecodeRun);
  // The cursor's existence and the page in one pipeline (runs are never deleted, so the two
  // snapshots agree on it).
  p.Text(filter.before_id);
  PgParams cursor;
  cursor.Text(filter.before_id);
  const PgCall calls[] = {{Index(Stmt::kRunExists), &cursor},
                          {Index(Stmt::kListRunsBefore), &p}};
  std::vector<PgReply> replies;
  AGENTCORE_RETURN_IF_ERROR(Pipeline(Access::kRead, calls, &replies));
  for (const PgReply& r : replies) {
    if (!r.ok()) return r.status;
  }
  if (PQntuples(replies[0].result.get()) == 0) {
    return NotFound(fmt::format("run \"{}\" not found", filter.before_id));
  }
  return DecodeAll<Run>(replies[1].result.get(), DecodeRun);
}

Result<std::optional<Run>> PostgresStore::ClaimRun(const RunClaim& claim) {
  AGENTCORE_RETURN_IF_ERROR(CheckRunClaim(claim));
  // The lock and the claim in one pipeline: one round trip, one transaction
  // (pg_statements.cpp, kClaimRun, says why the lock).
  PgParams none;
  PgParams p;
  p.Int(claim.now).Text(claim.worker_id).Int(claim.lease_until).Int(Now());
  const PgCall calls[] = {{Index(Stmt::kClaimLock), &none}, {Index(Stmt::kClaimRun), &p}};
  std::vector<PgReply> replies;
  AGENTCORE_RETURN_IF_ERROR(Pipeline(Access::kWrite, calls, &replies));
  for (const PgReply& r : replies) {
    if (!r.ok()) return r.status;
  }
  if (PQntuples(replies[1].result.get()) == 0) return std::optional<Run>();
  AGENTCORE_ASSIGN_OR_RETURN(Run run, DecodeRun(PgRow(replies[1].result.get(), 0)));
  return std::optional<Run>(std::move(run));
}

Status PostgresStore::RenewRunLease(std::string_view run_id, std::string_view worker_id,
                                    UnixMillis lease_until) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run id", run_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run worker id", worker_id));
  PgParams p;
  p.Text(run_id).Text(worker_id).Int(lease_until).Int(Now());
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kRenewRunLease, p));
  if (PQntuples(r.get()) == 1) return Status::Ok();
  AGENTCORE_ASSIGN_OR_RETURN(Run current, GetRun(run_id));
  return RunLeaseConflict(current, worker_id);
}

Result<RunEventRecord> PostgresStore::AppendRunEvent(std::string_view run_id, std::string_view type,
                                               const Json& data) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run id", run_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run event type", type));
  AGENTCORE_ASSIGN_OR_RETURN(std::string json,
                             EncodeJson("run event data", data, options_.max_content_bytes));
  PgParams p;
  p.Text(run_id).Text(type).JsonText(json).Int(Now());
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kAppendRunEvent, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("run \"{}\" not found", run_id));
  return DecodeRunEvent(PgRow(r.get(), 0));
}

Result<std::vector<RunEventRecord>> PostgresStore::ListRunEvents(std::string_view run_id,
                                                           std::uint64_t after_seq,
                                                           std::size_t limit) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run id", run_id));
  PgParams p;
  p.Text(run_id).Int(static_cast<std::int64_t>(std::min<std::uint64_t>(after_seq, INT64_MAX)));
  p.Int(static_cast<std::int64_t>(std::min(limit, kMaxPageSize)));
  PgParams run;
  run.Text(run_id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr rows,
                             ListIfExists(Stmt::kRunExists, run, Stmt::kListRunEvents, p));
  if (rows == nullptr) return NotFound(fmt::format("run \"{}\" not found", run_id));
  return DecodeAll<RunEventRecord>(rows.get(), DecodeRunEvent);
}

// --- Sessions

Result<Session> PostgresStore::PutSession(const Session& session) {
  AGENTCORE_RETURN_IF_ERROR(CheckSession(session, options_.max_content_bytes));
  if (!IsSessionState(session.state)) return InvalidArgument("session state out of range");
  AGENTCORE_ASSIGN_OR_RETURN(
      std::string metadata,
      EncodeJson("session metadata", session.metadata, options_.max_content_bytes));
  PgParams p;
  p.Text(session.id).Text(session.owner_id).Text(SessionStateName(session.state));
  p.Int(session.generation).Text(session.image).Text(session.container_id);
  p.JsonText(metadata).Int(Now());
  AGENTCORE_ASSIGN_OR_RETURN(std::string spec,
                             EncodeJson("session spec", session.spec, options_.max_content_bytes));
  p.Text(session.api_key_id).Text(session.instance).JsonText(spec);
  if (session.exit_code) {
    p.Int(*session.exit_code);
  } else {
    p.Null();
  }
  p.Text(session.reason).OptInt(session.started_at).OptInt(session.stopped_at);
  p.Int(session.running_ms).Int(session.cpu_millis).Int(session.memory_mb);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kPutSession, p));
  return DecodeSession(PgRow(r.get(), 0));
}

Result<Session> PostgresStore::GetSession(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("session id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetSession, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("session \"{}\" not found", id));
  return DecodeSession(PgRow(r.get(), 0));
}

Result<std::vector<Session>> PostgresStore::ListSessions(std::string_view owner_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("session owner id", owner_id));
  PgParams p;
  p.Text(owner_id);
  return QueryAll<Session>(Stmt::kListSessions, p, DecodeSession);
}

Status PostgresStore::DeleteSession(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("session id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kDeleteSession, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("session \"{}\" not found", id));
  return Status::Ok();
}

namespace {

Status CheckSessionFilter(const SessionFilter& f) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("session owner id", f.owner_id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("session api key id", f.api_key_id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("session instance", f.instance));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("session cursor", f.before_id));
  for (SessionState s : f.states) {
    if (!IsSessionState(s)) return InvalidArgument("session state out of range");
  }
  return Status::Ok();
}

void AddSessionFilter(const SessionFilter& f, PgParams& p) {
  std::string states;
  for (SessionState s : f.states) {
    if (!states.empty()) states += ',';
    states += SessionStateName(s);
  }
  p.Text(f.owner_id).Text(f.api_key_id).Text(f.instance).OwnedText(std::move(states));
}

}  // namespace

Result<std::vector<Session>> PostgresStore::FindSessions(const SessionFilter& filter) {
  AGENTCORE_RETURN_IF_ERROR(CheckSessionFilter(filter));
  PgParams p;
  AddSessionFilter(filter, p);
  p.Text(filter.before_id);
  p.Int(static_cast<std::int64_t>(filter.limit == 0 ? kMaxPageSize
                                                    : std::min(filter.limit, kMaxPageSize)));
  return QueryAll<Session>(Stmt::kFindSessions, p, DecodeSession);
}

Result<std::size_t> PostgresStore::CountSessions(const SessionFilter& filter) {
  AGENTCORE_RETURN_IF_ERROR(CheckSessionFilter(filter));
  PgParams p;
  AddSessionFilter(filter, p);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kCountSessions, p));
  if (PQntuples(r.get()) != 1) return Internal("session count returned no row");
  return static_cast<std::size_t>(PgRow(r.get(), 0).Int(0));
}

Result<SessionUsage> PostgresStore::SumSessionUsage(std::string_view api_key_id,
                                                    UnixMillis now) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("session api key id", api_key_id));
  PgParams p;
  p.Text(api_key_id).Int(now);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kSumSessionUsage, p));
  if (PQntuples(r.get()) != 1) return Internal("session usage returned no row");
  const PgRow row(r.get(), 0);
  SessionUsage u;
  u.sessions = row.Int(0);
  u.running = row.Int(1);
  u.running_ms = row.Int(2);
  u.cpu_milli_ms = row.Int(3);
  u.memory_mb_ms = row.Int(4);
  return u;
}

// --- Teams

Result<Team> PostgresStore::CreateTeam(const Team& team) {
  AGENTCORE_RETURN_IF_ERROR(CheckTeam(team, options_.max_content_bytes));
  AGENTCORE_ASSIGN_OR_RETURN(std::string spec,
                             EncodeJson("team spec", team.spec, options_.max_content_bytes));
  const std::string id = team.id.empty() ? ids_.Next() : team.id;
  PgParams p;
  p.Text(id).Text(team.space_id).Text(team.name).JsonText(spec).Int(Now());
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kInsertTeam, p));
  if (r.ok()) return DecodeTeam(PgRow(r.result.get(), 0));
  if (r.status.code() == ErrorCode::kAlreadyExists) {
    if (r.constraint == "teams_space_name") {
      return AlreadyExists(fmt::format("team named \"{}\" already exists in space \"{}\"",
                                       team.name, team.space_id));
    }
    return AlreadyExists(fmt::format("team \"{}\" already exists", id));
  }
  return r.status;
}

Result<Team> PostgresStore::GetTeam(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("team id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetTeam, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("team \"{}\" not found", id));
  return DecodeTeam(PgRow(r.get(), 0));
}

Result<std::vector<Team>> PostgresStore::ListTeams(std::string_view space_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("team space id", space_id));
  PgParams p;
  p.Text(space_id);
  return QueryAll<Team>(Stmt::kListTeams, p, DecodeTeam);
}

Result<Team> PostgresStore::UpdateTeamSpec(std::string_view id, const Json& spec) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("team id", id));
  AGENTCORE_ASSIGN_OR_RETURN(std::string json,
                             EncodeJson("team spec", spec, options_.max_content_bytes));
  PgParams p;
  p.Text(id).JsonText(json).Int(Now());
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kUpdateTeamSpec, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("team \"{}\" not found", id));
  return DecodeTeam(PgRow(r.get(), 0));
}

Status PostgresStore::DeleteTeam(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("team id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kDeleteTeam, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("team \"{}\" not found", id));
  return Status::Ok();
}

}  // namespace agentcore::internal
