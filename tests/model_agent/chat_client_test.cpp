// SPDX-License-Identifier: Apache-2.0
#include "model-agent/chat_client.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_chat_provider.hpp"
#include "support/test_http_server.hpp"

namespace {

using agentcore::ErrorCode;
using agentcore::Json;
using agentcore::Status;
using agentcore::testing::FakeChatProvider;
using model_agent::ChatClient;
using model_agent::ChatClientOptions;
using model_agent::ChatMessage;
using model_agent::ChatRequest;
using std::chrono::milliseconds;

constexpr char kKey[] = "sk-test-7f3a9c0d1e2b";
constexpr char kModel[] = "gpt-4o-mini";

class Recorder final : public model_agent::ChatObserver {
 public:
  void OnText(std::string_view text) override { text_ += text; }
  void OnRetry(int next_attempt, milliseconds delay, const Status& why) override {
    retries.push_back({next_attempt, delay, why});
    text_.clear();
  }
  struct Retry {
    int next_attempt;
    milliseconds delay;
    Status why;
  };
  std::string text_;
  std::vector<Retry> retries;
};

struct Fixture {
  FakeChatProvider provider{kKey, kModel};
  std::unique_ptr<agentcore::HttpClient> http = agentcore::NewHttpClient();
  std::vector<milliseconds> slept;

  ChatClientOptions Options(std::string key = kKey) {
    ChatClientOptions o;
    o.base_url = provider.BaseUrl() + "/";
    o.api_key = std::move(key);
    o.timeout = milliseconds(10'000);
    o.sleep = [this](milliseconds d) { slept.push_back(d); };
    return o;
  }
};

ChatRequest Hello() {
  ChatRequest r;
  r.model = kModel;
  r.messages = {{"system", "be brief", {}, ""}, {"user", "hi", {}, ""}};
  return r;
}

}  // namespace

TEST_SUITE("model_agent/chat_client") {
  TEST_CASE("builds the request body with roles, tool calls, tool results, tools and the stream flags") {
    ChatRequest r;
    r.model = "m";
    r.max_tokens = 100;
    r.messages = {{"system", "sys", {}, ""},
                  {"user", "u", {}, ""},
                  {"assistant", "", {{0, "call_1", "read_file", "{\"path\":\"a\"}"}, {1, "c2", "list_dir", ""}}, ""},
                  {"tool", "file text", {}, "call_1"},
                  {"assistant", "done", {}, ""}};
    Json params = Json::Object();
    params.Set("type", "object");
    r.tools = {{"read_file", "reads a file", params}};
    agentcore::Result<Json> body = agentcore::ParseJson(model_agent::BuildChatRequestBody(r));
    REQUIRE(body.ok());
    CHECK(*body->FindString("model") == "m");
    CHECK(body->Find("stream")->as_bool());
    CHECK(body->Find("stream_options")->Find("include_usage")->as_bool());
    CHECK(body->Find("max_tokens")->as_number() == 100);
    const auto& messages = body->Find("messages")->as_array();
    REQUIRE(messages.size() == 5);
    CHECK(*messages[0].FindString("role") == "system");
    CHECK(messages[2].Find("content")->is_null());
    const auto& calls = messages[2].Find("tool_calls")->as_array();
    REQUIRE(calls.size() == 2);
    CHECK(*calls[0].FindString("id") == "call_1");
    CHECK(*calls[0].FindString("type") == "function");
    CHECK(*calls[0].Find("function")->FindString("arguments") == "{\"path\":\"a\"}");
    CHECK(*calls[1].Find("function")->FindString("arguments") == "{}");
    CHECK(*messages[3].FindString("tool_call_id") == "call_1");
    CHECK(*messages[4].FindString("content") == "done");
    CHECK(messages[4].Find("tool_calls") == nullptr);
    const auto& tools = body->Find("tools")->as_array();
    REQUIRE(tools.size() == 1);
    CHECK(*tools[0].FindString("type") == "function");
    CHECK(*tools[0].Find("function")->FindString("name") == "read_file");
    CHECK(*tools[0].Find("function")->Find("parameters")->FindString("type") == "object");
  }

  TEST_CASE("streams text to the observer live and returns text, finish and usage") {
    Fixture f;
    f.provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("text.sse"), 7));
    ChatClient client(f.http.get(), f.Options());
    Recorder rec;
    auto r = client.Complete(Hello(), &rec);
    REQUIRE(r.ok());
    CHECK(r->text == "Hello! How can I help? é✓");
    CHECK(rec.text_ == r->text);
    CHECK(r->finish_reason == "stop");
    REQUIRE(r->usage.has_value());
    CHECK(r->usage->prompt_tokens == 19);
    CHECK(r->usage->completion_tokens == 8);
    CHECK(r->attempts == 1);
    const auto seen = f.provider.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].target == "/v1/chat/completions");
    CHECK(seen[0].authorization == std::string("Bearer ") + kKey);
  }

  TEST_CASE("returns the tool calls of a recorded stream") {
    Fixture f;
    f.provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("tool_calls.sse"), 1));
    ChatClient client(f.http.get(), f.Options());
    auto r = client.Complete(Hello(), nullptr);
    REQUIRE(r.ok());
    CHECK(r->finish_reason == "tool_calls");
    REQUIRE(r->tool_calls.size() == 2);
    CHECK(r->tool_calls[0].name == "read_file");
    CHECK(r->tool_calls[0].arguments == "{\"path\":\"README.md\"}");
    CHECK(r->tool_calls[1].id == "call_Zp7Lw3cV8");
  }

  TEST_CASE("a 429 with Retry-After waits exactly that long, then succeeds") {
    Fixture f;
    SUBCASE("seconds") {
      f.provider.Enqueue(FakeChatProvider::Error(429, "Rate limit reached", "requests",
                                                 "rate_limit_exceeded", {{"Retry-After", "2"}}));
      f.provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("text.sse")));
      ChatClient client(f.http.get(), f.Options());
      Recorder rec;
      auto r = client.Complete(Hello(), &rec);
      REQUIRE(r.ok());
      CHECK(r->attempts == 2);
      CHECK(f.slept == std::vector<milliseconds>{milliseconds(2000)});
      REQUIRE(rec.retries.size() == 1);
      CHECK(rec.retries[0].next_attempt == 2);
      CHECK(rec.retries[0].why.code() == ErrorCode::kRateLimited);
      CHECK(rec.retries[0].why.message().find("rate_limit_exceeded") != std::string::npos);
    }
    SUBCASE("retry-after-ms first") {
      f.provider.Enqueue(FakeChatProvider::Error(
          429, "slow down", "requests", "", {{"retry-after-ms", "350"}, {"Retry-After", "9"}}));
      f.provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("text.sse")));
      ChatClient client(f.http.get(), f.Options());
      REQUIRE(client.Complete(Hello(), nullptr).ok());
      CHECK(f.slept == std::vector<milliseconds>{milliseconds(350)});
    }
  }

  TEST_CASE("a Retry-After beyond the limit ends the retries at once") {
    Fixture f;
    f.provider.Enqueue(FakeChatProvider::Error(429, "quota", "insufficient_quota", "",
                                               {{"Retry-After", "3600"}}));
    ChatClient client(f.http.get(), f.Options());
    auto r = client.Complete(Hello(), nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kRateLimited);
    CHECK(r.status().message().find("3600 s") != std::string::npos);
    CHECK(f.slept.empty());
    CHECK(f.provider.requests().size() == 1);
  }

  TEST_CASE("a 500 is retried after a jittered exponential backoff") {
    Fixture f;
    f.provider.Enqueue(FakeChatProvider::Error(500, "The server had an error", "server_error", ""));
    f.provider.Enqueue(FakeChatProvider::Error(503, "overloaded", "server_error", ""));
    f.provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("text.sse")));
    ChatClientOptions o = f.Options();
    o.initial_backoff = milliseconds(1000);
    ChatClient client(f.http.get(), o);
    auto r = client.Complete(Hello(), nullptr);
    REQUIRE(r.ok());
    CHECK(r->attempts == 3);
    REQUIRE(f.slept.size() == 2);
    CHECK(f.slept[0] >= milliseconds(500));
    CHECK(f.slept[0] <= milliseconds(1000));
    CHECK(f.slept[1] >= milliseconds(1000));
    CHECK(f.slept[1] <= milliseconds(2000));
  }

  TEST_CASE("attempts are bounded and the last error says how many were made") {
    Fixture f;
    for (int i = 0; i < 5; ++i) {
      f.provider.Enqueue(FakeChatProvider::Error(502, "bad gateway", "server_error", ""));
    }
    ChatClientOptions o = f.Options();
    o.max_attempts = 3;
    ChatClient client(f.http.get(), o);
    auto r = client.Complete(Hello(), nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kUnavailable);
    CHECK(r.status().message().find("HTTP 502") != std::string::npos);
    CHECK(r.status().message().find("after 3 attempts") != std::string::npos);
    CHECK(f.provider.requests().size() == 3);
    CHECK(f.slept.size() == 2);
  }

  TEST_CASE("a connection dropped mid-stream is retried and the partial text is taken back") {
    Fixture f;
    const std::string sse = FakeChatProvider::Recording("text.sse");
    SUBCASE("cut without the last chunk") {
      f.provider.Enqueue(FakeChatProvider::Cut(sse, sse.find("How can") + 20));
    }
    SUBCASE("a complete body that stops before the finish") {
      f.provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("cut.sse")));
    }
    f.provider.Enqueue(FakeChatProvider::Stream(sse, 13));
    ChatClient client(f.http.get(), f.Options());
    Recorder rec;
    auto r = client.Complete(Hello(), &rec);
    REQUIRE(r.ok());
    CHECK(r->attempts == 2);
    REQUIRE(rec.retries.size() == 1);
    CHECK(rec.retries[0].why.code() == ErrorCode::kUnavailable);
    CHECK(r->text == "Hello! How can I help? é✓");
    CHECK(rec.text_ == r->text);
  }

  TEST_CASE("a wrong key is a 401 that is not retried and whose message holds no key") {
    Fixture f;
    ChatClient client(f.http.get(), f.Options("sk-wrong-secret-123"));
    auto r = client.Complete(Hello(), nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kUnauthenticated);
    CHECK_FALSE(model_agent::IsRetryable(r.status()));
    CHECK(r.status().message().find("invalid_api_key") != std::string::npos);
    CHECK(r.status().message().find("sk-wrong") == std::string::npos);
    CHECK(f.provider.refused() == 1);
    CHECK(f.slept.empty());
  }

  TEST_CASE("other 4xx answers are final with their own codes") {
    Fixture f;
    SUBCASE("an unknown model is 404") {
      ChatClient client(f.http.get(), f.Options());
      ChatRequest r = Hello();
      r.model = "gpt-nope";
      auto out = client.Complete(r, nullptr);
      CHECK(out.status().code() == ErrorCode::kNotFound);
      CHECK(out.status().message().find("model_not_found") != std::string::npos);
    }
    SUBCASE("a 400 is kInvalidArgument") {
      f.provider.Enqueue(FakeChatProvider::Error(400, "context_length_exceeded",
                                                 "invalid_request_error", ""));
      ChatClient client(f.http.get(), f.Options());
      auto out = client.Complete(Hello(), nullptr);
      CHECK(out.status().code() == ErrorCode::kInvalidArgument);
      CHECK(f.provider.requests().size() == 1);
    }
    CHECK(f.slept.empty());
  }

  TEST_CASE("a malformed stream or a 200 that is not a stream is kInternal and not retried") {
    Fixture f;
    SUBCASE("malformed") {
      f.provider.Enqueue(FakeChatProvider::Stream("data: {\"choices\":5}\n\n"));
      ChatClient client(f.http.get(), f.Options());
      auto out = client.Complete(Hello(), nullptr);
      CHECK(out.status().code() == ErrorCode::kInternal);
      CHECK(out.status().message().find("malformed stream") != std::string::npos);
    }
    SUBCASE("a JSON body") {
      FakeChatProvider::Reply reply;
      reply.status = 200;
      reply.body = FakeChatProvider::ErrorBody("streaming is off", "invalid_request_error", "");
      f.provider.Enqueue(reply);
      ChatClient client(f.http.get(), f.Options());
      auto out = client.Complete(Hello(), nullptr);
      CHECK(out.status().code() == ErrorCode::kInternal);
      CHECK(out.status().message().find("streaming is off") != std::string::npos);
    }
    SUBCASE("an error in the stream") {
      f.provider.Enqueue(FakeChatProvider::Stream(
          "data: {\"error\":{\"message\":\"bad request\",\"type\":\"invalid_request_error\"}}\n\n"));
      ChatClient client(f.http.get(), f.Options());
      auto out = client.Complete(Hello(), nullptr);
      CHECK(out.status().code() == ErrorCode::kInvalidArgument);
      CHECK(out.status().message().find("mid-stream") != std::string::npos);
    }
    CHECK(f.provider.requests().size() == 1);
    CHECK(f.slept.empty());
  }

  TEST_CASE("a refused connection is kUnavailable and retried") {
    std::vector<milliseconds> slept;
    int port;
    {
      agentcore::testing::TestHttpServer gone([](auto&, const auto&) { return false; });
      port = gone.port();
    }
    std::unique_ptr<agentcore::HttpClient> http = agentcore::NewHttpClient();
    ChatClientOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
    o.max_attempts = 2;
    o.sleep = [&](milliseconds d) { slept.push_back(d); };
    ChatClient client(http.get(), o);
    auto out = client.Complete(Hello(), nullptr);
    CHECK(out.status().code() == ErrorCode::kUnavailable);
    CHECK(slept.size() == 1);
  }

  TEST_CASE("a provider that goes silent mid-stream ends in kDeadlineExceeded") {
    agentcore::testing::TestHttpServer silent(
        [](agentcore::testing::TestHttpConnection& c, const agentcore::testing::TestHttpRequest&) {
          c.Write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n5\r\n: hi\n\r\n");
          c.WaitForClose();
          return false;
        });
    std::unique_ptr<agentcore::HttpClient> http = agentcore::NewHttpClient();
    ChatClientOptions o;
    o.base_url = silent.Url("/v1");
    o.idle_timeout = milliseconds(300);
    o.max_attempts = 1;
    ChatClient client(http.get(), o);
    const auto start = std::chrono::steady_clock::now();
    auto out = client.Complete(Hello(), nullptr);
    CHECK(out.status().code() == ErrorCode::kDeadlineExceeded);
    CHECK(out.status().message().find("no data") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  }

  TEST_CASE("RetryAfter reads milliseconds, seconds and HTTP dates and ignores garbage") {
    const auto now = std::chrono::system_clock::from_time_t(1445412480);  // 2015-10-21 07:28:00
    auto with = [](std::vector<std::pair<std::string, std::string>> h) {
      agentcore::HttpResponse r;
      r.headers = std::move(h);
      return r;
    };
    CHECK(model_agent::RetryAfter(with({{"Retry-After", "7"}}), now) == milliseconds(7000));
    CHECK(model_agent::RetryAfter(with({{"retry-after", "1.5"}}), now) == milliseconds(1500));
    CHECK(model_agent::RetryAfter(with({{"Retry-After-Ms", "20"}}), now) == milliseconds(20));
    CHECK(model_agent::RetryAfter(with({{"Retry-After", "Wed, 21 Oct 2015 07:28:30 GMT"}}), now) ==
          milliseconds(30'000));
    CHECK(model_agent::RetryAfter(with({{"Retry-After", "Wed, 21 Oct 2015 07:00:00 GMT"}}), now) ==
          milliseconds(0));
    CHECK_FALSE(model_agent::RetryAfter(with({}), now).has_value());
    CHECK_FALSE(model_agent::RetryAfter(with({{"Retry-After", "-1"}}), now).has_value());
    CHECK_FALSE(model_agent::RetryAfter(with({{"Retry-After", "soon"}}), now).has_value());
    CHECK_FALSE(model_agent::RetryAfter(with({{"Retry-After", "1e9999"}}), now).has_value());
    CHECK_FALSE(model_agent::RetryAfter(with({{"Retry-After", "Wed, 21 Oct 2015"}}), now).has_value());
    CHECK(model_agent::RetryAfter(with({{"retry-after-ms", "x"}, {"Retry-After", "2"}}), now) ==
          milliseconds(2000));
  }
}
