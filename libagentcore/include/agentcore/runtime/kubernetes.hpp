// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The Kubernetes runtime: each agent is a pod, started through the API server's REST API.
///
/// Where things go, for the agent `space:channel:callsign`:
///
///   namespace  `<namespace_prefix><space>` (DNS-1123 label; a hash suffix when the space id
///              had to be changed or shortened), created when missing (409 = exists)
///   Secret     `<pod name>` in that namespace: the CAST_* variables of AgentEnvironment()
///              (cast.md §5.2), PORT and the agent type's env. The pod reads it through
///              `envFrom.secretRef`, so no value appears in the pod spec, a label or a log.
///   pod        `a-<callsign>-<16 hex of SHA-256(agent id)>`, one container named `agent`,
///              restartPolicy Never, resource limits from AgentImage, POD_IP from the
///              downward API, no service-account token mounted.
///
/// Labels (`agentcore.dev/...`) on the pod and its Secret: `instance` (KubernetesOptions::
/// instance), `run` (this runtime object's id, new at every start), `space`, `channel`,
/// `callsign` (label-safe spellings, hashed where needed) and `agent` (a hash of the id). The
/// full agent id is the annotation `agentcore.dev/agent-id`.
///
/// One thread ("agentcore-kwatch") lists and then watches the pods of this run (label
/// selector), resuming from the last resourceVersion, re-listing after 410 Gone, reconnecting
/// with backoff: phase Succeeded reports kOffline, Failed reports kFailed with the container's
/// exit code, a pod deleted by someone else reports kFailed. A second thread
/// ("agentcore-kevent") delivers events to the observer, so a slow observer never stalls the
/// watch. Every API call has a timeout; 429 and 5xx answers are retried with exponential
/// backoff and full jitter, honouring Retry-After.
///
/// Suspend deletes the pod (grace period `kill_grace`) and waits until it is gone, then
/// deletes the Secret; 404 means already gone. Pods that ended on their own are kept, so that
/// their logs can be read, until the next Activate or Suspend of that agent. ReapOrphans
/// deletes the pods and Secrets that carry this instance's label but another run's, each pod
/// under a uid precondition. Shutdown suspends every running agent in parallel.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <agentcore/export.hpp>
#include <agentcore/http/client.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/agent_image.hpp>
#include <agentcore/runtime/runtime.hpp>

namespace agentcore {

/// How to reach and authenticate to one API server. Plain data. `token` and the client key
/// are secrets: never logged.
struct KubernetesConnection {
  /// Base URL, e.g. `https://10.0.0.1:443`; no trailing slash. Required.
  std::string server;
  /// Bearer token; empty sends no Authorization header.
  std::string token;
  /// CA to verify the server with: a PEM file, or inline PEM. Both empty: the system store.
  std::string ca_file;
  std::string ca_pem;
  /// TLS client certificate and key (PEM), from a kubeconfig user; both or neither.
  std::string client_cert_pem;
  std::string client_key_pem;
  /// The kubeconfig's insecure-skip-tls-verify.
  bool insecure_skip_tls_verify = false;
  /// The namespace of the context or of the service account; informational (agents get a
  /// namespace per space).
  std::string default_namespace;
};

/// The service-account directory of a pod.
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

/// The connection of a process running in a pod: `https://$KUBERNETES_SERVICE_HOST:
/// $KUBERNETES_SERVICE_PORT` (an IPv6 host is bracketed), the token, `ca.crt` and `namespace`
/// under `service_account_dir`. Errors: kNotFound when KUBERNETES_SERVICE_HOST is not set (not
/// in a cluster); kInvalidArgument when the port is missing or not a number; kNotFound when
/// the token file is missing or empty, naming it.
AGENTCORE_EXPORT Result<KubernetesConnection> InClusterConnection(
    std::string_view service_account_dir = kServiceAccountDir);

/// Parses a kubeconfig (YAML, or JSON): the context named `context` or else
/// `current-context`, its cluster's `server`, `certificate-authority` (a path, relative to
/// `base_dir` when relative) or `certificate-authority-data` (base64), and
/// `insecure-skip-tls-verify`; its user's `token`, `tokenFile`, `client-certificate(-data)`
/// and `client-key(-data)`. Only the YAML that kubeconfig files use is read: block mappings
/// and sequences, plain and quoted scalars, comments; anchors, tags, block scalars and
/// non-empty flow collections are refused. Users with `exec` or `auth-provider` plugins are
/// refused (kNotSupported). Errors: kInvalidArgument naming the line or the missing field,
/// e.g. `kubeconfig: context "dev" not found`; kNotFound for a file it refers to that cannot
/// be read.
AGENTCORE_EXPORT Result<KubernetesConnection> ParseKubeConfig(std::string_view text,
                                                              std::string_view base_dir = "",
                                                              std::string_view context = "");

/// Reads and parses the kubeconfig at `path` (relative paths in it are relative to its
/// directory). Errors: those of ParseKubeConfig; kNotFound when the file cannot be read.
AGENTCORE_EXPORT Result<KubernetesConnection> LoadKubeConfig(std::string_view path,
                                                             std::string_view context = "");

/// Options of NewKubernetesRuntime(). Every field but `connection` and `images` has a
/// working default.
struct KubernetesOptions {
  KubernetesConnection connection;
  /// Image per ActivateRequest::agent_type; the entry "*" is used for types not listed.
  std::map<std::string, AgentImage> images;
  /// Names this server in the `agentcore.dev/instance` label; ReapOrphans finds earlier runs
  /// of the same instance by it. A label value: at most 63 of [A-Za-z0-9-_.], alphanumeric
  /// at both ends.
  std::string instance = "agentcore";
  /// Prefix of the per-space namespaces; lower-case alphanumerics and '-', at most 20 bytes.
  std::string namespace_prefix = "agentcore-";
  /// PORT given to agents (and the port of their callback URL when the request has none);
  /// 0 gives none.
  int agent_port = 8080;
  /// Grace period of a pod deletion (gracePeriodSeconds, rounded up to whole seconds).
  std::chrono::milliseconds kill_grace{5'000};
  /// Timeout of each API call.
  std::chrono::milliseconds request_timeout{10'000};
  /// Retries of a call answered 429 or 5xx (or not answered), after the first attempt.
  int max_retries = 4;
  /// Backoff of those retries: a random delay between half and all of min(cap, base *
  /// 2^attempt); a Retry-After header, when longer, wins up to `max_retry_after`.
  std::chrono::milliseconds retry_base{200};
  std::chrono::milliseconds retry_cap{5'000};
  std::chrono::milliseconds max_retry_after{30'000};
  /// Server-side length of one watch request (timeoutSeconds); the watch then resumes from
  /// its resourceVersion. It also bounds how long a connection that died silently (no FIN)
  /// goes unnoticed: the client gives up `request_timeout` after it.
  std::chrono::seconds watch_timeout{60};
  /// The HTTP client for API calls. Not owned; must outlive the runtime. nullptr: the runtime
  /// owns a NewHttpClient().
  HttpClient* http = nullptr;
};

/// The Kubernetes runtime (see the top of this file); Kind() is "kubernetes". RouteHints()
/// is null: pushes go to the endpoint the agent reports at checkin (its pod IP, from POD_IP).
/// Errors: kInvalidArgument for an empty connection.server, no images, an image with an
/// empty reference, or an instance or namespace_prefix that is not label-safe. Contacts no
/// server: the watch thread starts listing at once and retries until it succeeds.
AGENTCORE_EXPORT Result<std::unique_ptr<Runtime>> NewKubernetesRuntime(
    const KubernetesOptions& options, const RuntimeOptions& runtime_options = {});

}  // namespace agentcore
