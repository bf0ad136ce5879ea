// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The records a `Store` persists, as plain value types. They cover what the five seed systems
/// keep: Cast's spaces, channels, roster and messages (`shared/spec/cast.md` §6), pending
/// deliveries to agents, Cast's users and per-agent cost totals, Platform Agent's runs and
/// their event logs, projects, model prices and webhook outbox, Octo/execbox sessions,
/// AgentCrew teams, API keys, idempotency records and artifacts.
///
/// Conventions: ids are strings (ULIDs when the store makes them); times are `UnixMillis`;
/// free-form JSON columns are `Json` (null when unset); an optional column that may be absent
/// is `std::optional`. `New*` structs are the inputs of create calls; fields left empty get the
/// documented default.
///
/// Input rules, the same for every backend (kInvalidArgument otherwise, nothing stored):
///  * every string, including those inside JSON values, is valid UTF-8 without NUL bytes;
///  * ids, names, callsigns, slugs, keys and hashes are at most kMaxKeyBytes bytes; ids the
///    store can make may be empty, the other required ones may not;
///  * other text and every JSON value (as JSON text) fit in the store's max_content_bytes.
///
/// Times the store sets: created_at and updated_at come from the store's clock (the values in
/// the input are ignored), as do Message::timestamp (unless NewMessage::timestamp is set),
/// PendingDelivery::enqueued_at and RunEventRecord::created_at. Channel::last_active_at is the
/// newest timestamp of a message appended to the channel (created_at before the first).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <agentcore/clock.hpp>
#include <agentcore/json.hpp>
#include <agentcore/state/agent_state.hpp>
#include <agentcore/state/run_state.hpp>
#include <agentcore/state/session_state.hpp>

namespace agentcore {

/// Longest id, name, callsign, slug, key or hash accepted, in bytes.
inline constexpr std::size_t kMaxKeyBytes = 255;

// --- Users ---------------------------------------------------------------------------------

/// A person who logs in (Cast's `users`, §6). Only `id` is required.
struct User {
  std::string id;           // empty on create: a new ULID
  std::string external_id;  // the login provider's id ("dev:<ULID>", an SSO id); unique when
                            // not empty
  std::string callsign;     // how the user is addressed in channels; not unique
  std::string email;
  std::string avatar_url;                   // text (max_content_bytes), not a key
  std::string disclaimer_accepted_version;  // empty: none accepted yet
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  /// A password account's Argon2id hash (auth/password.hpp); empty: the user has no password.
  /// Never shown, logged or put in a message.
  std::string password_hash;
};

// --- Spaces, channels, roster -------------------------------------------------------------

struct Space {
  std::string id;
  std::string name;
  std::string owner_callsign;  // the space's human (Cast: one owner per space); may be empty
  std::string owner_id;        // that human's User::id; may be empty. A label: the store does
                               // not check that the user exists
  UnixMillis created_at = 0;
};

struct Channel {
  std::string id;
  std::string space_id;
  std::string name;  // unique within the space
  std::string tagline;
  std::string mission;
  bool archived = false;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  UnixMillis last_active_at = 0;
};

struct NewChannel {
  std::string id;  // empty: a new ULID
  std::string space_id;
  std::string name;
  std::string tagline;
  std::string mission;
};

/// A partial update; unset fields are left alone.
struct ChannelPatch {
  std::optional<std::string> name;
  std::optional<std::string> tagline;
  std::optional<std::string> mission;
  std::optional<bool> archived;
};

struct RosterEntry {
  std::string id;
  std::string channel_id;
  std::string callsign;  // unique within the channel
  std::string agent_type;
  /// Stored as RosterStatusName() text in a TEXT column. A stored text that is not one of the
  /// six names (rows written by older tools; Cast stores whatever string a client sends) reads
  /// as RosterStatus::kActive: statuses other than the six act like active, as Cast compares
  /// only with "paused" and "archived".
  RosterStatus status = RosterStatus::kActive;
  UnixMillis created_at = 0;
  std::optional<std::string> callback_url;  // set by checkin; cleared on suspend
  std::optional<std::string> readmark;      // id of the last message delivered
  std::optional<UnixMillis> last_heartbeat;
  std::optional<UnixMillis> last_message_routed_at;
  Json route_hints;  // object of header name -> value, or null
  Json current;      // {status} from set_status, or null
  Json props;
  std::string runtime_id;            // empty: the default runtime
  std::string container_token_hash;  // SHA-256 hex of the container token; empty if none
};

struct NewRosterEntry {
  std::string id;  // empty: a new ULID
  std::string channel_id;
  std::string callsign;
  std::string agent_type;
  RosterStatus status = RosterStatus::kActive;  // kInvalidArgument outside the enumerators
  Json props;
  std::string runtime_id;
};

/// A partial update of a roster entry. For the optional columns, `clear_*` sets them to null;
/// the value fields set them; neither leaves them alone.
struct RosterPatch {
  std::optional<RosterStatus> status;  // kInvalidArgument outside the enumerators
  std::optional<std::string> agent_type;
  std::optional<std::string> callback_url;
  bool clear_callback_url = false;
  std::optional<std::string> readmark;
  std::optional<UnixMillis> last_heartbeat;
  std::optional<UnixMillis> last_message_routed_at;
  std::optional<Json> route_hints;  // Json null clears
  std::optional<Json> current;
  std::optional<Json> props;
  std::optional<std::string> container_token_hash;
};

// --- Messages ------------------------------------------------------------------------------

struct Message {
  std::string id;  // a ULID (the store's, or one the caller chose); names the message
  /// The store's insertion order: assigned on insert, strictly increasing in commit order
  /// within one SQLite store (PostgreSQL: a sequence, so concurrent writers may commit out of
  /// order), never reused, kept when the message is updated or completed. Pages and cursors
  /// follow it, never the id (docs/storage.md, "Message order").
  std::uint64_t seq = 0;
  std::string space_id;
  std::string channel_id;
  std::string sender;
  std::string sender_type;  // user | agent | system
  std::string type;         // user, agent, agent_message, thinking, tool_call, status, ...
  Json content;             // a JSON string for text, an object for structured content
  UnixMillis timestamp = 0;
  bool is_complete = true;  // false while a Tymbal stream is still appending to it
  std::optional<std::vector<std::string>> addressed_agents;
  Json metadata;
  std::optional<std::string> state;  // structured asks: pending | completed | dismissed
};

struct NewMessage {
  std::string id;  // empty: a new ULID; a given id must be unused (kAlreadyExists)
  std::string space_id;
  std::string channel_id;
  std::string sender;
  std::string sender_type;
  std::string type;
  Json content;
  std::optional<UnixMillis> timestamp;  // default: the store's clock
  bool is_complete = true;
  std::optional<std::vector<std::string>> addressed_agents;
  Json metadata;
  std::optional<std::string> state;
};

/// An in-place update of a message (a streaming message growing, then completing).
struct MessagePatch {
  std::optional<Json> content;
  std::optional<bool> is_complete;
  std::optional<Json> metadata;
  std::optional<std::string> state;
  std::optional<std::string> type;
};

/// Which page of a channel's messages to read, in seq order (Message::seq). The cursors are
/// message ids, exclusive, resolved to a position in seq order: an existing message's id (of
/// any channel) stands at its seq; an id that names no message (a deleted one, or garbage)
/// stands just after the message with the greatest id below it, store-wide (for server ULIDs,
/// the message made just before it), or before every message when there is none.
///  * `after` set: the first `limit` messages after it, oldest first (Cast's `since`); with
///    `before` also set, only messages between the two;
///  * `before` set alone: the `limit` messages just before it, returned oldest first;
///  * neither: the newest `limit` messages, returned oldest first.
/// `for_agent` keeps only messages whose addressed_agents contain that callsign, or that it
/// sent. `types` keeps only those message types when not empty. Filters apply before `limit`.
struct PageRequest {
  std::size_t limit = 50;  // clamped to [1, kMaxPageSize]
  std::optional<std::string> after;
  std::optional<std::string> before;
  std::optional<std::string> for_agent;
  std::vector<std::string> types;
};
inline constexpr std::size_t kMaxPageSize = 1000;

struct MessagePage {
  std::vector<Message> messages;  // oldest first
  /// More matching messages exist beyond the page in its direction: after the last one when
  /// `after` is set (up to `before`, if set), else before the first one.
  bool has_more = false;
};

/// A message queued for an agent that could not take it yet (activating, offline). Delivery
/// is at least once: it stays queued until acknowledged.
struct PendingDelivery {
  std::string channel_id;
  std::string callsign;
  std::string message_id;
  UnixMillis enqueued_at = 0;
  std::uint32_t attempts = 0;  // times it was handed out by TakePending
};

// --- Costs ---------------------------------------------------------------------------------

/// The cumulative cost of one agent in one channel (Cast's `cost_records`): the agent reports
/// its running totals and each report replaces the previous one, so there is one record per
/// (channel_id, callsign). cost_usd is finite and not negative, duration_ms and num_turns not
/// negative (kInvalidArgument otherwise).
struct CostRecord {
  std::string space_id;  // empty: the channel's; otherwise it must be the channel's
  std::string channel_id;
  std::string callsign;
  double cost_usd = 0;
  std::int64_t duration_ms = 0;
  std::int64_t num_turns = 0;
  Json usage;        // token counts as the agent reports them, or null
  Json model_usage;  // per-model breakdown, or null
  UnixMillis updated_at = 0;  // the store's clock at the last upsert
};

// --- Runs (Platform Agent) -----------------------------------------------------------------

struct Run {
  std::string id;
  std::string project_id;
  RunState state = RunState::kQueued;
  std::uint32_t attempts = 0;
  Json input;   // prompt, options
  Json result;  // set when it ends
  std::string error;
  std::optional<UnixMillis> lease_expires_at;  // planning/building: the worker's lease
  std::string worker_id;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  /// A queued run is not claimed (Store::ClaimRun) before this time (retry backoff); 0: at once.
  UnixMillis available_at = 0;
  /// Read-only: the seq of the run's newest event (RunEventRecord::seq), 0 before the first.
  std::uint64_t last_event_seq = 0;
};

struct NewRun {
  std::string id;  // empty: a new ULID
  /// Any key the caller chooses (the run service uses the project's channel id); runs of one
  /// project_id are claimed one at a time (Store::ClaimRun).
  std::string project_id;
  Json input;
  UnixMillis available_at = 0;  // not claimed before this time; 0: at once
};

/// Fields a transition may set together with the state.
struct RunUpdate {
  std::optional<std::uint32_t> attempts;
  std::optional<Json> result;
  std::optional<std::string> error;
  std::optional<std::optional<UnixMillis>> lease_expires_at;  // {nullopt} clears
  std::optional<std::string> worker_id;
  std::optional<UnixMillis> available_at;  // Run::available_at (a requeued run's backoff)
};

struct RunFilter {
  std::string project_id;                 // empty: all projects
  std::vector<RunState> states;           // empty: all states
  std::optional<UnixMillis> lease_before;  // only runs whose lease expired before this
  std::size_t limit = 100;
  /// Cursor: only runs older than this run in (created_at, id) order (the list is newest
  /// first, so a page continues with the last id of the page before). Empty: from the newest.
  /// An id that names no run is kNotFound.
  std::string before_id;
};

/// Store::ClaimRun's input: who claims, the time that decides which runs are due, and the
/// lease the claimed run gets.
struct RunClaim {
  std::string worker_id;       // required: the claiming worker (Run::worker_id)
  UnixMillis now = 0;          // runs with available_at <= now are due
  UnixMillis lease_until = 0;  // the claimed run's lease_expires_at
};

/// One entry of a run's append-only event log; `seq` starts at 1 and has no gaps per run, so an
/// SSE client resumes with "events after seq N" (Last-Event-ID). (Not `RunEvent`: that is the
/// run state machine's event enum in state/run_state.hpp.)
struct RunEventRecord {
  std::string run_id;
  std::uint64_t seq = 0;
  std::string type;
  Json data;
  UnixMillis created_at = 0;
};

// --- Projects, model prices, webhook deliveries (Platform Agent) ----------------------------

/// A Platform Agent project of one space (docs/runs.md): its runs are turns of the builder
/// agent in the project's channel. Keyed by (space_id, id).
struct Project {
  std::string space_id;  // the caller's space: projects are per space
  /// The caller's id, e.g. "default": 1..kMaxProjectIdBytes characters of [A-Za-z0-9._-].
  std::string id;
  std::string name;        // may be empty; at most kMaxKeyBytes
  std::string channel_id;  // the project's channel (a channel of space_id; not checked)
  Json settings;           // an object, or null
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
};

/// Longest Project::id, in bytes (its characters are ASCII).
inline constexpr std::size_t kMaxProjectIdBytes = 128;

/// Which page of a space's projects to read (Store::ListProjects), in ascending id order.
struct ProjectFilter {
  std::string space_id;  // required
  /// Cursor: only projects with id > after_id (bytewise); empty: from the first.
  std::string after_id;
  std::size_t limit = 100;  // clamped to kMaxPageSize; 0: none
};

/// The price of one model, for a run's estimated cost. One per (provider, model).
struct ModelPrice {
  std::string provider;            // e.g. "openai"
  std::string model;               // e.g. "gpt-4o-mini"
  double input_usd_per_mtok = 0;   // USD per million input tokens; finite, not negative
  double output_usd_per_mtok = 0;  // USD per million output tokens; finite, not negative
  bool active = true;              // an inactive price is kept but not used (GetModelPrice)
  UnixMillis updated_at = 0;       // the store's clock at the last put
};

/// One webhook POST of a run's final envelope, in the durable outbox: retried until delivered
/// or given up.
struct WebhookDelivery {
  /// The event id (X-Agentcore-Event-Id), unique: enqueueing an existing id returns the
  /// stored row unchanged.
  std::string id;
  std::string run_id;  // a label: not checked against the runs
  std::string url;     // text (max_content_bytes), not empty
  std::string body;    // the exact bytes to POST (UTF-8 text, max_content_bytes)
  std::uint32_t attempts = 0;
  UnixMillis next_attempt_at = 0;
  std::optional<UnixMillis> delivered_at;  // set once a POST got a 2xx
  bool gave_up = false;
  std::string last_error;
  UnixMillis created_at = 0;  // the store's clock at the enqueue
};

/// What Store::UpdateWebhook writes after an attempt: every field replaces the stored one.
struct WebhookUpdate {
  std::uint32_t attempts = 0;
  UnixMillis next_attempt_at = 0;
  std::optional<UnixMillis> delivered_at;
  bool gave_up = false;
  std::string last_error;
};

// --- Sessions (Octo, execbox) and teams (AgentCrew) ----------------------------------------

struct Session {
  std::string id;
  std::string owner_id;
  SessionState state = SessionState::kCreating;
  std::uint32_t generation = 0;  // +1 per upgrade (new container, same identity)
  std::string image;
  std::string container_id;
  Json metadata;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  // Migration 0008 (docs/sessions.md "Model"): what the session service keeps.
  std::string api_key_id;  // who counts it: the API key's id, or "user:<id>"
  std::string instance;    // the runtime instance (server) that runs it
  Json spec;               // the create body as checked (command, env, resources, ports...)
  std::optional<int> exit_code;  // the last process's, once it ended
  std::string reason;            // why the last transition happened
  std::optional<UnixMillis> started_at;  // the current (or last) process became running
  std::optional<UnixMillis> stopped_at;  // the last process ended
  std::int64_t running_ms = 0;  // time spent running by ended processes (usage)
  std::int64_t cpu_millis = 0;  // resources.cpuMillis (usage: cpuMillis x seconds)
  std::int64_t memory_mb = 0;   // resources.memoryMB
};

/// Store::FindSessions and CountSessions: which sessions. Every empty field matches all.
struct SessionFilter {
  std::string owner_id;
  std::string api_key_id;
  std::string instance;
  /// Empty: every state except deleted.
  std::vector<SessionState> states;
  /// A page: only ids below this one (FindSessions orders by id, newest first).
  std::string before_id;
  std::size_t limit = 0;  // FindSessions: clamped to kMaxPageSize; 0: kMaxPageSize
};

/// Store::SumSessionUsage: one key's sessions, deleted ones included.
struct SessionUsage {
  std::int64_t sessions = 0;
  std::int64_t running = 0;          // creating or running
  std::int64_t running_ms = 0;       // ended processes' running_ms + running ones up to now
  std::int64_t cpu_milli_ms = 0;     // sum of cpu_millis x running ms
  std::int64_t memory_mb_ms = 0;     // sum of memory_mb x running ms
};

struct Team {
  std::string id;
  std::string space_id;
  std::string name;  // unique within the space
  Json spec;         // agents, roles, runtime settings
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
};

// --- Credentials and idempotency -----------------------------------------------------------

struct ApiKey {
  std::string id;
  std::string space_id;
  std::string name;
  std::string key_hash;  // SHA-256 hex of the key; the key itself is never stored
  std::string prefix;    // the first characters of the key, to tell keys apart in listings
  UnixMillis created_at = 0;
  std::optional<UnixMillis> last_used_at;
  bool revoked = false;
  /// Limits (migration 0009; hub/rate_limits.hpp): the key's tier (empty: none), its own
  /// requests per minute and running-session cap (0: its tier's, else the defaults), and
  /// whether it is an administrator's (may manage keys and invite codes).
  std::string tier;
  std::uint32_t requests_per_minute = 0;
  std::uint32_t max_running_sessions = 0;
  bool admin = false;
};

/// An invite code (Octo's registration, issue 16): one registration may use it, once, before
/// it expires and unless it is revoked. The code itself is shown once, when generated; the
/// store keeps only its SHA-256 (as for API keys).
struct InviteCode {
  std::string id;         // empty on create: a new ULID
  std::string code_hash;  // Sha256Hex of the code; unique
  std::string prefix;     // the first characters of the code, to tell codes apart in listings
  UnixMillis created_at = 0;
  UnixMillis expires_at = 0;  // 0: never expires
  UnixMillis used_at = 0;     // 0: not used yet
  std::string used_by;        // the User::id that registered with it; empty while unused
  bool revoked = false;
};

/// A response stored under an `Idempotency-Key`: a retry with the same key and the same request
/// gets it back; the same key with another request is a conflict.
struct IdempotencyRecord {
  std::string scope;         // e.g. the API key id or space: keys are unique per scope
  std::string key;
  std::string request_hash;  // hash of method, path and body
  int status_code = 0;
  std::string response_body;
  UnixMillis created_at = 0;
  UnixMillis expires_at = 0;
};

// --- Artifacts -----------------------------------------------------------------------------

struct Artifact {
  std::string id;
  std::string channel_id;
  std::string slug;  // unique within the channel
  std::string type;
  std::string title;
  std::string tldr;
  std::string status;
  std::string content_type;
  std::uint64_t size = 0;  // bytes of the blob
  std::uint32_t version = 1;
  Json props;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
};

// --- Change feed ---------------------------------------------------------------------------

/// What changed, so that every server instance on one database can refresh and broadcast.
/// A fact one hub tells the hubs of other processes on the same database
/// (Store::AppendClusterEvents, docs/cluster.md "Cluster events").
struct ClusterEvent {
  enum class Kind : std::uint8_t {
    kLines,      // a channel's published Tymbal lines; payload encodes them (hub-defined)
    kAgentWake,  // the owner of agent (channel_id, key = callsign) should drain its queue
    kNodeHello,  // a node is here: key "" when it joins (every node answers), else the joining
                 // node's id (the answer); channel_id is the origin's id
  };
  Kind kind = Kind::kLines;
  std::string origin;      // the publishing node (Hub::node_id())
  std::string channel_id;
  std::string key;         // kAgentWake: the callsign; kNodeHello: "" or the joiner
  std::string payload;     // opaque to the store, at most max_content_bytes
};

struct StoreChange {
  enum class Kind : std::uint8_t {
    kMessageCreated,
    kMessageUpdated,
    kMessageDeleted,
    kRosterChanged,
    kRunEvent,
    kCluster,  // a ClusterEvent (`cluster`), from this process or another
  };
  Kind kind = Kind::kMessageCreated;
  std::string channel_id;  // messages and roster; for run events the run id
  std::string id;          // message id, callsign, or run id
  std::uint64_t seq = 0;   // run events: the event's seq
  ClusterEvent cluster;    // kCluster only
};

/// Longest lease key accepted, in bytes: a key names a thing by up to two ids
/// ("agent:<channel>/<callsign>"), so it may be longer than kMaxKeyBytes.
inline constexpr std::size_t kMaxLeaseKeyBytes = 1024;

/// A lease on a named thing (docs/cluster.md "Leases"): who drives it, until when. Keys are
/// "agent:<channel>/<callsign>", "session:<id>", "janitor": 1..kMaxLeaseKeyBytes bytes of
/// UTF-8 without NUL; owners are keys (1..kMaxKeyBytes).
struct Lease {
  std::string key;
  std::string owner;         // a node id
  UnixMillis expires_at = 0; // the owner's clock
};

}  // namespace agentcore
