// SPDX-License-Identifier: Apache-2.0
#include "model-agent/chat_stream.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/fake_chat_provider.hpp"

namespace {

using agentcore::ErrorCode;
using agentcore::Status;
using model_agent::ChatStreamDecoder;
using model_agent::ChatStreamEvent;
using model_agent::ParseProviderError;

std::string Show(const ChatStreamEvent& e) {
  switch (e.kind) {
    case ChatStreamEvent::Kind::kText: return "text:" + e.text;
    case ChatStreamEvent::Kind::kToolCall:
      return "call:" + std::to_string(e.tool_call.index) + ":" + e.tool_call.id + ":" +
             e.tool_call.name + ":" + e.tool_call.arguments;
    case ChatStreamEvent::Kind::kFinish: return "finish:" + e.text;
    case ChatStreamEvent::Kind::kUsage:
      return "usage:" + std::to_string(e.usage.prompt_tokens) + "/" +
             std::to_string(e.usage.completion_tokens);
    case ChatStreamEvent::Kind::kError:
      return "error:" + e.error.code + ":" + e.error.type + ":" + e.error.message;
    case ChatStreamEvent::Kind::kDone: return "done";
  }
  return "?";
}

struct Decoded {
  std::vector<std::string> events;
  Status status;  // the first error of Feed or Finish
};

/// Feeds `text` in pieces of `piece` bytes (0: at once), then Finish.
Decoded Decode(std::string_view text, std::size_t piece = 0) {
  ChatStreamDecoder d;
  std::vector<ChatStreamEvent> events;
  Decoded out;
  if (piece == 0) piece = text.size() + 1;
  for (std::size_t off = 0; off < text.size() && out.status.ok(); off += piece) {
    out.status = d.Feed(text.substr(off, piece), &events);
  }
  if (out.status.ok()) out.status = d.Finish(&events);
  for (const ChatStreamEvent& e : events) out.events.push_back(Show(e));
  return out;
}

/// Decodes `text` split in two at every position, and byte by byte, and checks each gives the
/// same as decoding it whole.
Decoded DecodeEverySplit(std::string_view text) {
  const Decoded whole = Decode(text);
  for (std::size_t cut = 1; cut < text.size(); ++cut) {
    ChatStreamDecoder d;
    std::vector<ChatStreamEvent> events;
    Status s = d.Feed(text.substr(0, cut), &events);
    if (s.ok()) s = d.Feed(text.substr(cut), &events);
    if (s.ok()) s = d.Finish(&events);
    std::vector<std::string> shown;
    for (const ChatStreamEvent& e : events) shown.push_back(Show(e));
    INFO("split at " << cut);
    REQUIRE(shown == whole.events);
    REQUIRE(s == whole.status);
  }
  const Decoded bytewise = Decode(text, 1);
  CHECK(bytewise.events == whole.events);
  CHECK(bytewise.status == whole.status);
  return whole;
}

std::string Data(std::string_view json) { return "data: " + std::string(json) + "\n\n"; }

/// A chunk with one choice whose delta is `delta` (JSON text).
std::string Delta(std::string_view delta, std::string_view finish = "null") {
  return Data(R"({"choices":[{"index":0,"delta":)" + std::string(delta) +
              R"(,"finish_reason":)" + std::string(finish) + "}]}");
}

/// Decodes `text` + [DONE] and returns the error; REQUIREs there is one.
Status ErrorOf(const std::string& text) {
  Decoded d = Decode(text + "data: [DONE]\n\n");
  REQUIRE_FALSE(d.status.ok());
  return d.status;
}

}  // namespace

TEST_SUITE("model_agent/chat_stream") {
  TEST_CASE("decodes a recorded text stream into deltas, the finish, usage and done at every split") {
    const std::string sse = agentcore::testing::FakeChatProvider::Recording("text.sse");
    REQUIRE_FALSE(sse.empty());
    const Decoded d = DecodeEverySplit(sse);
    REQUIRE(d.status.ok());
    CHECK(d.events == std::vector<std::string>{"text:Hello", "text:!", "text: How can",
                                               "text: I help", "text:? ", "text:é✓",
                                               "finish:stop", "usage:19/8", "done"});
  }

  TEST_CASE("assembles tool calls split across chunks, per index, at every split") {
    const std::string sse = agentcore::testing::FakeChatProvider::Recording("tool_calls.sse");
    const Decoded d = DecodeEverySplit(sse);
    REQUIRE(d.status.ok());
    CHECK(d.events ==
          std::vector<std::string>{"call:0:call_Rk2mX9aQ1:read_file:{\"path\":\"README.md\"}",
                                   "call:1:call_Zp7Lw3cV8:list_dir:{\"path\":\".\"}",
                                   "finish:tool_calls", "usage:142/41", "done"});
  }

  TEST_CASE("emits interleaved tool calls in index order when the choice finishes") {
    const std::string sse =
        Delta(R"({"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"list_dir","arguments":"{\"pa"}}]})") +
        Delta(R"({"tool_calls":[{"index":0,"id":"a","function":{"name":"read_","arguments":""}}]})") +
        Delta(R"({"tool_calls":[{"index":0,"function":{"name":"file","arguments":"{}"}},{"index":1,"function":{"arguments":"th\":\"x\"}"}}]})") +
        Delta("{}", "\"tool_calls\"") + "data: [DONE]\n\n";
    const Decoded d = DecodeEverySplit(sse);
    REQUIRE(d.status.ok());
    CHECK(d.events == std::vector<std::string>{"call:0:a:read_file:{}",
                                               "call:1:b:list_dir:{\"path\":\"x\"}",
                                               "finish:tool_calls", "done"});
  }

  TEST_CASE("a fragment without index starts a call when it has an id and continues it otherwise") {
    const std::string sse =
        Delta(R"({"tool_calls":[{"id":"x1","function":{"name":"read_file","arguments":"{\"path\""}}]})") +
        Delta(R"({"tool_calls":[{"function":{"arguments":":\"a\"}"}}]})") +
        Delta(R"({"tool_calls":[{"id":"x2","function":{"name":"list_dir","arguments":"{}"}}]})") +
        Delta("{}", "\"tool_calls\"");
    const Decoded d = Decode(sse);
    REQUIRE(d.status.ok());
    CHECK(d.events == std::vector<std::string>{"call:0:x1:read_file:{\"path\":\"a\"}",
                                               "call:1:x2:list_dir:{}", "finish:tool_calls"});
  }

  TEST_CASE("gives a call without an id the id call_<index>") {
    const Decoded d =
        Decode(Delta(R"({"tool_calls":[{"index":2,"function":{"name":"list_dir"}}]})") +
               "data: [DONE]\n\n");
    REQUIRE(d.status.ok());
    CHECK(d.events == std::vector<std::string>{"call:2:call_2:list_dir:", "done"});
  }

  TEST_CASE("accepts CRLF and CR line ends, also split between CR and LF") {
    std::string crlf = Delta(R"({"content":"a"})") + Delta("{}", "\"stop\"") + "data: [DONE]\n\n";
    std::string cr = crlf;
    for (std::size_t p = 0; (p = crlf.find('\n', p)) != std::string::npos; p += 2) {
      crlf.replace(p, 1, "\r\n");
    }
    for (char& c : cr) c = c == '\n' ? '\r' : c;
    for (const std::string& text : {crlf, cr}) {
      const Decoded d = DecodeEverySplit(text);
      REQUIRE(d.status.ok());
      CHECK(d.events == std::vector<std::string>{"text:a", "finish:stop", "done"});
    }
  }

  TEST_CASE("ignores comments, id and retry fields and joins multi-line data") {
    const std::string sse = ": OPENROUTER PROCESSING\n\nid: 7\nretry: 100\nevent: message\n"
                            "data: {\"choices\":[{\"index\":0,\n"
                            "data: \"delta\":{\"content\":\"hi\"}}]}\n\n"
                            ":keep-alive\n" +
                            Delta("{}", "\"stop\"") + "data:[DONE]\n\n";
    const Decoded d = DecodeEverySplit(sse);
    REQUIRE(d.status.ok());
    CHECK(d.events == std::vector<std::string>{"text:hi", "finish:stop", "done"});
  }

  TEST_CASE("reads usage whether choices are empty, null or absent, and with the finish") {
    const std::string sse =
        Data(R"({"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2}})") +
        Data(R"({"choices":null,"usage":{"prompt_tokens":3,"completion_tokens":4}})") +
        Data(R"({"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}})") +
        Data(R"({"choices":[],"usage":{"prompt_tokens":7}})") + "data: [DONE]\n\n";
    const Decoded d = Decode(sse);
    REQUIRE(d.status.ok());
    CHECK(d.events == std::vector<std::string>{"text:x", "finish:stop", "usage:1/2", "usage:3/4",
                                               "usage:5/6", "usage:7/0", "done"});
  }

  TEST_CASE("empty deltas after the finish reason are accepted") {
    const Decoded d = Decode(Delta(R"({"content":"a"})", "\"stop\"") +
                             Delta(R"({"content":"","tool_calls":[]})") + "data: [DONE]\n\n");
    REQUIRE(d.status.ok());
    CHECK(d.events == std::vector<std::string>{"text:a", "finish:stop", "done"});
  }

  TEST_CASE("[DONE] without a finish reason still emits the calls") {
    const Decoded d = Decode(
        Delta(R"({"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]})") +
        "data: [DONE]\n\n");
    REQUIRE(d.status.ok());
    CHECK(d.events == std::vector<std::string>{"call:0:c:f:{}", "done"});
  }

  TEST_CASE("an error object in the stream is an error event that ends it") {
    SUBCASE("data with an error member") {
      const Decoded d = Decode(Delta(R"({"content":"par"})") +
                               Data(R"({"error":{"message":"The server had an error","type":"server_error","code":null}})"));
      REQUIRE(d.status.ok());
      CHECK(d.events == std::vector<std::string>{"text:par", "error::server_error:The server had an error"});
    }
    SUBCASE("an error event with a numeric code") {
      const Decoded d = Decode("event: error\ndata: {\"message\":\"overloaded\",\"code\":529}\n\n");
      REQUIRE(d.status.ok());
      CHECK(d.events == std::vector<std::string>{"error:529::overloaded"});
    }
    SUBCASE("nothing may follow it") {
      const Decoded d = Decode(Data(R"({"error":"boom"})") + Delta(R"({"content":"x"})"));
      CHECK(d.status.code() == ErrorCode::kInvalidArgument);
      CHECK(d.events == std::vector<std::string>{"error:::boom"});
    }
  }

  TEST_CASE("a stream that ends after its finish reason but without [DONE] is complete") {
    const Decoded d = Decode(Delta(R"({"content":"a"})") + Delta("{}", "\"length\""));
    REQUIRE(d.status.ok());
    CHECK(d.events == std::vector<std::string>{"text:a", "finish:length"});
  }

  TEST_CASE("a last event without its blank line is dispatched at the end") {
    const Decoded d = Decode(Delta(R"({"content":"a"})") + "data: [DONE]");
    REQUIRE(d.status.ok());
    CHECK(d.events == std::vector<std::string>{"text:a", "done"});
  }

  TEST_CASE("a stream cut before its finish is kUnavailable, keeping what arrived") {
    const Decoded d = Decode(agentcore::testing::FakeChatProvider::Recording("cut.sse"));
    CHECK(d.status.code() == ErrorCode::kUnavailable);
    CHECK(d.events == std::vector<std::string>{"text:Hello", "text:!"});
    CHECK(Decode("").status.code() == ErrorCode::kUnavailable);
    CHECK(Decode(": ping\n\n").status.code() == ErrorCode::kUnavailable);
  }

  TEST_CASE("rejects malformed payloads with a message naming the fault") {
    struct Case {
      const char* name;
      std::string text;
      const char* message_part;
    };
    const Case cases[] = {
        {"not JSON", "data: {\"choices\":\n\n", "not JSON"},
        {"an array", "data: [1]\n\n", "not a JSON object"},
        {"a string", "data: \"hi\"\n\n", "not a JSON object"},
        {"choices an object", Data(R"({"choices":{}})"), "\"choices\" is not an array"},
        {"a choice a number", Data(R"({"choices":[1]})"), "a choice is not an object"},
        {"a second choice", Data(R"({"choices":[{"index":1,"delta":{}}]})"), "index 1"},
        {"delta a string", Data(R"({"choices":[{"index":0,"delta":"x"}]})"), "\"delta\""},
        {"content a number", Delta(R"({"content":5})"), "delta.content"},
        {"tool_calls an object", Delta(R"({"tool_calls":{}})"), "delta.tool_calls"},
        {"a fragment a string", Delta(R"({"tool_calls":["x"]})"), "fragment is not an object"},
        {"a negative index", Delta(R"({"tool_calls":[{"index":-1,"id":"a"}]})"), "index -1"},
        {"a fractional index", Delta(R"({"tool_calls":[{"index":0.5,"id":"a"}]})"), "index 0.5"},
        {"an index too large", Delta(R"({"tool_calls":[{"index":64,"id":"a"}]})"), "index 64"},
        {"an index as text", Delta(R"({"tool_calls":[{"index":"0","id":"a"}]})"), "index \"0\""},
        {"no index and no id", Delta(R"({"tool_calls":[{"function":{"name":"f"}}]})"),
         "without an index or id"},
        {"an id a number", Delta(R"({"tool_calls":[{"index":0,"id":7}]})"), "\"id\" is not"},
        {"a changed id",
         Delta(R"({"tool_calls":[{"index":0,"id":"a","function":{"name":"f"}}]})") +
             Delta(R"({"tool_calls":[{"index":0,"id":"b"}]})"),
         "changed its id"},
        {"a type other than function",
         Delta(R"({"tool_calls":[{"index":0,"id":"a","type":"code"}]})"), "type \"code\""},
        {"function a string", Delta(R"({"tool_calls":[{"index":0,"id":"a","function":"f"}]})"),
         "\"function\" is not an object"},
        {"name a number", Delta(R"({"tool_calls":[{"index":0,"function":{"name":1}}]})"),
         "function.name"},
        {"arguments an object",
         Delta(R"({"tool_calls":[{"index":0,"function":{"name":"f","arguments":{}}}]})"),
         "function.arguments"},
        {"a call without a name",
         Delta(R"({"tool_calls":[{"index":0,"id":"a","function":{"arguments":"{}"}}]})") +
             Delta("{}", "\"tool_calls\""),
         "has no function name"},
        {"finish_reason a number", Delta("{}", "3"), "finish_reason"},
        {"an empty finish_reason", Delta("{}", "\"\""), "finish_reason"},
        {"a second finish", Delta("{}", "\"stop\"") + Delta("{}", "\"stop\""),
         "a second finish"},
        {"content after the finish", Delta("{}", "\"stop\"") + Delta(R"({"content":"x"})"),
         "content after"},
        {"a call after the finish",
         Delta("{}", "\"stop\"") + Delta(R"({"tool_calls":[{"index":0,"id":"a"}]})"),
         "tool call after"},
        {"usage a number", Data(R"({"usage":5})"), "\"usage\" is not an object"},
        {"negative tokens", Data(R"({"usage":{"prompt_tokens":-1}})"), "token count"},
        {"fractional tokens", Data(R"({"usage":{"completion_tokens":1.5}})"), "token count"},
        {"tokens as text", Data(R"({"usage":{"prompt_tokens":"3"}})"), "token count"},
        {"an unknown field", "model: gpt\n\n", "unexpected line \"model: gpt\""},
        {"a bare word", "garbage\n", "unexpected line \"garbage\""},
        {"an HTML page", "<html><body>502 Bad Gateway</body></html>\n", "unexpected line"},
    };
    for (const Case& c : cases) {
      INFO(c.name);
      const Status s = ErrorOf(c.text);
      CHECK(s.code() == ErrorCode::kInvalidArgument);
      CHECK(s.message().find(c.message_part) != std::string::npos);
      CHECK(s.message().rfind("chat stream: ", 0) == 0);
    }
  }

  TEST_CASE("rejects data after [DONE], also a second [DONE]") {
    CHECK(Decode("data: [DONE]\n\n" + Delta(R"({"content":"x"})")).status.code() ==
          ErrorCode::kInvalidArgument);
    CHECK(Decode("data: [DONE]\n\ndata: [DONE]\n\n").status.message().find("after the end") !=
          std::string::npos);
  }

  TEST_CASE("bounds a line, an event, the arguments and the number of calls") {
    CHECK(Decode("data: " + std::string(model_agent::kMaxChatLineBytes, 'x')).status.code() ==
          ErrorCode::kTooLarge);
    std::string many_lines;
    const std::string line = "data: " + std::string(1000 * 1000, 'x') + "\n";
    for (int i = 0; i < 5; ++i) many_lines += line;
    CHECK(Decode(many_lines).status.code() == ErrorCode::kTooLarge);
    std::string args = Delta(R"({"tool_calls":[{"index":0,"id":"a","function":{"name":"f"}}]})");
    const std::string piece = Delta(R"({"tool_calls":[{"index":0,"function":{"arguments":")" +
                                    std::string(300 * 1000, 'a') + "\"}}]}");
    for (int i = 0; i < 4; ++i) args += piece;
    CHECK(Decode(args).status.code() == ErrorCode::kTooLarge);
    std::string calls;
    for (int i = 0; i <= 64; ++i) {
      calls += Delta(R"({"tool_calls":[{"id":"c)" + std::to_string(i) +
                     R"(","function":{"name":"f"}}]})");
    }
    CHECK(Decode(calls).status.code() == ErrorCode::kTooLarge);
  }

  TEST_CASE("an error is sticky: later input returns it again and nothing more comes out") {
    ChatStreamDecoder d;
    std::vector<ChatStreamEvent> events;
    const Status first = d.Feed("data: nope\n\n", &events);
    REQUIRE(first.code() == ErrorCode::kInvalidArgument);
    CHECK(d.Feed(Delta(R"({"content":"x"})"), &events) == first);
    CHECK(d.Finish(&events) == first);
    CHECK(events.empty());
  }

  TEST_CASE("ParseProviderError reads OpenAI's error shape and its variants") {
    const auto e = ParseProviderError(
        R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})");
    CHECK(e.message == "Rate limit reached");
    CHECK(e.type == "requests");
    CHECK(e.code == "rate_limit_exceeded");
    CHECK(ParseProviderError(R"({"error":{"message":"x","code":429}})").code == "429");
    CHECK(ParseProviderError(R"({"error":"quota"})").message == "quota");
    CHECK(ParseProviderError(R"({"message":"not found"})").message == "not found");
  }

  TEST_CASE("ParseProviderError falls back to a bounded, printable excerpt of any other body") {
    CHECK(ParseProviderError("\n <html>bad gateway</html>").message == "<html>bad gateway</html>");
    CHECK(ParseProviderError("").message.empty());
    CHECK(ParseProviderError("a\x01z").message == "a?z");
    const auto long_body = ParseProviderError(std::string(1000, 'x'));
    CHECK(long_body.message.size() < 210);
    CHECK(ParseProviderError(R"({"error":{"param":null}})").message.find("param") !=
          std::string::npos);
    CHECK(ParseProviderError("[1,2]").message == "[1,2]");
  }
}
