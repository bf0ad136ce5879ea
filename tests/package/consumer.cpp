// SPDX-License-Identifier: Apache-2.0
// The program both package consumers build (tests/package/run.sh): it uses the installed
// library the way an embedder would, through the umbrella header only, and prints one line
// that run.sh checks. Every step checks its result and exits 1 with the reason on failure.
//
//   agentcore-consumer DIR   (an empty scratch directory for the SQLite file and the hub)

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <agentcore/agentcore.hpp>

namespace {

[[noreturn]] void Fail(std::string_view step, const std::string& why) {
  std::fprintf(stderr, "agentcore-consumer: %.*s: %s\n", static_cast<int>(step.size()),
               step.data(), why.c_str());
  std::exit(1);
}

template <typename T>
T Take(std::string_view step, agentcore::Result<T> result) {
  if (!result.ok()) Fail(step, result.status().ToString());
  return std::move(*result);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: agentcore-consumer DIR\n");
    return 2;
  }
  const std::string dir = argv[1];

  // Tymbal: one set frame, as an agent streams it (spec tymbal §2.3).
  agentcore::TymbalFrame frame = Take(
      "tymbal", agentcore::ParseFrame(R"({"i":"m1","t":"2026-01-04T10:00:00.000Z",)"
                                      R"("v":{"type":"user","content":"hi @bob and @carol"}})"));
  const std::string* content = frame.value.FindString("content");
  if (frame.kind != agentcore::FrameKind::kSet || content == nullptr) {
    Fail("tymbal", "not a set frame with content");
  }

  // Mentions: whom a human's message addresses in a channel of three agents (spec cast §3).
  agentcore::RoutingRoster roster{.agents = {"alice", "bob", "carol"}, .leader = "alice"};
  agentcore::Routing routing = agentcore::RouteMessage(
      agentcore::ParseMentions(*content), agentcore::SenderKind::kHuman, roster);
  std::string targets;
  for (const std::string& t : agentcore::InvocationTargets(routing, roster)) {
    targets += (targets.empty() ? "" : ",") + t;
  }

  // Store: a SQLite file in DIR; a space, a channel, a message appended and read back.
  std::unique_ptr<agentcore::Store> store =
      Take("store", agentcore::OpenStore("sqlite://" + dir + "/consumer.db"));
  Take("space", store->EnsureSpace({.id = "space-1", .name = "Space 1"}));
  agentcore::Channel channel = Take(
      "create channel", store->CreateChannel({.space_id = "space-1", .name = "general"}));
  agentcore::NewMessage message;
  message.space_id = channel.space_id;
  message.channel_id = channel.id;
  message.sender = "user-1";
  message.sender_type = "user";
  message.type = "user";
  message.content = *content;
  agentcore::Message stored = Take("append message", store->AppendMessage(message));
  agentcore::MessagePage page = Take("list messages", store->ListMessages(channel.id, {}));
  if (page.messages.size() != 1 || page.messages[0].id != stored.id ||
      !page.messages[0].content.is_string() || page.messages[0].content.as_string() != *content) {
    Fail("list messages", "the appended message did not come back");
  }

  // Hub: the application with its defaults, on an in-memory store, its local runtime's files
  // in DIR (no agent command: agents would check in from elsewhere).
  agentcore::HubOptions options;
  options.store_url = "sqlite::memory:";
  options.local_process.data_dir = dir + "/hub";
  std::unique_ptr<agentcore::Hub> hub = Take("open hub", agentcore::OpenHub(std::move(options)));
  Take("hub space", hub->store().EnsureSpace({.id = "space-1", .name = "Space 1"}));
  Take("hub channel", hub->store().CreateChannel({.space_id = "space-1", .name = "ops"}));
  std::size_t hub_channels =
      Take("hub channels", hub->store().ListChannels("space-1", false)).size();
  hub->Close();

  std::printf("agentcore %s: tymbal %s, routed to %s, stored %zu message, hub with %zu channel\n",
              AGENTCORE_VERSION_STRING, frame.id.c_str(), targets.c_str(), page.messages.size(),
              hub_channels);
  return 0;
}
