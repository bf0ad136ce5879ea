// SPDX-License-Identifier: Apache-2.0
#pragma once

// Helpers the command files share: adding a subcommand whose action runs after parsing,
// printing a JSON answer in --json mode, path segments.

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "api.hpp"
#include "ctl.hpp"
#include "output.hpp"

namespace agentcore::ctl {

/// A subcommand of `parent` whose `run` becomes the action once parsing succeeded.
template <typename F>
CLI::App* Command(CLI::App* parent, Ctl& ctl, const std::string& name,
                  const std::string& description, F run) {
  CLI::App* sub = parent->add_subcommand(name, description);
  sub->callback([&ctl, run = std::move(run)] { ctl.action = run; });
  return sub;
}

/// A group of subcommands (`channels`, `runs`...): one of them is required.
inline CLI::App* Group(CLI::App& app, const std::string& name, const std::string& description) {
  CLI::App* group = app.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

/// One URL path segment.
inline std::string Seg(std::string_view s) { return UrlEncodeComponent(s); }

/// In --json mode prints `body` (the server's JSON) and returns true.
inline bool PrintedJson(Ctl& ctl, const std::string& body) {
  if (!ctl.out().json) return false;
  ctl.out().Line(body.empty() ? std::string("{}") : body);
  return true;
}

/// A response body parsed as JSON; kExitServerError when the server's answer is not JSON.
inline Json Body(const HttpResponse& r) {
  auto parsed = ParseJson(r.body);
  if (!parsed.ok()) {
    throw CtlError(kExitServerError, "the server's answer is not JSON: " + parsed.status().message());
  }
  return *std::move(parsed);
}

/// A member of `v` that must be there (an object's "channel"...): kExitServerError otherwise.
inline const Json& Member(const Json& v, std::string_view key) {
  const Json* m = v.is_object() ? v.Find(key) : nullptr;
  if (m == nullptr) throw CtlError(kExitServerError, "the server's answer has no \"" + std::string(key) + "\"");
  return *m;
}

/// A member that must be an array in the server's answer (empty when absent).
inline const JsonArray& Items(const Json& body, std::string_view key) {
  static const JsonArray kEmpty;
  const Json* v = body.is_object() ? body.Find(key) : nullptr;
  return v != nullptr && v->is_array() ? v->as_array() : kEmpty;
}

/// "key: value" lines of an object's scalar members, for `show` commands.
inline void PrintFields(const Output& out, const Json& object) {
  if (!object.is_object()) return;
  std::size_t width = 0;
  for (const auto& m : object.as_object()) width = std::max(width, m.key.size());
  for (const auto& m : object.as_object()) {
    std::string value = Cell(m.value.is_string() ? m.value.as_string()
                             : m.value.is_null() ? std::string("-")
                                                 : ToJson(m.value),
                             200);
    if (m.key == "status" || m.key == "state") value = out.State(value);
    out.Line(out.Paint(m.key, Colour::kDim) + std::string(width - m.key.size() + 2, ' ') + value);
  }
}

}  // namespace agentcore::ctl
