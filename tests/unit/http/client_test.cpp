// SPDX-License-Identifier: Apache-2.0
#include <agentcore/http/client.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "support/test_http_server.hpp"

using agentcore::ErrorCode;
using agentcore::HttpClient;
using agentcore::HttpRequest;
using agentcore::HttpResponse;
using agentcore::NewHttpClient;
using agentcore::testing::TestHttpConnection;
using agentcore::testing::TestHttpRequest;
using agentcore::testing::TestHttpServer;
using namespace std::chrono_literals;

namespace {

// Long enough never to fire on a loaded machine; a test that hits it fails instead of hanging.
constexpr auto kWait = 10s;

bool Ready(std::future<void>& f) { return f.wait_for(kWait) == std::future_status::ready; }

HttpRequest Get(std::string url) {
  HttpRequest req;
  req.url = std::move(url);
  return req;
}

// A port on 127.0.0.1 that is bound but not listening: connecting to it is refused.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace

TEST_SUITE("HttpClient") {
  TEST_CASE("GET sends the caller's headers and returns status, headers and body") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest& r) {
      return c.WriteResponse(418, {{"X-Reply", "  padded  "}, {"Content-Type", "text/plain"}},
                             r.method + " " + r.target + " " + r.Header("x-test") + " " +
                                 (r.HasHeader("content-type") ? "ct" : "no-ct"));
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/a/b?q=1"));
    req.headers = {{"X-Test", "hello"}};
    auto res = client->Send(req);
    REQUIRE(res.ok());
    CHECK(res->status == 418);
    CHECK(res->body == "GET /a/b?q=1 hello no-ct");
    CHECK(res->Header("x-reply") == "padded");
    CHECK(res->Header("content-length") == "24");
  }

  TEST_CASE("POST sends the body with Content-Length and no default Content-Type") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest& r) {
      return c.WriteResponse(200, {},
                             r.method + "|" + r.Header("content-length") + "|" +
                                 r.Header("content-type") + "|" + r.Header("expect") + "|" +
                                 r.body);
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/post"));
    req.method = "POST";
    req.body = std::string(3000, 'x');
    SUBCASE("without a Content-Type") {
      auto res = client->Send(req);
      REQUIRE(res.ok());
      CHECK(res->body == "POST|3000|||" + req.body);
    }
    SUBCASE("with the caller's Content-Type") {
      req.headers = {{"Content-Type", "application/json"}};
      auto res = client->Send(req);
      REQUIRE(res.ok());
      CHECK(res->body == "POST|3000|application/json||" + req.body);
    }
  }

  TEST_CASE("other methods are sent as given") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest& r) {
      return c.WriteResponse(200, {}, r.method + "|" + r.body);
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/x"));
    SUBCASE("PUT with a body") {
      req.method = "PUT";
      req.body = "b";
      auto res = client->Send(req);
      REQUIRE(res.ok());
      CHECK(res->body == "PUT|b");
    }
    SUBCASE("DELETE without a body") {
      req.method = "DELETE";
      auto res = client->Send(req);
      REQUIRE(res.ok());
      CHECK(res->body == "DELETE|");
    }
    SUBCASE("HEAD reads no body") {
      req.method = "HEAD";
      auto res = client->Send(req);
      REQUIRE(res.ok());
      CHECK(res->status == 200);
      CHECK(res->body.empty());
      CHECK(res->Header("Content-Length") == "5");
    }
  }

  TEST_CASE("two requests on one client reuse one kept-alive connection") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest& r) {
      return c.WriteResponse(200, {}, r.target);
    });
    auto client = NewHttpClient();
    auto first = client->Send(Get(server.Url("/one")));
    auto second = client->Send(Get(server.Url("/two")));
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    CHECK(first->body == "/one");
    CHECK(second->body == "/two");
    CHECK(server.connections() == 1);
  }

  TEST_CASE("SendStreaming puts each chunk on the wire before asking for the next") {
    std::promise<void> got_first;
    std::future<void> got_first_f = got_first.get_future();
    std::vector<std::string> received;
    TestHttpServer server([&](TestHttpConnection& c, const TestHttpRequest& r) {
      CHECK(r.chunked);
      while (std::optional<std::string> chunk = c.ReadChunk()) {
        received.push_back(*chunk);
        if (received.size() == 1) got_first.set_value();
      }
      return c.WriteResponse(202, {{"X-Chunks", std::to_string(received.size())}}, "ok");
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/stream"));
    req.method = "POST";
    req.headers = {{"Content-Type", "application/x-ndjson"}};
    int calls = 0;
    bool server_saw_first_before_second = false;
    auto res = client->SendStreaming(req, [&]() -> std::optional<std::string> {
      switch (++calls) {
        case 1:
          return std::string("{\"n\":1}\n");
        case 2:
          // The producer blocks here until the server has read chunk 1: the client must have
          // sent it already rather than waiting for more data.
          server_saw_first_before_second = Ready(got_first_f);
          return std::string("{\"n\":2}\n");
        default:
          return std::nullopt;
      }
    });
    REQUIRE(res.ok());
    CHECK(server_saw_first_before_second);
    CHECK(res->status == 202);
    CHECK(res->body == "ok");
    CHECK(res->Header("X-Chunks") == "2");
    CHECK(received == std::vector<std::string>{"{\"n\":1}\n", "{\"n\":2}\n"});
  }

  TEST_CASE("SendStreaming skips empty chunks and splits none of the bytes it sends") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest& r) {
      std::string body = c.ReadChunkedBody();
      return c.WriteResponse(200, {{"X-Method", r.method}}, body);
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/big"));
    req.method = "PUT";
    std::vector<std::string> chunks = {"", "a", "", std::string(300'000, 'b'), "c"};
    std::size_t next = 0;
    auto res = client->SendStreaming(req, [&]() -> std::optional<std::string> {
      if (next == chunks.size()) return std::nullopt;
      return chunks[next++];
    });
    REQUIRE(res.ok());
    CHECK(res->Header("x-method") == "PUT");
    CHECK(res->body == "a" + std::string(300'000, 'b') + "c");
  }

  TEST_CASE("SendWithBodyCallback delivers bytes as they arrive and stops when asked") {
    std::promise<void> client_saw_one;
    std::future<void> client_saw_one_f = client_saw_one.get_future();
    bool server_waited = false;
    std::promise<void> server_saw_close;
    std::future<void> server_saw_close_f = server_saw_close.get_future();
    TestHttpServer server([&](TestHttpConnection& c, const TestHttpRequest&) {
      c.Write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
      c.Write("data: one\n\n");
      // "two" is written only once the client has handed "one" to its callback.
      server_waited = Ready(client_saw_one_f);
      c.Write("data: two\n\n");
      c.WaitForClose();  // the stream never ends on its own; the client must close it
      server_saw_close.set_value();
      return false;
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/events"));
    req.timeout = 0ms;
    std::string seen;
    bool signalled = false;
    auto res = client->SendWithBodyCallback(req, [&](std::string_view data) {
      seen += data;
      if (!signalled && seen.find("data: one\n\n") != std::string::npos) {
        signalled = true;
        client_saw_one.set_value();
      }
      return seen.find("data: two\n\n") == std::string::npos;
    });
    REQUIRE(res.ok());
    CHECK(res->status == 200);
    CHECK(res->Header("content-type") == "text/event-stream");
    CHECK(res->body.empty());
    CHECK(seen == "data: one\n\ndata: two\n\n");
    CHECK(Ready(server_saw_close_f));
    CHECK(server_waited);
  }

  TEST_CASE("SendWithBodyCallback reads to the end when never stopped") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest&) {
      return c.Write("HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\n01234") &&
             c.Write("56789");
    });
    auto client = NewHttpClient();
    std::string seen;
    auto res = client->SendWithBodyCallback(Get(server.Url("/")), [&](std::string_view d) {
      seen += d;
      return true;
    });
    REQUIRE(res.ok());
    CHECK(res->status == 404);
    CHECK(res->body.empty());
    CHECK(seen == "0123456789");
  }

  TEST_CASE("on_response_head sees the status and headers before the first body byte") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest&) {
      return c.Write("HTTP/1.1 404 Not Found\r\nX-Kind: error\r\nContent-Length: 4\r\n\r\n") &&
             c.Write("{}{}");
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/"));
    std::vector<std::string> calls;
    req.on_response_head = [&](const HttpResponse& head) {
      calls.push_back("head " + std::to_string(head.status) + " " +
                      std::string(head.Header("x-kind").value_or("")));
      return true;
    };
    auto res = client->SendWithBodyCallback(req, [&](std::string_view d) {
      calls.push_back("body " + std::string(d));
      return true;
    });
    REQUIRE(res.ok());
    REQUIRE(calls.size() >= 2);
    CHECK(calls[0] == "head 404 error");  // once, first
    std::string body;
    for (std::size_t i = 1; i < calls.size(); ++i) body += calls[i].substr(5);
    CHECK(body == "{}{}");
  }

  TEST_CASE("on_response_head is called once the head is in, before a body that is slow to come") {
    std::promise<void> head_seen;
    auto head_future = head_seen.get_future();
    TestHttpServer server([&](TestHttpConnection& c, const TestHttpRequest&) {
      if (!c.Write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")) {
        return false;
      }
      // The body only once the client has reported the head: it must not wait for the body.
      if (!Ready(head_future)) return false;
      return c.Write("ok");
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/"));
    int calls = 0;
    req.on_response_head = [&](const HttpResponse& head) {
      ++calls;
      CHECK(head.status == 200);  // never the interim 100
      head_seen.set_value();
      return true;
    };
    std::string body;
    auto res = client->SendWithBodyCallback(req, [&](std::string_view d) {
      body += d;
      return true;
    });
    REQUIRE(res.ok());
    CHECK(calls == 1);
    CHECK(body == "ok");
  }

  TEST_CASE("on_response_head returning false stops the transfer before the sink sees a byte") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest&) {
      return c.Write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/"));
    req.on_response_head = [](const HttpResponse&) { return false; };
    bool sink_called = false;
    auto res = client->SendWithBodyCallback(req, [&](std::string_view) {
      sink_called = true;
      return true;
    });
    REQUIRE(res.ok());
    CHECK(res->status == 200);
    CHECK_FALSE(sink_called);
  }

  TEST_CASE("the headers of a 100 Continue are dropped") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest&) {
      return c.Write("HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n") &&
             c.WriteResponse(201, {{"X-Final", "1"}}, "done");
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/"));
    req.method = "POST";
    req.body = "x";
    auto res = client->Send(req);
    REQUIRE(res.ok());
    CHECK(res->status == 201);
    CHECK(res->Header("x-final") == "1");
    CHECK_FALSE(res->Header("x-interim").has_value());
    CHECK(res->body == "done");
  }

  TEST_CASE("a refused connection is kUnavailable") {
    RefusingPort port;
    auto client = NewHttpClient();
    auto res = client->Send(Get("http://127.0.0.1:" + std::to_string(port.port()) + "/x?k=s"));
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().code() == ErrorCode::kUnavailable);
    CHECK(res.status().message().find("GET http://127.0.0.1:") == 0);
    CHECK(res.status().message().find("k=s") == std::string::npos);  // no query in messages
  }

  TEST_CASE("a peer that closes without answering is kUnavailable") {
    TestHttpServer server([](TestHttpConnection&, const TestHttpRequest&) { return false; });
    auto client = NewHttpClient();
    auto res = client->Send(Get(server.Url("/")));
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().code() == ErrorCode::kUnavailable);
  }

  TEST_CASE("a server that never answers is kDeadlineExceeded") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest&) {
      c.WaitForClose();
      return false;
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/slow"));
    req.timeout = 200ms;
    const auto start = std::chrono::steady_clock::now();
    auto res = client->Send(req);
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().code() == ErrorCode::kDeadlineExceeded);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
  }

  TEST_CASE("a response body over max_response_bytes is kTooLarge") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest&) {
      return c.WriteResponse(200, {}, std::string(2000, 'z'));
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/"));
    req.max_response_bytes = 1999;
    auto res = client->Send(req);
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().code() == ErrorCode::kTooLarge);
    req.max_response_bytes = 2000;
    auto ok = client->Send(req);
    REQUIRE(ok.ok());
    CHECK(ok->body.size() == 2000);
  }

  TEST_CASE("bad requests are kInvalidArgument and send nothing") {
    TestHttpServer server(
        [](TestHttpConnection& c, const TestHttpRequest&) { return c.WriteResponse(200, {}, ""); });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/"));
    SUBCASE("CR LF in a header value") { req.headers = {{"X-A", "1\r\nX-Injected: 2"}}; }
    SUBCASE("LF in a header name") { req.headers = {{"X-A\nB", "1"}}; }
    SUBCASE("colon in a header name") { req.headers = {{"X-A:B", "1"}}; }
    SUBCASE("empty header name") { req.headers = {{"", "1"}}; }
    SUBCASE("file URL") { req.url = "file:///etc/passwd"; }
    SUBCASE("malformed URL") { req.url = "http://[::1"; }
    auto res = client->Send(req);
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().code() == ErrorCode::kInvalidArgument);
    CHECK(server.connections() == 0);
  }

  TEST_CASE("an empty header value is sent as an empty header") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest& r) {
      return c.WriteResponse(200, {},
                             r.HasHeader("x-empty") ? "[" + r.Header("x-empty") + "]" : "missing");
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/"));
    req.headers = {{"X-Empty", ""}};
    auto res = client->Send(req);
    REQUIRE(res.ok());
    CHECK(res->body == "[]");
  }

  TEST_CASE("an exception from a callback aborts the transfer and reaches the caller") {
    TestHttpServer server([](TestHttpConnection& c, const TestHttpRequest& r) {
      if (r.chunked) c.ReadChunkedBody();
      return c.WriteResponse(200, {}, "body");
    });
    auto client = NewHttpClient();
    HttpRequest req = Get(server.Url("/"));
    SUBCASE("from the producer") {
      req.method = "POST";
      CHECK_THROWS_AS((void)client->SendStreaming(req,
                                            []() -> std::optional<std::string> {
                                              throw std::runtime_error("producer failed");
                                            }),
                      std::runtime_error);
    }
    SUBCASE("from the body callback") {
      CHECK_THROWS_AS(
          (void)client->SendWithBodyCallback(
              req, [](std::string_view) -> bool { throw std::runtime_error("sink failed"); }),
          std::runtime_error);
    }
    // The client stays usable.
    auto res = client->Send(Get(server.Url("/")));
    REQUIRE(res.ok());
    CHECK(res->body == "body");
  }

  TEST_CASE("requests can go over a Unix domain socket") {
    const std::string path = "/tmp/agentcore_http_test_" + std::to_string(::getpid()) + ".sock";
    TestHttpServer server(
        [](TestHttpConnection& c, const TestHttpRequest& r) {
          return c.WriteResponse(200, {}, r.target + " " + r.Header("host"));
        },
        path);
    auto client = NewHttpClient();
    HttpRequest req = Get("http://localhost/v1.43/containers/json");
    req.unix_socket_path = path;
    auto res = client->Send(req);
    REQUIRE(res.ok());
    CHECK(res->body == "/v1.43/containers/json localhost");
  }

  TEST_CASE("concurrent calls on one client each get their own connection") {
    std::atomic<int> in_flight{0};
    std::atomic<int> max_in_flight{0};
    TestHttpServer server([&](TestHttpConnection& c, const TestHttpRequest& r) {
      const int now = ++in_flight;
      int seen = max_in_flight.load();
      while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(100ms);
      --in_flight;
      return c.WriteResponse(200, {}, r.target);
    });
    auto client = NewHttpClient();
    std::vector<std::string> bodies(4);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] {
        auto res = client->Send(Get(server.Url("/" + std::to_string(i))));
        if (res.ok()) bodies[static_cast<std::size_t>(i)] = res->body;
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < 4; ++i)
      CHECK(bodies[static_cast<std::size_t>(i)] == "/" + std::to_string(i));
    CHECK(max_in_flight.load() > 1);
    CHECK(server.connections() >= 2);
  }
}

TEST_SUITE("HttpResponse") {
  TEST_CASE("Header() matches names case-insensitively and returns the first match") {
    HttpResponse res;
    res.headers = {{"Content-Type", "a"}, {"X-Dup", "first"}, {"x-dup", "second"}};
    CHECK(res.Header("content-type") == "a");
    CHECK(res.Header("CONTENT-TYPE") == "a");
    CHECK(res.Header("Content-Type") == "a");
    CHECK(res.Header("x-DUP") == "first");
    CHECK_FALSE(res.Header("content-typ").has_value());
    CHECK_FALSE(res.Header("").has_value());
    CHECK_FALSE(HttpResponse{}.Header("x").has_value());
  }
}

TEST_SUITE("UrlEncodeComponent") {
  TEST_CASE("UrlEncodeComponent keeps the RFC 3986 unreserved characters as they are") {
    const std::string unreserved =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    CHECK(agentcore::UrlEncodeComponent(unreserved) == unreserved);
    CHECK(agentcore::UrlEncodeComponent("") == "");
  }

  TEST_CASE("UrlEncodeComponent encodes every other byte as %XX with upper-case hex") {
    CHECK(agentcore::UrlEncodeComponent("s:c:echo") == "s%3Ac%3Aecho");
    CHECK(agentcore::UrlEncodeComponent("a b/c?d=e&f#g%") == "a%20b%2Fc%3Fd%3De%26f%23g%25");
    CHECK(agentcore::UrlEncodeComponent("+,;@!*'()[]") == "%2B%2C%3B%40%21%2A%27%28%29%5B%5D");
    CHECK(agentcore::UrlEncodeComponent(std::string("\0\n\x7f", 3)) == "%00%0A%7F");
    CHECK(agentcore::UrlEncodeComponent("\xc3\xa9\xff") == "%C3%A9%FF");
    CHECK(agentcore::UrlEncodeComponent(R"({"label":["k=v"]})") ==
          "%7B%22label%22%3A%5B%22k%3Dv%22%5D%7D");
  }

  TEST_CASE("UrlEncodeComponent encodes every non-unreserved byte value and keeps the rest") {
    for (int i = 0; i < 256; ++i) {
      const char c = static_cast<char>(i);
      const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
      const std::string out = agentcore::UrlEncodeComponent(std::string(1, c));
      CAPTURE(i);
      if (keep) {
        CHECK(out == std::string(1, c));
      } else {
        REQUIRE(out.size() == 3);
        CHECK(out[0] == '%');
        CHECK(std::stoi(out.substr(1), nullptr, 16) == i);
        CHECK(out.find_first_of("abcdef") == std::string::npos);
      }
    }
  }
}
