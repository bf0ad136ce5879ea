// SPDX-License-Identifier: Apache-2.0
#pragma once

// Subcommands of the `agentcore` tool; each registers itself on the CLI11 app.

#include <CLI/CLI.hpp>

namespace agentcore::cli {

// `agentcore tymbal check FILE` and `agentcore tymbal assemble FILE`.
void AddTymbalCommands(CLI::App& app, int* exit_code);
// `agentcore mentions TEXT`.
void AddMentionCommands(CLI::App& app, int* exit_code);
// `agentcore api-key create|list|revoke`.
void AddKeyCommands(CLI::App& app, int* exit_code);

}  // namespace agentcore::cli
