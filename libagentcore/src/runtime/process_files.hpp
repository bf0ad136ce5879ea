// SPDX-License-Identifier: Apache-2.0
#pragma once

// The local process runtime's files and its view of /proc: agent directory names, the pid
// file format, and the identity of a process (start time + boot id) that makes orphan reaping
// safe against pid reuse.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

namespace agentcore::internal {

// The directory name of an agent under data_dir/agents: each of the three parts of the id
// percent-escaped (every byte outside [A-Za-z0-9_-]) and the parts joined by '.', so names are
// unique, reversible and never "." or "..". REQUIRES: ValidateRuntimeAgentId(agent_id).ok().
std::string AgentDirName(std::string_view agent_id);

// What a pid file records about a running agent.
struct PidRecord {
  std::string agent_id;
  int pid = 0;
  // Field 22 of /proc/<pid>/stat: clock ticks after boot at which the process started. With the
  // boot id it identifies the process; a pid reused later has a later start time.
  std::uint64_t start_time = 0;
  std::string boot_id;
  std::int64_t started_at = 0;  // Clock time, informational
};

// Text form: a header line, then one `key=value` per line.
std::string FormatPidRecord(const PidRecord& record);
// kInvalidArgument for anything FormatPidRecord() cannot have written.
Result<PidRecord> ParsePidRecord(std::string_view text);

// Writes `content` to `path` atomically (temporary file, fsync, rename), so a crash leaves the
// old file or the new one, never half of one. kInternal with errno text on failure.
Status WriteFileAtomically(const std::string& path, std::string_view content);
// The whole file; kNotFound when it does not exist, kInternal for other errors.
Result<std::string> ReadSmallFile(const std::string& path);

// The parts of /proc/<pid>/stat the runtime needs.
struct ProcStat {
  char state = '?';  // R, S, D, Z (zombie), X (dead), T, ...
  std::uint64_t start_time = 0;
  bool dead() const { return state == 'Z' || state == 'X'; }
};
// std::nullopt when there is no such process (or /proc cannot be read).
std::optional<ProcStat> ReadProcStat(int pid);

// /proc/sys/kernel/random/boot_id without the newline; empty when unreadable.
std::string ReadBootId();

}  // namespace agentcore::internal
