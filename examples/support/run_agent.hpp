// SPDX-License-Identifier: Apache-2.0
#pragma once

/// What every run agent shares (docs/runs.md, "The builder's protocol"): the example builder
/// (examples/builder-agent) and the model-driven agent are ordinary Cast agents (cast_agent.hpp)
/// that, on each push and right after checkin, ask `GET /agents/task` for their current task,
/// run it on one worker thread, and stream the phase's work as Tymbal frames over one chunked
/// `POST /tymbal/<channel>/stream` per phase (RunStream), ending with a `run_result` frame.
///
/// A program supplies only a PhaseHandler:
///
///     example_agent::RunAgentMain(config, [](const RunTask& task, RunStream& out) {
///       out.Token("working on it\n");
///       out.Succeed("done");
///     });
///
/// Tasks are run one at a time; a task whose (runId, phase, attempt) this process finished
/// already is ignored (the server hands a task out again until its phase ends). The attempt
/// counts: after a failed attempt (run_result ok:false) the builder process lives on, and the
/// retry hands it the same run and phase with the next attempt number.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

#include "support/cast_agent.hpp"

namespace example_agent {

/// One earlier turn of the project's conversation.
struct ConversationTurn {
  std::string role;  // "user" | "assistant"
  std::string content;
  friend bool operator==(const ConversationTurn&, const ConversationTurn&) = default;
};

/// A task, as `GET /agents/task` answers it (docs/runs.md). Plain data.
struct RunTask {
  std::string run_id;  // runId
  std::string phase;   // "plan" | "build"
  std::int64_t attempt = 1;
  std::string prompt;
  std::string workspace;  // an absolute path
  bool read_only = false;  // readOnly; true in the plan phase
  agentcore::Json plan;    // null, or the plan phase's plan (an object) in the build phase
  std::vector<ConversationTurn> conversation;  // oldest first
  std::int64_t deadline_ms = 600'000;          // deadlineMs: the phase's time left, from receipt
};

/// The largest task body ParseRunTask and FetchTask accept.
inline constexpr std::size_t kMaxTaskBytes = 8 * 1024 * 1024;

/// Parses a `GET /agents/task` 200 body. Required: `runId` (non-empty string), `phase` ("plan"
/// or "build"), `prompt` (string), `workspace` (absolute path). Optional: `attempt` (integer
/// >= 1, default 1), `readOnly` (bool, default: phase is "plan"), `plan` (null or object),
/// `conversation` (array of {role, content} strings), `deadlineMs` (integer >= 0, the time
/// left for the phase; 0 when it is over already; default 600000). Unknown members are ignored. Errors: kInvalidArgument naming the first bad member
/// (or the JSON error); kTooLarge past kMaxTaskBytes.
agentcore::Result<RunTask> ParseRunTask(std::string_view body);

/// `GET <api_url>/agents/task` with `Authorization: Bearer <token>` (10 s timeout): the task on
/// 200, nullopt on 204. Errors: kUnavailable for any other status (the message has the status
/// and the start of the body) or a transport failure; kDeadlineExceeded; kInvalidArgument or
/// kTooLarge for a 200 body ParseRunTask refuses.
agentcore::Result<std::optional<RunTask>> FetchTask(agentcore::HttpClient& client,
                                                    const AgentConfig& config);

/// One phase's output: opens one chunked `POST <api_url>/tymbal/<channel>/stream` when built
/// and writes each frame to it as it is made (a thread of its own runs the upload). Every frame
/// carries the task's run id and phase; message ids and tool call ids are ULIDs; timestamps are
/// ISO. Frames, by method (docs/runs.md's table):
///   - Token: the first opens a message (start frame, metadata {run, phase, type:"message"}),
///     each adds an append frame; EndMessage (or any other frame) closes it with a set frame
///     {type:"message", content: the whole text};
///   - ToolCall / ToolOutput / ToolResult / Usage / Plan: one set frame each;
///   - Succeed / Fail: the `run_result` set frame; later frames are dropped.
/// Set frame values also carry `sender` (the callsign) and `senderType: "agent"`.
///
/// If the upload fails (the server refuses it or the connection breaks), later frames are
/// dropped and Close() reports why. Frames wait in memory while the upload is slower than the
/// agent (at most 4 MiB, then the frame methods block).
///
/// Thread-compatible: one thread (the phase's) calls the frame methods. The destructor closes.
class RunStream {
 public:
  /// `stop` (not owned; may be nullptr) is what stopping() reads; it must outlive the stream.
  RunStream(const AgentConfig& config, const RunTask& task, const std::atomic<bool>* stop);
  ~RunStream();
  RunStream(const RunStream&) = delete;
  RunStream& operator=(const RunStream&) = delete;

  const RunTask& task() const { return task_; }
  /// When the phase must be over: receipt of the task + deadlineMs.
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  /// True once the agent is being stopped (a handler should end its phase soon) or the
  /// deadline passed.
  bool stopping() const;

  /// Streams `text` as part of the current assistant message (opening one if need be).
  void Token(std::string_view text);
  /// Closes the current message, if any, with its `message` set frame.
  void EndMessage();
  /// A `tool_call` {toolCallId, name, args}; returns the new toolCallId.
  std::string ToolCall(std::string_view name, agentcore::Json args);
  /// A `tool_output` {toolCallId, stream ("stdout"/"stderr"), text}.
  void ToolOutput(std::string_view tool_call_id, std::string_view stream, std::string_view text);
  /// A `tool_result` {toolCallId, name, output, isError}.
  void ToolResult(std::string_view tool_call_id, std::string_view name, std::string_view output,
                  bool is_error);
  /// A `usage` {provider, model, inputTokens, outputTokens}.
  void Usage(std::string_view provider, std::string_view model, std::int64_t input_tokens,
             std::int64_t output_tokens);
  /// A `plan` {plan}. REQUIRES: `plan` is an object {summary, todos:[...]}.
  void Plan(agentcore::Json plan);
  /// `run_result` {ok: true, summary}.
  void Succeed(std::string_view summary);
  /// `run_result` {ok: false, error, retryable}.
  void Fail(std::string_view error, bool retryable);
  /// Whether a run_result went out (Succeed or Fail was called).
  bool finished() const { return finished_; }

  /// Ends the request body and waits for the server's answer (at most the phase's deadline
  /// plus 30 s). OK when it answered 200. Errors: kUnavailable with the status and body (or
  /// the transport's error). Idempotent: later calls return the same status.
  agentcore::Status Close();

 private:
  class Upload;
  void Send(std::string line);
  void SendSet(std::string id, agentcore::Json value);
  agentcore::Json Value(std::string_view type) const;

  // Constant after construction.
  const AgentConfig config_;
  const RunTask task_;
  const std::atomic<bool>* const stop_;
  const std::chrono::steady_clock::time_point deadline_;
  std::unique_ptr<Upload> upload_;

  // The phase's thread only.
  std::string open_id_;    // the open message's id, or empty
  std::string open_text_;  // its text so far
  bool finished_ = false;
  std::optional<agentcore::Status> closed_;
};

/// Runs one phase: streams its work to `out` and ends it with Succeed or Fail. Called on the
/// agent's worker thread, one task at a time. A handler that returns without either gets a
/// Fail("the agent ended the phase without a result", retryable) sent for it.
using PhaseHandler = std::function<void(const RunTask& task, RunStream& out)>;

/// Tuning for RunAgent; the defaults are what the examples use.
struct RunAgentOptions {
  /// A failed task fetch (transport error, 5xx) is tried again this many times, this far apart,
  /// before the agent waits for the next push.
  int fetch_attempts = 5;
  std::chrono::milliseconds fetch_retry{500};
  /// Check in and heartbeat (false: tests of the task loop alone).
  bool check_in = true;
};

/// The agent: a push listener (POST /message answered 202, a doorbell; GET /health), checkin,
/// heartbeats and the worker that fetches and runs tasks. Thread-safe. See the top of the file.
class RunAgent {
 public:
  /// Listens on 127.0.0.1:<config.port>, checks in (unless options.check_in is false), starts
  /// the heartbeat and the worker, and rings the doorbell once. Errors: kUnavailable (cannot
  /// listen, checkin failed), kPermissionDenied (checkin refused).
  static agentcore::Result<std::unique_ptr<RunAgent>> Start(AgentConfig config,
                                                            PhaseHandler handler,
                                                            RunAgentOptions options = {});
  /// Stop().
  ~RunAgent();
  RunAgent(const RunAgent&) = delete;
  RunAgent& operator=(const RunAgent&) = delete;

  /// The push listener's port.
  std::uint16_t port() const;
  /// Asks for the current task soon, as a push does.
  void Ring();
  /// Stops the listener, the heartbeat and the worker (a running handler sees stopping() and
  /// should return) and joins them. Idempotent.
  void Stop();
  /// Phases this agent ran to the end so far.
  int phases_run() const;

  class Impl;

 private:
  explicit RunAgent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A run agent's main(): ExitOnStopSignals, RunAgent::Start, then waits until a signal ends the
/// process. Returns the exit code when it cannot start (1), having logged why.
int RunAgentMain(AgentConfig config, PhaseHandler handler, RunAgentOptions options = {});

}  // namespace example_agent
