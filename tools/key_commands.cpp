// SPDX-License-Identifier: Apache-2.0
// `agentcore api-key create|list|revoke`: API keys for programmatic clients of agentcore-server
// (`Authorization: Bearer <key>`). Only the key's SHA-256 is stored; the key is printed once.

#include <cstdio>
#include <cstdlib>
#include <string>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/store/store.hpp>
#include <agentcore/ulid.hpp>

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
  std::string name;
  std::string id;
};

Result<std::unique_ptr<Store>> Open(const KeyArgs& args) { return OpenStore(args.database_url); }

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
  return 1;
}

int Create(const KeyArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  Space space;
  space.id = args.space_id;
  space.name = args.space_id;
  if (auto existing = (*store)->GetSpace(args.space_id); existing.ok()) space = *existing;
  if (auto ensured = (*store)->EnsureSpace(space); !ensured.ok()) return Fail(ensured.status());
  std::string key = NewApiKey();
  ApiKey record;
  record.id = NewUlid();
  record.space_id = args.space_id;
  record.name = args.name;
  record.key_hash = ApiKeyHash(key);
  record.prefix = ApiKeyPrefix(key);
  auto created = (*store)->CreateApiKey(record);
  if (!created.ok()) return Fail(created.status());
  std::string out;
  JsonWriter(&out)
      .BeginObject()
      .Field("id", created->id)
      .Field("spaceId", created->space_id)
      .Field("name", created->name)
      .Field("key", key)
      .EndObject();
  std::printf("%s\n", out.c_str());
  return 0;
}

int List(const KeyArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  auto keys = (*store)->ListApiKeys(args.space_id);
  if (!keys.ok()) return Fail(keys.status());
  for (const ApiKey& k : *keys) {
    std::string out;
    JsonWriter(&out)
        .BeginObject()
        .Field("id", k.id)
        .Field("name", k.name)
        .Field("prefix", k.prefix)
        .Field("createdAt", FormatIsoTimestamp(k.created_at))
        .Field("revoked", k.revoked)
        .EndObject();
    std::printf("%s\n", out.c_str());
  }
  return 0;
}

int Revoke(const KeyArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  if (Status s = (*store)->RevokeApiKey(args.id); !s.ok()) return Fail(s);
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
  create->add_option("--name", args.name, "A label for listings")->required();
  create->callback([exit_code] { *exit_code = Create(args); });
  CLI::App* list = keys->add_subcommand("list", "List a space's keys (never the keys themselves)");
  list->add_option("--space-id", args.space_id, "The space")->required();
  list->callback([exit_code] { *exit_code = List(args); });
  CLI::App* revoke = keys->add_subcommand("revoke", "Revoke a key by id");
  revoke->add_option("ID", args.id, "The key's id")->required();
  revoke->callback([exit_code] { *exit_code = Revoke(args); });
}

}  // namespace agentcore::cli
