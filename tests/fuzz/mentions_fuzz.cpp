// SPDX-License-Identifier: Apache-2.0
// Fuzzes ParseMentions, MentionScanner, StripMentions, RouteMessage and MessageRouter.
//
// Input: the first byte picks the sender and the roster, the rest is the message content.
//   bit 0: 1 = agent sender (its callsign is passed), 0 = human (no callsign, as Cast's POST)
//   bits 1-3: the agent's callsign, from kSenders
//   bit 4: 1 = a roster of 80 agents (hash lookup), 0 = a team of 8 (table lookup)
// Checks, trapping on any violation:
//   * mentions are non-empty, lower-case [a-z0-9_-] only, unique, never "channel", and equal a
//     plain re-implementation of spec cast §3.1;
//   * the reused scanner (state carried over from earlier inputs) equals ParseMentions;
//   * StripMentions leaves no mention and no untidy ASCII whitespace;
//   * targets are roster agents, users or the leader; the sender is never one; a broadcast is
//     exactly the agents minus the sender; the reused router equals RouteMessage;
//   * invocation targets are agents only.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/mention/mention.hpp>
#include <agentcore/mention/router.hpp>

namespace {

using agentcore::MentionsView;
using agentcore::ParsedMentions;
using agentcore::Routing;
using agentcore::RoutingRoster;
using agentcore::SenderKind;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsNameByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// spec cast §3.1 written as plainly as possible, to compare against.
ParsedMentions PlainParse(std::string_view s) {
  ParsedMentions parsed;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '@') continue;
    std::size_t j = i + 1;
    std::string name;
    while (j < s.size() && IsNameByte(s[j])) {
      char c = s[j++];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      name += c;
    }
    if (name.empty()) continue;
    i = j - 1;
    if (name == "channel") {
      parsed.is_channel_mention = true;
    } else if (std::find(parsed.mentions.begin(), parsed.mentions.end(), name) ==
               parsed.mentions.end()) {
      parsed.mentions.push_back(name);
    }
  }
  return parsed;
}

RoutingRoster MakeRoster(bool large) {
  RoutingRoster roster;
  if (large) {
    for (int i = 0; i < 80; ++i) roster.agents.push_back("a" + std::to_string(i));
    roster.leader = "a0";
  } else {
    roster.agents = {"lead",     "builder", "researcher", "reviewer",
                     "designer", "writer",  "fox",        "owl-2"};
    roster.leader = "lead";
  }
  roster.users = {"alice", "bob"};
  return roster;
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string_view kSenders[8] = {"fox", "lead", "a3",    "a79",
                                               "Fox", "zz",   "owl-2", "alice"};
  static const RoutingRoster kRosters[2] = {MakeRoster(false), MakeRoster(true)};
  static agentcore::MentionScanner scanner;
  static agentcore::MessageRouter routers[2] = {agentcore::MessageRouter(kRosters[0]),
                                                agentcore::MessageRouter(kRosters[1])};
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const std::string_view content(reinterpret_cast<const char*>(data) + 1, size - 1);
  const SenderKind kind = (control & 1) != 0 ? SenderKind::kAgent : SenderKind::kHuman;
  const std::string_view sender = kind == SenderKind::kAgent ? kSenders[(control >> 1) & 7] : "";
  const int roster_index = (control >> 4) & 1;
  const RoutingRoster& roster = kRosters[roster_index];

  // Parsing.
  const ParsedMentions parsed = agentcore::ParseMentions(content);
  std::set<std::string> seen;
  for (const std::string& name : parsed.mentions) {
    Check(!name.empty() && name != "channel");
    for (char c : name) Check(IsNameByte(c) && !(c >= 'A' && c <= 'Z'));
    Check(seen.insert(name).second);
  }
  Check(parsed == PlainParse(content));
  const MentionsView view = scanner.Scan(content);
  Check(view.is_channel_mention == parsed.is_channel_mention);
  Check(std::equal(view.mentions.begin(), view.mentions.end(), parsed.mentions.begin(),
                   parsed.mentions.end()));

  // Stripping.
  const std::string stripped = agentcore::StripMentions(content);
  Check(stripped.size() <= content.size());
  Check(agentcore::ParseMentions(stripped) == ParsedMentions{});
  Check(stripped.empty() || (stripped.front() != ' ' && stripped.back() != ' '));
  Check(stripped.find("  ") == std::string::npos);
  Check(stripped.find_first_of("\t\n\v\f\r") == std::string::npos);

  // Routing.
  const Routing routing = agentcore::RouteMessage(parsed, kind, roster, sender);
  const agentcore::RoutingView routed = routers[roster_index].Route(view, kind, sender);
  Check(routed.is_broadcast == routing.is_broadcast);
  Check(std::equal(routed.targets.begin(), routed.targets.end(), routing.targets.begin(),
                   routing.targets.end()));
  Check(routing.is_broadcast == parsed.is_channel_mention);
  for (const std::string& target : routing.targets) {
    Check(Contains(roster.agents, target) || Contains(roster.users, target) ||
          target == roster.leader);
    Check(sender.empty() || target != sender);
  }
  if (routing.is_broadcast) {
    std::vector<std::string> expected;
    for (const std::string& agent : roster.agents) {
      if (agent != sender) expected.push_back(agent);
    }
    Check(routing.targets == expected);
  } else if (!parsed.mentions.empty()) {
    for (const std::string& target : routing.targets) Check(Contains(parsed.mentions, target));
  } else {
    Check(routing.targets.size() == (kind == SenderKind::kHuman ? 1u : 0u));
  }
  for (const std::string& agent : agentcore::InvocationTargets(routing, roster)) {
    Check(Contains(roster.agents, agent) && !Contains(roster.users, agent) && !agent.empty());
  }
  return 0;
}
