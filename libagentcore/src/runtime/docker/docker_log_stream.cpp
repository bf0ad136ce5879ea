// SPDX-License-Identifier: Apache-2.0
#include "runtime/docker/docker_log_stream.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace agentcore::internal {

Status DockerLogStream::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  if (raw_) {
    if (!bytes.empty()) sink_(1, bytes);
    return Status::Ok();
  }
  while (!bytes.empty()) {
    if (remaining_ > 0) {
      const std::size_t n = std::min<std::size_t>(remaining_, bytes.size());
      sink_(stream_, bytes.substr(0, n));
      remaining_ -= static_cast<std::uint32_t>(n);
      bytes.remove_prefix(n);
      continue;
    }
    const std::size_t n = std::min(sizeof header_ - header_len_, bytes.size());
    std::copy_n(bytes.data(), n, header_ + header_len_);
    header_len_ += n;
    bytes.remove_prefix(n);
    if (header_len_ < sizeof header_) break;
    header_len_ = 0;
    if (header_[0] > 2 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
      error_ = InvalidArgument(
          fmt::format("docker log stream: bad frame header {:02x} {:02x} {:02x} {:02x}", header_[0],
                      header_[1], header_[2], header_[3]));
      return error_;
    }
    const std::uint32_t len = (std::uint32_t{header_[4]} << 24) |
                              (std::uint32_t{header_[5]} << 16) | (std::uint32_t{header_[6]} << 8) |
                              std::uint32_t{header_[7]};
    if (len > max_frame_) {
      error_ = InvalidArgument(fmt::format(
          "docker log stream: frame of {} bytes exceeds the limit of {}", len, max_frame_));
      return error_;
    }
    stream_ = header_[0];
    remaining_ = len;
  }
  return Status::Ok();
}

Status DockerLogStream::Finish() const {
  if (!error_.ok()) return error_;
  if (!AtFrameBoundary()) {
    return InvalidArgument("docker log stream: the body ended inside a frame");
  }
  return Status::Ok();
}

Status DockerEventLines::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    if (partial_.size() + piece.size() > max_line_) {
      partial_.clear();
      error_ = TooLarge(fmt::format("docker events: a line exceeds {} bytes", max_line_));
      return error_;
    }
    if (nl == std::string_view::npos) {
      partial_.append(piece);
      break;
    }
    std::string_view line = piece;
    if (!partial_.empty()) {
      partial_.append(piece);
      line = partial_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) sink_(line);
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
  return Status::Ok();
}

Status DecodeDockerLogs(std::string_view body, bool raw, std::string* out) {
  DockerLogStream stream(raw, [out](int, std::string_view data) { out->append(data); });
  AGENTCORE_RETURN_IF_ERROR(stream.Feed(body));
  return stream.Finish();
}

}  // namespace agentcore::internal
