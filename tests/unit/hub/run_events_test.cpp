// SPDX-License-Identifier: Apache-2.0
// The builder's frames -> run events rule (docs/runs.md, "Frames"), without a hub.
#include <doctest/doctest.h>

#include <agentcore/json.hpp>
#include <agentcore/tymbal/frame.hpp>

#include "hub/runs_internal.hpp"

namespace agentcore::hub_internal {
namespace {

using Kind = FrameOutcome::Kind;

Json Value(std::string_view type, std::string_view run = "R1", std::string_view phase = "build") {
  Json v = Json::Object();
  if (!type.empty()) v.Set("type", type);
  v.Set("run", run);
  v.Set("phase", phase);
  return v;
}

FrameOutcome Of(const TymbalFrame& frame, std::set<std::string> tokens = {}) {
  return RunFrameOutcome(frame, "R1", "build", tokens);
}

TEST_SUITE("hub/run_events") {
  TEST_CASE("frames of another run, another phase or no run are not the run's") {
    CHECK(Of(MakeSetFrame("M", "", Value("message", "R2"))).kind == Kind::kNone);
    CHECK(Of(MakeSetFrame("M", "", Value("message", "R1", "plan"))).kind == Kind::kNone);
    Json no_run = Json::Object();
    no_run.Set("type", "message");
    CHECK(Of(MakeSetFrame("M", "", no_run)).kind == Kind::kNone);
    CHECK(Of(MakeAppendFrame("M", "text")).kind == Kind::kNone);  // not a started message
    CHECK(Of(MakeResetFrame("M")).kind == Kind::kNone);
    CHECK(Of(MakeSetFrame("M", "", Value("something_else"))).kind == Kind::kNone);
  }

  TEST_CASE("a started message's appends are tokens") {
    FrameOutcome start = Of(*MakeStartFrame("M", Value("message")));
    CHECK(start.kind == Kind::kTokenStart);
    CHECK(start.message_id == "M");
    FrameOutcome token = Of(MakeAppendFrame("M", "hel"), {"M"});
    CHECK(token.kind == Kind::kEvent);
    CHECK(token.type == "token");
    CHECK(*token.data.FindString("text") == "hel");
    CHECK(*token.data.FindString("runPhase") == "build");
  }

  TEST_CASE("messages, tools, usage and plans become their events") {
    Json message = Value("message");
    message.Set("content", "done it");
    FrameOutcome m = Of(MakeSetFrame("M", "", message));
    CHECK(m.type == "status");
    CHECK(*m.data.FindString("status") == "message");
    CHECK(*m.data.FindString("content") == "done it");

    Json call = Value("tool_call");
    call.Set("toolCallId", "t1");
    call.Set("name", "write_file");
    call.Set("args", Json::Object());
    FrameOutcome c = Of(MakeSetFrame("M", "", call));
    CHECK(c.type == "tool");
    CHECK(*c.data.FindString("phase") == "start");
    CHECK(c.data.Find("args")->is_object());

    Json output = Value("tool_output");
    output.Set("toolCallId", "t1");
    output.Set("stream", "stdout");
    output.Set("text", "line\n");
    CHECK(*Of(MakeSetFrame("M", "", output)).data.FindString("phase") == "stream");

    Json result = Value("tool_result");
    result.Set("output", "ok");
    result.Set("isError", "yes");  // not a bool: false
    FrameOutcome r = Of(MakeSetFrame("M", "", result));
    CHECK(*r.data.FindString("phase") == "end");
    CHECK(r.data.Find("isError")->as_bool() == false);

    Json usage = Value("usage");
    usage.Set("provider", "openai");
    usage.Set("model", "gpt");
    usage.Set("inputTokens", 12);
    usage.Set("outputTokens", -5);  // nonsense counts as 0
    FrameOutcome u = Of(MakeSetFrame("M", "", usage));
    CHECK(u.kind == Kind::kUsage);
    CHECK(u.input_tokens == 12);
    CHECK(u.output_tokens == 0);

    Json plan = Value("plan");
    CHECK(Of(MakeSetFrame("M", "", plan)).kind == Kind::kNone);  // a plan frame without a plan
    plan.Set("plan", Json::Object());
    FrameOutcome p = Of(MakeSetFrame("M", "", plan));
    CHECK(p.kind == Kind::kPlan);
    CHECK(*p.data.FindString("status") == "plan_ready");
  }

  TEST_CASE("run_result ends the phase: ok, failures retryable unless said otherwise") {
    Json ok = Value("run_result");
    ok.Set("ok", true);
    ok.Set("summary", "all done");
    FrameOutcome o = Of(MakeSetFrame("M", "", ok));
    CHECK(o.kind == Kind::kResult);
    CHECK(o.ok);
    CHECK(o.summary == "all done");
    Json fail = Value("run_result");
    fail.Set("ok", false);
    FrameOutcome f = Of(MakeSetFrame("M", "", fail));
    CHECK_FALSE(f.ok);
    CHECK(f.retryable);
    CHECK_FALSE(f.error.empty());
    fail.Set("retryable", false);
    fail.Set("error", "bad prompt");
    FrameOutcome n = Of(MakeSetFrame("M", "", fail));
    CHECK_FALSE(n.retryable);
    CHECK(n.error == "bad prompt");
    Json not_bool = Value("run_result");
    not_bool.Set("ok", "true");  // only a JSON true is success
    CHECK_FALSE(Of(MakeSetFrame("M", "", not_bool)).ok);
  }

  TEST_CASE("retry delays double from the base up to the cap") {
    using std::chrono::milliseconds;
    CHECK(RunRetryDelay(milliseconds(1000), milliseconds(60000), 1) == milliseconds(1000));
    CHECK(RunRetryDelay(milliseconds(1000), milliseconds(60000), 2) == milliseconds(2000));
    CHECK(RunRetryDelay(milliseconds(1000), milliseconds(60000), 3) == milliseconds(4000));
    CHECK(RunRetryDelay(milliseconds(1000), milliseconds(60000), 40) == milliseconds(60000));
    CHECK(RunRetryDelay(milliseconds(1000), milliseconds(60000), 0) == milliseconds(1000));
  }
}

}  // namespace
}  // namespace agentcore::hub_internal
