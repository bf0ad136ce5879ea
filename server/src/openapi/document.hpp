// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The server's OpenAPI 3.1 document, generated from its route table: each route's method and
/// pattern and the RouteDoc registered with it (http/route_doc.hpp), the named schemas of
/// openapi/schemas.cpp. App::Open builds it once and `GET /openapi.json` serves it;
/// `agentcore-server --print-openapi` prints it.

#include <string>
#include <string_view>

#include <agentcore/result.hpp>

#include "http/router.hpp"

namespace agentcore::server {

/// An OpenAPI path from a router pattern: `:name` and `*name` become `{name}`.
std::string OpenApiPath(std::string_view pattern);

/// The document (compact JSON). Fails with kInvalidArgument naming every problem: a route
/// without a summary or tag, a schema name no component defines, a JSON body or answer without
/// a schema, two routes with one method and path, a component that is not a JSON object.
Result<std::string> BuildOpenApiDocument(const Router& router);

}  // namespace agentcore::server
