// SPDX-License-Identifier: Apache-2.0
#pragma once

/// `Result<T>` holds either a value or a non-OK `Status`. It uses `std::expected`'s member names
/// (`has_value()`, `value()`, `operator*`, `operator->`) plus `status()`, so moving to
/// `std::expected` under C++23 stays mechanical. Thread-compatible, like the `T` it holds.

#include <cassert>
#include <utility>
#include <variant>

#include <agentcore/status.hpp>

namespace agentcore {

template <typename T>
class [[nodiscard]] Result {
 public:
  /// A result holding `value`.
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  /// A result holding an error. REQUIRES: !status.ok().
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(v_).ok());
  }

  bool has_value() const { return v_.index() == 0; }
  bool ok() const { return has_value(); }
  explicit operator bool() const { return has_value(); }

  /// REQUIRES: has_value().
  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// OK when a value is held, else the error.
  Status status() const { return has_value() ? Status() : std::get<1>(v_); }
  /// REQUIRES: !has_value().
  const Status& error() const { assert(!has_value()); return std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace agentcore

/// Evaluates `rexpr` (a Result); on error returns its status, else moves the value into `lhs`.
#define AGENTCORE_ASSIGN_OR_RETURN(lhs, rexpr)                    \
  AGENTCORE_ASSIGN_OR_RETURN_IMPL_(AGENTCORE_CONCAT_(agentcore_r_, __LINE__), lhs, rexpr)
#define AGENTCORE_CONCAT_INNER_(a, b) a##b
#define AGENTCORE_CONCAT_(a, b) AGENTCORE_CONCAT_INNER_(a, b)
#define AGENTCORE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                     \
  if (!tmp.has_value()) return tmp.error();               \
  lhs = std::move(tmp).value()
