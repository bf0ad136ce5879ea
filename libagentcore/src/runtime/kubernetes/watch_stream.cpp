// SPDX-License-Identifier: Apache-2.0
#include "runtime/kubernetes/watch_stream.hpp"

#include <utility>

#include <fmt/format.h>

namespace agentcore::internal {

Status WatchStreamDecoder::Feed(std::string_view bytes, std::vector<WatchEvent>* out) {
  if (!error_.ok()) return error_;
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + bytes.size() > kMaxLineBytes) {
        error_ = InvalidArgument(
            fmt::format("kubernetes watch: event line longer than {} bytes", kMaxLineBytes));
        return error_;
      }
      partial_.append(bytes);
      return Status();
    }
    std::string_view line = bytes.substr(0, nl);
    bytes.remove_prefix(nl + 1);
    Status st;
    if (partial_.empty()) {
      st = DecodeLine(line, out);
    } else {
      if (partial_.size() + line.size() > kMaxLineBytes) {
        error_ = InvalidArgument(
            fmt::format("kubernetes watch: event line longer than {} bytes", kMaxLineBytes));
        return error_;
      }
      partial_.append(line);
      std::string whole = std::move(partial_);
      partial_.clear();
      st = DecodeLine(whole, out);
    }
    if (!st.ok()) {
      error_ = st;
      return error_;
    }
  }
  return Status();
}

Status WatchStreamDecoder::Finish() const {
  if (!error_.ok()) return error_;
  std::string_view rest = partial_;
  while (!rest.empty() && (rest.back() == '\r' || rest.back() == ' ')) rest.remove_suffix(1);
  if (!rest.empty()) {
    return InvalidArgument(
        fmt::format("kubernetes watch: stream ended inside an event ({} bytes)", rest.size()));
  }
  return Status();
}

Status WatchStreamDecoder::DecodeLine(std::string_view line, std::vector<WatchEvent>* out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return Status();
  if (line.size() > kMaxLineBytes) {
    return InvalidArgument(
        fmt::format("kubernetes watch: event line longer than {} bytes", kMaxLineBytes));
  }
  Result<Json> parsed = ParseJson(line);
  if (!parsed.ok()) {
    return InvalidArgument(
        fmt::format("kubernetes watch: bad event line: {}", parsed.status().message()));
  }
  Json& root = *parsed;
  if (!root.is_object()) return InvalidArgument("kubernetes watch: event is not an object");
  const std::string* type = root.FindString("type");
  Json* object = root.Find("object");
  if (type == nullptr || type->empty()) {
    return InvalidArgument("kubernetes watch: event has no \"type\"");
  }
  if (object == nullptr || !object->is_object()) {
    return InvalidArgument("kubernetes watch: event has no \"object\"");
  }
  out->push_back(WatchEvent{*type, std::move(*object)});
  return Status();
}

}  // namespace agentcore::internal
