// SPDX-License-Identifier: Apache-2.0
// `agentcore-bench mentions --file F --repeat N [--route]`: @mention parsing (and routing) over
// a corpus of chat messages, the C++ side of /work/shared/bench/node/mentions_bench.js. Same
// corpus, same roster, same sender rules and the same checksums, so the two can be compared
// pass for pass. The corpus is loaded into memory before timing; each timed pass runs a
// MentionScanner (and a MessageRouter with --route) over every message, exactly as a caller
// of the library would.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include <agentcore/mention/mention.hpp>
#include <agentcore/mention/router.hpp>

#include "bench_main.hpp"

namespace {

struct Options {
  std::string file = "/tmp/agentcore-bench/data/messages.ndjson";
  int repeat = 5;
  bool route = false;
};

struct Corpus {
  struct Message {
    std::string_view content;
    std::string_view sender;
    bool sender_is_human = false;
  };
  // Every string of every message, back to back, so a pass streams through memory in order.
  // Sized to the file, which bounds the unescaped strings, so it never moves.
  std::unique_ptr<char[]> bytes;
  std::vector<Message> messages;
  std::uint64_t content_bytes = 0;
};

struct Checksum {
  std::uint64_t mentions = 0;
  std::uint64_t channel = 0;
  std::uint64_t targets = 0;
};

struct Pass {
  double ms = 0;
  Checksum checksum;
};

int Usage() {
  std::fprintf(stderr, "usage: agentcore-bench mentions [--file F] [--repeat N] [--route]\n");
  return 2;
}

bool ParseOptions(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--file" && i + 1 < argc) {
      options.file = argv[++i];
    } else if (arg == "--repeat" && i + 1 < argc) {
      char* end = nullptr;
      const long n = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || n < 1 || n > 1000) return false;
      options.repeat = static_cast<int>(n);
    } else if (arg == "--route") {
      options.route = true;
    } else {
      return false;
    }
  }
  return true;
}

// Copies `s` into the arena at `used` and returns the copy.
std::string_view Keep(char* arena, std::size_t& used, std::string_view s) {
  std::memcpy(arena + used, s.data(), s.size());
  const std::string_view kept(arena + used, s.size());
  used += s.size();
  return kept;
}

// Loads the NDJSON corpus: one {"sender","senderType","content"} object per line.
bool LoadCorpus(const std::string& path, Corpus& corpus) {
  simdjson::padded_string json;
  if (const auto error = simdjson::padded_string::load(path).get(json); error) {
    std::fprintf(stderr, "{\"error\":\"cannot read %s: %s\"}\n", path.c_str(),
                 simdjson::error_message(error));
    return false;
  }
  corpus.bytes = std::make_unique_for_overwrite<char[]>(json.size());
  std::size_t used = 0;
  simdjson::dom::parser parser;
  simdjson::dom::document_stream stream;
  if (parser.parse_many(json).get(stream)) return false;
  std::size_t line = 0;
  for (auto doc : stream) {
    ++line;
    simdjson::dom::object object;
    std::string_view sender, sender_type, content;
    if (doc.get(object) || object["sender"].get(sender) || object["senderType"].get(sender_type) ||
        object["content"].get(content)) {
      std::fprintf(stderr, "{\"error\":\"%s: bad message on line %zu\"}\n", path.c_str(), line);
      return false;
    }
    Corpus::Message message;
    message.content = Keep(corpus.bytes.get(), used, content);
    message.sender = Keep(corpus.bytes.get(), used, sender);
    message.sender_is_human = sender_type == "user";
    corpus.messages.push_back(message);
    corpus.content_bytes += content.size();
  }
  if (stream.truncated_bytes() != 0) {
    std::fprintf(stderr, "{\"error\":\"%s: truncated last line\"}\n", path.c_str());
    return false;
  }
  return true;
}

// The roster of mentions_bench.js: 8 agents (some callsigns in the corpus are not members).
agentcore::RoutingRoster BenchRoster() {
  agentcore::RoutingRoster roster;
  roster.agents = {"lead",     "builder", "researcher", "reviewer",
                   "designer", "writer",  "fox",        "owl-2"};
  roster.leader = "lead";
  roster.users = {"alice", "bob"};
  return roster;
}

Pass RunPass(const Corpus& corpus, bool route, agentcore::MentionScanner& scanner,
             agentcore::MessageRouter& router) {
  Checksum sum;
  const auto start = std::chrono::steady_clock::now();
  for (const Corpus::Message& message : corpus.messages) {
    const agentcore::MentionsView mentions = scanner.Scan(message.content);
    sum.mentions += mentions.mentions.size();
    sum.channel += mentions.is_channel_mention ? 1 : 0;
    if (route) {
      // Like the Node peer (and Cast's POST route): the callsign is passed for agents only.
      const agentcore::RoutingView routing = router.Route(
          mentions,
          message.sender_is_human ? agentcore::SenderKind::kHuman : agentcore::SenderKind::kAgent,
          message.sender_is_human ? std::string_view() : message.sender);
      sum.targets += routing.targets.size();
    }
  }
  const auto stop = std::chrono::steady_clock::now();
  return Pass{std::chrono::duration<double, std::milli>(stop - start).count(), sum};
}

void PrintChecksum(const Checksum& sum) {
  std::printf("\"checksum\":{\"mentions\":%llu,\"channel\":%llu,\"targets\":%llu}",
              static_cast<unsigned long long>(sum.mentions),
              static_cast<unsigned long long>(sum.channel),
              static_cast<unsigned long long>(sum.targets));
}

double MessagesPerSecond(const Corpus& corpus, double ms) {
  return static_cast<double>(corpus.messages.size()) / (ms / 1000.0);
}

}  // namespace

int RunMentionsBench(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, options)) return Usage();

  Corpus corpus;
  const auto load_start = std::chrono::steady_clock::now();
  if (!LoadCorpus(options.file, corpus)) return 1;
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start)
          .count();
  std::printf("{\"loaded\":%zu,\"contentUtf8Bytes\":%llu,\"loadMs\":%.1f}\n",
              corpus.messages.size(), static_cast<unsigned long long>(corpus.content_bytes),
              load_ms);
  std::fflush(stdout);

  agentcore::MentionScanner scanner;
  agentcore::MessageRouter router(BenchRoster());
  std::vector<Pass> passes;
  for (int k = 1; k <= options.repeat; ++k) {
    const Pass pass = RunPass(corpus, options.route, scanner, router);
    passes.push_back(pass);
    std::printf("{\"pass\":%d,\"route\":%s,\"ms\":%.1f,\"msgsPerSec\":%.0f,\"MBps\":%.1f,", k,
                options.route ? "true" : "false", pass.ms, MessagesPerSecond(corpus, pass.ms),
                static_cast<double>(corpus.content_bytes) / 1048576.0 / (pass.ms / 1000.0));
    PrintChecksum(pass.checksum);
    std::printf("}\n");
    std::fflush(stdout);
  }

  // The median as mentions_bench.js takes it: the upper middle of the passes sorted by time.
  std::vector<Pass> sorted = passes;
  std::sort(sorted.begin(), sorted.end(), [](const Pass& a, const Pass& b) { return a.ms < b.ms; });
  const Pass& median = sorted[sorted.size() / 2];
  std::printf(
      "{\"summary\":true,\"messages\":%zu,\"route\":%s,\"medianMs\":%.1f,"
      "\"medianMsgsPerSec\":%.0f,",
      corpus.messages.size(), options.route ? "true" : "false", median.ms,
      MessagesPerSecond(corpus, median.ms));
  PrintChecksum(median.checksum);
  std::printf("}\n");
  return 0;
}
