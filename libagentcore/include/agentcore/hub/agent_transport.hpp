// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The push seam (spec cast §5.3): how the hub hands a message to an agent that checked in.
/// The hub builds the whole request (the endpoint's `/message` URL, the container token, the
/// runtime's route hints as headers, the JSON body `{"content","agentId"}`); the transport only
/// carries it. The default is HTTP (NewHttpAgentTransport); a test records pushes and answers
/// them as it likes; an embedder with agents in its own process answers them in place.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/status.hpp>

namespace agentcore {

/// One push to one agent.
struct AgentPush {
  std::string agent_id;  // "<space>:<channel>:<callsign>"
  std::string endpoint;  // as the agent gave it at checkin, e.g. "http://127.0.0.1:7001"
  std::string url;       // `<endpoint without trailing slashes>/message`
  std::vector<std::pair<std::string, std::string>> headers;  // incl. Authorization
  std::string body;      // {"content":"...","agentId":"..."}
  std::string content;   // the text inside body, for transports that skip the JSON
};

/// Delivers pushes. Thread-safe; Push blocks until the agent answered or the timeout passed.
class AGENTCORE_EXPORT AgentTransport {
 public:
  virtual ~AgentTransport();
  AgentTransport(const AgentTransport&) = delete;
  AgentTransport& operator=(const AgentTransport&) = delete;

  /// OK when the agent accepted the message (HTTP 2xx). kUnavailable when it refused (another
  /// status) or could not be reached; kDeadlineExceeded on timeout. The hub treats every
  /// error alike: the message stays queued and the agent is restarted (spec cast §3.4).
  virtual Status Push(const AgentPush& push) = 0;

 protected:
  AgentTransport() = default;
};

/// HTTP/1.1 POST of `body` to `url` with `headers`, keeping connections alive per thread;
/// `timeout` bounds each push, connecting included.
AGENTCORE_EXPORT std::unique_ptr<AgentTransport> NewHttpAgentTransport(
    std::chrono::milliseconds timeout);

}  // namespace agentcore
