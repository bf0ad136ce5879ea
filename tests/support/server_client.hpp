// SPDX-License-Identifier: Apache-2.0
#pragma once

// A small REST client for a real agentcore-server (a ChildServer) in dev auth mode: log in,
// keep the session cookie, create channels, add agents, post messages, read the stored replies
// and an agent's status. The cookie is portable: servers that share a database and the
// development secrets accept each other's sessions. Test support only.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

namespace agentcore::testing {

class ServerClient {
 public:
  /// `base`: "http://127.0.0.1:<port>".
  explicit ServerClient(std::string base) : base_(std::move(base)), client_(NewHttpClient()) {}

  /// Logs in (dev mode) and keeps the session cookie for Call().
  void Login(const std::string& callsign = "alice") {
    HttpResponse r = Call("POST", "/auth/dev/login", R"({"callsign":")" + callsign + "\"}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    std::string set_cookie(r.Header("Set-Cookie").value_or(""));
    cookie_ = set_cookie.substr(0, set_cookie.find(';'));
    auto body = ParseJson(r.body);
    REQUIRE(body.ok());
    const std::string* space = body->FindString("spaceId");
    REQUIRE(space != nullptr);
    space_id_ = *space;
  }
  /// The session's space (Login()).
  const std::string& space_id() const { return space_id_; }
  const std::string& cookie() const { return cookie_; }
  void set_cookie(std::string cookie) { cookie_ = std::move(cookie); }
  /// Another client's session (same user, same space), for a client of another server.
  void ShareSession(const ServerClient& other) {
    cookie_ = other.cookie_;
    space_id_ = other.space_id_;
  }

  /// One request with the session cookie; status 0 and the error as the body when the call
  /// failed (e.g. timed out after `timeout`, or the server is gone).
  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    HttpRequest req;
    req.method = method;
    req.url = base_ + path;
    req.body = body;
    req.timeout = timeout;
    req.headers = {{"Content-Type", "application/json"}};
    if (!cookie_.empty()) req.headers.emplace_back("Cookie", cookie_);
    auto r = client_->Send(req);
    if (!r.ok()) {
      HttpResponse failed;
      failed.status = 0;
      failed.body = r.status().ToString();
      return failed;
    }
    return *std::move(r);
  }

  std::string CreateChannel(const std::string& name) {
    HttpResponse r = Call("POST", "/channels", R"({"name":")" + name + "\"}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return *ParseJson(r.body)->Find("channel")->FindString("id");
  }
  void AddAgent(const std::string& channel, const std::string& callsign,
                const std::string& type = "echo") {
    HttpResponse r = Call("POST", "/channels/" + channel + "/agents",
                          R"({"callsign":")" + callsign + R"(","agentType":")" + type + "\"}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }
  /// Posts a user message; REQUIREs 201 and returns the stored message's id.
  std::string PostMessage(const std::string& channel, const std::string& text) {
    HttpResponse r = Call("POST", "/channels/" + channel + "/messages",
                          R"({"content":")" + text + R"(","sender":"alice","senderType":"user"})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return *ParseJson(r.body)->Find("message")->FindString("id");
  }
  /// The channel's stored messages, oldest first (every page); empty when a page fails.
  std::vector<Json> Messages(const std::string& channel) {
    std::vector<Json> out;
    std::string after;
    for (;;) {
      HttpResponse r = Call("GET", "/channels/" + channel + "/messages?limit=200" +
                                       (after.empty() ? "" : "&since=" + after));
      if (r.status != 200) return {};
      auto body = ParseJson(r.body);
      if (!body.ok() || body->Find("messages") == nullptr) return {};
      const auto& page = body->Find("messages")->as_array();
      for (const Json& m : page) out.push_back(m);
      if (page.size() < 200) return out;
      after = *page.back().FindString("id");
    }
  }
  /// The stored, complete messages' contents of `sender` (type agent), oldest first.
  std::vector<std::string> Replies(const std::string& channel, const std::string& sender) {
    std::vector<std::string> out;
    for (const Json& m : Messages(channel)) {
      const std::string* s = m.FindString("sender");
      const std::string* t = m.FindString("type");
      const std::string* c = m.FindString("content");
      const Json* complete = m.Find("isComplete");
      if (s != nullptr && *s == sender && t != nullptr && *t == "agent" && c != nullptr &&
          complete != nullptr && complete->is_bool() && complete->as_bool()) {
        out.push_back(*c);
      }
    }
    return out;
  }
  /// GET /agents/status/:id's "status" ("" when it cannot be read).
  std::string AgentStatus(const std::string& agent_id) {
    std::string escaped;
    for (char ch : agent_id) escaped += ch == ':' ? std::string("%3A") : std::string(1, ch);
    HttpResponse r = Call("GET", "/agents/status/" + escaped);
    auto body = ParseJson(r.body);
    if (r.status != 200 || !body.ok()) return {};
    const std::string* s = body->FindString("status");
    return s != nullptr ? *s : std::string();
  }

 private:
  std::string base_;
  std::unique_ptr<HttpClient> client_;
  std::string cookie_;
  std::string space_id_;
};

}  // namespace agentcore::testing
