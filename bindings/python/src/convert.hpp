// SPDX-License-Identifier: Apache-2.0
#pragma once

// What every part of the Python module shares: the Python-side types (agentcore/_types.py),
// library errors as Python exceptions, JSON values and frames in both directions, and text
// arguments as UTF-8 views without copies.

#include <Python.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // in every part: casters must be the same in each translation unit

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>

#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <agentcore/tymbal/frame.hpp>

namespace agentcore::python {

namespace py = pybind11;

// The classes of agentcore/_types.py, looked up once when the module loads. Never freed: the
// interpreter may outlive static destructors.
struct PyTypes {
  py::object frame, invalid_line, message, assembly, mentions, routing_roster, routing,
      roster_transition, channel, roster_entry, stored_message, posted_message, presence, event;
  py::object parse_error;
  py::dict errors_by_code;  // code name -> class
  py::object error;         // the base class
  // The kind names of frames, as interned str, indexed by FrameKind.
  PyObject* kind_names[8] = {};
};
const PyTypes& Types();
void LoadTypes();

// A library error on its way to Python: thrown by C++ code of the module, translated into the
// exception class of its code (InvalidArgument, NotFound, ...) by the registered translator.
class StatusError : public std::exception {
 public:
  explicit StatusError(Status status) : status_(std::move(status)) {}
  const char* what() const noexcept override { return status_.message().c_str(); }
  const Status& status() const { return status_; }

 private:
  Status status_;
};
void RegisterErrorTranslator();

inline void Check(const Status& status) {
  if (!status.ok()) throw StatusError(status);
}
template <typename T>
T Unwrap(Result<T>&& result) {
  if (!result.ok()) throw StatusError(result.status());
  return std::move(result).value();
}

// A str from UTF-8 bytes; bytes that are not UTF-8 become lone surrogates (surrogateescape),
// so no library string can fail to convert.
py::str Str(std::string_view text);

// The UTF-8 bytes of a str, or the bytes of a bytes-like object, without copying. Errors: a str
// with lone surrogates is kInvalidArgument; any other type is a TypeError naming `what`.
class TextArg {
 public:
  TextArg(py::handle object, const char* what);
  ~TextArg();
  TextArg(const TextArg&) = delete;
  TextArg& operator=(const TextArg&) = delete;
  std::string_view view() const { return view_; }
  bool is_bytes() const { return has_buffer_; }

 private:
  Py_buffer buffer_{};
  bool has_buffer_ = false;
  std::string_view view_;
};

// JSON values: null/bool/number/string/array/object <-> None/bool/int or float/str/list/dict.
// A number that is an integer of at most 2^53 in magnitude becomes an int. To JSON: any
// int/float (an int is stored as a double, exact to 2^53), str, list/tuple, dict with str keys;
// anything else is a TypeError.
py::object ToPython(const Json& value);
Json ToJson(py::handle object);

// Frames: agentcore.Frame <-> TymbalFrame. `id_cache` (may be null) holds the id str of the
// previous frame, reused when the next frame has the same id (message streams repeat it).
py::object FrameToPython(const TymbalFrame& frame, py::object* id_cache);
TymbalFrame FrameFromPython(py::handle frame);

}  // namespace agentcore::python
