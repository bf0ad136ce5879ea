// SPDX-License-Identifier: Apache-2.0
// Tymbal ingest (§4.8): the single-frame, batch and legacy routes, and the streamed upload
// (/tymbal/:channelId/stream) applied frame by frame while it arrives.

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "server/raw_client.hpp"
#include "server/server_fixture.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

const std::string kId = "01JGZ5V7A1B2C3D4E5F6G7H8J9";
const std::string kSet = R"({"i":")" + kId +
                         R"(","t":"2026-01-04T10:00:01.250Z","v":{"type":"agent","content":"Hello","sender":"echo","senderType":"agent"}})";

struct Ingest {
  ServerFixture server;
  std::string channel;
  std::string token;
  Ingest() {
    server.Login();
    channel = server.CreateChannel("ingest");
    token = server.ContainerToken(channel, "echo");
  }
  HttpResponse Post(const std::string& path, const std::string& body,
                    const std::string& auth_header) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!auth_header.empty()) headers.emplace_back("Authorization", auth_header);
    return server.Call("POST", path, body, false, headers);
  }
  HttpResponse PostFrame(const std::string& body) {
    return Post("/tymbal/" + channel, body, "Container " + token);
  }
};

TEST_CASE("single-frame ingest refuses missing, malformed and foreign credentials") {
  Ingest t;
  auto none = t.Post("/tymbal/" + t.channel, kSet, "");
  CHECK(none.status == 401);
  CHECK(none.body == R"({"error":"Missing Authorization header"})");
  auto format = t.Post("/tymbal/" + t.channel, kSet, "Bearer abc");
  CHECK(format.status == 401);
  CHECK(format.body ==
        R"x({"error":"Invalid Authorization format (expected: Container <token> or Agent <token>)"})x");
  auto bad = t.Post("/tymbal/" + t.channel, kSet, "Agent not.atoken");
  CHECK(bad.status == 401);
  CHECK(bad.body == R"({"error":"Invalid container token"})");
  std::string other = t.server.CreateChannel("other");
  auto foreign = t.Post("/tymbal/" + other, kSet, "Container " + t.token);
  CHECK(foreign.status == 403);
  CHECK(t.server.app().store().GetMessage(kId).status().code() == ErrorCode::kNotFound);
}

TEST_CASE("single-frame ingest: empty body, invalid frame, two frames in one body") {
  Ingest t;
  auto empty = t.PostFrame("  \n ");
  CHECK(empty.status == 400);
  CHECK(empty.body == R"({"error":"empty_body","message":"Request body is empty"})");
  auto invalid = t.PostFrame("{not json");
  CHECK(invalid.status == 400);
  CHECK(invalid.body == R"({"error":"invalid_frame","message":"Could not parse Tymbal frame"})");
  auto two = t.PostFrame(kSet + "\n" + kSet);
  CHECK(two.status == 400);
}

TEST_CASE("a set frame becomes a message once; a retried frame is not applied twice") {
  Ingest t;
  auto first = t.PostFrame(kSet);
  CHECK(first.status == 200);
  CHECK(first.body == R"({"ok":true})");
  auto again = t.PostFrame(kSet);
  CHECK(again.status == 200);
  auto m = t.server.app().store().GetMessage(kId);
  REQUIRE(m.ok());
  CHECK(m->content == Json("Hello"));
  CHECK(m->sender == "echo");
  CHECK(m->type == "agent");
  CHECK(m->is_complete);
  CHECK(m->metadata == ParseJson(R"({"fromTymbal":true,"method":"agent_output"})").value());
  auto page = t.server.app().store().ListMessages(t.channel, PageRequest{});
  REQUIRE(page.ok());
  CHECK(page->messages.size() == 1);
}

TEST_CASE("a tool_call's input becomes args; a reset deletes the message") {
  Ingest t;
  std::string tool = R"({"i":"01JGZ5V7A1B2C3D4E5F6G7H8K0","t":"2026-01-04T10:00:01.250Z","v":{"type":"tool_call","sender":"echo","toolCallId":"t1","name":"ls","input":{"p":1}}})";
  CHECK(t.PostFrame(tool).status == 200);
  auto m = t.server.app().store().GetMessage("01JGZ5V7A1B2C3D4E5F6G7H8K0");
  REQUIRE(m.ok());
  CHECK(m->content.Find("input") == nullptr);
  CHECK(m->content.Find("args") != nullptr);
  CHECK(t.PostFrame(R"({"i":"01JGZ5V7A1B2C3D4E5F6G7H8K0","v":null})").status == 200);
  CHECK(t.server.app().store().GetMessage("01JGZ5V7A1B2C3D4E5F6G7H8K0").status().code() ==
        ErrorCode::kNotFound);
  // Resetting an unknown id is fine.
  CHECK(t.PostFrame(R"({"i":"01JGZ5V7A1B2C3D4E5F6G7H8ZZ","v":null})").status == 200);
}

TEST_CASE("a cost frame updates the cumulative cost record, no message") {
  Ingest t;
  std::string cost = R"({"i":"01JGZ5V7A1B2C3D4E5F6G7H8C1","t":"2026-01-04T10:00:01.250Z","v":{"type":"cost","sender":"echo","totalCostUsd":0.5,"durationMs":100,"numTurns":2}})";
  CHECK(t.PostFrame(cost).status == 200);
  auto costs = t.server.app().store().ListCosts(t.channel);
  REQUIRE(costs.ok());
  REQUIRE(costs->size() == 1);
  CHECK((*costs)[0].cost_usd == doctest::Approx(0.5));
  CHECK(t.server.app().store().GetMessage("01JGZ5V7A1B2C3D4E5F6G7H8C1").status().code() ==
        ErrorCode::kNotFound);
}

TEST_CASE("batch ingest reports each line and applies the good ones") {
  Ingest t;
  std::string body = kSet + "\n\n{bad\n" + R"({"i":"01JGZ5V7A1B2C3D4E5F6G7H8J9","a":"x"})" + "\n";
  auto r = t.Post("/tymbal/" + t.channel + "/batch", body, "Container " + t.token);
  CHECK(r.status == 200);
  Json j = BodyJson(r);
  CHECK(j.Find("ok")->as_bool() == false);
  CHECK(j.Find("total")->as_number() == 3);
  CHECK(j.Find("failed")->as_number() == 1);
  const auto& results = j.Find("results")->as_array();
  REQUIRE(results.size() == 3);
  CHECK(*results[1].FindString("error") == "invalid_frame");
  CHECK(results[1].Find("line")->as_number() == 1);
  CHECK(t.server.app().store().GetMessage(kId).ok());
  auto empty = t.Post("/tymbal/" + t.channel + "/batch", "\n\n", "Container " + t.token);
  CHECK(empty.status == 400);
}

TEST_CASE("the legacy thread route checks the thread id and, unless compat, the token") {
  Ingest t;
  auto bad = t.Post("/thread/nocolon/tymbal", kSet, "");
  CHECK(bad.status == 400);
  CHECK(bad.body ==
        R"({"error":"invalid_thread_id","message":"Thread ID must be spaceId:channelId[:callsign]"})");
  std::string thread = t.server.space_id() + ":" + t.channel + ":echo";
  CHECK(t.Post("/thread/" + thread + "/tymbal", kSet, "").status == 401);
  CHECK(t.Post("/thread/" + thread + "/tymbal", kSet, "Container " + t.token).status == 200);
  CHECK(t.server.app().store().GetMessage(kId).ok());
}

// --- streamed uploads ------------------------------------------------------------------------

std::string StreamHead(const Ingest& t) {
  return "POST /tymbal/" + t.channel +
         "/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Container " + t.token +
         "\r\nTransfer-Encoding: chunked\r\n\r\n";
}

std::string Chunk(std::string_view data) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

const std::string kStreamId = "01JGZ5V7A1B2C3D4E5F6G7H8S1";
const std::string kTurn =
    R"({"i":")" + kStreamId + R"(","m":{"type":"agent","sender":"echo","senderType":"agent"}})" +
    "\n" + R"({"i":")" + kStreamId + R"(","a":"Hel"})" + "\n" + R"({"i":")" + kStreamId +
    R"(","a":"lo \u00e9"})" + "\n" + R"({"i":")" + kStreamId +
    R"(","t":"2026-01-04T10:00:01.250Z","v":{"type":"agent","content":"Hello é","sender":"echo","senderType":"agent"}})" +
    "\n";

/// Sends `ndjson` as one streamed upload in a single chunk and returns the raw response.
std::string UploadWhole(const Ingest& t, std::string_view ndjson) {
  RawClient c(t.server.port());
  REQUIRE(c.Send(StreamHead(t) + Chunk(ndjson) + "0\r\n\r\n"));
  return c.ReadResponses(1, 10s);
}

/// kTurn's message is stored, complete, with the turn's whole text.
void CheckTurnComplete(Ingest& t) {
  auto m = t.server.app().store().GetMessage(kStreamId);
  REQUIRE(m.ok());
  CHECK(m->is_complete);
  CHECK(m->content == Json("Hello é"));
}

TEST_CASE("a streamed upload split at every byte boundary ends with the complete message") {
  for (std::size_t cut = 1; cut < kTurn.size(); cut += 7) {
    Ingest t;
    RawClient c(t.server.port());
    REQUIRE(c.Send(StreamHead(t)));
    REQUIRE(c.Send(Chunk(std::string_view(kTurn).substr(0, cut))));
    REQUIRE(c.Send(Chunk(std::string_view(kTurn).substr(cut))));
    REQUIRE(c.Send("0\r\n\r\n"));
    std::string r = c.ReadResponses(1, 10s);
    CAPTURE(cut);
    CHECK(r.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(r.find("\"frames\":4") != std::string::npos);
    CheckTurnComplete(t);
  }
}

TEST_CASE("a streamed message is visible while streaming, kept when the upload breaks, and "
          "completed by a retried upload") {
  Ingest t;
  {
    RawClient c(t.server.port());
    REQUIRE(c.Send(StreamHead(t)));
    std::string first_part = kTurn.substr(0, kTurn.find("\"t\":") - 30);
    first_part = first_part.substr(0, first_part.rfind('\n') + 1);  // start + 2 appends
    REQUIRE(c.Send(Chunk(first_part)));
    // In progress: stored, incomplete, with the text so far (saved at the end of a piece at
    // most stream_save_interval (1 s) apart, and always when the upload ends).
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
      std::this_thread::sleep_for(20ms);
      REQUIRE(c.Send(Chunk("\n")));  // a blank line: keeps the upload going, saves progress
      auto m = t.server.app().store().GetMessage(kStreamId);
      seen = m.ok() && !m->is_complete && m->content == Json("Hello é");
    }
    CHECK(seen);
  }  // the client goes away without finishing the body
  for (int i = 0; i < 100; ++i) {
    auto m = t.server.app().store().GetMessage(kStreamId);
    if (m.ok() && m->metadata.Find("interrupted") != nullptr) break;
    std::this_thread::sleep_for(20ms);
  }
  auto broken = t.server.app().store().GetMessage(kStreamId);
  REQUIRE(broken.ok());
  CHECK_FALSE(broken->is_complete);
  REQUIRE(broken->metadata.Find("interrupted") != nullptr);

  CHECK(UploadWhole(t, kTurn).rfind("HTTP/1.1 200", 0) == 0);
  CheckTurnComplete(t);
  CHECK(t.server.app().store().GetMessage(kStreamId)->metadata.Find("interrupted") == nullptr);
}

/// kTurn's lines: the start, two appends, the set frame.
std::vector<std::string> TurnLines() {
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < kTurn.size();) {
    std::size_t nl = kTurn.find('\n', at);
    lines.push_back(kTurn.substr(at, nl + 1 - at));
    at = nl + 1;
  }
  return lines;
}

TEST_CASE("an upload sent again after it finished stores nothing new, in one piece or several") {
  Ingest t;
  std::string r = UploadWhole(t, kTurn);
  CHECK(r.find("\"persisted\":2") != std::string::npos);  // the start and the set frame

  SUBCASE("one piece") { r = UploadWhole(t, kTurn); }
  SUBCASE("the start alone first") {
    RawClient again(t.server.port());
    std::vector<std::string> lines = TurnLines();
    REQUIRE(again.Send(StreamHead(t) + Chunk(lines[0])));
    std::this_thread::sleep_for(200ms);  // its own piece: the start finds the message complete
    REQUIRE(again.Send(Chunk(lines[1] + lines[2]) + Chunk(lines[3]) + "0\r\n\r\n"));
    r = again.ReadResponses(1, 10s);
  }
  CHECK(r.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(r.find("\"frames\":4") != std::string::npos);
  CHECK(r.find("\"persisted\":0") != std::string::npos);
  CheckTurnComplete(t);
}

TEST_CASE("a resumed upload restarts the open message at its start frame") {
  Ingest t;
  std::vector<std::string> lines = TurnLines();
  // Start and appends, no set frame: the message stays open.
  CHECK(UploadWhole(t, lines[0] + lines[1] + lines[2]).rfind("HTTP/1.1 200", 0) == 0);
  auto open = t.server.app().store().GetMessage(kStreamId);
  REQUIRE(open.ok());
  CHECK_FALSE(open->is_complete);
  CHECK(open->content == Json("Hello é"));

  RawClient resume(t.server.port());
  REQUIRE(resume.Send(StreamHead(t) + Chunk(lines[0])));
  bool restarted = false;  // the start empties the text it held
  for (int i = 0; i < 250 && !restarted; ++i) {
    std::this_thread::sleep_for(20ms);
    auto m = t.server.app().store().GetMessage(kStreamId);
    restarted = m.ok() && m->content == Json("");
  }
  CHECK(restarted);
  REQUIRE(resume.Send(Chunk(lines[1]) + Chunk(lines[2] + lines[3]) + "0\r\n\r\n"));
  std::string r = resume.ReadResponses(1, 10s);
  CHECK(r.find("\"persisted\":2") != std::string::npos);
  CheckTurnComplete(t);
}

TEST_CASE("a streamed start whose id another channel holds fails the upload, that message kept") {
  Ingest t;
  std::string other = t.server.CreateChannel("other");
  std::string other_token = t.server.ContainerToken(other, "echo");
  std::string set = TurnLines()[3];
  set.pop_back();  // the newline
  REQUIRE(t.Post("/tymbal/" + other, set, "Container " + other_token).status == 200);

  std::string r = UploadWhole(t, kTurn);
  CHECK(r.rfind("HTTP/1.1 409", 0) == 0);
  CHECK(r.find("taken by another channel") != std::string::npos);
  auto m = t.server.app().store().GetMessage(kStreamId);
  REQUIRE(m.ok());
  CHECK(m->channel_id == other);
  CHECK(m->is_complete);
}

TEST_CASE("a streamed upload reports invalid lines and keeps going") {
  Ingest t;
  std::string r = UploadWhole(t, "{oops\n" + kTurn);
  CHECK(r.find("\"invalid\":1") != std::string::npos);
  CHECK(t.server.app().store().GetMessage(kStreamId).ok());
}

TEST_CASE("a streamed upload needs the channel's container token") {
  Ingest t;
  RawClient c(t.server.port());
  REQUIRE(c.Send("POST /tymbal/" + t.channel +
                 "/stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                 Chunk(kTurn)));
  CHECK(c.WaitClosed(5s));
  CHECK(c.received().rfind("HTTP/1.1 401", 0) == 0);
}

}  // namespace
}  // namespace agentcore::server::testing
