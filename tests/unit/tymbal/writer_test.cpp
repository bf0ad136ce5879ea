// SPDX-License-Identifier: Apache-2.0
#include <agentcore/tymbal/writer.hpp>

#include <doctest/doctest.h>

#include <agentcore/tymbal/parser.hpp>

namespace agentcore {
namespace {

Json Obj(std::initializer_list<std::pair<const char*, Json>> members) {
  Json o = Json::Object();
  for (const auto& [k, v] : members) o.Set(k, v);
  return o;
}

TEST_SUITE("TymbalWriter") {
  TEST_CASE("serializes each builder of spec 2.6 byte for byte") {
    CHECK(SerializeFrame(*MakeStartFrame("01J")) == R"({"i":"01J"})");
    CHECK(SerializeFrame(*MakeStartFrame("01J", Obj({{"type", "agent"}}))) ==
          R"({"i":"01J","m":{"type":"agent"}})");
    CHECK(SerializeFrame(MakeAppendFrame("01J", "Hi")) == R"({"i":"01J","a":"Hi"})");
    CHECK(SerializeFrame(MakeSetFrame("01J", "2026-01-04T10:00:00.000Z", Obj({{"k", 1}}))) ==
          R"({"i":"01J","t":"2026-01-04T10:00:00.000Z","v":{"k":1}})");
    CHECK(SerializeFrame(MakeResetFrame("01J")) == R"({"i":"01J","v":null})");
    CHECK(SerializeFrame(MakeSyncRequestFrame()) == R"({"request":"sync"})");
    CHECK(SerializeFrame(MakeSyncRequestFrame("01A")) == R"({"request":"sync","since":"01A"})");
    CHECK(SerializeFrame(MakeSyncResponseFrame("2026-01-04T10:00:00.000Z")) ==
          R"({"sync":"2026-01-04T10:00:00.000Z"})");
    CHECK(SerializeFrame(MakeErrorFrame("forbidden")) == R"({"error":"forbidden"})");
    CHECK(SerializeFrame(MakeErrorFrame("forbidden", "no access")) ==
          R"({"error":"forbidden","message":"no access"})");
    CHECK(SerializeFrame(MakeArtifactFrame(
              "create", "ch", Obj({{"status", "open"}, {"slug", "s"}, {"tldr", "t"}, {"type", "task"}}))) ==
          R"({"artifact":{"action":"create","channelId":"ch","payload":{"slug":"s","type":"task","tldr":"t","status":"open","path":"/ch/s"}}})");
  }

  TEST_CASE("refuses start metadata with the reserved content key") {
    Result<TymbalFrame> f = MakeStartFrame("01J", Obj({{"content", "x"}}));
    REQUIRE_FALSE(f.ok());
    CHECK(f.status().message() == "metadata cannot contain reserved key \"content\"");
    CHECK_FALSE(MakeStartFrame("01J", Json("text")).ok());
  }

  TEST_CASE("appends exactly one newline per line") {
    std::string out;
    AppendFrameLine(MakeAppendFrame("a", "x"), &out);
    AppendFrameLine(MakeResetFrame("a"), &out);
    CHECK(out == "{\"i\":\"a\",\"a\":\"x\"}\n{\"i\":\"a\",\"v\":null}\n");
    CHECK(SerializeFrameLine(MakeResetFrame("b")) == "{\"i\":\"b\",\"v\":null}\n");
  }

  TEST_CASE("escapes control characters, quotes, backslashes and U+2028/2029") {
    const std::string text = std::string("q\" b\\ nl\n cr\r tab\t nul") + '\0' +
                             " bell\x07 ls\xE2\x80\xA8 ps\xE2\x80\xA9 e\xC3\xA9";
    const std::string line = SerializeFrame(MakeAppendFrame("i", text));
    CHECK(line ==
          "{\"i\":\"i\",\"a\":\"q\\\" b\\\\ nl\\n cr\\r tab\\t nul\\u0000 bell\\u0007 "
          "ls\\u2028 ps\\u2029 e\xC3\xA9\"}");
    Result<TymbalFrame> back = ParseFrame(line);
    REQUIRE(back.ok());
    CHECK(back->text == text);
  }

  TEST_CASE("never writes a key twice when extra repeats one of the kind's keys") {
    TymbalFrame f = MakeAppendFrame("a", "x");
    f.extra.push_back(JsonMember{"a", Json(5)});
    f.extra.push_back(JsonMember{"c", Json("ch")});
    CHECK(SerializeFrame(f) == R"({"i":"a","a":"x","c":"ch"})");
  }

  TEST_CASE("round-trips every kind of frame the parser produces") {
    const char* lines[] = {
        R"({"i":"x"})",
        R"({"i":"x","m":{"type":"agent","n":[1,2.5,-3e-7,true,null]},"extra":{"k":"v"}})",
        R"({"i":"x","m":[1,2]})",
        R"({"i":"x","a":"d\u00e9\ud83d\ude00","m":5,"t":1})",
        R"({"i":"x","t":"2026","v":{"type":"tool_call","args":{"a":[{}]}},"c":"ch"})",
        R"({"i":"x","v":null,"t":"ignored"})",
        R"({"request":"sync","channelId":"c","since":"01","before":"02","limit":50,"token":"t"})",
        R"({"sync":"2026","hasMore":true,"oldestId":"01"})",
        R"({"error":{"code":7},"message":"m","i":"x","a":"y"})",
        R"({"artifact":{"action":"a","channelId":"c","payload":{"slug":"s"}},"i":"z"})",
        R"({"zeta":1,"i":"x","alpha":{"nested":{"deep":[[[]]]}}})",
        R"({"request":"no","sync":1,"artifact":"s","i":"x","a":"y"})",
    };
    for (const char* line : lines) {
      CAPTURE(line);
      Result<TymbalFrame> f = ParseFrame(line);
      REQUIRE(f.ok());
      Result<TymbalFrame> again = ParseFrame(SerializeFrame(*f));
      REQUIRE(again.ok());
      CHECK(*again == *f);
      CHECK(SerializeFrame(*again) == SerializeFrame(*f));
    }
  }
}

}  // namespace
}  // namespace agentcore
