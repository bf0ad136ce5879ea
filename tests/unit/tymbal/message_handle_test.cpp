// SPDX-License-Identifier: Apache-2.0
#include <agentcore/tymbal/message_handle.hpp>

#include <doctest/doctest.h>

#include <agentcore/tymbal/assembler.hpp>
#include <agentcore/tymbal/parser.hpp>

namespace agentcore {
namespace {

Json Meta() {
  Json m = Json::Object();
  m.Set("type", "agent");
  m.Set("sender", "echo");
  return m;
}

TEST_SUITE("MessageHandle") {
  TEST_CASE("emits start before the first append, then appends") {
    MessageHandle h("01J", Meta());
    CHECK(*h.Stream("Hel") ==
          "{\"i\":\"01J\",\"m\":{\"type\":\"agent\",\"sender\":\"echo\"}}\n{\"i\":\"01J\",\"a\":\"Hel\"}\n");
    CHECK(*h.Stream("lo") == "{\"i\":\"01J\",\"a\":\"lo\"}\n");
    CHECK(h.text() == "Hello");
    CHECK(h.started());
  }

  TEST_CASE("merges metadata, streamed text and the set value with later keys winning") {
    MessageHandle h("01J", Meta());
    REQUIRE(h.Stream("Hello").ok());
    Json value = Json::Object();
    value.Set("sender", "override");
    value.Set("extra", 1);
    CHECK(*h.Set(value, "T") ==
          "{\"i\":\"01J\",\"t\":\"T\",\"v\":{\"type\":\"agent\",\"sender\":\"override\","
          "\"content\":\"Hello\",\"extra\":1}}\n");
    CHECK(h.finalized());
  }

  TEST_CASE("sets the value as is when nothing was streamed or in object mode") {
    MessageHandle never("a", Meta());
    CHECK(*never.Set(Json::Object(), "T") == "{\"i\":\"a\",\"t\":\"T\",\"v\":{}}\n");
    MessageHandle object_mode("b");
    REQUIRE(object_mode.Stream("{}").ok());
    Json v = Json::Object();
    v.Set("k", true);
    CHECK(*object_mode.Set(v, "T") == "{\"i\":\"b\",\"t\":\"T\",\"v\":{\"k\":true}}\n");
  }

  TEST_CASE("refuses to stream or set after it is finalized") {
    MessageHandle h("a", Meta());
    REQUIRE(h.Set(Json::Object(), "T").ok());
    Result<std::string> s = h.Stream("x");
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == ErrorCode::kConflict);
    CHECK(s.status().message() == "cannot stream to a finalized message");
    CHECK(h.Set(Json::Object(), "T").status().message() == "cannot set a finalized message");
    MessageHandle d("b");
    CHECK(d.Delete() == "{\"i\":\"b\",\"v\":null}\n");
    CHECK_FALSE(d.Stream("x").ok());
  }

  TEST_CASE("rejects metadata with content and a non-object value") {
    Json bad = Json::Object();
    bad.Set("content", "x");
    MessageHandle h("a", bad);
    CHECK(h.Stream("x").status().code() == ErrorCode::kInvalidArgument);
    MessageHandle g("b");
    CHECK(g.Set(Json(5), "T").status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("produces lines an assembler turns back into the message") {
    MessageHandle h("01J", Meta());
    std::string lines = *h.Stream("Hel");
    lines += *h.Stream("lo");
    lines += *h.Set(Json::Object(), "T");
    MessageAssembler a;
    std::size_t pos = 0;
    while (pos < lines.size()) {
      const std::size_t nl = lines.find('\n', pos);
      Result<TymbalFrame> f = ParseFrame(std::string_view(lines).substr(pos, nl - pos));
      REQUIRE(f.ok());
      REQUIRE(a.Apply(*f).ok());
      pos = nl + 1;
    }
    CHECK(a.message().complete);
    CHECK(*a.message().value.FindString("content") == "Hello");
  }
}

}  // namespace
}  // namespace agentcore
