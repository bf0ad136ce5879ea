// SPDX-License-Identifier: Apache-2.0
// agentcore: command-line access to the library's Tymbal and @mention code.
#include <agentcore/version.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"agentcore " AGENTCORE_VERSION_STRING ": Tymbal files, @mentions, API keys, invite codes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", AGENTCORE_VERSION_STRING);
  int exit_code = 0;
  agentcore::cli::AddTymbalCommands(app, &exit_code);
  agentcore::cli::AddMentionCommands(app, &exit_code);
  agentcore::cli::AddKeyCommands(app, &exit_code);
  agentcore::cli::AddInviteCommands(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
