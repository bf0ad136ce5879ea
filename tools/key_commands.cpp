// SPDX-License-Identifier: Apache-2.0
// `agentcore api-key create|list|revoke`: API keys for programmatic clients of agentcore-server
// (`Authorization: Bearer <key>`). Only the key's SHA-256 is stored; the key is printed once.
// The commands are the library's ApiKeyService (hub/api_keys.hpp), as the server's /v1/keys
// routes are; docs/api.md "Rate limits and API keys".

#include <cstdio>
#include <cstdlib>
#include <string>

#include <agentcore/hub/api_keys.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/store/store.hpp>

#include "commands.hpp"

namespace agentcore::cli {

// The server's default database: DATABASE_URL, else the one under DefaultDataHome().
std::string DefaultDatabaseUrl() {
  const char* env = std::getenv("DATABASE_URL");
  if (env != nullptr && env[0] != '\0') return env;
  return "sqlite://" + DefaultDataHome() + "/agentcore.db";
}

namespace {

struct KeyArgs {
  std::string database_url = DefaultDatabaseUrl();
  std::string space_id;
  std::string id;
  NewApiKeyRequest request;
};

Result<std::unique_ptr<Store>> Open(const KeyArgs& args) { return OpenStore(args.database_url); }

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
  return 1;
}

// The CLI holds the database itself: it acts as the space's operator (an administrator) through
// the same ApiKeyService as the server's /v1/keys routes. Tiers are the server's configuration,
// unknown here: any valid tier name is accepted (an unconfigured one resolves to the defaults).
int Create(const KeyArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  Space space;
  space.id = args.space_id;
  space.name = args.space_id;
  if (auto existing = (*store)->GetSpace(args.space_id); existing.ok()) space = *existing;
  if (auto ensured = (*store)->EnsureSpace(space); !ensured.ok()) return Fail(ensured.status());
  ApiKeyService keys(**store, nullptr);
  auto created = keys.CreateApiKey(OperatorPrincipal(args.space_id), args.request);
  if (!created.ok()) return Fail(created.status());
  std::string out;
  AppendApiKeyJson(created->record, created->key, &out);
  std::printf("%s\n", out.c_str());
  return 0;
}

int List(const KeyArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  ApiKeyService service(**store, nullptr);
  auto keys = service.ListApiKeys(OperatorPrincipal(args.space_id));
  if (!keys.ok()) return Fail(keys.status());
  for (const ApiKey& k : *keys) {
    std::string out;
    AppendApiKeyJson(k, {}, &out);
    std::printf("%s\n", out.c_str());
  }
  return 0;
}

int Revoke(const KeyArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  ApiKeyService service(**store, nullptr);
  if (Status s = service.RevokeApiKey(OperatorPrincipal(args.space_id), args.id); !s.ok()) {
    return Fail(s);
  }
  return 0;
}

}  // namespace

void AddKeyCommands(CLI::App& app, int* exit_code) {
  static KeyArgs args;
  CLI::App* keys = app.add_subcommand("api-key", "API keys for agentcore-server (Bearer auth)");
  keys->require_subcommand(1);
  keys->add_option("--database-url", args.database_url,
                   "The server's database (sqlite:///path, a path, or postgres://...; default: "
                   "env DATABASE_URL, else $XDG_DATA_HOME/agentcore/agentcore.db)");
  CLI::App* create = keys->add_subcommand("create", "Create a key; prints it once, as JSON");
  create->add_option("--space-id", args.space_id, "The space the key acts in")->required();
  create->add_option("--name", args.request.name, "A label for listings")->required();
  create->add_flag("--admin", args.request.admin,
                   "An administrator's key: may create, list and revoke keys (POST /v1/keys...)");
  create->add_option("--tier", args.request.tier,
                     "A tier of the server's configuration (--tier NAME=RPM:SESSIONS)");
  create->add_option("--requests-per-minute", args.request.requests_per_minute,
                     "The key's own rate limit (default: its tier's, else the server's)");
  create->add_option("--max-running-sessions", args.request.max_running_sessions,
                     "The key's own cap on running sessions (default: its tier's, else the "
                     "server's)");
  create->callback([exit_code] { *exit_code = Create(args); });
  CLI::App* list = keys->add_subcommand("list", "List a space's keys (never the keys themselves)");
  list->add_option("--space-id", args.space_id, "The space")->required();
  list->callback([exit_code] { *exit_code = List(args); });
  CLI::App* revoke = keys->add_subcommand("revoke", "Revoke a key by id");
  revoke->add_option("--space-id", args.space_id, "The key's space")->required();
  revoke->add_option("ID", args.id, "The key's id")->required();
  revoke->callback([exit_code] { *exit_code = Revoke(args); });
}

}  // namespace agentcore::cli
