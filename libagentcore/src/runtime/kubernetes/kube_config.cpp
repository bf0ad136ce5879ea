// SPDX-License-Identifier: Apache-2.0
// Where the Kubernetes runtime finds its API server: a pod's service account, or a kubeconfig.
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include <fmt/format.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/runtime/kubernetes.hpp>

#include "runtime/kubernetes/mini_yaml.hpp"

namespace agentcore {
namespace {

// Kubeconfig files and certificates are small; anything bigger is not one.
constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;

Result<std::string> ReadSmallFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot read {} \"{}\"", what, path));
  std::string data;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<std::size_t>(in.gcount()));
    if (data.size() > kMaxFileBytes) {
      return InvalidArgument(fmt::format("{} \"{}\" is over {} bytes", what, path, kMaxFileBytes));
    }
  }
  if (in.bad()) return NotFound(fmt::format("cannot read {} \"{}\"", what, path));
  return data;
}

std::string TrimWhitespace(std::string s) {
  const std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const std::size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string JoinPath(std::string_view base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  std::string out(base_dir);
  if (out.back() != '/') out += '/';
  return out + path;
}

// Standard base64 (kubeconfig's *-data fields), whitespace ignored.
std::optional<std::string> DecodeBase64(std::string_view text) {
  std::string url;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
    else if (c == '-' || c == '_')
      return std::nullopt;
    url.push_back(c);
  }
  return Base64UrlDecode(url);
}

// The entry of `list` (a kubeconfig "clusters", "users" or "contexts" sequence) named `name`,
// returning its `field` object.
Result<const Json*> FindNamed(const Json& root, std::string_view list, std::string_view field,
                              std::string_view kind, const std::string& name) {
  const Json* items = root.Find(list);
  if (items != nullptr && !items->is_null() && !items->is_array()) {
    return InvalidArgument(fmt::format("kubeconfig: \"{}\" is not a list", list));
  }
  if (items != nullptr && items->is_array()) {
    for (const Json& item : items->as_array()) {
      if (!item.is_object()) {
        return InvalidArgument(
            fmt::format("kubeconfig: an entry of \"{}\" is not a mapping", list));
      }
      const std::string* n = item.FindString("name");
      if (n == nullptr || *n != name) continue;
      const Json* value = item.Find(field);
      if (value == nullptr || !value->is_object()) {
        return InvalidArgument(
            fmt::format("kubeconfig: {} \"{}\" has no \"{}\" mapping", kind, name, field));
      }
      return value;
    }
  }
  return InvalidArgument(fmt::format("kubeconfig: {} \"{}\" not found", kind, name));
}

Result<std::string> StringField(const Json& obj, std::string_view key, std::string_view where) {
  const Json* v = obj.Find(key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) {
    return InvalidArgument(fmt::format("kubeconfig: {}.{} is not a string", where, key));
  }
  return v->as_string();
}

// PEM from `<key>-data` (base64) or the file named by `<key>`.
Result<std::string> PemField(const Json& obj, const std::string& key, std::string_view where,
                             std::string_view base_dir) {
  AGENTCORE_ASSIGN_OR_RETURN(std::string data, StringField(obj, key + "-data", where));
  if (!data.empty()) {
    std::optional<std::string> pem = DecodeBase64(data);
    if (!pem || pem->empty()) {
      return InvalidArgument(fmt::format("kubeconfig: {}.{}-data is not base64", where, key));
    }
    return *pem;
  }
  AGENTCORE_ASSIGN_OR_RETURN(std::string path, StringField(obj, key, where));
  if (path.empty()) return std::string();
  return ReadSmallFile(JoinPath(base_dir, path), fmt::format("{}.{}", where, key));
}

}  // namespace

Result<KubernetesConnection> InClusterConnection(std::string_view service_account_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0') {
    return NotFound("not in a kubernetes cluster: KUBERNETES_SERVICE_HOST is not set");
  }
  const std::string_view port_sv = port == nullptr ? std::string_view() : std::string_view(port);
  if (port_sv.empty() || port_sv.size() > 5 ||
      port_sv.find_first_not_of("0123456789") != std::string_view::npos) {
    return InvalidArgument(
        fmt::format("KUBERNETES_SERVICE_PORT \"{}\" is not a port number", port_sv.substr(0, 32)));
  }
  const std::string_view host_sv(host);
  KubernetesConnection c;
  c.server = host_sv.find(':') != std::string_view::npos
                 ? fmt::format("https://[{}]:{}", host_sv, port_sv)
                 : fmt::format("https://{}:{}", host_sv, port_sv);
  const std::string dir(service_account_dir);
  AGENTCORE_ASSIGN_OR_RETURN(std::string token,
                             ReadSmallFile(dir + "/token", "service account token"));
  c.token = TrimWhitespace(std::move(token));
  if (c.token.empty()) {
    return NotFound(fmt::format("service account token \"{}/token\" is empty", dir));
  }
  c.ca_file = dir + "/ca.crt";
  Result<std::string> ns = ReadSmallFile(dir + "/namespace", "service account namespace");
  if (ns.ok()) c.default_namespace = TrimWhitespace(std::move(*ns));
  return c;
}

Result<KubernetesConnection> ParseKubeConfig(std::string_view text, std::string_view base_dir,
                                             std::string_view context) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  Result<Json> parsed = first != std::string_view::npos && text[first] == '{'
                            ? ParseJson(text)
                            : internal::ParseMiniYaml(text);
  if (!parsed.ok()) {
    return InvalidArgument(fmt::format("kubeconfig: {}", parsed.status().message()));
  }
  const Json& root = *parsed;
  if (!root.is_object()) return InvalidArgument("kubeconfig: not a mapping");

  std::string context_name(context);
  if (context_name.empty()) {
    AGENTCORE_ASSIGN_OR_RETURN(context_name, StringField(root, "current-context", "kubeconfig"));
    if (context_name.empty()) {
      return InvalidArgument("kubeconfig: no current-context and no context given");
    }
  }
  AGENTCORE_ASSIGN_OR_RETURN(const Json* ctx,
                             FindNamed(root, "contexts", "context", "context", context_name));
  const std::string ctx_where = fmt::format("context \"{}\"", context_name);
  AGENTCORE_ASSIGN_OR_RETURN(std::string cluster_name, StringField(*ctx, "cluster", ctx_where));
  if (cluster_name.empty()) {
    return InvalidArgument(fmt::format("kubeconfig: {} names no cluster", ctx_where));
  }
  AGENTCORE_ASSIGN_OR_RETURN(std::string user_name, StringField(*ctx, "user", ctx_where));
  AGENTCORE_ASSIGN_OR_RETURN(const Json* cluster,
                             FindNamed(root, "clusters", "cluster", "cluster", cluster_name));

  KubernetesConnection c;
  AGENTCORE_ASSIGN_OR_RETURN(c.default_namespace, StringField(*ctx, "namespace", ctx_where));
  const std::string cl_where = fmt::format("cluster \"{}\"", cluster_name);
  AGENTCORE_ASSIGN_OR_RETURN(c.server, StringField(*cluster, "server", cl_where));
  if (c.server.empty()) {
    return InvalidArgument(fmt::format("kubeconfig: {} has no server", cl_where));
  }
  if (!c.server.starts_with("https://") && !c.server.starts_with("http://")) {
    return InvalidArgument(fmt::format("kubeconfig: {} server \"{}\" is not an http(s) URL",
                                       cl_where, c.server.substr(0, 200)));
  }
  while (c.server.size() > 8 && c.server.back() == '/') c.server.pop_back();
  if (const Json* insecure = cluster->Find("insecure-skip-tls-verify"); insecure != nullptr) {
    if (insecure->is_bool()) {
      c.insecure_skip_tls_verify = insecure->as_bool();
    } else if (!insecure->is_null()) {
      return InvalidArgument(
          fmt::format("kubeconfig: {}.insecure-skip-tls-verify is not true or false", cl_where));
    }
  }
  AGENTCORE_ASSIGN_OR_RETURN(std::string ca_data,
                             StringField(*cluster, "certificate-authority-data", cl_where));
  if (!ca_data.empty()) {
    AGENTCORE_ASSIGN_OR_RETURN(c.ca_pem,
                               PemField(*cluster, "certificate-authority", cl_where, base_dir));
  } else {
    AGENTCORE_ASSIGN_OR_RETURN(std::string ca_path,
                               StringField(*cluster, "certificate-authority", cl_where));
    if (!ca_path.empty()) {
      c.ca_file = JoinPath(base_dir, ca_path);
      // Read now, so that a wrong path is reported at start-up and not at the first call.
      AGENTCORE_RETURN_IF_ERROR(
          ReadSmallFile(c.ca_file, fmt::format("{}.certificate-authority", cl_where)).status());
    }
  }

  if (user_name.empty()) return c;
  AGENTCORE_ASSIGN_OR_RETURN(const Json* user, FindNamed(root, "users", "user", "user", user_name));
  const std::string us_where = fmt::format("user \"{}\"", user_name);
  if (user->Find("exec") != nullptr || user->Find("auth-provider") != nullptr) {
    return NotSupported(fmt::format(
        "kubeconfig: {} uses an exec or auth-provider plugin, which is not supported; use a "
        "token or a client certificate",
        us_where));
  }
  AGENTCORE_ASSIGN_OR_RETURN(c.token, StringField(*user, "token", us_where));
  if (c.token.empty()) {
    AGENTCORE_ASSIGN_OR_RETURN(std::string token_file, StringField(*user, "tokenFile", us_where));
    if (!token_file.empty()) {
      AGENTCORE_ASSIGN_OR_RETURN(
          std::string token,
          ReadSmallFile(JoinPath(base_dir, token_file), fmt::format("{}.tokenFile", us_where)));
      c.token = TrimWhitespace(std::move(token));
    }
  }
  AGENTCORE_ASSIGN_OR_RETURN(c.client_cert_pem,
                             PemField(*user, "client-certificate", us_where, base_dir));
  AGENTCORE_ASSIGN_OR_RETURN(c.client_key_pem, PemField(*user, "client-key", us_where, base_dir));
  if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
    return InvalidArgument(fmt::format(
        "kubeconfig: {} has a client certificate without a key, or a key without one", us_where));
  }
  if (user->Find("username") != nullptr || user->Find("password") != nullptr) {
    if (c.token.empty() && c.client_cert_pem.empty()) {
      return NotSupported(fmt::format(
          "kubeconfig: {} uses basic authentication, which is not supported", us_where));
    }
  }
  return c;
}

Result<KubernetesConnection> LoadKubeConfig(std::string_view path, std::string_view context) {
  const std::string p(path);
  AGENTCORE_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(p, "kubeconfig"));
  const std::size_t slash = p.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string() : p.substr(0, slash + 1);
  Result<KubernetesConnection> c = ParseKubeConfig(text, dir, context);
  if (!c.ok()) {
    return Status(c.status().code(), fmt::format("{} ({})", c.status().message(), p));
  }
  return c;
}

}  // namespace agentcore
