// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/agent_transport.hpp>

#include <memory>
#include <string>

#include <agentcore/http/client.hpp>

namespace agentcore {

AgentTransport::~AgentTransport() = default;

namespace {

class HttpAgentTransport final : public AgentTransport {
 public:
  explicit HttpAgentTransport(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  Status Push(const AgentPush& push) override {
    HttpRequest req;
    req.method = "POST";
    req.url = push.url;
    req.timeout = timeout_;
    req.connect_timeout = std::min(timeout_, std::chrono::milliseconds(2'000));
    req.max_response_bytes = 64 * 1024;  // an agent's answer is a short acknowledgement
    req.headers = push.headers;
    req.body = push.body;
    Result<HttpResponse> r = ThreadClient().Send(req);
    if (!r.ok()) return r.status();
    if (r->status < 200 || r->status >= 300) {
      return Unavailable("agent \"" + push.agent_id + "\" answered HTTP " +
                         std::to_string(r->status));
    }
    return Status();
  }

 private:
  /// One client per calling thread: its kept-alive connections to agents are reused by that
  /// thread's later pushes, and no two calls share a connection.
  static HttpClient& ThreadClient() {
    thread_local std::unique_ptr<HttpClient> client = NewHttpClient();
    return *client;
  }

  const std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<AgentTransport> NewHttpAgentTransport(std::chrono::milliseconds timeout) {
  return std::make_unique<HttpAgentTransport>(timeout);
}

}  // namespace agentcore
