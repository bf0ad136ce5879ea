// SPDX-License-Identifier: Apache-2.0
#pragma once

// What every file of the C API shares: turning a Status into `*errptr`, copying results into
// malloc'ed buffers, checking arguments, and the guard that keeps exceptions inside.

#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

#include "agentcore/agentcore_c.h"

namespace agentcore::c_api {

/// Stores "<code name>: <message>" in `*errptr` (freeing what it held) when errptr is not null.
/// Returns the code as an int, so `return SetError(...)` ends an int-status function.
int SetError(char** errptr, const Status& status);
/// kInvalidArgument "<what> must not be NULL".
int NullArgument(char** errptr, std::string_view what);

/// A malloc'ed, NUL-terminated copy of `s` (its length in `*len` when len is not null), or
/// nullptr with kInternal in `*errptr` when malloc fails.
char* CopyOut(std::string_view s, std::size_t* len, char** errptr);

/// `s` as a view; "" for null.
inline std::string_view View(const char* s) { return s == nullptr ? std::string_view() : s; }
/// A borrowed string result: its data, its length in `*len`.
inline const char* Borrow(const std::string& s, std::size_t* len) {
  if (len != nullptr) *len = s.size();
  return s.c_str();
}

/// kInvalidArgument "<what> must be valid UTF-8" unless `s` is.
Status CheckUtf8(std::string_view what, std::string_view s);
/// Parses JSON given by a caller: kInvalidArgument "<what> is not valid JSON: <reason>".
Result<Json> ParseCallerJson(std::string_view what, const char* json);

/// Runs `body`, turning an exception into kInternal in `*errptr` and returning `on_error`.
/// Every entry point that can allocate goes through it: no exception crosses the C boundary.
template <typename R, typename F>
R Guard(char** errptr, R on_error, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    SetError(errptr, Status(ErrorCode::kInternal, "out of memory"));
  } catch (const std::exception& e) {
    SetError(errptr, Status(ErrorCode::kInternal, std::string("unexpected exception: ") + e.what()));
  } catch (...) {
    SetError(errptr, Status(ErrorCode::kInternal, "unexpected exception"));
  }
  return on_error;
}

}  // namespace agentcore::c_api
