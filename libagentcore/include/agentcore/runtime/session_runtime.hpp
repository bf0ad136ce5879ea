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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>

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
  /// about a second, then kUnavailable). kFailedPrecondition after CloseStdin or exit.
  virtual Status WriteStdin(std::string_view bytes) = 0;
  /// Closes stdin (EOF for the command). Idempotent.
  virtual Status CloseStdin() = 0;
  /// SIGTERM (or the engine's stop), then SIGKILL after `grace`; returns once it exited and
  /// OnExit was called. Idempotent. The workspace stays.
  virtual Status Stop(std::chrono::milliseconds grace) = 0;
  /// False once the process exited.
  virtual bool running() const = 0;
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
struct SandboxRuntimeOptions {
  /// The bwrap binary (a name is looked up in PATH).
  std::string bwrap_path = "bwrap";
  /// Where the runtime keeps one pid file per running sandbox, for ReapOrphans. Empty: no
  /// pid files (orphans die with the server anyway: bwrap runs with --die-with-parent).
  std::string state_dir;
  /// Host paths mounted read-only at the same place (the system the command sees). Missing
  /// paths are skipped.
  std::vector<std::string> read_only_paths = {"/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64",
                                              "/lib32", "/opt"};
  /// Longest wait for bwrap to report the command spawned.
  std::chrono::milliseconds start_timeout{10'000};
};

/// kUnavailable (with the fix: `apt-get install bubblewrap`) when bwrap cannot be run.
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
