// SPDX-License-Identifier: Apache-2.0
// The Fly runtime's decoders of Machines API answers and its backoff (runtime/fly/fly_api.hpp).
#include "runtime/fly/fly_api.hpp"

#include <chrono>
#include <cstdint>
#include <string>

#include <doctest/doctest.h>

namespace agentcore::internal {
namespace {

using std::chrono::milliseconds;

TEST_SUITE("runtime/fly_api") {
  TEST_CASE("a machine object gives id, state, metadata and the newest exit event") {
    Result<FlyMachine> m = ParseFlyMachine(R"({
      "id": "e2865", "state": "stopped", "region": "iad", "instance_id": "01J",
      "config": {"metadata": {"agentcore_instance": "a", "n": 3}},
      "events": [
        {"type": "exit", "timestamp": 2000, "request": {"exit_event": {"exit_code": 3, "signal": -1}}},
        {"type": "start", "timestamp": 1500},
        {"type": "exit", "timestamp": 1000, "request": {"exit_event": {"exit_code": 0}}}
      ]})");
    REQUIRE(m.ok());
    CHECK(m->id == "e2865");
    CHECK(m->state == "stopped");
    CHECK(m->region == "iad");
    CHECK(m->instance_id == "01J");
    CHECK(m->metadata.size() == 1);  // string values only
    CHECK(m->metadata.at("agentcore_instance") == "a");
    REQUIRE(m->exit_code);
    CHECK(*m->exit_code == 3);
    CHECK(m->exit_signal == 0);
  }

  TEST_CASE("a signal in the exit event is kept; junk events are skipped") {
    Result<FlyMachine> m = ParseFlyMachine(R"({"id": "x", "events": [
        {"type": "exit", "request": {"exit_event": {"exit_code": 137, "signal": 9}}},
        {"type": "exit", "request": {"exit_event": {"exit_code": "3"}}},
        {"type": "exit", "request": 5}, 7, null]})");
    REQUIRE(m.ok());
    REQUIRE(m->exit_code);
    CHECK(*m->exit_code == 137);
    CHECK(m->exit_signal == 9);
    Result<FlyMachine> none = ParseFlyMachine(R"({"id": "x", "events": "no"})");
    REQUIRE(none.ok());
    CHECK(!none->exit_code);
  }

  TEST_CASE("what is not a machine or a machine list is refused") {
    CHECK(!ParseFlyMachine("").ok());
    CHECK(!ParseFlyMachine("[]").ok());
    CHECK(!ParseFlyMachine(R"({"id": 3})").ok());
    CHECK(!ParseFlyMachine(R"({"id": ""})").ok());
    CHECK(!ParseFlyMachineList(R"({"id": "x"})").ok());
    CHECK(!ParseFlyMachineList("[").ok());
    Result<std::vector<FlyMachine>> list =
        ParseFlyMachineList(R"([{"id": "a"}, 1, {"x": 2}, {"id": "b"}])");
    REQUIRE(list.ok());
    REQUIRE(list->size() == 2);
    CHECK((*list)[1].id == "b");
  }

  TEST_CASE("error text is Fly's error field, else the body, cut and cleaned") {
    CHECK(FlyErrorText(404, R"({"error":"machine not found"})") == "404 machine not found");
    CHECK(FlyErrorText(502, "Bad\r\nGateway\n") == "502 Bad  Gateway");
    CHECK(FlyErrorText(500, "") == "500");
    CHECK(FlyErrorText(500, std::string(1000, 'x')).size() == 4 + 200);
  }

  TEST_CASE("Retry-After takes delta-seconds only") {
    CHECK(ParseRetryAfter("2") == milliseconds(2000));
    CHECK(ParseRetryAfter(" 0 ") == milliseconds(0));
    CHECK(!ParseRetryAfter(""));
    CHECK(!ParseRetryAfter("-1"));
    CHECK(!ParseRetryAfter("1.5"));
    CHECK(!ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"));
    CHECK(!ParseRetryAfter("99999999999999999999"));
  }

  TEST_CASE("backoff: full jitter under an exponential ceiling, Retry-After raises it, cap holds") {
    const milliseconds base(100), cap(1000);
    for (std::uint64_t r : {0ULL, 1ULL, 57ULL, 99ULL, 100ULL, 12345ULL, ~0ULL}) {
      CHECK(FlyBackoff(1, base, cap, std::nullopt, r) <= milliseconds(100));
      CHECK(FlyBackoff(3, base, cap, std::nullopt, r) <= milliseconds(400));
      CHECK(FlyBackoff(30, base, cap, std::nullopt, r) <= cap);
      CHECK(FlyBackoff(2, base, cap, milliseconds(700), r) >= milliseconds(700));
      CHECK(FlyBackoff(2, base, cap, milliseconds(5000), r) == cap);
    }
    CHECK(FlyBackoff(3, base, cap, std::nullopt, 400) == milliseconds(400));
    CHECK(FlyBackoff(3, base, cap, std::nullopt, 401) == milliseconds(0));
    CHECK(FlyBackoff(1000000, milliseconds(0), cap, std::nullopt, 5) == milliseconds(0));
  }
}

}  // namespace
}  // namespace agentcore::internal
