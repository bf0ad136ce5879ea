// SPDX-License-Identifier: Apache-2.0
#include <agentcore/tymbal/parser.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <agentcore/tymbal/writer.hpp>

namespace agentcore {
namespace {

// What ParseFrame made of a line: a kind, or nullopt for invalid.
std::optional<FrameKind> KindOf(std::string_view line) {
  Result<TymbalFrame> f = ParseFrame(line);
  if (!f.ok()) return std::nullopt;
  return f->kind;
}

struct RuleCase {
  const char* line;
  std::optional<FrameKind> kind;  // nullopt: Cast's parseFrame returns null
  const char* rule;
};

// One row per rule of spec §2.3 (and its odd cases), in rule order.
const RuleCase kRuleCases[] = {
    // 1. JSON errors
    {"", std::nullopt, "1: empty line"},
    {"{", std::nullopt, "1: unclosed object"},
    {"{\"i\":\"a\",}", std::nullopt, "1: trailing comma"},
    {"{'i':'a'}", std::nullopt, "1: single quotes"},
    {"{\"i\":\"a\"} {\"i\":\"b\"}", std::nullopt, "1: two values"},
    {"\xEF\xBB\xBF{\"i\":\"a\"}", std::nullopt, "1: byte order mark"},
    {"{\"i\":\"a\"} // c", std::nullopt, "1: comment"},
    {"  {\"i\":\"a\"}  \r", FrameKind::kStart, "1: surrounding whitespace is fine"},
    // 2. not an object
    {"null", std::nullopt, "2: null"},
    {"[{\"i\":\"a\"}]", std::nullopt, "2: array"},
    {"\"i\"", std::nullopt, "2: string"},
    {"42", std::nullopt, "2: number"},
    {"true", std::nullopt, "2: boolean"},
    // 3. sync request wins over everything
    {"{\"request\":\"sync\"}", FrameKind::kSyncRequest, "3: sync request"},
    {"{\"request\":\"sync\",\"i\":\"x\",\"a\":5,\"error\":1}", FrameKind::kSyncRequest,
     "3: sync request with other keys"},
    {"{\"request\":\"SYNC\",\"i\":\"x\"}", FrameKind::kStart, "3: other request falls through"},
    {"{\"request\":1}", std::nullopt, "3: non-string request falls through to rule 7"},
    // 4. sync response
    {"{\"sync\":\"2026-01-04T10:00:00.000Z\"}", FrameKind::kSyncResponse, "4: sync response"},
    {"{\"sync\":\"\",\"hasMore\":true,\"oldestId\":\"01J\"}", FrameKind::kSyncResponse,
     "4: empty sync string"},
    {"{\"sync\":5,\"i\":\"x\"}", FrameKind::kStart, "4: non-string sync falls through"},
    // 5. error, any value
    {"{\"error\":\"forbidden\",\"message\":\"no\"}", FrameKind::kError, "5: error string"},
    {"{\"error\":null}", FrameKind::kError, "5: error null"},
    {"{\"error\":{\"code\":1},\"i\":\"x\",\"a\":\"y\"}", FrameKind::kError, "5: error object"},
    // 6. artifact
    {"{\"artifact\":{\"action\":\"create\",\"channelId\":\"c\",\"payload\":{}}}",
     FrameKind::kArtifact, "6: artifact"},
    {"{\"artifact\":{\"action\":\"create\",\"channelId\":\"c\",\"payload\":[]}}",
     FrameKind::kArtifact, "6: array payload accepted"},
    {"{\"artifact\":{\"action\":\"create\",\"channelId\":\"c\",\"payload\":null}}", std::nullopt,
     "6: null payload"},
    {"{\"artifact\":{\"action\":\"create\",\"channelId\":\"c\",\"payload\":\"p\"}}", std::nullopt,
     "6: string payload"},
    {"{\"artifact\":{\"action\":1,\"channelId\":\"c\",\"payload\":{}}}", std::nullopt,
     "6: non-string action"},
    {"{\"artifact\":{\"action\":\"a\",\"payload\":{}}}", std::nullopt, "6: missing channelId"},
    {"{\"artifact\":[],\"i\":\"x\"}", std::nullopt, "6: array artifact is an incomplete object"},
    {"{\"artifact\":\"s\",\"i\":\"x\"}", FrameKind::kStart, "6: string artifact falls through"},
    {"{\"artifact\":null,\"i\":\"x\"}", FrameKind::kStart, "6: null artifact falls through"},
    // 7. message frames need a string i
    {"{}", std::nullopt, "7: no i"},
    {"{\"i\":1}", std::nullopt, "7: numeric i"},
    {"{\"i\":null}", std::nullopt, "7: null i"},
    {"{\"i\":\"\"}", FrameKind::kStart, "7: empty i accepted"},
    // 8. a and v together
    {"{\"i\":\"x\",\"a\":\"t\",\"v\":null}", std::nullopt, "8: a and v"},
    // 9. append
    {"{\"i\":\"x\",\"a\":\"\"}", FrameKind::kAppend, "9: empty delta"},
    {"{\"i\":\"x\",\"a\":\"t\",\"m\":5}", FrameKind::kAppend, "9: m not validated"},
    {"{\"i\":\"x\",\"a\":5}", std::nullopt, "9: numeric a"},
    {"{\"i\":\"x\",\"a\":null}", std::nullopt, "9: null a"},
    // 10. set and reset
    {"{\"i\":\"x\",\"v\":null}", FrameKind::kReset, "10: reset"},
    {"{\"i\":\"x\",\"v\":null,\"t\":5}", FrameKind::kReset, "10: reset ignores t"},
    {"{\"i\":\"x\",\"t\":\"2026\",\"v\":{}}", FrameKind::kSet, "10: set"},
    {"{\"i\":\"x\",\"t\":\"\",\"v\":{\"m\":1},\"m\":\"no\"}", FrameKind::kSet,
     "10: set, m not validated"},
    {"{\"i\":\"x\",\"v\":{}}", std::nullopt, "10: set without t"},
    {"{\"i\":\"x\",\"t\":1,\"v\":{}}", std::nullopt, "10: set with numeric t"},
    {"{\"i\":\"x\",\"t\":\"t\",\"v\":[]}", std::nullopt, "10: array v"},
    {"{\"i\":\"x\",\"t\":\"t\",\"v\":\"s\"}", std::nullopt, "10: string v"},
    {"{\"i\":\"x\",\"t\":\"t\",\"v\":1}", std::nullopt, "10: number v"},
    {"{\"i\":\"x\",\"t\":\"t\",\"v\":true}", std::nullopt, "10: boolean v"},
    // 11. start with metadata
    {"{\"i\":\"x\",\"m\":{\"type\":\"agent\"}}", FrameKind::kStart, "11: start with metadata"},
    {"{\"i\":\"x\",\"m\":[1,2]}", FrameKind::kStart, "11: array metadata accepted"},
    {"{\"i\":\"x\",\"m\":null}", std::nullopt, "11: null metadata"},
    {"{\"i\":\"x\",\"m\":\"s\"}", std::nullopt, "11: string metadata"},
    {"{\"i\":\"x\",\"m\":{\"content\":\"\"}}", std::nullopt, "11: metadata with content"},
    {"{\"i\":\"x\",\"m\":{\"a\":{\"content\":1}}}", FrameKind::kStart,
     "11: nested content is fine"},
    // 12. bare start, unknown keys kept
    {"{\"i\":\"x\",\"zzz\":[1,{\"q\":null}]}", FrameKind::kStart, "12: bare start"},
    // Keys may be escaped: "\u0069" is "i".
    {"{\"\\u0069\":\"x\",\"\\u0061\":\"y\"}", FrameKind::kAppend, "escaped keys"},
    // Duplicate keys: the last value wins.
    {"{\"i\":5,\"i\":\"x\"}", FrameKind::kStart, "duplicate i, last wins"},
    {"{\"i\":\"x\",\"i\":5}", std::nullopt, "duplicate i, last is not a string"},
    {"{\"a\":\"t\",\"i\":\"x\",\"a\":1}", std::nullopt, "duplicate a, last is a number"},
    {"{\"i\":\"x\",\"t\":\"t\",\"t\":{}}", FrameKind::kStart, "duplicate t, last is an object"},
};

TEST_SUITE("ParseFrame") {
  TEST_CASE("classifies every rule of spec 2.3 in order") {
    for (const RuleCase& c : kRuleCases) {
      CAPTURE(c.rule);
      CAPTURE(c.line);
      std::optional<FrameKind> kind = KindOf(c.line);
      CHECK(kind.has_value() == c.kind.has_value());
      if (kind && c.kind) CHECK(FrameKindName(*kind) == FrameKindName(*c.kind));
    }
  }

  TEST_CASE("fills the fields of an append frame") {
    Result<TymbalFrame> f = ParseFrame(R"({"i":"01J001","a":"Hel\"lo\n"})");
    REQUIRE(f.ok());
    CHECK(f->kind == FrameKind::kAppend);
    CHECK(f->id == "01J001");
    CHECK(f->text == "Hel\"lo\n");
    CHECK(f->value.is_null());
    CHECK(f->extra.empty());
  }

  TEST_CASE("fills the fields of a set frame and keeps unknown keys in order") {
    Result<TymbalFrame> f =
        ParseFrame(R"({"z":1,"i":"id","t":"2026-01-04T10:00:00.000Z","v":{"type":"agent","content":"hi"},"c":"ch"})");
    REQUIRE(f.ok());
    CHECK(f->kind == FrameKind::kSet);
    CHECK(f->timestamp == "2026-01-04T10:00:00.000Z");
    REQUIRE(f->value.is_object());
    CHECK(*f->value.FindString("content") == "hi");
    REQUIRE(f->extra.size() == 2);
    CHECK(f->extra[0].key == "z");
    CHECK(f->extra[1].key == "c");
    CHECK(f->FindExtra("c")->as_string() == "ch");
  }

  TEST_CASE("keeps only the last value of a duplicated key") {
    Result<TymbalFrame> f = ParseFrame(R"({"i":"x","t":"first","t":{"n":1}})");
    REQUIRE(f.ok());
    CHECK(f->kind == FrameKind::kStart);
    CHECK(f->timestamp.empty());
    CHECK(ToJson(*f->FindExtra("t")) == R"({"n":1})");
  }

  TEST_CASE("keeps the metadata of a start frame and nothing else") {
    Result<TymbalFrame> f = ParseFrame(R"({"i":"id","m":{"type":"thinking","sender":"fox"}})");
    REQUIRE(f.ok());
    CHECK(f->kind == FrameKind::kStart);
    CHECK(*f->value.FindString("sender") == "fox");
    CHECK(f->text.empty());
    CHECK(f->timestamp.empty());
  }

  TEST_CASE("keeps every other key of a sync request in extra") {
    Result<TymbalFrame> f =
        ParseFrame(R"({"request":"sync","channelId":"c1","since":"01A","limit":50,"i":"x"})");
    REQUIRE(f.ok());
    CHECK(f->kind == FrameKind::kSyncRequest);
    CHECK(f->id.empty());
    CHECK(f->FindExtra("channelId")->as_string() == "c1");
    CHECK(f->FindExtra("limit")->as_number() == 50);
    CHECK(f->FindExtra("i")->as_string() == "x");
    CHECK(f->FindExtra("request") == nullptr);
  }

  TEST_CASE("puts the sync timestamp of a sync response in timestamp") {
    Result<TymbalFrame> f = ParseFrame(R"({"t":"other","sync":"2026-01-01T00:00:00.000Z"})");
    REQUIRE(f.ok());
    CHECK(f->kind == FrameKind::kSyncResponse);
    CHECK(f->timestamp == "2026-01-01T00:00:00.000Z");
    CHECK(f->FindExtra("t")->as_string() == "other");
  }

  TEST_CASE("unescapes every escape form, surrogate pairs included") {
    Result<TymbalFrame> f = ParseFrame(
        R"({"i":"x","a":"\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20ac \ud83d\ude00 \u0000"})");
    REQUIRE(f.ok());
    CHECK(f->text == std::string("\" \\ / \b \f \n \r \t A \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 ") +
                         std::string(1, '\0'));
  }

  TEST_CASE("rejects bad escapes, lone surrogates and raw control characters") {
    std::string nul_inside = "{\"i\":\"x\",\"a\":\"nul";
    nul_inside += '\0';
    nul_inside += "here\"}";
    const std::string bad[] = {
        R"({"i":"x","a":"\x"})",       R"({"i":"x","a":"\u12"})",
        R"({"i":"x","a":"\ud800"})",   R"({"i":"x","a":"\udc00"})",
        R"({"i":"x","a":"\ud800\u0041"})", "{\"i\":\"x\",\"a\":\"tab\there\"}",
        "{\"i\":\"x\",\"a\":\"nl\nhere\"}", nul_inside,
    };
    for (const std::string& line : bad) {
      CAPTURE(line);
      CHECK_FALSE(ParseFrame(line).ok());
    }
  }

  TEST_CASE("rejects invalid UTF-8 anywhere in the line") {
    const std::string bad[] = {
        "{\"i\":\"x\",\"a\":\"\xFF\"}",          "{\"i\":\"x\",\"a\":\"\xC3\"}",
        "{\"i\":\"x\",\"a\":\"\xC0\xAF\"}",      "{\"i\":\"x\",\"a\":\"\xED\xA0\x80\"}",
        "{\"i\":\"x\",\"a\":\"\xF4\x90\x80\x80\"}", "{\"i\":\"\xE2\x82\",\"a\":\"y\"}",
        "{\"i\":\"x\",\"\xFE\":1}",
    };
    for (const std::string& line : bad) {
      Result<TymbalFrame> f = ParseFrame(line);
      CHECK_FALSE(f.ok());
      if (!f.ok()) CHECK(f.status().code() == ErrorCode::kInvalidArgument);
    }
    CHECK(ParseFrame("{\"i\":\"x\",\"a\":\"\xE2\x82\xAC \xF0\x9F\x98\x80\"}").ok());
  }

  TEST_CASE("reports why a frame is invalid") {
    CHECK(ParseFrame(R"({"i":"x","a":5})").status().message() ==
          "append frame: \"a\" must be a string");
    CHECK(ParseFrame(R"({"i":"x","v":{}})").status().message() == "set frame needs a string \"t\"");
    CHECK(ParseFrame(R"([1])").status().message() == "frame is not a JSON object");
    CHECK(ParseFrame(R"({"i":)").status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("accepts values nested to the depth limit and rejects deeper ones") {
    auto nested = [](int depth) {
      std::string v(static_cast<std::size_t>(depth), '[');
      v += std::string(static_cast<std::size_t>(depth), ']');
      return R"({"i":"x","t":"t","v":{"deep":)" + v + "}}";
    };
    CHECK(ParseFrame(nested(kMaxJsonDepth - 3)).ok());
    CHECK_FALSE(ParseFrame(nested(kMaxJsonDepth + 10)).ok());
    CHECK_FALSE(ParseFrame(nested(100000)).ok());
  }

  TEST_CASE("parses a 10 MB single line") {
    std::string text(10u << 20, 'x');
    for (std::size_t i = 0; i < text.size(); i += 1000) text[i] = '\n';  // escaped below
    std::string line = R"({"i":"big","t":"t","v":{"content":")";
    for (char c : text) line += c == '\n' ? std::string("\\n") : std::string(1, c);
    line += "\"}}";
    Result<TymbalFrame> f = ParseFrame(line);
    REQUIRE(f.ok());
    CHECK(f->value.FindString("content")->size() == text.size());
    CHECK(*f->value.FindString("content") == text);
  }
}

TEST_SUITE("IsBlankLine") {
  TEST_CASE("treats JavaScript trim whitespace as blank") {
    CHECK(IsBlankLine(""));
    CHECK(IsBlankLine(" \t\r\v\f"));
    CHECK(IsBlankLine("\xC2\xA0"));          // U+00A0
    CHECK(IsBlankLine("\xE2\x80\xA8\xE2\x80\xA9"));  // U+2028, U+2029
    CHECK(IsBlankLine("\xE3\x80\x80"));      // U+3000
    CHECK(IsBlankLine("\xEF\xBB\xBF"));      // BOM
    CHECK(IsBlankLine("\xE2\x80\x80\xE2\x80\x8A"));  // U+2000, U+200A
    CHECK_FALSE(IsBlankLine("\xE2\x80\x8B"));  // U+200B zero width space is not trimmed
    CHECK_FALSE(IsBlankLine(" x "));
    CHECK_FALSE(IsBlankLine("\xFF"));
    CHECK_FALSE(IsBlankLine("\xC2"));
  }
}

// Collects what a FrameParser reports, as text, so runs can be compared.
class RecordingSink final : public FrameSink {
 public:
  void OnFrame(const TymbalFrame& frame, std::uint64_t line) override {
    events.push_back(std::to_string(line) + " " + SerializeFrame(frame));
  }
  void OnInvalidLine(std::uint64_t line, std::string_view reason) override {
    events.push_back(std::to_string(line) + " invalid: " + std::string(reason));
  }
  std::vector<std::string> events;
};

std::vector<std::string> ParseInChunks(std::string_view data, std::size_t chunk,
                                       FrameParserOptions options = {}) {
  FrameParser parser(options);
  RecordingSink sink;
  for (std::size_t off = 0; off < data.size(); off += chunk) {
    parser.Feed(data.substr(off, chunk), sink);
  }
  parser.Finish(sink);
  return sink.events;
}

// What the spec says the stream is: each line parsed on its own.
std::vector<std::string> ParseLineByLine(std::string_view data) {
  std::vector<std::string> out;
  std::uint64_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= data.size()) {
    std::size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) nl = data.size();
    std::string_view line = data.substr(pos, nl - pos);
    if (nl == data.size() && line.empty()) break;
    ++line_no;
    if (!IsBlankLine(line)) {
      Result<TymbalFrame> f = ParseFrame(line);
      out.push_back(std::to_string(line_no) + (f.ok() ? " " + SerializeFrame(*f)
                                                       : " invalid: " + f.status().message()));
    }
    pos = nl + 1;
  }
  return out;
}

const char kSample[] =
    "{\"i\":\"01A\",\"m\":{\"type\":\"agent\",\"sender\":\"fox\"}}\n"
    "{\"i\":\"01A\",\"a\":\"Hel\"}\r\n"
    "\n"
    "{\"i\":\"01A\",\"a\":\"lo \\u00e9\\ud83d\\ude00\"}\n"
    "not json\n"
    "   \t\n"
    "{\"i\":\"01B\",\"a\":5}\n"
    "{\"i\":\"01A\",\"t\":\"2026-01-04T10:00:00.000Z\",\"v\":{\"type\":\"agent\",\"content\":\"Hello\"}}\n"
    "{\"sync\":\"2026-01-04T10:00:00.000Z\"}\n"
    "{\"i\":\"01C\",\"a\":\"x\"} {\"i\":\"01D\",\"a\":\"y\"}\n"
    "\xC2\xA0\n"
    "{\"i\":\"01A\",\"v\":null}";

TEST_SUITE("FrameParser") {
  TEST_CASE("reports frames and invalid lines with their line numbers") {
    std::vector<std::string> events = ParseInChunks(kSample, 1 << 20);
    const std::vector<std::string> expected = {
        "1 {\"i\":\"01A\",\"m\":{\"type\":\"agent\",\"sender\":\"fox\"}}",
        "2 {\"i\":\"01A\",\"a\":\"Hel\"}",
        "4 {\"i\":\"01A\",\"a\":\"lo \xC3\xA9\xF0\x9F\x98\x80\"}",
        "5 invalid: invalid literal",
        "7 invalid: append frame: \"a\" must be a string",
        "8 {\"i\":\"01A\",\"t\":\"2026-01-04T10:00:00.000Z\",\"v\":{\"type\":\"agent\",\"content\":\"Hello\"}}",
        "9 {\"sync\":\"2026-01-04T10:00:00.000Z\"}",
        "10 invalid: unexpected content after the JSON value",
        "12 {\"i\":\"01A\",\"v\":null}",
    };
    CHECK(events == expected);
  }

  TEST_CASE("gives the same result for a chunk boundary at every byte offset") {
    const std::vector<std::string> whole = ParseInChunks(kSample, 1 << 20);
    const std::string_view data(kSample);
    for (std::size_t cut = 0; cut <= data.size(); ++cut) {
      FrameParser parser;
      RecordingSink sink;
      parser.Feed(data.substr(0, cut), sink);
      parser.Feed(data.substr(cut), sink);
      parser.Finish(sink);
      CAPTURE(cut);
      CHECK(sink.events == whole);
    }
    for (std::size_t chunk = 1; chunk <= 17; ++chunk) {
      CAPTURE(chunk);
      CHECK(ParseInChunks(data, chunk) == whole);
    }
  }

  TEST_CASE("agrees with line-by-line parsing on a large mixed stream") {
    // Thousands of lines, valid and invalid, so the batch path and its fallback both run.
    std::mt19937 rng(7);
    const char* shapes[] = {
        "{\"i\":\"01H%d\",\"a\":\"delta %d\"}",
        "{\"i\":\"01H%d\",\"a\":\"esc\\n\\\"%d\\u00e9\"}",
        "{\"i\":\"01H%d\",\"m\":{\"type\":\"agent\",\"n\":%d}}",
        "{\"i\":\"01H%d\",\"t\":\"2026-01-01T00:00:00.000Z\",\"v\":{\"type\":\"agent\",\"n\":%d}}",
        "{\"i\":\"01H%d\",\"v\":null,\"t\":%d}",
        "{\"i\":\"01H%d\",\"a\":%d}",
        "{\"i\":\"01H%d\",\"a\":\"x\"} {\"n\":%d}",
        "{\"i\":\"01H%d\",\n\"a\":\"%d\"}",
        "%d %d",
        "{\"i\":\"01H%d\",\"a\":\"tab\there %d\"}",
        "{\"i\":\"01H%d\",\"a\":\"bad \xFF utf8 %d\"}",
        "  {\"i\":\"01H%d\",\"a\":\"lead %d\"}  ",
        "",
        "{\"request\":\"sync\",\"since\":\"01H%d\",\"limit\":%d}",
        "{\"i\":\"01H%d\",\"a\":\"unterminated %d}",
    };
    std::string data;
    char buf[256];
    for (int i = 0; i < 20000; ++i) {
      const std::size_t shape = rng() % 100 < 85 ? rng() % 5 : rng() % std::size(shapes);
      std::snprintf(buf, sizeof buf, shapes[shape], i, i);
      data += buf;
      data += rng() % 10 == 0 ? "\r\n" : "\n";
    }
    const std::vector<std::string> expected = ParseLineByLine(data);
    CHECK(ParseInChunks(data, 1 << 20) == expected);
    CHECK(ParseInChunks(data, 4096) == expected);
    CHECK(ParseInChunks(data, 333) == expected);
  }

  TEST_CASE("reports a line over max_line_bytes and goes on without buffering it") {
    FrameParserOptions options;
    options.max_line_bytes = 100;
    std::string data = "{\"i\":\"a\",\"a\":\"ok\"}\n{\"i\":\"b\",\"a\":\"" + std::string(5000, 'x') +
                       "\"}\n{\"i\":\"c\",\"a\":\"ok\"}\n";
    const std::vector<std::string> expected = {
        "1 {\"i\":\"a\",\"a\":\"ok\"}",
        "2 invalid: line longer than 100 bytes",
        "3 {\"i\":\"c\",\"a\":\"ok\"}",
    };
    CHECK(ParseInChunks(data, 1 << 20, options) == expected);
    CHECK(ParseInChunks(data, 64, options) == expected);
    CHECK(ParseInChunks(data, 7, options) == expected);
  }

  TEST_CASE("handles empty input, blank input and a last line without newline") {
    CHECK(ParseInChunks("", 16).empty());
    CHECK(ParseInChunks("\n\n \r\n", 16).empty());
    CHECK(ParseInChunks("{\"i\":\"x\"}", 3) == std::vector<std::string>{"1 {\"i\":\"x\"}"});
  }

  TEST_CASE("parses escaped append lines at the very start of a thread's first stream") {
    // Regression: the fast path unescapes before any general parse has set simdjson up. A
    // fresh thread has a fresh per-thread parser.
    std::vector<std::string> events;
    std::thread t([&] {
      events = ParseInChunks("{\"i\":\"a\",\"a\":\"x\\ny\"}\n", 1 << 20);
    });
    t.join();
    CHECK(events == std::vector<std::string>{"1 {\"i\":\"a\",\"a\":\"x\\ny\"}"});
  }

  TEST_CASE("restarts line numbers after Finish") {
    FrameParser parser;
    RecordingSink sink;
    parser.Feed("{\"i\":\"a\"}\n{\"i\":\"b\"}\n", sink);
    CHECK(parser.lines() == 2);
    parser.Finish(sink);
    parser.Feed("{\"i\":\"c\"}\n", sink);
    parser.Finish(sink);
    CHECK(sink.events.back() == "1 {\"i\":\"c\"}");
  }

  TEST_CASE("parses a 10 MB line split across many chunks") {
    std::string data = "{\"i\":\"a\",\"a\":\"" + std::string(10u << 20, 'y') + "\"}\n{\"i\":\"b\"}\n";
    FrameParser parser;
    struct Sink final : FrameSink {
      void OnFrame(const TymbalFrame& f, std::uint64_t) override { sizes.push_back(f.text.size()); }
      void OnInvalidLine(std::uint64_t, std::string_view) override { ++invalid; }
      std::vector<std::size_t> sizes;
      int invalid = 0;
    } sink;
    for (std::size_t off = 0; off < data.size(); off += 65536) {
      parser.Feed(std::string_view(data).substr(off, 65536), sink);
    }
    parser.Finish(sink);
    CHECK(sink.invalid == 0);
    CHECK(sink.sizes == std::vector<std::size_t>{10u << 20, 0});
  }
}

}  // namespace
}  // namespace agentcore
