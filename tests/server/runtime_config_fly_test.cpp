// SPDX-License-Identifier: Apache-2.0
// --runtime fly: the settings Cast names (FLY_API_TOKEN, FLY_APP_NAME, FLY_REGION, FLY_IMAGE)
// become a Fly runtime spec, and a start without them is refused with a clear message.
#include "runtime_config.hpp"

#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "support/fake_fly_api.hpp"

namespace agentcore::server {
namespace {

ServerConfig FlyConfig() {
  ServerConfig c;
  c.runtime = "fly";
  c.fly_api_token = "tok-secret";
  c.fly_app_name = "agents-app";
  c.fly_image = "registry.fly.io/agents-app:latest";
  return c;
}

TEST_SUITE("server/runtime_config") {
  TEST_CASE("fly refuses to start without a token, an app or an image, naming the variable") {
    auto refused = [](ServerConfig c, std::string_view text) {
      Result<std::vector<RuntimeSpec>> specs = RuntimeSpecsFrom(c);
      REQUIRE(!specs.ok());
      CHECK(specs.status().code() == ErrorCode::kInvalidArgument);
      CHECK(specs.status().message().find(text) != std::string::npos);
    };
    ServerConfig no_token = FlyConfig();
    no_token.fly_api_token.clear();
    refused(no_token, "FLY_API_TOKEN");
    ServerConfig no_app = FlyConfig();
    no_app.fly_app_name.clear();
    refused(no_app, "FLY_APP_NAME");
    ServerConfig no_image = FlyConfig();
    no_image.fly_image.clear();
    refused(no_image, "FLY_IMAGE");
  }

  TEST_CASE("fly settings open a Fly runtime that creates machines in the app and region") {
    testing::FakeFlyApi api("agents-app", "tok-secret");
    ServerConfig c = FlyConfig();
    c.fly_region = "cdg";
    c.fly_api_url = api.BaseUrl();
    Result<std::vector<RuntimeSpec>> specs = RuntimeSpecsFrom(c);
    REQUIRE(specs.ok());
    REQUIRE(specs->size() == 1);
    CHECK((*specs)[0].name == "fly");
    CHECK((*specs)[0].agent_types == std::vector<std::string>{"*"});
    Result<std::unique_ptr<Runtime>> rt = (*specs)[0].open(RuntimeOptions{});
    REQUIRE(rt.ok());
    CHECK((*rt)->Kind() == "fly");
    ActivateRequest req;
    req.agent_id = "s:c:echo";
    req.agent_type = "echo";
    REQUIRE((*rt)->Activate(req).ok());
    auto live = api.Live();
    REQUIRE(live.size() == 1);
    CHECK(live[0].region == "cdg");
    CHECK(*live[0].config.FindString("image") == "registry.fly.io/agents-app:latest");
    CHECK((*rt)->Shutdown().ok());
    CHECK(api.Live().empty());
  }
}

}  // namespace
}  // namespace agentcore::server
