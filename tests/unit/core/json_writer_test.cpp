// SPDX-License-Identifier: Apache-2.0
#include <agentcore/json_writer.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>

using agentcore::AppendJsonNumber;
using agentcore::AppendJsonString;
using agentcore::Json;
using agentcore::JsonArray;
using agentcore::JsonObject;
using agentcore::JsonWriter;
using agentcore::ParseJson;
using agentcore::ToJson;
using namespace std::string_view_literals;

namespace {

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

std::string JsonNumber(double d) {
  std::string out;
  AppendJsonNumber(d, &out);
  return out;
}

// Whether `s` is valid UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

struct StringCase {
  std::string_view input;
  std::string_view expected;
};

}  // namespace

TEST_SUITE("JsonWriter") {

TEST_CASE("escapes every control character as JSON.stringify does") {
  // From node: JSON.stringify(String.fromCharCode(c)) for c in 0..0x1f.
  const std::string_view expected[0x20] = {
      R"("\u0000")", R"("\u0001")", R"("\u0002")", R"("\u0003")", R"("\u0004")", R"("\u0005")",
      R"("\u0006")", R"("\u0007")", R"("\b")",     R"("\t")",     R"("\n")",     R"("\u000b")",
      R"("\f")",     R"("\r")",     R"("\u000e")", R"("\u000f")", R"("\u0010")", R"("\u0011")",
      R"("\u0012")", R"("\u0013")", R"("\u0014")", R"("\u0015")", R"("\u0016")", R"("\u0017")",
      R"("\u0018")", R"("\u0019")", R"("\u001a")", R"("\u001b")", R"("\u001c")", R"("\u001d")",
      R"("\u001e")", R"("\u001f")",
  };
  for (int c = 0; c < 0x20; ++c) {
    CAPTURE(c);
    CHECK(JsonString(std::string(1, static_cast<char>(c))) == expected[c]);
  }
}

TEST_CASE("copies printable ASCII except the quote and the backslash") {
  for (int c = 0x20; c < 0x80; ++c) {
    CAPTURE(c);
    const std::string s(1, static_cast<char>(c));
    if (c == '"') {
      CHECK(JsonString(s) == R"("\"")");
    } else if (c == '\\') {
      CHECK(JsonString(s) == R"("\\")");
    } else {
      CHECK(JsonString(s) == "\"" + s + "\"");  // including '/' and DEL
    }
  }
}

TEST_CASE("escapes strings byte for byte as JSON.stringify does") {
  const StringCase cases[] = {
      {"", R"("")"},
      {"hello", R"("hello")"},
      {"a\"b", R"("a\"b")"},
      {"a\\b", R"("a\\b")"},
      {"\\\"", R"("\\\"")"},
      {"/", R"("/")"},
      {"</script>", R"("</script>")"},
      {"line\nbreak\r\n", R"("line\nbreak\r\n")"},
      {"tab\there", R"("tab\there")"},
      {"\b\f", R"("\b\f")"},
      {"nul\0byte"sv, R"("nul\u0000byte")"},
      {"\x7F", "\"\x7F\""},
      {"caf\xC3\xA9", "\"caf\xC3\xA9\""},
      {"\xE2\x82\xAC", "\"\xE2\x82\xAC\""},
      {"\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""},
      {"\xEF\xBF\xBF", "\"\xEF\xBF\xBF\""},
      {"\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\""},
      {"\xED\x9F\xBF", "\"\xED\x9F\xBF\""},  // U+D7FF, just below the surrogates
      {"\xEE\x80\x80", "\"\xEE\x80\x80\""},  // U+E000, just above them
      // U+2028 and U+2029 are escaped (JSON.stringify would not), neighbours are not.
      {"\xE2\x80\xA8", R"("\u2028")"},
      {"\xE2\x80\xA9", R"("\u2029")"},
      {"a\xE2\x80\xA8" "b\xE2\x80\xA9" "c", R"("a\u2028b\u2029c")"},
      {"\xE2\x80\xA7\xE2\x80\xAA", "\"\xE2\x80\xA7\xE2\x80\xAA\""},
  };
  for (const StringCase& c : cases) {
    CAPTURE(c.input);
    CHECK(JsonString(c.input) == c.expected);
  }
}

TEST_CASE("replaces each byte of invalid UTF-8 with U+FFFD") {
  const StringCase cases[] = {
      {"\xFF", R"("\ufffd")"},
      {"\xFE", R"("\ufffd")"},
      {"\x80", R"("\ufffd")"},
      {"\xBF", R"("\ufffd")"},
      {"a\xFF" "b", R"("a\ufffdb")"},
      {"\xC0\xAF", R"("\ufffd\ufffd")"},                  // overlong '/'
      {"\xC1\xBF", R"("\ufffd\ufffd")"},                  // overlong U+007F
      {"\xE0\x80\xAF", R"("\ufffd\ufffd\ufffd")"},        // overlong 3-byte
      {"\xE0\x9F\xBF", R"("\ufffd\ufffd\ufffd")"},        // overlong U+07FF
      {"\xF0\x80\x80\xAF", R"("\ufffd\ufffd\ufffd\ufffd")"},  // overlong 4-byte
      {"\xF0\x8F\xBF\xBF", R"("\ufffd\ufffd\ufffd\ufffd")"},  // overlong U+FFFF
      {"\xED\xA0\x80", R"("\ufffd\ufffd\ufffd")"},        // UTF-8 encoded surrogate
      {"\xED\xBF\xBF", R"("\ufffd\ufffd\ufffd")"},
      {"\xF4\x90\x80\x80", R"("\ufffd\ufffd\ufffd\ufffd")"},  // above U+10FFFF
      {"\xF5\x80\x80\x80", R"("\ufffd\ufffd\ufffd\ufffd")"},
      {"\xC3", R"("\ufffd")"},                            // truncated at the end
      {"\xE2\x82", R"("\ufffd\ufffd")"},
      {"\xF0\x9F\x98", R"("\ufffd\ufffd\ufffd")"},
      {"\xE2\x82x", R"("\ufffd\ufffdx")"},                // truncated, then ASCII
      {"\xC3\"", R"("\ufffd\"")"},                        // truncated, then a quote
      {"\xF0\x9F\x98\xF0\x9F\x98\x80", "\"\\ufffd\\ufffd\\ufffd\xF0\x9F\x98\x80\""},
      {"\xC3\xA9\xFF\xC3\xA9", "\"\xC3\xA9\\ufffd\xC3\xA9\""},
      {"\xE2\x80\xA8\xFF", R"("\u2028\ufffd")"},
  };
  for (const StringCase& c : cases) {
    CAPTURE(c.input);
    CHECK(JsonString(c.input) == c.expected);
  }
}

TEST_CASE("escapes a special byte at every offset of a long string") {
  // Covers the word-at-a-time scan: the special byte falls in every lane and in the tail.
  const std::pair<std::string_view, std::string_view> specials[] = {
      {"\"", R"(\")"},       {"\\", R"(\\)"},         {"\n", R"(\n)"},
      {"\x01", R"(\u0001)"}, {"\x1F", R"(\u001f)"},   {"\xC3\xA9", "\xC3\xA9"},
      {"\xFF", R"(\ufffd)"}, {"\xE2\x80\xA8", R"(\u2028)"}, {"\x7F", "\x7F"},
      {" ", " "},            {"!", "!"},              {"#", "#"},
      {"[", "["},            {"]", "]"},              {"\x20", "\x20"},
  };
  for (const auto& special : specials) {
    // Named members, not a structured binding: doctest's CAPTURE is a lambda, and clang 14
    // cannot capture structured bindings.
    const auto& raw = special.first;
    const auto& escaped = special.second;
    for (std::size_t offset = 0; offset <= 24; ++offset) {
      for (std::size_t tail : {0u, 1u, 7u, 8u, 9u, 23u}) {
        CAPTURE(raw);
        CAPTURE(offset);
        CAPTURE(tail);
        const std::string head(offset, 'a');
        const std::string rest(tail, 'z');
        const std::string input = head + std::string(raw) + rest;
        CHECK(JsonString(input) == "\"" + head + std::string(escaped) + rest + "\"");
      }
    }
  }
}

TEST_CASE("appends to the string without replacing its content") {
  std::string out = "prefix:";
  AppendJsonString("a\n", &out);
  AppendJsonNumber(1.5, &out);
  AppendJsonString("", &out);
  CHECK(out == R"(prefix:"a\n"1.5"")");
}

TEST_CASE("always writes valid UTF-8 that parses back") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string input(static_cast<std::size_t>(rng() % 40), '\0');
    for (char& c : input) {
      // Bias towards interesting bytes: controls, quotes, UTF-8 lead and continuation bytes.
      const std::uint64_t r = rng() % 8;
      if (r == 0) {
        c = static_cast<char>(rng() % 0x20);
      } else if (r < 3) {
        c = static_cast<char>(0x80 + rng() % 0x80);
      } else if (r == 3) {
        c = "\"\\\xE2\x80\xA8\xA9\xED\xF4"[rng() % 8];
      } else {
        c = static_cast<char>(0x20 + rng() % 0x60);
      }
    }
    CAPTURE(input);
    const std::string out = JsonString(input);
    REQUIRE(IsValidUtf8(out));
    auto parsed = ParseJson(out);
    REQUIRE(parsed.has_value());
    REQUIRE(parsed->is_string());
    // Valid input comes back unchanged.
    if (IsValidUtf8(input)) CHECK(parsed->as_string() == input);
    // Neither U+2028 nor U+2029 nor a control character is ever written raw.
    CHECK(out.find("\xE2\x80\xA8") == std::string::npos);
    CHECK(out.find("\xE2\x80\xA9") == std::string::npos);
    CHECK(std::none_of(out.begin(), out.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
  }
}

TEST_CASE("prints numbers as Number.prototype.toString does") {
  // Expectations from node: JSON.stringify(x).
  struct NumberCase {
    double value;
    std::string_view expected;
  };
  const NumberCase cases[] = {
      {0.0, "0"},
      {-0.0, "0"},
      {1.0, "1"},
      {-1.0, "-1"},
      {0.5, "0.5"},
      {-0.5, "-0.5"},
      {0.1, "0.1"},
      {25.0, "25"},
      {100.0, "100"},
      {1e6, "1000000"},
      {123.456, "123.456"},
      {12.3456789, "12.3456789"},
      {4.35, "4.35"},
      {1.0 / 3.0, "0.3333333333333333"},
      {2.0 / 3.0, "0.6666666666666666"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1.0000000000000002, "1.0000000000000002"},
      {2147483648.0, "2147483648"},
      {-2147483649.0, "-2147483649"},
      {4294967296.0, "4294967296"},
      {1000000000000000.5, "1000000000000000.5"},
      {9007199254740991.0, "9007199254740991"},
      {-9007199254740991.0, "-9007199254740991"},
      {9007199254740992.0, "9007199254740992"},
      {9007199254740994.0, "9007199254740994"},
      {18446744073709551616.0, "18446744073709552000"},
      {-9223372036854775808.0, "-9223372036854776000"},
      {1e20, "100000000000000000000"},
      {123456789012345680000.0, "123456789012345680000"},
      {999999999999999900000.0, "999999999999999900000"},
      {1e21, "1e+21"},
      {-1e21, "-1e+21"},
      {1000000000000000131072.0, "1.0000000000000001e+21"},
      {1.5e21, "1.5e+21"},
      {1e100, "1e+100"},
      {1.5e300, "1.5e+300"},
      {1e301, "1e+301"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.000001, "0.000001"},
      {0.0000015, "0.0000015"},
      {0.0000012, "0.0000012"},
      {1e-7, "1e-7"},
      {1.5e-7, "1.5e-7"},
      {-1.23456e-8, "-1.23456e-8"},
      {1.23e-18, "1.23e-18"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {5e-324, "5e-324"},
      {-5e-324, "-5e-324"},
  };
  for (const NumberCase& c : cases) {
    CAPTURE(c.expected);
    CHECK(JsonNumber(c.value) == c.expected);
  }
}

TEST_CASE("prints NaN and the infinities as null") {
  CHECK(JsonNumber(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(JsonNumber(-std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(JsonNumber(std::numeric_limits<double>::infinity()) == "null");
  CHECK(JsonNumber(-std::numeric_limits<double>::infinity()) == "null");
  CHECK(ToJson(Json(std::numeric_limits<double>::infinity())) == "null");
  std::string out;
  JsonWriter(&out).BeginArray().Number(std::nan("")).Number(1).EndArray();
  CHECK(out == "[null,1]");
}

TEST_CASE("prints integral doubles without a fraction or exponent below 1e21") {
  double d = 1;
  for (int e = 0; e < 21; ++e, d *= 10) {
    CAPTURE(e);
    CHECK(JsonNumber(d) == "1" + std::string(static_cast<std::size_t>(e), '0'));
    CHECK(JsonNumber(-d) == "-1" + std::string(static_cast<std::size_t>(e), '0'));
  }
  CHECK(JsonNumber(d) == "1e+21");
  for (int e = 1; e <= 6; ++e) {
    CAPTURE(e);
    CHECK(JsonNumber(std::stod("1e-" + std::to_string(e))) ==
          "0." + std::string(static_cast<std::size_t>(e - 1), '0') + "1");
  }
}

TEST_CASE("writes objects and arrays with commas and colons") {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Key("a")
      .Int(1)
      .Key("b")
      .BeginArray()
      .Int(1)
      .String("x")
      .Null()
      .Bool(true)
      .BeginObject()
      .Key("b")
      .BeginObject()
      .EndObject()
      .EndObject()
      .EndArray()
      .Key("")
      .BeginArray()
      .EndArray()
      .Key("k\"")
      .Number(-0.5)
      .EndObject();
  CHECK(out == R"({"a":1,"b":[1,"x",null,true,{"b":{}}],"":[],"k\"":-0.5})");
}

TEST_CASE("writes empty and nested containers") {
  const std::pair<void (*)(JsonWriter&), std::string_view> cases[] = {
      {[](JsonWriter& w) { w.BeginArray().EndArray(); }, "[]"},
      {[](JsonWriter& w) { w.BeginObject().EndObject(); }, "{}"},
      {[](JsonWriter& w) { w.BeginArray().BeginArray().EndArray().EndArray(); }, "[[]]"},
      {[](JsonWriter& w) {
         w.BeginArray().BeginArray().EndArray().BeginObject().EndObject().BeginArray().EndArray().EndArray();
       },
       "[[],{},[]]"},
      {[](JsonWriter& w) { w.BeginArray().BeginArray().Int(1).EndArray().Int(2).EndArray(); },
       "[[1],2]"},
      {[](JsonWriter& w) { w.BeginArray().Int(1).BeginArray().Int(2).EndArray().EndArray(); },
       "[1,[2]]"},
      {[](JsonWriter& w) {
         w.BeginObject().Key("a").BeginObject().Key("b").Int(1).EndObject().Key("c").Int(2).EndObject();
       },
       R"({"a":{"b":1},"c":2})"},
      {[](JsonWriter& w) { w.Int(5); }, "5"},
      {[](JsonWriter& w) { w.String("top"); }, R"("top")"},
      {[](JsonWriter& w) { w.Null(); }, "null"},
      {[](JsonWriter& w) { w.Bool(false); }, "false"},
  };
  for (const auto& c : cases) {
    const auto& write = c.first;
    const auto& expected = c.second;
    CAPTURE(expected);
    std::string out;
    JsonWriter w(&out);
    write(w);
    CHECK(out == expected);
  }
}

TEST_CASE("writes the Field shorthands") {
  std::string out;
  const std::string str = "s";
  JsonWriter(&out)
      .BeginObject()
      .Field("view", "v"sv)
      .Field("cstr", "c")
      .Field("string", str)
      .Field("int", std::int64_t{-3})
      .Field("yes", true)
      .Field("no", false)
      .Field("json", Json(JsonArray{1, "two"}))
      .EndObject();
  CHECK(out == R"({"view":"v","cstr":"c","string":"s","int":-3,"yes":true,"no":false,"json":[1,"two"]})");
}

TEST_CASE("writes the extreme 64-bit integers exactly") {
  std::string out;
  JsonWriter(&out)
      .BeginArray()
      .Int(std::numeric_limits<std::int64_t>::min())
      .Int(std::numeric_limits<std::int64_t>::max())
      .Int(0)
      .Int(-1)
      .EndArray();
  CHECK(out == "[-9223372036854775808,9223372036854775807,0,-1]");
}

TEST_CASE("writes raw JSON verbatim with separators") {
  std::string out;
  JsonWriter(&out)
      .BeginObject()
      .Key("raw")
      .Raw(R"({"pre":[1,2]})")
      .Key("n")
      .Raw("1e5")
      .EndObject();
  CHECK(out == R"({"raw":{"pre":[1,2]},"n":1e5})");
  out.clear();
  JsonWriter(&out).BeginArray().Raw("true").Raw("[]").EndArray();
  CHECK(out == "[true,[]]");
}

TEST_CASE("escapes keys like strings") {
  std::string out;
  JsonWriter(&out)
      .BeginObject()
      .Key("a\"b\\c\n\xE2\x80\xA8\xFF")
      .Int(1)
      .EndObject();
  CHECK(out == R"({"a\"b\\c\n\u2028\ufffd":1})");
}

TEST_CASE("appends after existing content") {
  std::string out = "data: ";
  JsonWriter(&out).BeginObject().Field("k", "v").EndObject();
  out += '\n';
  CHECK(out == "data: {\"k\":\"v\"}\n");
}

TEST_CASE("writes a Json value as ToJson does") {
  JsonObject inner;
  inner.push_back({"a", "b\n"});
  inner.push_back({"c", JsonArray{Json::Array(), Json::Object()}});
  JsonObject root;
  root.push_back({"k", JsonArray{1, Json(inner)}});
  root.push_back({"\xE2\x80\xA8", "x"});
  root.push_back({"n", nullptr});
  root.push_back({"f", 0.25});
  root.push_back({"t", true});
  const Json value(root);
  // JSON.stringify gives the same, except that it leaves U+2028 raw.
  const std::string_view expected =
      R"({"k":[1,{"a":"b\n","c":[[],{}]}],"\u2028":"x","n":null,"f":0.25,"t":true})";
  CHECK(ToJson(value) == expected);
  std::string out;
  JsonWriter(&out).Value(value);
  CHECK(out == expected);
  out.clear();
  agentcore::AppendJson(value, &out);
  CHECK(out == expected);
  out.clear();
  JsonWriter(&out).BeginArray().Value(value).Value(Json()).Value(Json("s")).EndArray();
  CHECK(out == "[" + std::string(expected) + R"(,null,"s"])");
}

}  // TEST_SUITE("JsonWriter")
