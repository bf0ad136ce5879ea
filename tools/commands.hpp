// SPDX-License-Identifier: Apache-2.0
#pragma once

// Subcommands of the `agentcore` tool; each registers itself on the CLI11 app.

#include <string>

#include <CLI/CLI.hpp>

namespace agentcore::cli {

// `agentcore tymbal check FILE` and `agentcore tymbal assemble FILE`.
void AddTymbalCommands(CLI::App& app, int* exit_code);
// `agentcore mentions TEXT`.
void AddMentionCommands(CLI::App& app, int* exit_code);
// `agentcore api-key create|list|revoke`.
void AddKeyCommands(CLI::App& app, int* exit_code);
// `agentcore invite-codes generate|list|revoke`.
void AddInviteCommands(CLI::App& app, int* exit_code);

// The server's default database (--database-url's default): env DATABASE_URL, else
// sqlite://$XDG_DATA_HOME/agentcore/agentcore.db (DefaultDataHome()).
std::string DefaultDatabaseUrl();

}  // namespace agentcore::cli
