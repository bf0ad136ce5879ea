// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Runtimes of sessions (execbox's and Octo's sandboxed sessions, seeds 001 and 003;
/// docs/sessions.md): a session process is one command in a sandbox or container, with its
/// stdin, stdout and stderr connected to the session service (attach), a host directory
/// bind-mounted as its workspace, and optionally ports the server can reach (Octo's proxies).
///
/// Unlike an agent (runtime/runtime.hpp), a session process is not a Cast agent: it never checks
/// in, its output is bytes, not Tymbal, and its stdin is written by attached clients. So it has
/// its own interface:
///
///   - `SessionRuntime::Start` starts one process and returns once it runs (the sandbox spawned
///     the command; the container started), or fails with a clear error and nothing left behind;
///   - the `SessionOutputSink` receives its output in order and, last, its exit, on a thread
///     of the runtime;
///   - `SessionProcess` writes its stdin, tells where a port inside it is reachable, and stops
///     it. Dropping a SessionProcess that still runs kills it (a session never outlives the
///     object that holds its pipes).
///
/// Two runtimes: the local sandbox (bubblewrap; the embedded default, no image) and Docker or
/// Podman over the Engine API (sessions with an `image`).

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentcore {

/// A session's network. execbox's `network` field.
enum class SessionNetwork : std::uint8_t {
  kNone = 0,      // "none": no network at all (a namespace with only loopback)
  kOutgoing = 1,  // "outgoing": may connect out; its ports are not proxied
  kExposed = 2,   // "exposed": may connect out, and its declared ports are reachable (proxies)
};
/// "none", "outgoing", "exposed" ("unknown" outside the enumerators).
AGENTCORE_EXPORT std::string_view SessionNetworkName(SessionNetwork network);
/// kInvalidArgument `unknown network "<name>" (none, outgoing or exposed)`.
AGENTCORE_EXPORT Result<SessionNetwork> ParseSessionNetwork(std::string_view name);

/// Limits of one session process. 0 means "no limit" for each field.
struct SessionResources {
  std::int64_t cpu_millis = 0;  // 1000 = one core
  std::int64_t memory_mb = 0;
  std::int64_t timeout_ms = 0;  // enforced by the session service, not the runtime
};

/// A port a service inside the session listens on. `name` is the proxy's service name
/// (`/sessions/:id/<name>/*`), e.g. "opencode", "files", "terminal".
struct SessionPort {
  std::string name;
  std::uint16_t port = 0;
};

/// What to start.
struct SessionSpec {
  /// The session's id (names and labels of what the runtime creates).
  std::string session_id;
  /// The runtime instance (HubOptions' runtime instance): what ReapOrphans looks for.
  std::string instance;
  /// Container image (Docker runtime). Empty for the sandbox runtime.
  std::string image;
  /// argv. Empty: the image's own command (Docker); the sandbox runtime requires one.
  std::vector<std::string> command;
  std::vector<std::pair<std::string, std::string>> env;
  /// Working directory inside the session; empty: "/workspace".
  std::string work_dir;
  /// Host directory mounted read-write at /workspace. Created by the session service.
  std::string workspace_dir;
  SessionResources resources;
  SessionNetwork network = SessionNetwork::kNone;
  std::vector<SessionPort> ports;
};

/// Which output stream bytes came from (values are the attach protocol's type bytes).
enum class SessionStream : std::uint8_t { kStdout = 0x02, kStderr = 0x03 };

/// Receives one session process's output, then its end. Called on a thread of the runtime, one
/// call at a time and in order; a call must not block for long (copy and return).
class AGENTCORE_EXPORT SessionOutputSink {
 public:
  virtual ~SessionOutputSink();
  virtual void OnOutput(SessionStream stream, std::string_view bytes) = 0;
  /// Exactly once, after the last OnOutput. `exit_code`: the command's status, 128 + signal
  /// when a signal ended it, -1 when unknown (the container vanished). `reason`: one line for
  /// people, e.g. "exited with code 3", "killed by signal 9", "container removed".
  virtual void OnExit(int exit_code, std::string_view reason) = 0;
  /// Flow control, asked after each OnOutput on the same thread: false stops the runtime
  /// reading the process's output (its pipe fills and the command blocks on its writes) until
  /// SessionProcess::ResumeOutput. Nothing is lost. Runtimes that cannot pause ignore it.
  virtual bool WantsOutput() { return true; }
};

/// One running session process. Thread-safe. Destroying it kills the process if it still runs
/// (and waits for OnExit), then releases what the runtime created for it except the workspace.
class AGENTCORE_EXPORT SessionProcess {
 public:
  virtual ~SessionProcess();
  /// The runtime's name for it: "pid:<n>" (sandbox) or the container id.
  virtual const std::string& id() const = 0;
  /// "host:port" where `port` (a SessionSpec::ports entry) is reachable from the server.
  /// kNotFound when the port is not declared or the network is not kExposed.
  virtual Result<std::string> Endpoint(std::uint16_t port) const = 0;
  /// Writes to the command's stdin (may block briefly while the pipe is full; at most
  /// about a second, then kUnavailable; some of the bytes may have been written). kConflict
  /// after CloseStdin, after the exit, or when the command closed its stdin (ErrorCode has no
  /// kFailedPrecondition; kConflict is its "refused in this state").
  virtual Status WriteStdin(std::string_view bytes) = 0;
  /// Closes stdin (EOF for the command). Idempotent.
  virtual Status CloseStdin() = 0;
  /// SIGTERM (or the engine's stop), then SIGKILL after `grace`; returns once it exited and
  /// OnExit was called. Idempotent. The workspace stays.
  virtual Status Stop(std::chrono::milliseconds grace) = 0;
  /// False once the process exited.
  virtual bool running() const = 0;
  /// Reads the output again after the sink's WantsOutput said false (any thread; cheap and
  /// harmless when not paused). Default: nothing (a runtime that never pauses).
  virtual void ResumeOutput() {}
};

/// Starts session processes. Thread-safe.
class AGENTCORE_EXPORT SessionRuntime {
 public:
  virtual ~SessionRuntime();
  /// "sandbox" or "docker".
  virtual std::string_view name() const = 0;
  /// Starts `spec`; returns once the command runs. `sink` must outlive the process. Errors:
  /// kInvalidArgument (a spec this runtime cannot run, e.g. no command on the sandbox),
  /// kNotFound (image missing), kUnavailable (bwrap or the engine missing), kInternal; nothing
  /// is left running after an error.
  virtual Result<std::unique_ptr<SessionProcess>> Start(const SessionSpec& spec,
                                                        SessionOutputSink* sink) = 0;
  /// Kills and removes what an earlier process of `instance` started and left (a crash).
  /// Returns how many it removed.
  virtual Result<std::size_t> ReapOrphans(std::string_view instance) = 0;
};

/// The local sandbox runtime (bubblewrap). Every field has a working default.
///
/// What the sandbox enforces: its own mount, pid, ipc, uts, cgroup and (network `none`)
/// network namespaces, no capabilities, the system paths read-only, the workspace the only
/// writable host directory. `resources.memory_mb` is RLIMIT_AS (address space, set on bwrap
/// before exec and inherited by the command and everything it starts): a command that
/// allocates more gets allocation failures (it usually dies; programs that reserve large
/// virtual ranges up front, such as some JITs, need a generous limit). `resources.cpu_millis`
/// is NOT enforced: a CPU share needs a cgroup, which the sandbox does not have (unprivileged
/// bwrap cannot create one); it is only counted in usage. `timeout_ms` is the service's.
///
/// Threads: one per runtime ("agentcore-sbox"), an epoll loop that spawns every bwrap (so
/// --die-with-parent follows it, not a caller's thread), reads all processes' output (at most
/// 64 KiB per read, passed to the sink as it came, nothing buffered beyond it) and sees them
/// exit (pidfd). It ends when the runtime and all its processes are gone; the runtime may be
/// destroyed before its processes. Sinks run on it: a sink must not call Start or Stop (they
/// return kInternal there), but may destroy the process it belongs to (it is then killed
/// without waiting). Stop's SIGTERM goes to the sandbox's process group (the command and what
/// it started in that group); SIGKILL to bwrap, whose sandbox dies with it.
struct SandboxRuntimeOptions {
  /// The bwrap binary (a name is looked up in PATH).
  std::string bwrap_path = "bwrap";
  /// Where the runtime keeps one pid file per running sandbox, for ReapOrphans
  /// (`<instance>.<session id>.pid`, ids %-escaped; created if missing). Empty: no pid files
  /// (orphans die with the server anyway: bwrap runs with --die-with-parent). ReapOrphans
  /// kills only a pid that still is the bwrap started (same start time, same boot, argv[0]
  /// `bwrap`) and not one of this runtime's own running processes.
  std::string state_dir;
  /// Host paths mounted read-only at the same place (the system the command sees). Missing
  /// paths are skipped. Only the parts of /etc a program needs to run, resolve names and
  /// check certificates: the command runs as the server's user (root, often), so all of /etc
  /// would show it /etc/shadow and the server's own configuration.
  std::vector<std::string> read_only_paths = {"/usr",
                                              "/bin",
                                              "/sbin",
                                              "/lib",
                                              "/lib64",
                                              "/lib32",
                                              "/opt",
                                              "/etc/alternatives",
                                              "/etc/ld.so.cache",
                                              "/etc/ld.so.conf",
                                              "/etc/ld.so.conf.d",
                                              "/etc/passwd",
                                              "/etc/group",
                                              "/etc/hosts",
                                              "/etc/resolv.conf",
                                              "/etc/nsswitch.conf",
                                              "/etc/host.conf",
                                              "/etc/ssl",
                                              "/etc/ca-certificates",
                                              "/etc/localtime",
                                              "/etc/timezone",
                                              "/etc/mime.types",
                                              "/etc/protocols",
                                              "/etc/services"};
  /// Longest wait for bwrap to report the command spawned.
  std::chrono::milliseconds start_timeout{10'000};
};

/// kUnavailable (with the fix: `apt-get install bubblewrap`) when bwrap cannot be run.
/// kInvalidArgument for a start_timeout that is not positive; kInternal when state_dir cannot
/// be created. Start returns once bwrap reported the sandbox's child-pid on its
/// --json-status-fd; bwrap failing before that is kInternal with bwrap's first stderr line,
/// no report within start_timeout is kDeadlineExceeded (bwrap is killed). A failure after it
/// (a command that does not exist, a workDir missing in the sandbox) is the process's exit
/// (code 1, bwrap's message on stderr). OnExit's code is the command's (bwrap's "exit-code",
/// 128 + signal for a signal), or from waitpid when bwrap itself was killed.
AGENTCORE_EXPORT Result<std::unique_ptr<SessionRuntime>> OpenSandboxRuntime(
    SandboxRuntimeOptions options = {});

/// The Docker/Podman session runtime (Engine API over a unix socket, as runtime/docker.hpp).
struct DockerSessionRuntimeOptions {
  /// "unix:///var/run/docker.sock" form, as DockerRuntimeOptions.
  std::string docker_host = "unix:///var/run/docker.sock";
  /// A network for `outgoing`/`exposed` sessions; empty: the engine's default bridge.
  std::string network;
  std::chrono::milliseconds call_timeout{30'000};
  std::chrono::milliseconds start_timeout{60'000};
};

/// kUnavailable when the engine does not answer.
AGENTCORE_EXPORT Result<std::unique_ptr<SessionRuntime>> OpenDockerSessionRuntime(
    DockerSessionRuntimeOptions options);

}  // namespace agentcore
