// SPDX-License-Identifier: Apache-2.0
#include <array>
#include <cstdio>
#include <map>
#include <string>

#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/assembler.hpp>
#include <agentcore/tymbal/parser.hpp>

#include "commands.hpp"

namespace agentcore::cli {

namespace {

// Reads `path` ("-" for standard input) in 1 MiB chunks into the parser.
bool FeedFile(const std::string& path, FrameParser& parser, FrameSink& sink) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    std::fprintf(stderr, "agentcore: cannot open %s\n", path.c_str());
    return false;
  }
  std::string buf(1 << 20, '\0');
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    parser.Feed(std::string_view(buf.data(), n), sink);
  }
  const bool ok = !std::ferror(f);
  if (f != stdin) std::fclose(f);
  parser.Finish(sink);
  if (!ok) std::fprintf(stderr, "agentcore: error reading %s\n", path.c_str());
  return ok;
}

class CheckSink final : public FrameSink {
 public:
  void OnFrame(const TymbalFrame& frame, std::uint64_t) override {
    ++counts[static_cast<std::size_t>(frame.kind)];
  }
  void OnInvalidLine(std::uint64_t line, std::string_view reason) override {
    ++invalid;
    std::string out;
    JsonWriter(&out).BeginObject().Field("line", static_cast<std::int64_t>(line))
        .Field("error", reason).EndObject();
    std::printf("%s\n", out.c_str());
  }
  std::array<std::uint64_t, 8> counts{};
  std::uint64_t invalid = 0;
};

class AssembleSink final : public FrameSink {
 public:
  void OnFrame(const TymbalFrame& frame, std::uint64_t line) override {
    Result<AssemblyEvent> event = transcript.Apply(frame);
    if (!event.ok()) {
      std::fprintf(stderr, "line %llu: %s\n", static_cast<unsigned long long>(line),
                   event.status().message().c_str());
    }
  }
  void OnInvalidLine(std::uint64_t line, std::string_view reason) override {
    ++invalid;
    std::fprintf(stderr, "line %llu: %.*s\n", static_cast<unsigned long long>(line),
                 static_cast<int>(reason.size()), reason.data());
  }
  Transcript transcript;
  std::uint64_t invalid = 0;
};

}  // namespace

void AddTymbalCommands(CLI::App& app, int* exit_code) {
  CLI::App* tymbal = app.add_subcommand("tymbal", "Tymbal NDJSON files");
  tymbal->require_subcommand(1);

  static std::string check_file_storage;
  std::string* check_file = &check_file_storage;
  CLI::App* check = tymbal->add_subcommand(
      "check", "Validate a file: invalid lines as JSON, then the counts by kind; exit 1 if any");
  check->add_option("FILE", *check_file, "NDJSON file, - for standard input")->required();
  check->callback([check_file, exit_code] {
    FrameParser parser;
    CheckSink sink;
    if (!FeedFile(*check_file, parser, sink)) {
      *exit_code = 2;
      return;
    }
    std::string out;
    JsonWriter w(&out);
    w.BeginObject().Key("counts").BeginObject();
    for (std::size_t k = 0; k < sink.counts.size(); ++k) {
      w.Field(FrameKindName(static_cast<FrameKind>(k)), static_cast<std::int64_t>(sink.counts[k]));
    }
    w.EndObject().Field("invalid", static_cast<std::int64_t>(sink.invalid)).EndObject();
    std::printf("%s\n", out.c_str());
    *exit_code = sink.invalid > 0 ? 1 : 0;
  });

  static std::string assemble_file_storage;
  std::string* assemble_file = &assemble_file_storage;
  CLI::App* assemble = tymbal->add_subcommand(
      "assemble",
      "Print the messages a file's frames assemble to, one JSON line each, by id (invalid lines "
      "go to stderr)");
  assemble->add_option("FILE", *assemble_file, "NDJSON file, - for standard input")->required();
  assemble->callback([assemble_file, exit_code] {
    FrameParser parser;
    AssembleSink sink;
    if (!FeedFile(*assemble_file, parser, sink)) {
      *exit_code = 2;
      return;
    }
    std::string out;
    for (const AssembledMessage& m : sink.transcript.Messages()) {
      out.clear();
      JsonWriter w(&out);
      w.BeginObject().Field("id", m.id).Field("complete", m.complete);
      if (m.complete) w.Field("timestamp", m.timestamp);
      w.Field("value", m.CurrentValue()).EndObject();
      std::printf("%s\n", out.c_str());
    }
    *exit_code = 0;  // invalid lines were reported on stderr; `check` is the validator
  });
}

}  // namespace agentcore::cli
