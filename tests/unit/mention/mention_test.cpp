// SPDX-License-Identifier: Apache-2.0
#include <agentcore/mention/mention.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

namespace agentcore {
namespace {

using Names = std::vector<std::string>;

Names MentionsOf(std::string_view content) { return ParseMentions(content).mentions; }

Names ToNames(const MentionsView& view) {
  return Names(view.mentions.begin(), view.mentions.end());
}

// A deterministic generator (xorshift64*), identical on every platform and standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 2685821657736338717ull;
  }
  std::size_t Below(std::size_t n) { return static_cast<std::size_t>(Next() % n); }

 private:
  std::uint64_t state_;
};

// Random content built from pieces that hit the scanner's edges: '@' runs, class bytes of both
// cases, class boundaries, whitespace of all kinds, NUL, invalid UTF-8, "channel" variants.
std::string RandomContent(Rng& rng, bool valid_utf8_only) {
  static const std::vector<std::string> kPieces = {"@",
                                                   "@",
                                                   "@@",
                                                   "a",
                                                   "B",
                                                   "z",
                                                   "Q",
                                                   "0",
                                                   "9",
                                                   "_",
                                                   "-",
                                                   ".",
                                                   ",",
                                                   "'",
                                                   "/",
                                                   ":",
                                                   " ",
                                                   "  ",
                                                   "\t",
                                                   "\n",
                                                   "\r",
                                                   "\v",
                                                   "\f",
                                                   "\u00a0",
                                                   "\u2003",
                                                   "\u2028",
                                                   "\u3000",
                                                   "\ufeff",
                                                   "\u200b",
                                                   "é",
                                                   "日本",
                                                   "🚀",
                                                   std::string("\0", 1),
                                                   "channel",
                                                   "Channel",
                                                   "CHANNEL",
                                                   "channels",
                                                   "fox",
                                                   "FOX",
                                                   "Fox",
                                                   "bob@example.com",
                                                   "x@channel",
                                                   "@ fox",
                                                   "owl-2",
                                                   "qa_bot",
                                                   "`@code`"};
  static const std::vector<std::string> kInvalid = {"\xff", "\xc3", "\x80", "\xe2\x80",
                                                    "\xed\xa0\x80"};
  std::string out;
  const std::size_t n = rng.Below(30);
  for (std::size_t i = 0; i < n; ++i) {
    if (!valid_utf8_only && rng.Below(10) == 0) {
      out += kInvalid[rng.Below(kInvalid.size())];
    } else {
      out += kPieces[rng.Below(kPieces.size())];
    }
  }
  return out;
}

// An independent oracle for spec cast §3.1: the regex Cast uses (ECMAScript grammar, as in
// JavaScript), then the lower-casing, "channel" and de-duplication rules written plainly.
ParsedMentions RegexParse(const std::string& content) {
  static const std::regex kMention("@([a-zA-Z0-9_-]+)");
  ParsedMentions parsed;
  for (auto it = std::sregex_iterator(content.begin(), content.end(), kMention);
       it != std::sregex_iterator(); ++it) {
    std::string name = (*it)[1].str();
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (name == "channel") {
      parsed.is_channel_mention = true;
    } else if (std::find(parsed.mentions.begin(), parsed.mentions.end(), name) ==
               parsed.mentions.end()) {
      parsed.mentions.push_back(name);
    }
  }
  return parsed;
}

std::string Utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// JavaScript's \s (ECMAScript WhiteSpace and LineTerminator), as code points.
std::vector<char32_t> JsWhitespace() {
  std::vector<char32_t> ws = {0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0xA0,
                              0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF};
  for (char32_t cp = 0x2000; cp <= 0x200A; ++cp) ws.push_back(cp);
  return ws;
}

// An oracle for StripMentions: regex removal, then whitespace collapsing and trimming over the
// encoded whitespace strings.
std::string OracleStrip(const std::string& content) {
  static const std::regex kMention("@[a-zA-Z0-9_-]+");
  const std::string removed = std::regex_replace(content, kMention, "");
  std::vector<std::string> ws;
  for (char32_t cp : JsWhitespace()) ws.push_back(Utf8(cp));
  std::string collapsed;
  bool in_run = false;
  for (std::size_t i = 0; i < removed.size();) {
    std::size_t len = 0;
    for (const std::string& w : ws) {
      if (removed.compare(i, w.size(), w) == 0) len = w.size();
    }
    if (len != 0) {
      if (!in_run) collapsed += ' ';
      in_run = true;
      i += len;
    } else {
      collapsed += removed[i];
      in_run = false;
      ++i;
    }
  }
  const std::size_t first = collapsed.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  const std::size_t last = collapsed.find_last_not_of(' ');
  return collapsed.substr(first, last - first + 1);
}

}  // namespace

TEST_SUITE("ParseMentions") {
  TEST_CASE("finds a name made of ASCII letters, digits, underscore and hyphen") {
    CHECK(MentionsOf("hi @a-b_C9 there") == Names{"a-b_c9"});
  }

  TEST_CASE("ends a name at the first byte outside the class") {
    for (const char* content : {"@fox.", "@fox,", "@fox'", "@fox x", "@fox!", "@fox/x",
                                "@fox:", "@fox)", "@fox\n", "@fox\t", "@fox`", "@fox+1"}) {
      CAPTURE(content);
      CHECK(MentionsOf(content) == Names{"fox"});
    }
  }

  TEST_CASE("lower-cases names") {
    CHECK(MentionsOf("@FOX @Owl-2 @QA_Bot") == Names{"fox", "owl-2", "qa_bot"});
  }

  TEST_CASE("reports @channel as a flag and not as a mention") {
    const ParsedMentions parsed = ParseMentions("@channel please ack");
    CHECK(parsed.mentions.empty());
    CHECK(parsed.is_channel_mention);
  }

  TEST_CASE("treats @Channel and @CHANNEL as @channel") {
    CHECK(ParseMentions("ack @Channel").is_channel_mention);
    CHECK(ParseMentions("ack @CHANNEL").is_channel_mention);
    CHECK(ParseMentions("ack @cHaNnEl").mentions.empty());
  }

  TEST_CASE("treats channels, ch-annel and channel_ as ordinary names") {
    const ParsedMentions parsed = ParseMentions("@channels @ch-annel @channel_ @chan nel");
    CHECK(parsed.mentions == Names{"channels", "ch-annel", "channel_", "chan"});
    CHECK_FALSE(parsed.is_channel_mention);
  }

  TEST_CASE("still lists the other mentions of a message with @channel") {
    const ParsedMentions parsed = ParseMentions("@fox @channel @CHANNEL@bear");
    CHECK(parsed.mentions == Names{"fox", "bear"});
    CHECK(parsed.is_channel_mention);
  }

  TEST_CASE("de-duplicates names in first-seen order") {
    CHECK(MentionsOf("@b @a @b @c @a") == Names{"b", "a", "c"});
  }

  TEST_CASE("de-duplicates names that differ only in letter case") {
    CHECK(MentionsOf("@Fox @fox @FOX @bear @BEAR") == Names{"fox", "bear"});
  }

  TEST_CASE("mentions the domain label of an e-mail address") {
    CHECK(MentionsOf("write bob@example.com") == Names{"example"});
    CHECK(MentionsOf("foo@fox.com") == Names{"fox"});
    CHECK(MentionsOf("ops-team@corp.example.org.") == Names{"corp"});
  }

  TEST_CASE("treats x@channel as a channel broadcast") {
    CHECK(ParseMentions("x@channel").is_channel_mention);
  }

  TEST_CASE("skips a bare @ before a name") {
    CHECK(MentionsOf("@@fox") == Names{"fox"});
    CHECK(MentionsOf("@@@@fox@@") == Names{"fox"});
  }

  TEST_CASE("splits names glued by @") { CHECK(MentionsOf("@fox@bear") == Names{"fox", "bear"}); }

  TEST_CASE("counts mentions inside code spans and code blocks") {
    CHECK(MentionsOf("see `@fox`\n```java\n@Override\nlog(\"@owl\");\n```") ==
          Names{"fox", "override", "owl"});
  }

  TEST_CASE("finds names of hyphens or underscores only") {
    CHECK(MentionsOf("@-- @__ @-") == Names{"--", "__", "-"});
  }

  TEST_CASE("returns nothing for an empty string") {
    const ParsedMentions parsed = ParseMentions("");
    CHECK(parsed.mentions.empty());
    CHECK_FALSE(parsed.is_channel_mention);
  }

  TEST_CASE("returns nothing for a lone @, an @ at the end or an @ before a space") {
    CHECK(MentionsOf("@").empty());
    CHECK(MentionsOf("hello @").empty());
    CHECK(MentionsOf("@ fox").empty());
    CHECK(MentionsOf("fox @\n").empty());
  }

  TEST_CASE("returns nothing for a string of @ only") {
    CHECK(MentionsOf("@@@@").empty());
    CHECK(MentionsOf(std::string(100000, '@')).empty());
  }

  TEST_CASE("returns nothing when the first byte after @ is not ASCII") {
    CHECK(MentionsOf("@ünïcode").empty());
    CHECK(MentionsOf("@日本 @éa").empty());
    CHECK(MentionsOf("@🚀fox").empty());
  }

  TEST_CASE("ends a name at the first non-ASCII byte") {
    CHECK(MentionsOf("@café") == Names{"caf"});
    CHECK(MentionsOf("@fox🚀 @owl—hi") == Names{"fox", "owl"});
    CHECK(MentionsOf("日本@fox語") == Names{"fox"});
  }

  TEST_CASE("classifies every byte after @ exactly like the ASCII class") {
    for (int b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      const bool in_class = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '_' || c == '-';
      std::string content = "@";
      content += c;
      CAPTURE(b);
      const Names names = MentionsOf(content);
      if (in_class) {
        std::string expected(1, (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
        CHECK(names == Names{expected});
      } else {
        CHECK(names.empty());
      }
    }
  }

  TEST_CASE("classifies every byte at every position of a long name") {
    // Long content takes the 16-bytes-at-a-time path, short content the byte loop; the byte
    // under test lands at every offset of a block, and on both sides of a block boundary.
    for (int b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      if (c == '@') continue;  // starts a second name; covered by the cases above
      const bool in_class = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '_' || c == '-';
      const char lowered = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      for (std::size_t k : {0, 1, 7, 14, 15, 16, 17, 30, 31, 32, 33, 47, 48}) {
        for (const std::string& tail : {std::string(), std::string(20, 'Y') + " end"}) {
          const std::string content = "@" + std::string(k, 'X') + c + tail;
          std::string expected = std::string(k, 'x');
          if (in_class) {
            expected += lowered;
            expected += std::string(tail.empty() ? 0 : 20, 'y');
          }
          CAPTURE(b);
          CAPTURE(k);
          CAPTURE(tail.size());
          REQUIRE(MentionsOf(content) == (expected.empty() ? Names{} : Names{expected}));
        }
      }
    }
  }

  TEST_CASE("handles invalid UTF-8 as bytes that are never part of a name") {
    CHECK(MentionsOf("\xff@fox\xfe") == Names{"fox"});
    CHECK(MentionsOf("@\x80"
                     "fox")
              .empty());
    CHECK(MentionsOf("@fo\xc3\x28x @\xed\xa0\x80owl") == Names{"fo"});
    CHECK(MentionsOf("\xc3@bear\xc3") == Names{"bear"});
  }

  TEST_CASE("handles NUL bytes as ordinary non-name bytes") {
    using namespace std::string_view_literals;
    CHECK(MentionsOf("@fo\0x @bar"sv) == Names{"fo", "bar"});
    CHECK(MentionsOf("\0@fox\0"sv) == Names{"fox"});
    CHECK(MentionsOf("@\0fox"sv).empty());
  }

  TEST_CASE("keeps a very long name whole") {
    const std::string name(200000, 'X');
    const Names names = MentionsOf("@" + name + " tail");
    REQUIRE(names.size() == 1);
    CHECK(names[0] == std::string(200000, 'x'));
  }

  TEST_CASE("finds an @ at every offset of long content") {
    // The search reads 16 bytes at a time and ends with an overlapping block.
    for (std::size_t size : {1, 2, 15, 16, 17, 31, 32, 33, 100}) {
      for (std::size_t at = 0; at + 1 < size; ++at) {
        std::string content(size, '.');
        content[at] = '@';
        content[at + 1] = 'q';
        CAPTURE(size);
        CAPTURE(at);
        REQUIRE(MentionsOf(content) == Names{"q"});
      }
    }
  }

  TEST_CASE("reduces a megabyte of @a@a@a to one name") {
    std::string content;
    while (content.size() < (1u << 20)) content += "@a";
    CHECK(MentionsOf(content) == Names{"a"});
  }

  TEST_CASE("reduces a megabyte of @channel to the flag") {
    std::string content;
    while (content.size() < (1u << 20)) content += "@channel@Channel ";
    const ParsedMentions parsed = ParseMentions(content);
    CHECK(parsed.mentions.empty());
    CHECK(parsed.is_channel_mention);
  }

  TEST_CASE("keeps 10k distinct mentions in order and drops their repeats") {
    std::string content;
    Names expected;
    for (int i = 0; i < 10000; ++i) {
      content += "@m" + std::to_string(i) + " ";
      expected.push_back("m" + std::to_string(i));
    }
    // Repeats in reverse order and in upper case: all duplicates.
    for (int i = 9999; i >= 0; --i) content += "@M" + std::to_string(i) + ",";
    CHECK(MentionsOf(content) == expected);
  }

  TEST_CASE("agrees with the JavaScript regex on random strings") {
    Rng rng(42);
    for (int i = 0; i < 5000; ++i) {
      const std::string content = RandomContent(rng, false);
      CAPTURE(content);
      REQUIRE(ParseMentions(content) == RegexParse(content));
    }
  }
}

TEST_SUITE("MentionScanner") {
  TEST_CASE("agrees with ParseMentions on many random strings while being reused") {
    Rng rng(7);
    MentionScanner scanner;
    for (int i = 0; i < 20000; ++i) {
      const std::string content = RandomContent(rng, false);
      const ParsedMentions expected = ParseMentions(content);
      const MentionsView view = scanner.Scan(content);
      CAPTURE(content);
      REQUIRE(ToNames(view) == expected.mentions);
      REQUIRE(view.is_channel_mention == expected.is_channel_mention);
    }
  }

  TEST_CASE("agrees with ParseMentions around many-mention messages") {
    // The duplicate index is built only for messages with many mentions; the next message
    // must not see the previous message's names.
    MentionScanner scanner;
    std::string many;
    for (int i = 0; i < 300; ++i) many += "@n" + std::to_string(i) + " ";
    std::string next;
    for (int i = 0; i < 40; ++i) next += "@n" + std::to_string(i % 20) + " @x ";
    for (const std::string& content : {many, next, std::string("@n1 @n1"), many, next}) {
      REQUIRE(ToNames(scanner.Scan(content)) == ParseMentions(content).mentions);
    }
    CHECK(ToNames(scanner.Scan(next)).size() == 21);
  }

  TEST_CASE("returns views that outlive the scanned content") {
    MentionScanner scanner;
    auto content = std::make_unique<std::string>("@Fox and @owl-2");
    const MentionsView view = scanner.Scan(*content);
    content.reset();
    CHECK(ToNames(view) == Names{"fox", "owl-2"});
  }

  TEST_CASE("keeps its buffers between scans once they are large enough") {
    MentionScanner scanner;
    std::string warm_up = "@first" + std::string(10000, ' ');
    for (int i = 0; i < 100; ++i) warm_up += " @w" + std::to_string(i);
    const MentionsView first = scanner.Scan(warm_up);
    const char* const name_storage = first.mentions[0].data();
    const std::string_view* const list_storage = first.mentions.data();
    Rng rng(3);
    for (int i = 0; i < 1000; ++i) {
      const std::string content = "@lead " + RandomContent(rng, false);
      const MentionsView view = scanner.Scan(content);
      REQUIRE(!view.mentions.empty());
      // Same addresses: nothing was reallocated, so nothing was allocated.
      REQUIRE(view.mentions.data() == list_storage);
      REQUIRE(view.mentions[0].data() == name_storage);
    }
  }

  TEST_CASE("keeps views valid across a move and stays usable after being moved from") {
    MentionScanner scanner;
    const MentionsView view = scanner.Scan("@a @b @c");
    MentionScanner moved(std::move(scanner));
    CHECK(ToNames(view) == Names{"a", "b", "c"});
    CHECK(ToNames(scanner.Scan("@d")) == Names{"d"});  // NOLINT(bugprone-use-after-move)
    CHECK(ToNames(moved.Scan("@e @E")) == Names{"e"});
  }

  TEST_CASE("returns an empty result for empty content after a full one") {
    MentionScanner scanner;
    (void)scanner.Scan("@channel @a @b");
    const MentionsView view = scanner.Scan("");
    CHECK(view.mentions.empty());
    CHECK_FALSE(view.is_channel_mention);
  }
}

TEST_SUITE("StripMentions") {
  TEST_CASE("removes mentions and collapses the spaces around them") {
    CHECK(StripMentions("hi @fox  there") == "hi there");
    CHECK(StripMentions("@fox hello") == "hello");
    CHECK(StripMentions("hello @Fox") == "hello");
    CHECK(StripMentions("@a @b @channel go") == "go");
  }

  TEST_CASE("removes the domain label of an e-mail address") {
    CHECK(StripMentions("mail bob@fox.com now") == "mail bob.com now");
  }

  TEST_CASE("keeps a bare @") {
    CHECK(StripMentions("@@fox") == "@");
    CHECK(StripMentions("@ fox") == "@ fox");
    CHECK(StripMentions("@") == "@");
    CHECK(StripMentions("a @ b @") == "a @ b @");
  }

  TEST_CASE("stops removing at the first byte outside the class") {
    CHECK(StripMentions("(@fox), ok") == "(), ok");
    CHECK(StripMentions("@café") == "é");
  }

  TEST_CASE("collapses every ASCII whitespace run to one space") {
    CHECK(StripMentions("a \t\n\r\v\f b") == "a b");
  }

  TEST_CASE("treats every JavaScript whitespace character as whitespace") {
    for (char32_t cp : JsWhitespace()) {
      CAPTURE(static_cast<std::uint32_t>(cp));
      CHECK(StripMentions("a" + Utf8(cp) + "b") == "a b");
      CHECK(StripMentions(Utf8(cp) + "a" + Utf8(cp)) == "a");
    }
  }

  TEST_CASE("keeps characters JavaScript does not count as whitespace") {
    for (char32_t cp : {char32_t{0x200B}, char32_t{0x0085}, char32_t{0x180E}, char32_t{0x2060},
                        char32_t{0x1C}, char32_t{0x1F}}) {
      CAPTURE(static_cast<std::uint32_t>(cp));
      const std::string content = "a" + Utf8(cp) + "b";
      CHECK(StripMentions(content) == content);
    }
  }

  TEST_CASE("returns an empty string for empty, blank or mention-only content") {
    CHECK(StripMentions("").empty());
    CHECK(StripMentions(" \t\n\u3000").empty());
    CHECK(StripMentions("@a @b\n@channel").empty());
  }

  TEST_CASE("copies invalid UTF-8 and truncated sequences unchanged") {
    CHECK(StripMentions("\xff @a \xfe") == "\xff \xfe");
    CHECK(StripMentions("x \xe2\x80") == "x \xe2\x80");
    CHECK(StripMentions("x\xc2") == "x\xc2");
    CHECK(StripMentions("\xe2\x80\x8b") == "\xe2\x80\x8b");
  }

  TEST_CASE("copies NUL bytes") {
    using namespace std::string_view_literals;
    CHECK(StripMentions("a\0 @b c"sv) == "a\0 c"sv);
  }

  TEST_CASE("strips a megabyte of mentions to nothing") {
    std::string content;
    while (content.size() < (1u << 20)) content += "@a ";
    CHECK(StripMentions(content).empty());
  }

  TEST_CASE("agrees with regex removal plus JavaScript whitespace rules on random strings") {
    Rng rng(11);
    for (int i = 0; i < 5000; ++i) {
      const std::string content = RandomContent(rng, true);
      CAPTURE(content);
      REQUIRE(StripMentions(content) == OracleStrip(content));
    }
  }
}

TEST_SUITE("IsMentionableCallsign") {
  TEST_CASE("accepts lower-case ASCII names") {
    for (const char* callsign : {"fox", "owl-2", "data_sci", "-", "0", "channels"}) {
      CAPTURE(callsign);
      CHECK(IsMentionableCallsign(callsign));
    }
  }

  TEST_CASE("rejects names no mention can produce") {
    using namespace std::string_view_literals;
    for (std::string_view callsign :
         {""sv, "Fox"sv, "fox.bot"sv, "fox bot"sv, "føx"sv, "fox\0"sv, "@fox"sv, "channel"sv}) {
      CAPTURE(callsign);
      CHECK_FALSE(IsMentionableCallsign(callsign));
    }
  }

  TEST_CASE("agrees with parsing a mention of the callsign") {
    Rng rng(5);
    for (int i = 0; i < 2000; ++i) {
      std::string callsign = RandomContent(rng, false).substr(0, 8);
      const ParsedMentions parsed = ParseMentions("@" + callsign);
      const bool round_trips = parsed.mentions == Names{callsign};
      CAPTURE(callsign);
      CHECK(IsMentionableCallsign(callsign) == round_trips);
    }
  }
}

}  // namespace agentcore
