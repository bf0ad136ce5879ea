// SPDX-License-Identifier: Apache-2.0
// Class-type temporaries inside co_await expressions: a by-value coroutine parameter given a
// temporary, and App::Offload given a capturing closure as a temporary. GCC 12 miscompiles both
// (byte-wise copies; the ASan run reports invalid frees), which is why the project builds with
// clang (top-level CMakeLists.txt). These cases keep the server's common patterns honest.

#include <string>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <doctest/doctest.h>

#include "server/server_fixture.hpp"

namespace agentcore::server::testing {
namespace {

struct Labels {
  std::string first = "short";  // fits the small-string buffer: the byte-wise copy case
  std::string second = std::string(100, 'x');
};

asio::awaitable<std::size_t> CountByValue(Labels labels) {
  co_return labels.first.size() + labels.second.size();
}

TEST_CASE("a temporary passed by value to a coroutine arrives intact") {
  asio::io_context io;
  std::size_t total = 0;
  asio::co_spawn(
      io,
      [&total]() -> asio::awaitable<void> {
        total = co_await CountByValue(Labels{});
        total += co_await CountByValue(Labels{"abc", "de"});
      },
      asio::detached);
  io.run();
  CHECK(total == 105 + 5);
}

TEST_CASE("Offload runs a closure given as a temporary and returns its result") {
  // The context outlives the server: the server's pool thread may still be inside its post of
  // the completion when io.run() returns (App::Stop joins the pool).
  asio::io_context io;
  ServerFixture server;
  std::vector<std::string> seen;
  App& app = server.app();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::vector<std::string> words = {"a", std::string(64, 'b')};
        std::string joined = co_await app.Offload([words = std::move(words)] {
          std::string out;
          for (const std::string& w : words) out += w;
          return out;
        });
        seen.push_back(joined);
        Result<Channel> missing = co_await app.Offload(
            [&app, id = std::string("01M80TQN339ZK8KEN5FHDAZDXP")] { return app.store().GetChannel(id); });
        seen.push_back(std::string(ErrorCodeName(missing.status().code())));
      },
      asio::detached);
  io.run();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == "a" + std::string(64, 'b'));
  CHECK(seen[1] == "not_found");
}

}  // namespace
}  // namespace agentcore::server::testing
