// SPDX-License-Identifier: Apache-2.0
#pragma once

// The server side of a run agent's protocol (docs/runs.md, "The builder's protocol"), for
// tests of examples/support/run_agent and examples/builder-agent: exactly the routes a run
// agent calls, with the real server's shapes.
//
//   POST /agents/checkin      200 {"status":"ok"}; records the body (the agent's endpoint)
//   POST /agents/heartbeat    200 {"status":"ok"}; counts
//   GET  /agents/task         what SetTask says (status and body; 204 by default); counts
//   POST /tymbal/:ch/stream   reads the chunked NDJSON body line by line as it arrives,
//                             records each line, then answers StreamStatus() (200 by default)
//
// Every request's Authorization header is recorded. Push() plays the hub's push (POST /message
// to the endpoint the agent checked in with). Thread-safe.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "support/test_http_server.hpp"

namespace agentcore::testing {

class FakeRunServer {
 public:
  struct Stream {
    std::string target;
    std::string authorization;
    std::string content_type;
    std::vector<std::string> lines;  // NDJSON lines without their '\n'
    bool complete = false;           // the body ended
  };

  FakeRunServer()
      : server_([this](TestHttpConnection& conn, const TestHttpRequest& req) {
          return Handle(conn, req);
        }) {}

  std::string Url() const { return server_.Url(""); }

  // What GET /agents/task answers from now on.
  void SetTask(int status, std::string body) {
    std::lock_guard lock(mu_);
    task_status_ = status;
    task_body_ = std::move(body);
  }
  // What a finished stream is answered.
  void SetStreamStatus(int status) {
    std::lock_guard lock(mu_);
    stream_status_ = status;
  }

  std::vector<std::string> Checkins() const {
    std::lock_guard lock(mu_);
    return checkins_;
  }
  int heartbeats() const {
    std::lock_guard lock(mu_);
    return heartbeats_;
  }
  int task_fetches() const {
    std::lock_guard lock(mu_);
    return task_fetches_;
  }
  // Authorization headers, "<method> <path> <value>", in arrival order.
  std::vector<std::string> Authorizations() const {
    std::lock_guard lock(mu_);
    return authorizations_;
  }
  std::vector<Stream> Streams() const {
    std::lock_guard lock(mu_);
    return streams_;
  }
  // Every line of every stream, parsed; a line that is not JSON is a string value.
  std::vector<Json> Frames() const {
    std::vector<Json> out;
    for (const Stream& s : Streams()) {
      for (const std::string& line : s.lines) {
        Result<Json> j = ParseJson(line);
        out.push_back(j.ok() ? *j : Json(line));
      }
    }
    return out;
  }

  // Waits until `done()` (checked whenever a request arrives, and every 50 ms) or `timeout`.
  bool WaitFor(const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mu_);
    for (;;) {
      lock.unlock();
      if (done()) return true;
      lock.lock();
      if (std::chrono::steady_clock::now() >= until) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
  }

  // POST /message to the agent's checked-in endpoint with `Bearer <token>`: the HTTP status,
  // or 0 when it could not be sent.
  int Push(const std::string& token) {
    std::vector<std::string> checkins = Checkins();
    if (checkins.empty()) return 0;
    Result<Json> body = ParseJson(checkins.back());
    const std::string* endpoint = body.ok() ? body->FindString("endpoint") : nullptr;
    if (endpoint == nullptr) return 0;
    std::unique_ptr<HttpClient> client = NewHttpClient();
    HttpRequest req;
    req.method = "POST";
    req.url = *endpoint + "/message";
    req.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}};
    req.body = R"({"content":"a run task is waiting"})";
    req.timeout = std::chrono::milliseconds(5'000);
    Result<HttpResponse> r = client->Send(req);
    return r.ok() ? r->status : 0;
  }

 private:
  bool Handle(TestHttpConnection& conn, const TestHttpRequest& req) {
    {
      std::lock_guard lock(mu_);
      authorizations_.push_back(req.method + " " + req.target + " " +
                                req.Header("authorization"));
    }
    cv_.notify_all();
    if (req.method == "POST" && req.target == "/agents/checkin") {
      {
        std::lock_guard lock(mu_);
        checkins_.push_back(req.body);
      }
      cv_.notify_all();
      return conn.WriteResponse(200, {{"Content-Type", "application/json"}}, R"({"status":"ok"})");
    }
    if (req.method == "POST" && req.target == "/agents/heartbeat") {
      {
        std::lock_guard lock(mu_);
        ++heartbeats_;
      }
      return conn.WriteResponse(200, {{"Content-Type", "application/json"}}, R"({"status":"ok"})");
    }
    if (req.method == "GET" && req.target == "/agents/task") {
      int status;
      std::string body;
      {
        std::lock_guard lock(mu_);
        ++task_fetches_;
        status = task_status_;
        body = task_body_;
      }
      cv_.notify_all();
      if (status == 204) return conn.WriteResponse(204, {}, "");
      return conn.WriteResponse(status, {{"Content-Type", "application/json"}}, body);
    }
    if (req.method == "POST" && req.target.rfind("/tymbal/", 0) == 0 && req.chunked) {
      std::size_t index;
      {
        std::lock_guard lock(mu_);
        index = streams_.size();
        streams_.push_back(Stream{req.target, req.Header("authorization"),
                                  req.Header("content-type"), {}, false});
      }
      std::string pending;
      while (std::optional<std::string> chunk = conn.ReadChunk()) {
        pending += *chunk;
        std::size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          {
            std::lock_guard lock(mu_);
            streams_[index].lines.push_back(pending.substr(0, nl));
          }
          cv_.notify_all();
          pending.erase(0, nl + 1);
        }
      }
      int status;
      {
        std::lock_guard lock(mu_);
        if (!pending.empty()) streams_[index].lines.push_back(pending);
        streams_[index].complete = true;
        status = stream_status_;
      }
      cv_.notify_all();
      return conn.WriteResponse(status, {{"Content-Type", "application/json"}},
                                status == 200 ? R"({"status":"ok"})"
                                              : R"({"error":"forbidden","message":"no"})");
    }
    return conn.WriteResponse(404, {}, R"({"error":"not_found"})");
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int task_status_ = 204;               // guarded by mu_
  std::string task_body_;               // guarded by mu_
  int stream_status_ = 200;             // guarded by mu_
  std::vector<std::string> checkins_;   // guarded by mu_
  int heartbeats_ = 0;                  // guarded by mu_
  int task_fetches_ = 0;                // guarded by mu_
  std::vector<std::string> authorizations_;  // guarded by mu_
  std::vector<Stream> streams_;         // guarded by mu_
  // Last: its threads call Handle, so it goes first when this is destroyed.
  TestHttpServer server_;
};

}  // namespace agentcore::testing
