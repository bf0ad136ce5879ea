// SPDX-License-Identifier: Apache-2.0
// model-agent: the model-driven builder of docs/runs.md ("The model-driven agent"). A Cast
// agent (examples/support/run_agent.hpp) whose phases are conversations with a model behind an
// OpenAI-compatible /chat/completions endpoint (chat_client.hpp), with the workspace tools of
// workspace_tools.hpp:
//
//  - plan phase: read-only tools; the model answers with a JSON plan {summary, todos:[{id,
//    title}]}, sent as the `plan` frame (an answer that is not a plan is sent back to the model
//    for another try, within the turn limit);
//  - build phase: every tool, the plan in the system prompt; the model's last answer is the
//    run_result summary.
//
// Text deltas stream as tokens, each tool call as tool_call / tool_output / tool_result frames,
// each model call's usage as a usage frame (provider and model named). A provider error ends
// the phase with run_result ok:false, retryable for 429, 5xx, timeouts and dropped connections
// (after the client's own retries), not for 401/403/404/400.
//
// Environment (Platform Agent's names): AGENT_PROVIDER, <PROVIDER>_API_KEY, <PROVIDER>_BASE_URL,
// <PROVIDER>_MODEL, AGENT_MODEL; AGENT_MAX_TURNS (default 40), AGENT_COMMAND_TIMEOUT_MS
// (default 120000), AGENT_MAX_TOKENS (optional); plus the Cast agent's CAST_API_URL,
// CAST_AGENT_ID and CAST_AUTH_TOKEN. The API key is sent only in the Authorization header and
// is never logged.

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "model-agent/chat_client.hpp"
#include "model-agent/workspace_tools.hpp"
#include "support/run_agent.hpp"

namespace {

using agentcore::Json;
using agentcore::Status;
using example_agent::RunStream;
using example_agent::RunTask;
using namespace model_agent;

constexpr char kName[] = "model-agent";

std::string Env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v != nullptr ? std::string(v) : std::string();
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

/// A provider with an OpenAI-compatible endpoint, its default base URL and model.
struct KnownProvider {
  const char* id;
  const char* base_url;
  const char* model;
  std::vector<const char*> aliases;  // other env prefixes Platform Agent accepts
};

const std::vector<KnownProvider>& KnownProviders() {
  static const std::vector<KnownProvider> providers = {
      {"openai", "https://api.openai.com/v1", "gpt-4o-mini", {}},
      {"groq", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile", {}},
      {"mistral", "https://api.mistral.ai/v1", "mistral-large-latest", {}},
      {"openrouter", "https://openrouter.ai/api/v1", "openai/gpt-4o-mini", {}},
      {"xai", "https://api.x.ai/v1", "grok-2-latest", {}},
      {"google", "https://generativelanguage.googleapis.com/v1beta/openai", "gemini-2.0-flash", {}},
      {"kimi", "", "", {"MOONSHOT"}},
      {"qwen", "", "", {"ALIBABA", "DASHSCOPE"}},
  };
  return providers;
}

/// What the agent was configured with. `error` set: every phase fails with it (not retryable),
/// so a misconfiguration shows in the run's error rather than as an agent that never starts.
struct ModelConfig {
  std::string provider;
  std::string model;
  ChatClientOptions client;
  int max_turns = 40;
  std::optional<std::int64_t> max_tokens;
  ToolLimits limits;
  std::string error;
};

/// `<PREFIX>_<what>` for the provider's prefix or its first alias that has it set.
std::string ProviderEnv(const std::string& provider, const KnownProvider* known,
                        const std::string& what) {
  std::string v = Env(Upper(provider) + "_" + what);
  if (!v.empty() || known == nullptr) return v;
  for (const char* alias : known->aliases) {
    v = Env(std::string(alias) + "_" + what);
    if (!v.empty()) return v;
  }
  return v;
}

ModelConfig ConfigFromEnvironment() {
  ModelConfig c;
  c.provider = Env("AGENT_PROVIDER");
  for (char& ch : c.provider) ch = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  if (c.provider.empty()) {
    // As Platform Agent: the first provider with a key.
    for (const KnownProvider& p : KnownProviders()) {
      if (!ProviderEnv(p.id, &p, "API_KEY").empty()) {
        c.provider = p.id;
        break;
      }
    }
    if (c.provider.empty()) c.provider = "openai";
  }
  const KnownProvider* known = nullptr;
  for (const KnownProvider& p : KnownProviders()) {
    if (c.provider == p.id) known = &p;
  }
  c.client.api_key = ProviderEnv(c.provider, known, "API_KEY");
  c.client.base_url = ProviderEnv(c.provider, known, "BASE_URL");
  if (c.client.base_url.empty() && known != nullptr) c.client.base_url = known->base_url;
  c.model = Env("AGENT_MODEL");
  if (c.model.empty()) c.model = ProviderEnv(c.provider, known, "MODEL");
  if (c.model.empty() && known != nullptr) c.model = known->model;
  if (c.client.base_url.empty()) {
    c.error = "provider \"" + c.provider + "\" has no known OpenAI-compatible endpoint: set " +
              Upper(c.provider) + "_BASE_URL";
  } else if (c.model.empty()) {
    c.error = "no model for provider \"" + c.provider + "\": set AGENT_MODEL";
  } else if (c.client.api_key.empty() && Env(Upper(c.provider) + "_BASE_URL").empty()) {
    // A key may be left out only for a base URL given explicitly (a local server).
    c.error = "no API key for provider \"" + c.provider + "\": set " + Upper(c.provider) +
              "_API_KEY";
  }
  if (c.provider == "openrouter") {
    if (std::string site = Env("OPENROUTER_SITE_URL"); !site.empty()) {
      c.client.extra_headers.emplace_back("HTTP-Referer", site);
    }
    if (std::string app = Env("OPENROUTER_APP_NAME"); !app.empty()) {
      c.client.extra_headers.emplace_back("X-Title", app);
    }
  }
  long n = 0;
  if (example_agent::ParseLong(Env("AGENT_MAX_TURNS"), &n) && n > 0 && n <= 1000) {
    c.max_turns = static_cast<int>(n);
  }
  if (example_agent::ParseLong(Env("AGENT_COMMAND_TIMEOUT_MS"), &n) && n > 0) {
    c.limits.command_timeout = std::chrono::milliseconds(n);
    c.limits.max_command_timeout = std::max(c.limits.max_command_timeout,
                                            c.limits.command_timeout);
  }
  if (example_agent::ParseLong(Env("AGENT_MAX_TOKENS"), &n) && n > 0) c.max_tokens = n;
  if (example_agent::ParseLong(Env("AGENT_PROVIDER_MAX_ATTEMPTS"), &n) && n > 0 && n <= 20) {
    c.client.max_attempts = static_cast<int>(n);
  }
  if (example_agent::ParseLong(Env("AGENT_PROVIDER_BACKOFF_MS"), &n) && n >= 0) {
    c.client.initial_backoff = std::chrono::milliseconds(n);
  }
  return c;
}

std::string SystemPrompt(const RunTask& task, const ModelConfig& config) {
  if (task.phase == "plan") {
    return "You are the planning step of a coding agent. The workspace (a git repository) is at " +
           task.workspace +
           "; every path you use is relative to it. You may only read: use list_dir and "
           "read_file to look at what is there. Then answer with ONLY a JSON object, without "
           "prose or code fences, of this form:\n"
           "{\"summary\": \"<one sentence>\", \"todos\": [{\"id\": \"1\", \"title\": \"<a "
           "step>\"}]}\n"
           "listing, in order, at most 12 steps that carry out the user's request.";
  }
  std::string plan = task.plan.is_object() ? agentcore::ToJson(task.plan) : "(no plan)";
  return "You are a coding agent. The workspace (a git repository) is at " + task.workspace +
         "; every path you use is relative to it. Carry out the user's request, following this "
         "plan:\n" +
         plan +
         "\nTools: list_dir, read_file, write_file (whole files), run_command (/bin/sh -c in the "
         "workspace, killed after " +
         std::to_string(config.limits.command_timeout.count() / 1000) +
         " s unless timeout_ms says otherwise). When the work is done, answer with a short "
         "summary of what you changed, without calling a tool.";
}

/// The plan in the model's answer: the JSON object it holds (code fences and prose around it
/// are tolerated), checked to be {summary: string, todos: [{id, title: string}, ...]}; ids
/// that are numbers become strings. The error says what is wrong, for the model to fix.
agentcore::Result<Json> ParsePlan(std::string_view answer) {
  const std::size_t open = answer.find('{');
  const std::size_t close = answer.rfind('}');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return agentcore::InvalidArgument("the answer holds no JSON object");
  }
  agentcore::Result<Json> json = agentcore::ParseJson(answer.substr(open, close - open + 1));
  if (!json.ok()) return agentcore::InvalidArgument("the plan is not valid JSON: " +
                                                    json.status().message());
  const std::string* summary = json->FindString("summary");
  if (summary == nullptr || summary->empty()) {
    return agentcore::InvalidArgument("the plan has no \"summary\" string");
  }
  Json* todos = json->Find("todos");
  if (todos == nullptr || !todos->is_array() || todos->as_array().empty()) {
    return agentcore::InvalidArgument("the plan has no non-empty \"todos\" array");
  }
  int n = 0;
  for (Json& todo : todos->as_array()) {
    ++n;
    if (!todo.is_object()) return agentcore::InvalidArgument("a todo is not an object");
    const std::string* title = todo.FindString("title");
    if (title == nullptr || title->empty()) {
      return agentcore::InvalidArgument("todo " + std::to_string(n) + " has no \"title\"");
    }
    Json* id = todo.Find("id");
    if (id == nullptr || id->is_null()) {
      todo.Set("id", std::to_string(n));
    } else if (id->is_number()) {
      todo.Set("id", agentcore::ToJson(*id));
    } else if (!id->is_string()) {
      return agentcore::InvalidArgument("todo " + std::to_string(n) + " has a bad \"id\"");
    }
  }
  Json plan = Json::Object();
  plan.Set("summary", *summary);
  plan.Set("todos", std::move(*todos));
  return plan;
}

/// Streams the model's text as tokens; a retried call's partial text stays in the message it
/// was streamed to, which is closed, and the retry streams into a new one.
class TokenObserver final : public ChatObserver {
 public:
  explicit TokenObserver(RunStream& out) : out_(out) {}
  void OnText(std::string_view text) override { out_.Token(text); }
  void OnRetry(int next_attempt, std::chrono::milliseconds delay, const Status& why) override {
    out_.EndMessage();
    example_agent::Log(kName, "model call failed (" + why.ToString() + "); attempt " +
                                  std::to_string(next_attempt) + " in " +
                                  std::to_string(delay.count()) + " ms");
  }

 private:
  RunStream& out_;
};

/// The most of a tool's output a model gets back.
constexpr std::size_t kMaxToolResultForModel = 32 * 1024;

void RunPhase(const ModelConfig& config, agentcore::HttpClient& http, const RunTask& task,
              RunStream& out) {
  if (!config.error.empty()) {
    out.Fail(config.error, false);
    return;
  }
  ChatClient client(&http, config.client);
  ChatRequest request;
  request.model = config.model;
  request.max_tokens = config.max_tokens;
  request.tools = WorkspaceToolSpecs(task.read_only);
  request.messages.push_back({"system", SystemPrompt(task, config), {}, ""});
  for (const example_agent::ConversationTurn& turn : task.conversation) {
    if (turn.role == "user" || turn.role == "assistant") {
      request.messages.push_back({turn.role, turn.content, {}, ""});
    }
  }
  request.messages.push_back({"user", task.prompt, {}, ""});

  ToolContext tools;
  tools.workspace = task.workspace;
  tools.read_only = task.read_only;
  tools.limits = config.limits;
  tools.stopping = [&out] { return out.stopping(); };

  TokenObserver observer(out);
  for (int turn = 1; turn <= config.max_turns; ++turn) {
    if (out.stopping()) {
      out.Fail("the phase was stopped or its deadline passed", true);
      return;
    }
    agentcore::Result<ChatResult> result =
        client.Complete(request, &observer, [&out] { return out.stopping(); });
    out.EndMessage();
    if (!result.ok()) {
      example_agent::Log(kName, "model call failed: " + result.status().ToString());
      out.Fail(config.provider + ": " + result.status().message(),
               IsRetryable(result.status()));
      return;
    }
    if (result->usage) {
      out.Usage(config.provider, config.model, result->usage->prompt_tokens,
                result->usage->completion_tokens);
    }
    request.messages.push_back({"assistant", result->text, result->tool_calls, ""});
    if (result->tool_calls.empty()) {
      if (task.phase != "plan") {
        out.Succeed(result->text.empty() ? "done" : result->text);
        return;
      }
      agentcore::Result<Json> plan = ParsePlan(result->text);
      if (plan.ok()) {
        const std::string summary = *plan->FindString("summary");
        out.Plan(std::move(*plan));
        out.Succeed(summary);
        return;
      }
      example_agent::Log(kName, "the answer is not a plan: " + plan.status().message());
      request.messages.push_back(
          {"user",
           "That answer is not a valid plan (" + plan.status().message() +
               "). Answer again with ONLY the JSON object {\"summary\": …, \"todos\": [{\"id\": "
               "…, \"title\": …}]}.",
           {},
           ""});
      continue;
    }
    for (const ToolCall& call : result->tool_calls) {
      agentcore::Result<Json> args = agentcore::ParseJson(call.arguments.empty() ? "{}"
                                                                                  : call.arguments);
      const bool args_ok = args.ok() && args->is_object();
      const std::string id = out.ToolCall(call.name, args_ok ? *args : Json::Object());
      ToolOutcome outcome;
      if (!args_ok) {
        outcome = ToolOutcome{call.name + ": the arguments are not a JSON object", true};
      } else {
        tools.output = [&out, &id](std::string_view stream, std::string_view text) {
          out.ToolOutput(id, stream, text);
        };
        outcome = RunWorkspaceTool(tools, call.name, *args);
      }
      out.ToolResult(id, call.name, outcome.output, outcome.is_error);
      std::string for_model = outcome.output;
      if (for_model.size() > kMaxToolResultForModel) {
        for_model = for_model.substr(0, kMaxToolResultForModel) + "\n[truncated]";
      }
      if (outcome.is_error) for_model = "ERROR: " + for_model;
      request.messages.push_back({"tool", std::move(for_model), {}, call.id});
    }
  }
  out.Fail("the model did not finish within " + std::to_string(config.max_turns) + " turns",
           false);
}

int PrintUsage() {
  std::fprintf(stderr,
               "usage: model-agent [--heartbeat-ms N] [--port N]\n"
               "environment: CAST_API_URL, CAST_AGENT_ID, CAST_AUTH_TOKEN; AGENT_PROVIDER, "
               "<PROVIDER>_API_KEY, <PROVIDER>_BASE_URL, <PROVIDER>_MODEL, AGENT_MODEL, "
               "AGENT_MAX_TURNS, AGENT_COMMAND_TIMEOUT_MS, AGENT_MAX_TOKENS\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  agentcore::Result<example_agent::AgentConfig> agent =
      example_agent::ConfigFromEnvironment(kName);
  example_agent::AgentConfig flags;
  for (int i = 1; i < argc; ++i) {
    if (example_agent::ParseCommonFlag(argc, argv, &i, &flags) !=
        example_agent::FlagParse::kTaken) {
      return PrintUsage();
    }
  }
  if (!agent.ok()) {
    example_agent::Log(kName, agent.status().message());
    return 2;
  }
  agent->heartbeat_ms = flags.heartbeat_ms;
  agent->port = flags.port;
  const ModelConfig config = ConfigFromEnvironment();
  if (!config.error.empty()) {
    example_agent::Log(kName, "misconfigured, every phase will fail: " + config.error);
  } else {
    // A base URL may carry credentials (https://user:secret@host/…): logged without them.
    std::string url = config.client.base_url;
    const std::size_t scheme = url.find("://");
    const std::size_t at = url.find('@');
    if (scheme != std::string::npos && at != std::string::npos && at > scheme &&
        at < url.find('/', scheme + 3)) {
      url.replace(scheme + 3, at - scheme - 3, "***");
    }
    example_agent::Log(kName, "provider " + config.provider + ", model " + config.model + ", " +
                                  url);
  }
  std::unique_ptr<agentcore::HttpClient> http = agentcore::NewHttpClient();
  return example_agent::RunAgentMain(
      *agent, [&config, &http](const RunTask& task, RunStream& out) {
        RunPhase(config, *http, task, out);
      });
}
