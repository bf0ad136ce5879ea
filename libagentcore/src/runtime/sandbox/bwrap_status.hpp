// SPDX-License-Identifier: Apache-2.0
#pragma once

// bubblewrap's --json-status-fd stream: one JSON object per line. The first carries
// "child-pid" (the sandbox's init process, as the host sees it) once the sandbox was cloned;
// the last, "exit-code" (the command's status, 128 + signal when a signal ended it) when
// bwrap ends normally. Bytes come from a child process, so lines are bounded and anything
// unexpected is an error, never a crash.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

namespace agentcore::internal {

// What one status line says. Other members (namespace ids) are ignored.
struct BwrapStatus {
  std::optional<std::int64_t> child_pid;  // > 1
  std::optional<int> exit_code;           // 0..255
};

// kInvalidArgument unless `line` is a JSON object whose "child-pid" (if present) is an integer
// in [2, 2^31) and whose "exit-code" (if present) is an integer in [0, 255].
Result<BwrapStatus> ParseBwrapStatusLine(std::string_view line);

// Splits the stream into lines ('\n'; a trailing '\r' is kept, blank lines skipped). A line
// longer than `max_line` is an error (kTooLarge), sticky: later Feed() calls return it again.
// Thread-compatible.
class BwrapStatusLines {
 public:
  static constexpr std::size_t kDefaultMaxLine = 4096;
  using LineFn = std::function<void(std::string_view line)>;
  explicit BwrapStatusLines(LineFn on_line, std::size_t max_line = kDefaultMaxLine);
  Status Feed(std::string_view bytes);

 private:
  LineFn on_line_;
  std::size_t max_line_;
  std::string partial_;
  Status error_;
};

}  // namespace agentcore::internal
