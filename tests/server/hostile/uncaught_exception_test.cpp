// SPDX-License-Identifier: Apache-2.0
// A handler that throws (a bug: handlers return Status) still gets the client a JSON 500, but
// without the exception's text, and the cause goes to the error log (issue 13 §4).

#include <chrono>
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>

#include "http/http_server.hpp"
#include "http/router.hpp"
#include "server/raw_client.hpp"
#include "server/stderr_capture.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

TEST_SUITE("hostile/uncaught_exception") {
  TEST_CASE("a handler that throws answers a JSON 500 without the exception text and logs it") {
    Router router;
    router.Get("/boom", {}, [](RequestContext&) -> asio::awaitable<Response> {
      throw std::runtime_error("db password is hunter2");
      co_return Response{};
    });
    HttpServerOptions options;
    options.host = "127.0.0.1";
    HttpServer server(options, &router, nullptr);
    REQUIRE(server.Start().ok());
    StderrCapture log;
    {
      RawClient client(server.port());
      REQUIRE(client.Send("GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      std::string reply = client.ReadUntil("}", 5s);
      CHECK(reply.rfind("HTTP/1.1 500 ", 0) == 0);
      CHECK(reply.find(R"("error":"internal")") != std::string::npos);
      CHECK(reply.find("hunter2") == std::string::npos);
    }
    server.Stop(1s);
    const std::string text = log.Text();
    CHECK(text.find("uncaught exception") != std::string::npos);
    CHECK(text.find("hunter2") != std::string::npos);
  }

}  // TEST_SUITE

}  // namespace
}  // namespace agentcore::server::testing
