// SPDX-License-Identifier: Apache-2.0
// `keys` and `invite-codes`: administration with an administrator API key (docs/api.md "Rate
// limits and API keys", "Accounts"); `config`: the config file (config.hpp).
#include <cstdio>
#include <memory>
#include <string>

#include <agentcore/json_writer.hpp>

#include "commands.hpp"

namespace agentcore::ctl {
namespace {

struct KeyArgs {
  std::string id;
  std::string name;
  std::string tier;
  long requests_per_minute = 0;
  long max_running_sessions = 0;
  bool admin = false;
  long count = 1;
  long ttl_hours = 24 * 7;
};

void PrintDeleted(Ctl& ctl, const std::string& what, const std::string& id) {
  if (ctl.out().json) {
    std::string text;
    JsonWriter(&text).BeginObject().Field("id", id).Field("revoked", true).EndObject();
    ctl.out().Line(text);
  } else {
    ctl.out().Line("revoked " + what + " " + id);
  }
}

void AddKeys(CLI::App& app, Ctl& ctl) {
  CLI::App* g = Group(app, "keys", "API keys of the space (administrator key required)");
  auto a = std::make_shared<KeyArgs>();
  CLI::App* create = Command(g, ctl, "create", "Create a key; it is shown once", [&ctl, a] {
    std::string body;
    JsonWriter w(&body);
    w.BeginObject().Field("name", a->name);
    if (!a->tier.empty()) w.Field("tier", a->tier);
    if (a->requests_per_minute > 0) w.Field("requestsPerMinute", a->requests_per_minute);
    if (a->max_running_sessions > 0) w.Field("maxRunningSessions", a->max_running_sessions);
    if (a->admin) w.Field("admin", true);
    w.EndObject();
    HttpResponse r = ctl.api().Call("POST", "/v1/keys", body);
    if (PrintedJson(ctl, r.body)) return;
    Json key = Body(r);
    ctl.out().Line("created key " + Text(key, "id") + " (" + Cell(Text(key, "name")) + ")");
    ctl.out().Line(Text(key, "key"));
    std::fprintf(stderr, "agentctl: the key is shown only now; keep it\n");
  });
  create->add_option("name", a->name, "A name for the key")->required();
  create->add_option("--tier", a->tier, "A tier configured on the server");
  create->add_option("--requests-per-minute", a->requests_per_minute, "Its own rate limit");
  create->add_option("--max-running-sessions", a->max_running_sessions, "Its own session cap");
  create->add_flag("--admin", a->admin, "May manage keys and invite codes");

  Command(g, ctl, "list", "The space's keys (never the keys themselves)", [&ctl] {
    HttpResponse r = ctl.api().Call("GET", "/v1/keys");
    if (PrintedJson(ctl, r.body)) return;
    Table t({"ID", "NAME", "PREFIX", "ADMIN", "TIER", "LAST USED", "STATE"});
    const Json body = Body(r);  // outlives the loop
    for (const Json& k : Items(body, "keys")) {
      const bool revoked = Text(k, "revoked", "") == "yes";
      t.Row({Text(k, "id"), Cell(Text(k, "name"), 40), Cell(Text(k, "prefix")), Text(k, "admin"),
             Cell(Text(k, "tier")), Text(k, "lastUsedAt"),
             ctl.out().State(revoked ? "revoked" : "active")});
    }
    t.Print(ctl.out());
  });

  a = std::make_shared<KeyArgs>();
  CLI::App* revoke = Command(g, ctl, "revoke", "Revoke a key", [&ctl, a] {
    ctl.api().Call("DELETE", "/v1/keys/" + Seg(a->id));
    PrintDeleted(ctl, "key", a->id);
  });
  revoke->add_option("id", a->id, "Key id")->required();
}

void AddInviteCodes(CLI::App& app, Ctl& ctl) {
  CLI::App* g = Group(app, "invite-codes", "Invite codes for password accounts (administrator key)");
  auto a = std::make_shared<KeyArgs>();
  CLI::App* generate = Command(g, ctl, "generate", "Make codes; each is shown once", [&ctl, a] {
    std::string request;
    JsonWriter(&request).BeginObject().Field("count", a->count).Field("ttlHours", a->ttl_hours)
        .EndObject();
    HttpResponse r = ctl.api().Call("POST", "/v1/invite-codes", request);
    if (PrintedJson(ctl, r.body)) return;
    Table t({"ID", "CODE", "EXPIRES"});
    const Json body = Body(r);  // outlives the loop
    for (const Json& c : Items(body, "inviteCodes")) {
      t.Row({Text(c, "id"), Cell(Text(c, "code")), Text(c, "expiresAt", "never")});
    }
    t.Print(ctl.out());
  });
  generate->add_option("--count", a->count, "How many (1-100)")->check(CLI::Range(1, 100));
  generate->add_option("--ttl-hours", a->ttl_hours, "Valid this long (0: never expires; default 168)")
      ->check(CLI::NonNegativeNumber);

  Command(g, ctl, "list", "Every invite code (never the codes themselves)", [&ctl] {
    HttpResponse r = ctl.api().Call("GET", "/v1/invite-codes");
    if (PrintedJson(ctl, r.body)) return;
    Table t({"ID", "PREFIX", "CREATED", "EXPIRES", "USED", "STATE"});
    const Json body = Body(r);  // outlives the loop
    for (const Json& c : Items(body, "inviteCodes")) {
      const std::string state = Text(c, "revoked", "") == "yes" ? "revoked"
                                : Text(c, "usedAt", "").empty() ? "active"
                                                                : "used";
      t.Row({Text(c, "id"), Cell(Text(c, "prefix")), Text(c, "createdAt"),
             Text(c, "expiresAt", "never"), Text(c, "usedAt"), ctl.out().State(state)});
    }
    t.Print(ctl.out());
  });

  a = std::make_shared<KeyArgs>();
  CLI::App* revoke = Command(g, ctl, "revoke", "Revoke an unused code", [&ctl, a] {
    ctl.api().Call("DELETE", "/v1/invite-codes/" + Seg(a->id));
    PrintDeleted(ctl, "invite code", a->id);
  });
  revoke->add_option("id", a->id, "Invite code id")->required();
}

}  // namespace

void AddAdminCommands(CLI::App& app, Ctl& ctl) {
  AddKeys(app, ctl);
  AddInviteCodes(app, ctl);
}

void AddConfigCommands(CLI::App& app, Ctl& ctl) {
  CLI::App* g = Group(app, "config", "The config file ($XDG_CONFIG_HOME/agentctl/config)");
  auto kv = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* set = Command(g, ctl, "set", "Set url or api-key in the config file", [&ctl, kv] {
    WriteConfigValue(ConfigPath(ctl.flags), kv->first, kv->second);
    ctl.out().Line("set " + kv->first + " in " + ConfigPath(ctl.flags));
  });
  set->add_option("name", kv->first, "url or api-key")->required()->check(CLI::IsMember({"url", "api-key"}));
  set->add_option("value", kv->second, "The value")->required();

  Command(g, ctl, "show", "The settings in effect and where each comes from", [&ctl] {
    const Settings s = ResolveSettings(ctl.flags);
    // Enough of the key to tell keys apart, never the secret part.
    const std::string key = s.api_key.empty() ? "" : s.api_key.substr(0, 8) + "…";
    if (ctl.out().json) {
      std::string text;
      JsonWriter(&text).BeginObject().Field("file", ConfigPath(ctl.flags)).Field("url", s.url)
          .Field("urlFrom", s.url_source).Field("apiKey", key).Field("apiKeyFrom", s.api_key_source)
          .EndObject();
      ctl.out().Line(text);
      return;
    }
    Table t({"SETTING", "VALUE", "FROM"});
    t.Row({"url", s.url, s.url_source});
    t.Row({"api-key", key.empty() ? "-" : key, s.api_key_source});
    t.Print(ctl.out());
    ctl.out().Line(ctl.out().Paint("file: " + ConfigPath(ctl.flags), Colour::kDim));
  });
}

}  // namespace agentcore::ctl
