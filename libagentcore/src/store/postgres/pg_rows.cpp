// SPDX-License-Identifier: Apache-2.0
#include "store/postgres/pg_rows.hpp"

#include <utility>

#include <fmt/format.h>

#include <agentcore/state/run_state.hpp>
#include <agentcore/state/session_state.hpp>

#include "store/record_checks.hpp"

namespace agentcore::internal {

User DecodeUser(const PgRow& row) {
  User u;
  u.id = row.Str(0);
  u.external_id = row.Str(1);
  u.callsign = row.Str(2);
  u.email = row.Str(3);
  u.avatar_url = row.Str(4);
  u.disclaimer_accepted_version = row.Str(5);
  u.created_at = row.Int(6);
  u.updated_at = row.Int(7);
  return u;
}

Space DecodeSpace(const PgRow& row) {
  Space s;
  s.id = row.Str(0);
  s.name = row.Str(1);
  s.owner_callsign = row.Str(2);
  s.created_at = row.Int(3);
  s.owner_id = row.Str(4);
  return s;
}

Channel DecodeChannel(const PgRow& row) {
  Channel c;
  c.id = row.Str(0);
  c.space_id = row.Str(1);
  c.name = row.Str(2);
  c.tagline = row.Str(3);
  c.mission = row.Str(4);
  c.archived = row.Bool(5);
  c.created_at = row.Int(6);
  c.updated_at = row.Int(7);
  c.last_active_at = row.Int(8);
  return c;
}

Result<RosterEntry> DecodeRoster(const PgRow& row) {
  RosterEntry e;
  e.id = row.Str(0);
  e.channel_id = row.Str(1);
  e.callsign = row.Str(2);
  e.agent_type = row.Str(3);
  e.status = StoredRosterStatus(row.View(4));
  e.created_at = row.Int(5);
  e.callback_url = row.OptStr(6);
  e.readmark = row.OptStr(7);
  e.last_heartbeat = row.OptInt(8);
  e.last_message_routed_at = row.OptInt(9);
  AGENTCORE_ASSIGN_OR_RETURN(e.route_hints, DecodeJson("roster route hints", row.View(10)));
  AGENTCORE_ASSIGN_OR_RETURN(e.current, DecodeJson("roster current", row.View(11)));
  AGENTCORE_ASSIGN_OR_RETURN(e.props, DecodeJson("roster props", row.View(12)));
  e.runtime_id = row.Str(13);
  e.container_token_hash = row.Str(14);
  return e;
}

Result<Message> DecodeMessage(const PgRow& row) {
  Message m;
  m.id = row.Str(0);
  m.space_id = row.Str(1);
  m.channel_id = row.Str(2);
  m.sender = row.Str(3);
  m.sender_type = row.Str(4);
  m.type = row.Str(5);
  AGENTCORE_ASSIGN_OR_RETURN(m.content, DecodeJson("message content", row.View(6)));
  m.timestamp = row.Int(7);
  m.is_complete = row.Bool(8);
  if (!row.IsNull(9)) {
    AGENTCORE_ASSIGN_OR_RETURN(Json agents, DecodeJson("message addressed agents", row.View(9)));
    std::vector<std::string> list;
    if (agents.is_array()) {
      for (const Json& a : agents.as_array()) {
        if (a.is_string()) list.push_back(a.as_string());
      }
    }
    m.addressed_agents = std::move(list);
  }
  AGENTCORE_ASSIGN_OR_RETURN(m.metadata, DecodeJson("message metadata", row.View(10)));
  m.state = row.OptStr(11);
  m.seq = static_cast<std::uint64_t>(row.Int(12));
  return m;
}

PendingDelivery DecodePendingDelivery(const PgRow& row) {
  PendingDelivery d;
  d.channel_id = row.Str(0);
  d.callsign = row.Str(1);
  d.message_id = row.Str(2);
  d.enqueued_at = row.Int(3);
  d.attempts = static_cast<std::uint32_t>(row.Int(4));
  return d;
}

Result<Run> DecodeRun(const PgRow& row) {
  Run r;
  r.id = row.Str(0);
  r.project_id = row.Str(1);
  Result<RunState> state = ParseRunState(row.View(2));
  if (!state) return Internal(fmt::format("run \"{}\" has a stored state that does not parse: {}",
                                          r.id, state.error().message()));
  r.state = *state;
  r.attempts = static_cast<std::uint32_t>(row.Int(3));
  AGENTCORE_ASSIGN_OR_RETURN(r.input, DecodeJson("run input", row.View(4)));
  AGENTCORE_ASSIGN_OR_RETURN(r.result, DecodeJson("run result", row.View(5)));
  r.error = row.Str(6);
  r.lease_expires_at = row.OptInt(7);
  r.worker_id = row.Str(8);
  r.created_at = row.Int(9);
  r.updated_at = row.Int(10);
  r.available_at = row.Int(11);
  r.last_event_seq = static_cast<std::uint64_t>(row.Int(12));
  return r;
}

Result<Project> DecodeProject(const PgRow& row) {
  Project p;
  p.space_id = row.Str(0);
  p.id = row.Str(1);
  p.name = row.Str(2);
  p.channel_id = row.Str(3);
  AGENTCORE_ASSIGN_OR_RETURN(p.settings, DecodeJson("project settings", row.View(4)));
  p.created_at = row.Int(5);
  p.updated_at = row.Int(6);
  return p;
}

ModelPrice DecodeModelPrice(const PgRow& row) {
  ModelPrice m;
  m.provider = row.Str(0);
  m.model = row.Str(1);
  m.input_usd_per_mtok = row.Double(2);
  m.output_usd_per_mtok = row.Double(3);
  m.active = row.Bool(4);
  m.updated_at = row.Int(5);
  return m;
}

WebhookDelivery DecodeWebhook(const PgRow& row) {
  WebhookDelivery w;
  w.id = row.Str(0);
  w.run_id = row.Str(1);
  w.url = row.Str(2);
  w.body = row.Str(3);
  w.attempts = static_cast<std::uint32_t>(row.Int(4));
  w.next_attempt_at = row.Int(5);
  w.delivered_at = row.OptInt(6);
  w.gave_up = row.Bool(7);
  w.last_error = row.Str(8);
  w.created_at = row.Int(9);
  return w;
}

Result<RunEventRecord> DecodeRunEvent(const PgRow& row) {
  RunEventRecord e;
  e.run_id = row.Str(0);
  e.seq = static_cast<std::uint64_t>(row.Int(1));
  e.type = row.Str(2);
  AGENTCORE_ASSIGN_OR_RETURN(e.data, DecodeJson("run event data", row.View(3)));
  e.created_at = row.Int(4);
  return e;
}

Result<Session> DecodeSession(const PgRow& row) {
  Session s;
  s.id = row.Str(0);
  s.owner_id = row.Str(1);
  Result<SessionState> state = ParseSessionState(row.View(2));
  if (!state) {
    return Internal(fmt::format("session \"{}\" has a stored state that does not parse: {}", s.id,
                                state.error().message()));
  }
  s.state = *state;
  s.generation = static_cast<std::uint32_t>(row.Int(3));
  s.image = row.Str(4);
  s.container_id = row.Str(5);
  AGENTCORE_ASSIGN_OR_RETURN(s.metadata, DecodeJson("session metadata", row.View(6)));
  s.created_at = row.Int(7);
  s.updated_at = row.Int(8);
  s.api_key_id = row.Str(9);
  s.instance = row.Str(10);
  if (!row.IsNull(11)) {  // null in rows older than migration 8
    AGENTCORE_ASSIGN_OR_RETURN(s.spec, DecodeJson("session spec", row.View(11)));
  }
  if (auto code = row.OptInt(12)) s.exit_code = static_cast<int>(*code);
  s.reason = row.Str(13);
  s.started_at = row.OptInt(14);
  s.stopped_at = row.OptInt(15);
  s.running_ms = row.Int(16);
  s.cpu_millis = row.Int(17);
  s.memory_mb = row.Int(18);
  return s;
}

Result<Team> DecodeTeam(const PgRow& row) {
  Team t;
  t.id = row.Str(0);
  t.space_id = row.Str(1);
  t.name = row.Str(2);
  AGENTCORE_ASSIGN_OR_RETURN(t.spec, DecodeJson("team spec", row.View(3)));
  t.created_at = row.Int(4);
  t.updated_at = row.Int(5);
  return t;
}

ApiKey DecodeApiKey(const PgRow& row) {
  ApiKey k;
  k.id = row.Str(0);
  k.space_id = row.Str(1);
  k.name = row.Str(2);
  k.key_hash = row.Str(3);
  k.prefix = row.Str(4);
  k.created_at = row.Int(5);
  k.last_used_at = row.OptInt(6);
  k.revoked = row.Bool(7);
  return k;
}

IdempotencyRecord DecodeIdempotency(const PgRow& row) {
  IdempotencyRecord r;
  r.scope = row.Str(0);
  r.key = row.Str(1);
  r.request_hash = row.Str(2);
  r.status_code = static_cast<int>(row.Int(3));
  r.response_body = row.Str(4);
  r.created_at = row.Int(5);
  r.expires_at = row.Int(6);
  return r;
}

Result<Artifact> DecodeArtifact(const PgRow& row) {
  Artifact a;
  a.id = row.Str(0);
  a.channel_id = row.Str(1);
  a.slug = row.Str(2);
  a.type = row.Str(3);
  a.title = row.Str(4);
  a.tldr = row.Str(5);
  a.status = row.Str(6);
  a.content_type = row.Str(7);
  a.size = static_cast<std::uint64_t>(row.Int(8));
  a.version = static_cast<std::uint32_t>(row.Int(9));
  AGENTCORE_ASSIGN_OR_RETURN(a.props, DecodeJson("artifact props", row.View(10)));
  a.created_at = row.Int(11);
  a.updated_at = row.Int(12);
  return a;
}

Result<CostRecord> DecodeCost(const PgRow& row) {
  CostRecord c;
  c.space_id = row.Str(0);
  c.channel_id = row.Str(1);
  c.callsign = row.Str(2);
  c.cost_usd = row.Double(3);
  c.duration_ms = row.Int(4);
  c.num_turns = row.Int(5);
  AGENTCORE_ASSIGN_OR_RETURN(c.usage, DecodeJson("cost usage", row.View(6)));
  AGENTCORE_ASSIGN_OR_RETURN(c.model_usage, DecodeJson("cost model usage", row.View(7)));
  c.updated_at = row.Int(8);
  return c;
}

}  // namespace agentcore::internal
