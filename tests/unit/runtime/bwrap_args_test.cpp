// SPDX-License-Identifier: Apache-2.0
#include "runtime/sandbox/bwrap_args.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace {

using agentcore::SessionNetwork;
using agentcore::SessionSpec;
using agentcore::internal::BwrapArgs;
using agentcore::internal::ValidateSandboxSpec;

// Whether `args` has `seq` as consecutive elements.
bool Has(const std::vector<std::string>& args, std::vector<std::string> seq) {
  return std::search(args.begin(), args.end(), seq.begin(), seq.end()) != args.end();
}

TEST_SUITE("runtime/bwrap_args") {
  TEST_CASE("the command line isolates, mounts, sets the environment and ends with the command") {
    agentcore::testing::TempDir dir("bwrap-args");
    SessionSpec spec;
    spec.session_id = "s";
    spec.command = {"sh", "-c", "echo hi"};
    spec.workspace_dir = dir.path();
    spec.env = {{"FOO", "bar"}};
    REQUIRE(ValidateSandboxSpec(spec).ok());
    auto args = BwrapArgs("/usr/bin/bwrap", spec, {"/usr", "/nonexistent-path", "relative"}, 3);
    CHECK(args.front() == "/usr/bin/bwrap");
    CHECK(Has(args, {"--unshare-all"}));
    CHECK_FALSE(Has(args, {"--share-net"}));
    CHECK(Has(args, {"--die-with-parent"}));
    CHECK(Has(args, {"--new-session"}));
    CHECK(Has(args, {"--cap-drop", "ALL"}));
    CHECK(Has(args, {"--ro-bind", "/usr", "/usr"}));
    CHECK_FALSE(Has(args, {"--ro-bind", "/nonexistent-path", "/nonexistent-path"}));
    CHECK_FALSE(Has(args, {"--ro-bind", "relative", "relative"}));
    CHECK(Has(args, {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"}));
    CHECK(Has(args, {"--bind", dir.path(), "/workspace"}));
    CHECK(Has(args, {"--chdir", "/workspace"}));
    CHECK(Has(args, {"--clearenv"}));
    CHECK(Has(args, {"--setenv", "HOME", "/workspace"}));
    CHECK(Has(args, {"--setenv", "FOO", "bar"}));
    CHECK(Has(args, {"--json-status-fd", "3", "--", "sh", "-c", "echo hi"}));
    CHECK(args.back() == "echo hi");

    spec.network = SessionNetwork::kExposed;
    spec.work_dir = "/workspace/app";
    spec.env = {{"HOME", "/tmp"}};
    auto exposed = BwrapArgs("bwrap", spec, {}, 7);
    CHECK(Has(exposed, {"--unshare-all", "--share-net"}));
    CHECK(Has(exposed, {"--chdir", "/workspace/app"}));
    CHECK(Has(exposed, {"--setenv", "HOME", "/tmp"}));
    CHECK_FALSE(Has(exposed, {"--setenv", "HOME", "/workspace"}));
    CHECK(Has(exposed, {"--json-status-fd", "7"}));
  }

  TEST_CASE("an argument that looks like a bwrap option stays the command's") {
    agentcore::testing::TempDir dir("bwrap-args");
    SessionSpec spec;
    spec.session_id = "s";
    spec.command = {"--bind", "/", "/"};
    spec.workspace_dir = dir.path();
    REQUIRE(ValidateSandboxSpec(spec).ok());
    auto args = BwrapArgs("bwrap", spec, {}, 3);
    CHECK(Has(args, {"--", "--bind", "/", "/"}));
    CHECK(args.back() == "/");
  }

  TEST_CASE("memoryMB beyond any machine is refused") {
    agentcore::testing::TempDir dir("bwrap-args");
    SessionSpec spec;
    spec.session_id = "s";
    spec.command = {"true"};
    spec.workspace_dir = dir.path();
    spec.resources.memory_mb = std::int64_t{1} << 50;
    CHECK(ValidateSandboxSpec(spec).code() == agentcore::ErrorCode::kInvalidArgument);
    spec.resources.memory_mb = 512;
    CHECK(ValidateSandboxSpec(spec).ok());
    spec.resources.cpu_millis = -1;
    CHECK(ValidateSandboxSpec(spec).code() == agentcore::ErrorCode::kInvalidArgument);
  }
}

}  // namespace
