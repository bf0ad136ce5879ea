// SPDX-License-Identifier: Apache-2.0
// ParseKubeConfig, LoadKubeConfig and InClusterConnection (runtime/kubernetes.hpp), and the
// YAML subset they read (src/runtime/kubernetes/mini_yaml.hpp).
#include <agentcore/runtime/kubernetes.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/json.hpp>

#include "runtime/kubernetes/mini_yaml.hpp"

using agentcore::ErrorCode;
using agentcore::InClusterConnection;
using agentcore::LoadKubeConfig;
using agentcore::ParseKubeConfig;
using agentcore::internal::ParseMiniYaml;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "agentcore-kube-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// base64 with '+' '/' and padding, as kubeconfig *-data fields are written.
std::string StdBase64(const std::string& s) { return agentcore::Base64Encode(s); }

const std::string kCa = "-----BEGIN CERTIFICATE-----\nMIIB+/CA==\n-----END CERTIFICATE-----\n";

// As `kubectl config view --raw` writes it.
std::string KubectlConfig() {
  return "apiVersion: v1\n"
         "clusters:\n"
         "- cluster:\n"
         "    certificate-authority-data: " +
         StdBase64(kCa) +
         "\n"
         "    server: https://10.0.0.1:6443\n"
         "  name: prod\n"
         "- cluster:\n"
         "    insecure-skip-tls-verify: true\n"
         "    server: \"https://dev.example:443/\"\n"
         "  name: dev\n"
         "contexts:\n"
         "- context:\n"
         "    cluster: prod\n"
         "    namespace: agents\n"
         "    user: robot\n"
         "  name: prod-ctx\n"
         "- context:\n"
         "    cluster: dev\n"
         "    user: certy\n"
         "  name: dev-ctx\n"
         "current-context: prod-ctx   # the default\n"
         "kind: Config\n"
         "preferences: {}\n"
         "users:\n"
         "- name: robot\n"
         "  user:\n"
         "    token: 'abc.def'\n"
         "- name: certy\n"
         "  user:\n"
         "    client-certificate-data: " +
         StdBase64("CERT") +
         "\n"
         "    client-key-data: " +
         StdBase64("KEY") + "\n";
}

}  // namespace

TEST_SUITE("runtime/kube_config") {
  TEST_CASE("reads the current context's server, CA data and token") {
    auto c = ParseKubeConfig(KubectlConfig());
    REQUIRE(c.ok());
    CHECK(c->server == "https://10.0.0.1:6443");
    CHECK(c->ca_pem == kCa);
    CHECK(c->ca_file.empty());
    CHECK(c->token == "abc.def");
    CHECK(c->default_namespace == "agents");
    CHECK(!c->insecure_skip_tls_verify);
  }

  TEST_CASE("a named context wins over current-context, with client certificates") {
    auto c = ParseKubeConfig(KubectlConfig(), "", "dev-ctx");
    REQUIRE(c.ok());
    CHECK(c->server == "https://dev.example:443");
    CHECK(c->insecure_skip_tls_verify);
    CHECK(c->client_cert_pem == "CERT");
    CHECK(c->client_key_pem == "KEY");
    CHECK(c->token.empty());
  }

  TEST_CASE("file references are read relative to the kubeconfig's directory") {
    TempDir dir;
    dir.Write("ca.crt", kCa);
    dir.Write("token", "file-token\n");
    dir.Write("client.crt", "CERTFILE");
    dir.Write("client.key", "KEYFILE");
    const std::string path = dir.Write("config",
                                       "clusters:\n"
                                       "  - name: c\n"
                                       "    cluster:\n"
                                       "      server: https://k:6443\n"
                                       "      certificate-authority: ca.crt\n"
                                       "users:\n"
                                       "  - name: u\n"
                                       "    user:\n"
                                       "      tokenFile: token\n"
                                       "      client-certificate: client.crt\n"
                                       "      client-key: " +
                                           dir.path() +
                                           "/client.key\n"
                                           "contexts:\n"
                                           "  - name: x\n"
                                           "    context: {cluster: c, user: u}\n"
                                           "current-context: x\n");
    // Flow mappings are refused: rewrite the context as a block.
    auto refused = LoadKubeConfig(path);
    CHECK(refused.status().code() == ErrorCode::kInvalidArgument);
    CHECK(refused.status().message().find("line 14: flow mappings are not supported") !=
          std::string::npos);
    CHECK(refused.status().message().find(path) != std::string::npos);
    dir.Write("config",
              "clusters:\n"
              "  - name: c\n"
              "    cluster:\n"
              "      server: https://k:6443\n"
              "      certificate-authority: ca.crt\n"
              "users:\n"
              "  - name: u\n"
              "    user:\n"
              "      tokenFile: token\n"
              "      client-certificate: client.crt\n"
              "      client-key: " +
                  dir.path() +
                  "/client.key\n"
                  "contexts:\n"
                  "  - name: x\n"
                  "    context:\n"
                  "      cluster: c\n"
                  "      user: u\n"
                  "current-context: x\n");
    auto c = LoadKubeConfig(path);
    REQUIRE(c.ok());
    CHECK(c->ca_file == dir.path() + "/ca.crt");
    CHECK(c->token == "file-token");
    CHECK(c->client_cert_pem == "CERTFILE");
    CHECK(c->client_key_pem == "KEYFILE");
  }

  TEST_CASE("a JSON kubeconfig is read too") {
    auto c = ParseKubeConfig(
        R"({"clusters":[{"name":"c","cluster":{"server":"http://127.0.0.1:8001"}}],)"
        R"("contexts":[{"name":"x","context":{"cluster":"c"}}],"current-context":"x"})");
    REQUIRE(c.ok());
    CHECK(c->server == "http://127.0.0.1:8001");
    CHECK(c->token.empty());
  }

  TEST_CASE("bad kubeconfigs get errors that say what is wrong") {
    struct Case {
      std::string text;
      std::string context;
      ErrorCode code;
      std::string message;
    };
    const std::string base = KubectlConfig();
    const Case cases[] = {
        {"", "", ErrorCode::kInvalidArgument, "kubeconfig: not a mapping"},
        {"- a\n- b\n", "", ErrorCode::kInvalidArgument, "not a mapping"},
        {"kind: Config\n", "", ErrorCode::kInvalidArgument, "no current-context"},
        {base, "nope", ErrorCode::kInvalidArgument, "context \"nope\" not found"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: gone\n", "",
         ErrorCode::kInvalidArgument, "cluster \"gone\" not found"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    user: u\n", "",
         ErrorCode::kInvalidArgument, "names no cluster"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\n"
         "clusters:\n- name: c\n  cluster:\n    insecure-skip-tls-verify: true\n",
         "", ErrorCode::kInvalidArgument, "cluster \"c\" has no server"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\n"
         "clusters:\n- name: c\n  cluster:\n    server: ftp://x\n",
         "", ErrorCode::kInvalidArgument, "is not an http(s) URL"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\n"
         "clusters:\n- name: c\n  cluster:\n    server: https://x\n"
         "    certificate-authority-data: '!!not base64!!'\n",
         "", ErrorCode::kInvalidArgument, "certificate-authority-data is not base64"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\n"
         "clusters:\n- name: c\n  cluster:\n    server: https://x\n"
         "    certificate-authority: /nonexistent/ca.crt\n",
         "", ErrorCode::kNotFound, "cannot read cluster \"c\".certificate-authority"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
         "clusters:\n- name: c\n  cluster:\n    server: https://x\n"
         "users:\n- name: u\n  user:\n    exec:\n      command: aws\n",
         "", ErrorCode::kNotSupported, "exec or auth-provider plugin"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
         "clusters:\n- name: c\n  cluster:\n    server: https://x\n"
         "users:\n- name: u\n  user:\n    client-certificate-data: Q0VSVA==\n",
         "", ErrorCode::kInvalidArgument, "client certificate without a key"},
        {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: nobody\n"
         "clusters:\n- name: c\n  cluster:\n    server: https://x\n",
         "", ErrorCode::kInvalidArgument, "user \"nobody\" not found"},
        {"current-context: x\ncontexts: 3\n", "", ErrorCode::kInvalidArgument,
         "\"contexts\" is not a list"},
        {"current-context: [x]\n", "", ErrorCode::kInvalidArgument, "flow sequences"},
        {"a: 1\na: 2\n", "", ErrorCode::kInvalidArgument, "line 2: duplicate key \"a\""},
        {"a: &anchor 1\n", "", ErrorCode::kInvalidArgument, "anchors and aliases"},
        {"a: |\n  text\n", "", ErrorCode::kInvalidArgument, "block scalars"},
        {"a:\n\tb: 1\n", "", ErrorCode::kInvalidArgument, "tabs"},
        {"a: \"open\n", "", ErrorCode::kInvalidArgument, "unterminated quoted string"},
        {"a: b\n  c: d\n", "", ErrorCode::kInvalidArgument, "line 2: unexpected indentation"},
        {"{\"broken\": ", "", ErrorCode::kInvalidArgument, "kubeconfig: "},
    };
    for (const Case& c : cases) {
      auto r = ParseKubeConfig(c.text, "", c.context);
      REQUIRE_MESSAGE(!r.ok(), c.text);
      CHECK_MESSAGE(r.status().code() == c.code, c.text, " -> ", r.status().message());
      CHECK_MESSAGE(r.status().message().find(c.message) != std::string::npos, c.text, " -> ",
                    r.status().message());
    }
  }

  TEST_CASE("a missing kubeconfig file is not found") {
    auto r = LoadKubeConfig("/nonexistent/kubeconfig");
    CHECK(r.status().code() == ErrorCode::kNotFound);
    CHECK(r.status().message().find("/nonexistent/kubeconfig") != std::string::npos);
  }

  TEST_CASE("in-cluster configuration comes from the service account and the environment") {
    TempDir dir;
    dir.Write("token", "sa-token\n");
    dir.Write("ca.crt", kCa);
    dir.Write("namespace", "agentcore\n");
    ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    auto c = InClusterConnection(dir.path());
    REQUIRE(c.ok());
    CHECK(c->server == "https://10.96.0.1:443");
    CHECK(c->token == "sa-token");
    CHECK(c->ca_file == dir.path() + "/ca.crt");
    CHECK(c->default_namespace == "agentcore");

    ::setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    CHECK(InClusterConnection(dir.path())->server == "https://[fd00::1]:443");

    ::setenv("KUBERNETES_SERVICE_PORT", "https", 1);
    CHECK(InClusterConnection(dir.path()).status().code() == ErrorCode::kInvalidArgument);
    ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);

    auto no_token = InClusterConnection(dir.path() + "/missing");
    CHECK(no_token.status().code() == ErrorCode::kNotFound);
    CHECK(no_token.status().message().find("service account token") != std::string::npos);
    dir.Write("token", "\n");
    CHECK(InClusterConnection(dir.path()).status().code() == ErrorCode::kNotFound);

    ::unsetenv("KUBERNETES_SERVICE_HOST");
    ::unsetenv("KUBERNETES_SERVICE_PORT");
    auto outside = InClusterConnection(dir.path());
    CHECK(outside.status().code() == ErrorCode::kNotFound);
    CHECK(outside.status().message().find("KUBERNETES_SERVICE_HOST") != std::string::npos);
  }
}

TEST_SUITE("runtime/mini_yaml") {
  TEST_CASE("reads block mappings, sequences at their key's indentation and quoted scalars") {
    auto y = ParseMiniYaml(
        "---\n"
        "# comment\n"
        "a: plain value # trailing comment\n"
        "b: \"tab\\tquote\\\" \\u00e9 # not a comment\"\n"
        "c: 'it''s'\n"
        "list:\n"
        "- one\n"
        "- k: v\n"
        "  k2: v2\n"
        "-\n"
        "  nested: true\n"
        "nested:\n"
        "  deeper:\n"
        "    - x\n"
        "empty:\n"
        "url: https://h:6443/path#frag\n"
        "flags: [ ]\n"
        "none: ~\n");
    REQUIRE(y.ok());
    const std::string expected =
        R"({"a":"plain value","b":"tab\tquote\" é # not a comment","c":"it's",)"
        R"("list":["one",{"k":"v","k2":"v2"},{"nested":true}],"nested":{"deeper":["x"]},)"
        R"("empty":null,"url":"https://h:6443/path#frag","flags":[],"none":null})";
    CHECK(agentcore::ToJson(*y) == expected);
  }

  TEST_CASE("refuses what it does not read, naming the line") {
    const std::string bad[] = {"a: *ref\n",
                               "a: !!str x\n",
                               "a: >\n  x\n",
                               "a: {b: 1}\n",
                               "a: 'open\n",
                               "a: \"\\q\"\n",
                               "a: \"x\" y\n",
                               "---\na: 1\n---\nb: 2\n",
                               "%YAML 1.2\n",
                               "a:\n  - x\n   y: 1\n",
                               "a: \"\\ud800\"\n",
                               "plain\nmore\n",
                               std::string("a: \0\n", 5)};
    for (const std::string& text : bad) {
      auto y = ParseMiniYaml(text);
      CHECK_MESSAGE(!y.ok(), text);
      if (!y.ok()) CHECK(y.status().message().starts_with("yaml line "));
    }
  }

  TEST_CASE("nesting past the depth limit is refused, also when the deepest item ends the file") {
    // Found by kube_config_fuzz: "- " items with nothing after them on the last line opened a
    // block at the end of the input, and the depth error read the line past the end.
    std::string last_line_deep = "a:\n";
    for (int i = 0; i < 70; ++i) last_line_deep += "- ";
    last_line_deep += "-";
    std::string middle_deep = "- ";
    for (int i = 0; i < 70; ++i) middle_deep += "- ";
    middle_deep += "x\nb: 1\n";
    for (const std::string& text : {last_line_deep, middle_deep}) {
      auto y = ParseMiniYaml(text);
      REQUIRE_FALSE(y.ok());
      CHECK(y.status().message().starts_with("yaml line "));
    }
  }

  TEST_CASE("an empty document is null") {
    auto y = ParseMiniYaml("# only a comment\n\n");
    REQUIRE(y.ok());
    CHECK(y->is_null());
  }
}
