// SPDX-License-Identifier: Apache-2.0
#include <cstdio>
#include <string>
#include <vector>

#include <agentcore/json_writer.hpp>
#include <agentcore/mention/mention.hpp>
#include <agentcore/mention/router.hpp>

#include "commands.hpp"

namespace agentcore::cli {

namespace {

struct MentionArgs {
  std::string text;
  std::vector<std::string> agents;
  std::string leader;
  std::vector<std::string> users;
  std::string from_agent;  // empty: a human sent it
};

void PrintMentions(const MentionArgs& a) {
  const ParsedMentions parsed = ParseMentions(a.text);
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("mentions").BeginArray();
  for (const std::string& m : parsed.mentions) w.String(m);
  w.EndArray().Field("isChannelMention", parsed.is_channel_mention)
      .Field("stripped", StripMentions(a.text));
  if (!a.agents.empty() || !a.users.empty() || !a.leader.empty()) {
    RoutingRoster roster{a.agents, a.leader.empty() && !a.agents.empty() ? a.agents[0] : a.leader,
                         a.users};
    const SenderKind kind = a.from_agent.empty() ? SenderKind::kHuman : SenderKind::kAgent;
    const Routing routing = RouteMessage(parsed, kind, roster, a.from_agent);
    w.Key("targets").BeginArray();
    for (const std::string& t : routing.targets) w.String(t);
    w.EndArray().Field("isBroadcast", routing.is_broadcast).Key("invoke").BeginArray();
    for (const std::string& t : InvocationTargets(routing, roster)) w.String(t);
    w.EndArray();
  }
  w.EndObject();
  std::printf("%s\n", out.c_str());
}

}  // namespace

void AddMentionCommands(CLI::App& app, int* exit_code) {
  static MentionArgs args;
  CLI::App* cmd = app.add_subcommand(
      "mentions", "Parse the @mentions of a message and, given a roster, route it (as JSON)");
  cmd->add_option("TEXT", args.text, "The message content")->required();
  cmd->add_option("--agents", args.agents, "Roster agent callsigns, in roster order")
      ->delimiter(',');
  cmd->add_option("--leader", args.leader, "Leader callsign (default: the first agent)");
  cmd->add_option("--users", args.users, "Human callsigns that may be mentioned")
      ->delimiter(',');
  cmd->add_option("--from-agent", args.from_agent,
                  "Route as sent by this agent (default: sent by a human)");
  cmd->callback([exit_code] {
    PrintMentions(args);
    *exit_code = 0;
  });
}

}  // namespace agentcore::cli
