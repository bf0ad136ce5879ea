// SPDX-License-Identifier: Apache-2.0
#include "runtime/sandbox/bwrap_status.hpp"

#include <cmath>
#include <utility>

#include <fmt/format.h>

#include <agentcore/json.hpp>

namespace agentcore::internal {
namespace {

// An integral JSON number in [lo, hi], or nullopt.
std::optional<std::int64_t> IntegerIn(const Json& v, std::int64_t lo, std::int64_t hi) {
  if (!v.is_number()) return std::nullopt;
  const double d = v.as_number();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) ||
      d > static_cast<double>(hi)) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(d);
}

}  // namespace

Result<BwrapStatus> ParseBwrapStatusLine(std::string_view line) {
  auto json = ParseJson(line);
  if (!json) return InvalidArgument("bwrap status line is not JSON");
  if (!json->is_object()) return InvalidArgument("bwrap status line is not a JSON object");
  BwrapStatus status;
  if (const Json* pid = json->Find("child-pid")) {
    status.child_pid = IntegerIn(*pid, 2, 0x7fffffff);
    if (!status.child_pid) return InvalidArgument("bwrap status has a bad child-pid");
  }
  if (const Json* code = json->Find("exit-code")) {
    auto value = IntegerIn(*code, 0, 255);
    if (!value) return InvalidArgument("bwrap status has a bad exit-code");
    status.exit_code = static_cast<int>(*value);
  }
  return status;
}

BwrapStatusLines::BwrapStatusLines(LineFn on_line, std::size_t max_line)
    : on_line_(std::move(on_line)), max_line_(max_line) {}

Status BwrapStatusLines::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    if (partial_.size() + piece.size() > max_line_) {
      error_ = TooLarge(fmt::format("bwrap status line longer than {} bytes", max_line_));
      partial_.clear();
      return error_;
    }
    if (nl == std::string_view::npos) {
      partial_.append(piece);
      return Status::Ok();
    }
    bytes.remove_prefix(nl + 1);
    if (partial_.empty()) {
      if (!piece.empty()) on_line_(piece);
    } else {
      partial_.append(piece);
      std::string line = std::move(partial_);
      partial_.clear();
      on_line_(line);
    }
  }
  return Status::Ok();
}

}  // namespace agentcore::internal
