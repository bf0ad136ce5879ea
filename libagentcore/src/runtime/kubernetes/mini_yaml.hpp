// SPDX-License-Identifier: Apache-2.0
#pragma once

// The YAML that kubeconfig files are written in, read into Json: block mappings and block
// sequences (a sequence may sit at its key's indentation, as kubectl writes it), plain,
// 'single' and "double" quoted scalars on one line, `#` comments, a leading `---`, the empty
// flow collections `[]` and `{}`. Plain scalars stay strings, except true/false (bool) and
// null/~ (null). Everything else (anchors, aliases, tags, block scalars, non-empty flow
// collections, multi-line scalars, tabs in indentation, duplicate keys) is refused with the
// line number, so a file this reader does not understand is never half-read.

#include <string_view>

#include <agentcore/json.hpp>
#include <agentcore/result.hpp>

namespace agentcore::internal {

// Errors: kInvalidArgument, e.g. `yaml line 7: anchors and aliases are not supported`.
Result<Json> ParseMiniYaml(std::string_view text);

}  // namespace agentcore::internal
