// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Errors are values at the library boundary. Every fallible call returns a `Status` (no
/// payload) or a `Result<T>` (see result.hpp). A `Status` is either OK or carries an
/// `ErrorCode` plus a lower-case message that names the object it is about, for example
/// `channel "ops" not found`. No exception leaves the library on purpose; only
/// `std::bad_alloc` may propagate.
///
/// The server maps each code to one HTTP status in exactly one place; the C binding returns the
/// code as an integer and the Python binding raises one exception class per code.

#include <cstdint>
#include <string>
#include <string_view>

#include <agentcore/export.hpp>

namespace agentcore {

/// What went wrong, in terms a caller can act on. The numeric values are stable: the C API
/// exposes them.
enum class ErrorCode : std::uint8_t {
  kOk = 0,
  kInvalidArgument = 1,   // bad input: malformed JSON, unknown field value, wrong type
  kUnauthenticated = 2,   // missing or wrong credentials
  kPermissionDenied = 3,  // credentials fine, action not allowed
  kNotFound = 4,          // lookup by key found nothing
  kAlreadyExists = 5,     // create with a key that is taken
  kConflict = 6,          // refused transition or failed compare-and-set
  kTooLarge = 7,          // input over a configured size limit
  kRateLimited = 8,       // caller must slow down
  kInternal = 9,          // a bug or an unexpected failure below us
  kNotSupported = 10,     // this backend lacks the capability
  kUnavailable = 11,      // a dependency is down; retrying later may work
  kDeadlineExceeded = 12, // a timeout expired
  kUnknownOutcome = 13,   // a write may or may not have been applied (connection lost mid-commit)
};

/// Stable lower-case name of a code, e.g. "not_found". Immutable static storage.
AGENTCORE_EXPORT std::string_view ErrorCodeName(ErrorCode code);

/// The outcome of an operation: OK, or an error code with a message. Cheap to copy when OK
/// (no allocation). Immutable after construction; safe to share between threads.
class [[nodiscard]] AGENTCORE_EXPORT Status {
 public:
  /// An OK status.
  Status() = default;
  /// REQUIRES: code != ErrorCode::kOk.
  Status(ErrorCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  /// Empty when OK.
  const std::string& message() const { return message_; }

  /// "ok", or "<code name>: <message>".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Shorthands used across the library; each takes the full message text.
inline Status InvalidArgument(std::string msg) {
  return Status(ErrorCode::kInvalidArgument, std::move(msg));
}
inline Status NotFound(std::string msg) { return Status(ErrorCode::kNotFound, std::move(msg)); }
inline Status AlreadyExists(std::string msg) {
  return Status(ErrorCode::kAlreadyExists, std::move(msg));
}
inline Status Conflict(std::string msg) { return Status(ErrorCode::kConflict, std::move(msg)); }
inline Status TooLarge(std::string msg) { return Status(ErrorCode::kTooLarge, std::move(msg)); }
inline Status Internal(std::string msg) { return Status(ErrorCode::kInternal, std::move(msg)); }
inline Status Unavailable(std::string msg) {
  return Status(ErrorCode::kUnavailable, std::move(msg));
}
inline Status NotSupported(std::string msg) {
  return Status(ErrorCode::kNotSupported, std::move(msg));
}

}  // namespace agentcore

/// Returns the status from the enclosing function if it is not OK.
#define AGENTCORE_RETURN_IF_ERROR(expr)              \
  do {                                               \
    ::agentcore::Status agentcore_status_ = (expr);  \
    if (!agentcore_status_.ok()) return agentcore_status_; \
  } while (false)
