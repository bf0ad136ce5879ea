// SPDX-License-Identifier: Apache-2.0
#include <agentcore/mention/router.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/mention/mention.hpp>

namespace agentcore {
namespace {

using Names = std::vector<std::string>;

// The roster of the Node benchmark: 8 agents, a leader, two users.
RoutingRoster TeamRoster() {
  RoutingRoster roster;
  roster.agents = {"lead",     "builder", "researcher", "reviewer",
                   "designer", "writer",  "fox",        "owl-2"};
  roster.leader = "lead";
  roster.users = {"alice", "bob"};
  return roster;
}

Routing Route(std::string_view content, SenderKind kind, const RoutingRoster& roster,
              std::string_view sender = {}) {
  return RouteMessage(ParseMentions(content), kind, roster, sender);
}

Names Targets(std::string_view content, SenderKind kind, const RoutingRoster& roster,
              std::string_view sender = {}) {
  return Route(content, kind, roster, sender).targets;
}

Names ToNames(std::span<const std::string_view> views) { return Names(views.begin(), views.end()); }

// A roster of `n` agents named a0..a{n-1}, a leader and one user.
RoutingRoster NumberedRoster(int n) {
  RoutingRoster roster;
  for (int i = 0; i < n; ++i) roster.agents.push_back("a" + std::to_string(i));
  roster.leader = roster.agents.empty() ? "" : roster.agents.front();
  roster.users = {"alice"};
  return roster;
}

// xorshift64*, the same on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::size_t Below(std::size_t n) {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return static_cast<std::size_t>((state_ * 2685821657736338717ull) % n);
  }

 private:
  std::uint64_t state_;
};

}  // namespace

TEST_SUITE("RouteMessage") {
  TEST_CASE("broadcasts @channel to every agent in roster order") {
    const Routing routing = Route("@channel standup", SenderKind::kHuman, TeamRoster());
    CHECK(routing.targets == TeamRoster().agents);
    CHECK(routing.is_broadcast);
  }

  TEST_CASE("leaves the sender out of a broadcast") {
    const Routing routing = Route("@Channel ack", SenderKind::kAgent, TeamRoster(), "fox");
    CHECK(routing.targets ==
          Names{"lead", "builder", "researcher", "reviewer", "designer", "writer", "owl-2"});
    CHECK(routing.is_broadcast);
  }

  TEST_CASE("ignores specific mentions and users in a broadcast") {
    const Routing routing = Route("@alice @fox @channel @nobody", SenderKind::kHuman, TeamRoster());
    CHECK(routing.targets == TeamRoster().agents);
    CHECK(routing.is_broadcast);
  }

  TEST_CASE("broadcasts x@channel like @channel") {
    CHECK(Route("mail x@channel", SenderKind::kHuman, TeamRoster()).is_broadcast);
  }

  TEST_CASE("reaches agents with capitalised callsigns by broadcast only") {
    RoutingRoster roster;
    roster.agents = {"Fox", "owl"};
    roster.leader = "Fox";
    CHECK(Targets("@channel", SenderKind::kHuman, roster) == Names{"Fox", "owl"});
    CHECK(Targets("@Fox @fox @FOX", SenderKind::kHuman, roster).empty());
  }

  TEST_CASE("broadcasts to nobody in a channel without agents") {
    const Routing routing = Route("@channel", SenderKind::kHuman, RoutingRoster{});
    CHECK(routing.targets.empty());
    CHECK(routing.is_broadcast);
  }

  TEST_CASE("keeps duplicate roster agents in a broadcast") {
    RoutingRoster roster;
    roster.agents = {"fox", "fox", "owl"};
    CHECK(Targets("@channel", SenderKind::kAgent, roster, "owl") == Names{"fox", "fox"});
  }

  TEST_CASE("addresses mentioned agents in mention order") {
    const Routing routing = Route("@writer then @lead", SenderKind::kHuman, TeamRoster());
    CHECK(routing.targets == Names{"writer", "lead"});
    CHECK_FALSE(routing.is_broadcast);
  }

  TEST_CASE("addresses mentioned users") {
    CHECK(Targets("@Alice and @fox", SenderKind::kAgent, TeamRoster(), "lead") ==
          Names{"alice", "fox"});
  }

  TEST_CASE("drops names that are neither agents nor users") {
    CHECK(Targets("@bear @fox @qa-bot", SenderKind::kHuman, TeamRoster()) == Names{"fox"});
  }

  TEST_CASE("drops the sender's mention of itself") {
    CHECK(Targets("@fox @owl-2", SenderKind::kAgent, TeamRoster(), "fox") == Names{"owl-2"});
    CHECK(Targets("@fox", SenderKind::kAgent, TeamRoster(), "fox").empty());
  }

  TEST_CASE("gives no leader fallback when a human mentions only unknown names") {
    const Routing routing = Route("@bear @wolf", SenderKind::kHuman, TeamRoster());
    CHECK(routing.targets.empty());
    CHECK_FALSE(routing.is_broadcast);
  }

  TEST_CASE("routes an e-mail domain that names an agent") {
    CHECK(Targets("contact bob@fox.com", SenderKind::kHuman, TeamRoster()) == Names{"fox"});
    CHECK(Targets("write ops@example.com", SenderKind::kHuman, TeamRoster()).empty());
  }

  TEST_CASE("never matches a roster callsign with capitals") {
    RoutingRoster roster;
    roster.agents = {"Writer"};
    roster.users = {"Alice"};
    CHECK(Targets("@Writer @Alice", SenderKind::kHuman, roster).empty());
  }

  TEST_CASE("sends a human message without mentions to the leader") {
    const Routing routing = Route("what next?", SenderKind::kHuman, TeamRoster());
    CHECK(routing.targets == Names{"lead"});
    CHECK_FALSE(routing.is_broadcast);
  }

  TEST_CASE("sends a human message in a channel without agents to the empty leader") {
    CHECK(Targets("hello?", SenderKind::kHuman, RoutingRoster{}) == Names{""});
  }

  TEST_CASE("sends a human message to the leader whatever sender callsign is given") {
    // Cast's rule 3 does not look at the sender.
    CHECK(Targets("hi", SenderKind::kHuman, TeamRoster(), "lead") == Names{"lead"});
  }

  TEST_CASE("addresses nobody for an agent message without mentions") {
    const Routing routing = Route("done.", SenderKind::kAgent, TeamRoster(), "fox");
    CHECK(routing.targets.empty());
    CHECK_FALSE(routing.is_broadcast);
    CHECK(Targets("", SenderKind::kAgent, TeamRoster()).empty());
  }

  TEST_CASE("treats a lone @ and unicode after @ as no mention") {
    CHECK(Targets("@ @日本", SenderKind::kHuman, TeamRoster()) == Names{"lead"});
    CHECK(Targets("@", SenderKind::kAgent, TeamRoster(), "fox").empty());
  }

  TEST_CASE("treats an empty sender callsign as no sender") {
    CHECK(Targets("@channel", SenderKind::kAgent, TeamRoster(), "") == TeamRoster().agents);
    // Even an agent whose callsign is empty stays in the broadcast, as with Cast's `if (sender)`.
    RoutingRoster roster;
    roster.agents = {"", "fox"};
    CHECK(Targets("@channel", SenderKind::kAgent, roster, "") == Names{"", "fox"});
  }

  TEST_CASE("addresses each mentioned agent once however often it is mentioned") {
    CHECK(Targets("@fox @FOX @Fox @writer @fox", SenderKind::kHuman, TeamRoster()) ==
          Names{"fox", "writer"});
  }

  TEST_CASE("finds roster agents among 10k distinct mentions") {
    std::string content;
    for (int i = 0; i < 10000; ++i) content += "@x" + std::to_string(i) + " ";
    content += "@owl-2 @alice @lead";
    CHECK(Targets(content, SenderKind::kAgent, TeamRoster(), "lead") == Names{"owl-2", "alice"});
  }
}

TEST_SUITE("MessageRouter") {
  TEST_CASE("agrees with RouteMessage on random messages for small and large rosters") {
    static const std::vector<std::string> kPieces = {
        "@",    "@channel", "@Channel",     "@fox",   "@FOX",   "@a1", "@a70",
        "@a99", "@alice",   "@bob",         "@lead",  "@owl-2", "@x",  " ",
        "hi",   "@writer",  "mail@fox.com", "@a1@a2", "日本"};
    static const std::vector<std::string> kSenders = {"", "fox", "a1", "lead", "alice", "zz"};
    for (int roster_size : {0, 1, 8, 64, 65, 100}) {
      const RoutingRoster roster = roster_size == 8 ? TeamRoster() : NumberedRoster(roster_size);
      MessageRouter router(roster);
      MentionScanner scanner;
      Rng rng(static_cast<std::uint64_t>(roster_size) + 1);
      for (int i = 0; i < 3000; ++i) {
        std::string content;
        for (std::size_t n = rng.Below(8); n > 0; --n)
          content += kPieces[rng.Below(kPieces.size())];
        const SenderKind kind = rng.Below(2) == 0 ? SenderKind::kHuman : SenderKind::kAgent;
        const std::string& sender = kSenders[rng.Below(kSenders.size())];
        const Routing expected = RouteMessage(ParseMentions(content), kind, roster, sender);
        const RoutingView view = router.Route(scanner.Scan(content), kind, sender);
        CAPTURE(roster_size);
        CAPTURE(content);
        CAPTURE(sender);
        REQUIRE(ToNames(view.targets) == expected.targets);
        REQUIRE(view.is_broadcast == expected.is_broadcast);
      }
    }
  }

  TEST_CASE("finds every member of a roster larger than the table lookup handles") {
    const RoutingRoster roster = NumberedRoster(200);
    MessageRouter router(roster);
    MentionScanner scanner;
    for (int i = 0; i < 200; ++i) {
      const std::string name = "a" + std::to_string(i);
      REQUIRE(ToNames(router.Route(scanner.Scan("@" + name + " @nobody"), SenderKind::kHuman)
                          .targets) == Names{name});
    }
    CHECK(ToNames(router.Route(scanner.Scan("@alice"), SenderKind::kHuman).targets) ==
          Names{"alice"});
  }

  TEST_CASE("tells apart long callsigns that share a length bucket") {
    RoutingRoster roster;
    roster.agents = {std::string(31, 'a'), std::string(40, 'a'), std::string(32, 'a') + "b"};
    MessageRouter router(roster);
    MentionScanner scanner;
    for (const std::string& agent : roster.agents) {
      REQUIRE(ToNames(router.Route(scanner.Scan("@" + agent), SenderKind::kHuman).targets) ==
              Names{agent});
    }
    CHECK(
        router.Route(scanner.Scan("@" + std::string(35, 'a')), SenderKind::kHuman).targets.empty());
  }

  TEST_CASE("matches an empty name only with an empty callsign") {
    // Only a hand-made mention list can contain "", but equality stays exact.
    RoutingRoster roster;
    roster.agents = {"", "fox"};
    MessageRouter router(roster);
    const std::vector<std::string_view> names = {"", "fox", "owl"};
    CHECK(ToNames(router.Route(MentionsView{names, false}, SenderKind::kHuman).targets) ==
          Names{"", "fox"});
  }

  TEST_CASE("routes a name listed twice in a hand-made mention list twice") {
    // A MentionScanner never repeats a name; Cast's filter over such a list keeps repeats.
    MessageRouter router(TeamRoster());
    const std::vector<std::string_view> names(50, "fox");
    const RoutingView view = router.Route(MentionsView{names, false}, SenderKind::kHuman);
    CHECK(ToNames(view.targets) == Names(50, "fox"));
    CHECK(RouteMessage(ParsedMentions{Names(3, "fox"), false}, SenderKind::kHuman, TeamRoster())
              .targets == Names(3, "fox"));
  }

  TEST_CASE("returns targets that are the roster's own strings") {
    MessageRouter router(TeamRoster());
    std::string content = "@Writer";
    MentionScanner scanner;
    const RoutingView view = router.Route(scanner.Scan(content), SenderKind::kHuman);
    (void)scanner.Scan("@other");  // the mention views are gone, the targets are not
    content.clear();
    REQUIRE(view.targets.size() == 1);
    CHECK(view.targets[0] == "writer");
    CHECK(view.targets[0].data() == router.roster().agents[5].data());
  }

  TEST_CASE("keeps returned views valid across a move") {
    MessageRouter router(TeamRoster());
    MentionScanner scanner;
    const RoutingView view = router.Route(scanner.Scan("hi"), SenderKind::kHuman);
    MessageRouter moved(std::move(router));
    CHECK(ToNames(view.targets) == Names{"lead"});
    CHECK(ToNames(moved.Route(scanner.Scan("@fox"), SenderKind::kHuman).targets) == Names{"fox"});
  }

  TEST_CASE("reuses its target list between calls") {
    MessageRouter router(TeamRoster());
    MentionScanner scanner;
    const RoutingView first =
        router.Route(scanner.Scan("@fox @owl-2 @writer @lead @alice"), SenderKind::kHuman);
    const std::string_view* const storage = first.targets.data();
    for (int i = 0; i < 100; ++i) {
      const RoutingView view = router.Route(scanner.Scan("@fox @bob"), SenderKind::kHuman);
      REQUIRE(view.targets.data() == storage);
    }
  }

  TEST_CASE("keeps the roster it was given") {
    MessageRouter router(TeamRoster());
    CHECK(router.roster() == TeamRoster());
  }
}

TEST_SUITE("BuildRoutingRoster") {
  TEST_CASE("orders agents by creation time") {
    const std::vector<RoutingRosterEntry> entries = {{"writer", "writer", false, 30},
                                                     {"lead", "lead", false, 10},
                                                     {"fox", "builder", false, 20}};
    CHECK(BuildRoutingRoster(entries, std::nullopt).agents == Names{"lead", "fox", "writer"});
  }

  TEST_CASE("keeps the input order of entries created at the same time") {
    const std::vector<RoutingRosterEntry> entries = {
        {"b", "x", false, 5}, {"a", "x", false, 5}, {"c", "x", false, 1}};
    CHECK(BuildRoutingRoster(entries, std::nullopt).agents == Names{"c", "b", "a"});
  }

  TEST_CASE("leaves archived entries out") {
    const std::vector<RoutingRosterEntry> entries = {{"old", "builder", true, 1},
                                                     {"fox", "builder", false, 2}};
    const RoutingRoster roster = BuildRoutingRoster(entries, std::nullopt);
    CHECK(roster.agents == Names{"fox"});
    CHECK(roster.leader == "fox");
  }

  TEST_CASE("picks the first agent whose type contains lead in any case as the leader") {
    const std::vector<RoutingRosterEntry> entries = {
        {"fox", "builder", false, 1}, {"boss", "Team LEAD", false, 2}, {"lead2", "lead", false, 3}};
    CHECK(BuildRoutingRoster(entries, std::nullopt).leader == "boss");
  }

  TEST_CASE("matches lead anywhere in the type, as a plain substring") {
    const std::vector<RoutingRosterEntry> entries = {{"fox", "builder", false, 1},
                                                     {"owl", "misleading reviewer", false, 2}};
    CHECK(BuildRoutingRoster(entries, std::nullopt).leader == "owl");
  }

  TEST_CASE("does not lower-case non-ASCII letters into lead") {
    const std::vector<RoutingRosterEntry> entries = {{"fox", "builder", false, 1},
                                                     {"owl", "LÉAD", false, 2},
                                                     {"cat", "ＬＥＡＤ", false, 3},
                                                     {"emu", "le ad", false, 4}};
    CHECK(BuildRoutingRoster(entries, std::nullopt).leader == "fox");
  }

  TEST_CASE("never makes an archived lead the leader") {
    const std::vector<RoutingRosterEntry> entries = {{"boss", "lead", true, 1},
                                                     {"fox", "builder", false, 2}};
    CHECK(BuildRoutingRoster(entries, std::nullopt).leader == "fox");
  }

  TEST_CASE("falls back to the first agent as the leader") {
    const std::vector<RoutingRosterEntry> entries = {{"owl", "reviewer", false, 2},
                                                     {"fox", "builder", false, 1}};
    CHECK(BuildRoutingRoster(entries, std::nullopt).leader == "fox");
  }

  TEST_CASE("gives an empty roster an empty leader and no agents") {
    const RoutingRoster roster = BuildRoutingRoster({}, "alice");
    CHECK(roster.agents.empty());
    CHECK(roster.leader.empty());
    CHECK(roster.users == Names{"alice"});
    const std::vector<RoutingRosterEntry> all_archived = {{"boss", "lead", true, 1}};
    CHECK(BuildRoutingRoster(all_archived, std::nullopt).leader.empty());
  }

  TEST_CASE("lists the space owner as the only user") {
    const std::vector<RoutingRosterEntry> entries = {{"fox", "lead", false, 1}};
    CHECK(BuildRoutingRoster(entries, "alice").users == Names{"alice"});
    CHECK(BuildRoutingRoster(entries, std::nullopt).users.empty());
    CHECK(BuildRoutingRoster(entries, std::string_view()).users == Names{""});
  }

  TEST_CASE("copies callsigns as given, capitals and all") {
    const std::vector<RoutingRosterEntry> entries = {{"Fox", "Lead", false, 1}};
    const RoutingRoster roster = BuildRoutingRoster(entries, std::nullopt);
    CHECK(roster.agents == Names{"Fox"});
    CHECK(roster.leader == "Fox");
  }
}

TEST_SUITE("InvocationTargets") {
  TEST_CASE("removes users from the routing targets and keeps their order") {
    const RoutingRoster roster = TeamRoster();
    const Routing routing = Route("@bob @writer @alice @fox", SenderKind::kAgent, roster, "lead");
    CHECK(routing.targets == Names{"bob", "writer", "alice", "fox"});
    CHECK(InvocationTargets(routing, roster) == Names{"writer", "fox"});
  }

  TEST_CASE("invokes every agent of a broadcast") {
    const RoutingRoster roster = TeamRoster();
    CHECK(InvocationTargets(Route("@channel", SenderKind::kHuman, roster), roster) ==
          roster.agents);
  }

  TEST_CASE("invokes the leader of a human message without mentions") {
    const RoutingRoster roster = TeamRoster();
    CHECK(InvocationTargets(Route("hi", SenderKind::kHuman, roster), roster) == Names{"lead"});
  }

  TEST_CASE("invokes nobody for the empty leader of a channel without agents") {
    const RoutingRoster roster = BuildRoutingRoster({}, "alice");
    const Routing routing = Route("hello?", SenderKind::kHuman, roster);
    CHECK(routing.targets == Names{""});
    CHECK(InvocationTargets(routing, roster).empty());
  }

  TEST_CASE("invokes nobody when only users are mentioned") {
    const RoutingRoster roster = TeamRoster();
    CHECK(InvocationTargets(Route("@alice @bob", SenderKind::kHuman, roster), roster).empty());
  }
}

}  // namespace agentcore
