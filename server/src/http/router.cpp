// SPDX-License-Identifier: Apache-2.0
#include "http/router.hpp"

#include <cassert>

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
  for (std::size_t i = 0; i < c.segments.size(); ++i) {
    if (!c.segments[i].empty() && c.segments[i][0] == '*') {
      assert(i + 1 == c.segments.size() && "a wildcard is the last segment of a pattern");
      c.wildcard = true;
    }
  }
  c.route = std::move(route);
  routes_.push_back(std::move(c));
}

std::vector<const Route*> Router::routes() const {
  std::vector<const Route*> out;
  out.reserve(routes_.size());
  for (const Compiled& c : routes_) out.push_back(&c.route);
  return out;
}

Router::Match Router::Find(std::string_view method, std::string_view path,
                           PathParams* params) const {
  std::vector<std::string_view> parts = SplitPath(path);
  const Compiled* best = nullptr;
  int best_literals = -1;
  bool best_wildcard = false;
  bool path_matched = false;
  for (const Compiled& c : routes_) {
    // A wildcard pattern's fixed segments (all but the last) must all be there.
    const std::size_t fixed = c.wildcard ? c.segments.size() - 1 : c.segments.size();
    if (c.wildcard ? parts.size() < fixed : parts.size() != fixed) continue;
    int literals = 0;
    bool ok = true;
    for (std::size_t i = 0; i < fixed && ok; ++i) {
      const std::string& seg = c.segments[i];
      if (!seg.empty() && seg[0] == ':') continue;
      ok = seg == parts[i];
      ++literals;
    }
    if (!ok) continue;
    path_matched = true;
    if (c.route.method != method) continue;
    if (literals > best_literals || (literals == best_literals && best_wildcard && !c.wildcard)) {
      best_literals = literals;
      best_wildcard = c.wildcard;
      best = &c;
    }
  }
  if (best == nullptr) {
    return {path_matched ? MatchKind::kNoMethod : MatchKind::kNoPath, nullptr};
  }
  params->Clear();
  const std::size_t fixed = best->wildcard ? best->segments.size() - 1 : best->segments.size();
  for (std::size_t i = 0; i < fixed; ++i) {
    const std::string& seg = best->segments[i];
    if (seg.empty() || seg[0] != ':') continue;
    std::optional<std::string> decoded = UrlDecode(parts[i]);
    if (decoded && !IsValidUtf8(*decoded)) {
      params->Clear();
      return {MatchKind::kBadParam, nullptr};
    }
    params->Add(std::string_view(seg).substr(1), decoded ? std::move(*decoded) : std::string(parts[i]));
  }
  if (best->wildcard) {
    // The rest as sent: from the first segment past the fixed ones (parts are views of path).
    std::string rest;
    if (parts.size() > fixed) {
      rest.assign(path.substr(static_cast<std::size_t>(parts[fixed].data() - path.data())));
    }
    params->Add(std::string_view(best->segments.back()).substr(1), std::move(rest));
  }
  return {MatchKind::kFound, &best->route};
}

}  // namespace agentcore::server
