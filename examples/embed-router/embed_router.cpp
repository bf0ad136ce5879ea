// SPDX-License-Identifier: Apache-2.0
// embed-router: the library on its own, no server. Reads a Tymbal NDJSON file, and for every
// complete message (set frame) whose value has text content, routes its @mentions against a
// roster given on the command line, as Cast's server would (spec cast §3): who is addressed,
// whether it is an @channel broadcast, and which agents would be invoked.
//
//   embed-router FILE [--agents a,b,c] [--leader a] [--user alice]
//
// Prints one JSON object per routed message.

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/json_writer.hpp>
#include <agentcore/mention/mention.hpp>
#include <agentcore/mention/router.hpp>
#include <agentcore/tymbal/frame.hpp>
#include <agentcore/tymbal/parser.hpp>

namespace {

std::vector<std::string> SplitCommas(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

/// Routes every set frame with string content; counts the rest.
class RoutingSink final : public agentcore::FrameSink {
 public:
  explicit RoutingSink(agentcore::RoutingRoster roster) : roster_(std::move(roster)) {}

  void OnFrame(const agentcore::TymbalFrame& frame, std::uint64_t line) override {
    ++frames_;
    if (frame.kind != agentcore::FrameKind::kSet || !frame.value.is_object()) return;
    const std::string* content = frame.value.FindString("content");
    if (content == nullptr) return;
    const std::string* sender_type = frame.value.FindString("senderType");
    const bool human = sender_type != nullptr && *sender_type == "user";
    agentcore::Routing routing = agentcore::RouteMessage(
        agentcore::ParseMentions(*content),
        human ? agentcore::SenderKind::kHuman : agentcore::SenderKind::kAgent, roster_);
    std::string out;
    agentcore::JsonWriter w(&out);
    w.BeginObject().Field("line", static_cast<std::int64_t>(line)).Field("id", frame.id);
    w.Key("targets").BeginArray();
    for (const std::string& t : routing.targets) w.String(t);
    w.EndArray().Field("broadcast", routing.is_broadcast).Key("invoke").BeginArray();
    for (const std::string& t : agentcore::InvocationTargets(routing, roster_)) w.String(t);
    w.EndArray().EndObject();
    std::printf("%s\n", out.c_str());
  }

  void OnInvalidLine(std::uint64_t line, std::string_view reason) override {
    std::fprintf(stderr, "line %llu: %.*s\n", static_cast<unsigned long long>(line),
                 static_cast<int>(reason.size()), reason.data());
  }

  std::uint64_t frames() const { return frames_; }

 private:
  agentcore::RoutingRoster roster_;
  std::uint64_t frames_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: embed-router FILE [--agents a,b] [--leader a] [--user u]\n");
    return 2;
  }
  agentcore::RoutingRoster roster;
  roster.agents = {"echo"};
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--agents") {
      roster.agents = SplitCommas(argv[i + 1]);
    } else if (flag == "--leader") {
      roster.leader = argv[i + 1];
    } else if (flag == "--user") {
      roster.users.emplace_back(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (roster.leader.empty() && !roster.agents.empty()) roster.leader = roster.agents.front();

  std::ifstream file(argv[1], std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  RoutingSink sink(roster);
  agentcore::FrameParser parser;
  char buffer[64 * 1024];
  while (file.read(buffer, sizeof buffer) || file.gcount() > 0) {
    parser.Feed(std::string_view(buffer, static_cast<std::size_t>(file.gcount())), sink);
  }
  parser.Finish(sink);
  std::fprintf(stderr, "%llu frames\n", static_cast<unsigned long long>(sink.frames()));
  return 0;
}
