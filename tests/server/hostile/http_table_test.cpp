// SPDX-License-Identifier: Apache-2.0
// The HTTP hostile-input table (issue 13, "Keep it that way"): slow clients, smuggling
// shapes, oversized heads and bodies, bad chunks, bad methods and versions, WebSocket
// handshakes, traversal and injection in ids, bad JSON bodies. Each input goes through
// RunHostileTable: the status, a JSON error body, the server healthy, stored data unchanged.

#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "server/hostile/hostile_table.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

const std::string kAuth = "Host: x\r\nCookie: {cookie}\r\n";

std::string PostJson(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\n" + kAuth + "Content-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string PostChunkedHead(const std::string& path) {
  return "POST " + path + " HTTP/1.1\r\n" + kAuth +
         "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
}

std::string GetWithAuth(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\n" + kAuth + "\r\n";
}

HostileCase Slow(std::string name, std::vector<std::string> pieces,
                 std::chrono::milliseconds gap) {
  HostileCase c;
  c.name = std::move(name);
  c.bytes = std::move(pieces);
  c.status = 408;
  c.closes = true;
  c.gap = gap;
  return c;
}

HostileCase Closes(HostileCase c) {
  c.closes = true;
  return c;
}

}  // namespace

TEST_SUITE("hostile/http_table") {
  TEST_CASE("slow clients get a JSON 408 and a close, in the head or in the body") {
    HostileServer hs([](ServerConfig& c) {
      c.limits.stream_min_bytes_per_second = 1024;
      c.limits.stream_rate_window = 500ms;
    });
    const std::string channel_body = R"({"name":"slowloris"})";
    std::vector<std::string> trickled_body = {"POST /channels HTTP/1.1\r\n" + kAuth +
                                              "Content-Length: 20\r\n\r\n"};
    for (char ch : channel_body) trickled_body.emplace_back(1, ch);
    std::vector<std::string> trickled_head;
    for (char ch : std::string("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: abcdefghijklmnop")) {
      trickled_head.emplace_back(1, ch);
    }
    std::vector<std::string> trickled_chunks = {PostChunkedHead("/channels")};
    for (char ch : channel_body) trickled_chunks.push_back(ChunkOf(std::string(1, ch)));
    std::vector<std::string> stream_trickle = {
        "POST /tymbal/{channel}/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Container {token}"
        "\r\nTransfer-Encoding: chunked\r\n\r\n"};
    for (int i = 0; i < 30; ++i) stream_trickle.push_back(ChunkOf(" "));
    std::vector<HostileCase> cases = {
        Slow("head never finished", {"GET /health HTTP/1.1\r\nHost: x\r\n"}, 0ms),
        Slow("one byte of a request line", {"G"}, 0ms),
        Slow("request line without its CRLF", {"GET /health HTTP/1.1"}, 0ms),
        Slow("head trickled a byte per 100 ms", trickled_head, 100ms),
        Slow("body shorter than its Content-Length",
             {"POST /channels HTTP/1.1\r\n" + kAuth + "Content-Length: 100\r\n\r\n{\"na"}, 0ms),
        Slow("body trickled a byte per 150 ms", trickled_body, 150ms),
        Slow("chunked body stopped inside a chunk", {PostChunkedHead("/channels") + "14\r\n{\"na"},
             0ms),
        Slow("chunked body without its last chunk", {PostChunkedHead("/channels") + ChunkOf(channel_body)},
             0ms),
        Slow("chunked body trickled a chunk per 150 ms", trickled_chunks, 150ms),
        Slow("streamed upload below the minimum rate", stream_trickle, 100ms),
        Slow("streamed upload that never sends a byte",
             {"POST /tymbal/{channel}/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Container "
              "{token}\r\nTransfer-Encoding: chunked\r\n\r\n"},
             0ms),
    };
    CHECK(RunHostileTable(hs, cases) == static_cast<int>(cases.size()));
  }

  TEST_CASE("request smuggling shapes are refused before any body is used") {
    HostileServer hs;
    const std::string smuggled = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string body = R"({"name":"smuggled"})";
    const std::string chunked = ChunkOf(body) + "0\r\n\r\n";
    auto post = [](const std::string& headers, const std::string& rest) {
      return "POST /channels HTTP/1.1\r\n" + kAuth + "Content-Type: application/json\r\n" +
             headers + "\r\n" + rest;
    };
    std::vector<HostileCase> cases = {
        Raw("CL.TE with a smuggled request in the chunked body",
            post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + smuggled), 400,
            true),
        Raw("TE.CL with a smuggled request after the declared length",
            post("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
                 ChunkOf(smuggled) + "0\r\n\r\n"),
            400, true),
        Raw("TE.TE: a second, bogus Transfer-Encoding", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n", chunked), 400,
            true),
        Raw("TE.TE: bogus first, chunked second", post("Transfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n", chunked), 400,
            true),
        Raw("TE.TE: 'chunk'", post("Transfer-Encoding: chunk\r\n", chunked), 400, true),
        Raw("TE.TE: 'chunked;q=1'", post("Transfer-Encoding: chunked;q=1\r\n", chunked), 400, true),
        Raw("TE.TE: leading space on the first header line (folding)",
            "POST /channels HTTP/1.1\r\n Transfer-Encoding: chunked\r\n" + kAuth + "\r\n" + chunked,
            400, true),
        Raw("TE.TE: name with a trailing tab", post("Transfer-Encoding\t: chunked\r\n", chunked), 400, true),
        Raw("TE.TE: bare LF before Transfer-Encoding", post("X: y\nTransfer-Encoding: chunked\r\n", chunked),
            400, true),
        Raw("TE.TE: bare CR inside the value", post("Transfer-Encoding: chun\rked\r\n", chunked), 400, true),
        Raw("TE.TE: value in quotes", post("Transfer-Encoding: 'chunked'\r\n", chunked), 400, true),
        Raw("TE.TE: gzip, chunked", post("Transfer-Encoding: gzip, chunked\r\n", chunked), 400, true),
        Raw("double Content-Length, same value",
            post("Content-Length: 19\r\nContent-Length: 19\r\n", body), 400, true),
        Raw("double Content-Length, second larger",
            post("Content-Length: 19\r\nContent-Length: 60\r\n", body + smuggled), 400, true),
        Raw("Content-Length with trailing garbage", post("Content-Length: 19abc\r\n", body), 400, true),
        Raw("Content-Length negative", post("Content-Length: -19\r\n", body), 400, true),
        Raw("Content-Length in hex", post("Content-Length: 0x13\r\n", body), 400, true),
        Raw("Content-Length overflowing 64 bits",
            post("Content-Length: 18446744073709551636\r\n", body), 400, true),
        Raw("Content-Length empty", post("Content-Length: \r\n", body), 400, true),
        Raw("a NUL in the Content-Length value",
            post(std::string("Content-Length: 1") + '\0' + "9\r\n", body), 400, true),
    };
    CHECK(RunHostileTable(hs, cases) == static_cast<int>(cases.size()));
  }

  TEST_CASE("oversized heads, URLs and bodies get 431 or 413 and a close") {
    HostileServer hs([](ServerConfig& c) { c.limits.max_body_bytes = 64 * 1024; });
    std::string many_headers;
    for (int i = 0; i < 2000; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
    const std::string big(10 * 1024, 'a');
    std::vector<HostileCase> cases = {
        Raw("a 10 KiB header value", "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n",
            431, true),
        Raw("a 10 KiB URL", "GET /health?" + big + " HTTP/1.1\r\nHost: x\r\n\r\n", 431, true),
        Raw("a 10 KiB path in an id", "GET /channels/" + big + " HTTP/1.1\r\n" + kAuth + "\r\n", 431,
            true),
        Raw("2000 header lines", "GET /health HTTP/1.1\r\nHost: x\r\n" + many_headers + "\r\n", 431,
            true),
        Raw("a 10 KiB header name", "GET /health HTTP/1.1\r\nHost: x\r\n" + big + ": v\r\n\r\n", 431,
            true),
        Raw("a 10 KiB cookie", "GET /channels HTTP/1.1\r\nHost: x\r\nCookie: s=" + big + "\r\n\r\n",
            431, true),
        Raw("a declared body over the limit",
            "POST /channels HTTP/1.1\r\n" + kAuth + "Content-Length: 1000000\r\n\r\n", 413, true),
        Raw("a declared body of 2^62 bytes",
            "POST /channels HTTP/1.1\r\n" + kAuth + "Content-Length: 4611686018427387904\r\n\r\n",
            413, true),
        Raw("a chunked body growing past the limit",
            PostChunkedHead("/channels") + ChunkOf(std::string(40000, 'x')) +
                ChunkOf(std::string(40000, 'x')),
            413, true),
        Raw("one chunk declared past the limit",
            PostChunkedHead("/channels") + "100000\r\n" + std::string(100, 'x'), 413, true),
    };
    CHECK(RunHostileTable(hs, cases) == static_cast<int>(cases.size()));
  }

  TEST_CASE("bad chunked framing gets a JSON 400 and a close") {
    HostileServer hs;
    const std::string head = PostChunkedHead("/channels");
    const std::string body = R"({"name":"chunks"})";  // 17 bytes: 0x11
    std::vector<HostileCase> cases = {
        Raw("chunk size not hex", head + "g\r\n" + body + "\r\n0\r\n\r\n", 400, true),
        Raw("chunk size negative", head + "-11\r\n" + body + "\r\n0\r\n\r\n", 400, true),
        Raw("chunk size empty", head + "\r\n" + body + "\r\n0\r\n\r\n", 400, true),
        Raw("chunk size with a leading space", head + " 11\r\n" + body + "\r\n0\r\n\r\n", 400, true),
        Raw("chunk size with a trailing space", head + "11 \r\n" + body + "\r\n0\r\n\r\n", 400, true),
        Raw("chunk size with 0x", head + "0x11\r\n" + body + "\r\n0\r\n\r\n", 400, true),
        Raw("chunk size of 17 hex digits", head + "00000000000000011\r\n" + body + "\r\n0\r\n\r\n",
            400, true),
        Raw("chunk size over 2^64", head + "1ffffffffffffffff\r\n" + body, 400, true),
        Raw("chunk size 2^63", head + "8000000000000000\r\n" + body, 400, true),
        Raw("chunk data longer than its size", head + "10\r\n" + body + "\r\n0\r\n\r\n", 400, true),
        Raw("chunk data followed by XX", head + "11\r\n" + body + "XX0\r\n\r\n", 400, true),
        Raw("chunk data followed by LF only", head + "11\r\n" + body + "\n0\r\n\r\n", 400, true),
        Raw("chunk size line ended by LF only", head + "11\n" + body + "\r\n0\r\n\r\n", 400, true),
        Raw("chunk size line with CR CR LF", head + "11\r\r\n" + body + "\r\n0\r\n\r\n", 400, true),
        Raw("chunk extension with a control byte", head + "11;a=\x01\r\n" + body + "\r\n0\r\n\r\n",
            400, true),
        Raw("chunk extension over 1 KiB",
            head + "11;" + std::string(2000, 'e') + "\r\n" + body + "\r\n0\r\n\r\n", 400, true),
        Raw("trailer with a space before the colon", head + ChunkOf(body) + "0\r\nX : y\r\n\r\n", 400,
            true),
        Raw("trailer folded", head + ChunkOf(body) + "0\r\nX: y\r\n z\r\n\r\n", 400, true),
        Raw("last chunk followed by a bare LF", head + ChunkOf(body) + "0\r\n\n", 400, true),
    };
    CHECK(RunHostileTable(hs, cases) == static_cast<int>(cases.size()));
  }

  TEST_CASE("bad methods and versions get a JSON 400 (malformed) or 405 (unknown here)") {
    HostileServer hs;
    std::vector<HostileCase> cases = {
        Raw("unknown method", "FOO /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, true),
        Raw("lower-case method", "get /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, true),
        Raw("a 1000-letter method", std::string(1000, 'G') + " /health HTTP/1.1\r\n\r\n", 400, true),
        Raw("a NUL in the method", std::string("G") + '\0' + "T /health HTTP/1.1\r\n\r\n", 400, true),
        Raw("method with a slash", "GET/ /health HTTP/1.1\r\n\r\n", 400, true),
        Raw("no version (HTTP/0.9)", "GET /health\r\n\r\n", 400, true),
        Raw("version HTTP/1", "GET /health HTTP/1\r\n\r\n", 400, true),
        Raw("version HTTP/ 1.1", "GET /health HTTP/ 1.1\r\n\r\n", 400, true),
        Raw("version HTTPS/1.1", "GET /health HTTPS/1.1\r\n\r\n", 400, true),
        Raw("version HTTP/01.1", "GET /health HTTP/01.1\r\n\r\n", 400, true),
        Raw("version HTTP/1.1.1", "GET /health HTTP/1.1.1\r\n\r\n", 400, true),
        Raw("version HTTP/3.0", "GET /health HTTP/3.0\r\n\r\n", 400, true),
        Raw("version HTTP/0.9", "GET /health HTTP/0.9\r\n\r\n", 400, true),
        Raw("two spaces after the method", "GET  /health HTTP/1.1\r\n\r\n", 400, true),
        Raw("tab between method and target", "GET\t/health HTTP/1.1\r\n\r\n", 400, true),
        Raw("a space inside the target", "GET /hea lth HTTP/1.1\r\n\r\n", 400, true),
        Raw("DELETE on /health", "DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        Raw("PUT on /channels", "PUT /channels HTTP/1.1\r\n" + kAuth + "Content-Length: 0\r\n\r\n",
            405),
        Raw("PATCH on /", "PATCH / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
        Raw("OPTIONS on /health", "OPTIONS /health HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        Raw("TRACE on /", "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        Any4xx("absolute-form target", "GET http://x/health HTTP/1.1\r\nHost: x\r\n\r\n"),
        Any4xx("asterisk-form target", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
        Closes(Any4xx("CONNECT authority-form", "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n")),
    };
    CHECK(RunHostileTable(hs, cases) == static_cast<int>(cases.size()));
  }

  TEST_CASE("bad WebSocket handshakes get a 4xx and no upgrade") {
    HostileServer hs;
    auto handshake = [](const std::string& headers) {
      return "GET /stream HTTP/1.1\r\n" + kAuth + headers + "\r\n";
    };
    const std::string upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const std::string v13 = "Sec-WebSocket-Version: 13\r\n";
    HostileCase no_session = Raw("no session",
                                 "GET /stream HTTP/1.1\r\nHost: x\r\n" + upgrade + key + v13 + "\r\n",
                                 401);
    no_session.json_error = false;  // spec cast §4.10: a bare 401 head
    std::vector<HostileCase> cases = {
        Raw("no Upgrade header", handshake(key + v13), 426),
        Raw("Upgrade: h2c", handshake("Upgrade: h2c\r\nConnection: Upgrade\r\n" + key + v13), 426),
        Raw("Connection without upgrade",
            handshake("Upgrade: websocket\r\nConnection: keep-alive\r\n" + key + v13), 400),
        Raw("no Connection header", handshake("Upgrade: websocket\r\n" + key + v13), 400),
        Raw("version 12", handshake(upgrade + key + "Sec-WebSocket-Version: 12\r\n"), 426),
        Raw("version missing", handshake(upgrade + key), 426),
        Raw("version 13 and 8", handshake(upgrade + key + "Sec-WebSocket-Version: 13, 8\r\n"), 426),
        Raw("key missing", handshake(upgrade + v13), 400),
        Raw("key too short", handshake(upgrade + "Sec-WebSocket-Key: abc\r\n" + v13), 400),
        Raw("key too long",
            handshake(upgrade + "Sec-WebSocket-Key: " + std::string(100, 'A') + "\r\n" + v13), 400),
        Raw("key not base64", handshake(upgrade + "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n" + v13),
            400),
        no_session,
        Raw("POST to /stream", "POST /stream HTTP/1.1\r\n" + kAuth + upgrade + key + v13 +
                                   "Content-Length: 0\r\n\r\n",
            405),
    };
    CHECK(RunHostileTable(hs, cases) == static_cast<int>(cases.size()));
  }

  TEST_CASE("traversal and injection in path ids get a JSON 4xx and reach no other data") {
    HostileServer hs;
    const std::vector<std::string> ids = {
        "..",
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e",
        "%2e%2e%2f%2e%2e%2fserver.db",
        "..%5c..%5cwindows",
        "%00",
        "abc%00def",
        "%27%20OR%201%3D1%20--",
        "1%3BDROP%20TABLE%20channels",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "%ff%fe",
        "%25",
        "%zz",
        "%",
        std::string(2000, 'Z'),
        "%C3%A9%E2%80%AE",
        "{channel}%00",
        "{channel}%2f..",
    };
    const std::vector<std::string> routes = {"/channels/ID", "/channels/ID/messages",
                                             "/channels/ID/roster", "/channels/ID/costs"};
    std::vector<HostileCase> cases;
    for (const std::string& route : routes) {
      for (const std::string& id : ids) {
        std::string path = route;
        path.replace(path.find("ID"), 2, id);
        cases.push_back(Any4xx("GET " + path.substr(0, 80), GetWithAuth(path)));
      }
    }
    for (const std::string& id : ids) {
      cases.push_back(Any4xx("POST message to " + id.substr(0, 80),
                             PostJson("/channels/" + id + "/messages",
                                      R"({"content":"x","sender":"a","senderType":"user"})")));
    }
    cases.push_back(Any4xx("raw ../ segments", GetWithAuth("/channels/../../etc/passwd")));
    cases.push_back(Any4xx("raw ./ segments", GetWithAuth("/channels/./{channel}/./messages/..")));
    cases.push_back(Any4xx("dot segments after an id", GetWithAuth("/channels/{channel}/messages/../..")));
    cases.push_back(Any4xx("backslashes", GetWithAuth("/channels\\..\\..\\etc")));
    CHECK(RunHostileTable(hs, cases) == static_cast<int>(cases.size()));
  }

  TEST_CASE("bad JSON bodies get a JSON 4xx and store nothing") {
    HostileServer hs;
    std::string deep_arrays = std::string(10000, '[') + std::string(10000, ']');
    std::string deep_objects;
    for (int i = 0; i < 10000; ++i) deep_objects += "{\"a\":";
    deep_objects += "1" + std::string(10000, '}');
    const std::vector<std::pair<std::string, std::string>> bodies = {
        {"truncated object", R"({"name":"a")"},
        {"lone brace", "{"},
        {"lone bracket", "["},
        {"a string", R"("name")"},
        {"a number", "123"},
        {"null", "null"},
        {"missing value", R"({"name":})"},
        {"deep arrays (10k)", deep_arrays},
        {"deep objects (10k)", deep_objects},
        {"deep objects in the name", R"({"name":)" + deep_objects + "}"},
        {"huge exponent", R"({"name":1e999999})"},
        {"30-digit number", R"({"name":123456789012345678901234567890})"},
        {"invalid UTF-8 in a string", "{\"name\":\"\xff\xfe\"}"},
        {"invalid UTF-8 in a key", "{\"\xc3\":\"a\"}"},
        {"duplicate keys, both invalid", R"({"name":1,"name":2})"},
        {"trailing comma", R"({"name":"a",})"},
        {"a comment", R"({"name":"a"/*x*/})"},
        {"single quotes", "{'name':'a'}"},
        {"NaN", R"({"name":NaN})"},
        {"garbage after the value", R"({"name":"a"}garbage)"},
        {"two values", R"({"name":"a"}{"name":"b"})"},
        {"unterminated string", R"({"name":"a)"},
        {"bad escape", R"({"name":"a\q"})"},
        {"control byte in a string", std::string("{\"name\":\"a") + '\x01' + "\"}"},
        {"only whitespace", "   "},
        {"name is an object", R"({"name":{}})"},
        {"name is an array", R"({"name":["a"]})"},
        {"name is empty", R"({"name":""})"},
    };
    std::vector<HostileCase> cases;
    for (const auto& entry : bodies) {
      cases.push_back(Any4xx("POST /channels: " + entry.first, PostJson("/channels", entry.second)));
    }
    cases.push_back(Any4xx("POST /channels: empty body", PostJson("/channels", "")));
    const std::vector<std::pair<std::string, std::string>> message_bodies = {
        {"truncated", R"({"content":)"},
        {"content an object", R"({"content":{},"sender":"a","senderType":"user"})"},
        {"deep arrays", deep_arrays},
        {"invalid UTF-8", "{\"content\":\"\xc0\xaf\",\"sender\":\"a\",\"senderType\":\"user\"}"},
        {"not an object", "[1,2,3]"},
    };
    for (const auto& entry : message_bodies) {
      cases.push_back(Any4xx("POST message: " + entry.first,
                             PostJson("/channels/{channel}/messages", entry.second)));
    }
    cases.push_back(Any4xx("dev login: truncated", PostJson("/auth/dev/login", R"({"callsign":)")));
    cases.push_back(Any4xx("dev login: deep arrays", PostJson("/auth/dev/login", deep_arrays)));
    CHECK(RunHostileTable(hs, cases) == static_cast<int>(cases.size()));
  }
}

}  // namespace agentcore::server::testing
