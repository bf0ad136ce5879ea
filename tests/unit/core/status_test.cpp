// SPDX-License-Identifier: Apache-2.0
#include <agentcore/status.hpp>
#include <agentcore/result.hpp>

#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

using agentcore::ErrorCode;
using agentcore::ErrorCodeName;
using agentcore::Result;
using agentcore::Status;

namespace {

// Helpers for the macros: each records how often it ran.
struct Calls {
  int status_calls = 0;
  int result_calls = 0;
  int after = 0;
};

Status StatusStep(Calls* calls, bool fail) {
  ++calls->status_calls;
  return fail ? agentcore::NotFound("step \"a\" not found") : Status();
}

Result<int> ResultStep(Calls* calls, bool fail, int value) {
  ++calls->result_calls;
  if (fail) return agentcore::Conflict("value taken");
  return value;
}

Status TwoSteps(Calls* calls, bool fail_first, bool fail_second) {
  AGENTCORE_RETURN_IF_ERROR(StatusStep(calls, fail_first));
  AGENTCORE_RETURN_IF_ERROR(StatusStep(calls, fail_second));
  ++calls->after;
  return Status();
}

Result<int> Sum(Calls* calls, bool fail_first, bool fail_second) {
  AGENTCORE_ASSIGN_OR_RETURN(int a, ResultStep(calls, fail_first, 20));
  AGENTCORE_ASSIGN_OR_RETURN(const int b, ResultStep(calls, fail_second, 22));
  ++calls->after;
  return a + b;
}

Result<std::string> Describe(Calls* calls, bool fail) {
  std::string out = "value ";
  int v = 0;
  AGENTCORE_ASSIGN_OR_RETURN(v, ResultStep(calls, fail, 7));  // assigns to an existing variable
  out += std::to_string(v);
  AGENTCORE_RETURN_IF_ERROR(StatusStep(calls, false));
  return out;
}

Result<std::unique_ptr<int>> MakeBox(bool fail) {
  if (fail) return agentcore::Internal("no box");
  return std::make_unique<int>(5);
}

Result<int> Unbox(bool fail) {
  AGENTCORE_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(fail));  // move-only value
  return *box + 1;
}

}  // namespace

TEST_SUITE("Status") {

TEST_CASE("is OK by default") {
  const Status st;
  CHECK(st.ok());
  CHECK(st.code() == ErrorCode::kOk);
  CHECK(st.message().empty());
  CHECK(st.ToString() == "ok");
  CHECK(Status::Ok().ok());
  CHECK(Status::Ok() == Status());
}

TEST_CASE("carries an error code and a message") {
  const Status st(ErrorCode::kNotFound, "channel \"ops\" not found");
  CHECK_FALSE(st.ok());
  CHECK(st.code() == ErrorCode::kNotFound);
  CHECK(st.message() == "channel \"ops\" not found");
  CHECK(st.ToString() == "not_found: channel \"ops\" not found");
  CHECK(Status(ErrorCode::kInternal, "").ToString() == "internal: ");
}

TEST_CASE("keeps the numeric values of error codes stable") {
  CHECK(static_cast<int>(ErrorCode::kOk) == 0);
  CHECK(static_cast<int>(ErrorCode::kInvalidArgument) == 1);
  CHECK(static_cast<int>(ErrorCode::kUnauthenticated) == 2);
  CHECK(static_cast<int>(ErrorCode::kPermissionDenied) == 3);
  CHECK(static_cast<int>(ErrorCode::kNotFound) == 4);
  CHECK(static_cast<int>(ErrorCode::kAlreadyExists) == 5);
  CHECK(static_cast<int>(ErrorCode::kConflict) == 6);
  CHECK(static_cast<int>(ErrorCode::kTooLarge) == 7);
  CHECK(static_cast<int>(ErrorCode::kRateLimited) == 8);
  CHECK(static_cast<int>(ErrorCode::kInternal) == 9);
  CHECK(static_cast<int>(ErrorCode::kNotSupported) == 10);
  CHECK(static_cast<int>(ErrorCode::kUnavailable) == 11);
  CHECK(static_cast<int>(ErrorCode::kDeadlineExceeded) == 12);
  CHECK(static_cast<int>(ErrorCode::kUnknownOutcome) == 13);
}

TEST_CASE("names every error code in lower case") {
  const std::pair<ErrorCode, std::string_view> names[] = {
      {ErrorCode::kOk, "ok"},
      {ErrorCode::kInvalidArgument, "invalid_argument"},
      {ErrorCode::kUnauthenticated, "unauthenticated"},
      {ErrorCode::kPermissionDenied, "permission_denied"},
      {ErrorCode::kNotFound, "not_found"},
      {ErrorCode::kAlreadyExists, "already_exists"},
      {ErrorCode::kConflict, "conflict"},
      {ErrorCode::kTooLarge, "too_large"},
      {ErrorCode::kRateLimited, "rate_limited"},
      {ErrorCode::kInternal, "internal"},
      {ErrorCode::kNotSupported, "not_supported"},
      {ErrorCode::kUnavailable, "unavailable"},
      {ErrorCode::kDeadlineExceeded, "deadline_exceeded"},
      {ErrorCode::kUnknownOutcome, "unknown_outcome"},
  };
  std::set<std::string_view> seen;
  for (const auto& entry : names) {
    const auto& code = entry.first;  // not a structured binding: clang 14 cannot capture one
    const auto& name = entry.second;
    CAPTURE(name);
    CHECK(ErrorCodeName(code) == name);
    seen.insert(ErrorCodeName(code));
    if (code != ErrorCode::kOk) {
      CHECK(Status(code, "m").ToString() == std::string(name) + ": m");
    }
  }
  CHECK(seen.size() == std::size(names));  // all distinct
  CHECK(ErrorCodeName(static_cast<ErrorCode>(200)) == "unknown");
}

TEST_CASE("builds each shorthand with its code and the full message") {
  const std::pair<Status, ErrorCode> cases[] = {
      {agentcore::InvalidArgument("bad \"x\""), ErrorCode::kInvalidArgument},
      {agentcore::NotFound("bad \"x\""), ErrorCode::kNotFound},
      {agentcore::AlreadyExists("bad \"x\""), ErrorCode::kAlreadyExists},
      {agentcore::Conflict("bad \"x\""), ErrorCode::kConflict},
      {agentcore::TooLarge("bad \"x\""), ErrorCode::kTooLarge},
      {agentcore::Internal("bad \"x\""), ErrorCode::kInternal},
      {agentcore::Unavailable("bad \"x\""), ErrorCode::kUnavailable},
      {agentcore::NotSupported("bad \"x\""), ErrorCode::kNotSupported},
  };
  for (const auto& entry : cases) {
    const auto& st = entry.first;  // not a structured binding: clang 14 cannot capture one
    const auto& code = entry.second;
    CAPTURE(ErrorCodeName(code));
    CHECK_FALSE(st.ok());
    CHECK(st.code() == code);
    CHECK(st.message() == "bad \"x\"");
  }
}

TEST_CASE("compares code and message") {
  CHECK(Status() == Status());
  CHECK(agentcore::NotFound("a") == agentcore::NotFound("a"));
  CHECK_FALSE(agentcore::NotFound("a") == agentcore::NotFound("b"));
  CHECK_FALSE(agentcore::NotFound("a") == agentcore::Conflict("a"));
  CHECK_FALSE(agentcore::NotFound("") == Status());
  CHECK(agentcore::NotFound("a") != agentcore::Conflict("a"));
}

TEST_CASE("copies and moves like a value") {
  Status a = agentcore::Conflict("x");
  Status b = a;
  CHECK(b == a);
  Status c = std::move(b);
  CHECK(c == a);
  Status d;
  d = c;
  CHECK(d == a);
  d = Status();
  CHECK(d.ok());
  CHECK(a.message() == "x");
}

TEST_CASE("returns early from AGENTCORE_RETURN_IF_ERROR on error only") {
  Calls ok_calls;
  CHECK(TwoSteps(&ok_calls, false, false).ok());
  CHECK(ok_calls.status_calls == 2);
  CHECK(ok_calls.after == 1);

  Calls first;
  const Status st = TwoSteps(&first, true, false);
  CHECK(st == agentcore::NotFound("step \"a\" not found"));
  CHECK(first.status_calls == 1);  // evaluated once, then returned
  CHECK(first.after == 0);

  Calls second;
  CHECK(TwoSteps(&second, false, true).code() == ErrorCode::kNotFound);
  CHECK(second.status_calls == 2);
  CHECK(second.after == 0);
}

}  // TEST_SUITE("Status")

TEST_SUITE("Result") {

TEST_CASE("holds a value") {
  Result<int> r = 42;
  CHECK(r.has_value());
  CHECK(r.ok());
  CHECK(static_cast<bool>(r));
  CHECK(r.value() == 42);
  CHECK(*r == 42);
  CHECK(r.status().ok());
  CHECK(r.status() == Status());
  *r = 43;
  CHECK(r.value() == 43);
  r.value() = 44;
  CHECK(*r == 44);
}

TEST_CASE("holds an error") {
  Result<int> r = agentcore::NotFound("user \"u\" not found");
  CHECK_FALSE(r.has_value());
  CHECK_FALSE(r.ok());
  CHECK_FALSE(static_cast<bool>(r));
  CHECK(r.error().code() == ErrorCode::kNotFound);
  CHECK(r.error().message() == "user \"u\" not found");
  CHECK(r.status() == agentcore::NotFound("user \"u\" not found"));
  CHECK(r.status().ToString() == "not_found: user \"u\" not found");
}

TEST_CASE("gives access to members through the arrow") {
  Result<std::string> r = std::string("abc");
  CHECK(r->size() == 3);
  r->push_back('d');
  CHECK(*r == "abcd");
  const Result<std::string>& cr = r;
  CHECK(cr->front() == 'a');
  CHECK(*cr == "abcd");
  CHECK(cr.value() == "abcd");
}

TEST_CASE("moves a move-only value out") {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(9);
  REQUIRE(r.has_value());
  CHECK(**r == 9);
  std::unique_ptr<int> taken = std::move(r).value();
  REQUIRE(taken != nullptr);
  CHECK(*taken == 9);

  Result<std::unique_ptr<int>> r2 = std::make_unique<int>(10);
  std::unique_ptr<int> deref = *std::move(r2);
  CHECK(*deref == 10);

  Result<std::vector<int>> v = std::vector<int>{1, 2, 3};
  std::vector<int> moved = std::move(v).value();
  CHECK(moved == std::vector<int>{1, 2, 3});
}

TEST_CASE("copies value and error") {
  Result<std::string> a = std::string("v");
  Result<std::string> b = a;
  CHECK(*b == "v");
  CHECK(*a == "v");
  Result<std::string> e = agentcore::Internal("boom");
  Result<std::string> f = e;
  CHECK(f.error() == agentcore::Internal("boom"));
  b = e;
  CHECK_FALSE(b.has_value());
  CHECK(b.status().code() == ErrorCode::kInternal);
  b = std::string("again");
  CHECK(*b == "again");
}

TEST_CASE("assigns or returns with AGENTCORE_ASSIGN_OR_RETURN") {
  Calls ok_calls;
  Result<int> sum = Sum(&ok_calls, false, false);
  REQUIRE(sum.has_value());
  CHECK(*sum == 42);
  CHECK(ok_calls.result_calls == 2);
  CHECK(ok_calls.after == 1);

  Calls first;
  Result<int> failed = Sum(&first, true, false);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error() == agentcore::Conflict("value taken"));
  CHECK(first.result_calls == 1);  // evaluated once, then returned
  CHECK(first.after == 0);

  Calls second;
  CHECK(Sum(&second, false, true).status().code() == ErrorCode::kConflict);
  CHECK(second.result_calls == 2);
  CHECK(second.after == 0);
}

TEST_CASE("assigns to an existing variable and returns errors of another result type") {
  Calls calls;
  Result<std::string> ok = Describe(&calls, false);
  REQUIRE(ok.has_value());
  CHECK(*ok == "value 7");
  CHECK(calls.result_calls == 1);
  CHECK(calls.status_calls == 1);

  Calls failing;
  Result<std::string> bad = Describe(&failing, true);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code() == ErrorCode::kConflict);
  CHECK(failing.status_calls == 0);
}

TEST_CASE("moves a move-only value through AGENTCORE_ASSIGN_OR_RETURN") {
  Result<int> ok = Unbox(false);
  REQUIRE(ok.has_value());
  CHECK(*ok == 6);
  Result<int> bad = Unbox(true);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == agentcore::Internal("no box"));
}

}  // TEST_SUITE("Result")
