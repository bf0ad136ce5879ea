// SPDX-License-Identifier: Apache-2.0
#include <agentcore/mention/router.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <unordered_set>
#include <utility>

namespace agentcore {
namespace {

// Rosters of up to this many agents and users (one bit each in a 64-bit mask) are searched
// through two lookup tables; larger ones through a hash set.
constexpr std::size_t kMaskLookupLimit = 64;
// Names of length 0 to 30 have a length bucket each; longer ones share the last bucket.
constexpr std::size_t kLengthBuckets = 32;

// True if `text`, lower-cased, contains "lead". ASCII lower-casing gives the same answer as
// JavaScript's toLowerCase here: no non-ASCII character lower-cases to 'l', 'e', 'a' or 'd'
// (the only non-ASCII characters that lower-case into ASCII are U+0130 and U+212A, which give
// 'i' and 'k').
bool ContainsLeadIgnoringCase(std::string_view text) {
  constexpr std::string_view kLead = "lead";
  if (text.size() < kLead.size()) return false;
  for (std::size_t i = 0; i + kLead.size() <= text.size(); ++i) {
    bool match = true;
    for (std::size_t k = 0; k < kLead.size() && match; ++k) {
      char c = text[i + k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      match = c == kLead[k];
    }
    if (match) return true;
  }
  return false;
}

}  // namespace

// Heap-allocated so that the views handed out (into roster's strings, including the leader
// string, which a std::string move would relocate under the small-string optimisation) survive
// moves of the MessageRouter.
struct MessageRouter::State {
  explicit State(RoutingRoster r) : roster(std::move(r)) {}

  // Returns the roster's own copy of `name` if it is an agent or a user, else nullptr.
  const std::string_view* FindMember(std::string_view name) const {
    if (name.empty() || use_set) [[unlikely]] {
      return FindMemberSlow(name);
    }
    // Candidates are the members with the same first byte and length bucket; for a typical
    // roster that leaves zero or one string to compare.
    std::uint64_t candidates = by_first_byte[static_cast<unsigned char>(name[0])] &
                               by_length[std::min(name.size(), kLengthBuckets - 1)];
    while (candidates != 0) {
      const auto i = static_cast<std::size_t>(std::countr_zero(candidates));
      if (members[i] == name) return &members[i];
      candidates &= candidates - 1;
    }
    return nullptr;
  }

  // FindMember for large rosters and for the empty name (only a hand-made mention list has
  // one). Out of line, so that the common path stays small.
  [[gnu::noinline]] const std::string_view* FindMemberSlow(std::string_view name) const {
    if (name.empty()) {
      const auto it = std::find(members.begin(), members.end(), name);
      return it == members.end() ? nullptr : &*it;
    }
    const auto it = member_set.find(name);
    return it == member_set.end() ? nullptr : &*it;
  }

  // Rule 1 with a sender to leave out. Out of line: broadcasts are rare.
  [[gnu::noinline]] RoutingView BroadcastWithout(std::string_view sender) {
    std::size_t n = 0;
    for (std::string_view agent : agents) {
      if (agent != sender) targets[n++] = agent;
    }
    return RoutingView{std::span<const std::string_view>(targets.data(), n), true};
  }

  // Rule 2: mentioned agents and users, in mention order, but the sender. Mentions are unique,
  // so the targets are too. No leader fallback when nothing matches. Out of line, so that
  // Route() stays small for the many messages without mentions.
  [[gnu::noinline]] RoutingView RouteMentions(std::span<const std::string_view> names,
                                              std::string_view sender) {
    // An empty sender callsign excludes nobody (see Route()).
    const bool has_sender = !sender.empty();
    std::size_t n = 0;
    for (std::string_view name : names) {
      const std::string_view* member = FindMember(name);
      if (member == nullptr || (has_sender && *member == sender)) continue;
      AddTarget(n, *member);
    }
    return RoutingView{std::span<const std::string_view>(targets.data(), n), false};
  }

  // Appends a target, growing the list if a hand-made mention list repeats names (a
  // MentionScanner's never does, and then the list was sized at construction).
  void AddTarget(std::size_t& n, std::string_view target) {
    if (n == targets.size()) [[unlikely]] {
      targets.resize(2 * n + 1);
    }
    targets[n++] = target;
  }

  // Constant after construction.
  RoutingRoster roster;
  std::vector<std::string_view> agents;   // views of roster.agents
  std::vector<std::string_view> members;  // agents then users: spec cast §3.2 rule 2
  std::string_view leader;                // view of roster.leader; the target list of rule 3
  // Lookup for rosters of at most kMaskLookupLimit members: bit i of by_first_byte[b] is set
  // if members[i] starts with byte b, bit i of by_length[n] if its length bucket is n.
  std::array<std::uint64_t, 256> by_first_byte{};
  std::array<std::uint64_t, kLengthBuckets> by_length{};
  // Lookup for larger rosters.
  bool use_set = false;
  std::unordered_set<std::string_view> member_set;
  // Reused between calls. Sized once to the member count, which bounds every target list
  // when the mentions are distinct (as a MentionScanner's are), so routing does not grow it.
  std::vector<std::string_view> targets;
};

MessageRouter::MessageRouter(RoutingRoster roster)
    : state_(std::make_unique<State>(std::move(roster))) {
  State& s = *state_;
  s.agents.assign(s.roster.agents.begin(), s.roster.agents.end());
  s.members = s.agents;
  s.members.insert(s.members.end(), s.roster.users.begin(), s.roster.users.end());
  s.leader = s.roster.leader;
  if (s.members.size() > kMaskLookupLimit) {
    s.use_set = true;
    s.member_set.insert(s.members.begin(), s.members.end());
  } else {
    for (std::size_t i = 0; i < s.members.size(); ++i) {
      const std::string_view member = s.members[i];
      if (member.empty()) continue;  // FindMember handles "" without the tables
      s.by_first_byte[static_cast<unsigned char>(member[0])] |= std::uint64_t{1} << i;
      s.by_length[std::min(member.size(), kLengthBuckets - 1)] |= std::uint64_t{1} << i;
    }
  }
  s.targets.resize(s.members.size());
}

MessageRouter::~MessageRouter() = default;
MessageRouter::MessageRouter(MessageRouter&&) noexcept = default;
MessageRouter& MessageRouter::operator=(MessageRouter&&) noexcept = default;

const RoutingRoster& MessageRouter::roster() const { return state_->roster; }

RoutingView MessageRouter::Route(const MentionsView& mentions, SenderKind sender_kind,
                                 std::string_view sender_callsign) {
  State& s = *state_;
  // Rule 1: @channel beats everything else; every agent, in roster order, but the sender.
  // Cast passes the sender's callsign as an optional argument and tests it for truthiness, so
  // an empty callsign excludes nobody (here and in rule 2).
  if (mentions.is_channel_mention) [[unlikely]] {
    if (sender_callsign.empty()) return RoutingView{s.agents, true};
    return s.BroadcastWithout(sender_callsign);
  }
  // Rules 3 and 4: a human mentioning nobody reaches the leader, even an empty one (spec cast
  // §8 item 4, kept: it is what Cast stores as addressedAgents); an agent reaches nobody.
  // Written as a length so that the compiler need not branch on the sender kind.
  if (mentions.mentions.empty()) {
    const std::size_t n = sender_kind == SenderKind::kHuman ? 1 : 0;
    return RoutingView{std::span<const std::string_view>(&s.leader, n), false};
  }
  return s.RouteMentions(mentions.mentions, sender_callsign);
}

Routing RouteMessage(const ParsedMentions& parsed, SenderKind sender_kind,
                     const RoutingRoster& roster, std::string_view sender_callsign) {
  // The convenience form runs the router, so the two can never disagree.
  const std::vector<std::string_view> names(parsed.mentions.begin(), parsed.mentions.end());
  MessageRouter router(roster);
  const RoutingView view =
      router.Route(MentionsView{names, parsed.is_channel_mention}, sender_kind, sender_callsign);
  Routing routing;
  routing.targets.assign(view.targets.begin(), view.targets.end());
  routing.is_broadcast = view.is_broadcast;
  return routing;
}

RoutingRoster BuildRoutingRoster(std::span<const RoutingRosterEntry> entries,
                                 std::optional<std::string_view> space_owner_callsign) {
  // spec cast §3.3: non-archived entries (paused ones included) by created_at ascending.
  std::vector<const RoutingRosterEntry*> live;
  live.reserve(entries.size());
  for (const RoutingRosterEntry& entry : entries) {
    if (!entry.archived) live.push_back(&entry);
  }
  std::stable_sort(live.begin(), live.end(),
                   [](const RoutingRosterEntry* a, const RoutingRosterEntry* b) {
                     return a->created_at < b->created_at;
                   });

  RoutingRoster roster;
  roster.agents.reserve(live.size());
  for (const RoutingRosterEntry* entry : live) roster.agents.emplace_back(entry->callsign);
  const auto lead = std::find_if(live.begin(), live.end(), [](const RoutingRosterEntry* e) {
    return ContainsLeadIgnoringCase(e->agent_type);
  });
  if (lead != live.end()) {
    roster.leader = std::string((*lead)->callsign);
  } else if (!live.empty()) {
    roster.leader = std::string(live.front()->callsign);
  }
  if (space_owner_callsign.has_value()) roster.users.emplace_back(*space_owner_callsign);
  return roster;
}

std::vector<std::string> InvocationTargets(const Routing& routing, const RoutingRoster& roster) {
  // spec cast §3.4: routing targets minus users. Also minus "" (spec cast §8 item 4, fixed):
  // it only appears as the leader of a channel without agents, and Cast's attempt to start an
  // agent "" then fails and is swallowed.
  std::vector<std::string> agents;
  agents.reserve(routing.targets.size());
  for (const std::string& target : routing.targets) {
    if (target.empty()) continue;
    if (std::find(roster.users.begin(), roster.users.end(), target) != roster.users.end()) {
      continue;
    }
    agents.push_back(target);
  }
  return agents;
}

}  // namespace agentcore
