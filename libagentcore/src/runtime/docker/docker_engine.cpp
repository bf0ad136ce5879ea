// SPDX-License-Identifier: Apache-2.0
#include "runtime/docker/docker_engine.hpp"

#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "runtime/docker/docker_log_stream.hpp"

namespace agentcore::internal {
namespace {

constexpr std::string_view kApi = "http://docker/v1.41";
constexpr std::size_t kMaxEngineBodyBytes = 64u << 20;

std::string Escape(std::string_view s) { return UrlEncodeComponent(s); }

}  // namespace

Status Annotate(const Status& status, std::string_view what) {
  if (status.ok()) return status;
  return Status(status.code(), fmt::format("docker: {}: {}", what, status.message()));
}

Result<std::string> DockerSocketPath(std::string_view host) {
  std::string value(host);
  if (value.empty()) {
    const char* env = std::getenv("DOCKER_HOST");
    value = env != nullptr && *env != '\0' ? env : "unix:///var/run/docker.sock";
  }
  constexpr std::string_view kUnix = "unix://";
  if (value.rfind(kUnix, 0) != 0 || value.size() == kUnix.size() || value[kUnix.size()] != '/') {
    return InvalidArgument(fmt::format(
        "docker: unsupported DOCKER_HOST \"{}\": expected unix:///path/to/socket", value));
  }
  return value.substr(kUnix.size());
}

Status EngineStatus(const HttpResponse& response, bool not_modified_ok) {
  if (response.status >= 200 && response.status < 300) return Status::Ok();
  if (response.status == 304 && not_modified_ok) return Status::Ok();
  std::string message;
  if (auto json = ParseJson(response.body); json.ok() && json->is_object()) {
    if (const std::string* m = json->FindString("message")) message = *m;
  }
  if (message.empty()) {
    message = response.body.substr(0, 200);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
      message.pop_back();
    }
  }
  if (message.empty()) message = "(no message)";
  ErrorCode code = ErrorCode::kInternal;
  switch (response.status) {
    case 400:
      code = ErrorCode::kInvalidArgument;
      break;
    case 404:
      code = ErrorCode::kNotFound;
      break;
    case 409:
      code = ErrorCode::kConflict;
      break;
    default:
      break;
  }
  return Status(code, fmt::format("{} {}", response.status, message));
}

bool InspectRunning(const Json& inspect) {
  const Json* state = inspect.Find("State");
  if (state == nullptr || !state->is_object()) return false;
  const Json* running = state->Find("Running");
  return running != nullptr && running->is_bool() && running->as_bool();
}

std::optional<int> InspectExitCode(const Json& inspect) {
  const Json* state = inspect.Find("State");
  if (state == nullptr || !state->is_object()) return std::nullopt;
  const Json* code = state->Find("ExitCode");
  if (code == nullptr || !code->is_number()) return std::nullopt;
  return static_cast<int>(code->as_number());
}

bool IsNameInUse(const Status& status) {
  return status.code() == ErrorCode::kConflict ||
         (status.code() == ErrorCode::kInternal &&
          status.message().find("already in use") != std::string::npos);
}

Status ValidateContainerEnv(const std::vector<std::pair<std::string, std::string>>& env,
                            std::string_view what) {
  for (const auto& [name, value] : env) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos ||
        value.find('\0') != std::string::npos) {
      return InvalidArgument(
          fmt::format("invalid environment variable \"{}\" in {}", name.substr(0, 100), what));
    }
  }
  return Status::Ok();
}

DockerEngine::DockerEngine(std::string socket_path, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout), http_(NewHttpClient()) {}

Result<HttpResponse> DockerEngine::Call(std::string_view method, std::string path, std::string body,
                                        std::chrono::milliseconds extra_timeout) {
  HttpRequest req;
  req.method = std::string(method);
  req.url = std::string(kApi) + path;
  req.unix_socket_path = socket_path_;
  req.timeout = timeout_ + extra_timeout;
  req.connect_timeout = timeout_;
  req.max_response_bytes = kMaxEngineBodyBytes;
  if (!body.empty()) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = std::move(body);
  } else if (method == "POST") {
    req.headers.emplace_back("Content-Type", "application/json");
  }
  Result<HttpResponse> r = http_->Send(req);
  if (!r.ok()) {
    const Status& s = r.error();
    if (s.code() == ErrorCode::kDeadlineExceeded) {
      return Status(ErrorCode::kDeadlineExceeded,
                    fmt::format("the engine at {} did not answer within {} ms", socket_path_,
                                (timeout_ + extra_timeout).count()));
    }
    if (s.code() == ErrorCode::kUnavailable) {
      return Unavailable(
          fmt::format("cannot reach the engine at {}: {}", socket_path_, s.message()));
    }
    return s;
  }
  return r;
}

Result<Json> DockerEngine::CallJson(std::string_view method, std::string path, std::string body,
                                    std::chrono::milliseconds extra_timeout) {
  AGENTCORE_ASSIGN_OR_RETURN(HttpResponse r,
                             Call(method, std::move(path), std::move(body), extra_timeout));
  AGENTCORE_RETURN_IF_ERROR(EngineStatus(r));
  if (r.body.empty()) return Json();
  Result<Json> json = ParseJson(r.body);
  if (!json.ok()) {
    return Internal(fmt::format("the engine's answer is not JSON: {}", json.error().message()));
  }
  return json;
}

Status DockerEngine::Ping() {
  AGENTCORE_ASSIGN_OR_RETURN(HttpResponse r, Call("GET", "/_ping", ""));
  return EngineStatus(r);
}

Result<Json> DockerEngine::Version() { return CallJson("GET", "/version"); }

Result<Json> DockerEngine::InspectImage(std::string_view image) {
  // The name goes in the path as is (slashes and colons included), as the engine expects.
  for (char c : image) {
    if (c == '?' || c == '#' || c == '%' || static_cast<unsigned char>(c) <= ' ') {
      return InvalidArgument(fmt::format("invalid image reference \"{}\"", image));
    }
  }
  return CallJson("GET", fmt::format("/images/{}/json", image));
}

Result<std::string> DockerEngine::CreateContainer(std::string_view name, const Json& config) {
  AGENTCORE_ASSIGN_OR_RETURN(
      Json r, CallJson("POST", "/containers/create?name=" + Escape(name), ToJson(config)));
  const std::string* id = r.is_object() ? r.FindString("Id") : nullptr;
  if (id == nullptr || id->empty()) return Internal("the engine's answer has no container Id");
  return *id;
}

Status DockerEngine::StartContainer(std::string_view id) {
  AGENTCORE_ASSIGN_OR_RETURN(HttpResponse r,
                             Call("POST", fmt::format("/containers/{}/start", Escape(id)), ""));
  return EngineStatus(r, /*not_modified_ok=*/true);
}

Status DockerEngine::StopContainer(std::string_view id, std::chrono::milliseconds grace) {
  const long long seconds = (grace.count() + 999) / 1000;
  AGENTCORE_ASSIGN_OR_RETURN(
      HttpResponse r, Call("POST", fmt::format("/containers/{}/stop?t={}", Escape(id), seconds), "",
                           std::chrono::seconds(seconds)));
  return EngineStatus(r, /*not_modified_ok=*/true);
}

Status DockerEngine::KillContainer(std::string_view id, std::string_view signal) {
  AGENTCORE_ASSIGN_OR_RETURN(
      HttpResponse r,
      Call("POST", fmt::format("/containers/{}/kill?signal={}", Escape(id), Escape(signal)), ""));
  return EngineStatus(r);
}

Status DockerEngine::RemoveContainer(std::string_view id, bool force) {
  AGENTCORE_ASSIGN_OR_RETURN(
      HttpResponse r,
      Call("DELETE", fmt::format("/containers/{}?force={}", Escape(id), force ? "true" : "false"),
           ""));
  return EngineStatus(r);
}

Result<Json> DockerEngine::InspectContainer(std::string_view id) {
  AGENTCORE_ASSIGN_OR_RETURN(Json r,
                             CallJson("GET", fmt::format("/containers/{}/json", Escape(id))));
  if (!r.is_object()) return Internal("the engine's container inspect is not an object");
  return r;
}

Result<int> DockerEngine::WaitContainer(std::string_view id, std::chrono::milliseconds timeout) {
  AGENTCORE_ASSIGN_OR_RETURN(
      Json r, CallJson("POST", fmt::format("/containers/{}/wait?condition=not-running", Escape(id)),
                       "", timeout));
  const Json* code = r.is_object() ? r.Find("StatusCode") : nullptr;
  if (code == nullptr || !code->is_number()) {
    return Internal("the engine's wait answer has no StatusCode");
  }
  return static_cast<int>(code->as_number());
}

Result<std::vector<Json>> DockerEngine::ListContainers(
    const std::vector<std::string>& label_filters) {
  JsonArray labels;
  for (const std::string& l : label_filters) labels.emplace_back(l);
  Json filters = Json::Object();
  filters.Set("label", Json(std::move(labels)));
  AGENTCORE_ASSIGN_OR_RETURN(
      Json r, CallJson("GET", "/containers/json?all=true&filters=" + Escape(ToJson(filters))));
  if (!r.is_array()) return Internal("the engine's container list is not an array");
  return std::move(r.as_array());
}

Result<HijackedConnection> DockerEngine::AttachContainer(std::string_view id) {
  constexpr std::string_view kPath = kApi.substr(std::string_view("http://docker").size());
  return OpenHijackedConnection(
      socket_path_,
      fmt::format("{}/containers/{}/attach?stream=1&stdin=1&stdout=1&stderr=1", kPath,
                  Escape(id)),
      timeout_);
}

Result<std::string> DockerEngine::Logs(std::string_view id, bool tty) {
  AGENTCORE_ASSIGN_OR_RETURN(
      HttpResponse r,
      Call("GET", fmt::format("/containers/{}/logs?stdout=true&stderr=true", Escape(id)), ""));
  AGENTCORE_RETURN_IF_ERROR(EngineStatus(r));
  std::string out;
  AGENTCORE_RETURN_IF_ERROR(DecodeDockerLogs(r.body, tty, &out));
  return out;
}

Status DockerEngine::StreamEvents(const Json& filters, long long since,
                                  std::chrono::milliseconds duration,
                                  const std::function<bool(const Json&)>& on_event,
                                  const std::function<bool()>& cancelled) {
  HttpRequest req;
  req.url = std::string(kApi) + "/events?filters=" + Escape(ToJson(filters));
  if (since > 0) req.url += fmt::format("&since={}", since);
  req.unix_socket_path = socket_path_;
  req.timeout = duration;
  req.connect_timeout = timeout_;
  req.cancelled = cancelled;
  bool stopped = false;
  Status line_error;
  DockerEventLines lines([&](std::string_view line) {
    if (stopped) return;
    Result<Json> event = ParseJson(line);
    if (!event.ok() || !event->is_object()) return;
    if (!on_event(*event)) stopped = true;
  });
  Result<HttpResponse> r = http_->SendWithBodyCallback(req, [&](std::string_view bytes) {
    line_error = lines.Feed(bytes);
    return line_error.ok() && !stopped;
  });
  if (!line_error.ok()) return line_error;
  if (!r.ok()) {
    // The stream's own duration or the caller's cancel ending it is the normal way out.
    if (r.error().code() == ErrorCode::kDeadlineExceeded) return Status::Ok();
    if (cancelled && cancelled()) return Status::Ok();
    if (r.error().code() == ErrorCode::kUnavailable) {
      return Unavailable(
          fmt::format("cannot reach the engine at {}: {}", socket_path_, r.error().message()));
    }
    return r.status();
  }
  if (r->status < 200 || r->status >= 300) {
    return Status(r->status == 404 ? ErrorCode::kNotFound : ErrorCode::kInternal,
                  fmt::format("{} events stream refused", r->status));
  }
  return Status::Ok();
}

}  // namespace agentcore::internal
