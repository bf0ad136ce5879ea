// SPDX-License-Identifier: Apache-2.0
#include "builder-agent/builder_grammar.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <agentcore/json.hpp>

namespace {

using builder::ParseClause;
using builder::ParsePrompt;
using builder::SplitClauses;
using builder::Todo;
using builder::TodoAction;

Todo One(std::string_view clause) { return ParseClause(clause, "1"); }

void CheckNote(std::string_view clause) {
  CAPTURE(clause);
  Todo t = One(clause);
  CHECK(t.action == TodoAction::kNote);
  CHECK(t.text == std::string(clause));
  CHECK(t.path.empty());
}

}  // namespace

TEST_SUITE("examples/builder_grammar") {
  TEST_CASE("splits clauses at semicolons and newlines and drops blank ones") {
    CHECK(SplitClauses("a; b\nc") == std::vector<std::string>{"a", "b", "c"});
    CHECK(SplitClauses("  a  ;;\n\n ;  b \r\n") == std::vector<std::string>{"a", "b"});
    CHECK(SplitClauses("").empty());
    CHECK(SplitClauses(" ; \n ;").empty());
  }

  TEST_CASE("a semicolon inside quotes or escaped does not split, a newline always does") {
    CHECK(SplitClauses(R"(create a with "x; y"; delete b)") ==
          std::vector<std::string>{R"(create a with "x; y")", "delete b"});
    CHECK(SplitClauses(R"(run echo a\; echo b; crash)") ==
          std::vector<std::string>{R"(run echo a\; echo b)", "crash"});
    // An unterminated quote ends at the newline: the next line is a clause of its own.
    CHECK(SplitClauses("create a with \"open; still\ndelete b") ==
          std::vector<std::string>{"create a with \"open; still", "delete b"});
    // An escaped quote does not open a quoted string.
    CHECK(SplitClauses(R"(append \"x; delete b)") ==
          std::vector<std::string>{R"(append \"x)", "delete b"});
  }

  TEST_CASE("create and write take a path and the rest of the clause as the text") {
    for (std::string_view kw : {"create", "write", "CREATE", "Write"}) {
      CAPTURE(kw);
      Todo t = One(std::string(kw) + " hello.txt with hi there");
      CHECK(t.action == TodoAction::kWrite);
      CHECK(t.path == "hello.txt");
      CHECK(t.text == "hi there");
      CHECK(t.title == "Write hello.txt");
      CHECK(t.id == "1");
    }
    Todo nested = One("create src/app/main.cpp WITH int main() {}");
    CHECK(nested.path == "src/app/main.cpp");
    CHECK(nested.text == "int main() {}");
    Todo empty = One("create empty.txt with");
    CHECK(empty.action == TodoAction::kWrite);
    CHECK(empty.text.empty());
  }

  TEST_CASE("texts decode escapes and quoted strings") {
    CHECK(One(R"(create a with line1\nline2\tx)").text == "line1\nline2\tx");
    CHECK(One(R"(create a with back\\slash \"q\" semi\;colon)").text ==
          "back\\slash \"q\" semi;colon");
    CHECK(One(R"(create a with keep \x and \u00e9)").text == R"(keep \x and \u00e9)");
    CHECK(One(R"(create a with trailing\)").text == "trailing\\");
    CHECK(One(R"(create a with "  padded; \"quoted\"\n ")").text == "  padded; \"quoted\"\n ");
    // Quotes that do not wrap the whole text are kept.
    CHECK(One(R"(create a with "x" and "y")").text == R"("x" and "y")");
  }

  TEST_CASE("a quoted path may hold spaces and escapes") {
    Todo t = One(R"(create "my dir/my file.txt" with x)");
    CHECK(t.action == TodoAction::kWrite);
    CHECK(t.path == "my dir/my file.txt");
    CHECK(One(R"(delete "a \"b\".txt")").path == "a \"b\".txt");
  }

  TEST_CASE("append takes the text up to the last ' to ' and one path after it") {
    Todo t = One("append go to the shop to list.txt");
    CHECK(t.action == TodoAction::kAppend);
    CHECK(t.text == "go to the shop");
    CHECK(t.path == "list.txt");
    CHECK(t.title == "Append to list.txt");
    Todo q = One(R"(append "a to b\n" TO "x y.md")");
    CHECK(q.action == TodoAction::kAppend);
    CHECK(q.text == "a to b\n");
    CHECK(q.path == "x y.md");
    Todo tabs = One("append x\tto\ty.txt");
    CHECK(tabs.action == TodoAction::kAppend);
    CHECK(tabs.path == "y.txt");
  }

  TEST_CASE("delete, run, sleep, fail and crash") {
    Todo d = One("delete old.txt");
    CHECK(d.action == TodoAction::kDelete);
    CHECK(d.path == "old.txt");
    Todo r = One(R"(run echo "a;b" && ls\; pwd)");
    CHECK(r.action == TodoAction::kRun);
    CHECK(r.command == R"(echo "a;b" && ls; pwd)");
    CHECK(r.title == R"(Run: echo "a;b" && ls; pwd)");
    CHECK(One("sleep 250").ms == 250);
    CHECK(One("sleep 250").action == TodoAction::kSleep);
    CHECK(One("SLEEP 10 ms").ms == 10);
    CHECK(One("sleep 5ms").ms == 5);
    CHECK(One("sleep 0").ms == 0);
    CHECK(One("sleep 600000").ms == builder::kMaxSleepMs);
    CHECK(One("fail").action == TodoAction::kFail);
    CHECK(One("fail").attempt == 0);
    CHECK(One("Fail On Attempt 2").attempt == 2);
    CHECK(One("Fail On Attempt 2").title == "Fail on attempt 2");
    CHECK(One("crash").action == TodoAction::kCrash);
    CHECK(One("CRASH").action == TodoAction::kCrash);
  }

  TEST_CASE("a clause of no known form is a note holding the clause") {
    CheckNote("Add a dark mode toggle");
    CheckNote("create a dark mode toggle");          // no "with"
    CheckNote("write");                               // no path
    CheckNote("create \"unterminated with x");       // the quote never closes
    CheckNote("create \"a\"b with x");               // a quoted path glued to a word
    CheckNote("create \"\" with x");                 // an empty quoted path
    CheckNote("append to x");                         // no text
    CheckNote("append some text");                    // no " to "
    CheckNote("append text to two words");            // the path is not one word
    CheckNote("append \"x\" into y");                 // a quoted text needs "to"
    CheckNote("delete");                              // no path
    CheckNote("delete a b");                          // two paths
    CheckNote("run");                                 // no command
    CHECK(One("run   ").action == TodoAction::kNote);
    CHECK(One("run   ").text == "run");  // the clause, trimmed
    CheckNote("sleep");                               // no number
    CheckNote("sleep -5");
    CheckNote("sleep 1.5");
    CheckNote("sleep 600001");                        // over kMaxSleepMs
    CheckNote("sleep 99999999999999999999999");       // overflows
    CheckNote("sleep five");
    CheckNote("fail hard");
    CheckNote("fail on attempt");
    CheckNote("fail on attempt 0");
    CheckNote("fail on attempt two");
    CheckNote("fail on attempt 2 please");
    CheckNote("crash now");
    CheckNote("creates x with y");                    // not the keyword
    CHECK(One("Add a dark mode toggle").title == "Note: Add a dark mode toggle");
  }

  TEST_CASE("a long title is cut at a UTF-8 boundary") {
    std::string text = "Note ";
    for (int i = 0; i < 100; ++i) text += "\xC3\xA9";  // é
    Todo t = One(text);
    CHECK(t.title.size() <= 124);
    CHECK(t.title.substr(t.title.size() - 3) == "...");
    agentcore::Json title(t.title);
    CHECK(agentcore::ParseJson(agentcore::ToJson(title)).ok());  // still valid UTF-8
  }

  TEST_CASE("the prompt's todos are numbered in order") {
    std::vector<Todo> todos =
        ParsePrompt("create a.txt with 1; append 2 to a.txt\nsomething else;delete b");
    REQUIRE(todos.size() == 4);
    CHECK(todos[0].id == "1");
    CHECK(todos[1].id == "2");
    CHECK(todos[1].action == TodoAction::kAppend);
    CHECK(todos[2].action == TodoAction::kNote);
    CHECK(todos[3].id == "4");
    CHECK(ParsePrompt("").empty());
  }

  TEST_CASE("a plan round-trips through JSON") {
    std::vector<Todo> todos = ParsePrompt(
        "create a with x\\ny; append z to \"b c\"; delete d; run ls -la; sleep 5; fail; fail on "
        "attempt 3; crash; whatever");
    agentcore::Json plan = builder::PlanToJson("the summary", todos);
    CHECK(*plan.FindString("summary") == "the summary");
    const agentcore::Json& first = plan.Find("todos")->as_array()[0];
    CHECK(*first.FindString("action") == "write");
    CHECK(*first.FindString("path") == "a");
    CHECK(first.Find("command") == nullptr);
    auto back = builder::TodosFromPlan(agentcore::ParseJson(agentcore::ToJson(plan)).value());
    REQUIRE(back.ok());
    CHECK(*back == todos);
    auto none = builder::TodosFromPlan(builder::PlanToJson("empty", {}));
    REQUIRE(none.ok());
    CHECK(none->empty());
  }

  TEST_CASE("a plan with a bad todo is refused, naming the todo and the field") {
    struct Case {
      const char* plan;
      const char* message;
    };
    const Case cases[] = {
        {"null", "plan is not an object"},
        {"[]", "plan is not an object"},
        {"{}", "plan has no todos array"},
        {R"({"todos":{}})", "plan has no todos array"},
        {R"({"todos":[1]})", "plan todo 0 is not an object"},
        {R"({"todos":[{"title":"t","action":"crash"}]})", "plan todo 0: id must be a string"},
        {R"({"todos":[{"id":"1","action":"crash"}]})", "plan todo 0: title must be a string"},
        {R"({"todos":[{"id":"1","title":"t"}]})", "plan todo 0: action must be a non-empty"},
        {R"({"todos":[{"id":"1","title":"t","action":"explode"}]})",
         "plan todo 0: unknown action \"explode\""},
        {R"({"todos":[{"id":"1","title":"t","action":"crash"},{"id":"2","title":"t","action":"write","text":"x"}]})",
         "plan todo 1: path must be a non-empty string"},
        {R"({"todos":[{"id":"1","title":"t","action":"write","path":"","text":"x"}]})",
         "plan todo 0: path must be a non-empty string"},
        {R"({"todos":[{"id":"1","title":"t","action":"append","path":"a"}]})",
         "plan todo 0: text must be a string"},
        {R"({"todos":[{"id":"1","title":"t","action":"delete","path":7}]})",
         "plan todo 0: path must be"},
        {R"({"todos":[{"id":"1","title":"t","action":"run","command":""}]})",
         "plan todo 0: command must be a non-empty string"},
        {R"({"todos":[{"id":"1","title":"t","action":"sleep"}]})", "plan todo 0: ms must be"},
        {R"({"todos":[{"id":"1","title":"t","action":"sleep","ms":-1}]})", "ms must be"},
        {R"({"todos":[{"id":"1","title":"t","action":"sleep","ms":1.5}]})", "ms must be"},
        {R"({"todos":[{"id":"1","title":"t","action":"sleep","ms":600001}]})", "ms must be"},
        {R"({"todos":[{"id":"1","title":"t","action":"sleep","ms":"5"}]})", "ms must be"},
        {R"({"todos":[{"id":"1","title":"t","action":"fail","attempt":1e300}]})",
         "attempt must be"},
        {R"({"todos":[{"id":"1","title":"t","action":"note"}]})", "text must be a string"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.plan);
      auto plan = agentcore::ParseJson(c.plan);
      REQUIRE(plan.ok());
      auto todos = builder::TodosFromPlan(*plan);
      REQUIRE_FALSE(todos.ok());
      CHECK(todos.status().code() == agentcore::ErrorCode::kInvalidArgument);
      CHECK(todos.status().message().find(c.message) != std::string::npos);
    }
  }
}
