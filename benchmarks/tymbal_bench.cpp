// SPDX-License-Identifier: Apache-2.0
// agentcore-bench tymbal --file F [--repeat N] [--chunk BYTES] [--no-limit]
//
// Parses an NDJSON Tymbal file with FrameParser (fed from memory in chunks, as a stream would
// arrive) and, in the same pass loop, runs the bare simdjson classify pass over the same bytes
// as the limit. Prints one JSON line per pass and a summary with medians; the counts match
// shared/bench/node/parse_ndjson.js on the same file.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/parser.hpp>

#include "bench_main.hpp"
#include "bench_util.hpp"
#include "tymbal_limit.hpp"

namespace {

using agentcore::bench::KindCounts;

// Counts frames by the benchmark's kinds (control = sync request/response, error, artifact).
class CountingSink final : public agentcore::FrameSink {
 public:
  void OnFrame(const agentcore::TymbalFrame& frame, std::uint64_t) override {
    switch (frame.kind) {
      case agentcore::FrameKind::kStart: ++counts[0]; break;
      case agentcore::FrameKind::kAppend:
        ++counts[1];
        append_bytes += frame.text.size();
        break;
      case agentcore::FrameKind::kSet: ++counts[2]; break;
      case agentcore::FrameKind::kReset: ++counts[3]; break;
      case agentcore::FrameKind::kSyncRequest:
      case agentcore::FrameKind::kSyncResponse:
      case agentcore::FrameKind::kError:
      case agentcore::FrameKind::kArtifact: ++counts[4]; break;
    }
  }
  void OnInvalidLine(std::uint64_t, std::string_view) override { ++counts[5]; }
  KindCounts counts{};
  std::uint64_t append_bytes = 0;
};

void WriteCounts(agentcore::JsonWriter& w, const KindCounts& c) {
  static constexpr const char* kNames[] = {"start", "append", "set", "reset", "control", "invalid"};
  w.Key("counts").BeginObject();
  for (int i = 0; i < 6; ++i) w.Field(kNames[i], static_cast<std::int64_t>(c[i]));
  w.EndObject();
}

std::int64_t Total(const KindCounts& c) {
  std::int64_t n = 0;
  for (auto x : c) n += static_cast<std::int64_t>(x);
  return n;
}

}  // namespace

int RunTymbalBench(int argc, char** argv) {
  using namespace agentcore::bench;
  const std::string file = Arg(argc, argv, "--file", "/tmp/agentcore-bench/data/timbal.ndjson");
  const int repeat = std::stoi(Arg(argc, argv, "--repeat", "5"));
  const std::size_t chunk = std::stoul(Arg(argc, argv, "--chunk", "1048576"));
  const bool skip_limit = Flag(argc, argv, "--no-limit");  // for profiling the parser alone
  const std::string data = ReadFilePadded(file);
  const double mb = static_cast<double>(data.size()) / 1048576.0;

  // The ratio is taken per pass (the two runs of a pass are back to back, so they see the same
  // machine load) and the median of those ratios reported.
  std::vector<double> ms, limit_ms, ratios;
  CountingSink last;
  KindCounts limit_counts{};
  std::string_view limit_kernel;
  for (int pass = 1; pass <= repeat; ++pass) {
    CountingSink sink;
    auto t0 = std::chrono::steady_clock::now();
    agentcore::FrameParser parser;
    for (std::size_t off = 0; off < data.size(); off += chunk) {
      parser.Feed(std::string_view(data).substr(off, chunk), sink);
    }
    parser.Finish(sink);
    const double pass_ms = MillisSince(t0);

    t0 = std::chrono::steady_clock::now();
    if (!skip_limit) limit_counts = ClassifyLines(data, &limit_kernel);
    const double pass_limit_ms = MillisSince(t0);

    ms.push_back(pass_ms);
    limit_ms.push_back(pass_limit_ms);
    ratios.push_back(pass_limit_ms / pass_ms);
    std::string out;
    agentcore::JsonWriter w(&out);
    w.BeginObject().Field("pass", static_cast<std::int64_t>(pass)).Key("ms").Number(pass_ms)
        .Key("MBps").Number(mb / (pass_ms / 1000)).Key("framesPerSec")
        .Number(static_cast<double>(Total(sink.counts)) / (pass_ms / 1000)).Key("limitMs")
        .Number(pass_limit_ms).Key("limitMBps").Number(mb / (pass_limit_ms / 1000));
    WriteCounts(w, sink.counts);
    w.EndObject();
    std::printf("%s\n", out.c_str());
    std::fflush(stdout);
    last = sink;
  }
  const double med = Median(ms);
  const double med_limit = Median(limit_ms);
  std::string out;
  agentcore::JsonWriter w(&out);
  w.BeginObject().Field("summary", true).Field("file", file)
      .Field("bytes", static_cast<std::int64_t>(data.size()))
      .Field("passes", static_cast<std::int64_t>(repeat)).Key("medianMs").Number(med)
      .Key("medianMBps").Number(mb / (med / 1000)).Key("medianFramesPerSec")
      .Number(static_cast<double>(Total(last.counts)) / (med / 1000))
      .Field("frames", Total(last.counts));
  WriteCounts(w, last.counts);
  w.Field("appendUtf8Bytes", static_cast<std::int64_t>(last.append_bytes))
      .Field("limitKernel", limit_kernel).Key("limitMBps").Number(mb / (med_limit / 1000))
      .Key("ratioToLimit").Number(Median(ratios))
      .Field("limitCountsMatch", limit_counts == last.counts).EndObject();
  std::printf("%s\n", out.c_str());
  return 0;
}
