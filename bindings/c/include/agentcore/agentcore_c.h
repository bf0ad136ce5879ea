/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTCORE_AGENTCORE_C_H_
#define AGENTCORE_AGENTCORE_C_H_

/*
 * The C API of libagentcore (library `agentcore_c`), in the style of LevelDB's c.h: a stable C
 * ABI over the C++ library, for C programs and for other languages' foreign function
 * interfaces. C11 and C++ compilers both accept this header; it names no C++ type.
 *
 * Conventions (docs/embedding.md, "From C"):
 *
 *  - Objects are opaque handles. Whatever a function creates (`*_create`, `*_new_*`, `*_parse`,
 *    `*_copy`, `ac_hub_open`, ...) is released by its `*_destroy` (or `ac_hub_close`). Strings
 *    and buffers the library returns as `char*` are malloc'ed and released with `ac_free`.
 *    `const char*` results are borrowed: they stay valid as the comment says (usually as long
 *    as the handle they came from, unchanged) and must not be freed.
 *  - Errors. A function that can fail takes `char** errptr` as its last argument. On failure it
 *    stores a malloc'ed, NUL-terminated message "<code name>: <text>" there (for example
 *    "not_found: Channel not found"), freeing what `*errptr` held before (so `*errptr` must be
 *    NULL or a message of an earlier call), and signals the failure in its return value: NULL
 *    for handles and strings, -1 for counts and enumeration values, or the non-zero error code
 *    (`ac_code`) for functions that return an `int` status. On success `*errptr` is left as it
 *    was. `errptr` itself may be NULL when the caller needs only the return value.
 *    `ac_error_code(message)` gives the code of a message back.
 *  - NULL where a handle or string is required is an error (AC_INVALID_ARGUMENT), never a
 *    crash. Functions without `errptr` treat a NULL handle as empty (0, "", no-op).
 *  - Strings passed in are UTF-8. Where text may hold any byte (a Tymbal line, a message's
 *    content) it is passed as pointer and length; other strings are NUL-terminated. Invalid
 *    UTF-8 in a string that becomes JSON is AC_INVALID_ARGUMENT.
 *  - No C++ exception leaves this API; an unexpected one (e.g. out of memory) becomes an
 *    AC_INTERNAL error.
 *  - Threads: a handle may be used by one thread at a time, except `ac_hub_t`, which is
 *    thread-safe. Callbacks are called on the threads documented at each one; they must not
 *    throw or longjmp out.
 */

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(AGENTCORE_C_BUILDING)
#define AC_EXPORT __declspec(dllexport)
#elif defined(AGENTCORE_C_SHARED)
#define AC_EXPORT __declspec(dllimport)
#else
#define AC_EXPORT
#endif
#else
#define AC_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Memory, errors, version */

/* Frees a string or buffer the library returned (and error messages). NULL is a no-op. */
AC_EXPORT void ac_free(void* ptr);

/* Error codes; the values are the C++ library's agentcore::ErrorCode and are stable. */
typedef enum ac_code {
  AC_OK = 0,
  AC_INVALID_ARGUMENT = 1,
  AC_UNAUTHENTICATED = 2,
  AC_PERMISSION_DENIED = 3,
  AC_NOT_FOUND = 4,
  AC_ALREADY_EXISTS = 5,
  AC_CONFLICT = 6,
  AC_TOO_LARGE = 7,
  AC_RATE_LIMITED = 8,
  AC_INTERNAL = 9,
  AC_NOT_SUPPORTED = 10,
  AC_UNAVAILABLE = 11,
  AC_DEADLINE_EXCEEDED = 12,
  AC_UNKNOWN_OUTCOME = 13
} ac_code;

/* The code's stable lower-case name ("not_found"); "unknown" for another value. Static. */
AC_EXPORT const char* ac_code_name(int code);
/* The code of an error message this API produced ("not_found: ..." gives AC_NOT_FOUND);
 * AC_OK for NULL, AC_INTERNAL for text that does not start with a code name. */
AC_EXPORT int ac_error_code(const char* message);

/* The library's version, e.g. "0.1.0". Static. */
AC_EXPORT const char* ac_version(void);

/* ---------------------------------------------------------------------------------------------
 * Tymbal frames (tymbal/frame.hpp, parser.hpp, writer.hpp) */

typedef struct ac_frame_t ac_frame_t;

typedef enum ac_frame_kind {
  AC_FRAME_START = 0,
  AC_FRAME_APPEND = 1,
  AC_FRAME_SET = 2,
  AC_FRAME_RESET = 3,
  AC_FRAME_SYNC_REQUEST = 4,
  AC_FRAME_SYNC_RESPONSE = 5,
  AC_FRAME_ERROR = 6,
  AC_FRAME_ARTIFACT = 7
} ac_frame_kind;

/* Parses one line (without its newline) with Cast's rules. Errors: AC_INVALID_ARGUMENT with the
 * reason (malformed JSON or UTF-8, not an object, a frame rule broken). */
AC_EXPORT ac_frame_t* ac_frame_parse(const char* line, size_t len, char** errptr);

/* Frame builders. `metadata_json`: NULL for none, else a JSON object without "content";
 * `value_json` of a set frame: a JSON object. Errors: AC_INVALID_ARGUMENT (NULL, invalid UTF-8,
 * JSON that does not parse or has the wrong type). */
AC_EXPORT ac_frame_t* ac_frame_new_start(const char* id, const char* metadata_json,
                                         char** errptr);
AC_EXPORT ac_frame_t* ac_frame_new_append(const char* id, const char* text, size_t text_len,
                                          char** errptr);
AC_EXPORT ac_frame_t* ac_frame_new_set(const char* id, const char* timestamp,
                                       const char* value_json, char** errptr);
AC_EXPORT ac_frame_t* ac_frame_new_reset(const char* id, char** errptr);
/* `message` may be NULL (none). */
AC_EXPORT ac_frame_t* ac_frame_new_error(const char* code, const char* message, char** errptr);

/* An independent copy (e.g. of a frame a callback lends). NULL for NULL. */
AC_EXPORT ac_frame_t* ac_frame_copy(const ac_frame_t* frame);
AC_EXPORT void ac_frame_destroy(ac_frame_t* frame);

/* Accessors; which fields are meaningful depends on the kind (tymbal/frame.hpp). Strings are
 * borrowed from the frame; `len` may be NULL. A NULL frame gives -1 / "". */
AC_EXPORT int ac_frame_kind_of(const ac_frame_t* frame);
/* "start", "append", ..., "artifact"; "unknown" for another value. Static. */
AC_EXPORT const char* ac_frame_kind_name(int kind);
AC_EXPORT const char* ac_frame_id(const ac_frame_t* frame, size_t* len);
AC_EXPORT const char* ac_frame_text(const ac_frame_t* frame, size_t* len);
AC_EXPORT const char* ac_frame_timestamp(const ac_frame_t* frame, size_t* len);
/* The frame's value (`m`, `v`, `error` or `artifact`) as compact JSON ("null" when none), and
 * its other keys as one JSON object; malloc'ed. */
AC_EXPORT char* ac_frame_value_json(const ac_frame_t* frame, size_t* len, char** errptr);
AC_EXPORT char* ac_frame_extra_json(const ac_frame_t* frame, size_t* len, char** errptr);

/* The string member `key` of the frame's value (e.g. "content" of a set frame's `v`), borrowed
 * from the frame; NULL when the value is not an object or has no such string member. */
AC_EXPORT const char* ac_frame_value_string(const ac_frame_t* frame, const char* key,
                                            size_t* len);

/* The frame as Cast serializes it: compact JSON, no newline; malloc'ed. */
AC_EXPORT char* ac_frame_serialize(const ac_frame_t* frame, size_t* len, char** errptr);

/* --- An NDJSON stream fed in pieces */

typedef struct ac_frame_parser_t ac_frame_parser_t;

/* What a parser reports, in stream order, on the thread calling feed or finish. `frame` and
 * `reason` are valid during the call only (ac_frame_copy keeps a frame). Lines are 1-based.
 * Either function pointer may be NULL (that report is dropped). */
typedef struct ac_frame_sink {
  void (*on_frame)(void* user, const ac_frame_t* frame, uint64_t line);
  void (*on_invalid_line)(void* user, uint64_t line, const char* reason);
  void* user;
} ac_frame_sink;

/* `max_line_bytes`: longest line accepted (longer ones are reported invalid and skipped
 * without being buffered); 0 for the default (16 MiB). */
AC_EXPORT ac_frame_parser_t* ac_frame_parser_create(size_t max_line_bytes);
AC_EXPORT void ac_frame_parser_destroy(ac_frame_parser_t* parser);
/* Reports every line `data` completes; keeps an unfinished last line for the next call.
 * Returns AC_OK, or AC_INVALID_ARGUMENT for a NULL parser or sink (or NULL data with len > 0). */
AC_EXPORT int ac_frame_parser_feed(ac_frame_parser_t* parser, const char* data, size_t len,
                                   const ac_frame_sink* sink, char** errptr);
/* End of stream: reports a last line without a newline; line numbers then restart at 1. */
AC_EXPORT int ac_frame_parser_finish(ac_frame_parser_t* parser, const ac_frame_sink* sink,
                                     char** errptr);
/* Lines seen so far, blank ones included. */
AC_EXPORT uint64_t ac_frame_parser_lines(const ac_frame_parser_t* parser);

/* --- The assembler: frames in, messages out (tymbal/assembler.hpp) */

typedef struct ac_assembler_t ac_assembler_t;
typedef struct ac_message_t ac_message_t;

typedef enum ac_assembly_event {
  AC_ASSEMBLY_IGNORED = 0,   /* a control frame, or an append for a message that is not open */
  AC_ASSEMBLY_OPENED = 1,    /* start */
  AC_ASSEMBLY_UPDATED = 2,   /* append: the text grew */
  AC_ASSEMBLY_COMPLETED = 3, /* set: complete, no longer held */
  AC_ASSEMBLY_DELETED = 4    /* reset */
} ac_assembly_event;

/* Limits, 0 for the defaults: open messages held (1,000,000), text of one message (64 MiB). */
AC_EXPORT ac_assembler_t* ac_assembler_create(size_t max_open_messages, size_t max_message_bytes);
AC_EXPORT void ac_assembler_destroy(ac_assembler_t* assembler);
/* Applies one frame; returns an ac_assembly_event, or -1 on error (AC_TOO_LARGE when a limit
 * is hit: the frame is not applied; AC_INVALID_ARGUMENT for NULL). */
AC_EXPORT int ac_assembler_apply(ac_assembler_t* assembler, const ac_frame_t* frame,
                                 char** errptr);
/* The message the last apply affected (for a deletion only its id is set). Borrowed: valid
 * until the next apply, abandon or destroy of the assembler. NULL for NULL. */
AC_EXPORT const ac_message_t* ac_assembler_message(const ac_assembler_t* assembler);
/* Messages still streaming. */
AC_EXPORT size_t ac_assembler_open_messages(const ac_assembler_t* assembler);
/* Forgets an open message (e.g. its producer died); 1 when it was open, else 0. */
AC_EXPORT int ac_assembler_abandon(ac_assembler_t* assembler, const char* id);

/* An assembled message. Strings are borrowed from the message; `len` may be NULL. */
AC_EXPORT ac_message_t* ac_message_copy(const ac_message_t* message);
AC_EXPORT void ac_message_destroy(ac_message_t* message);
AC_EXPORT const char* ac_message_id(const ac_message_t* message, size_t* len);
/* The concatenated append deltas. */
AC_EXPORT const char* ac_message_text(const ac_message_t* message, size_t* len);
/* The set frame's `t`; "" while streaming. */
AC_EXPORT const char* ac_message_timestamp(const ac_message_t* message, size_t* len);
AC_EXPORT int ac_message_is_complete(const ac_message_t* message);
/* The string member `key` of a complete message's value, borrowed from the message; NULL while
 * it streams or when there is no such string member. */
AC_EXPORT const char* ac_message_value_string(const ac_message_t* message, const char* key,
                                              size_t* len);
/* The value a reader sees now (complete: the set frame's value; streaming in text mode:
 * {...metadata, content: text}; else null) as JSON; malloc'ed. */
AC_EXPORT char* ac_message_value_json(const ac_message_t* message, size_t* len, char** errptr);

/* --- The message handle: one streamed message, producer side (tymbal/message_handle.hpp) */

typedef struct ac_message_handle_t ac_message_handle_t;

/* `metadata_json`: NULL (object mode) or a JSON object without "content" (text mode). */
AC_EXPORT ac_message_handle_t* ac_message_handle_create(const char* id, const char* metadata_json,
                                                        char** errptr);
AC_EXPORT void ac_message_handle_destroy(ac_message_handle_t* handle);
/* NDJSON lines (each ending in \n) for one text delta: the start line first if the message has
 * not started, then an append line. malloc'ed. Errors: AC_CONFLICT after set or delete. */
AC_EXPORT char* ac_message_handle_stream(ac_message_handle_t* handle, const char* text,
                                         size_t text_len, size_t* len, char** errptr);
/* The set line that completes the message ({...metadata, content, ...value} in text mode).
 * `value_json`: a JSON object. Errors: AC_CONFLICT when finalized, AC_INVALID_ARGUMENT. */
AC_EXPORT char* ac_message_handle_set(ac_message_handle_t* handle, const char* value_json,
                                      const char* timestamp, size_t* len, char** errptr);
/* The reset line that deletes the message; finalizes it. */
AC_EXPORT char* ac_message_handle_delete(ac_message_handle_t* handle, size_t* len, char** errptr);
AC_EXPORT const char* ac_message_handle_id(const ac_message_handle_t* handle);
/* The text streamed so far (borrowed until the next call on the handle). */
AC_EXPORT const char* ac_message_handle_text(const ac_message_handle_t* handle, size_t* len);
AC_EXPORT int ac_message_handle_started(const ac_message_handle_t* handle);
AC_EXPORT int ac_message_handle_finalized(const ac_message_handle_t* handle);

/* ---------------------------------------------------------------------------------------------
 * Mentions and routing (mention/mention.hpp, mention/router.hpp) */

typedef struct ac_mentions_t ac_mentions_t;
typedef struct ac_roster_t ac_roster_t;
typedef struct ac_routing_t ac_routing_t;

/* The @mentions of `content` (any bytes; Cast's rules): distinct lower-cased names in
 * first-seen order, and whether it says @channel. Errors: AC_INVALID_ARGUMENT for NULL content
 * with len > 0. */
AC_EXPORT ac_mentions_t* ac_mentions_parse(const char* content, size_t len, char** errptr);
AC_EXPORT void ac_mentions_destroy(ac_mentions_t* mentions);
AC_EXPORT size_t ac_mentions_count(const ac_mentions_t* mentions);
/* The i-th name (borrowed), NULL when i is out of range. */
AC_EXPORT const char* ac_mentions_name(const ac_mentions_t* mentions, size_t i);
AC_EXPORT int ac_mentions_is_channel(const ac_mentions_t* mentions);

/* `content` without its mentions, whitespace collapsed and trimmed (Cast's stripMentions);
 * malloc'ed and NUL-terminated, its length in `*out_len` (may be NULL). */
AC_EXPORT char* ac_mentions_strip(const char* content, size_t len, size_t* out_len,
                                  char** errptr);
/* 1 when `callsign` can be the target of a mention ([a-z0-9_-]+, not "channel"), else 0. */
AC_EXPORT int ac_callsign_is_mentionable(const char* callsign);

/* A channel's routing roster: agent callsigns in roster order, the leader (NULL or "" for
 * none) and the human callsigns that may be mentioned. `agents` / `users` may be NULL when
 * their count is 0. Errors: AC_INVALID_ARGUMENT for a NULL array or element. */
AC_EXPORT ac_roster_t* ac_roster_create(const char* const* agents, size_t agent_count,
                                        const char* leader, const char* const* users,
                                        size_t user_count, char** errptr);
AC_EXPORT void ac_roster_destroy(ac_roster_t* roster);

typedef enum ac_sender_kind { AC_SENDER_HUMAN = 0, AC_SENDER_AGENT = 1 } ac_sender_kind;

/* Who receives a message (Cast's determineRouting): `sender_callsign` (NULL or "" for none) is
 * never a target. Errors: AC_INVALID_ARGUMENT for NULL handles or an unknown sender kind. */
AC_EXPORT ac_routing_t* ac_route_message(const ac_mentions_t* mentions, int sender_kind,
                                         const ac_roster_t* roster, const char* sender_callsign,
                                         char** errptr);
AC_EXPORT void ac_routing_destroy(ac_routing_t* routing);
/* The recipients in routing order (may include users and "", see mention/router.hpp). */
AC_EXPORT size_t ac_routing_target_count(const ac_routing_t* routing);
AC_EXPORT const char* ac_routing_target(const ac_routing_t* routing, size_t i);
AC_EXPORT int ac_routing_is_broadcast(const ac_routing_t* routing);
/* The agents to invoke: the targets without users and without "". */
AC_EXPORT size_t ac_routing_invocation_count(const ac_routing_t* routing);
AC_EXPORT const char* ac_routing_invocation(const ac_routing_t* routing, size_t i);

/* ---------------------------------------------------------------------------------------------
 * State machines: the transition functions of state/agent_state.hpp, run_state.hpp and
 * session_state.hpp. Values are the C++ enumerators'; names and tables are in those headers. */

typedef enum ac_agent_status {
  AC_AGENT_OFFLINE = 0, AC_AGENT_ACTIVATING = 1, AC_AGENT_ONLINE = 2, AC_AGENT_BUSY = 3,
  AC_AGENT_SUSPENDING = 4, AC_AGENT_ERROR = 5
} ac_agent_status;
typedef enum ac_agent_status_event {
  AC_AGENT_EV_ACTIVATE = 0, AC_AGENT_EV_CHECKIN = 1, AC_AGENT_EV_FRAME = 2,
  AC_AGENT_EV_IDLE_FRAME = 3, AC_AGENT_EV_SUSPEND = 4, AC_AGENT_EV_ERROR = 5
} ac_agent_status_event;
typedef enum ac_activation_state {
  AC_ACTIVATION_INACTIVE = 0, AC_ACTIVATION_ACTIVATING = 1, AC_ACTIVATION_ACTIVE = 2,
  AC_ACTIVATION_STALE = 3, AC_ACTIVATION_FAILED = 4, AC_ACTIVATION_SUSPENDED = 5
} ac_activation_state;
typedef enum ac_activation_event {
  AC_ACTIVATION_EV_ACTIVATE = 0, AC_ACTIVATION_EV_CHECKIN = 1, AC_ACTIVATION_EV_HEARTBEAT = 2,
  AC_ACTIVATION_EV_SUSPEND = 3, AC_ACTIVATION_EV_FAIL = 4, AC_ACTIVATION_EV_HEARTBEAT_TIMEOUT = 5,
  AC_ACTIVATION_EV_ACTIVATION_TIMEOUT = 6
} ac_activation_event;
typedef enum ac_roster_status {
  AC_ROSTER_ACTIVE = 0, AC_ROSTER_IDLE = 1, AC_ROSTER_BUSY = 2, AC_ROSTER_OFFLINE = 3,
  AC_ROSTER_PAUSED = 4, AC_ROSTER_ARCHIVED = 5
} ac_roster_status;
typedef enum ac_roster_action {
  AC_ROSTER_PAUSE = 0, AC_ROSTER_RESUME = 1, AC_ROSTER_ACTIVATE = 2, AC_ROSTER_DISMISS = 3,
  AC_ROSTER_UNARCHIVE = 4, AC_ROSTER_REMOVE = 5
} ac_roster_action;
typedef enum ac_run_state {
  AC_RUN_QUEUED = 0, AC_RUN_PLANNING = 1, AC_RUN_BUILDING = 2, AC_RUN_SUCCEEDED = 3,
  AC_RUN_FAILED = 4, AC_RUN_CANCELLED = 5
} ac_run_state;
typedef enum ac_run_event {
  AC_RUN_EV_CLAIM = 0, AC_RUN_EV_START_BUILD = 1, AC_RUN_EV_HEARTBEAT = 2, AC_RUN_EV_COMPLETE = 3,
  AC_RUN_EV_FAIL = 4, AC_RUN_EV_REQUEUE = 5, AC_RUN_EV_CANCEL = 6
} ac_run_event;
typedef enum ac_session_state {
  AC_SESSION_CREATING = 0, AC_SESSION_RUNNING = 1, AC_SESSION_STOPPED = 2, AC_SESSION_FAILED = 3,
  AC_SESSION_DELETED = 4
} ac_session_state;
typedef enum ac_session_event {
  AC_SESSION_EV_READY = 0, AC_SESSION_EV_STOP = 1, AC_SESSION_EV_FAIL = 2, AC_SESSION_EV_RESUME = 3,
  AC_SESSION_EV_UPGRADE = 4, AC_SESSION_EV_DELETE = 5
} ac_session_event;

/* Runtime agent status: the table is total, so a status always comes back (AC_AGENT_ERROR for
 * a value outside the enumerators, as in C++). */
AC_EXPORT int ac_agent_status_next(int from, int event);
/* 1 for online and busy. */
AC_EXPORT int ac_agent_status_is_online(int status);

/* The state after `event`, or -1: AC_CONFLICT when the table refuses the event (the message
 * names the event and the state), AC_INVALID_ARGUMENT for a value outside the enumerators. */
AC_EXPORT int ac_activation_state_next(int from, int event, char** errptr);
AC_EXPORT int ac_run_state_next(int from, int event, char** errptr);
AC_EXPORT int ac_session_state_next(int from, int event, char** errptr);
/* 1 for succeeded, failed and cancelled. */
AC_EXPORT int ac_run_state_is_final(int state);

/* A roster action's outcome: the new status (or `deleted` for remove) and the runtime side
 * effects the caller must perform. */
typedef struct ac_roster_transition {
  int deleted;          /* 1: the entry is deleted (remove); `to` is then -1 */
  int to;               /* the new ac_roster_status */
  int suspend_runtime;  /* suspend the agent's runtime before storing `to` */
  int activate_runtime; /* activate the agent after storing `to` */
} ac_roster_transition;
/* Returns AC_OK and fills `*out`, or an error code: AC_CONFLICT when Cast refuses the action,
 * AC_INVALID_ARGUMENT for a value outside the enumerators or a NULL `out`. */
AC_EXPORT int ac_roster_status_next(int from, int action, ac_roster_transition* out,
                                    char** errptr);
/* Cast's HTTP error text for refusing `action` in `from` ("Agent is already paused"); "" when
 * allowed. Static. */
AC_EXPORT const char* ac_roster_rejection_text(int from, int action);

/* Which enumeration ac_enum_name / ac_enum_parse speak of. */
typedef enum ac_enum {
  AC_ENUM_AGENT_STATUS = 0,
  AC_ENUM_AGENT_STATUS_EVENT = 1,
  AC_ENUM_ACTIVATION_STATE = 2,
  AC_ENUM_ACTIVATION_EVENT = 3,
  AC_ENUM_ROSTER_STATUS = 4,
  AC_ENUM_ROSTER_ACTION = 5,
  AC_ENUM_RUN_STATE = 6,
  AC_ENUM_RUN_EVENT = 7,
  AC_ENUM_SESSION_STATE = 8,
  AC_ENUM_SESSION_EVENT = 9
} ac_enum;
/* The stable snake_case name of `value` ("heartbeat_timeout"); "unknown" for a value outside
 * the enumeration or an unknown enumeration. Static. */
AC_EXPORT const char* ac_enum_name(int which, int value);
/* The value named `name` (exact match), or -1 with AC_INVALID_ARGUMENT. */
AC_EXPORT int ac_enum_parse(int which, const char* name, char** errptr);

/* ---------------------------------------------------------------------------------------------
 * The hub: the whole application (hub/hub.hpp). Thread-safe: every function below may be
 * called from any thread, several at once, and may block on the store or the runtimes. */

typedef struct ac_hub_options_t ac_hub_options_t;
typedef struct ac_hub_t ac_hub_t;
typedef struct ac_subscription_t ac_subscription_t;

/* Options with working defaults: store "sqlite://agentcore.db", agent data in
 * "agentcore-data", the local process runtime with no agent command (agents start elsewhere and
 * only check in). */
AC_EXPORT ac_hub_options_t* ac_hub_options_create(void);
AC_EXPORT void ac_hub_options_destroy(ac_hub_options_t* options);
/* "sqlite:///abs/path.db", "sqlite://rel/path.db", "sqlite::memory:" or "postgres://...". */
AC_EXPORT int ac_hub_options_set_store_url(ac_hub_options_t* options, const char* url,
                                           char** errptr);
/* Where the local process runtime keeps pid files, logs and workspaces. */
AC_EXPORT int ac_hub_options_set_data_dir(ac_hub_options_t* options, const char* dir,
                                          char** errptr);
/* The command the local process runtime runs for agents of `agent_type` ("*": every type not
 * listed). `argv` holds `argc` >= 1 strings. */
AC_EXPORT int ac_hub_options_set_agent_command(ac_hub_options_t* options, const char* agent_type,
                                               const char* const* argv, size_t argc,
                                               char** errptr);
/* The API URL agents are told to call (CAST_API_URL). */
AC_EXPORT int ac_hub_options_set_api_url(ac_hub_options_t* options, const char* url,
                                         char** errptr);

/* Opens the store (migrating it), the runtimes and the services. Errors: the store's and the
 * runtimes' (AC_UNAVAILABLE when another hub uses the SQLite file). */
AC_EXPORT ac_hub_t* ac_hub_open(const ac_hub_options_t* options, char** errptr);
/* Stops the agents the hub started, waits for its background work, ends every subscription
 * (their handles become invalid) and frees the hub. No other call on the hub may be running or
 * follow (not from a subscription's callback either). NULL is a no-op. */
AC_EXPORT void ac_hub_close(ac_hub_t* hub);

/* Creates the space `space_id` unless it exists. `owner_callsign` (NULL or "": none) is the
 * human callsign mentions may name. */
AC_EXPORT int ac_hub_ensure_space(ac_hub_t* hub, const char* space_id, const char* name,
                                  const char* owner_callsign, char** errptr);
/* Creates a channel in the space; returns its id (malloc'ed). Errors: AC_INVALID_ARGUMENT
 * ("Channel name is required", ...), AC_ALREADY_EXISTS. */
AC_EXPORT char* ac_hub_create_channel(ac_hub_t* hub, const char* space_id, const char* name,
                                      char** errptr);

typedef struct ac_posted_t ac_posted_t;
/* Posts a message to a channel of the space as the hub's POST /channels/:id/messages does:
 * validated, routed by its mentions, stored, published to subscribers (on this thread, before
 * this returns) and delivered to the agents it invokes. `sender_type`: "user" (NULL) or
 * "agent". Errors: AC_INVALID_ARGUMENT, AC_NOT_FOUND "Channel not found or has no roster". */
AC_EXPORT ac_posted_t* ac_hub_post_message(ac_hub_t* hub, const char* space_id,
                                           const char* channel_id, const char* sender,
                                           const char* content, const char* sender_type,
                                           char** errptr);
AC_EXPORT void ac_posted_destroy(ac_posted_t* posted);
AC_EXPORT const char* ac_posted_id(const ac_posted_t* posted);
AC_EXPORT uint64_t ac_posted_seq(const ac_posted_t* posted);
AC_EXPORT int ac_posted_is_broadcast(const ac_posted_t* posted);
/* The agents the message invokes, in routing order. */
AC_EXPORT size_t ac_posted_target_count(const ac_posted_t* posted);
AC_EXPORT const char* ac_posted_target(const ac_posted_t* posted, size_t i);

/* One Tymbal line the hub publishes for a channel (a posted message's set frame, an agent's
 * frames and state, roster changes): `line` is a JSON object without newline; `event_id` is the
 * stored message's id ("" for live-only lines) and `seq` its order in the channel (0 then). The
 * strings are valid during the call only.
 *
 * Called on the thread that made the change: the thread calling ac_hub_post_message (before it
 * returns), the hub's background threads, a runtime's watcher thread; for different changes
 * possibly on several threads at once, so `user` must be safe to share. The callback must
 * return quickly and must not block; it must not call into the hub except ac_hub_unsubscribe. */
typedef void (*ac_event_fn)(void* user, const char* channel_id, const char* line,
                            size_t line_len, const char* event_id, uint64_t seq);

/* Calls `fn` for every line of `channel_id` ("*": of every channel) from now on. Errors:
 * AC_INVALID_ARGUMENT (NULL), AC_NOT_FOUND "Channel not found" for an unknown channel. */
AC_EXPORT ac_subscription_t* ac_hub_subscribe(ac_hub_t* hub, const char* channel_id,
                                              ac_event_fn fn, void* user, char** errptr);
/* Ends a subscription and frees it. When this returns the callback is not running on another
 * thread and is not called again (inside the subscription's own callback it returns at once).
 * NULL is a no-op. */
AC_EXPORT void ac_hub_unsubscribe(ac_hub_t* hub, ac_subscription_t* subscription);

/* Agents are named by their agent id "space_id:channel_id:callsign" (spec cast §5.1), as the
 * container protocol carries it. */

/* Adds the agent to its channel's roster (status active), publishes it joining, and starts it
 * through the runtime for `agent_type` (a start failure is not an error here, as in Cast).
 * Errors: AC_INVALID_ARGUMENT, AC_ALREADY_EXISTS "Agent already in roster", AC_RATE_LIMITED. */
AC_EXPORT int ac_hub_add_agent(ac_hub_t* hub, const char* agent_id, const char* agent_type,
                               char** errptr);
/* The agent checked in at `endpoint` (its callback URL): marks it online, publishes that, and
 * pushes its queued messages. Returns the messages delivered, or -1. Errors: AC_NOT_FOUND
 * "Agent not found in roster", AC_INVALID_ARGUMENT. */
AC_EXPORT int ac_hub_agent_checkin(ac_hub_t* hub, const char* agent_id, const char* endpoint,
                                   char** errptr);
/* Records a heartbeat; `*at_ms` (may be NULL) receives its time (Unix milliseconds). */
AC_EXPORT int ac_hub_agent_heartbeat(ac_hub_t* hub, const char* agent_id, int64_t* at_ms,
                                     char** errptr);
/* 1 when the agent is online (checked in, heartbeat fresh), 0 when not (unknown agents too),
 * -1 on error. */
AC_EXPORT int ac_hub_agent_is_online(ac_hub_t* hub, const char* agent_id, char** errptr);
/* The agent's container token (what it sends as "Authorization: Container <token>");
 * malloc'ed. */
AC_EXPORT char* ac_hub_container_token(ac_hub_t* hub, const char* agent_id, char** errptr);
/* Applies heartbeat staleness and activation timeouts as of now; call it from a timer. */
AC_EXPORT void ac_hub_sweep(ac_hub_t* hub);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AGENTCORE_AGENTCORE_C_H_ */
