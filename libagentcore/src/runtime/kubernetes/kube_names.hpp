// SPDX-License-Identifier: Apache-2.0
#pragma once

// Kubernetes names and label values derived from Cast ids. Object names here are DNS-1123
// labels (at most 63 of [a-z0-9-], alphanumeric at both ends); label values are at most 63 of
// [A-Za-z0-9-_.], alphanumeric at both ends, or empty. Cast ids may hold anything, so a value
// that would not survive as is gets a safe spelling plus a hash of the original, and two ids
// never share a name.

#include <string>
#include <string_view>

namespace agentcore::internal {

// True for a valid DNS-1123 label.
bool IsDnsLabel(std::string_view s);
// True for a valid label value (empty included).
bool IsLabelValue(std::string_view s);
// `prefix` + the space id, lower-cased, as a DNS-1123 label; when the id had to change
// (other characters, case, length), "-" and 10 hex digits of its SHA-256 are appended.
// REQUIRES: prefix is lower-case alphanumerics and '-', at most 20 bytes.
std::string NamespaceName(std::string_view prefix, std::string_view space_id);
// `a-<callsign, sanitized, at most 40>-<16 hex of SHA-256(agent_id)>`.
std::string PodName(std::string_view agent_id, std::string_view callsign);
// `value` itself when it is a label value, else a sanitized prefix plus "-" and 10 hex of
// its SHA-256.
std::string LabelValue(std::string_view value);
// 16 hex digits of SHA-256(agent_id): the `agent` label.
std::string AgentHash(std::string_view agent_id);
// True for a valid Secret data key and environment variable name ([-._a-zA-Z0-9]+).
bool IsSecretKey(std::string_view s);

}  // namespace agentcore::internal
