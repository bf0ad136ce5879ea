// SPDX-License-Identifier: Apache-2.0
#pragma once

// What every agentctl command shares: the resolved settings (URL, key, output mode), the exit
// codes, the error that ends a command with one of them, and the registration functions of
// the command groups (one file each).

#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace agentcore::ctl {

/// Exit codes (docs/agentctl.md "Exit codes"): scripts branch on them.
enum ExitCode : int {
  kExitOk = 0,
  kExitServerError = 1,   // the server answered with an error (4xx other than below, 5xx)
  kExitUsage = 2,         // bad command line or configuration
  kExitUnreachable = 3,   // no answer: connection refused, name not resolved, timeout
  kExitUnauthorized = 4,  // 401 or 403: missing, bad or insufficient credentials
  kExitNotFound = 5,      // 404: unknown channel, agent, run, session, key...
};

/// Ends the running command: main prints `message` to stderr and exits with `code`.
class CtlError : public std::runtime_error {
 public:
  CtlError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

/// Global options, as given on the command line (before the environment and the file).
struct GlobalFlags {
  std::string url;
  std::string api_key;
  std::string config_path;  // default: $XDG_CONFIG_HOME/agentctl/config
  bool json = false;
  bool no_color = false;
};

/// A command's action runs after the whole command line is parsed (global options given after
/// the subcommand count too); registration functions store it here.
using Action = std::function<void()>;

class Api;
struct Output;

/// What command groups get at registration: the flags, the action slot and, once parsing is
/// done, the API client and output (built lazily: `config` and `completions` need no server).
struct Ctl {
  GlobalFlags flags;
  Action action;
  std::function<Api&()> api;
  std::function<Output&()> out;
};

void AddChatCommands(CLI::App& app, Ctl& ctl);     // status, channels, messages, agents
void AddRunCommands(CLI::App& app, Ctl& ctl);      // runs
void AddSessionCommands(CLI::App& app, Ctl& ctl);  // sessions
void AddAdminCommands(CLI::App& app, Ctl& ctl);    // keys, invite-codes
void AddConfigCommands(CLI::App& app, Ctl& ctl);   // config
void AddCompletionCommands(CLI::App& app, Ctl& ctl);  // completions

}  // namespace agentcore::ctl
