// SPDX-License-Identifier: Apache-2.0
#pragma once

/// What every example Cast agent does around its own work (spec cast §5): read its identity
/// from the environment (§5.2), check in (§5.4), heartbeat (§5.5) and end at once on SIGTERM or
/// SIGINT. echo-agent, the run agents (run_agent.hpp) and the builder share these pieces.
///
/// Secrets: the container token (`AgentConfig::token`) is sent only in Authorization headers;
/// nothing here logs it or puts it in a message.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/http/client.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

namespace example_agent {

/// An agent's identity and the flags the example agents share. Plain data.
struct AgentConfig {
  /// The program's name, the prefix of its log lines ("builder-agent").
  std::string name;
  /// CAST_API_URL without trailing slashes, e.g. "http://127.0.0.1:8080".
  std::string api_url;
  /// CAST_AGENT_ID, `{spaceId}:{channelId}:{callsign}`, and its parts.
  std::string agent_id;
  agentcore::AgentIdentity identity;
  /// CAST_AUTH_TOKEN, the container token. Secret.
  std::string token;
  /// --heartbeat-ms N: the heartbeat period.
  long heartbeat_ms = 30'000;
  /// --port N: the port the push listener binds (0: an ephemeral one).
  long port = 0;
};

/// Reads CAST_API_URL, CAST_AGENT_ID and CAST_AUTH_TOKEN into a config named `name`.
/// Errors: kInvalidArgument when CAST_API_URL is empty or CAST_AGENT_ID is not
/// `{spaceId}:{channelId}:{callsign}`.
agentcore::Result<AgentConfig> ConfigFromEnvironment(std::string name);

/// Whether ParseCommonFlag took the flag at argv[*i].
enum class FlagParse { kNotMine, kTaken, kBad };

/// Takes `--heartbeat-ms N` (N > 0) or `--port N` (0..65535) at argv[*i] into `config`,
/// advancing *i past the value; kBad for a missing or bad value, kNotMine for any other flag.
FlagParse ParseCommonFlag(int argc, char** argv, int* i, AgentConfig* config);

/// A whole decimal `long` (no sign games, no trailing bytes); false otherwise.
bool ParseLong(std::string_view text, long* out);

/// Writes "<name>: <text>" and a newline to stderr (the runtime keeps it as the agent's log).
void Log(std::string_view name, std::string_view text);

/// Blocks SIGTERM and SIGINT in this and every later thread and starts a thread that ends the
/// process with exit code 0 when one arrives (a phase in progress ends there). Also ignores
/// SIGPIPE. Call at the top of main, before any thread starts.
void ExitOnStopSignals();

/// POSTs `body` (JSON) to `<api_url><path>` with `Authorization: Container <token>` and a
/// `timeout`. The response, any status; errors are the client's (kUnavailable,
/// kDeadlineExceeded...).
agentcore::Result<agentcore::HttpResponse> PostAsAgent(
    agentcore::HttpClient& client, const AgentConfig& config, std::string_view path,
    std::string body, std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));

/// POST /agents/checkin (protocol "3.0", endpoint = `endpoint`), retried with a growing pause
/// (`attempts` tries, 100 ms more each time) while the server is unreachable or answers 5xx.
/// OK once it answers 200. Errors: kPermissionDenied when it answers 4xx (the message holds the
/// status and the server's body); kUnavailable when every attempt failed.
agentcore::Status CheckIn(agentcore::HttpClient& client, const AgentConfig& config,
                          std::string_view endpoint, int attempts = 20);

/// Sends POST /agents/heartbeat every `config.heartbeat_ms` on a thread of its own until
/// destroyed; a failed beat is logged and the next one tried. Thread-safe; the destructor
/// stops and joins the thread within one request timeout (10 s).
class Heartbeat {
 public:
  explicit Heartbeat(AgentConfig config);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace example_agent
