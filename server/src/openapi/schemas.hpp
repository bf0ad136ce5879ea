// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the server's request and response
/// bodies, each written once as a named component; routes name them in their RouteDoc
/// (http/route_doc.hpp) and the document references them (`#/components/schemas/<name>`).

#include <span>
#include <string_view>

namespace agentcore::server {

struct SchemaComponent {
  std::string_view name;
  std::string_view json;  // one JSON Schema object
};

/// Every component, by name (unique). `Error` is the body of every 4xx and 5xx.
std::span<const SchemaComponent> SchemaComponents();

}  // namespace agentcore::server
