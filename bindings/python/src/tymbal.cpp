// SPDX-License-Identifier: Apache-2.0
// Tymbal in Python: one line, a stream fed in chunks (frames straight from the parser's frame
// into Python objects, from the caller's bytes without a copy), serializing, frame builders,
// the assembler and the transcript.


#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <agentcore/tymbal/assembler.hpp>
#include <agentcore/tymbal/parser.hpp>
#include <agentcore/tymbal/writer.hpp>

#include "convert.hpp"
#include "modules.hpp"

namespace agentcore::python {

namespace {

// What a stream does with a line that is not a frame.
enum class OnInvalid { kRaise, kSkip, kReturn };

OnInvalid ParseOnInvalid(std::string_view errors) {
  if (errors == "raise") return OnInvalid::kRaise;
  if (errors == "skip") return OnInvalid::kSkip;
  if (errors == "return") return OnInvalid::kReturn;
  throw StatusError(InvalidArgument("errors must be \"raise\", \"skip\" or \"return\", not \"" +
                                    std::string(errors) + "\""));
}

// Appends what the parser finds to a list. A Python error (out of memory) is kept and re-raised
// after the library call returns, so that no exception crosses the parser.
class ListSink final : public FrameSink {
 public:
  ListSink(OnInvalid mode, py::object* id_cache) : mode_(mode), id_cache_(id_cache) {}

  void OnFrame(const TymbalFrame& frame, std::uint64_t) override {
    if (stopped()) return;
    try {
      py::object f = FrameToPython(frame, id_cache_);
      if (PyList_Append(out_.ptr(), f.ptr()) != 0) throw py::error_already_set();
    } catch (...) {
      failure_ = std::current_exception();
    }
  }

  void OnInvalidLine(std::uint64_t line, std::string_view reason) override {
    if (stopped()) return;
    try {
      switch (mode_) {
        case OnInvalid::kRaise: first_invalid_.emplace(line, std::string(reason)); break;
        case OnInvalid::kSkip: break;
        case OnInvalid::kReturn: {
          py::object item = Types().invalid_line(line, Str(reason));
          if (PyList_Append(out_.ptr(), item.ptr()) != 0) throw py::error_already_set();
          break;
        }
      }
    } catch (...) {
      failure_ = std::current_exception();
    }
  }

  // The frames (and, with "return", InvalidLine records) in line order; raises what the
  // callbacks could not.
  py::list Take() {
    if (failure_) std::rethrow_exception(failure_);
    if (first_invalid_) {
      PyErr_SetObject(Types().parse_error.ptr(),
                      py::make_tuple(first_invalid_->first, Str(first_invalid_->second)).ptr());
      throw py::error_already_set();
    }
    return std::move(out_);
  }

 private:
  bool stopped() const { return failure_ != nullptr || first_invalid_.has_value(); }

  OnInvalid mode_;
  py::object* id_cache_;
  py::list out_;
  std::exception_ptr failure_;
  std::optional<std::pair<std::uint64_t, std::string>> first_invalid_;
};

// agentcore.FrameParser: the library's FrameParser with the Python stream's error policy.
class PyFrameParser {
 public:
  PyFrameParser(std::string_view errors, std::size_t max_line_bytes)
      : mode_(ParseOnInvalid(errors)), parser_(FrameParserOptions{max_line_bytes}) {
    if (max_line_bytes == 0) throw StatusError(InvalidArgument("max_line_bytes must be > 0"));
  }

  py::list Feed(py::handle chunk) {
    TextArg bytes(chunk, "chunk");
    ListSink sink(mode_, &id_cache_);
    parser_.Feed(bytes.view(), sink);
    return sink.Take();
  }

  py::list Finish() {
    ListSink sink(mode_, &id_cache_);
    parser_.Finish(sink);
    id_cache_ = py::object();
    return sink.Take();
  }

  std::uint64_t lines() const { return parser_.lines(); }

 private:
  OnInvalid mode_;
  FrameParser parser_;
  py::object id_cache_;
};

py::object MessageToPython(const AssembledMessage& m) {
  return Types().message(py::arg("id") = Str(m.id), py::arg("metadata") = ToPython(m.metadata),
                         py::arg("text") = Str(m.text), py::arg("value") = ToPython(m.value),
                         py::arg("timestamp") = Str(m.timestamp),
                         py::arg("complete") = m.complete,
                         py::arg("current_value") = ToPython(m.CurrentValue()));
}

py::list MessagesToPython(const std::vector<AssembledMessage>& messages) {
  py::list out;
  for (const AssembledMessage& m : messages) out.append(MessageToPython(m));
  return out;
}

AssemblerOptions MakeAssemblerOptions(std::size_t max_open_messages,
                                      std::size_t max_message_bytes) {
  AssemblerOptions o;
  o.max_open_messages = max_open_messages;
  o.max_message_bytes = max_message_bytes;
  return o;
}

class PyAssembler {
 public:
  PyAssembler(std::size_t max_open, std::size_t max_bytes)
      : assembler_(MakeAssemblerOptions(max_open, max_bytes)) {}

  py::object Apply(py::handle frame) {
    const TymbalFrame f = FrameFromPython(frame);
    const AssemblyEvent event = Unwrap(assembler_.Apply(f));
    py::object message =
        event == AssemblyEvent::kIgnored ? py::none() : MessageToPython(assembler_.message());
    return Types().assembly(Str(AssemblyEventName(event)), message);
  }

  py::list OpenMessages() const { return MessagesToPython(assembler_.OpenMessages()); }

  std::size_t open_count() const { return assembler_.open_messages(); }
  bool Abandon(std::string_view id) { return assembler_.Abandon(id); }

 private:
  MessageAssembler assembler_;
};

class PyTranscript {
 public:
  PyTranscript(std::size_t max_open, std::size_t max_bytes)
      : transcript_(MakeAssemblerOptions(max_open, max_bytes)) {}

  py::str Apply(py::handle frame) {
    const TymbalFrame f = FrameFromPython(frame);
    return Str(AssemblyEventName(Unwrap(transcript_.Apply(f))));
  }

  py::list Messages() const { return MessagesToPython(transcript_.Messages()); }

 private:
  Transcript transcript_;
};

Json ObjectArg(py::handle value, const char* what) {
  Json j = ToJson(value);
  if (!j.is_object()) throw StatusError(InvalidArgument(std::string(what) + " must be a dict"));
  return j;
}

}  // namespace

void RegisterTymbal(py::module_& m) {
  m.def(
      "parse_frame",
      [](py::handle line) {
        TextArg text(line, "line");
        return FrameToPython(Unwrap(ParseFrame(text.view())), nullptr);
      },
      py::arg("line"),
      "Parses one Tymbal line (str or bytes, no newline needed) into a Frame. Raises "
      "InvalidArgument with the reason for a line that is not a valid frame.");
  m.def(
      "parse_frames",
      [](py::handle data, std::string_view errors, std::size_t max_line_bytes) {
        PyFrameParser parser(errors, max_line_bytes);
        py::list frames = parser.Feed(data);
        py::list rest = parser.Finish();
        for (py::handle f : rest) frames.append(f);
        return frames;
      },
      py::arg("data"), py::kw_only(), py::arg("errors") = "raise",
      py::arg("max_line_bytes") = FrameParserOptions{}.max_line_bytes,
      "Parses NDJSON bytes (or str) into a list of Frames, blank lines skipped. errors: "
      "\"raise\" (ParseError with the line number of the first invalid line), \"skip\", or "
      "\"return\" (InvalidLine records in the list, in line order).");

  py::class_<PyFrameParser>(m, "FrameParser",
                            "Parses a Tymbal stream fed in chunks of any size; a line may span "
                            "chunks. Thread-compatible: one parser per stream.")
      .def(py::init<std::string_view, std::size_t>(), py::kw_only(),
           py::arg("errors") = "raise",
           py::arg("max_line_bytes") = FrameParserOptions{}.max_line_bytes)
      .def("feed", &PyFrameParser::Feed, py::arg("chunk"),
           "The frames of the lines `chunk` completes (a list; see parse_frames for errors).")
      .def("finish", &PyFrameParser::Finish,
           "End of stream: the frame of a last line without a newline. Line numbers restart.")
      .def_property_readonly("lines", &PyFrameParser::lines, "Lines seen, blank ones included.");

  m.def(
      "serialize_frame",
      [](py::handle frame, bool newline) {
        const TymbalFrame f = FrameFromPython(frame);
        return Str(newline ? SerializeFrameLine(f) : SerializeFrame(f));
      },
      py::arg("frame"), py::kw_only(), py::arg("newline") = false,
      "The frame as a compact JSON line, as Cast's serializeFrame writes it.");

  m.def(
      "start_frame",
      [](std::string id, py::handle metadata) {
        return FrameToPython(Unwrap(MakeStartFrame(std::move(id), ToJson(metadata))), nullptr);
      },
      py::arg("id"), py::arg("metadata") = py::none());
  m.def(
      "append_frame",
      [](std::string id, std::string text) {
        return FrameToPython(MakeAppendFrame(std::move(id), std::move(text)), nullptr);
      },
      py::arg("id"), py::arg("text"));
  m.def(
      "set_frame",
      [](std::string id, std::string timestamp, py::handle value) {
        return FrameToPython(
            MakeSetFrame(std::move(id), std::move(timestamp), ObjectArg(value, "value")), nullptr);
      },
      py::arg("id"), py::arg("timestamp"), py::arg("value"));
  m.def(
      "reset_frame", [](std::string id) { return FrameToPython(MakeResetFrame(std::move(id)), nullptr); },
      py::arg("id"));
  m.def(
      "sync_request_frame",
      [](std::string since) { return FrameToPython(MakeSyncRequestFrame(std::move(since)), nullptr); },
      py::arg("since") = "");
  m.def(
      "sync_response_frame",
      [](std::string timestamp) {
        return FrameToPython(MakeSyncResponseFrame(std::move(timestamp)), nullptr);
      },
      py::arg("timestamp"));
  m.def(
      "error_frame",
      [](std::string code, std::string message) {
        return FrameToPython(MakeErrorFrame(std::move(code), std::move(message)), nullptr);
      },
      py::arg("code"), py::arg("message") = "");
  m.def(
      "artifact_frame",
      [](std::string action, std::string channel_id, py::handle payload) {
        return FrameToPython(MakeArtifactFrame(std::move(action), std::move(channel_id),
                                               ObjectArg(payload, "payload")),
                             nullptr);
      },
      py::arg("action"), py::arg("channel_id"), py::arg("payload"));

  const AssemblerOptions defaults;
  py::class_<PyAssembler>(m, "MessageAssembler",
                          "Frames in, messages out; holds only the messages still streaming.")
      .def(py::init<std::size_t, std::size_t>(), py::kw_only(),
           py::arg("max_open_messages") = defaults.max_open_messages,
           py::arg("max_message_bytes") = defaults.max_message_bytes)
      .def("apply", &PyAssembler::Apply, py::arg("frame"),
           "Applies a Frame: Assembly(event, message). Raises TooLarge past a limit.")
      .def("open_messages", &PyAssembler::OpenMessages)
      .def_property_readonly("open_count", &PyAssembler::open_count)
      .def("abandon", &PyAssembler::Abandon, py::arg("id"));
  py::class_<PyTranscript>(m, "Transcript", "Every message of a frame stream, ordered by id.")
      .def(py::init<std::size_t, std::size_t>(), py::kw_only(),
           py::arg("max_open_messages") = defaults.max_open_messages,
           py::arg("max_message_bytes") = defaults.max_message_bytes)
      .def("apply", &PyTranscript::Apply, py::arg("frame"))
      .def("messages", &PyTranscript::Messages);
}

}  // namespace agentcore::python
