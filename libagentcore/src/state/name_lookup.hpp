// SPDX-License-Identifier: Apache-2.0
#pragma once

// Shared by the state machines' parsers: a name is looked up by comparing it with the stable
// name of every enumerator, so each machine keeps exactly one name table (its *Name() switch)
// and a parser can never disagree with the names it prints.

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace agentcore::internal {

// The name every *Name() function returns for a value outside its enumerators. No parser
// accepts it, because no enumerator is named "unknown".
inline constexpr std::string_view kUnknownName = "unknown";

template <typename Enum, std::size_t N, typename NameOf>
std::optional<Enum> FindByName(const std::array<Enum, N>& all, NameOf name_of,
                               std::string_view name) {
  for (Enum value : all) {
    if (name_of(value) == name) return value;
  }
  return std::nullopt;
}

}  // namespace agentcore::internal
