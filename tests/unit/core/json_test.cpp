// SPDX-License-Identifier: Apache-2.0
#include <agentcore/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using agentcore::ErrorCode;
using agentcore::Json;
using agentcore::JsonArray;
using agentcore::JsonMember;
using agentcore::JsonObject;
using agentcore::JsonType;
using agentcore::kMaxJsonDepth;
using agentcore::ParseJson;
using agentcore::ToJson;
using namespace std::string_view_literals;

namespace doctest {
template <>
struct StringMaker<agentcore::Json> {
  static String convert(const agentcore::Json& v) { return agentcore::ToJson(v).c_str(); }
};
}  // namespace doctest

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Json Arr(std::initializer_list<Json> items) { return Json(JsonArray(items)); }
Json Obj(std::initializer_list<JsonMember> members) { return Json(JsonObject(members)); }

// Parses text that must be valid.
Json MustParse(std::string_view text) {
  auto r = ParseJson(text);
  INFO("input: " << text);
  REQUIRE_MESSAGE(r.has_value(), r.status().ToString());
  return *std::move(r);
}

// Nested arrays `[[...]]` `depth` deep.
std::string NestedArrays(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') +
         std::string(static_cast<std::size_t>(depth), ']');
}

// Nested objects `{"a":{"a":...1}}` `depth` deep.
std::string NestedObjects(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += R"({"a":)";
  s += "1";
  s.append(static_cast<std::size_t>(depth), '}');
  return s;
}

// Appends the UTF-8 encoding of code point `cp`.
void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

struct GoodCase {
  std::string_view input;
  Json expected;
};

struct BadCase {
  std::string_view what;
  std::string_view input;
};

}  // namespace

TEST_SUITE("Json") {

TEST_CASE("parses every kind of value at the root and inside containers") {
  const GoodCase cases[] = {
      {"null", Json()},
      {"true", Json(true)},
      {"false", Json(false)},
      {"0", Json(0)},
      {"42", Json(42)},
      {"-7", Json(-7)},
      {"0.5", Json(0.5)},
      {R"("")", Json("")},
      {R"("hello")", Json("hello")},
      {"[]", Json::Array()},
      {"{}", Json::Object()},
      {"[1,2,3]", Arr({1, 2, 3})},
      {R"([null,true,false,"x",1.5,[],{}])",
       Arr({nullptr, true, false, "x", 1.5, Json::Array(), Json::Object()})},
      {R"({"a":1,"b":"two","c":null})", Obj({{"a", 1}, {"b", "two"}, {"c", nullptr}})},
      {R"({"z":1,"a":2,"m":3})", Obj({{"z", 1}, {"a", 2}, {"m", 3}})},  // insertion order
      {R"({"":0})", Obj({{"", 0}})},
      {R"({"a":{"b":{"c":[1,{"d":[]}]}}})",
       Obj({{"a", Obj({{"b", Obj({{"c", Arr({1, Obj({{"d", Json::Array()}})})}})}})}})},
      {R"([[[]],[[]]])", Arr({Arr({Json::Array()}), Arr({Json::Array()})})},
      // JSON whitespace (space, tab, line feed, carriage return) anywhere between tokens.
      {" \t\r\n[ 1 , { \"a\" : 2 } ] \t\r\n", Arr({1, Obj({{"a", 2}})})},
      {"\n\n\"x\"\n", Json("x")},
      {"  7  ", Json(7)},
      {" true ", Json(true)},
  };
  for (const GoodCase& c : cases) {
    CAPTURE(c.input);
    CHECK(MustParse(c.input) == c.expected);
  }
}

TEST_CASE("rejects malformed JSON of every kind") {
  const BadCase cases[] = {
      // Empty input.
      {"empty", ""},
      {"whitespace only", "   "},
      {"all JSON whitespace only", " \t\r\n"},
      // Unclosed containers and strings.
      {"unclosed array", "["},
      {"unclosed array after a value", "[1"},
      {"unclosed array after a comma", "[1,"},
      {"unclosed object", "{"},
      {"unclosed object after a key", R"({"a")"},
      {"unclosed object after a colon", R"({"a":)"},
      {"unclosed object after a value", R"({"a":1)"},
      {"unclosed nested array", "[[1]"},
      {"unclosed nested object", R"({"a":{})"},
      {"unclosed string", R"("abc)"},
      {"unclosed string ending in an escaped quote", R"("abc\")"},
      {"unclosed key", R"({"a)"},
      {"lone closing bracket", "]"},
      {"lone closing brace", "}"},
      {"lone colon", ":"},
      {"lone comma", ","},
      {"mismatched brackets", "[1}"},
      {"mismatched braces", R"({"a":1])"},
      {"bracket then brace", "[}"},
      {"brace then bracket", "{]"},
      // Commas.
      {"trailing comma in an array", "[1,]"},
      {"trailing comma in an object", R"({"a":1,})"},
      {"leading comma in an array", "[,1]"},
      {"only a comma in an array", "[,]"},
      {"only a comma in an object", "{,}"},
      {"double comma in an array", "[1,,2]"},
      {"double comma in an object", R"({"a":1,,"b":2})"},
      {"missing comma in an array", "[1 2]"},
      {"missing comma in an object", R"({"a":1 "b":2})"},
      // Colons and keys.
      {"missing colon", R"({"a" 1})"},
      {"double colon", R"({"a"::1})"},
      {"comma instead of colon", R"({"a",1})"},
      {"key without value", R"({"a"})"},
      {"colon in an array", "[1:2]"},
      {"number key", "{1:2}"},
      {"bare word key", "{a:1}"},
      {"null key", "{null:1}"},
      // Quotes.
      {"single-quoted string", "'a'"},
      {"single-quoted key", "{'a':1}"},
      {"mixed quotes", R"(["a'])"},
      // Comments.
      {"line comment after a value", "[1]//c"},
      {"block comment before a value", "/*c*/[1]"},
      {"block comment inside an array", "[1/*c*/]"},
      {"hash comment", "# c\n1"},
      // Literals JavaScript knows but JSON does not, and misspelt ones.
      {"NaN", "NaN"},
      {"Infinity", "Infinity"},
      {"-Infinity", "-Infinity"},
      {"+Infinity", "+Infinity"},
      {"NaN in an array", "[NaN]"},
      {"undefined", "undefined"},
      {"capitalised True", "True"},
      {"upper-case FALSE", "FALSE"},
      {"capitalised Null", "Null"},
      {"truncated true", "tru"},
      {"truncated null", "nul"},
      {"truncated false", "fals"},
      {"single t", "t"},
      {"single n", "n"},
      {"null with an extra letter", "nulll"},
      {"true with a suffix", "truex"},
      {"truncated true in an array", "[tru]"},
      {"truncated null as a member", R"({"a":nul})"},
      {"bare word", "abc"},
      {"single letter", "a"},
      {"bare word in an array", "[abc]"},
      {"bare word as a member", R"({"a":abc})"},
      // Numbers.
      {"leading zero", "01"},
      {"negative leading zero", "-01"},
      {"double zero", "00"},
      {"leading zero in an array", "[01]"},
      {"trailing dot", "1."},
      {"negative trailing dot", "-1."},
      {"trailing dot in an array", "[1.]"},
      {"dot before an exponent", "1.e5"},
      {"leading dot", ".5"},
      {"negative leading dot", "-.5"},
      {"lone minus", "-"},
      {"lone minus as a member", R"({"a":-})"},
      {"lone plus", "+"},
      {"plus sign", "+1"},
      {"double minus", "--1"},
      {"minus then space", "- 1"},
      {"empty exponent", "1e"},
      {"exponent sign only", "1e+"},
      {"upper-case exponent sign only", "1E-"},
      {"double exponent", "1e5e5"},
      {"double e", "1ee5"},
      {"two dots", "1.5.5"},
      {"hexadecimal", "0x10"},
      {"upper-case hexadecimal", "0X1A"},
      {"binary", "0b1"},
      {"octal", "0o7"},
      {"digit separator", "1_000"},
      {"decimal comma", "1,5"},
      {"full-width digit", "\xEF\xBC\x91"},
      {"letters after a number", "1e4a"},
      {"letters after an overflowing number", "1e400x"},
      // Raw control characters inside strings.
      {"raw tab in a string", "\"a\tb\""},
      {"raw line feed in a string", "\"a\nb\""},
      {"raw carriage return in a string", "\"a\rb\""},
      {"raw U+0001 in a string", "\"\x01\""},
      {"raw U+001F in a string", "\"\x1F\""},
      {"raw NUL in a string", "\"a\0b\""sv},
      {"raw NUL in a key", "{\"a\0\":1}"sv},
      {"raw control character in a key", "{\"\x02\":1}"},
      // Invalid escapes.
      {"escape \\x", R"("\x41")"},
      {"escape \\a", R"("\a")"},
      {"escape \\'", R"("\'")"},
      {"escape \\0", R"("\0")"},
      {"escape \\U", R"("\U0041")"},
      {"escaped space", R"("\ ")"},
      {"short \\u", R"("\u12")"},
      {"empty \\u", R"("\u")"},
      {"\\u with a non-hex digit", R"("\u12G4")"},
      {"\\u with a sign", R"("\u+123")"},
      {"invalid escape in a key", R"({"\q":1})"},
      // Lone and misordered surrogate escapes.
      {"lone high surrogate", R"("\ud800")"},
      {"lone low surrogate", R"("\udc00")"},
      {"lone highest high surrogate", R"("\uDBFF")"},
      {"lone highest low surrogate", R"("\uDFFF")"},
      {"high surrogate then a letter", R"("\ud83dx")"},
      {"high surrogate then a non-surrogate escape", R"("\ud83d\u0041")"},
      {"two high surrogates", R"("\ud800\ud800")"},
      {"low surrogate before high surrogate", R"("\udc00\ud800")"},
      {"lone surrogate in a key", R"({"\ud800":1})"},
      // Invalid UTF-8.
      {"overlong 2-byte '/'", "\"\xC0\xAF\""},
      {"overlong 2-byte U+007F", "\"\xC1\xBF\""},
      {"overlong 3-byte '/'", "\"\xE0\x80\xAF\""},
      {"overlong 3-byte U+07FF", "\"\xE0\x9F\xBF\""},
      {"overlong 4-byte '/'", "\"\xF0\x80\x80\xAF\""},
      {"overlong 4-byte U+FFFF", "\"\xF0\x8F\xBF\xBF\""},
      {"UTF-8 encoded high surrogate", "\"\xED\xA0\x80\""},
      {"UTF-8 encoded low surrogate", "\"\xED\xBF\xBF\""},
      {"code point above U+10FFFF", "\"\xF4\x90\x80\x80\""},
      {"lead byte F5", "\"\xF5\x80\x80\x80\""},
      {"truncated 2-byte sequence", "\"\xC3\""},
      {"truncated 3-byte sequence", "\"\xE2\x82\""},
      {"truncated 4-byte sequence", "\"\xF0\x9F\x98\""},
      {"truncated sequence then ASCII", "\"\xE2\x82x\""},
      {"lone continuation byte", "\"\x80\""},
      {"lone continuation byte BF", "\"\xBF\""},
      {"byte FF", "\"\xFF\""},
      {"byte FE", "\"\xFE\""},
      {"invalid UTF-8 in a key", "{\"\xFF\":1}"},
      {"invalid UTF-8 after the value", "[1]\xFF"},
      {"invalid UTF-8 at end of an unclosed string", "\"\xE2\x82"},
      // Byte order mark.
      {"byte order mark before an object", "\xEF\xBB\xBF{}"},
      {"byte order mark before a number", "\xEF\xBB\xBF" "1"},
      {"byte order mark before a string", "\xEF\xBB\xBF\"a\""},
      {"byte order mark after whitespace", " \xEF\xBB\xBF{}"},
      // Trailing content.
      {"two objects", "{} {}"},
      {"two arrays", "[] []"},
      {"two numbers", "1 2"},
      {"two strings", R"("a" "b")"},
      {"two literals", "true false"},
      {"two nulls", "null null"},
      {"object then a letter", "{}x"},
      {"extra closing bracket", "[1]]"},
      {"extra closing brace", "{}}"},
      {"trailing comma after the root", "[1],"},
      {"number then a letter", "1 x"},
      {"overflowing number then a number", "1e400 1"},
      {"overflowing number then a letter", "1e400 x"},
      {"overflowing number then a bracket", "-1e400]"},
      {"underflowing number then a number", "1e-400 1"},
      {"string then a number", R"("a"1)"},
      {"NUL after a number", "1\0"sv},
      {"NUL after an array", "[1]\0"sv},
      {"NUL only", "\0"sv},
      // Whitespace JSON does not allow.
      {"vertical tab", "\v1"},
      {"form feed", "\f1"},
      {"no-break space", "\xC2\xA0" "1"},
      {"line separator", "\xE2\x80\xA8" "1"},
  };
  for (const BadCase& c : cases) {
    CAPTURE(c.what);
    auto r = ParseJson(c.input);
    CHECK_FALSE(r.has_value());
    if (!r.has_value()) CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("keeps a duplicate key at its first position with the last value") {
  const GoodCase cases[] = {
      {R"({"a":1,"a":2})", Obj({{"a", 2}})},
      {R"({"a":1,"b":2,"a":3})", Obj({{"a", 3}, {"b", 2}})},
      {R"({"a":1,"b":2,"a":3,"b":4,"c":5,"a":6})", Obj({{"a", 6}, {"b", 4}, {"c", 5}})},
      {R"({"a":[1],"a":{"x":1}})", Obj({{"a", Obj({{"x", 1}})}})},
      {R"({"a":1,"\u0061":2})", Obj({{"a", 2}})},  // the same key, once escaped
      {R"({"c":{"x":1,"y":2,"x":[2]},"c":{"x":3,"x":4}})", Obj({{"c", Obj({{"x", 4}})}})},
      {R"([{"k":1,"k":2},{"k":3}])", Arr({Obj({{"k", 2}}), Obj({{"k", 3}})})},
      {R"({"":1,"":2})", Obj({{"", 2}})},
  };
  for (const GoodCase& c : cases) {
    CAPTURE(c.input);
    CHECK(MustParse(c.input) == c.expected);
  }
}

TEST_CASE("keeps duplicate keys last-wins in objects with many members") {
  // Above 16 members the parser looks for duplicates with a hash set.
  std::string text = "{";
  for (int i = 0; i < 60; ++i) {
    text += "\"k" + std::to_string(i % 20) + "\":" + std::to_string(i) + ",";
  }
  text.back() = '}';
  JsonObject expected;
  for (int i = 0; i < 20; ++i) expected.push_back({"k" + std::to_string(i), 40 + i});
  CHECK(MustParse(text) == Json(expected));

  // Many members, a single duplicate at the very end.
  text = "{";
  for (int i = 0; i < 100; ++i) text += "\"m" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  text += R"("m0":"last"})";
  const Json parsed = MustParse(text);
  REQUIRE(parsed.as_object().size() == 100);
  CHECK(parsed.as_object().front().key == "m0");
  CHECK(parsed.as_object().front().value == Json("last"));
  CHECK(parsed.as_object().back().key == "m99");
}

TEST_CASE("parses numbers as JSON.parse does") {
  struct NumberCase {
    std::string_view input;
    double expected;
  };
  const NumberCase cases[] = {
      {"0", 0.0},
      {"1", 1.0},
      {"-1", -1.0},
      {"1.5", 1.5},
      {"-1.5", -1.5},
      {"0.1", 0.1},
      {"1e2", 100.0},
      {"1E2", 100.0},
      {"1e+2", 100.0},
      {"1e-2", 0.01},
      {"0.1e1", 1.0},
      {"100e-2", 1.0},
      {"1e00001", 10.0},
      {"0e0", 0.0},
      {"1e-7", 1e-7},
      {"1e23", 1e23},
      {"1.0000000000000002", 1.0000000000000002},
      {"9007199254740992", 9007199254740992.0},
      {"9007199254740993", 9007199254740992.0},  // rounds to even
      {"-9223372036854775808", -9223372036854775808.0},
      {"18446744073709551616", 18446744073709551616.0},
      {"123456789012345678901234567890", 1.2345678901234568e29},
      {"-123456789012345678901234567890e-10", -12345678901234567000.0},
      {"1.7976931348623157e308", std::numeric_limits<double>::max()},
      {"1.7976931348623158e308", std::numeric_limits<double>::max()},
      {"2.2250738585072014e-308", std::numeric_limits<double>::min()},
      {"4.9406564584124654e-324", std::numeric_limits<double>::denorm_min()},
      {"5e-324", std::numeric_limits<double>::denorm_min()},
      {"3e-324", std::numeric_limits<double>::denorm_min()},
      {"2.4703282292062328e-324", std::numeric_limits<double>::denorm_min()},
      {"2.4703282292062327e-324", 0.0},
      {"2e-324", 0.0},
      // Too large for a double: Infinity; too small: zero.
      {"1e400", kInf},
      {"-1e400", -kInf},
      {"1E400", kInf},
      {"1.7976931348623159e308", kInf},
      {"2e308", kInf},
      {"123456789012345678901234567890e300", kInf},
      {"0.000000000000000000000000001e330", 1e303},
      {"1e-400", 0.0},
      {"-1e-400", 0.0},
      {"1e99999999999", kInf},
      {"1e-99999999999", 0.0},
      {"0e99999999999", 0.0},
      {"  1e400  ", kInf},
  };
  for (const NumberCase& c : cases) {
    CAPTURE(c.input);
    const Json v = MustParse(c.input);
    REQUIRE(v.is_number());
    CHECK(v.as_number() == c.expected);
  }
}

TEST_CASE("parses overflowing numbers inside containers to infinity") {
  const Json v = MustParse(R"([1e400,-1e400,1e-400,{"a":1e400},-1e400])");
  REQUIRE(v.is_array());
  REQUIRE(v.as_array().size() == 5);
  CHECK(v.as_array()[0].as_number() == kInf);
  CHECK(v.as_array()[1].as_number() == -kInf);
  CHECK(v.as_array()[2].as_number() == 0.0);
  CHECK(v.as_array()[3].Find("a")->as_number() == kInf);
  CHECK(v.as_array()[4].as_number() == -kInf);
  // And they serialize as JSON.stringify prints them.
  CHECK(ToJson(v) == R"([null,null,0,{"a":null},null])");
}

TEST_CASE("keeps the sign of negative zero") {
  for (std::string_view text : {"-0"sv, "-0.0"sv, "-0e5"sv, "-1e-400"sv, "[-0]"sv}) {
    CAPTURE(text);
    const Json parsed = MustParse(text);
    const Json& v = parsed.is_array() ? parsed.as_array().at(0) : parsed;
    REQUIRE(v.is_number());
    CHECK(v.as_number() == 0.0);
    CHECK(std::signbit(v.as_number()));
  }
  CHECK_FALSE(std::signbit(MustParse("0").as_number()));
  CHECK_FALSE(std::signbit(MustParse("1e-400").as_number()));
}

TEST_CASE("parses numbers longer than a thousand characters") {
  const std::string zeros(1100, '0');
  CHECK(MustParse("1" + zeros).as_number() == kInf);
  CHECK(MustParse("-1" + zeros).as_number() == -kInf);
  CHECK(MustParse("0." + zeros + "1").as_number() == 0.0);
  CHECK(MustParse("1." + zeros).as_number() == 1.0);
  CHECK(MustParse("[1" + zeros + "]").as_array().at(0).as_number() == kInf);
  CHECK(MustParse("[1." + zeros + "5]").as_array().at(0).as_number() == 1.0);
  CHECK_FALSE(ParseJson("1" + zeros + " 1").has_value());
  CHECK_FALSE(ParseJson("1" + zeros + ".").has_value());
  CHECK_FALSE(ParseJson("0" + zeros).has_value());
}

TEST_CASE("decodes every escape") {
  const GoodCase cases[] = {
      {R"("\"")", Json("\"")},
      {R"("\\")", Json("\\")},
      {R"("\/")", Json("/")},
      {R"("\b")", Json("\b")},
      {R"("\f")", Json("\f")},
      {R"("\n")", Json("\n")},
      {R"("\r")", Json("\r")},
      {R"("\t")", Json("\t")},
      {R"("\u0041")", Json("A")},
      {R"("\u00e9")", Json("\xC3\xA9")},
      {R"("\u00E9")", Json("\xC3\xA9")},
      {R"("\u07ff")", Json("\xDF\xBF")},
      {R"("\u0800")", Json("\xE0\xA0\x80")},
      {R"("\u20ac")", Json("\xE2\x82\xAC")},
      {R"("\u2028\u2029")", Json("\xE2\x80\xA8\xE2\x80\xA9")},
      {R"("\uffff")", Json("\xEF\xBF\xBF")},
      {R"("\u0000")", Json(std::string(1, '\0'))},
      {R"("a\u0000b")", Json(std::string("a\0b", 3))},
      // Surrogate pairs decode to one 4-byte UTF-8 sequence.
      {R"("\ud83d\ude00")", Json("\xF0\x9F\x98\x80")},
      {R"("\uD83D\uDE00")", Json("\xF0\x9F\x98\x80")},
      {R"("\ud800\udc00")", Json("\xF0\x90\x80\x80")},
      {R"("\udbff\udfff")", Json("\xF4\x8F\xBF\xBF")},
      {R"("x\ud83d\ude00y")", Json("x\xF0\x9F\x98\x80y")},
      // Escapes in keys, and escaped and plain strings after one another.
      {R"({"\n":"\t","k":"v"})", Obj({{"\n", "\t"}, {"k", "v"}})},
      {R"(["a\"b","plain","\\\\","c\\"])", Arr({"a\"b", "plain", "\\\\", "c\\"})},
      {R"("\"\\\/\b\f\n\r\t")", Json("\"\\/\b\f\n\r\t")},
  };
  for (const GoodCase& c : cases) {
    CAPTURE(c.input);
    CHECK(MustParse(c.input) == c.expected);
  }
}

TEST_CASE("copies valid UTF-8 unchanged") {
  const std::string_view samples[] = {
      "\xC2\x80",          "\xDF\xBF",          "\xE0\xA0\x80",      "\xED\x9F\xBF",
      "\xEE\x80\x80",      "\xEF\xBF\xBF",      "\xF0\x90\x80\x80",  "\xF4\x8F\xBF\xBF",
      "caf\xC3\xA9",       "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
      "\x7F",
  };
  for (std::string_view s : samples) {
    CAPTURE(s);
    CHECK(MustParse("\"" + std::string(s) + "\"") == Json(s));
    CHECK(MustParse("{\"" + std::string(s) + "\":1}").as_object().at(0).key == s);
  }
}

TEST_CASE("round-trips every code point through ToJson and ParseJson") {
  std::string all;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    AppendUtf8(cp, &all);
  }
  const std::string json = ToJson(Json(all));
  CHECK(MustParse(json) == Json(all));
  // Every code point also survives as an escape, with surrogate pairs above U+FFFF.
  std::string escaped = "\"";
  char buf[16];
  for (char32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x800 ? 1 : 97)) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    if (cp < 0x10000) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
    } else {
      const char32_t v = cp - 0x10000;
      std::snprintf(buf, sizeof buf, "\\u%04X\\u%04X", static_cast<unsigned>(0xD800 + (v >> 10)),
                    static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
    }
    escaped += buf;
  }
  escaped += "\"";
  std::string expected;
  for (char32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x800 ? 1 : 97)) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    AppendUtf8(cp, &expected);
  }
  CHECK(MustParse(escaped) == Json(expected));
}

TEST_CASE("round-trips strings with every escape") {
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  const std::string samples[] = {
      controls,
      "\"\\/\b\f\n\r\t",
      "\xE2\x80\xA8\xE2\x80\xA9",
      "quote\" backslash\\ end",
      std::string(3, '\\'),
      std::string("\0\0\0", 3),
      "mixed \x01 caf\xC3\xA9 \xF0\x9F\x98\x80 \x1F\x7F",
  };
  for (const std::string& s : samples) {
    CAPTURE(s);
    CHECK(MustParse(ToJson(Json(s))) == Json(s));
    Json obj = Json::Object();
    obj.Set(s, s);
    CHECK(MustParse(ToJson(obj)) == obj);
  }
}

TEST_CASE("accepts nesting up to kMaxJsonDepth and rejects deeper") {
  REQUIRE(kMaxJsonDepth == 512);
  CHECK(MustParse(NestedArrays(1)) == Json::Array());
  CHECK(MustParse(NestedArrays(2)) == Arr({Json::Array()}));
  CHECK(MustParse(NestedArrays(511)).is_array());
  CHECK(MustParse(NestedArrays(512)).is_array());
  CHECK(MustParse(NestedObjects(511)).is_object());
  CHECK(MustParse(NestedObjects(512)).is_object());
  for (int depth : {513, 514, 1024, 1025, 100000}) {
    CAPTURE(depth);
    auto arrays = ParseJson(NestedArrays(depth));
    REQUIRE_FALSE(arrays.has_value());
    CHECK(arrays.error().code() == ErrorCode::kInvalidArgument);
    auto objects = ParseJson(NestedObjects(depth));
    REQUIRE_FALSE(objects.has_value());
    CHECK(objects.error().code() == ErrorCode::kInvalidArgument);
  }
  // Mixed nesting counts arrays and objects alike.
  std::string mixed;
  for (int i = 0; i < 256; ++i) mixed += R"([{"a":)";
  mixed += "1";
  for (int i = 0; i < 256; ++i) mixed += "}]";
  CHECK(MustParse(mixed).is_array());
  CHECK_FALSE(ParseJson("[" + mixed + "]").has_value());
  // The depth-512 value serializes back to the same text.
  CHECK(ToJson(MustParse(NestedArrays(512))) == NestedArrays(512));
}

TEST_CASE("rejects unclosed deep nesting") {
  for (int depth : {1, 100, 511, 512, 513, 10000}) {
    CAPTURE(depth);
    CHECK_FALSE(ParseJson(std::string(static_cast<std::size_t>(depth), '[')).has_value());
    CHECK_FALSE(ParseJson(NestedArrays(depth).substr(1)).has_value());
    CHECK_FALSE(ParseJson(NestedArrays(depth) + "]").has_value());
  }
}

TEST_CASE("parses an array of 100000 elements") {
  std::string text = "[";
  for (int i = 0; i < 100000; ++i) {
    if (i != 0) text += ',';
    text += std::to_string(i);
  }
  text += ']';
  const Json v = MustParse(text);
  REQUIRE(v.is_array());
  REQUIRE(v.as_array().size() == 100000);
  for (std::size_t i = 0; i < v.as_array().size(); ++i) {
    if (v.as_array()[i].as_number() != static_cast<double>(i)) {
      FAIL("element " << i << " is " << v.as_array()[i].as_number());
    }
  }
  CHECK(ToJson(v) == text);

  std::string strings = "[";
  for (int i = 0; i < 100000; ++i) strings += i == 0 ? R"("s\n")" : R"(,"s\n")";
  strings += ']';
  const Json s = MustParse(strings);
  REQUIRE(s.as_array().size() == 100000);
  CHECK(s.as_array().back() == Json("s\n"));
}

TEST_CASE("parses an object of 100000 members") {
  std::string text = "{";
  for (int i = 0; i < 100000; ++i) {
    if (i != 0) text += ',';
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
  }
  text += '}';
  const Json v = MustParse(text);
  REQUIRE(v.as_object().size() == 100000);
  CHECK(v.as_object()[99999].key == "k99999");
  CHECK(v.Find("k12345")->as_number() == 12345.0);
  CHECK(ToJson(v) == text);
}

TEST_CASE("round-trips random doubles through ToJson and ParseJson") {
  std::mt19937_64 rng(20260101);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (int i = 0; i < 100000; ++i) {
    double d;
    switch (i % 3) {
      case 0: {
        const std::uint64_t bits = rng();
        std::memcpy(&d, &bits, sizeof d);
        if (!std::isfinite(d)) continue;
        break;
      }
      case 1: d = std::ldexp(unit(rng), static_cast<int>(rng() % 200) - 100); break;
      default: d = static_cast<double>(static_cast<std::int64_t>(rng()) >> (rng() % 64)); break;
    }
    const std::string text = ToJson(Json(d));
    auto back = ParseJson(text);
    if (!back.has_value() || !back->is_number() || back->as_number() != d) {
      FAIL("double " << d << " printed as " << text << " did not parse back");
    }
  }
}

TEST_CASE("prints values byte for byte as JSON.stringify does") {
  // Expectations from node: console.log(JSON.stringify(JSON.parse(input))).
  struct PrintCase {
    std::string_view input;
    std::string_view expected;
  };
  const PrintCase cases[] = {
      {" { \"a\" : [ 1 , \"x\" , null , true , { \"b\" : { } } ] , \"\" : [ ] } ",
       R"({"a":[1,"x",null,true,{"b":{}}],"":[]})"},
      {R"({"a":1,"b":2,"a":3,"c":{"x":1,"x":[2]}})", R"({"a":3,"b":2,"c":{"x":[2]}})"},
      {"[1e400,-1e400,1E2,-0,0.1e1,1e-7,12345678901234567890]",
       "[null,null,100,0,1,1e-7,12345678901234567000]"},
      {"[1e21,1e-7,123e-20,2.5,100,1e20,0.000001,1.5e-7,-1.5]",
       "[1e+21,1e-7,1.23e-18,2.5,100,100000000000000000000,0.000001,1.5e-7,-1.5]"},
      {R"(["\u0001\u001f","\/","\b\f\n\r\t","\"\\"])",
       R"(["\u0001\u001f","/","\b\f\n\r\t","\"\\"])"},
      {R"("\u00e9\ud83d\ude00\u007f")", "\"\xC3\xA9\xF0\x9F\x98\x80\x7F\""},
      {R"({"k\"":-0.5})", R"({"k\"":-0.5})"},
      {"[[],{},[[]],[{}]]", "[[],{},[[]],[{}]]"},
      {"true", "true"},
      {"null", "null"},
      {"\"\"", "\"\""},
  };
  for (const PrintCase& c : cases) {
    CAPTURE(c.input);
    CHECK(ToJson(MustParse(c.input)) == c.expected);
  }
}

TEST_CASE("parses valid text after an invalid one on the same thread") {
  CHECK_FALSE(ParseJson(R"({"a":"\u12"})").has_value());
  CHECK(MustParse(R"({"a":"ok"})") == Obj({{"a", "ok"}}));
  // A long escaped string, then a short one: the scratch buffer is reused.
  const std::string long_text(10000, 'x');
  CHECK(MustParse("\"\\n" + long_text + "\"") == Json("\n" + long_text));
  CHECK(MustParse(R"("\ty")") == Json("\ty"));
  CHECK_FALSE(ParseJson("[1,").has_value());
  CHECK(MustParse("[1]") == Arr({1}));
}

TEST_CASE("parses on several threads at once") {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 2000; ++i) {
        const std::string text = R"({"t":)" + std::to_string(t) + R"(,"i":)" + std::to_string(i) +
                                 R"(,"s":"a\nb"})";
        auto r = ParseJson(text);
        if (!r.has_value() || r->Find("t")->as_number() != t ||
            r->Find("i")->as_number() != i || *r->FindString("s") != "a\nb") {
          ++failures[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(failures == std::vector<int>(4, 0));
}

TEST_CASE("names each type as JavaScript would") {
  CHECK(agentcore::JsonTypeName(JsonType::kNull) == "null");
  CHECK(agentcore::JsonTypeName(JsonType::kBool) == "boolean");
  CHECK(agentcore::JsonTypeName(JsonType::kNumber) == "number");
  CHECK(agentcore::JsonTypeName(JsonType::kString) == "string");
  CHECK(agentcore::JsonTypeName(JsonType::kArray) == "array");
  CHECK(agentcore::JsonTypeName(JsonType::kObject) == "object");
}

TEST_CASE("constructs each type from C++ values") {
  CHECK(Json().is_null());
  CHECK(Json(nullptr).is_null());
  CHECK(Json(true).is_bool());
  CHECK(Json(false).as_bool() == false);
  CHECK(Json(1.5).as_number() == 1.5);
  CHECK(Json(7).as_number() == 7.0);
  CHECK(Json(-7L).as_number() == -7.0);
  CHECK(Json(std::uint64_t{1} << 53).as_number() == 9007199254740992.0);
  CHECK(Json(std::int64_t{-1}).as_number() == -1.0);
  CHECK(Json("c").as_string() == "c");
  CHECK(Json(std::string("s")).as_string() == "s");
  CHECK(Json("v"sv).as_string() == "v");
  CHECK(Json(std::string("a\0b", 3)).as_string().size() == 3);
  CHECK(Json::Array().is_array());
  CHECK(Json::Array().as_array().empty());
  CHECK(Json::Object().is_object());
  CHECK(Json::Object().as_object().empty());
  CHECK(Json(true).type() == JsonType::kBool);
  CHECK(Json(0).type() == JsonType::kNumber);
  CHECK(Json("").type() == JsonType::kString);
  // Each predicate is true for its own type only.
  const Json values[] = {Json(), Json(true), Json(1), Json("x"), Json::Array(), Json::Object()};
  for (std::size_t i = 0; i < std::size(values); ++i) {
    CAPTURE(i);
    CHECK(values[i].is_null() == (i == 0));
    CHECK(values[i].is_bool() == (i == 1));
    CHECK(values[i].is_number() == (i == 2));
    CHECK(values[i].is_string() == (i == 3));
    CHECK(values[i].is_array() == (i == 4));
    CHECK(values[i].is_object() == (i == 5));
  }
}

TEST_CASE("copies and moves values deeply") {
  Json original = Obj({{"a", Arr({1, "x"})}});
  Json copy = original;
  copy.Find("a")->as_array().push_back(2);
  CHECK(original == Obj({{"a", Arr({1, "x"})}}));
  CHECK(copy == Obj({{"a", Arr({1, "x", 2})}}));
  Json moved = std::move(copy);
  CHECK(moved == Obj({{"a", Arr({1, "x", 2})}}));
  Json assigned;
  assigned = original;
  CHECK(assigned == original);
  assigned = Json("replaced");
  CHECK(assigned == Json("replaced"));
}

TEST_CASE("finds members of objects only") {
  Json obj = Obj({{"a", 1}, {"s", "str"}, {"n", nullptr}});
  REQUIRE(obj.Find("a") != nullptr);
  CHECK(*obj.Find("a") == Json(1));
  CHECK(obj.Find("n") != nullptr);
  CHECK(obj.Find("n")->is_null());
  CHECK(obj.Find("missing") == nullptr);
  CHECK(obj.Find("") == nullptr);
  CHECK(obj.Find("A") == nullptr);
  REQUIRE(obj.FindString("s") != nullptr);
  CHECK(*obj.FindString("s") == "str");
  CHECK(obj.FindString("a") == nullptr);
  CHECK(obj.FindString("n") == nullptr);
  CHECK(obj.FindString("missing") == nullptr);
  // Not an object: nothing is found.
  CHECK(Json().Find("a") == nullptr);
  CHECK(Json("a").Find("a") == nullptr);
  CHECK(Arr({"a"}).Find("a") == nullptr);
  CHECK(Arr({"a"}).FindString("a") == nullptr);
  // The mutable overload returns a pointer into the object.
  *obj.Find("a") = Json(2);
  CHECK(obj == Obj({{"a", 2}, {"s", "str"}, {"n", nullptr}}));
  const Json& cobj = obj;
  CHECK(cobj.Find("s") == obj.Find("s"));
}

TEST_CASE("sets a member in place or appends it") {
  Json obj = Json::Object();
  obj.Set("b", 1);
  obj.Set("a", 2);
  CHECK(ToJson(obj) == R"({"b":1,"a":2})");
  obj.Set("b", "changed");  // keeps its position, like a property assignment
  CHECK(ToJson(obj) == R"({"b":"changed","a":2})");
  obj.Set("c", Arr({1}));
  CHECK(ToJson(obj) == R"({"b":"changed","a":2,"c":[1]})");
  obj.Set("", nullptr);
  CHECK(ToJson(obj) == R"({"b":"changed","a":2,"c":[1],"":null})");
  CHECK(obj.as_object().size() == 4);
}

TEST_CASE("erases a member and reports whether it was there") {
  Json obj = Obj({{"a", 1}, {"b", 2}, {"c", 3}});
  CHECK(obj.Erase("b"));
  CHECK(ToJson(obj) == R"({"a":1,"c":3})");
  CHECK_FALSE(obj.Erase("b"));
  CHECK_FALSE(obj.Erase("missing"));
  CHECK(obj.Erase("a"));
  CHECK(obj.Erase("c"));
  CHECK(obj == Json::Object());
  CHECK_FALSE(obj.Erase("a"));
  // Set after Erase appends at the end.
  obj = Obj({{"x", 1}, {"y", 2}});
  obj.Erase("x");
  obj.Set("x", 3);
  CHECK(ToJson(obj) == R"({"y":2,"x":3})");
}

TEST_CASE("compares values deeply, numbers as doubles and objects in order") {
  CHECK(Json() == Json(nullptr));
  CHECK(Json(1) == Json(1.0));
  CHECK(Json(0.0) == Json(-0.0));
  CHECK_FALSE(Json(1) == Json(2));
  CHECK_FALSE(Json(1) == Json(true));
  CHECK_FALSE(Json(0) == Json(false));
  CHECK_FALSE(Json() == Json(0));
  CHECK_FALSE(Json("1") == Json(1));
  CHECK_FALSE(Json("") == Json());
  CHECK_FALSE(Json::Array() == Json::Object());
  CHECK_FALSE(Json(std::nan("")) == Json(std::nan("")));
  CHECK(Arr({1, "a", nullptr}) == Arr({1, "a", nullptr}));
  CHECK_FALSE(Arr({1, 2}) == Arr({2, 1}));
  CHECK_FALSE(Arr({1}) == Arr({1, 1}));
  CHECK(Obj({{"a", 1}, {"b", 2}}) == Obj({{"a", 1}, {"b", 2}}));
  CHECK_FALSE(Obj({{"a", 1}, {"b", 2}}) == Obj({{"b", 2}, {"a", 1}}));  // order matters
  CHECK_FALSE(Obj({{"a", 1}}) == Obj({{"a", 2}}));
  CHECK_FALSE(Obj({{"a", 1}}) == Obj({{"b", 1}}));
  CHECK_FALSE(Obj({{"a", Arr({Obj({{"x", 1}})})}}) == Obj({{"a", Arr({Obj({{"x", 2}})})}}));
  CHECK(Obj({{"a", Arr({Obj({{"x", 1}})})}}) == Obj({{"a", Arr({Obj({{"x", 1}})})}}));
}

}  // TEST_SUITE("Json")

namespace agentcore {
namespace {

TEST_SUITE("Json") {
  TEST_CASE("assigns a value from a part of itself") {
    Json v = *ParseJson(R"([[1,{"k":"deep"}],2])");
    v = v.as_array()[0];
    CHECK(ToJson(v) == R"([1,{"k":"deep"}])");
    v = std::move(v.as_array()[1]);
    CHECK(ToJson(v) == R"({"k":"deep"})");
    v = *v.Find("k");
    CHECK(ToJson(v) == R"("deep")");
  }
}

}  // namespace
}  // namespace agentcore
