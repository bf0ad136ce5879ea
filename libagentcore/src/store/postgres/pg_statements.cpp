// SPDX-License-Identifier: Apache-2.0
#include "store/postgres/pg_statements.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include "store/postgres/pg_rows.hpp"

namespace agentcore::internal {
namespace {

struct Table {
  std::array<std::string, static_cast<std::size_t>(Stmt::kCount)> sql;
  std::array<std::string, static_cast<std::size_t>(Stmt::kCount)> names;
  std::array<PgStatement, static_cast<std::size_t>(Stmt::kCount)> statements;

  void Set(Stmt s, std::string name, std::string text) {
    const auto i = static_cast<std::size_t>(s);
    names[i] = "ac_" + name;
    sql[i] = std::move(text);
  }

  Table() {
    Set(Stmt::kBegin, "begin", "BEGIN");
    Set(Stmt::kCommit, "commit", "COMMIT");

    // --- Spaces and channels
    // The SELECT after the insert covers the existing row; the caller retries the statement
    // once if a concurrent creator committed between the two snapshots.
    Set(Stmt::kEnsureSpace, "ensure_space",
        fmt::format("WITH ins AS (INSERT INTO spaces (id, name, owner_callsign, owner_id, "
                    "created_at) VALUES ($1, $2, $3, $4, $5::bigint) ON CONFLICT (id) DO NOTHING "
                    "RETURNING {0}) "
                    "SELECT {0} FROM ins UNION ALL "
                    "SELECT {0} FROM spaces WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM ins)",
                    kSpaceColumns));
    Set(Stmt::kGetSpace, "get_space",
        fmt::format("SELECT {} FROM spaces WHERE id = $1", kSpaceColumns));
    Set(Stmt::kInsertChannel, "insert_channel",
        fmt::format("INSERT INTO channels (id, space_id, name, tagline, mission, created_at, "
                    "updated_at, last_active_at) "
                    "SELECT $1, s.id, $3, $4, $5, $6::bigint, $6::bigint, $6::bigint "
                    "FROM spaces s WHERE s.id = $2 RETURNING {}",
                    kChannelColumns));
    Set(Stmt::kGetChannel, "get_channel",
        fmt::format("SELECT {} FROM channels WHERE id = $1", kChannelColumns));
    Set(Stmt::kFindChannelByName, "find_channel",
        fmt::format("SELECT {} FROM channels WHERE space_id = $1 AND name = $2",
                    kChannelColumns));
    Set(Stmt::kListChannels, "list_channels",
        fmt::format("SELECT {} FROM channels WHERE space_id = $1 AND ($2::boolean OR NOT archived) "
                    "ORDER BY created_at DESC, id DESC",
                    kChannelColumns));
    Set(Stmt::kUpdateChannel, "update_channel",
        fmt::format("UPDATE channels SET name = COALESCE($2, name), "
                    "tagline = COALESCE($3, tagline), mission = COALESCE($4, mission), "
                    "archived = COALESCE($5::boolean, archived), updated_at = $6::bigint "
                    "WHERE id = $1 RETURNING {}",
                    kChannelColumns));
    Set(Stmt::kSpaceExists, "space_exists", "SELECT 1 FROM spaces WHERE id = $1");
    Set(Stmt::kChannelExists, "channel_exists", "SELECT 1 FROM channels WHERE id = $1");
    Set(Stmt::kListSpaces, "list_spaces",
        fmt::format("SELECT {} FROM spaces ORDER BY created_at, id LIMIT $1::bigint",
                    kSpaceColumns));

    // --- Users
    Set(Stmt::kInsertUser, "insert_user",
        fmt::format("INSERT INTO users (id, external_id, callsign, email, avatar_url, "
                    "disclaimer_accepted_version, created_at, updated_at, password_hash) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $7::bigint, $8) RETURNING {}",
                    kUserColumns));
    Set(Stmt::kGetUser, "get_user", fmt::format("SELECT {} FROM users WHERE id = $1", kUserColumns));
    // `<> ''` lets the partial unique index serve the lookup.
    Set(Stmt::kFindUserByExternalId, "find_user_by_external_id",
        fmt::format("SELECT {} FROM users WHERE external_id = $1 AND external_id <> ''",
                    kUserColumns));
    Set(Stmt::kFindUserByEmail, "find_user_by_email",
        fmt::format("SELECT {} FROM users WHERE email = $1 AND email <> ''", kUserColumns));
    // One statement, so one transaction: the invite is taken (a row lock, so a concurrent
    // registration with the same code waits and then finds it used) and the user inserted
    // from its row; no row back means the code was not usable (kClassifyInvite says why), a
    // unique violation of the insert rolls the taking of the code back.
    Set(Stmt::kInsertUserWithInvite, "insert_user_with_invite",
        fmt::format("WITH inv AS (UPDATE invite_codes SET used_at = $7::bigint, used_by = $1 "
                    "WHERE code_hash = $9 AND used_at = 0 AND NOT revoked "
                    "AND (expires_at = 0 OR expires_at > $10::bigint) RETURNING id), "
                    "ins AS (INSERT INTO users (id, external_id, callsign, email, avatar_url, "
                    "disclaimer_accepted_version, created_at, updated_at, password_hash) "
                    "SELECT $1, $2, $3, $4, $5, $6, $7::bigint, $7::bigint, $8 FROM inv "
                    "RETURNING {}) SELECT {} FROM ins",
                    kUserColumns, kUserColumns));
    Set(Stmt::kClassifyInvite, "classify_invite",
        "SELECT used_at, revoked, expires_at FROM invite_codes WHERE code_hash = $1");

    // --- Invite codes
    Set(Stmt::kInsertInviteCode, "insert_invite_code",
        fmt::format("INSERT INTO invite_codes (id, code_hash, prefix, created_at, expires_at, "
                    "used_at, used_by, revoked) "
                    "VALUES ($1, $2, $3, $4::bigint, $5::bigint, 0, '', false) RETURNING {}",
                    kInviteCodeColumns));
    Set(Stmt::kGetInviteCode, "get_invite_code",
        fmt::format("SELECT {} FROM invite_codes WHERE id = $1", kInviteCodeColumns));
    Set(Stmt::kListInviteCodes, "list_invite_codes",
        fmt::format("SELECT {} FROM invite_codes ORDER BY created_at, id LIMIT $1::bigint",
                    kInviteCodeColumns));
    Set(Stmt::kRevokeInviteCode, "revoke_invite_code",
        "UPDATE invite_codes SET revoked = true WHERE id = $1 RETURNING id");

    // --- Costs
    // The channel's row decides: no row back means no channel; otherwise `stored` says whether
    // the upsert ran, i.e. whether the given space ($3, '' for any) is the channel's.
    Set(Stmt::kUpsertCost, "upsert_cost",
        "WITH c AS (SELECT id, space_id FROM channels WHERE id = $1), "
        "ins AS (INSERT INTO cost_records (channel_id, callsign, space_id, cost_usd, duration_ms, "
        "num_turns, usage, model_usage, updated_at) "
        "SELECT c.id, $2, c.space_id, $4::float8, $5::bigint, $6::bigint, $7::json, $8::json, "
        "$9::bigint FROM c WHERE $3::text = '' OR c.space_id = $3::text "
        "ON CONFLICT (channel_id, callsign) DO UPDATE SET space_id = EXCLUDED.space_id, "
        "cost_usd = EXCLUDED.cost_usd, duration_ms = EXCLUDED.duration_ms, "
        "num_turns = EXCLUDED.num_turns, usage = EXCLUDED.usage, "
        "model_usage = EXCLUDED.model_usage, updated_at = EXCLUDED.updated_at RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM ins) AS stored FROM c");
    Set(Stmt::kListCosts, "list_costs",
        fmt::format("SELECT {} FROM cost_records WHERE channel_id = $1 "
                    "ORDER BY cost_usd DESC, callsign",
                    kCostColumns));

    // --- Roster
    Set(Stmt::kInsertRoster, "insert_roster",
        fmt::format("INSERT INTO roster (id, channel_id, callsign, agent_type, status, created_at, "
                    "route_hints, \"current\", props, runtime_id, container_token_hash) "
                    "SELECT $1, c.id, $3, $4, $5, $6::bigint, 'null', 'null', $7::json, $8, '' "
                    "FROM channels c WHERE c.id = $2 RETURNING {}",
                    kRosterColumns));
    Set(Stmt::kGetRoster, "get_roster",
        fmt::format("SELECT {} FROM roster WHERE channel_id = $1 AND callsign = $2",
                    kRosterColumns));
    Set(Stmt::kListRoster, "list_roster",
        fmt::format("SELECT {} FROM roster WHERE channel_id = $1 ORDER BY created_at, ord",
                    kRosterColumns));
    Set(Stmt::kRosterExists, "roster_exists",
        "SELECT 1 FROM roster WHERE channel_id = $1 AND callsign = $2");
    Set(Stmt::kUpdateRoster, "update_roster",
        fmt::format("UPDATE roster SET status = COALESCE($3, status), "
                    "agent_type = COALESCE($4, agent_type), "
                    "callback_url = CASE WHEN $5::boolean THEN NULL "
                    "ELSE COALESCE($6, callback_url) END, "
                    "readmark = COALESCE($7, readmark), "
                    "last_heartbeat = COALESCE($8::bigint, last_heartbeat), "
                    "last_message_routed_at = COALESCE($9::bigint, last_message_routed_at), "
                    "route_hints = COALESCE($10::json, route_hints), "
                    "\"current\" = COALESCE($11::json, \"current\"), "
                    "props = COALESCE($12::json, props), "
                    "container_token_hash = COALESCE($13, container_token_hash) "
                    "WHERE channel_id = $1 AND callsign = $2 RETURNING {}",
                    kRosterColumns));
    Set(Stmt::kDeleteRoster, "delete_roster",
        "DELETE FROM roster WHERE channel_id = $1 AND callsign = $2 RETURNING id");

    // --- Messages
    // A whole group-commit batch in one statement: one binary array per column, zipped by
    // unnest. The join with channels (rather than a foreign key error, which would abort the
    // batch) drops a message whose channel is missing or in another space, ON CONFLICT one
    // whose id is taken; RETURNING names the messages that went in, and the writer tells the
    // reasons apart for the others afterwards. The space comes from the channel. seq comes
    // from the column default (a sequence), drawn in the batch's order, and is returned.
    Set(Stmt::kInsertMessages, "insert_messages",
        "INSERT INTO messages (id, space_id, channel_id, sender, sender_type, type, content, "
        "\"timestamp\", is_complete, addressed_agents, metadata, state) "
        "SELECT m.id, c.space_id, c.id, m.sender, m.sender_type, m.type, m.content, m.ts, "
        "m.complete, CASE WHEN m.agents IS NULL THEN NULL "
        "ELSE ARRAY(SELECT json_array_elements_text(m.agents)) END, m.metadata, m.state "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
        "$7::json[], $8::int8[], $9::bool[], $10::json[], $11::json[], $12::text[]) "
        "WITH ORDINALITY AS m(id, space_id, channel_id, sender, sender_type, type, content, ts, "
        "complete, agents, metadata, state, ord) "
        "JOIN channels c ON c.id = m.channel_id AND (m.space_id = '' OR c.space_id = m.space_id) "
        "ORDER BY m.ord ON CONFLICT (id) DO NOTHING RETURNING id, space_id, seq");
    Set(Stmt::kGetMessage, "get_message",
        fmt::format("SELECT {} FROM messages WHERE id = $1", kMessageColumns));
    Set(Stmt::kUpdateMessage, "update_message",
        fmt::format("UPDATE messages SET content = COALESCE($2::json, content), "
                    "is_complete = COALESCE($3::boolean, is_complete), "
                    "metadata = COALESCE($4::json, metadata), state = COALESCE($5, state), "
                    "type = COALESCE($6, type) WHERE id = $1 RETURNING {}",
                    kMessageColumns));
    Set(Stmt::kDeleteMessage, "delete_message", "DELETE FROM messages WHERE id = $1 RETURNING channel_id");
    // One statement per cursor shape, so that each is a range scan of (channel_id, seq) even
    // under a generic plan; the filters ($n IS NULL OR ...) are row filters either way. A
    // cursor id is resolved to a seq once (PageRequest): the message with the greatest id at
    // most the cursor, through messages_id (text_pattern_ops, hence ~<=~ and USING ~>~, the
    // same byte order under COLLATE "C"); exactly the cursor stands at its seq, a smaller id
    // (the cursor names no message) just after it.
    const std::string filters =
        "AND ($3::text IS NULL OR sender = $3 OR $3 = ANY(addressed_agents)) "
        "AND (cardinality($4::text[]) = 0 OR type = ANY($4::text[])) ";
    auto after = [](std::string_view param) {
      return fmt::format("seq > coalesce((SELECT c.seq FROM messages c WHERE c.id ~<=~ {0} "
                         "ORDER BY c.id USING ~>~ LIMIT 1), 0) ",
                         param);
    };
    auto before = [](std::string_view param) {
      return fmt::format("seq < coalesce((SELECT CASE WHEN c.id = {0} THEN c.seq ELSE c.seq + 1 "
                         "END FROM messages c WHERE c.id ~<=~ {0} ORDER BY c.id USING ~>~ "
                         "LIMIT 1), 1) ",
                         param);
    };
    Set(Stmt::kPageAfter, "page_after",
        fmt::format("SELECT {} FROM messages WHERE channel_id = $1 AND {} {}"
                    "ORDER BY seq LIMIT $5::bigint",
                    kMessageColumns, after("$2::text"), filters));
    Set(Stmt::kPageBetween, "page_between",
        fmt::format("SELECT {} FROM messages WHERE channel_id = $1 AND {} AND {} {}"
                    "ORDER BY seq LIMIT $5::bigint",
                    kMessageColumns, after("$2::text"), before("$6::text"), filters));
    Set(Stmt::kPageBefore, "page_before",
        fmt::format("SELECT {} FROM messages WHERE channel_id = $1 AND {} {}"
                    "ORDER BY seq DESC LIMIT $5::bigint",
                    kMessageColumns, before("$2::text"), filters));
    Set(Stmt::kPageNewest, "page_newest",
        fmt::format("SELECT {} FROM messages WHERE channel_id = $1 AND $2::text IS NULL {}"
                    "ORDER BY seq DESC LIMIT $5::bigint",
                    kMessageColumns, filters));

    // --- Pending deliveries
    // Inserts only when the roster entry exists and the message is in its channel, and says
    // which of the two was missing otherwise.
    Set(Stmt::kEnqueuePending, "enqueue_pending",
        "WITH f AS (SELECT EXISTS (SELECT 1 FROM roster WHERE channel_id = $1 AND callsign = $2) "
        "AS entry, EXISTS (SELECT 1 FROM messages WHERE id = $3 AND channel_id = $1) AS message), "
        "ins AS (INSERT INTO pending_deliveries (channel_id, callsign, message_id, enqueued_at) "
        "SELECT $1, $2, $3, $4::bigint FROM f WHERE f.entry AND f.message "
        "ON CONFLICT DO NOTHING) "
        "SELECT entry, message FROM f");
    Set(Stmt::kTakePending, "take_pending",
        fmt::format("WITH picked AS (SELECT message_id FROM pending_deliveries "
                    "WHERE channel_id = $1 AND callsign = $2 ORDER BY message_id "
                    "LIMIT $3::bigint FOR UPDATE) "
                    "UPDATE pending_deliveries p SET attempts = p.attempts + 1 FROM picked "
                    "WHERE p.channel_id = $1 AND p.callsign = $2 "
                    "AND p.message_id = picked.message_id RETURNING {}",
                    kPendingColumnsQualified));
    Set(Stmt::kAckPending, "ack_pending",
        "DELETE FROM pending_deliveries WHERE channel_id = $1 AND callsign = $2 "
        "AND message_id = ANY($3::text[])");

    // --- Runs
    Set(Stmt::kInsertRun, "insert_run",
        fmt::format("INSERT INTO runs (id, project_id, state, input, result, error, worker_id, "
                    "created_at, updated_at, available_at) "
                    "VALUES ($1, $2, 'queued', $3::json, 'null', '', '', $4::bigint, $4::bigint, "
                    "$5::bigint) RETURNING {}",
                    kRunColumns));
    Set(Stmt::kGetRun, "get_run", fmt::format("SELECT {} FROM runs WHERE id = $1", kRunColumns));
    Set(Stmt::kTransitionRun, "transition_run",
        fmt::format("UPDATE runs SET state = $3, attempts = COALESCE($4::bigint, attempts), "
                    "result = COALESCE($5::json, result), error = COALESCE($6, error), "
                    "lease_expires_at = CASE WHEN $7::boolean THEN $8::bigint "
                    "ELSE lease_expires_at END, "
                    "worker_id = COALESCE($9, worker_id), updated_at = $10::bigint, "
                    "available_at = COALESCE($11::bigint, available_at) "
                    "WHERE id = $1 AND state = $2 RETURNING {}",
                    kRunColumns));
    Set(Stmt::kListRuns, "list_runs",
        fmt::format("SELECT {} FROM runs WHERE ($1 = '' OR project_id = $1) "
                    "AND (cardinality($2::text[]) = 0 OR state = ANY($2::text[])) "
                    "AND ($3::bigint IS NULL OR lease_expires_at < $3::bigint) "
                    "ORDER BY created_at DESC, id DESC LIMIT $4::bigint",
                    kRunColumns));
    // Raising last_event_seq locks the run's row, so concurrent appends to one run get
    // consecutive seqs without gaps.
    Set(Stmt::kAppendRunEvent, "append_run_event",
        fmt::format("WITH r AS (UPDATE runs SET last_event_seq = last_event_seq + 1 "
                    "WHERE id = $1 RETURNING id, last_event_seq) "
                    "INSERT INTO run_events (run_id, seq, type, data, created_at) "
                    "SELECT id, last_event_seq, $2, $3::json, $4::bigint FROM r RETURNING {}",
                    kRunEventColumns));
    Set(Stmt::kListRunEvents, "list_run_events",
        fmt::format("SELECT {} FROM run_events WHERE run_id = $1 AND seq > $2::bigint "
                    "ORDER BY seq LIMIT $3::bigint",
                    kRunEventColumns));
    Set(Stmt::kRunExists, "run_exists", "SELECT 1 FROM runs WHERE id = $1");
    // A page after the cursor run $5 (which the caller checks exists, in the same pipeline).
    Set(Stmt::kListRunsBefore, "list_runs_before",
        fmt::format("SELECT {} FROM runs WHERE ($1 = '' OR project_id = $1) "
                    "AND (cardinality($2::text[]) = 0 OR state = ANY($2::text[])) "
                    "AND ($3::bigint IS NULL OR lease_expires_at < $3::bigint) "
                    "AND (created_at, id) < (SELECT c.created_at, c.id FROM runs c "
                    "WHERE c.id = $5) "
                    "ORDER BY created_at DESC, id DESC LIMIT $4::bigint",
                    kRunColumns));
    // The queue (Store::ClaimRun): kClaimLock, then kClaimRun, in one pipeline and so in one
    // transaction. The transaction-scoped advisory lock ("agcorerq" as a big-endian int64)
    // serializes claims; kClaimRun's snapshot is taken after the lock is granted, so it sees
    // every claim committed before, and no other claim commits until this one does. Without
    // it, two claims with concurrent snapshots could each see a project idle and take one of
    // its runs each (SKIP LOCKED skips the other's row, and the NOT EXISTS reads the old
    // snapshot). The lock is held for one indexed statement. SKIP LOCKED passes over a run
    // another write holds (a cancel in flight); the second NOT EXISTS then keeps the
    // project's younger runs waiting, so a project's runs are claimed in order. The partial
    // indexes runs_queue, runs_active and runs_queue_project (migration 7) serve the three
    // lookups; their predicates are literals so that generic plans can use them.
    Set(Stmt::kClaimLock, "claim_lock", "SELECT pg_advisory_xact_lock(7018687874591978097)");
    Set(Stmt::kClaimRun, "claim_run",
        fmt::format("WITH picked AS (SELECT r.id AS pick FROM runs r "
                    "WHERE r.state = 'queued' AND r.available_at <= $1::bigint "
                    "AND NOT EXISTS (SELECT 1 FROM runs b WHERE b.project_id = r.project_id "
                    "AND b.state IN ('planning', 'building')) "
                    "AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.project_id = r.project_id "
                    "AND o.state = 'queued' AND o.available_at <= $1::bigint "
                    "AND (o.created_at, o.id) < (r.created_at, r.id)) "
                    "ORDER BY r.created_at, r.id LIMIT 1 FOR UPDATE OF r SKIP LOCKED) "
                    "UPDATE runs SET state = 'planning', attempts = attempts + 1, "
                    "lease_expires_at = $3::bigint, worker_id = $2, updated_at = $4::bigint "
                    "FROM picked WHERE runs.id = picked.pick RETURNING {}",
                    kRunColumns));
    Set(Stmt::kRenewRunLease, "renew_run_lease",
        "UPDATE runs SET lease_expires_at = $3::bigint, updated_at = $4::bigint "
        "WHERE id = $1 AND worker_id = $2 AND state IN ('planning', 'building') RETURNING id");

    // --- Projects, model prices, webhook outbox
    Set(Stmt::kInsertProject, "insert_project",
        fmt::format("INSERT INTO projects (space_id, id, name, channel_id, settings, created_at, "
                    "updated_at) VALUES ($1, $2, $3, $4, $5::json, $6::bigint, $6::bigint) "
                    "RETURNING {}",
                    kProjectColumns));
    Set(Stmt::kGetProject, "get_project",
        fmt::format("SELECT {} FROM projects WHERE space_id = $1 AND id = $2", kProjectColumns));
    Set(Stmt::kListProjects, "list_projects",
        fmt::format("SELECT {} FROM projects WHERE space_id = $1 AND id > $2 ORDER BY id "
                    "LIMIT $3::bigint",
                    kProjectColumns));
    Set(Stmt::kPutModelPrice, "put_model_price",
        "INSERT INTO model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok, "
        "active, updated_at) VALUES ($1, $2, $3::float8, $4::float8, $5::boolean, $6::bigint) "
        "ON CONFLICT (provider, model) DO UPDATE SET "
        "input_usd_per_mtok = EXCLUDED.input_usd_per_mtok, "
        "output_usd_per_mtok = EXCLUDED.output_usd_per_mtok, active = EXCLUDED.active, "
        "updated_at = EXCLUDED.updated_at");
    Set(Stmt::kGetModelPrice, "get_model_price",
        fmt::format("SELECT {} FROM model_prices WHERE provider = $1 AND model = $2 AND active",
                    kModelPriceColumns));
    Set(Stmt::kListModelPrices, "list_model_prices",
        fmt::format("SELECT {} FROM model_prices ORDER BY provider, model", kModelPriceColumns));
    // As kEnsureSpace: the insert, or the stored row when the id is taken (the caller runs it
    // again when a concurrent enqueue committed between the two snapshots).
    Set(Stmt::kEnqueueWebhook, "enqueue_webhook",
        fmt::format("WITH ins AS (INSERT INTO webhook_deliveries (id, run_id, url, body, "
                    "attempts, next_attempt_at, delivered_at, gave_up, last_error, created_at) "
                    "VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $7::bigint, $8::boolean, $9, "
                    "$10::bigint) ON CONFLICT (id) DO NOTHING RETURNING {0}) "
                    "SELECT {0} FROM ins UNION ALL SELECT {0} FROM webhook_deliveries "
                    "WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM ins)",
                    kWebhookColumns));
    // The WHERE repeats webhook_deliveries_due's, so the partial index serves it.
    Set(Stmt::kListDueWebhooks, "list_due_webhooks",
        fmt::format("SELECT {} FROM webhook_deliveries WHERE delivered_at IS NULL "
                    "AND NOT gave_up AND next_attempt_at <= $1::bigint "
                    "ORDER BY next_attempt_at, id LIMIT $2::bigint",
                    kWebhookColumns));
    Set(Stmt::kUpdateWebhook, "update_webhook",
        "UPDATE webhook_deliveries SET attempts = $2::bigint, next_attempt_at = $3::bigint, "
        "delivered_at = $4::bigint, gave_up = $5::boolean, last_error = $6 WHERE id = $1 "
        "RETURNING id");

    // --- Sessions and teams
    Set(Stmt::kPutSession, "put_session",
        fmt::format("INSERT INTO sessions (id, owner_id, state, generation, image, container_id, "
                    "metadata, created_at, updated_at, "
                    "api_key_id, instance, spec, exit_code, reason, started_at, stopped_at, "
                    "running_ms, cpu_millis, memory_mb) "
                    "VALUES ($1, $2, $3, $4::bigint, $5, $6, $7::json, $8::bigint, $8::bigint, "
                    "$9, $10, $11::json, $12::bigint, $13, $14::bigint, $15::bigint, "
                    "$16::bigint, $17::bigint, $18::bigint) "
                    "ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id, "
                    "state = EXCLUDED.state, generation = EXCLUDED.generation, "
                    "image = EXCLUDED.image, container_id = EXCLUDED.container_id, "
                    "metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at, "
                    "api_key_id = EXCLUDED.api_key_id, instance = EXCLUDED.instance, "
                    "spec = EXCLUDED.spec, exit_code = EXCLUDED.exit_code, "
                    "reason = EXCLUDED.reason, started_at = EXCLUDED.started_at, "
                    "stopped_at = EXCLUDED.stopped_at, running_ms = EXCLUDED.running_ms, "
                    "cpu_millis = EXCLUDED.cpu_millis, memory_mb = EXCLUDED.memory_mb "
                    "RETURNING {}",
                    kSessionColumns));
    Set(Stmt::kGetSession, "get_session",
        fmt::format("SELECT {} FROM sessions WHERE id = $1", kSessionColumns));
    Set(Stmt::kListSessions, "list_sessions",
        fmt::format("SELECT {} FROM sessions WHERE owner_id = $1 ORDER BY created_at, id",
                    kSessionColumns));
    Set(Stmt::kDeleteSession, "delete_session", "DELETE FROM sessions WHERE id = $1 RETURNING id");
    // $1..$4: owner, api key, instance, comma-separated states ('' = all but deleted).
    static constexpr const char* kSessionFilterWhere =
        "WHERE ($1 = '' OR owner_id = $1) AND ($2 = '' OR api_key_id = $2) AND "
        "($3 = '' OR instance = $3) AND (($4 = '' AND state <> 'deleted') OR "
        "state = ANY (string_to_array($4, ',')))";
    Set(Stmt::kFindSessions, "find_sessions",
        fmt::format("SELECT {} FROM sessions {} AND ($5 = '' OR id < $5) ORDER BY id DESC "
                    "LIMIT $6::bigint",
                    kSessionColumns, kSessionFilterWhere));
    Set(Stmt::kCountSessions, "count_sessions",
        fmt::format("SELECT count(*) FROM sessions {}", kSessionFilterWhere));
    Set(Stmt::kSumSessionUsage, "sum_session_usage",
        "SELECT count(*), "
        "coalesce(sum(CASE WHEN state IN ('creating', 'running') THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(t), 0), coalesce(sum(t * cpu_millis), 0), "
        "coalesce(sum(t * memory_mb), 0) "
        "FROM (SELECT state, cpu_millis, memory_mb, running_ms + CASE WHEN state = 'running' "
        "AND started_at IS NOT NULL AND started_at < $2::bigint THEN $2::bigint - started_at "
        "ELSE 0 END AS t FROM sessions WHERE api_key_id = $1) AS s");
    Set(Stmt::kInsertTeam, "insert_team",
        fmt::format("INSERT INTO teams (id, space_id, name, spec, created_at, updated_at) "
                    "VALUES ($1, $2, $3, $4::json, $5::bigint, $5::bigint) RETURNING {}",
                    kTeamColumns));
    Set(Stmt::kGetTeam, "get_team", fmt::format("SELECT {} FROM teams WHERE id = $1", kTeamColumns));
    Set(Stmt::kListTeams, "list_teams",
        fmt::format("SELECT {} FROM teams WHERE space_id = $1 ORDER BY created_at, id",
                    kTeamColumns));
    Set(Stmt::kUpdateTeamSpec, "update_team_spec",
        fmt::format("UPDATE teams SET spec = $2::json, updated_at = $3::bigint WHERE id = $1 "
                    "RETURNING {}",
                    kTeamColumns));
    Set(Stmt::kDeleteTeam, "delete_team", "DELETE FROM teams WHERE id = $1 RETURNING id");

    // --- API keys and idempotency
    Set(Stmt::kInsertApiKey, "insert_api_key",
        fmt::format("INSERT INTO api_keys (id, space_id, name, key_hash, prefix, created_at, "
                    "last_used_at, revoked, tier, requests_per_minute, max_running_sessions, "
                    "admin) VALUES ($1, $2, $3, $4, $5, $6::bigint, $7::bigint, $8::boolean, $9, "
                    "$10::bigint, $11::bigint, $12::boolean) RETURNING {}",
                    kApiKeyColumns));
    Set(Stmt::kFindApiKeyByHash, "find_api_key",
        fmt::format("SELECT {} FROM api_keys WHERE key_hash = $1 AND NOT revoked",
                    kApiKeyColumns));
    Set(Stmt::kListApiKeys, "list_api_keys",
        fmt::format("SELECT {} FROM api_keys WHERE space_id = $1 ORDER BY created_at, id",
                    kApiKeyColumns));
    Set(Stmt::kRevokeApiKey, "revoke_api_key",
        "UPDATE api_keys SET revoked = true WHERE id = $1 RETURNING id");
    Set(Stmt::kTouchApiKey, "touch_api_key",
        "UPDATE api_keys SET last_used_at = GREATEST(COALESCE(last_used_at, $2::bigint), "
        "$2::bigint) WHERE id = $1 RETURNING id");
    // Replaces the record only when the stored one has expired (a live one wins; the caller
    // then reads it with kGetIdempotencyAny in the same pipeline).
    Set(Stmt::kPutIdempotency, "put_idempotency",
        fmt::format("INSERT INTO idempotency_records (scope, key, request_hash, status_code, "
                    "response_body, created_at, expires_at) "
                    "VALUES ($1, $2, $3, $4::bigint, $5, $6::bigint, $7::bigint) "
                    "ON CONFLICT (scope, key) DO UPDATE SET "
                    "request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code, "
                    "response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at, "
                    "expires_at = EXCLUDED.expires_at "
                    "WHERE idempotency_records.expires_at < $6::bigint RETURNING {}",
                    kIdempotencyColumns));
    Set(Stmt::kGetIdempotency, "get_idempotency",
        fmt::format("SELECT {} FROM idempotency_records WHERE scope = $1 AND key = $2 "
                    "AND expires_at >= $3::bigint",
                    kIdempotencyColumns));
    Set(Stmt::kGetIdempotencyAny, "get_idempotency_any",
        fmt::format("SELECT {} FROM idempotency_records WHERE scope = $1 AND key = $2",
                    kIdempotencyColumns));
    Set(Stmt::kPurgeIdempotency, "purge_idempotency",
        "DELETE FROM idempotency_records WHERE expires_at < $1::bigint");

    // --- Artifacts
    Set(Stmt::kPutArtifact, "put_artifact",
        fmt::format("INSERT INTO artifacts (id, channel_id, slug, type, title, tldr, status, "
                    "content_type, size, version, props, created_at, updated_at, blob) "
                    "SELECT $1, c.id, $3, $4, $5, $6, $7, $8, $9::bigint, 1, $10::json, "
                    "$11::bigint, $11::bigint, $12::bytea FROM channels c WHERE c.id = $2 "
                    "ON CONFLICT (channel_id, slug) DO UPDATE SET type = EXCLUDED.type, "
                    "title = EXCLUDED.title, tldr = EXCLUDED.tldr, status = EXCLUDED.status, "
                    "content_type = EXCLUDED.content_type, size = EXCLUDED.size, "
                    "version = artifacts.version + 1, props = EXCLUDED.props, "
                    "updated_at = EXCLUDED.updated_at, blob = EXCLUDED.blob RETURNING {}",
                    kArtifactColumns));
    Set(Stmt::kGetArtifact, "get_artifact",
        fmt::format("SELECT {} FROM artifacts WHERE channel_id = $1 AND slug = $2",
                    kArtifactColumns));
    Set(Stmt::kReadArtifactBlob, "read_artifact_blob",
        "SELECT blob FROM artifacts WHERE channel_id = $1 AND slug = $2");
    Set(Stmt::kListArtifacts, "list_artifacts",
        fmt::format("SELECT {} FROM artifacts WHERE channel_id = $1 ORDER BY slug",
                    kArtifactColumns));
    Set(Stmt::kDeleteArtifact, "delete_artifact",
        "DELETE FROM artifacts WHERE channel_id = $1 AND slug = $2 RETURNING id");

    // --- Clusters
    // One row per event, in the events' order (ids are drawn as the sorted rows arrive).
    Set(Stmt::kAppendClusterEvents, "append_cluster_events",
        "INSERT INTO change_log (kind, channel_id, ref_id, origin, payload) "
        "SELECT e.kind::\"char\", e.channel_id, e.ref_id, e.origin, e.payload "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) "
        "WITH ORDINALITY AS e(kind, channel_id, ref_id, origin, payload, ord) ORDER BY e.ord");
    // ON CONFLICT DO UPDATE locks the existing row and evaluates WHERE on its newest version, so
    // of concurrent acquirers exactly one updates it; the others get no row and read the holder.
    Set(Stmt::kAcquireLease, "acquire_lease",
        "INSERT INTO leases AS l (key, owner, expires_at) VALUES ($1, $2, $4::bigint) "
        "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
        "WHERE l.expires_at <= $3::bigint OR l.owner = excluded.owner "
        "RETURNING key, owner, expires_at");
    Set(Stmt::kGetLease, "get_lease", "SELECT key, owner, expires_at FROM leases WHERE key = $1");
    Set(Stmt::kRenewLeases, "renew_leases",
        "WITH r AS (UPDATE leases SET expires_at = $2::bigint WHERE owner = $1 RETURNING key) "
        "SELECT key FROM r ORDER BY key");
    Set(Stmt::kReleaseLeases, "release_leases",
        "DELETE FROM leases WHERE owner = $1 "
        "AND (cardinality($2::text[]) = 0 OR key = ANY($2::text[]))");
    // key >= prefix starts the index range; starts_with ends it (no LIKE: a prefix may hold %).
    Set(Stmt::kListLeases, "list_leases",
        "SELECT key, owner, expires_at FROM leases WHERE key >= $1 AND starts_with(key, $1) "
        "AND ($2::bigint IS NULL OR expires_at <= $2::bigint) ORDER BY key LIMIT $3::bigint");
    Set(Stmt::kPurgeChangeLog, "purge_change_log",
        "DELETE FROM change_log WHERE created_at < $1::bigint");

    for (std::size_t i = 0; i < statements.size(); ++i) {
      statements[i] = PgStatement{names[i].c_str(), sql[i].c_str()};
    }
  }
};

}  // namespace

bool WritesChangeLog(Stmt s) {
  static constexpr Stmt kLogging[] = {
      Stmt::kInsertMessages, Stmt::kUpdateMessage, Stmt::kDeleteMessage,
      Stmt::kInsertRoster,   Stmt::kUpdateRoster,  Stmt::kDeleteRoster,
      Stmt::kAppendRunEvent, Stmt::kAppendClusterEvents,
  };
  return std::find(std::begin(kLogging), std::end(kLogging), s) != std::end(kLogging);
}

std::span<const PgStatement> PostgresStatements() {
  static const Table table;
  return table.statements;
}

}  // namespace agentcore::internal
