// SPDX-License-Identifier: Apache-2.0
#pragma once

// The body of a Kubernetes watch (GET ...?watch=true): one JSON object per line,
// `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}`, arriving in pieces of any
// size. WatchStreamDecoder splits it into lines and decodes each into a WatchEvent.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/json.hpp>
#include <agentcore/status.hpp>

namespace agentcore::internal {

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK or ERROR
  Json object;       // a Pod, or for ERROR a Status object
};

// Thread-compatible. Network input: every line is bounded and validated.
class WatchStreamDecoder {
 public:
  // Longest line accepted; a pod object is a few KiB, the API server's limit far below this.
  static constexpr std::size_t kMaxLineBytes = 4 * 1024 * 1024;

  // Appends the events completed by `bytes` to `*out`. Empty lines (and CR before LF) are
  // skipped. Errors: kInvalidArgument for a line that is not JSON, not an object, lacks a
  // string `type` or an object `object`, or is longer than kMaxLineBytes. After an error the
  // decoder is poisoned: every later call returns the same error (the caller reconnects).
  Status Feed(std::string_view bytes, std::vector<WatchEvent>* out);

  // At the end of the stream: OK when no partial line is pending, else kInvalidArgument.
  Status Finish() const;

 private:
  Status DecodeLine(std::string_view line, std::vector<WatchEvent>* out);

  std::string partial_;
  Status error_;
};

}  // namespace agentcore::internal
