// SPDX-License-Identifier: Apache-2.0
#include <agentcore/tymbal/assembler.hpp>

#include <doctest/doctest.h>

#include <string>

#include <agentcore/tymbal/parser.hpp>

namespace agentcore {
namespace {

TymbalFrame F(std::string_view line) {
  Result<TymbalFrame> f = ParseFrame(line);
  REQUIRE(f.ok());
  return *f;
}

AssemblyEvent Apply(MessageAssembler& a, std::string_view line) {
  Result<AssemblyEvent> e = a.Apply(F(line));
  REQUIRE(e.ok());
  return *e;
}

TEST_SUITE("MessageAssembler") {
  TEST_CASE("streams a text-mode message from start to set") {
    MessageAssembler a;
    CHECK(Apply(a, R"({"i":"m1","m":{"type":"agent","sender":"fox"}})") == AssemblyEvent::kOpened);
    CHECK(a.message().id == "m1");
    CHECK(ToJson(a.message().CurrentValue()) == R"({"type":"agent","sender":"fox","content":""})");
    CHECK(Apply(a, R"({"i":"m1","a":"Hel"})") == AssemblyEvent::kUpdated);
    CHECK(Apply(a, R"({"i":"m1","a":"lo"})") == AssemblyEvent::kUpdated);
    CHECK(a.message().text == "Hello");
    CHECK_FALSE(a.message().complete);
    CHECK(ToJson(a.message().CurrentValue()) ==
          R"({"type":"agent","sender":"fox","content":"Hello"})");
    CHECK(a.open_messages() == 1);
    CHECK(Apply(a, R"({"i":"m1","t":"2026-01-04T10:00:00.000Z","v":{"type":"agent","content":"Hello!"}})") ==
          AssemblyEvent::kCompleted);
    CHECK(a.message().complete);
    CHECK(a.message().timestamp == "2026-01-04T10:00:00.000Z");
    CHECK(ToJson(a.message().CurrentValue()) == R"({"type":"agent","content":"Hello!"})");
    CHECK(a.open_messages() == 0);
  }

  TEST_CASE("ignores an append before start and after set") {
    MessageAssembler a;
    CHECK(Apply(a, R"({"i":"m1","a":"early"})") == AssemblyEvent::kIgnored);
    CHECK(a.message().id.empty());
    Apply(a, R"({"i":"m1"})");
    Apply(a, R"({"i":"m1","t":"t","v":{}})");
    CHECK(Apply(a, R"({"i":"m1","a":"late"})") == AssemblyEvent::kIgnored);
    CHECK(a.open_messages() == 0);
  }

  TEST_CASE("creates a message from a set alone (late join)") {
    MessageAssembler a;
    CHECK(Apply(a, R"({"i":"m9","t":"t9","v":{"type":"user","content":"hi"}})") ==
          AssemblyEvent::kCompleted);
    CHECK(a.message().id == "m9");
    CHECK(a.message().complete);
    CHECK(a.message().metadata.is_null());
  }

  TEST_CASE("deletes on reset and lets the id be used again") {
    MessageAssembler a;
    Apply(a, R"({"i":"m1","m":{}})");
    Apply(a, R"({"i":"m1","a":"x"})");
    CHECK(Apply(a, R"({"i":"m1","v":null})") == AssemblyEvent::kDeleted);
    CHECK(a.message().id == "m1");
    CHECK(a.open_messages() == 0);
    CHECK(Apply(a, R"({"i":"unknown","v":null})") == AssemblyEvent::kDeleted);
    CHECK(Apply(a, R"({"i":"m1","m":{}})") == AssemblyEvent::kOpened);
    CHECK(a.message().text.empty());
  }

  TEST_CASE("resets the text when a start repeats") {
    MessageAssembler a;
    Apply(a, R"({"i":"m1","m":{"n":1}})");
    Apply(a, R"({"i":"m1","a":"old"})");
    CHECK(Apply(a, R"({"i":"m1","m":{"n":2}})") == AssemblyEvent::kOpened);
    CHECK(a.message().text.empty());
    CHECK(a.message().metadata.Find("n")->as_number() == 2);
    CHECK(a.open_messages() == 1);
  }

  TEST_CASE("shows an object-mode message once its text parses") {
    MessageAssembler a;
    Apply(a, R"({"i":"o"})");
    Apply(a, R"({"i":"o","a":"{\"a\":"})");
    CHECK(a.message().CurrentValue().is_null());
    Apply(a, R"({"i":"o","a":"1}"})");
    CHECK(ToJson(a.message().CurrentValue()) == R"({"a":1})");
  }

  TEST_CASE("spreads array metadata by index like JavaScript") {
    MessageAssembler a;
    Apply(a, R"({"i":"o","m":["x"]})");
    Apply(a, R"({"i":"o","a":"t"})");
    CHECK(ToJson(a.message().CurrentValue()) == R"({"0":"x","content":"t"})");
  }

  TEST_CASE("ignores control frames") {
    MessageAssembler a;
    CHECK(Apply(a, R"({"request":"sync"})") == AssemblyEvent::kIgnored);
    CHECK(Apply(a, R"({"sync":"t"})") == AssemblyEvent::kIgnored);
    CHECK(Apply(a, R"({"error":"x"})") == AssemblyEvent::kIgnored);
  }

  TEST_CASE("refuses more open messages or bytes than configured") {
    AssemblerOptions options;
    options.max_open_messages = 2;
    options.max_message_bytes = 5;
    MessageAssembler a(options);
    Apply(a, R"({"i":"a"})");
    Apply(a, R"({"i":"b"})");
    Result<AssemblyEvent> third = a.Apply(F(R"({"i":"c"})"));
    REQUIRE_FALSE(third.ok());
    CHECK(third.status().code() == ErrorCode::kTooLarge);
    CHECK(Apply(a, R"({"i":"a","a":"12345"})") == AssemblyEvent::kUpdated);
    Result<AssemblyEvent> over = a.Apply(F(R"({"i":"a","a":"6"})"));
    CHECK(over.status().code() == ErrorCode::kTooLarge);
    CHECK(a.OpenMessages()[0].text == "12345");  // the refused append left the text intact
    CHECK(a.Abandon("a"));
    CHECK_FALSE(a.Abandon("a"));
    CHECK(a.open_messages() == 1);
  }

  TEST_CASE("holds 100k interleaved streams and frees each one when it completes") {
    MessageAssembler a;
    constexpr int kStreams = 100000;
    auto id = [](int i) { return "m" + std::to_string(i); };
    for (int i = 0; i < kStreams; ++i) {
      REQUIRE(a.Apply(*MakeStartFrame(id(i), Json::Object())).ok());
    }
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < kStreams; ++i) {
        REQUIRE(a.Apply(MakeAppendFrame(id(i), std::to_string(round))).ok());
      }
    }
    CHECK(a.open_messages() == kStreams);
    for (int i = 0; i < kStreams; ++i) {
      Result<AssemblyEvent> e = a.Apply(MakeSetFrame(id(i), "t", Json::Object()));
      REQUIRE(e.ok());
      if (i % 9973 == 0) CHECK(a.message().text == "012");
    }
    CHECK(a.open_messages() == 0);
  }
}

TEST_SUITE("Transcript") {
  TEST_CASE("orders messages by id, complete or streaming, without deleted ones") {
    Transcript t;
    for (const char* line : {
             R"({"i":"03","m":{"type":"agent"}})", R"({"i":"01","t":"t1","v":{"n":1}})",
             R"({"i":"03","a":"streaming"})", R"({"i":"02","t":"t2","v":{"n":2}})",
             R"({"i":"04","t":"t4","v":{"n":4}})", R"({"i":"04","v":null})"}) {
      REQUIRE(t.Apply(F(line)).ok());
    }
    std::vector<AssembledMessage> m = t.Messages();
    REQUIRE(m.size() == 3);
    CHECK(m[0].id == "01");
    CHECK(m[1].id == "02");
    CHECK(m[2].id == "03");
    CHECK_FALSE(m[2].complete);
    CHECK(m[2].text == "streaming");
  }

  TEST_CASE("reopens a completed message on a new start") {
    Transcript t;
    REQUIRE(t.Apply(F(R"({"i":"01","t":"t","v":{}})")).ok());
    REQUIRE(t.Apply(F(R"({"i":"01","m":{}})")).ok());
    std::vector<AssembledMessage> m = t.Messages();
    REQUIRE(m.size() == 1);
    CHECK_FALSE(m[0].complete);
  }
}

}  // namespace
}  // namespace agentcore
