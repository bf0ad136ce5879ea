// SPDX-License-Identifier: Apache-2.0
#pragma once

// Where agentctl finds the server and its credential. Each setting comes from the first of:
// the command-line flag, the environment (AGENTCORE_URL, AGENTCORE_API_KEY), the config file
// ($XDG_CONFIG_HOME/agentctl/config, default ~/.config/agentctl/config), a default (the URL
// http://127.0.0.1:3000; no key). The file is a JSON object {"url": ..., "apiKey": ...}, read
// with the library's JSON parser; `agentctl config set` writes it with mode 0600 (it holds a
// secret).

#include <string>

#include "ctl.hpp"

namespace agentcore::ctl {

inline constexpr const char* kDefaultUrl = "http://127.0.0.1:3000";

struct Settings {
  std::string url;
  std::string api_key;
  std::string url_source;  // "flag", "env", "file" or "default": `config show` says which
  std::string api_key_source;
};

/// The config file's path: `flags.config_path` when given, else the XDG location.
std::string ConfigPath(const GlobalFlags& flags);

/// The settings by precedence flags > env > file > default. Throws CtlError (kExitUsage) when
/// the file exists but is not a JSON object of strings, or the URL is not http(s).
Settings ResolveSettings(const GlobalFlags& flags);

/// Sets `name` ("url" or "api-key") in the file at `path`, creating it (and its directory)
/// with owner-only permissions; other members are kept. Throws CtlError.
void WriteConfigValue(const std::string& path, const std::string& name, const std::string& value);

}  // namespace agentcore::ctl
