// SPDX-License-Identifier: Apache-2.0
#include "runtime/kubernetes/kube_names.hpp"

#include <agentcore/auth/crypto.hpp>

namespace agentcore::internal {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

std::string Hash(std::string_view s, std::size_t hex_digits) {
  return Sha256Hex(s).substr(0, hex_digits);
}

// Lower-cases, maps every other byte to '-', squeezes runs of '-', trims '-' at both ends and
// cuts to `max` bytes.
std::string SanitizeDns(std::string_view in, std::size_t max) {
  std::string out;
  for (char c : in) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!IsLowerAlnum(c)) c = '-';
    if (c == '-' && (out.empty() || out.back() == '-')) continue;
    out.push_back(c);
    if (out.size() >= max) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

}  // namespace

bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsLabelValue(std::string_view s) {
  if (s.empty()) return true;
  if (s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// Ends like a hashed name ("-" and 10 hex digits): such an id is hashed too, so that no
// space id spelled as is can take the name another id was hashed to.
static bool LooksHashed(std::string_view s) {
  if (s.size() < 11 || s[s.size() - 11] != '-') return false;
  for (char c : s.substr(s.size() - 10)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string NamespaceName(std::string_view prefix, std::string_view space_id) {
  std::string name = std::string(prefix) + std::string(space_id);
  if (IsDnsLabel(name) && !LooksHashed(name)) return name;
  // 63 = prefix (<= 20) + body + "-" + 10 hex.
  std::string body = SanitizeDns(space_id, 63 - prefix.size() - 11);
  std::string out = std::string(prefix) + body;
  if (!out.empty() && out.back() != '-') out += '-';
  out += Hash(space_id, 10);
  if (!IsLowerAlnum(out.front())) out = "s" + out.substr(0, 62);
  return out;
}

std::string PodName(std::string_view agent_id, std::string_view callsign) {
  std::string body = SanitizeDns(callsign, 40);
  std::string out = "a-";
  if (!body.empty()) out += body + "-";
  out += Hash(agent_id, 16);
  return out;
}

std::string LabelValue(std::string_view value) {
  if (IsLabelValue(value)) return std::string(value);
  std::string body;
  for (char c : value) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') c = '-';
    body.push_back(c);
    if (body.size() >= 52) break;
  }
  while (!body.empty() && !IsAlnum(body.front())) body.erase(0, 1);
  while (!body.empty() && !IsAlnum(body.back())) body.pop_back();
  const std::string hash = Hash(value, 10);
  return body.empty() ? hash : body + "-" + hash;
}

std::string AgentHash(std::string_view agent_id) { return Hash(agent_id, 16); }

bool IsSecretKey(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace agentcore::internal
