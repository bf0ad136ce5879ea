// SPDX-License-Identifier: Apache-2.0
#include <agentcore/runtime/kubernetes.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>
#include <agentcore/runtime/agent.hpp>
#include <agentcore/runtime/runtime.hpp>

#include "runtime/kubernetes/kube_names.hpp"
#include "support/fake_kube_api.hpp"
#include "support/recording_runtime_observer.hpp"

using agentcore::ActivateRequest;
using agentcore::AgentEvent;
using agentcore::AgentEventKind;
using agentcore::AgentImage;
using agentcore::AgentStatus;
using agentcore::ErrorCode;
using agentcore::Json;
using agentcore::KubernetesOptions;
using agentcore::NewKubernetesRuntime;
using agentcore::Runtime;
using agentcore::RuntimeOptions;
using agentcore::Status;
using agentcore::testing::FakeKubeApi;
using agentcore::testing::RecordingRuntimeObserver;
using std::chrono::milliseconds;

namespace {

KubernetesOptions Options(const FakeKubeApi& fake) {
  KubernetesOptions o;
  o.connection.server = fake.Url();
  o.connection.token = "api-token-secret";
  AgentImage image;
  image.image = "localhost/agentcore-echo-agent:latest";
  image.command = {"/echo-agent", "--port", "8080"};
  image.env = {{"MODEL_KEY", "sk-model-secret"}};
  image.cpu_millis = 1500;
  image.memory_bytes = 256 * 1024 * 1024;
  o.images["*"] = image;
  o.kill_grace = milliseconds(1000);
  o.request_timeout = milliseconds(3000);
  o.retry_base = milliseconds(1);
  o.retry_cap = milliseconds(5);
  return o;
}

ActivateRequest Request(const std::string& id) {
  ActivateRequest r;
  r.agent_id = id;
  r.agent_type = "echo";
  r.auth_token = "container-token-secret";
  r.api_url = "http://agentcore.default.svc:8080";
  return r;
}

const Json& At(const Json& j, std::initializer_list<std::string_view> keys) {
  const Json* cur = &j;
  for (std::string_view k : keys) {
    REQUIRE(cur->is_object());
    cur = cur->Find(k);
    REQUIRE_MESSAGE(cur != nullptr, "missing key ", std::string(k));
  }
  return *cur;
}

struct Names {
  std::string ns;
  std::string pod;
};
Names NamesOf(const std::string& space, const std::string& callsign, const std::string& id) {
  return {agentcore::internal::NamespaceName("agentcore-", space),
          agentcore::internal::PodName(id, callsign)};
}

struct Fixture {
  FakeKubeApi fake;
  RecordingRuntimeObserver observer{milliseconds(5000)};
  std::unique_ptr<Runtime> runtime;

  explicit Fixture(std::optional<KubernetesOptions> opts = std::nullopt) {
    RuntimeOptions ro;
    ro.observer = &observer;
    auto rt = NewKubernetesRuntime(opts ? *opts : Options(fake), ro);
    REQUIRE(rt.ok());
    runtime = std::move(*rt);
  }
  bool WatchOpen() {
    return FakeKubeApi::WaitFor([&] { return fake.OpenWatches() > 0; });
  }
};

}  // namespace

TEST_SUITE("runtime/kubernetes") {
  TEST_CASE(
      "activation creates the namespace, a secret with the environment and a pod that "
      "refers to it") {
    Fixture f;
    const std::string id = "acme:ops:echo";
    auto st = f.runtime->Activate(Request(id));
    REQUIRE(st.ok());
    CHECK(st->status == AgentStatus::kActivating);
    CHECK(f.observer.WaitFor(AgentEventKind::kActivating, id));
    const Names n = NamesOf("acme", "echo", id);
    CHECK(n.ns == "agentcore-acme");
    CHECK(st->instance_id == n.ns + "/" + n.pod);
    CHECK(f.fake.HasNamespace(n.ns));

    auto secret = f.fake.Secret(n.ns, n.pod);
    REQUIRE(secret);
    const Json& data = At(*secret, {"stringData"});
    CHECK(At(data, {"CAST_AUTH_TOKEN"}).as_string() == "container-token-secret");
    CHECK(At(data, {"CAST_AGENT_ID"}).as_string() == id);
    CHECK(At(data, {"CAST_API_URL"}).as_string() == "http://agentcore.default.svc:8080");
    CHECK(At(data, {"MODEL_KEY"}).as_string() == "sk-model-secret");
    CHECK(At(data, {"PORT"}).as_string() == "8080");

    auto pod = f.fake.Pod(n.ns, n.pod);
    REQUIRE(pod);
    const Json& labels = At(*pod, {"metadata", "labels"});
    CHECK(At(labels, {"agentcore.dev/instance"}).as_string() == "agentcore");
    CHECK(At(labels, {"agentcore.dev/space"}).as_string() == "acme");
    CHECK(At(labels, {"agentcore.dev/channel"}).as_string() == "ops");
    CHECK(At(labels, {"agentcore.dev/callsign"}).as_string() == "echo");
    CHECK(At(labels, {"agentcore.dev/agent"}).as_string().size() == 16);
    CHECK(!At(labels, {"agentcore.dev/run"}).as_string().empty());
    CHECK(At(*pod, {"metadata", "annotations", "agentcore.dev/agent-id"}).as_string() == id);
    const Json& spec = At(*pod, {"spec"});
    CHECK(At(spec, {"restartPolicy"}).as_string() == "Never");
    CHECK(At(spec, {"automountServiceAccountToken"}).as_bool() == false);
    const Json& c = At(spec, {"containers"}).as_array().at(0);
    CHECK(At(c, {"image"}).as_string() == "localhost/agentcore-echo-agent:latest");
    CHECK(At(c, {"command"}).as_array().size() == 3);
    CHECK(At(c, {"resources", "limits", "cpu"}).as_string() == "1500m");
    CHECK(At(c, {"resources", "limits", "memory"}).as_string() == "268435456");
    CHECK(At(c, {"envFrom"}).as_array().at(0) ==
          *agentcore::ParseJson("{\"secretRef\":{\"name\":\"" + n.pod + "\"}}"));
    // Values reach the pod only through the Secret: none is in the pod or the labels.
    const std::string pod_text = agentcore::ToJson(*pod);
    CHECK(pod_text.find("container-token-secret") == std::string::npos);
    CHECK(pod_text.find("sk-model-secret") == std::string::npos);
    // The callback URL needs the pod's IP: an `env` entry from the downward API.
    CHECK(pod_text.find("status.podIP") != std::string::npos);
    CHECK(pod_text.find("http://$(POD_IP):8080") != std::string::npos);
    // Every call carried the bearer token.
    for (const auto& r : f.fake.Requests()) CHECK(r.authorization == "Bearer api-token-secret");
  }

  TEST_CASE("a second activation of a running agent starts nothing") {
    Fixture f;
    REQUIRE(f.runtime->Activate(Request("acme:ops:echo")).ok());
    auto again = f.runtime->Activate(Request("acme:ops:echo"));
    REQUIRE(again.ok());
    CHECK(again->status == AgentStatus::kActivating);
    CHECK(f.fake.Count("POST", "/pods") == 1);
    CHECK(f.runtime->ListAgents().size() == 1);
  }

  TEST_CASE("phase Succeeded reports offline and Failed reports failed with the exit code") {
    Fixture f;
    REQUIRE(f.WatchOpen());
    const std::string ok_id = "acme:ops:good";
    const std::string bad_id = "acme:ops:bad";
    REQUIRE(f.runtime->Activate(Request(ok_id)).ok());
    REQUIRE(f.runtime->Activate(Request(bad_id)).ok());
    const Names good = NamesOf("acme", "good", ok_id);
    const Names bad = NamesOf("acme", "bad", bad_id);
    REQUIRE(f.fake.SetPhase(good.ns, good.pod, "Running"));
    REQUIRE(f.fake.SetPhase(bad.ns, bad.pod, "Running"));
    REQUIRE(f.fake.SetPhase(good.ns, good.pod, "Succeeded", 0));
    REQUIRE(f.fake.SetPhase(bad.ns, bad.pod, "Failed", 3));
    auto off = f.observer.WaitFor(AgentEventKind::kOffline, ok_id);
    REQUIRE(off);
    CHECK(off->exit == agentcore::AgentExit{0, 0});
    auto failed = f.observer.WaitFor(AgentEventKind::kFailed, bad_id);
    REQUIRE(failed);
    CHECK(failed->exit == agentcore::AgentExit{3, 0});
    CHECK(failed->reason == "exited with code 3");
    CHECK(f.runtime->GetState(bad_id)->status == AgentStatus::kError);
    CHECK(f.runtime->GetState(ok_id)->status == AgentStatus::kOffline);
    CHECK(f.runtime->ListAgents().empty());
    CHECK(f.observer.Count(AgentEventKind::kFailed, ok_id) == 0);
  }

  TEST_CASE("a pod deleted by someone else reports failed") {
    Fixture f;
    REQUIRE(f.WatchOpen());
    const std::string id = "acme:ops:echo";
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    const Names n = NamesOf("acme", "echo", id);
    REQUIRE(f.fake.DeleteExternally(n.ns, n.pod));
    auto failed = f.observer.WaitFor(AgentEventKind::kFailed, id);
    REQUIRE(failed);
    CHECK(failed->exit == agentcore::AgentExit{-1, 15});
    CHECK(f.runtime->GetState(id)->reason.starts_with("pod deleted"));
  }

  TEST_CASE("checkin makes a running agent online and is a conflict for others") {
    Fixture f;
    const std::string id = "acme:ops:echo";
    CHECK(f.runtime->Checkin(id, "http://10.0.0.5:8080").code() == ErrorCode::kConflict);
    CHECK(f.runtime->Checkin("bad", "x").code() == ErrorCode::kInvalidArgument);
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    REQUIRE(f.runtime->Checkin(id, "http://10.0.0.5:8080").ok());
    REQUIRE(f.runtime->Checkin(id, "http://10.0.0.5:8080").ok());
    CHECK(f.observer.WaitFor(AgentEventKind::kOnline, id));
    CHECK(f.observer.Count(AgentEventKind::kOnline, id) == 1);
    CHECK(f.runtime->GetState(id)->endpoint == "http://10.0.0.5:8080");
    CHECK(f.runtime->RouteHints(id).is_null());
  }

  TEST_CASE("suspend deletes the pod and its secret and reports offline") {
    Fixture f;
    const std::string id = "acme:ops:echo";
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    const Names n = NamesOf("acme", "echo", id);
    REQUIRE(f.runtime->Suspend(id, "idle").ok());
    CHECK(!f.fake.Pod(n.ns, n.pod));
    CHECK(!f.fake.Secret(n.ns, n.pod));
    auto off = f.observer.WaitFor(AgentEventKind::kOffline, id);
    REQUIRE(off);
    CHECK(off->reason == "idle");
    CHECK(f.runtime->GetState(id)->status == AgentStatus::kOffline);
    // The delete carried the grace period and a uid precondition.
    bool saw = false;
    for (const auto& r : f.fake.Requests()) {
      if (r.method == "DELETE" && r.target.find("/pods/") != std::string::npos) {
        auto body = agentcore::ParseJson(r.body);
        REQUIRE(body.ok());
        CHECK(At(*body, {"gracePeriodSeconds"}).as_number() == 1);
        CHECK(At(*body, {"preconditions", "uid"}).as_string().starts_with("uid-"));
        saw = true;
      }
    }
    CHECK(saw);
    // Idempotent, and OK for an unknown agent.
    CHECK(f.runtime->Suspend(id, "idle").ok());
    CHECK(f.runtime->Suspend("acme:ops:never", "idle").ok());
    CHECK(f.observer.Count(AgentEventKind::kOffline, id) == 1);
  }

  TEST_CASE("suspend of a pod already gone (404) succeeds") {
    Fixture f;
    const std::string id = "acme:ops:echo";
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    f.fake.InjectError("DELETE", "/pods/", 404);
    f.fake.InjectError("DELETE", "/secrets/", 404);
    CHECK(f.runtime->Suspend(id, "manual").ok());
    CHECK(f.runtime->GetState(id)->status == AgentStatus::kOffline);
  }

  TEST_CASE("a suspend the API server refuses leaves the agent running and says why") {
    Fixture f;
    const std::string id = "acme:ops:echo";
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    f.fake.InjectError("DELETE", "/pods/", 500, 5);
    Status st = f.runtime->Suspend(id, "idle");
    CHECK(st.code() == ErrorCode::kInternal);
    CHECK(st.message().find("delete pod") != std::string::npos);
    CHECK(st.message().find("500 InternalError") != std::string::npos);
    CHECK(f.runtime->GetState(id)->status == AgentStatus::kActivating);
    CHECK(f.observer.Count(AgentEventKind::kOffline, id) == 0);
    // Once the server answers again, the next suspend works.
    REQUIRE(f.runtime->Suspend(id, "idle").ok());
    CHECK(f.runtime->GetState(id)->status == AgentStatus::kOffline);
  }

  TEST_CASE("the watch resumes from its resourceVersion after a cut") {
    Fixture f;
    REQUIRE(f.WatchOpen());
    const std::string id = "acme:ops:echo";
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    const int lists =
        f.fake.Count("GET", "/api/v1/pods?labelSelector") - f.fake.Count("GET", "watch=true");
    f.fake.CutWatches();
    REQUIRE(
        FakeKubeApi::WaitFor([&] { return f.fake.Watches() >= 2 && f.fake.OpenWatches() > 0; }));
    const Names n = NamesOf("acme", "echo", id);
    REQUIRE(f.fake.SetPhase(n.ns, n.pod, "Failed", 7));
    auto failed = f.observer.WaitFor(AgentEventKind::kFailed, id);
    REQUIRE(failed);
    CHECK(failed->exit == agentcore::AgentExit{7, 0});
    // Resumed, not re-listed: the later watch names a resourceVersion past the first list's.
    CHECK(f.fake.Count("GET", "/api/v1/pods?labelSelector") - f.fake.Count("GET", "watch=true") ==
          lists);
    std::vector<std::string> rvs;
    for (const auto& r : f.fake.Requests()) {
      const std::size_t at = r.target.find("resourceVersion=");
      if (r.target.find("watch=true") != std::string::npos && at != std::string::npos) {
        rvs.push_back(r.target.substr(at + 16, r.target.find('&', at) - at - 16));
      }
    }
    REQUIRE(rvs.size() >= 2);
    // From the last version it saw: the list's, or a later event's.
    CHECK(std::stoll(rvs.back()) >= std::stoll(rvs.front()));
  }

  TEST_CASE("410 Gone on the watch re-lists and keeps reporting") {
    Fixture f;
    REQUIRE(f.WatchOpen());
    const std::string id = "acme:ops:echo";
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    const Names n = NamesOf("acme", "echo", id);
    f.fake.ExpireHistory();
    REQUIRE(FakeKubeApi::WaitFor([&] {
      return f.fake.Count("GET", "/api/v1/pods?labelSelector") -
                 f.fake.Count("GET", "watch=true") >=
             2;
    }));
    REQUIRE(f.fake.SetPhase(n.ns, n.pod, "Succeeded", 0));
    CHECK(f.observer.WaitFor(AgentEventKind::kOffline, id));
  }

  TEST_CASE("a pod that ended while the watch was down is found by the re-list") {
    Fixture f;
    REQUIRE(f.WatchOpen());
    const std::string id = "acme:ops:echo";
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    const Names n = NamesOf("acme", "echo", id);
    // The watch errs with 500s for a while; meanwhile the pod fails and history expires.
    f.fake.InjectError("GET", "watch=true", 500, 3);
    f.fake.CutWatches();
    REQUIRE(f.fake.SetPhase(n.ns, n.pod, "Failed", 9));
    f.fake.ExpireHistory();
    auto failed = f.observer.WaitFor(AgentEventKind::kFailed, id);
    REQUIRE(failed);
    CHECK(failed->exit == agentcore::AgentExit{9, 0});
  }

  TEST_CASE("a pod deleted while the watch was down is reported after the re-list") {
    Fixture f;
    REQUIRE(f.WatchOpen());
    const std::string id = "acme:ops:echo";
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    const Names n = NamesOf("acme", "echo", id);
    f.fake.InjectError("GET", "watch=true", 503, 3);
    f.fake.CutWatches();
    REQUIRE(f.fake.DeleteExternally(n.ns, n.pod));
    f.fake.ExpireHistory();
    auto failed = f.observer.WaitFor(AgentEventKind::kFailed, id);
    REQUIRE(failed);
    CHECK(failed->exit == agentcore::AgentExit{-1, 15});
    // It asked for the pod before believing the list.
    CHECK(f.fake.Count("GET", "/pods/" + n.pod) >= 1);
  }

  TEST_CASE("429 answers are retried until the call succeeds") {
    Fixture f;
    f.fake.InjectError("POST", "/pods", 429, 2, "0");
    f.fake.InjectError("POST", "/secrets", 503, 1);
    auto st = f.runtime->Activate(Request("acme:ops:echo"));
    REQUIRE(st.ok());
    CHECK(f.fake.Count("POST", "/pods") == 3);
    CHECK(f.fake.Count("POST", "/secrets") == 2);
  }

  TEST_CASE("Retry-After is honoured") {
    Fixture f;
    f.fake.InjectError("POST", "/pods", 429, 1, "1");
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(f.runtime->Activate(Request("acme:ops:echo")).ok());
    CHECK(std::chrono::steady_clock::now() - start >= milliseconds(950));
  }

  TEST_CASE("500s give up after the retries with the server's message") {
    Fixture f;
    f.fake.InjectError("POST", "/pods", 500, 100);
    auto st = f.runtime->Activate(Request("acme:ops:echo"));
    REQUIRE(!st.ok());
    CHECK(st.status().code() == ErrorCode::kInternal);
    const std::string msg = st.status().message();
    CHECK(msg.find("kubernetes: create pod") != std::string::npos);
    CHECK(msg.find("acme:ops:echo") != std::string::npos);
    CHECK(msg.find("500 InternalError: injected by the test") != std::string::npos);
    CHECK(msg.find("after 5 attempts") != std::string::npos);
    CHECK(msg.find("secret") == msg.find("secret"));  // no value of the environment
    CHECK(msg.find("container-token-secret") == std::string::npos);
    CHECK(f.fake.Count("POST", "/pods") == 5);
    auto state = f.runtime->GetState("acme:ops:echo");
    REQUIRE(state);
    CHECK(state->status == AgentStatus::kError);
    // The Secret of a pod that never started is not left behind.
    CHECK(f.fake.SecretCount() == 0);
    CHECK(f.observer.Count(AgentEventKind::kActivating, "acme:ops:echo") == 0);
  }

  TEST_CASE("a 403 is not retried and names the call") {
    Fixture f;
    f.fake.InjectError("POST", "/api/v1/namespaces", 403, 1);
    auto st = f.runtime->Activate(Request("acme:ops:echo"));
    REQUIRE(!st.ok());
    CHECK(st.status().message().find("create namespace \"agentcore-acme\": 403") !=
          std::string::npos);
    CHECK(f.fake.Count("POST", "/api/v1/namespaces") == 1);  // nothing after the refusal
  }

  TEST_CASE("409 on the namespace means it exists") {
    Fixture f;
    f.fake.InjectError("POST", "/api/v1/namespaces", 409, 1);
    // The fake then lacks the namespace: the pod's 404 makes the runtime create it again.
    REQUIRE(f.runtime->Activate(Request("acme:ops:echo")).ok());
    CHECK(f.fake.HasNamespace("agentcore-acme"));
    REQUIRE(f.runtime->Activate(Request("acme:ops:other")).ok());
    int creates = 0;
    for (const auto& r : f.fake.Requests())
      creates += r.method == "POST" && r.target == "/api/v1/namespaces";
    CHECK(creates == 2);
  }

  TEST_CASE("a pod and secret left with the same name are replaced on the next activation") {
    Fixture f;
    REQUIRE(f.WatchOpen());
    const std::string id = "acme:ops:echo";
    auto first = f.runtime->Activate(Request(id));
    REQUIRE(first.ok());
    const Names n = NamesOf("acme", "echo", id);
    const std::string uid1 = At(*f.fake.Pod(n.ns, n.pod), {"metadata", "uid"}).as_string();
    REQUIRE(f.fake.SetPhase(n.ns, n.pod, "Succeeded", 0));
    REQUIRE(f.observer.WaitFor(AgentEventKind::kOffline, id));
    CHECK(f.fake.Pod(n.ns, n.pod));  // kept for its logs
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    auto pod = f.fake.Pod(n.ns, n.pod);
    REQUIRE(pod);
    CHECK(At(*pod, {"metadata", "uid"}).as_string() != uid1);
    CHECK(f.fake.Count("PUT", "/secrets/") == 1);
    CHECK(f.runtime->GetState(id)->status == AgentStatus::kActivating);
  }

  TEST_CASE("reap deletes only this instance's pods of other runs") {
    Fixture f;
    const std::string mine = "acme:ops:mine";
    REQUIRE(f.runtime->Activate(Request(mine)).ok());
    Json old_run = Json::Object();
    old_run.Set("agentcore.dev/instance", "agentcore");
    old_run.Set("agentcore.dev/run", "01oldrun");
    Json other_instance = Json::Object();
    other_instance.Set("agentcore.dev/instance", "someone-else");
    other_instance.Set("agentcore.dev/run", "01oldrun");
    f.fake.AddPod("agentcore-acme", "a-orphan-1", old_run, "acme:ops:orphan");
    f.fake.AddPod("agentcore-acme", "a-done-1", old_run, "acme:ops:done", "Succeeded");
    f.fake.AddPod("agentcore-acme", "a-foreign-1", other_instance, "acme:ops:foreign");
    auto reaped = f.runtime->ReapOrphans();
    REQUIRE(reaped.ok());
    CHECK(*reaped == std::vector<std::string>{"acme:ops:orphan"});
    CHECK(!f.fake.Pod("agentcore-acme", "a-orphan-1"));
    CHECK(!f.fake.Pod("agentcore-acme", "a-done-1"));
    CHECK(!f.fake.Secret("agentcore-acme", "a-orphan-1"));
    CHECK(f.fake.Pod("agentcore-acme", "a-foreign-1"));
    CHECK(f.fake.Secret("agentcore-acme", "a-foreign-1"));
    const Names n = NamesOf("acme", "mine", mine);
    CHECK(f.fake.Pod(n.ns, n.pod));
    CHECK(f.runtime->GetState(mine)->status == AgentStatus::kActivating);
  }

  TEST_CASE("reap reports a list failure") {
    Fixture f;
    f.fake.InjectError("GET", "agentcore.dev%2Frun%21%3D", 403, 1);
    auto reaped = f.runtime->ReapOrphans();
    REQUIRE(!reaped.ok());
    CHECK(reaped.status().code() == ErrorCode::kInternal);
    CHECK(reaped.status().message().find("list orphan pods: 403") != std::string::npos);
  }

  TEST_CASE("shutdown deletes every pod and refuses new activations") {
    Fixture f;
    for (const char* id : {"acme:ops:a", "acme:ops:b", "beta:dev:c"}) {
      REQUIRE(f.runtime->Activate(Request(id)).ok());
    }
    REQUIRE(f.fake.Pods().size() == 3);
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(f.runtime->Shutdown().ok());
    CHECK(std::chrono::steady_clock::now() - start < milliseconds(3000));
    CHECK(f.fake.Pods().empty());
    CHECK(f.fake.SecretCount() == 0);
    CHECK(f.observer.Count(AgentEventKind::kOffline, "beta:dev:c") == 1);
    auto again = f.runtime->Activate(Request("acme:ops:a"));
    CHECK(again.status().code() == ErrorCode::kUnavailable);
    CHECK(f.runtime->Shutdown().ok());
    CHECK(f.runtime->ListAgents().empty());
  }

  TEST_CASE("logs are read in slices and a missing pod has none") {
    Fixture f;
    const std::string id = "acme:ops:echo";
    REQUIRE(f.runtime->Activate(Request(id)).ok());
    const Names n = NamesOf("acme", "echo", id);
    f.fake.SetLog(n.ns, n.pod, "hello\nworld\n");
    auto all = f.runtime->ReadLog(id, 0, 1024);
    REQUIRE(all.ok());
    CHECK(all->data == "hello\nworld\n");
    CHECK(all->next_offset == 12);
    CHECK(all->size == 12);
    auto slice = f.runtime->ReadLog(id, 6, 3);
    REQUIRE(slice.ok());
    CHECK(slice->data == "wor");
    CHECK(slice->next_offset == 9);
    CHECK(slice->size > slice->next_offset);
    CHECK(f.runtime->ReadLog(id, 50, 10).status().code() == ErrorCode::kInvalidArgument);
    // A container still waiting to start has no log yet (the API answers 400).
    f.fake.InjectError("GET", "/log", 400, 1);
    auto waiting = f.runtime->ReadLog(id, 0, 10);
    REQUIRE(waiting.ok());
    CHECK(waiting->data.empty());
    f.fake.InjectError("GET", "/log", 403, 1);
    auto refused = f.runtime->ReadLog(id, 0, 10);
    CHECK(refused.status().code() == ErrorCode::kPermissionDenied);
    CHECK(refused.status().message().find("read log of pod") != std::string::npos);
    CHECK(f.runtime->ReadLog("acme:ops:none", 0, 10).status().code() == ErrorCode::kNotFound);
    CHECK(f.runtime->ReadLog("bad", 0, 10).status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("bad requests are refused before any call") {
    FakeKubeApi fake;
    KubernetesOptions o = Options(fake);
    o.images.clear();
    o.images["claude"].image = "img";
    auto rt = NewKubernetesRuntime(o);
    REQUIRE(rt.ok());
    auto& runtime = **rt;
    ActivateRequest r = Request("acme:ops:echo");
    auto no_image = runtime.Activate(r);
    CHECK(no_image.status().code() == ErrorCode::kInvalidArgument);
    CHECK(no_image.status().message().find("no image for agent type \"echo\"") !=
          std::string::npos);
    r.agent_type = "claude";
    r.agent_id = "a::c";
    CHECK(runtime.Activate(r).status().code() == ErrorCode::kInvalidArgument);
    r.agent_id = "acme:ops:echo";
    r.extra_env = {{"BAD NAME", "v"}};
    CHECK(runtime.Activate(r).status().code() == ErrorCode::kInvalidArgument);
    r.extra_env.clear();
    r.system_prompt.assign(200 * 1024, 'x');
    CHECK(runtime.Activate(r).status().code() == ErrorCode::kTooLarge);
    r.agent_type.clear();
    r.system_prompt.clear();
    CHECK(runtime.Activate(r).status().code() == ErrorCode::kInvalidArgument);
    CHECK(fake.Count("POST", "/") == 0);
  }

  TEST_CASE("bad options are refused by the factory") {
    FakeKubeApi fake;
    KubernetesOptions o = Options(fake);
    SUBCASE("no server") { o.connection.server.clear(); }
    SUBCASE("no images") { o.images.clear(); }
    SUBCASE("an empty image") { o.images["*"].image.clear(); }
    SUBCASE("an instance that is not a label value") { o.instance = "-bad/instance"; }
    SUBCASE("a namespace prefix that is not DNS-safe") { o.namespace_prefix = "Agent_"; }
    auto rt = NewKubernetesRuntime(o);
    CHECK(rt.status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("an API server that is down gives a clear error and no hang") {
    KubernetesOptions o;
    o.connection.server = "http://127.0.0.1:1";
    o.images["*"].image = "img";
    o.retry_base = milliseconds(1);
    o.retry_cap = milliseconds(2);
    o.request_timeout = milliseconds(1000);
    auto rt = NewKubernetesRuntime(o);
    REQUIRE(rt.ok());
    const auto start = std::chrono::steady_clock::now();
    auto st = (*rt)->Activate(Request("acme:ops:echo"));
    REQUIRE(!st.ok());
    CHECK(st.status().code() == ErrorCode::kInternal);
    CHECK(st.status().message().find("kubernetes: create namespace \"agentcore-acme\"") !=
          std::string::npos);
    CHECK(st.status().message().find("after 5 attempts") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < milliseconds(5000));
    CHECK((*rt)->Shutdown().ok());
  }

  TEST_CASE("names are DNS-safe and label values are valid for any Cast id") {
    using namespace agentcore::internal;
    CHECK(NamespaceName("agentcore-", "acme") == "agentcore-acme");
    for (const std::string& space :
         std::vector<std::string>{"Acme Corp", "__x__", "ÄÖ", std::string(200, 'a'), "-"}) {
      const std::string ns = NamespaceName("agentcore-", space);
      CHECK_MESSAGE(IsDnsLabel(ns), ns);
    }
    CHECK(NamespaceName("agentcore-", "Acme") != NamespaceName("agentcore-", "acme"));
    // A space id spelled like another id's hashed name does not get that name.
    const std::string hashed = NamespaceName("agentcore-", "Acme");
    CHECK(NamespaceName("agentcore-", hashed.substr(10)) != hashed);
    CHECK(IsDnsLabel(NamespaceName("", "-x")));
    const std::string pod = PodName("s:c:Echo Bot!", "Echo Bot!");
    CHECK(IsDnsLabel(pod));
    CHECK(pod.starts_with("a-echo-bot-"));
    CHECK(PodName("s:c:x", "x") != PodName("t:c:x", "x"));
    CHECK(LabelValue("ops") == "ops");
    for (const std::string& v :
         std::vector<std::string>{"a b", "-lead", std::string(100, 'z'), "trail.", "%%%"}) {
      CHECK_MESSAGE(IsLabelValue(LabelValue(v)), LabelValue(v));
    }
    CHECK(LabelValue("a b") != LabelValue("a_b"));
    CHECK(!IsSecretKey("A B"));
    CHECK(IsSecretKey("CAST_AUTH_TOKEN"));
  }
}
