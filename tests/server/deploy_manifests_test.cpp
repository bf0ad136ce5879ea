// SPDX-License-Identifier: Apache-2.0
// The deployment artefacts of server/deploy/ agree with the server they deploy: every
// Kubernetes manifest parses (the library's YAML reader), sets only environment variables the
// server reads (kServerEnvironment, environment.hpp), passes only flags it has (--help),
// probes routes it serves, references only Secret keys the Secret has (and every one), and
// stops within its grace; the systemd unit passes `systemd-analyze verify` and stops above the
// server's grace. Each check is also shown to catch a broken copy.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/hub/credentials.hpp>
#include <agentcore/json.hpp>

#include "config.hpp"
#include "environment.hpp"
#include "runtime/kubernetes/mini_yaml.hpp"
#include "server/server_fixture.hpp"
#include "store/temp_dir.hpp"
#include "support/run_command.hpp"

namespace agentcore::server::testing {
namespace {

const std::string kDeployDir = AGENTCORE_DEPLOY_DIR;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// `agentcore-server --help`: the flags it has and the variables it reads.
const std::string& ServerHelp() {
  static const std::string help = [] {
    std::string out;
    REQUIRE(agentcore::testing::RunCommand({AGENTCORE_SERVER_BIN, "--help"}, &out) == 0);
    return out;
  }();
  return help;
}

/// The flags `--help` lists ("--name" tokens), so that a prefix of a flag is not one.
const std::set<std::string>& ServerFlags() {
  static const std::set<std::string> flags = [] {
    std::set<std::string> out;
    const std::string& help = ServerHelp();
    for (std::size_t at = help.find("--"); at != std::string::npos; at = help.find("--", at)) {
      std::size_t end = at + 2;
      while (end < help.size() && (std::isalnum(static_cast<unsigned char>(help[end])) ||
                                   help[end] == '-')) {
        ++end;
      }
      out.insert(help.substr(at, end - at));
      at = end;
    }
    return out;
  }();
  return flags;
}

/// A member path of a parsed manifest ("spec.template.spec"); nullptr when absent.
const Json* At(const Json& root, std::string_view path) {
  const Json* at = &root;
  while (at != nullptr && !path.empty()) {
    const std::size_t dot = path.find('.');
    at = at->Find(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return at;
}
std::string StringAt(const Json& root, std::string_view path) {
  const Json* at = At(root, path);
  return at != nullptr && at->is_string() ? at->as_string() : std::string();
}
const JsonArray& ArrayAt(const Json& root, std::string_view path) {
  static const JsonArray kNone;
  const Json* at = At(root, path);
  return at != nullptr && at->is_array() ? at->as_array() : kNone;
}
long long NumberAt(const Json& root, std::string_view path, long long fallback) {
  const std::string text = StringAt(root, path);  // plain scalars stay strings
  return text.empty() ? fallback : std::stoll(text);
}
bool IsTrue(const Json& root, std::string_view path) {
  const Json* at = At(root, path);
  return at != nullptr && at->is_bool() && at->as_bool();
}
/// Every member of `subset` (an object of strings) is in `set` with the same value.
bool LabelsWithin(const Json* subset, const Json* set) {
  if (subset == nullptr || !subset->is_object() || subset->as_object().empty()) return false;
  for (const JsonMember& m : subset->as_object()) {
    if (set == nullptr || set->FindString(m.key) == nullptr ||
        *set->FindString(m.key) != m.value.as_string()) {
      return false;
    }
  }
  return true;
}

/// The manifests of server/deploy/kubernetes by kind, each as its file's text.
std::map<std::string, std::string> ManifestTexts() {
  std::map<std::string, std::string> by_kind;
  for (const auto& entry : std::filesystem::directory_iterator(kDeployDir + "/kubernetes")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string text = ReadText(entry.path().string());
    Result<Json> parsed = internal::ParseMiniYaml(text);
    REQUIRE_MESSAGE(parsed.ok(), entry.path().string() << ": " << parsed.status().ToString());
    const std::string kind = StringAt(*parsed, "kind");
    REQUIRE_MESSAGE(!kind.empty(), entry.path().string() << " has no kind");
    REQUIRE_MESSAGE(!StringAt(*parsed, "apiVersion").empty(), entry.path().string());
    REQUIRE_MESSAGE(by_kind.emplace(kind, text).second, "two manifests of kind " << kind);
  }
  return by_kind;
}

/// What is wrong with the Deployment, Service and Secret (texts by kind) for this server.
std::vector<std::string> ManifestProblems(const std::map<std::string, std::string>& texts) {
  std::vector<std::string> problems;
  std::map<std::string, Json> docs;
  for (const auto& [kind, text] : texts) {
    Result<Json> parsed = internal::ParseMiniYaml(text);
    if (!parsed.ok()) {
      problems.push_back(kind + ": " + parsed.status().ToString());
      continue;
    }
    docs.emplace(kind, *std::move(parsed));
  }
  for (const char* kind : {"Deployment", "Service", "Secret"}) {
    if (docs.count(kind) == 0) problems.push_back(std::string("no ") + kind);
  }
  if (!problems.empty()) return problems;
  const Json& deployment = docs["Deployment"];
  const Json& service = docs["Service"];
  const Json& secret = docs["Secret"];
  const Json* pod = At(deployment, "spec.template.spec");
  const JsonArray& containers = ArrayAt(deployment, "spec.template.spec.containers");
  if (pod == nullptr || containers.size() != 1) return {"the Deployment has not one container"};
  const Json& c = containers[0];

  if (StringAt(deployment, "spec.replicas") != "3") problems.push_back("replicas is not 3");
  if (!LabelsWithin(At(deployment, "spec.selector.matchLabels"),
                    At(deployment, "spec.template.metadata.labels"))) {
    problems.push_back("the Deployment's selector does not match its pods");
  }

  // Environment: variables the server reads; Secret keys that exist, each one used.
  std::set<std::string> secret_keys;
  for (const char* field : {"stringData", "data"}) {
    if (const Json* data = secret.Find(field); data != nullptr && data->is_object()) {
      for (const JsonMember& m : data->as_object()) secret_keys.insert(m.key);
    }
  }
  const std::string secret_name = StringAt(secret, "metadata.name");
  std::set<std::string> referenced;
  std::string data_dir;
  for (const Json& var : ArrayAt(c, "env")) {
    const std::string name = StringAt(var, "name");
    if (!IsServerEnvironmentVariable(name)) {
      problems.push_back("env " + name + " is not a variable agentcore-server reads");
    }
    if (name == "AGENTCORE_DATA_DIR") data_dir = StringAt(var, "value");
    if (const Json* ref = At(var, "valueFrom.secretKeyRef"); ref != nullptr) {
      const std::string key = StringAt(*ref, "key");
      if (StringAt(*ref, "name") != secret_name) {
        problems.push_back("env " + name + " names another Secret than " + secret_name);
      }
      if (secret_keys.count(key) == 0) {
        problems.push_back("env " + name + " references the missing Secret key " + key);
      }
      referenced.insert(key);
    }
  }
  for (const std::string& key : secret_keys) {
    if (referenced.count(key) == 0) problems.push_back("Secret key " + key + " is not used");
  }

  // Flags: each one agentcore-server --help lists; the grace the stop must stay above.
  long long grace_ms = ServerConfig{}.shutdown_grace.count();
  const JsonArray& args = ArrayAt(c, "args");
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (!args[i].is_string() || !args[i].as_string().starts_with("--")) continue;
    const std::string& flag = args[i].as_string();
    if (ServerFlags().count(flag.substr(0, flag.find('='))) == 0) {
      problems.push_back("agentcore-server has no flag " + flag);
    }
    if (flag == "--shutdown-grace-ms" && i + 1 < args.size()) {
      grace_ms = std::stoll(args[i + 1].as_string());
    }
  }
  const long long pre_stop_ms = NumberAt(c, "lifecycle.preStop.sleep.seconds", 0) * 1000;
  if (NumberAt(*pod, "terminationGracePeriodSeconds", 30) * 1000 <= pre_stop_ms + grace_ms) {
    problems.push_back("terminationGracePeriodSeconds is not above preStop + shutdown grace");
  }

  // Probes: readiness on /ready, liveness on /health, on the container's named port.
  std::set<std::string> ports;
  for (const Json& port : ArrayAt(c, "ports")) {
    ports.insert(StringAt(port, "name"));
    ports.insert(StringAt(port, "containerPort"));
  }
  if (StringAt(c, "readinessProbe.httpGet.path") != "/ready") {
    problems.push_back("the readiness probe is not GET /ready");
  }
  if (StringAt(c, "livenessProbe.httpGet.path") != "/health") {
    problems.push_back("the liveness probe is not GET /health");
  }
  for (const char* probe : {"readinessProbe.httpGet.port", "livenessProbe.httpGet.port"}) {
    if (ports.count(StringAt(c, probe)) == 0) {
      problems.push_back(std::string(probe) + " is not a port of the container");
    }
  }

  // Safety: non-root, read-only root file system, data on an emptyDir, resources.
  if (!IsTrue(*pod, "securityContext.runAsNonRoot") ||
      StringAt(*pod, "securityContext.runAsUser") == "0") {
    problems.push_back("the pod may run as root");
  }
  if (!IsTrue(c, "securityContext.readOnlyRootFilesystem")) {
    problems.push_back("the root file system is writable");
  }
  const Json* escalation = At(c, "securityContext.allowPrivilegeEscalation");
  if (escalation == nullptr || !escalation->is_bool() || escalation->as_bool()) {
    problems.push_back("privilege escalation is allowed");
  }
  std::string data_volume;
  for (const Json& mount : ArrayAt(c, "volumeMounts")) {
    if (StringAt(mount, "mountPath") == data_dir) data_volume = StringAt(mount, "name");
  }
  bool data_on_empty_dir = false;
  for (const Json& volume : ArrayAt(*pod, "volumes")) {
    if (StringAt(volume, "name") == data_volume && volume.Find("emptyDir") != nullptr) {
      data_on_empty_dir = true;
    }
  }
  if (data_dir.empty() || !data_on_empty_dir) {
    problems.push_back("AGENTCORE_DATA_DIR is not an emptyDir volume");
  }
  if (StringAt(c, "resources.requests.cpu").empty() ||
      StringAt(c, "resources.requests.memory").empty() ||
      StringAt(c, "resources.limits.memory").empty()) {
    problems.push_back("resources lack cpu/memory requests or a memory limit");
  }

  // Service: selects the pods, targets the named port.
  if (!LabelsWithin(At(service, "spec.selector"),
                    At(deployment, "spec.template.metadata.labels"))) {
    problems.push_back("the Service does not select the Deployment's pods");
  }
  for (const Json& port : ArrayAt(service, "spec.ports")) {
    if (ports.count(StringAt(port, "targetPort")) == 0) {
      problems.push_back("the Service targets a port the container does not have");
    }
  }
  return problems;
}

std::string Joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const std::string& p : problems) out += p + "\n";
  return out;
}

/// The Deployment with `from` replaced by `to` (which must occur), checked with the others.
std::vector<std::string> ProblemsWith(std::string kind, const std::string& from,
                                      const std::string& to) {
  std::map<std::string, std::string> texts = ManifestTexts();
  std::string& text = texts[kind];
  const std::size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  text.replace(at, from.size(), to);
  return ManifestProblems(texts);
}

bool Mentions(const std::vector<std::string>& problems, std::string_view what) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(what) != std::string::npos; });
}

/// The [Service] settings of the systemd unit, key -> values in order.
std::map<std::string, std::vector<std::string>> ServiceSettings(const std::string& unit) {
  std::map<std::string, std::vector<std::string>> settings;
  std::istringstream lines(unit);
  std::string line;
  std::string section;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line;
      continue;
    }
    const std::size_t eq = line.find('=');
    if (section == "[Service]" && eq != std::string::npos) {
      settings[line.substr(0, eq)].push_back(line.substr(eq + 1));
    }
  }
  return settings;
}

/// The output of `systemd-analyze verify` on `unit` with ExecStart pointing at the built
/// server (verify wants the program to exist), and its exit code; nullopt without systemd.
std::optional<std::pair<int, std::string>> Verify(std::string unit) {
  if (agentcore::testing::RunCommand({"systemd-analyze", "--version"}) != 0) return std::nullopt;
  const std::string installed = "/usr/local/bin/agentcore-server";
  const std::size_t at = unit.find("ExecStart=" + installed);
  REQUIRE(at != std::string::npos);
  unit.replace(at + 10, installed.size(), AGENTCORE_SERVER_BIN);
  agentcore::testing::TempDir dir;
  const std::string path = dir.File("agentcore-server.service");
  std::ofstream(path) << unit;
  std::string out;
  const int rc = agentcore::testing::RunCommand({"systemd-analyze", "verify", path}, &out);
  return std::make_pair(rc, out);
}

TEST_SUITE("deployment artefacts") {
  TEST_CASE("agentcore-server --help lists every environment variable it reads") {
    for (const EnvironmentVariable& v : kServerEnvironment) {
      CHECK_MESSAGE(ServerHelp().find("\n  " + std::string(v.name) + ": ") != std::string::npos,
                    v.name);
    }
  }

  TEST_CASE("the Kubernetes manifests parse and agree with the server") {
    const std::vector<std::string> problems = ManifestProblems(ManifestTexts());
    CHECK_MESSAGE(problems.empty(), Joined(problems));
    // The probed routes are the server's: a running server answers them (not 404).
    ServerFixture server;
    CHECK(server.Call("GET", "/health", {}, false).status == 200);
    const int ready = server.Call("GET", "/ready", {}, false).status;
    CHECK_MESSAGE((ready == 200 || ready == 503), "GET /ready answered " << ready);
  }

  TEST_CASE("the manifest checks catch what would break a deployment") {
    CHECK(Mentions(ProblemsWith("Deployment", "name: NODE_ENV", "name: NODE_ENVIRONMENT"),
                   "env NODE_ENVIRONMENT is not a variable agentcore-server reads"));
    CHECK(Mentions(ProblemsWith("Deployment", "key: JWT_SECRET", "key: JWT"),
                   "references the missing Secret key JWT"));
    CHECK(Mentions(ProblemsWith("Secret", "  JWT_SECRET: CHANGE-ME\n", ""),
                   "missing Secret key JWT_SECRET"));
    CHECK(Mentions(ProblemsWith("Secret", "stringData:\n", "stringData:\n  EXTRA: x\n"),
                   "Secret key EXTRA is not used"));
    CHECK(Mentions(ProblemsWith("Deployment", "path: /ready", "path: /readyz"),
                   "readiness probe is not GET /ready"));
    CHECK(Mentions(ProblemsWith("Deployment", "path: /health", "path: /healthz"),
                   "liveness probe is not GET /health"));
    CHECK(Mentions(ProblemsWith("Deployment", "- --shutdown-grace-ms", "- --shutdown-grace"),
                   "has no flag --shutdown-grace"));
    CHECK(Mentions(ProblemsWith("Deployment", "terminationGracePeriodSeconds: 40",
                                "terminationGracePeriodSeconds: 25"),
                   "terminationGracePeriodSeconds"));
    CHECK(Mentions(ProblemsWith("Deployment", "readOnlyRootFilesystem: true",
                                "readOnlyRootFilesystem: false"),
                   "root file system is writable"));
    CHECK(Mentions(ProblemsWith("Deployment", "runAsNonRoot: true", "runAsNonRoot: false"),
                   "may run as root"));
    CHECK(Mentions(ProblemsWith("Deployment", "mountPath: /data", "mountPath: /var/data"),
                   "AGENTCORE_DATA_DIR is not an emptyDir"));
    CHECK(Mentions(ProblemsWith("Service", "targetPort: http", "targetPort: web"),
                   "targets a port the container does not have"));
    CHECK(Mentions(ProblemsWith("Deployment", "replicas: 3", "replicas: 1"), "replicas"));
    CHECK(Mentions(ProblemsWith("Deployment", "  replicas: 3", "\treplicas: 3"),
                   "Deployment: invalid_argument: yaml line"));
  }

  TEST_CASE("the Secret's placeholder secrets are refused by the server, never used") {
    Result<Json> secret = internal::ParseMiniYaml(ReadText(kDeployDir + "/kubernetes/secret.yaml"));
    REQUIRE(secret.ok());
    Status s = CheckSecrets(false, StringAt(*secret, "stringData.JWT_SECRET"),
                            StringAt(*secret, "stringData.CAST_CONTAINER_SECRET"));
    CHECK(s.code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("the systemd unit stops above the server's grace and sets only its variables") {
    const std::string unit = ReadText(kDeployDir + "/systemd/agentcore-server.service");
    auto settings = ServiceSettings(unit);
    CHECK(settings["KillSignal"] == std::vector<std::string>{"SIGTERM"});
    CHECK(settings["Restart"] == std::vector<std::string>{"on-failure"});
    REQUIRE(settings["TimeoutStopSec"].size() == 1);
    const std::string stop = settings["TimeoutStopSec"][0];
    REQUIRE(stop.ends_with("s"));
    CHECK(std::stoll(stop) * 1000 > ServerConfig{}.shutdown_grace.count());
    CHECK(settings["NoNewPrivileges"] == std::vector<std::string>{"yes"});
    CHECK(settings["ProtectSystem"] == std::vector<std::string>{"strict"});
    CHECK(settings["DynamicUser"] == std::vector<std::string>{"yes"});
    CHECK(settings["StateDirectory"] == std::vector<std::string>{"agentcore"});
    for (const std::string& assignment : settings["Environment"]) {
      CHECK_MESSAGE(IsServerEnvironmentVariable(assignment.substr(0, assignment.find('='))),
                    assignment);
    }
    // The example environment file: every variable, set or commented out, is the server's.
    std::istringstream example(ReadText(kDeployDir + "/systemd/agentcore-server.env.example"));
    std::string line;
    int variables = 0;
    while (std::getline(example, line)) {
      std::string_view text = line;
      if (text.starts_with("# ")) text.remove_prefix(2);
      const std::size_t eq = text.find('=');
      if (eq == std::string_view::npos || eq == 0 || text.find(' ') < eq) continue;
      ++variables;
      CHECK_MESSAGE(IsServerEnvironmentVariable(text.substr(0, eq)), line);
    }
    CHECK(variables >= 5);
  }

  TEST_CASE("the systemd unit passes systemd-analyze verify, and a broken one does not") {
    const std::string unit = ReadText(kDeployDir + "/systemd/agentcore-server.service");
    auto verified = Verify(unit);
    if (!verified) {
      MESSAGE("SKIPPED: systemd-analyze is not installed here; the unit was not verified");
      return;
    }
    // verify exits 0 on unknown keys and bad values but prints them: both must be clean.
    CHECK_MESSAGE(verified->first == 0, verified->second);
    CHECK_MESSAGE(verified->second.empty(), verified->second);
    std::string broken = unit;
    broken.replace(broken.find("KillMode=mixed"), 14, "KillMode=sometimes");
    auto bad = Verify(broken);
    REQUIRE(bad);
    CHECK(bad->second.find("kill mode") != std::string::npos);
  }
}

}  // namespace
}  // namespace agentcore::server::testing
