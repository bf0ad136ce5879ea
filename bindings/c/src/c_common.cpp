// SPDX-License-Identifier: Apache-2.0
// Memory, errors and version of the C API, and the helpers of c_common.hpp.

#include "c_common.hpp"

#include <cstdlib>

#include <agentcore/version.hpp>

#include "json/utf8.hpp"

namespace agentcore::c_api {

namespace {

// Allocates and fills a NUL-terminated message; nullptr when malloc fails.
char* DupMessage(const std::string& text) noexcept {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out == nullptr) return nullptr;
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
  return out;
}

}  // namespace

int SetError(char** errptr, const Status& status) {
  const int code = static_cast<int>(status.code());
  if (errptr == nullptr) return code;
  std::free(*errptr);
  *errptr = nullptr;
  try {
    *errptr = DupMessage(status.ToString());
  } catch (...) {
    // ToString could not allocate: the caller still learns that the call failed from its
    // return value; a static message cannot be handed out (the caller frees it).
  }
  return code;
}

int NullArgument(char** errptr, std::string_view what) {
  return SetError(errptr, InvalidArgument(std::string(what) + " must not be NULL"));
}

char* CopyOut(std::string_view s, std::size_t* len, char** errptr) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) {
    SetError(errptr, Status(ErrorCode::kInternal, "out of memory"));
    return nullptr;
  }
  if (!s.empty()) std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  if (len != nullptr) *len = s.size();
  return out;
}

Status CheckUtf8(std::string_view what, std::string_view s) {
  if (internal::IsValidUtf8(s)) return Status::Ok();
  return InvalidArgument(std::string(what) + " must be valid UTF-8");
}

Result<Json> ParseCallerJson(std::string_view what, const char* json) {
  Result<Json> parsed = ParseJson(json);
  if (!parsed.ok()) {
    return InvalidArgument(std::string(what) + " is not valid JSON: " + parsed.status().message());
  }
  return parsed;
}

}  // namespace agentcore::c_api

using namespace agentcore;

extern "C" {

void ac_free(void* ptr) { std::free(ptr); }

const char* ac_code_name(int code) {
  if (code < 0 || code > static_cast<int>(ErrorCode::kUnknownOutcome)) return "unknown";
  // ErrorCodeName returns views of string literals: NUL-terminated, static.
  return ErrorCodeName(static_cast<ErrorCode>(code)).data();
}

int ac_error_code(const char* message) {
  if (message == nullptr) return AC_OK;
  const std::string_view text(message);
  for (int code = AC_INVALID_ARGUMENT; code <= AC_UNKNOWN_OUTCOME; ++code) {
    const std::string_view name = ac_code_name(code);
    if (text.size() > name.size() && text.starts_with(name) && text[name.size()] == ':') {
      return code;
    }
  }
  return AC_INTERNAL;
}

const char* ac_version(void) { return AGENTCORE_VERSION_STRING; }

}  // extern "C"
