// SPDX-License-Identifier: Apache-2.0
#pragma once

// The session service's parts (hub/sessions.hpp, docs/sessions.md):
//   - sessions.cpp: the API side (create, get, list, stop, resume, upgrade, delete, envelope,
//     usage, endpoints) and the transitions, each persisted and then delivered to watchers;
//   - session_output.cpp: one LiveSession per session this server touched: its output ring,
//     attachments, watches, and the runtime's sink;
//   - session_files.cpp: the workspace's files;
//   - session_sweep.cpp: Start(), Sweep(), Close().
//
// Locks, in the order they may be taken: LiveSession::op_mu (one transition of a session at a
// time; held across the runtime's Start and Stop), SessionServiceImpl::create_mu_ (caps and
// ports at a create or resume, until the creating row is stored), SessionServiceImpl::mu_ (the
// maps), LiveSession::mu (output, attachments; short), LiveSession::watch_mu (watch
// deliveries; the sinks are called under it, so they arrive in order and never after the
// watch is destroyed). Runtime threads (OnOutput,
// OnExit) take only mu and post the rest to the hub's executor: a process's Stop waits for its
// OnExit, so OnExit must never wait for op_mu.

#include <agentcore/hub/sessions.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <agentcore/hub/hub.hpp>

#include "cluster_internal.hpp"

namespace agentcore::hub_internal {

/// How a kConflict "the session's process runs on another node" starts: SessionErrorCode
/// answers "session_elsewhere" for it (docs/cluster.md "Sessions").
inline constexpr std::string_view kSessionElsewherePrefix = "the session runs on node ";
inline Status SessionElsewhere(std::string_view owner) {
  return Status(ErrorCode::kConflict, std::string(kSessionElsewherePrefix) + std::string(owner) +
                                          ": attach and services are served there");
}

class SessionServiceImpl;

/// A session's spec as the create body gave it (checked), and as stored in Session::spec.
struct SessionSpecFields {
  std::string image;
  std::vector<std::string> command;
  std::vector<std::pair<std::string, std::string>> env;
  std::string work_dir;
  SessionResources resources;
  SessionNetwork network = SessionNetwork::kNone;
  std::vector<SessionPort> ports;
};

/// Checks execbox's create body. kInvalidArgument naming the field.
Result<SessionSpecFields> ParseSessionBody(const Json& body, const std::string& default_image);
/// The stored form (Session::spec) and back.
Json SpecToJson(const SessionSpecFields& spec);
Result<SessionSpecFields> SpecFromJson(const Json& spec);

/// One attached client's queue. Shared by the attachment object and the LiveSession.
struct AttachQueue {
  // Guarded by LiveSession::mu.
  std::deque<std::string> messages;
  std::size_t bytes = 0;
  bool dropped = false;
  bool ended = false;
  bool stdin_closed = false;
  // When its queue went over the high-water mark (flow control); 0 while below.
  UnixMillis full_since = 0;
  // Guarded by wake_mu: the wake-up, cleared when the attachment goes (no call after).
  std::mutex wake_mu;
  std::function<void()> wake;
  void Wake();
};

/// Where a session's process is, as the output side sees it.
enum class ProcessPhase : std::uint8_t {
  kNone,      // no process: never started here, start failed, or ended and released
  kStarting,  // the runtime's Start is under way
  kRunning,   // a process runs
  kExited,    // its OnExit came; the transition to failed/stopped may still be pending
};

/// Everything the service holds of one session in memory. Shared (the map, attachments,
/// posted tasks). Also the runtime's sink of its processes.
class LiveSession final : public SessionOutputSink,
                          public std::enable_shared_from_this<LiveSession> {
 public:
  LiveSession(SessionServiceImpl* service, std::string id, std::string owner_id);

  void OnOutput(SessionStream stream, std::string_view bytes) override;
  void OnExit(int exit_code, std::string_view reason) override;
  /// Flow control (docs/sessions.md "Attach protocol"): no more output while a client's queue
  /// is over half attach_buffer_bytes; ResumeIfRoom reads again once every client is below a
  /// quarter; DropStalled drops a client over the mark for attach_stall_timeout.
  bool WantsOutput() override;
  void ResumeIfRoom();
  void DropStalled(UnixMillis now);
  /// Ends every attachment still waiting with a kError of `why` (the session was deleted).
  void EndAttachments(std::string_view why);

  // Constant after construction.
  SessionServiceImpl* const service;
  const std::string id;
  const std::string owner_id;

  /// Held across one transition (store read-modify-write plus the runtime call).
  std::mutex op_mu;
  // Guarded by op_mu: the process (shared: an attachment writing stdin keeps it while it
  // writes) and what it holds.
  std::shared_ptr<SessionProcess> process;
  std::vector<std::uint16_t> held_ports;
  bool stop_requested = false;
  std::string stop_reason;
  SessionResources resources;

  /// Short lock of the output side.
  std::mutex mu;
  // Guarded by mu.
  std::deque<std::string> ring;  // attach messages (type byte + bytes), oldest first
  std::size_t ring_bytes = 0;
  std::vector<std::shared_ptr<AttachQueue>> attachments;
  ProcessPhase phase = ProcessPhase::kNone;
  std::uint64_t token = 0;  // which process: +1 per start
  std::uint64_t exited_token = 0;  // the process whose OnExit came last
  std::shared_ptr<SessionProcess> stdin_target;  // the running process, for WriteStdin
  bool output_paused = false;  // WantsOutput said false; ResumeOutput not yet called
  std::optional<int> last_exit_code;
  std::string last_exit_reason;
  UnixMillis last_activity = 0;
  UnixMillis state_since = 0;
  UnixMillis started_at = 0;  // of the running process (hard timeout)
  SessionState state = SessionState::kCreating;  // as last persisted

  /// Watch deliveries, in order, with the state they describe.
  std::mutex watch_mu;
  struct Watcher {
    std::int64_t seq = 0;
    std::function<void(const SessionChange&)> sink;
  };
  // Guarded by watch_mu.
  std::map<std::uint64_t, Watcher> watchers;
  std::uint64_t next_watcher = 1;
  SessionChange last_change;
};

class SessionServiceImpl final : public SessionService {
 public:
  SessionServiceImpl(Hub& hub, SessionServiceOptions options, Status sandbox_error);
  ~SessionServiceImpl() override;

  Result<Session> Create(const Principal& caller, const Json& body) override;
  Result<Session> Get(const Principal& caller, std::string_view id) override;
  Result<SessionPage> List(const Principal& caller, std::string_view state,
                           std::string_view cursor, std::size_t limit) override;
  Result<Session> Stop(const Principal& caller, std::string_view id) override;
  Result<Session> Resume(const Principal& caller, std::string_view id) override;
  Result<Session> Upgrade(const Principal& caller, std::string_view id) override;
  Status Delete(const Principal& caller, std::string_view id) override;
  Json Envelope(const Session& session) override;
  Result<std::unique_ptr<SessionAttachment>> Attach(const Principal& caller, std::string_view id,
                                                    std::function<void()> wake) override;
  Result<std::unique_ptr<SessionWatch>> Watch(
      const Principal& caller, std::string_view id,
      std::function<void(const SessionChange&)> sink) override;
  Result<std::vector<SessionFileEntry>> ListFiles(const Principal& caller, std::string_view id,
                                                  std::string_view dir) override;
  Status ReadFile(const Principal& caller, std::string_view id, std::string_view path,
                  const std::function<Status(std::string_view)>& sink) override;
  Status WriteFile(const Principal& caller, std::string_view id, std::string_view path,
                   std::string_view bytes) override;
  Result<std::string> ServiceEndpoint(const Principal& caller, std::string_view id,
                                      std::string_view name) override;
  Result<Json> Usage(const Principal& caller, std::string_view key_id) override;
  Status Start() override;
  void Sweep(UnixMillis now) override;
  void Close() override;

  // --- Used by the parts (session_output.cpp, session_sweep.cpp, session_files.cpp).
  const SessionServiceOptions& options() const { return options_; }
  UnixMillis Now() const { return hub_.clock().NowMillis(); }
  /// A process ended (OnExit of process `token`): persist it on the executor.
  void PostExit(std::shared_ptr<LiveSession> live, std::uint64_t token);
  /// `<data_dir>/sessions/<id>` and its workspace.
  std::string SessionDir(std::string_view id) const;
  std::string WorkspaceDir(std::string_view id) const;
  /// The caller's session (not deleted, of its space) or kNotFound.
  Result<Session> Find(const Principal& caller, std::string_view id);
  /// The LiveSession of `session`, made on first use.
  std::shared_ptr<LiveSession> LiveFor(const Session& session);

 private:
  friend class LiveSession;
  /// Applies `event` to `session` (kConflict when the machine refuses it), fills the fields
  /// of the new state, persists it and tells the watchers. REQUIRES: live->op_mu held.
  Result<Session> Transition(LiveSession& live, Session session, SessionEvent event,
                             std::string reason, std::optional<int> exit_code = std::nullopt);
  /// Starts the session's process on its runtime and moves it to running (or failed).
  /// REQUIRES: live->op_mu held; the session is creating.
  Result<Session> StartProcess(LiveSession& live, Session session);
  /// Stops the process (if any) with the grace; the session goes to `event`'s state.
  /// REQUIRES: live->op_mu held.
  void StopProcess(LiveSession& live, std::chrono::milliseconds grace);
  /// A session in running/creating whose process is gone: failed with its exit.
  /// REQUIRES: live->op_mu held. Returns the (possibly new) session.
  Result<Session> Reconcile(LiveSession& live, Session session);
  /// Clustered (docs/cluster.md "Sessions"): the node whose process runs `session` when it is
  /// another live node (attach and proxies need it); empty when here, or on one node.
  std::string RunsElsewhere(const Session& session);
  /// Clustered sweep: sessions whose `session:<id>` lease expired (their node died) are
  /// reconciled: failed "its server stopped" (their process was a child, or a container of a
  /// node that is gone).
  void TakeOverExpired();
  /// Caps and ports of a create or resume. REQUIRES: create_mu_ held.
  Status CheckRunningCap(const Principal& caller, const std::string& key);
  Status ReservePorts(LiveSession& live, const SessionSpecFields& spec);
  void ReleasePorts(LiveSession& live);
  SessionRuntime* RuntimeFor(const SessionSpecFields& spec, Status* why);
  /// Stop(), Resume() and Upgrade() share this: find, lock, reconcile, act.
  Result<Session> Act(const Principal& caller, std::string_view id, SessionEvent event);
  void Forget(const std::string& id);

  Hub& hub_;
  // Constant after construction.
  SessionServiceOptions options_;
  Status sandbox_error_;

  std::mutex create_mu_;

  std::mutex mu_;
  // Guarded by mu_.
  std::map<std::string, std::shared_ptr<LiveSession>, std::less<>> live_;
  std::map<std::uint16_t, std::string> ports_;  // exposed sandbox ports -> session id
  bool closed_ = false;
  std::size_t posted_ = 0;  // PostExit tasks not yet run
  UnixMillis last_takeover_ = 0;  // guarded by mu_
  std::condition_variable posted_cv_;
};

/// The key caps and usage count by: the API key's id, else "user:<id>", else "space:<id>".
std::string SessionKeyOf(const Principal& caller);

/// Whether `id` can be a session id (the ids this service makes: ULID characters).
bool IsSessionIdShape(std::string_view id);

}  // namespace agentcore::hub_internal
