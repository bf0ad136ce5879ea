// SPDX-License-Identifier: Apache-2.0
#include "convert.hpp"

#include <cmath>
#include <cstring>
#include <string>

namespace agentcore::python {

namespace {

PyTypes* g_types = nullptr;

constexpr FrameKind kKinds[] = {FrameKind::kStart,        FrameKind::kAppend,
                                FrameKind::kSet,          FrameKind::kReset,
                                FrameKind::kSyncRequest,  FrameKind::kSyncResponse,
                                FrameKind::kError,        FrameKind::kArtifact};

// Steals `item` into slot `i` of a tuple being filled.
inline void SetSlot(PyObject* tuple, Py_ssize_t i, PyObject* item) { PyTuple_SET_ITEM(tuple, i, item); }

inline PyObject* NewRef(PyObject* o) {
  Py_INCREF(o);
  return o;
}

PyObject* StrOrThrow(std::string_view text) {
  PyObject* s = PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()),
                                     "surrogateescape");
  if (s == nullptr) throw py::error_already_set();
  return s;
}

}  // namespace

const PyTypes& Types() { return *g_types; }

void LoadTypes() {
  py::module_ m = py::module_::import("agentcore._types");
  auto* t = new PyTypes();  // never freed, see convert.hpp
  t->frame = m.attr("Frame");
  t->invalid_line = m.attr("InvalidLine");
  t->message = m.attr("Message");
  t->assembly = m.attr("Assembly");
  t->mentions = m.attr("Mentions");
  t->routing_roster = m.attr("RoutingRoster");
  t->routing = m.attr("Routing");
  t->roster_transition = m.attr("RosterTransition");
  t->channel = m.attr("Channel");
  t->roster_entry = m.attr("RosterEntry");
  t->stored_message = m.attr("StoredMessage");
  t->posted_message = m.attr("PostedMessage");
  t->presence = m.attr("Presence");
  t->event = m.attr("Event");
  t->parse_error = m.attr("ParseError");
  t->errors_by_code = m.attr("ERRORS_BY_CODE");
  t->error = m.attr("Error");
  for (FrameKind k : kKinds) {
    const std::string_view name = FrameKindName(k);
    PyObject* s = PyUnicode_InternFromString(std::string(name).c_str());
    if (s == nullptr) throw py::error_already_set();
    t->kind_names[static_cast<int>(k)] = s;
  }
  // Frames are built as raw tuples of the Frame class (FrameToPython): it must be a plain
  // tuple subclass with six fields, as _types.py declares it.
  if (!PyType_Check(t->frame.ptr()) ||
      !PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(t->frame.ptr()), &PyTuple_Type) ||
      py::len(t->frame.attr("_fields")) != 6) {
    throw std::runtime_error("agentcore._types.Frame must be a NamedTuple of six fields");
  }
  g_types = t;
}

void RegisterErrorTranslator() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      const PyTypes& t = Types();
      const std::string_view code = ErrorCodeName(e.status().code());
      py::object cls = t.errors_by_code.attr("get")(py::str(code.data(), code.size()), t.error);
      py::str message = Str(e.status().message());
      PyErr_SetObject(cls.ptr(), message.ptr());
    }
  });
}

py::str Str(std::string_view text) { return py::reinterpret_steal<py::str>(StrOrThrow(text)); }

TextArg::TextArg(py::handle object, const char* what) {
  if (PyUnicode_Check(object.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(object.ptr(), &size);
    if (data == nullptr) {
      PyErr_Clear();
      throw StatusError(InvalidArgument(std::string(what) + " is not valid UTF-8 (lone surrogate)"));
    }
    view_ = std::string_view(data, static_cast<std::size_t>(size));
    return;
  }
  if (PyObject_CheckBuffer(object.ptr()) &&
      PyObject_GetBuffer(object.ptr(), &buffer_, PyBUF_CONTIG_RO) == 0) {
    has_buffer_ = true;
    view_ = std::string_view(static_cast<const char*>(buffer_.buf),
                             static_cast<std::size_t>(buffer_.len));
    return;
  }
  PyErr_Clear();
  throw py::type_error(std::string(what) + " must be str or bytes-like, not " +
                       std::string(Py_TYPE(object.ptr())->tp_name));
}

TextArg::~TextArg() {
  if (has_buffer_) PyBuffer_Release(&buffer_);
}

py::object ToPython(const Json& value) {
  switch (value.type()) {
    case JsonType::kNull: return py::none();
    case JsonType::kBool: return py::bool_(value.as_bool());
    case JsonType::kNumber: {
      const double d = value.as_number();
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) <= 9007199254740992.0) {
        return py::reinterpret_steal<py::object>(PyLong_FromDouble(d));
      }
      return py::float_(d);
    }
    case JsonType::kString: return Str(value.as_string());
    case JsonType::kArray: {
      const JsonArray& a = value.as_array();
      py::list out(a.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), ToPython(a[i]).release().ptr());
      }
      return std::move(out);
    }
    case JsonType::kObject: {
      py::dict out;
      for (const JsonMember& m : value.as_object()) {
        py::str key = Str(m.key);
        py::object v = ToPython(m.value);
        if (PyDict_SetItem(out.ptr(), key.ptr(), v.ptr()) != 0) throw py::error_already_set();
      }
      return std::move(out);
    }
  }
  return py::none();
}

Json ToJson(py::handle o) {
  PyObject* p = o.ptr();
  if (p == Py_None) return nullptr;
  if (PyBool_Check(p)) return p == Py_True;
  if (PyLong_Check(p)) {
    const double d = PyLong_AsDouble(p);
    if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();  // OverflowError
    return d;
  }
  if (PyFloat_Check(p)) return PyFloat_AS_DOUBLE(p);
  if (PyUnicode_Check(p)) return std::string(TextArg(o, "a JSON string").view());
  if (PyDict_Check(p)) {
    JsonObject members;
    members.reserve(static_cast<std::size_t>(PyDict_GET_SIZE(p)));
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(p, &pos, &key, &value)) {
      if (!PyUnicode_Check(key)) {
        throw py::type_error(std::string("JSON object keys must be str, not ") +
                             Py_TYPE(key)->tp_name);
      }
      members.push_back(JsonMember{std::string(TextArg(key, "a JSON key").view()),
                                   ToJson(value)});
    }
    return Json(std::move(members));
  }
  if (PyList_Check(p) || PyTuple_Check(p)) {
    py::sequence seq = py::reinterpret_borrow<py::sequence>(o);
    JsonArray items;
    items.reserve(seq.size());
    for (py::handle item : seq) items.push_back(ToJson(item));
    return Json(std::move(items));
  }
  throw py::type_error(std::string("cannot convert ") + Py_TYPE(p)->tp_name + " to JSON");
}

py::object FrameToPython(const TymbalFrame& f, py::object* id_cache) {
  const PyTypes& t = Types();
  auto* type = reinterpret_cast<PyTypeObject*>(t.frame.ptr());
  PyObject* tuple = type->tp_alloc(type, 6);
  if (tuple == nullptr) throw py::error_already_set();
  py::object out = py::reinterpret_steal<py::object>(tuple);
  // Every slot is set before anything else can see the tuple (the GC skips empty slots).
  SetSlot(tuple, 0, NewRef(t.kind_names[static_cast<int>(f.kind)]));
  if (IsMessageFrame(f.kind)) {
    PyObject* id = nullptr;
    PyObject* cached = id_cache != nullptr ? id_cache->ptr() : nullptr;
    if (cached != nullptr && PyUnicode_IS_COMPACT_ASCII(cached) &&
        static_cast<std::size_t>(PyUnicode_GET_LENGTH(cached)) == f.id.size() &&
        std::memcmp(PyUnicode_DATA(cached), f.id.data(), f.id.size()) == 0) {
      id = NewRef(cached);
    }
    if (id == nullptr) {
      id = StrOrThrow(f.id);
      if (id_cache != nullptr) *id_cache = py::reinterpret_borrow<py::object>(id);
    }
    SetSlot(tuple, 1, id);
  } else {
    SetSlot(tuple, 1, NewRef(Py_None));
  }
  SetSlot(tuple, 2, f.kind == FrameKind::kAppend ? StrOrThrow(f.text) : NewRef(Py_None));
  const bool has_time = f.kind == FrameKind::kSet || f.kind == FrameKind::kSyncResponse;
  SetSlot(tuple, 3, has_time ? StrOrThrow(f.timestamp) : NewRef(Py_None));
  const bool has_value = f.kind == FrameKind::kStart || f.kind == FrameKind::kSet ||
                         f.kind == FrameKind::kError || f.kind == FrameKind::kArtifact;
  SetSlot(tuple, 4, has_value ? ToPython(f.value).release().ptr() : NewRef(Py_None));
  SetSlot(tuple, 5, f.extra.empty() ? NewRef(Py_None) : ToPython(Json(f.extra)).release().ptr());
  // A frame of strings and None cannot be part of a cycle: out of the collector's sight (as
  // CPython does with such tuples when it first examines them), a stream's frames cost it no
  // traversal.
  if (f.extra.empty() && (!has_value || f.value.type() <= JsonType::kString)) {
    PyObject_GC_UnTrack(tuple);
  }
  return out;
}

namespace {

std::string OptionalText(py::handle value, const char* field) {
  if (value.is_none()) return {};
  if (!PyUnicode_Check(value.ptr())) {
    throw StatusError(InvalidArgument(std::string("frame ") + field + " must be a str"));
  }
  return std::string(TextArg(value, field).view());
}

}  // namespace

TymbalFrame FrameFromPython(py::handle frame) {
  if (!PyTuple_Check(frame.ptr()) || PyTuple_GET_SIZE(frame.ptr()) != 6) {
    throw py::type_error(std::string("expected an agentcore.Frame, not ") +
                         Py_TYPE(frame.ptr())->tp_name);
  }
  py::tuple t = py::reinterpret_borrow<py::tuple>(frame);
  TymbalFrame f;
  const std::string kind = OptionalText(t[0], "kind");
  bool known = false;
  for (FrameKind k : kKinds) {
    if (FrameKindName(k) == kind) {
      f.kind = k;
      known = true;
    }
  }
  if (!known) throw StatusError(InvalidArgument("unknown frame kind \"" + kind + "\""));
  if (IsMessageFrame(f.kind)) {
    if (!PyUnicode_Check(t[1].ptr())) {
      throw StatusError(InvalidArgument(kind + " frame: id must be a str"));
    }
    f.id = OptionalText(t[1], "id");
  }
  if (f.kind == FrameKind::kAppend) {
    if (!PyUnicode_Check(t[2].ptr())) {
      throw StatusError(InvalidArgument("append frame: text must be a str"));
    }
    f.text = OptionalText(t[2], "text");
  }
  if (f.kind == FrameKind::kSet || f.kind == FrameKind::kSyncResponse) {
    f.timestamp = OptionalText(t[3], "timestamp");
  }
  switch (f.kind) {
    case FrameKind::kStart:
      f.value = ToJson(t[4]);
      if (!f.value.is_null() && !f.value.is_object() && !f.value.is_array()) {
        throw StatusError(InvalidArgument("start frame: metadata must be an object"));
      }
      break;
    case FrameKind::kSet:
      f.value = ToJson(t[4]);
      if (!f.value.is_object()) {
        throw StatusError(InvalidArgument("set frame: value must be an object"));
      }
      break;
    case FrameKind::kArtifact:
      f.value = ToJson(t[4]);
      if (!f.value.is_object() && !f.value.is_array()) {
        throw StatusError(InvalidArgument("artifact frame: value must be an object or array"));
      }
      break;
    case FrameKind::kError:
      f.value = ToJson(t[4]);
      break;
    case FrameKind::kAppend:
    case FrameKind::kReset:
    case FrameKind::kSyncRequest:
    case FrameKind::kSyncResponse:
      break;
  }
  if (!t[5].is_none()) {
    if (!PyDict_Check(t[5].ptr())) {
      throw StatusError(InvalidArgument("frame extra must be a dict or None"));
    }
    f.extra = std::move(ToJson(t[5]).as_object());
  }
  return f;
}

}  // namespace agentcore::python
