// SPDX-License-Identifier: Apache-2.0
// Runs, run events, sessions and teams of the SQLite store.
#include <fmt/format.h>

#include <agentcore/json_writer.hpp>
#include <algorithm>
#include <limits>

#include "store/record_checks.hpp"
#include "store/sqlite/query.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace agentcore::internal::sqlite {

namespace {

Status RunNotFound(std::string_view id) {
  return NotFound(fmt::format("run \"{}\" not found", id));
}
Status SessionNotFound(std::string_view id) {
  return NotFound(fmt::format("session \"{}\" not found", id));
}
Status TeamNotFound(std::string_view id) {
  return NotFound(fmt::format("team \"{}\" not found", id));
}

bool IsRunState(RunState s) {
  return std::find(kAllRunStates.begin(), kAllRunStates.end(), s) != kAllRunStates.end();
}
bool IsSessionState(SessionState s) {
  return std::find(kAllSessionStates.begin(), kAllSessionStates.end(), s) !=
         kAllSessionStates.end();
}

Result<Run> LoadRun(Connection& c, std::string_view id) {
  static const std::string sql = SelectSql(kRunColumns, "runs", "WHERE id = ?1");
  return QueryOne<Run>(
      c, sql, RunFromRow, [&] { return RunNotFound(id); }, id);
}

Result<Team> LoadTeam(Connection& c, std::string_view id) {
  static const std::string sql = SelectSql(kTeamColumns, "teams", "WHERE id = ?1");
  return QueryOne<Team>(
      c, sql, TeamFromRow, [&] { return TeamNotFound(id); }, id);
}

std::int64_t ToInt64(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(
      v, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
}

}  // namespace

// --- Runs

Result<Run> SqliteStore::CreateRun(const NewRun& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckNewRun(in, options_.max_content_bytes));
  AGENTCORE_ASSIGN_OR_RETURN(auto input,
                             EncodeNullableJson("run input", in.input, options_.max_content_bytes));
  Run r;
  r.id = in.id.empty() ? ids_.Next() : in.id;
  r.project_id = in.project_id;
  r.input = in.input;
  r.available_at = in.available_at;
  r.created_at = r.updated_at = Now();
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        auto inserted =
            Execute(ctx.conn(),
                    "INSERT INTO runs (id, project_id, state, attempts, input, result, "
                    "error, lease_expires_at, worker_id, last_event_seq, created_at, "
                    "updated_at, available_at) "
                    "VALUES (?1, ?2, ?3, 0, ?4, NULL, '', NULL, '', 0, ?5, ?5, ?6)",
                    r.id, r.project_id, RunStateName(r.state), input, r.created_at,
                    r.available_at);
        if (!inserted && inserted.status().code() == ErrorCode::kAlreadyExists) {
          return AlreadyExists(fmt::format("run \"{}\" already exists", r.id));
        }
        return inserted.status();
      });
      !written.ok()) {
    return written;
  }
  return r;
}

Result<Run> SqliteStore::GetRun(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run id", id));
  return Read([&](Connection& c) { return LoadRun(c, id); });
}

Result<Run> SqliteStore::TransitionRun(std::string_view id, RunState from, RunState to,
                                       const RunUpdate& update) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run id", id));
  if (!IsRunState(from) || !IsRunState(to)) return InvalidArgument("run state out of range");
  AGENTCORE_RETURN_IF_ERROR(CheckRunUpdate(update, options_.max_content_bytes));
  std::optional<std::optional<std::string>> result;
  if (update.result) {
    AGENTCORE_ASSIGN_OR_RETURN(
        result, EncodeNullableJson("run result", *update.result, options_.max_content_bytes));
  }
  const UnixMillis now = Now();
  Run out;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        // The compare-and-set: the row changes only if it is still in `from`.
        static const std::string sql = fmt::format(
            "UPDATE runs SET state = ?3, attempts = coalesce(?4, attempts), "
            "result = CASE WHEN ?5 THEN ?6 ELSE result END, error = coalesce(?7, error), "
            "lease_expires_at = CASE WHEN ?8 THEN ?9 ELSE lease_expires_at END, "
            "worker_id = coalesce(?10, worker_id), updated_at = ?11, "
            "available_at = coalesce(?12, available_at) "
            "WHERE id = ?1 AND state = ?2 RETURNING {}",
            kRunColumns);
        AGENTCORE_ASSIGN_OR_RETURN(Statement st, c.Prepare(sql));
        st.Bind(1, id);
        st.Bind(2, RunStateName(from));
        st.Bind(3, RunStateName(to));
        if (update.attempts) {
          st.Bind(4, *update.attempts);
        } else {
          st.BindNull(4);
        }
        st.Bind(5, result.has_value());
        if (result) {
          st.Bind(6, *result);
        } else {
          st.BindNull(6);
        }
        st.Bind(7, update.error);
        st.Bind(8, update.lease_expires_at.has_value());
        if (update.lease_expires_at) {
          st.Bind(9, *update.lease_expires_at);
        } else {
          st.BindNull(9);
        }
        st.Bind(10, update.worker_id);
        st.Bind(11, now);
        st.Bind(12, update.available_at);
        AGENTCORE_ASSIGN_OR_RETURN(bool row, st.Step());
        if (row) {
          AGENTCORE_ASSIGN_OR_RETURN(out, RunFromRow(st));
          return st.Run();
        }
        AGENTCORE_ASSIGN_OR_RETURN(Run current, LoadRun(c, id));
        return Conflict(fmt::format("run \"{}\" is {}, not {}", id, RunStateName(current.state),
                                    RunStateName(from)));
      });
      !written.ok()) {
    return written;
  }
  return out;
}

Result<std::vector<Run>> SqliteStore::ListRuns(const RunFilter& filter) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("run project id", filter.project_id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("run cursor", filter.before_id));
  std::string states;
  if (!filter.states.empty()) {
    JsonWriter w(&states);
    w.BeginArray();
    for (RunState s : filter.states) {
      if (!IsRunState(s)) return InvalidArgument("run state out of range");
      w.String(RunStateName(s));
    }
    w.EndArray();
  }
  const std::size_t limit = std::min(filter.limit, kMaxPageSize);
  if (limit == 0) return std::vector<Run>();
  std::string where = "WHERE 1";
  if (!filter.project_id.empty()) where += " AND project_id = ?1";
  if (!states.empty()) where += " AND state IN (SELECT value FROM json_each(?2))";
  if (filter.lease_before) where += " AND lease_expires_at < ?3";
  if (!filter.before_id.empty()) where += " AND (created_at, id) < (?5, ?6)";
  where += " ORDER BY created_at DESC, id DESC LIMIT ?4";
  const std::string sql = SelectSql(kRunColumns, "runs", where);
  return Read([&](Connection& c) -> Result<std::vector<Run>> {
    // The cursor's place, read in the same read transaction as the page.
    UnixMillis cursor_created_at = 0;
    if (!filter.before_id.empty()) {
      AGENTCORE_ASSIGN_OR_RETURN(
          cursor_created_at,
          QueryOne<UnixMillis>(
              c, "SELECT created_at FROM runs WHERE id = ?1",
              [](const Statement& row) { return row.Int(0); },
              [&] { return RunNotFound(filter.before_id); }, filter.before_id));
    }
    AGENTCORE_ASSIGN_OR_RETURN(Statement st, c.Prepare(sql));
    if (!filter.project_id.empty()) st.Bind(1, filter.project_id);
    if (!states.empty()) st.Bind(2, states);
    if (filter.lease_before) st.Bind(3, *filter.lease_before);
    st.Bind(4, limit);
    if (!filter.before_id.empty()) {
      st.Bind(5, cursor_created_at);
      st.Bind(6, filter.before_id);
    }
    std::vector<Run> out;
    for (;;) {
      AGENTCORE_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      AGENTCORE_ASSIGN_OR_RETURN(Run r, RunFromRow(st));
      out.push_back(std::move(r));
    }
  });
}

Result<std::optional<Run>> SqliteStore::ClaimRun(const RunClaim& claim) {
  AGENTCORE_RETURN_IF_ERROR(CheckRunClaim(claim));
  const UnixMillis now = Now();
  std::optional<Run> out;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        // One statement in the single writer, so no other write runs between the choice and
        // the update. The choice walks runs_queue in (created_at, id) order; runs_active
        // answers "is the project busy" per queued run.
        static const std::string sql = fmt::format(
            "UPDATE runs SET state = 'planning', attempts = attempts + 1, "
            "lease_expires_at = ?3, worker_id = ?2, updated_at = ?4 "
            "WHERE id = (SELECT r.id FROM runs r WHERE r.state = 'queued' "
            "AND r.available_at <= ?1 AND NOT EXISTS (SELECT 1 FROM runs b "
            "WHERE b.project_id = r.project_id AND b.state IN ('planning', 'building')) "
            "ORDER BY r.created_at, r.id LIMIT 1) RETURNING {}",
            kRunColumns);
        AGENTCORE_ASSIGN_OR_RETURN(Statement st, ctx.conn().Prepare(sql));
        BindAll(st, claim.now, claim.worker_id, claim.lease_until, now);
        AGENTCORE_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) return Status::Ok();
        AGENTCORE_ASSIGN_OR_RETURN(out, RunFromRow(st));
        return st.Run();
      });
      !written.ok()) {
    return written;
  }
  return out;
}

Status SqliteStore::RenewRunLease(std::string_view run_id, std::string_view worker_id,
                                  UnixMillis lease_until) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run id", run_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run worker id", worker_id));
  const UnixMillis now = Now();
  return Write([&](WriteContext& ctx) -> Status {
    Connection& c = ctx.conn();
    AGENTCORE_ASSIGN_OR_RETURN(
        int n, Execute(c,
                       "UPDATE runs SET lease_expires_at = ?3, updated_at = ?4 WHERE id = ?1 "
                       "AND worker_id = ?2 AND state IN ('planning', 'building')",
                       run_id, worker_id, lease_until, now));
    if (n == 1) return Status::Ok();
    AGENTCORE_ASSIGN_OR_RETURN(Run current, LoadRun(c, run_id));
    return RunLeaseConflict(current, worker_id);
  });
}

Result<RunEventRecord> SqliteStore::AppendRunEvent(std::string_view run_id, std::string_view type,
                                                   const Json& data) {
  const std::pair<std::string, Json> one{std::string(type), data};
  AGENTCORE_ASSIGN_OR_RETURN(std::vector<RunEventRecord> appended,
                             AppendRunEvents(run_id, std::span(&one, 1)));
  return std::move(appended.front());
}

Result<std::vector<RunEventRecord>> SqliteStore::AppendRunEvents(
    std::string_view run_id, std::span<const std::pair<std::string, Json>> events) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run id", run_id));
  std::vector<RunEventRecord> out;
  std::vector<std::optional<std::string>> texts;  // null data stays SQL NULL
  out.reserve(events.size());
  texts.reserve(events.size());
  const UnixMillis now = Now();
  for (const auto& [type, data] : events) {
    AGENTCORE_RETURN_IF_ERROR(CheckKey("run event type", type));
    AGENTCORE_ASSIGN_OR_RETURN(
        auto text, EncodeNullableJson("run event data", data, options_.max_content_bytes));
    texts.push_back(std::move(text));
    RunEventRecord e;
    e.run_id = run_id;
    e.type = type;
    e.data = data;
    e.created_at = now;
    out.push_back(std::move(e));
  }
  if (out.empty()) return out;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        // The counter lives on the run row, so seq is gapless per run: it only moves inside the
        // transaction that inserts the events (a failed write rolls all of it back).
        AGENTCORE_ASSIGN_OR_RETURN(
            std::uint64_t last,
            QueryOne<std::uint64_t>(
                c,
                "UPDATE runs SET last_event_seq = last_event_seq + ?2 WHERE id = ?1 "
                "RETURNING last_event_seq",
                [](const Statement& s) { return static_cast<std::uint64_t>(s.Int(0)); },
                [&] { return RunNotFound(run_id); }, run_id,
                static_cast<std::int64_t>(out.size())));
        std::uint64_t seq = last - out.size();
        for (std::size_t i = 0; i < out.size(); ++i) {
          out[i].seq = ++seq;
          AGENTCORE_RETURN_IF_ERROR(
              Execute(c,
                      "INSERT INTO run_events (run_id, seq, type, data, created_at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
                      out[i].run_id, ToInt64(out[i].seq), out[i].type, texts[i],
                      out[i].created_at)
                  .status());
          ctx.Changed(StoreChange::Kind::kRunEvent, out[i].run_id, out[i].run_id, out[i].seq);
        }
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return out;
}

Result<std::vector<RunEventRecord>> SqliteStore::ListRunEvents(std::string_view run_id,
                                                               std::uint64_t after_seq,
                                                               std::size_t limit) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("run id", run_id));
  const std::size_t n = std::min(limit, kMaxPageSize);
  static const std::string sql = SelectSql(kRunEventColumns, "run_events",
                                           "WHERE run_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
  return Read([&](Connection& c) -> Result<std::vector<RunEventRecord>> {
    AGENTCORE_ASSIGN_OR_RETURN(
        auto events,
        QueryAll<RunEventRecord>(c, sql, RunEventFromRow, run_id, ToInt64(after_seq), n));
    if (events.empty()) {
      AGENTCORE_ASSIGN_OR_RETURN(bool run, Exists(c, "SELECT 1 FROM runs WHERE id = ?1", run_id));
      if (!run) return RunNotFound(run_id);
    }
    return events;
  });
}

// --- Sessions

Result<Session> SqliteStore::PutSession(const Session& session) {
  AGENTCORE_RETURN_IF_ERROR(CheckSession(session, options_.max_content_bytes));
  if (!IsSessionState(session.state)) return InvalidArgument("session state out of range");
  AGENTCORE_ASSIGN_OR_RETURN(auto metadata, EncodeNullableJson("session metadata", session.metadata,
                                                               options_.max_content_bytes));
  AGENTCORE_ASSIGN_OR_RETURN(auto spec, EncodeNullableJson("session spec", session.spec,
                                                           options_.max_content_bytes));
  std::optional<std::int64_t> exit_code;
  if (session.exit_code) exit_code = *session.exit_code;
  const UnixMillis now = Now();
  Session out;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        // Replacing keeps the original created_at.
        static const std::string sql = fmt::format(
            "INSERT INTO sessions (id, owner_id, state, generation, image, container_id, metadata, "
            "created_at, updated_at, api_key_id, instance, spec, exit_code, reason, started_at, "
            "stopped_at, running_ms, cpu_millis, memory_mb) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
            "?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) "
            "ON CONFLICT (id) DO UPDATE SET owner_id = excluded.owner_id, state = excluded.state, "
            "generation = excluded.generation, image = excluded.image, "
            "container_id = excluded.container_id, metadata = excluded.metadata, "
            "updated_at = excluded.updated_at, api_key_id = excluded.api_key_id, "
            "instance = excluded.instance, spec = excluded.spec, exit_code = excluded.exit_code, "
            "reason = excluded.reason, started_at = excluded.started_at, "
            "stopped_at = excluded.stopped_at, running_ms = excluded.running_ms, "
            "cpu_millis = excluded.cpu_millis, memory_mb = excluded.memory_mb RETURNING {}",
            kSessionColumns);
        AGENTCORE_ASSIGN_OR_RETURN(
            out, QueryOne<Session>(
                     ctx.conn(), sql, SessionFromRow,
                     [] { return Internal("session upsert returned no row"); }, session.id,
                     session.owner_id, SessionStateName(session.state), session.generation,
                     session.image, session.container_id, metadata, now, session.api_key_id,
                     session.instance, spec, exit_code, session.reason, session.started_at,
                     session.stopped_at, session.running_ms, session.cpu_millis,
                     session.memory_mb));
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return out;
}

Result<Session> SqliteStore::GetSession(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("session id", id));
  static const std::string sql = SelectSql(kSessionColumns, "sessions", "WHERE id = ?1");
  return Read([&](Connection& c) {
    return QueryOne<Session>(
        c, sql, SessionFromRow, [&] { return SessionNotFound(id); }, id);
  });
}

Result<std::vector<Session>> SqliteStore::ListSessions(std::string_view owner_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("session owner id", owner_id));
  static const std::string sql =
      SelectSql(kSessionColumns, "sessions", "WHERE owner_id = ?1 ORDER BY created_at, id");
  return Read([&](Connection& c) { return QueryAll<Session>(c, sql, SessionFromRow, owner_id); });
}

Status SqliteStore::DeleteSession(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("session id", id));
  return Write([&](WriteContext& ctx) -> Status {
    AGENTCORE_ASSIGN_OR_RETURN(int n,
                               Execute(ctx.conn(), "DELETE FROM sessions WHERE id = ?1", id));
    return n == 0 ? SessionNotFound(id) : Status::Ok();
  });
}

namespace {

// The filter's WHERE clause (parameters ?1..?5); ?6 and ?7 are FindSessions' page.
constexpr std::string_view kSessionFilterWhere =
    "WHERE (?1 = '' OR owner_id = ?1) AND (?2 = '' OR api_key_id = ?2) AND "
    "(?3 = '' OR instance = ?3) AND ((?4 = '' AND state <> 'deleted') OR "
    "instr(',' || ?4 || ',', ',' || state || ',') > 0)";

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

std::string StateList(const SessionFilter& f) {
  std::string out;
  for (SessionState s : f.states) {
    if (!out.empty()) out += ',';
    out += SessionStateName(s);
  }
  return out;
}

}  // namespace

Result<std::vector<Session>> SqliteStore::FindSessions(const SessionFilter& filter) {
  AGENTCORE_RETURN_IF_ERROR(CheckSessionFilter(filter));
  static const std::string sql =
      SelectSql(kSessionColumns, "sessions",
                fmt::format("{} AND (?5 = '' OR id < ?5) ORDER BY id DESC LIMIT ?6",
                            kSessionFilterWhere));
  const std::int64_t limit = static_cast<std::int64_t>(
      filter.limit == 0 ? kMaxPageSize : std::min(filter.limit, kMaxPageSize));
  const std::string states = StateList(filter);
  return Read([&](Connection& c) {
    return QueryAll<Session>(c, sql, SessionFromRow, filter.owner_id, filter.api_key_id,
                             filter.instance, states, filter.before_id, limit);
  });
}

Result<std::size_t> SqliteStore::CountSessions(const SessionFilter& filter) {
  AGENTCORE_RETURN_IF_ERROR(CheckSessionFilter(filter));
  static const std::string sql =
      fmt::format("SELECT count(*) FROM sessions {}", kSessionFilterWhere);
  const std::string states = StateList(filter);
  return Read([&](Connection& c) -> Result<std::size_t> {
    return QueryOne<std::size_t>(
        c, sql, [](const Statement& row) { return static_cast<std::size_t>(row.Int(0)); },
        [] { return Internal("session count returned no row"); }, filter.owner_id,
        filter.api_key_id, filter.instance, states);
  });
}

Result<SessionUsage> SqliteStore::SumSessionUsage(std::string_view api_key_id, UnixMillis now) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("session api key id", api_key_id));
  // A running session's time so far: running_ms of its ended processes plus now - started_at.
  static const std::string sql =
      "SELECT count(*), "
      "coalesce(sum(CASE WHEN state IN ('creating', 'running') THEN 1 ELSE 0 END), 0), "
      "coalesce(sum(t), 0), coalesce(sum(t * cpu_millis), 0), coalesce(sum(t * memory_mb), 0) "
      "FROM (SELECT state, cpu_millis, memory_mb, running_ms + CASE WHEN state = 'running' AND "
      "started_at IS NOT NULL AND started_at < ?2 THEN ?2 - started_at ELSE 0 END AS t "
      "FROM sessions WHERE api_key_id = ?1)";
  return Read([&](Connection& c) -> Result<SessionUsage> {
    return QueryOne<SessionUsage>(
        c, sql,
        [](const Statement& row) {
          SessionUsage u;
          u.sessions = row.Int(0);
          u.running = row.Int(1);
          u.running_ms = row.Int(2);
          u.cpu_milli_ms = row.Int(3);
          u.memory_mb_ms = row.Int(4);
          return u;
        },
        [] { return Internal("session usage returned no row"); }, api_key_id, now);
  });
}

// --- Teams

Result<Team> SqliteStore::CreateTeam(const Team& team) {
  AGENTCORE_RETURN_IF_ERROR(CheckTeam(team, options_.max_content_bytes));
  AGENTCORE_ASSIGN_OR_RETURN(
      auto spec, EncodeNullableJson("team spec", team.spec, options_.max_content_bytes));
  Team t = team;
  if (t.id.empty()) t.id = ids_.Next();
  t.created_at = t.updated_at = Now();
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        AGENTCORE_ASSIGN_OR_RETURN(bool taken,
                                   Exists(c, "SELECT 1 FROM teams WHERE id = ?1", t.id));
        if (taken) return AlreadyExists(fmt::format("team \"{}\" already exists", t.id));
        AGENTCORE_ASSIGN_OR_RETURN(
            bool name_taken,
            Exists(c, "SELECT 1 FROM teams WHERE space_id = ?1 AND name = ?2", t.space_id, t.name));
        if (name_taken) {
          return AlreadyExists(
              fmt::format("team named \"{}\" already exists in space \"{}\"", t.name, t.space_id));
        }
        return Execute(c,
                       "INSERT INTO teams (id, space_id, name, spec, created_at, updated_at) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                       t.id, t.space_id, t.name, spec, t.created_at)
            .status();
      });
      !written.ok()) {
    return written;
  }
  return t;
}

Result<Team> SqliteStore::GetTeam(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("team id", id));
  return Read([&](Connection& c) { return LoadTeam(c, id); });
}

Result<std::vector<Team>> SqliteStore::ListTeams(std::string_view space_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("team space id", space_id));
  static const std::string sql =
      SelectSql(kTeamColumns, "teams", "WHERE space_id = ?1 ORDER BY created_at, id");
  return Read([&](Connection& c) { return QueryAll<Team>(c, sql, TeamFromRow, space_id); });
}

Result<Team> SqliteStore::UpdateTeamSpec(std::string_view id, const Json& spec) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("team id", id));
  AGENTCORE_ASSIGN_OR_RETURN(auto text,
                             EncodeNullableJson("team spec", spec, options_.max_content_bytes));
  const UnixMillis now = Now();
  Team out;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        static const std::string sql = fmt::format(
            "UPDATE teams SET spec = ?2, updated_at = ?3 WHERE id = ?1 RETURNING {}", kTeamColumns);
        AGENTCORE_ASSIGN_OR_RETURN(out, QueryOne<Team>(
                                            ctx.conn(), sql, TeamFromRow,
                                            [&] { return TeamNotFound(id); }, id, text, now));
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return out;
}

Status SqliteStore::DeleteTeam(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("team id", id));
  return Write([&](WriteContext& ctx) -> Status {
    AGENTCORE_ASSIGN_OR_RETURN(int n, Execute(ctx.conn(), "DELETE FROM teams WHERE id = ?1", id));
    return n == 0 ? TeamNotFound(id) : Status::Ok();
  });
}

}  // namespace agentcore::internal::sqlite
