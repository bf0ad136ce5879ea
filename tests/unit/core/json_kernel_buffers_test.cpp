// SPDX-License-Identifier: Apache-2.0
// Issue 13 §1: the per-thread JSON parser does not keep the buffers a large document made it
// grow (a 900 KB message read on each of 64 pool threads held about 3 MB apiece for good).
#include "json/simd_kernel.hpp"

#include <doctest/doctest.h>

#include <string>

namespace agentcore::internal {

TEST_SUITE("JsonKernelBuffers") {
  TEST_CASE("a large document leaves the thread's parser buffers small, a small one keeps them") {
    JsonKernel& kernel = ThreadLocalJsonKernel();
    const std::string big = "\"" + std::string(900 * 1024, 'x') + "\"";
    auto parsed = kernel.ParseJson(big);
    REQUIRE(parsed.ok());
    CHECK(parsed->as_string().size() == 900 * 1024);
    CHECK(kernel.ParserCapacityForTesting() <= 64 * 1024);
    CHECK(kernel.PaddedCapacityForTesting() <= 64 * 1024);

    TymbalFrame frame;
    const std::string big_frame = R"({"i":"01JGZ5V7A1B2C3D4E5F6G7H8S2","a":")" +
                                  std::string(900 * 1024, 'y') + "\"}";
    CHECK(kernel.ParseFrame(big_frame, &frame).ok());
    CHECK(kernel.ParserCapacityForTesting() <= 64 * 1024);
    CHECK(kernel.PaddedCapacityForTesting() <= 64 * 1024);

    // Bad input of the same size: the buffers go too.
    const std::string bad = "[" + std::string(900 * 1024, '1') + ",";
    CHECK_FALSE(kernel.ParseJson(bad).ok());
    CHECK(kernel.ParserCapacityForTesting() <= 64 * 1024);

    // Below the threshold nothing is given back (the hot path keeps its buffers).
    const std::string mid = "\"" + std::string(100 * 1024, 'z') + "\"";
    REQUIRE(kernel.ParseJson(mid).ok());
    CHECK(kernel.PaddedCapacityForTesting() >= mid.size());
  }
}

}  // namespace agentcore::internal
