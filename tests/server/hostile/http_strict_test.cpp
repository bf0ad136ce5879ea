// SPDX-License-Identifier: Apache-2.0
// Strict HTTP/1.1 (issue 13 §5): what Debian's lenient http-parser let through (a space before
// the colon, a space in a header name, bare LF, chunk data not followed by CRLF, HTTP/9.9...)
// is refused with a JSON 400 and a close, and stores nothing; status lines carry RFC 9110's
// reason phrases.
#include "http/strict_request.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "http/http_server.hpp"
#include "http/message.hpp"
#include "http/request_context.hpp"
#include "http/router.hpp"
#include "server/hostile/hostile_table.hpp"
#include "server/raw_client.hpp"
#include "server/server_fixture.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

struct Checked {
  bool done = false;
  std::size_t consumed = 0;
  std::string error;
};

/// The check over `bytes`, whole or one byte at a time (both must agree).
Checked Check(std::string_view bytes, bool bytewise) {
  StrictRequestCheck check;
  Checked out;
  if (!bytewise) {
    auto step = check.Feed(bytes);
    out.done = step.done;
    out.consumed = step.consumed;
    out.error = std::string(step.error);
    return out;
  }
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto step = check.Feed(bytes.substr(i, 1));
    out.consumed += step.consumed;
    if (!step.error.empty()) {
      out.error = std::string(step.error);
      return out;
    }
    if (step.done) {
      out.done = true;
      return out;
    }
  }
  return out;
}

/// `a`, a NUL byte, then `b`.
std::string WithNul(const std::string& a, const std::string& b) { return a + '\0' + b; }

const std::string kBody = R"({"name":"smuggled"})";

std::string Post(const std::string& extra_headers, const std::string& body) {
  return "POST /channels HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n"
         "Content-Type: application/json\r\n" +
         extra_headers + "\r\n" + body;
}

std::string Length(const std::string& body) {
  return "Content-Length: " + std::to_string(body.size()) + "\r\n";
}

}  // namespace

TEST_SUITE("hostile/http_strict") {
  TEST_CASE("the strict check passes well-formed requests, whole or byte by byte, to their end") {
    const std::string good[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a?b=c HTTP/1.0\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "POST /p HTTP/1.1\r\ncontent-length:  5 \r\n\r\nhello",
        "POST /p HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "POST /p HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
        "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n000A\r\n0123456789\r\n0\r\n\r\n",
        "GET /\xC3\xA9 HTTP/1.1\r\nX-Empty:\r\nX-Tab:\tv\t\r\nX-Utf8: \xC3\xA9\r\n\r\n",
    };
    for (const std::string& request : good) {
      INFO(request);
      for (bool bytewise : {false, true}) {
        Checked c = Check(request, bytewise);
        CHECK(c.error == "");
        CHECK(c.done);
        CHECK(c.consumed == request.size());
      }
    }
  }

  TEST_CASE("the strict check stops at the end of a request and starts again after Reset") {
    StrictRequestCheck check;
    std::string two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    auto first = check.Feed(two);
    CHECK(first.done);
    CHECK(first.consumed == 19);
    CHECK(check.Feed(std::string_view(two).substr(19)).consumed == 0);  // done: nothing more
    check.Reset();
    auto second = check.Feed(std::string_view(two).substr(19));
    CHECK(second.done);
    CHECK(second.consumed == 19);
  }

  TEST_CASE("the strict check refuses every framing violation, whole or byte by byte") {
    const std::pair<std::string, std::string> bad[] = {
        {"GET / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", "whitespace in or after a header name"},
        {"GET / HTTP/1.1\r\nContent-Length : 16\r\n\r\n", "whitespace in or after a header name"},
        {"GET / HTTP/1.1\r\nHo st: x\r\n\r\n", "whitespace in or after a header name"},
        {"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", "whitespace in or after a header name"},
        {"GET / HTTP/1.1\nHost: x\n\n", "bare LF line ending"},
        {"GET / HTTP/1.1\r\nHost: x\n\r\n", "bare LF line ending"},
        {"GET / HTTP/1.1\r\nHost: x\r\n\n", "bare LF line ending"},
        {"\nGET / HTTP/1.1\r\n\r\n", "bare LF line ending"},
        {"GET / HTTP/1.1\rHost: x\r\n\r\n", "CR not followed by LF"},
        {"GET / HTTP/9.9\r\n\r\n", "unsupported HTTP version"},
        {"GET / HTTP/2.0\r\n\r\n", "unsupported HTTP version"},
        {"GET / HTTP/1.2\r\n\r\n", "unsupported HTTP version"},
        {"GET / http/1.1\r\n\r\n", "unsupported HTTP version"},
        {"GET / HTTP/1.10\r\n\r\n", "unsupported HTTP version"},
        {"GET / HTTP/1.1 \r\n\r\n", "unsupported HTTP version"},
        {"GET /\r\n\r\n", "invalid character in the request target"},
        {"GET  / HTTP/1.1\r\n\r\n", "invalid request target"},
        {"GET /a\tb HTTP/1.1\r\n\r\n", "invalid character in the request target"},
        {"GET /a\x01 HTTP/1.1\r\n\r\n", "invalid character in the request target"},
        {"G(T / HTTP/1.1\r\n\r\n", "invalid method"},
        {" GET / HTTP/1.1\r\n\r\n", "invalid method"},
        {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", "obsolete line folding"},
        {"GET / HTTP/1.1\r\n\tX: a\r\n\r\n", "obsolete line folding"},
        {"GET / HTTP/1.1\r\n: a\r\n\r\n", "empty header name"},
        {"GET / HTTP/1.1\r\nX(: a\r\n\r\n", "invalid character in a header name"},
        {"GET / HTTP/1.1\r\nHost x\r\n\r\n", "whitespace in or after a header name"},
        {"GET / HTTP/1.1\r\nHostx\r\n\r\n", "header line without a colon"},
        {WithNul("GET / HTTP/1.1\r\nX: a", "b\r\n\r\n"), "control character in a header value"},
        {"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", "control character in a header value"},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
         "both Content-Length and Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
         "both Content-Length and Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "more than one Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", "more than one Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n", "invalid Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", "invalid Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", "invalid Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 1e2\r\n\r\n", "invalid Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", "invalid Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", "invalid Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", "invalid Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", "invalid Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 0000000000000000000000001\r\n\r\n", "invalid Content-Length"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", "unsupported Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n", "unsupported Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", "unsupported Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", "unsupported Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         "more than one Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding:\x0b" "chunked\r\n\r\n", "control character in a header value"},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in an HTTP/1.0 request"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
         "chunk data not followed by CRLF"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\rX", "CR not followed by LF"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n", "invalid chunk size"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", "invalid chunk size"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "invalid chunk size"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n", "invalid chunk size"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n", "invalid chunk size"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", "chunk size too large"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8000000000000000\r\n", "chunk size too large"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;" + std::string(1100, 'a') + "\r\n",
         "chunk line too long"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a\x01\r\n", "control character in a chunk extension"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX : y\r\n\r\n",
         "whitespace in or after a header name"},
        {"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", "too many empty lines before the request"},
    };
    for (const auto& entry : bad) {
      const std::string& request = entry.first;
      const std::string& why = entry.second;
      INFO(request);
      for (bool bytewise : {false, true}) {
        Checked c = Check(request, bytewise);
        CHECK(c.error == why);
        CHECK_FALSE(c.done);
      }
    }
  }

  TEST_CASE("smuggling-shaped and malformed requests get a JSON 400, a close, and store nothing") {
    HostileServer hs;
    const std::string chunked = ChunkOf(kBody) + "0\r\n\r\n";
    std::vector<HostileCase> cases = {
        Raw("space before the colon of Transfer-Encoding",
            Post("Transfer-Encoding : chunked\r\n", chunked), 400, true),
        Raw("space before the colon of Content-Length",
            Post("Content-Length : " + std::to_string(kBody.size()) + "\r\n", kBody), 400, true),
        Raw("a space inside a header name",
            "GET /health HTTP/1.1\r\nHo st: x\r\n\r\n", 400, true),
        Raw("bare LF line endings",
            "POST /channels HTTP/1.1\nHost: x\nCookie: {cookie}\nContent-Type: application/json\n" +
                Length(kBody) .substr(0, Length(kBody).size() - 2) + "\n\n" + kBody,
            400, true),
        Raw("chunk data followed by XX instead of CRLF",
            Post("Transfer-Encoding: chunked\r\n",
                 ChunkOf(kBody).substr(0, ChunkOf(kBody).size() - 2) + "XX0\r\n\r\n"),
            400, true),
        Raw("HTTP/9.9", "GET /health HTTP/9.9\r\nHost: x\r\n\r\n", 400, true),
        Raw("HTTP/2.0 in an HTTP/1 request line", "GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 400, true),
        Raw("HTTP/1.2", "GET /health HTTP/1.2\r\nHost: x\r\n\r\n", 400, true),
        Raw("obsolete line folding", Post("X-Fold: a\r\n b\r\n" + Length(kBody), kBody), 400, true),
        Raw("CL.TE: Content-Length and Transfer-Encoding",
            Post(Length(chunked) + "Transfer-Encoding: chunked\r\n", chunked), 400, true),
        Raw("TE.CL: Transfer-Encoding then Content-Length",
            Post("Transfer-Encoding: chunked\r\n" + Length(kBody), chunked), 400, true),
        Raw("two differing Content-Length",
            Post(Length(kBody) + "Content-Length: 3\r\n", kBody), 400, true),
        Raw("Content-Length with a sign", Post("Content-Length: +" + std::to_string(kBody.size()) + "\r\n", kBody),
            400, true),
        Raw("Content-Length as a list",
            Post("Content-Length: " + std::to_string(kBody.size()) + "," +
                     std::to_string(kBody.size()) + "\r\n",
                 kBody),
            400, true),
        Raw("TE.TE: xchunked", Post("Transfer-Encoding: xchunked\r\n", chunked), 400, true),
        Raw("TE.TE: chunked twice", Post("Transfer-Encoding: chunked\r\nTransfer-encoding: chunked\r\n", chunked),
            400, true),
        Raw("TE.TE: vertical tab before chunked", Post("Transfer-Encoding:\x0b" "chunked\r\n", chunked), 400, true),
        Raw("TE.TE: chunked, identity", Post("Transfer-Encoding: chunked, identity\r\n", chunked), 400, true),
        Raw("chunked in HTTP/1.0",
            "POST /channels HTTP/1.0\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" + chunked,
            400, true),
        Raw("a NUL in a header value", WithNul("GET /health HTTP/1.1\r\nX: a", "b\r\n\r\n"), 400, true),
        Raw("CR without LF in the head", "GET /health HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400, true),
    };
    CHECK(RunHostileTable(hs, cases) == static_cast<int>(cases.size()));
  }

  TEST_CASE("a strict refusal names what was wrong") {
    ServerFixture server;
    RawClient c(server.port());
    REQUIRE(c.Send("GET /health HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"));
    CHECK(c.WaitClosed(5s));
    CHECK(c.received().rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    CHECK(c.received().find("Connection: close\r\n") != std::string::npos);
    auto body = ParseJson(FirstBody(c.received()));
    REQUIRE(body.ok());
    CHECK(*body->FindString("error") == "bad_request");
    CHECK(*body->FindString("message") == "whitespace in or after a header name");
  }

  TEST_CASE("pipelined well-formed requests still pass the strict check one after another") {
    ServerFixture server;
    RawClient c(server.port());
    std::string get = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(c.Send("\r\n" + get + get + "POST /no-such HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" + get));
    c.ReadResponses(4, 5s);
    CHECK(c.CountResponses() == 4);
    CHECK_FALSE(c.closed());
  }

  TEST_CASE("a byte stream parses and routes without a socket, as a connection would") {
    Router router;
    router.Get("/health", {}, [](RequestContext&) -> asio::awaitable<Response> { co_return Response(); });
    router.Post("/items/:id", {}, [](RequestContext&) -> asio::awaitable<Response> { co_return Response(); },
                10);
    HttpServer engine(HttpServerOptions{}, &router, nullptr);
    bool ambiguous = true;
    auto requests = engine.ParseForTesting(
        "GET /health HTTP/1.1\r\n\r\nPOST /items/a%20b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
        "GET /nope HTTP/1.1\r\n\r\nDELETE /health HTTP/1.1\r\n\r\n"
        "POST /items/%ff HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
        "POST /items/x HTTP/1.1\r\nContent-Length: 11\r\n\r\n",
        &ambiguous);
    CHECK_FALSE(ambiguous);
    REQUIRE(requests.size() == 6);
    CHECK(requests[0].kind == Router::MatchKind::kFound);
    CHECK(requests[1].path == "/items/a%20b");
    CHECK(requests[1].body_bytes == 3);
    CHECK(requests[2].kind == Router::MatchKind::kNoPath);
    CHECK(requests[3].kind == Router::MatchKind::kNoMethod);
    CHECK(requests[4].kind == Router::MatchKind::kBadParam);
    CHECK(requests[5].status == 413);
    auto smuggled = engine.ParseForTesting(
        "GET /health HTTP/1.1\r\n\r\nPOST /items/a HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n",
        &ambiguous);
    REQUIRE(smuggled.size() == 2);
    CHECK(smuggled[1].status == 400);
  }

  TEST_CASE("after CONNECT or an Upgrade that was not granted, the connection closes") {
    ServerFixture server;
    const std::string requests[] = {
        "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
        "GET /health HTTP/1.1\r\n\r\n",
    };
    for (const std::string& request : requests) {
      INFO(request);
      RawClient c(server.port());
      REQUIRE(c.Send(request));
      CHECK(c.WaitClosed(2s));
      CHECK(c.CountResponses() == 1);
      CHECK(c.received().find("Connection: close\r\n") != std::string::npos);
    }
  }

  TEST_CASE("426 responses say Upgrade Required, and every status has its RFC 9110 phrase") {
    ServerFixture server;
    RawClient c(server.port());
    REQUIRE(c.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
    c.ReadResponses(1, 5s);
    CHECK(c.received().rfind("HTTP/1.1 426 Upgrade Required\r\n", 0) == 0);
    const std::pair<int, std::string_view> phrases[] = {
        {100, "Continue"}, {101, "Switching Protocols"}, {200, "OK"}, {201, "Created"},
        {202, "Accepted"}, {204, "No Content"}, {206, "Partial Content"},
        {301, "Moved Permanently"}, {302, "Found"}, {304, "Not Modified"},
        {307, "Temporary Redirect"}, {308, "Permanent Redirect"}, {400, "Bad Request"},
        {401, "Unauthorized"}, {402, "Payment Required"}, {403, "Forbidden"}, {404, "Not Found"},
        {405, "Method Not Allowed"}, {406, "Not Acceptable"}, {408, "Request Timeout"},
        {409, "Conflict"}, {410, "Gone"}, {411, "Length Required"},
        {412, "Precondition Failed"}, {413, "Content Too Large"}, {414, "URI Too Long"},
        {415, "Unsupported Media Type"}, {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"}, {421, "Misdirected Request"},
        {422, "Unprocessable Content"}, {426, "Upgrade Required"},
        {428, "Precondition Required"}, {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"}, {500, "Internal Server Error"},
        {501, "Not Implemented"}, {502, "Bad Gateway"}, {503, "Service Unavailable"},
        {504, "Gateway Timeout"}, {505, "HTTP Version Not Supported"},
    };
    for (const auto& entry : phrases) {
      INFO(entry.first);
      CHECK(StatusText(entry.first) == entry.second);
    }
  }
}

}  // namespace agentcore::server::testing
