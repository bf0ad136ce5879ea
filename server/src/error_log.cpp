// SPDX-License-Identifier: Apache-2.0
#include "error_log.hpp"

#include <cstdio>
#include <string>

#include <agentcore/json_writer.hpp>

namespace agentcore::server {

void LogError(std::string_view what, const Status& status) {
  std::string line;
  JsonWriter(&line)
      .BeginObject()
      .Field("level", "error")
      .Field("what", what)
      .Field("status", status.ToString())
      .EndObject();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace agentcore::server
