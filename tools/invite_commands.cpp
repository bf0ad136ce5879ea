// SPDX-License-Identifier: Apache-2.0
// `agentcore invite-codes generate|list|revoke`: the invite codes password accounts register
// with (issue 16, Octo's `invite-codes`). The rules are the library's (hub/accounts.hpp: the
// free functions work on the store alone, without opening a hub, so running this next to a
// live server touches nothing but the invite_codes table). Codes are printed once, as JSON
// lines; only their SHA-256 is stored.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include <agentcore/clock.hpp>
#include <agentcore/hub/accounts.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/store/store.hpp>

#include "commands.hpp"

namespace agentcore::cli {
namespace {

struct InviteArgs {
  std::string database_url = DefaultDatabaseUrl();
  std::size_t count = 1;
  std::int64_t ttl_hours = kDefaultInviteCodeTtlHours;
  std::string id;
};

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
  return 1;
}

// An ISO time, or null for 0 ("never" / "not yet").
void TimeField(JsonWriter& w, std::string_view key, UnixMillis t) {
  w.Key(key);
  if (t == 0) {
    w.Null();
  } else {
    w.String(FormatIsoTimestamp(t));
  }
}

int Generate(const InviteArgs& args) {
  Result<std::chrono::seconds> ttl = InviteCodeTtl(args.ttl_hours);
  if (!ttl.ok()) return Fail(ttl.status());
  auto store = OpenStore(args.database_url);
  if (!store.ok()) return Fail(store.status());
  auto codes = GenerateInviteCodes(**store, *SystemClock(), args.count, *ttl);
  if (!codes.ok()) return Fail(codes.status());
  for (const GeneratedInviteCode& c : *codes) {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject().Field("id", c.record.id).Field("code", c.code);
    TimeField(w, "expiresAt", c.record.expires_at);
    w.EndObject();
    std::printf("%s\n", out.c_str());
  }
  return 0;
}

int List(const InviteArgs& args) {
  auto store = OpenStore(args.database_url);
  if (!store.ok()) return Fail(store.status());
  auto codes = ListInviteCodes(**store);
  if (!codes.ok()) return Fail(codes.status());
  for (const InviteCode& c : *codes) {
    std::string out;
    AppendInviteCodeJson(c, {}, &out);
    std::printf("%s\n", out.c_str());
  }
  return 0;
}

int Revoke(const InviteArgs& args) {
  auto store = OpenStore(args.database_url);
  if (!store.ok()) return Fail(store.status());
  if (Status s = RevokeInviteCode(**store, args.id); !s.ok()) return Fail(s);
  return 0;
}

}  // namespace

void AddInviteCommands(CLI::App& app, int* exit_code) {
  static InviteArgs args;
  CLI::App* invites =
      app.add_subcommand("invite-codes", "Invite codes for registering password accounts");
  invites->require_subcommand(1);
  invites->add_option("--database-url", args.database_url,
                      "The server's database (sqlite:///path, a path, or postgres://...; default: "
                      "env DATABASE_URL, else $XDG_DATA_HOME/agentcore/agentcore.db)");
  CLI::App* generate =
      invites->add_subcommand("generate", "Make codes; prints each once, as a JSON line");
  generate->add_option("--count", args.count, "How many (1 to 100; default 1)");
  generate->add_option("--ttl-hours", args.ttl_hours,
                       "Hours each code stays valid (default 168; 0: never expires)");
  generate->callback([exit_code] { *exit_code = Generate(args); });
  CLI::App* list = invites->add_subcommand("list", "List codes (never the codes themselves)");
  list->callback([exit_code] { *exit_code = List(args); });
  CLI::App* revoke = invites->add_subcommand("revoke", "Revoke a code by id");
  revoke->add_option("ID", args.id, "The code's id (from generate or list)")->required();
  revoke->callback([exit_code] { *exit_code = Revoke(args); });
}

}  // namespace agentcore::cli
