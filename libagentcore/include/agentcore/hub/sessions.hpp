// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The hub's session service (`hub.sessions()`): execbox's and Octo's sandboxed sessions (seeds
/// 001 and 003) on the hub. docs/sessions.md is the design; in short:
///   - a **session** is a `sessions` row of the caller's space plus, while it runs, one
///     SessionProcess (runtime/session_runtime.hpp): the local sandbox runtime for a session
///     with a `command` and no `image`, the container runtime for one with an `image`;
///   - its workspace is `<data_dir>/sessions/<id>/workspace`, kept across stop, resume and
///     upgrade, removed by delete;
///   - lifecycle (state/session_state.hpp): create waits for the process before `running`;
///     stop keeps the workspace; resume and upgrade start a new process (upgrade with the
///     image's latest version, generation + 1); a process that dies puts the session in
///     `failed` with its exit code and reason (when fetched, and by Sweep); Sweep also stops
///     sessions idle for `idle_timeout` and those past their `resources.timeoutMs`; Start()
///     reaps what an earlier process of this instance left (its sessions become `failed`,
///     reason "server restarted"); Close() stops every running session;
///   - output is kept in a bounded ring per session (the tail a re-attach sees) and fanned out
///     to attached clients, each with its own bounded buffer (a client that falls behind is
///     dropped, never buffered without bound);
///   - every transition is a SessionChange that Watch delivers (SSE) in order.
///
/// Callers are `Principal`s (hub/credentials.hpp): a session belongs to the caller's space; a
/// session of another space is answered like a missing one. The cap on running sessions is
/// per API key (Principal::api_key_id; per user for a session cookie or JWT):
/// Principal::max_running_sessions when set, else SessionServiceOptions::
/// max_running_sessions_per_key; past it, create and resume are kRateLimited.
///
/// Thread-safe. Owned by the Hub; every method may block (store, runtime): call it from a
/// thread that may block. Callbacks (attachment wake-ups, watch sinks) are called on runtime
/// or service threads and must not block.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/session_runtime.hpp>
#include <agentcore/state/session_state.hpp>
#include <agentcore/store/records.hpp>

namespace agentcore {

/// How sessions run. Part of HubOptions. Every field has a working default.
struct SessionServiceOptions {
  /// Workspaces live in `<data_dir>/sessions/<id>/workspace`. Empty: the local process
  /// runtime's data directory (HubOptions::local_process.data_dir, or its default).
  std::string data_dir;
  /// Runs sessions without an image. Null: the hub opens OpenSandboxRuntime() (with its pid
  /// files under data_dir); if bwrap is missing, such sessions are refused with kUnavailable
  /// and the fix in the message.
  std::shared_ptr<SessionRuntime> sandbox;
  /// Runs sessions with an image. Null: such sessions are refused with kUnavailable
  /// ("no container runtime: start the server with DOCKER_HOST / --session-runtime docker").
  std::shared_ptr<SessionRuntime> containers;
  /// Image of a session created with neither `image` nor `command` (Octo's default image).
  /// Empty: such a create is kInvalidArgument.
  std::string default_image;
  /// Running (creating or running) sessions per API key or user, when the Principal does not
  /// set its own. 0: no cap.
  std::size_t max_running_sessions_per_key = 10;
  /// Sessions (not deleted) per space; bounds the store and the service's memory. 0: no cap.
  std::size_t max_sessions_per_space = 1000;
  /// From create (or resume, upgrade) to running; past it the session fails.
  std::chrono::milliseconds startup_timeout{60'000};
  /// A running session with no attached client, no output and no call for this long is
  /// stopped. 0: never.
  std::chrono::milliseconds idle_timeout{30 * 60'000};
  /// Stop: SIGTERM (or the engine's stop), then SIGKILL after this.
  std::chrono::milliseconds stop_grace{5'000};
  /// Output kept per session for a later attach (the tail).
  std::size_t output_ring_bytes = 256 * 1024;
  /// Output queued for one attached client at most. Past half of it the process's output is
  /// paused (flow control: the command blocks on its pipe) until every client is below a
  /// quarter; past all of it (a runtime that cannot pause) the client is dropped. A runtime
  /// reads up to 64 KiB past the mark before it pauses: keep this at least 256 KiB.
  std::size_t attach_buffer_bytes = 1024 * 1024;
  /// A client that keeps the output paused this long is dropped (so one stalled client cannot
  /// hold up the others or the command for longer), checked by Sweep.
  std::chrono::milliseconds attach_stall_timeout{10'000};
  /// Attached clients per session at most (more: kRateLimited).
  std::size_t max_attachments_per_session = 16;
  /// Largest file uploaded or downloaded.
  std::size_t max_file_bytes = 64u << 20;
  /// Entries listed at most by one ListFiles.
  std::size_t max_listed_files = 10'000;
  /// The runtime instance this server's sessions run under (SessionSpec::instance; what Start()
  /// reaps and marks failed). Empty: RuntimeInstanceForDataDir(data_dir), the Docker agent
  /// runtime's default for the same data directory.
  std::string instance;
};

/// The wire code of a session service error (docs/sessions.md "Routes"): "invalid_argument",
/// "unauthenticated", "permission_denied", "not_found", "conflict", "port_in_use" (a create
/// whose exposed port another running session declared), "too_large", "rate_limited",
/// "unavailable", "internal".
AGENTCORE_EXPORT std::string_view SessionErrorCode(const Status& status);

/// One page of sessions, newest first; `next_cursor` empty on the last page.
struct SessionPage {
  std::vector<Session> sessions;
  std::string next_cursor;
};

/// One transition of a session, as Watch delivers it. `seq` grows by one per change of the
/// session while this process runs it (1 = the state when the watch began).
struct SessionChange {
  std::int64_t seq = 0;
  SessionState state = SessionState::kCreating;
  std::int64_t generation = 0;
  /// Why: "created", "ready", "stopped by request", "exited with code 3", "idle timeout"...
  std::string reason;
  std::optional<int> exit_code;
  UnixMillis at = 0;
};

/// One entry of ListFiles; `path` is relative to the workspace, '/'-separated.
struct SessionFileEntry {
  std::string path;
  bool directory = false;
  std::uint64_t size = 0;
  UnixMillis modified_at = 0;
};

/// The attach protocol's type bytes (execbox): one byte of type, then the payload.
enum class AttachFrameType : std::uint8_t {
  kStdin = 0x01,        // client -> server: bytes for the command's stdin
  kStdout = 0x02,       // server -> client
  kStderr = 0x03,       // server -> client
  kExit = 0x04,         // server -> client: the exit code, 4 bytes, big-endian, signed
  kError = 0x05,        // server -> client: one line of UTF-8 text
  kStdinClosed = 0x06,  // client -> server: close stdin; server -> client: stdin was closed
};

/// One client attached to a session. Destroying it detaches. Thread-safe.
class AGENTCORE_EXPORT SessionAttachment {
 public:
  virtual ~SessionAttachment();
  /// Moves the messages queued for this client (each one attach message: type byte, then
  /// payload) into `out`, at most about `max_bytes` of them. In order: on attach the ring's
  /// tail (stdout/stderr as they came), then live output; after the process exits, one kExit,
  /// and the attachment has ended.
  virtual void Drain(std::size_t max_bytes, std::vector<std::string>* out) = 0;
  /// True once the client fell more than attach_buffer_bytes behind: close it (the server
  /// uses WebSocket close code 1008); nothing more is queued.
  virtual bool dropped() const = 0;
  /// True once kExit (or a final kError) is queued: nothing follows it.
  virtual bool ended() const = 0;
  /// A client's 0x01 message. kConflict when the session is not running or stdin
  /// was closed.
  virtual Status WriteStdin(std::string_view bytes) = 0;
  /// A client's 0x06 message.
  virtual Status CloseStdin() = 0;
};

/// A live Watch. Destroying it stops the deliveries (no call after the destructor returns).
class AGENTCORE_EXPORT SessionWatch {
 public:
  virtual ~SessionWatch();
};

class AGENTCORE_EXPORT SessionService {
 public:
  virtual ~SessionService();

  /// execbox's create body: `image`, `command` (array of strings, or a string run with
  /// `/bin/sh -c`), `env` (object of strings), `workDir`, `resources {cpuMillis, memoryMB,
  /// timeoutMs}`, `network` ("none" default, "outgoing", "exposed"), `ports` (array of
  /// `{"name","port"}` or of numbers). Waits until the session runs (or failed: the session is
  /// returned in `failed` with its reason). kInvalidArgument for a bad body, kRateLimited over
  /// a cap (kAlreadyExists "port N is in use…" for an exposed sandbox port another running
  /// session holds: SessionErrorCode "port_in_use"), kUnavailable when no runtime can run it
  /// or the server is shutting down.
  virtual Result<Session> Create(const Principal& caller, const Json& body) = 0;
  /// Reconciles first: a session whose process died is `failed` in the answer.
  virtual Result<Session> Get(const Principal& caller, std::string_view id) = 0;
  /// `state`: empty for all (deleted ones are never listed); `cursor`: a next_cursor;
  /// `limit` 1..100 (0: 50).
  virtual Result<SessionPage> List(const Principal& caller, std::string_view state,
                                   std::string_view cursor, std::size_t limit) = 0;
  virtual Result<Session> Stop(const Principal& caller, std::string_view id) = 0;
  virtual Result<Session> Resume(const Principal& caller, std::string_view id) = 0;
  virtual Result<Session> Upgrade(const Principal& caller, std::string_view id) = 0;
  /// Kills the process, removes the workspace; the row stays as `deleted` (usage keeps
  /// counting it) and is no longer listed or found.
  virtual Status Delete(const Principal& caller, std::string_view id) = 0;

  /// The wire form of a session (both route families): id, status, image, command, workDir,
  /// resources, network, ports, generation, exitCode, reason, createdAt, updatedAt, startedAt,
  /// stoppedAt. Never the env values (names only: `envNames`).
  virtual Json Envelope(const Session& session) = 0;

  /// `wake` is called (any thread, must not block) whenever Drain has something new or
  /// dropped()/ended() changed. kNotFound, kRateLimited (too many attachments).
  virtual Result<std::unique_ptr<SessionAttachment>> Attach(const Principal& caller,
                                                            std::string_view id,
                                                            std::function<void()> wake) = 0;
  /// The session's current state as change 1, then every change, in order. `sink` must not
  /// block; it is called under the session's watch lock (that is what orders the calls and
  /// ends them with the watch), so it must not call the service or destroy a watch.
  virtual Result<std::unique_ptr<SessionWatch>> Watch(
      const Principal& caller, std::string_view id,
      std::function<void(const SessionChange&)> sink) = 0;

  /// Files of the workspace (workspace/path_policy.hpp: no escape, symlinks included; secret
  /// paths are allowed here, it is the user's own workspace). `dir` empty: the root.
  virtual Result<std::vector<SessionFileEntry>> ListFiles(const Principal& caller,
                                                          std::string_view id,
                                                          std::string_view dir) = 0;
  /// Streams a file in chunks to `sink` (a non-OK status from the sink stops it). kNotFound,
  /// kInvalidArgument (a path that escapes), kTooLarge (over max_file_bytes, before any byte).
  virtual Status ReadFile(const Principal& caller, std::string_view id, std::string_view path,
                          const std::function<Status(std::string_view)>& sink) = 0;
  /// Creates or replaces a file (parent directories created). kTooLarge over max_file_bytes.
  virtual Status WriteFile(const Principal& caller, std::string_view id, std::string_view path,
                           std::string_view bytes) = 0;

  /// Where the session's service `name` (a SessionSpec port name) is reachable: "host:port".
  /// kNotFound: no such session, or no such service; kUnavailable: the session is starting
  /// (retry); kConflict: the session is not running (stopped, failed: Octo's 502).
  virtual Result<std::string> ServiceEndpoint(const Principal& caller, std::string_view id,
                                              std::string_view name) = 0;

  /// Usage of an API key (or user): `{"sessions", "running", "sessionSeconds",
  /// "cpuMilliSeconds", "memoryMBSeconds"}` summed over its sessions, deleted ones included.
  /// `key_id` empty: the caller's own. Another key's usage needs Principal::admin.
  virtual Result<Json> Usage(const Principal& caller, std::string_view key_id) = 0;

  /// Reaps what an earlier process of this instance left. Call once, before serving.
  virtual Status Start() = 0;
  /// Reconciles dead processes, fails sessions past startup_timeout, stops idle sessions and
  /// those past their timeoutMs. The hub calls it from its timer; tests call it directly.
  virtual void Sweep(UnixMillis now) = 0;
  /// Stops every running session (SIGTERM of the server). Idempotent.
  virtual void Close() = 0;
};

}  // namespace agentcore
