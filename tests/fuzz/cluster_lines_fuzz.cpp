// SPDX-License-Identifier: Apache-2.0
// Fuzzes the decoder of the cluster's kLines payload (DecodeLines in src/hub/cluster_internal.hpp):
// what a node reads from the change log, written by another node (or by anyone with access to
// the database). Invariants: any input either decodes or is refused, without a crash or a read
// out of bounds; what decodes encodes back to a payload that decodes to the same lines (the
// encoding is canonical: numbers without leading zeros), and that payload re-encodes to itself.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/cluster_internal.hpp"

namespace {

using agentcore::PublishedLine;
using agentcore::hub_internal::DecodeLines;
using agentcore::hub_internal::EncodeLines;
using agentcore::hub_internal::OwnedLine;

void Check(bool ok) {
  if (!ok) std::abort();
}

std::string Encode(const std::vector<OwnedLine>& lines) {
  std::vector<PublishedLine> views;
  views.reserve(lines.size());
  for (const OwnedLine& l : lines) views.push_back(PublishedLine{l.line, l.event_id, l.seq});
  return EncodeLines(views);
}

bool Same(const std::vector<OwnedLine>& a, const std::vector<OwnedLine>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].line != b[i].line || a[i].event_id != b[i].event_id || a[i].seq != b[i].seq) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<std::vector<OwnedLine>> lines = DecodeLines(input);
  if (!lines) return 0;
  std::size_t bytes = 0;
  for (const OwnedLine& l : *lines) bytes += l.line.size() + l.event_id.size();
  Check(bytes <= input.size());
  std::string encoded = Encode(*lines);
  std::optional<std::vector<OwnedLine>> again = DecodeLines(encoded);
  Check(again.has_value() && Same(*lines, *again));
  Check(Encode(*again) == encoded);
  return 0;
}
