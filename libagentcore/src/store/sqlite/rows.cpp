// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/rows.hpp"

#include <fmt/format.h>

#include "store/record_checks.hpp"

namespace agentcore::internal::sqlite {

namespace {

// A nullable JSON column: NULL reads as Json null.
Result<Json> JsonColumn(const Statement& row, int col, std::string_view what) {
  if (row.IsNull(col)) return Json();
  return DecodeJson(what, row.Text(col));
}

std::uint32_t U32(std::int64_t v) { return static_cast<std::uint32_t>(v); }

}  // namespace

std::string SelectSql(std::string_view columns, std::string_view table, std::string_view rest) {
  return fmt::format("SELECT {} FROM {} {}", columns, table, rest);
}

User UserFromRow(const Statement& row) {
  User u;
  u.id = row.String(0);
  u.external_id = row.String(1);
  u.callsign = row.String(2);
  u.email = row.String(3);
  u.avatar_url = row.String(4);
  u.disclaimer_accepted_version = row.String(5);
  u.created_at = row.Int(6);
  u.updated_at = row.Int(7);
  return u;
}

Space SpaceFromRow(const Statement& row) {
  Space s;
  s.id = row.String(0);
  s.name = row.String(1);
  s.owner_callsign = row.String(2);
  s.created_at = row.Int(3);
  s.owner_id = row.String(4);
  return s;
}

Channel ChannelFromRow(const Statement& row) {
  Channel c;
  c.id = row.String(0);
  c.space_id = row.String(1);
  c.name = row.String(2);
  c.tagline = row.String(3);
  c.mission = row.String(4);
  c.archived = row.Int(5) != 0;
  c.created_at = row.Int(6);
  c.updated_at = row.Int(7);
  c.last_active_at = row.Int(8);
  return c;
}

Result<RosterEntry> RosterEntryFromRow(const Statement& row) {
  RosterEntry r;
  r.id = row.String(0);
  r.channel_id = row.String(1);
  r.callsign = row.String(2);
  r.agent_type = row.String(3);
  r.status = StoredRosterStatus(row.Text(4));
  r.created_at = row.Int(5);
  r.callback_url = row.OptString(6);
  r.readmark = row.OptString(7);
  r.last_heartbeat = row.OptInt(8);
  r.last_message_routed_at = row.OptInt(9);
  AGENTCORE_ASSIGN_OR_RETURN(r.route_hints, JsonColumn(row, 10, "roster route hints"));
  AGENTCORE_ASSIGN_OR_RETURN(r.current, JsonColumn(row, 11, "roster current"));
  AGENTCORE_ASSIGN_OR_RETURN(r.props, JsonColumn(row, 12, "roster props"));
  r.runtime_id = row.String(13);
  r.container_token_hash = row.String(14);
  return r;
}

Result<Message> MessageFromRow(const Statement& row) {
  Message m;
  m.id = row.String(0);
  m.space_id = row.String(1);
  m.channel_id = row.String(2);
  m.sender = row.String(3);
  m.sender_type = row.String(4);
  m.type = row.String(5);
  AGENTCORE_ASSIGN_OR_RETURN(m.content, DecodeJson("message content", row.Text(6)));
  m.timestamp = row.Int(7);
  m.is_complete = row.Int(8) != 0;
  if (!row.IsNull(9)) {
    AGENTCORE_ASSIGN_OR_RETURN(Json agents, DecodeJson("message addressed agents", row.Text(9)));
    if (!agents.is_array()) return Internal("stored message addressed agents is not an array");
    std::vector<std::string> names;
    names.reserve(agents.as_array().size());
    for (Json& a : agents.as_array()) {
      if (!a.is_string()) return Internal("stored message addressed agent is not a string");
      names.push_back(std::move(a.as_string()));
    }
    m.addressed_agents = std::move(names);
  }
  AGENTCORE_ASSIGN_OR_RETURN(m.metadata, JsonColumn(row, 10, "message metadata"));
  m.state = row.OptString(11);
  m.seq = static_cast<std::uint64_t>(row.Int(12));
  return m;
}

PendingDelivery PendingFromRow(const Statement& row) {
  PendingDelivery d;
  d.channel_id = row.String(0);
  d.callsign = row.String(1);
  d.message_id = row.String(2);
  d.enqueued_at = row.Int(3);
  d.attempts = U32(row.Int(4));
  return d;
}

Result<Run> RunFromRow(const Statement& row) {
  Run r;
  r.id = row.String(0);
  r.project_id = row.String(1);
  auto state = ParseRunState(row.Text(2));
  if (!state) return Internal(fmt::format("stored run state: {}", state.error().message()));
  r.state = *state;
  r.attempts = U32(row.Int(3));
  AGENTCORE_ASSIGN_OR_RETURN(r.input, JsonColumn(row, 4, "run input"));
  AGENTCORE_ASSIGN_OR_RETURN(r.result, JsonColumn(row, 5, "run result"));
  r.error = row.String(6);
  r.lease_expires_at = row.OptInt(7);
  r.worker_id = row.String(8);
  r.created_at = row.Int(9);
  r.updated_at = row.Int(10);
  r.available_at = row.Int(11);
  r.last_event_seq = static_cast<std::uint64_t>(row.Int(12));
  return r;
}

Result<Project> ProjectFromRow(const Statement& row) {
  Project p;
  p.space_id = row.String(0);
  p.id = row.String(1);
  p.name = row.String(2);
  p.channel_id = row.String(3);
  AGENTCORE_ASSIGN_OR_RETURN(p.settings, JsonColumn(row, 4, "project settings"));
  p.created_at = row.Int(5);
  p.updated_at = row.Int(6);
  return p;
}

ModelPrice ModelPriceFromRow(const Statement& row) {
  ModelPrice m;
  m.provider = row.String(0);
  m.model = row.String(1);
  m.input_usd_per_mtok = row.Double(2);
  m.output_usd_per_mtok = row.Double(3);
  m.active = row.Int(4) != 0;
  m.updated_at = row.Int(5);
  return m;
}

WebhookDelivery WebhookFromRow(const Statement& row) {
  WebhookDelivery w;
  w.id = row.String(0);
  w.run_id = row.String(1);
  w.url = row.String(2);
  w.body = row.String(3);
  w.attempts = U32(row.Int(4));
  w.next_attempt_at = row.Int(5);
  w.delivered_at = row.OptInt(6);
  w.gave_up = row.Int(7) != 0;
  w.last_error = row.String(8);
  w.created_at = row.Int(9);
  return w;
}

Result<RunEventRecord> RunEventFromRow(const Statement& row) {
  RunEventRecord e;
  e.run_id = row.String(0);
  e.seq = static_cast<std::uint64_t>(row.Int(1));
  e.type = row.String(2);
  AGENTCORE_ASSIGN_OR_RETURN(e.data, JsonColumn(row, 3, "run event data"));
  e.created_at = row.Int(4);
  return e;
}

Result<Session> SessionFromRow(const Statement& row) {
  Session s;
  s.id = row.String(0);
  s.owner_id = row.String(1);
  auto state = ParseSessionState(row.Text(2));
  if (!state) return Internal(fmt::format("stored session state: {}", state.error().message()));
  s.state = *state;
  s.generation = U32(row.Int(3));
  s.image = row.String(4);
  s.container_id = row.String(5);
  AGENTCORE_ASSIGN_OR_RETURN(s.metadata, JsonColumn(row, 6, "session metadata"));
  s.created_at = row.Int(7);
  s.updated_at = row.Int(8);
  s.api_key_id = row.String(9);
  s.instance = row.String(10);
  AGENTCORE_ASSIGN_OR_RETURN(s.spec, JsonColumn(row, 11, "session spec"));
  if (auto code = row.OptInt(12)) s.exit_code = static_cast<int>(*code);
  s.reason = row.String(13);
  s.started_at = row.OptInt(14);
  s.stopped_at = row.OptInt(15);
  s.running_ms = row.Int(16);
  s.cpu_millis = row.Int(17);
  s.memory_mb = row.Int(18);
  return s;
}

Result<Team> TeamFromRow(const Statement& row) {
  Team t;
  t.id = row.String(0);
  t.space_id = row.String(1);
  t.name = row.String(2);
  AGENTCORE_ASSIGN_OR_RETURN(t.spec, JsonColumn(row, 3, "team spec"));
  t.created_at = row.Int(4);
  t.updated_at = row.Int(5);
  return t;
}

ApiKey ApiKeyFromRow(const Statement& row) {
  ApiKey k;
  k.id = row.String(0);
  k.space_id = row.String(1);
  k.name = row.String(2);
  k.key_hash = row.String(3);
  k.prefix = row.String(4);
  k.created_at = row.Int(5);
  k.last_used_at = row.OptInt(6);
  k.revoked = row.Int(7) != 0;
  return k;
}

IdempotencyRecord IdempotencyFromRow(const Statement& row) {
  IdempotencyRecord r;
  r.scope = row.String(0);
  r.key = row.String(1);
  r.request_hash = row.String(2);
  r.status_code = static_cast<int>(row.Int(3));
  r.response_body = row.String(4);
  r.created_at = row.Int(5);
  r.expires_at = row.Int(6);
  return r;
}

Result<Artifact> ArtifactFromRow(const Statement& row) {
  Artifact a;
  a.id = row.String(0);
  a.channel_id = row.String(1);
  a.slug = row.String(2);
  a.type = row.String(3);
  a.title = row.String(4);
  a.tldr = row.String(5);
  a.status = row.String(6);
  a.content_type = row.String(7);
  a.size = static_cast<std::uint64_t>(row.Int(8));
  a.version = U32(row.Int(9));
  AGENTCORE_ASSIGN_OR_RETURN(a.props, JsonColumn(row, 10, "artifact props"));
  a.created_at = row.Int(11);
  a.updated_at = row.Int(12);
  return a;
}

Result<CostRecord> CostFromRow(const Statement& row) {
  CostRecord c;
  c.space_id = row.String(0);
  c.channel_id = row.String(1);
  c.callsign = row.String(2);
  c.cost_usd = row.Double(3);
  c.duration_ms = row.Int(4);
  c.num_turns = row.Int(5);
  AGENTCORE_ASSIGN_OR_RETURN(c.usage, JsonColumn(row, 6, "cost usage"));
  AGENTCORE_ASSIGN_OR_RETURN(c.model_usage, JsonColumn(row, 7, "cost model usage"));
  c.updated_at = row.Int(8);
  return c;
}

}  // namespace agentcore::internal::sqlite
