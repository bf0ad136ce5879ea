// SPDX-License-Identifier: Apache-2.0
#pragma once

// Human output: aligned tables, colours (only on a terminal, never with NO_COLOR or
// --no-color), a live progress line on stderr (only when stderr is a terminal), and --json,
// which prints the server's JSON as it came.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/json.hpp>

#include "ctl.hpp"

namespace agentcore::ctl {

enum class Colour { kNone, kGreen, kYellow, kRed, kDim, kBold };

struct Output {
  bool json = false;
  bool colour = false;        // stdout is a terminal and colours are allowed
  bool progress = false;      // stderr is a terminal: progress lines are drawn

  static Output Detect(const GlobalFlags& flags);

  /// `text` in `colour` when colours are on.
  std::string Paint(std::string_view text, Colour c) const;
  /// A state name painted by meaning: running/active/succeeded green, failed/error red,
  /// paused/stopped/cancelled yellow.
  std::string State(std::string_view state) const;
  /// Prints one line to stdout and flushes it (a pipe sees each line as it comes).
  void Line(std::string_view text) const;
};

/// A string member of `v`, or `fallback`; numbers and booleans as text.
std::string Text(const Json& v, std::string_view key, std::string_view fallback = "-");

/// Replaces control characters (an ESC from the server must not drive the terminal) and cuts
/// `text` to `max` code points with an ellipsis (0: no limit). Newlines become spaces.
std::string Cell(std::string_view text, std::size_t max = 0);

/// Columns padded to their widest cell; the header dimmed.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void Print(const Output& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

/// One line on stderr rewritten in place ("\r" + erase) while a long operation runs; nothing
/// at all when stderr is not a terminal. The destructor clears it.
class ProgressLine {
 public:
  explicit ProgressLine(const Output& out) : enabled_(out.progress) {}
  ~ProgressLine() { Clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  void Show(std::string_view text);
  void Clear();

 private:
  bool enabled_;
  bool shown_ = false;
};

/// "1.5 MiB" style sizes and "2.0 MiB/s" rates for progress lines.
std::string HumanBytes(double bytes);

}  // namespace agentcore::ctl
