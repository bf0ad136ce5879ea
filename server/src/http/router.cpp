// SPDX-License-Identifier: Apache-2.0
#include "http/router.hpp"

#include "ws/websocket_codec.hpp"  // IsValidUtf8

namespace agentcore::server {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    std::size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(i, end - i));
    i = end;
  }
  return out;
}

}  // namespace

const std::string& PathParams::Get(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [key, value] : values_) {
    if (key == name) return value;
  }
  return kEmpty;
}

void Router::Add(Route route) {
  Compiled c;
  for (std::string_view s : SplitPath(route.pattern)) c.segments.emplace_back(s);
  c.route = std::move(route);
  routes_.push_back(std::move(c));
}

Router::Match Router::Find(std::string_view method, std::string_view path,
                           PathParams* params) const {
  std::vector<std::string_view> parts = SplitPath(path);
  const Compiled* best = nullptr;
  int best_literals = -1;
  bool path_matched = false;
  for (const Compiled& c : routes_) {
    if (c.segments.size() != parts.size()) continue;
    int literals = 0;
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      const std::string& seg = c.segments[i];
      if (!seg.empty() && seg[0] == ':') continue;
      ok = seg == parts[i];
      ++literals;
    }
    if (!ok) continue;
    path_matched = true;
    if (c.route.method != method) continue;
    if (literals > best_literals) {
      best_literals = literals;
      best = &c;
    }
  }
  if (best == nullptr) {
    return {path_matched ? MatchKind::kNoMethod : MatchKind::kNoPath, nullptr};
  }
  params->Clear();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& seg = best->segments[i];
    if (seg.empty() || seg[0] != ':') continue;
    std::optional<std::string> decoded = UrlDecode(parts[i]);
    if (decoded && !IsValidUtf8(*decoded)) {
      params->Clear();
      return {MatchKind::kBadParam, nullptr};
    }
    params->Add(std::string_view(seg).substr(1), decoded ? std::move(*decoded) : std::string(parts[i]));
  }
  return {MatchKind::kFound, &best->route};
}

}  // namespace agentcore::server
