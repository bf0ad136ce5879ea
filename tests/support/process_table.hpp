// SPDX-License-Identifier: Apache-2.0
#pragma once

// A look at the process table (/proc) for tests whose servers start agent processes: the live
// processes of one agent binary that a given server started (found by the CAST_API_URL it gave
// them, orphans of a killed server included), and whether a pid is still a live process.
// Test support only.

#include <dirent.h>
#include <sys/types.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>

namespace agentcore::testing {

/// The pids of the live (not zombie) processes of `binary` (compared by file name) whose
/// CAST_API_URL names 127.0.0.1:`port`: the agents told to reach the server on that port.
inline std::set<pid_t> AgentPids(const std::string& binary, int port) {
  std::set<pid_t> out;
  const std::string exe = std::filesystem::path(binary).filename().string();
  const std::string url = "CAST_API_URL=http://127.0.0.1:" + std::to_string(port);
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    const std::string base = "/proc/" + std::string(entry->d_name);
    std::ifstream cmd_in(base + "/cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(cmd_in)), {});
    const std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
    if (std::filesystem::path(argv0).filename().string() != exe) continue;
    std::ifstream env_in(base + "/environ", std::ios::binary);
    std::string env((std::istreambuf_iterator<char>(env_in)), {});
    std::size_t at = 0;
    while (at < env.size()) {
      std::size_t nul = env.find('\0', at);
      if (nul == std::string::npos) nul = env.size();
      std::string_view var(env.data() + at, nul - at);
      // The url, then the end of the port: "/…" or nothing.
      if (var.starts_with(url) && (var.size() == url.size() || var[url.size()] == '/')) {
        out.insert(static_cast<pid_t>(pid));
      }
      at = nul + 1;
    }
  }
  ::closedir(proc);
  return out;
}

/// Whether `pid` is still a process that is not a zombie.
inline bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const std::size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

}  // namespace agentcore::testing
