// SPDX-License-Identifier: Apache-2.0
// agentctl: control a running agentcore-server over its HTTP API (docs/agentctl.md).
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>

#include <agentcore/version.hpp>

#include "api.hpp"
#include "ctl.hpp"
#include "output.hpp"

int main(int argc, char** argv) {
  using namespace agentcore::ctl;
  CLI::App app{"agentctl " AGENTCORE_VERSION_STRING
               ": control a running agentcore-server (docs/agentctl.md)"};
  app.set_version_flag("--version", AGENTCORE_VERSION_STRING);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  Ctl ctl;
  app.add_option("--url", ctl.flags.url, "Server URL (env AGENTCORE_URL; default " +
                                             std::string(kDefaultUrl) + ")");
  app.add_option("--api-key", ctl.flags.api_key,
                 "API key or session JWT, sent as Bearer (env AGENTCORE_API_KEY)");
  app.add_option("--config", ctl.flags.config_path,
                 "Config file (default $XDG_CONFIG_HOME/agentctl/config)");
  app.add_flag("--json", ctl.flags.json, "Print the server's JSON instead of tables");
  app.add_flag("--no-color", ctl.flags.no_color, "No colours (also env NO_COLOR)");
  app.footer(
      "Exit codes: 0 ok, 1 server error, 2 usage, 3 cannot connect, 4 unauthorized, "
      "5 not found.");

  std::unique_ptr<Api> api;
  std::optional<Output> out;
  ctl.out = [&]() -> Output& {
    if (!out) out = Output::Detect(ctl.flags);
    return *out;
  };
  ctl.api = [&]() -> Api& {
    if (!api) api = std::make_unique<Api>(ResolveSettings(ctl.flags));
    return *api;
  };

  AddChatCommands(app, ctl);
  AddRunCommands(app, ctl);
  AddSessionCommands(app, ctl);
  AddAdminCommands(app, ctl);
  AddConfigCommands(app, ctl);
  AddCompletionCommands(app, ctl);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, the version or the usage error
    return code == 0 ? kExitOk : kExitUsage;
  }
  try {
    if (ctl.action) ctl.action();
    return kExitOk;
  } catch (const CtlError& e) {
    std::fprintf(stderr, "agentctl: %s\n", e.what());
    return e.code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agentctl: %s\n", e.what());
    return kExitServerError;
  }
}
