// SPDX-License-Identifier: Apache-2.0
#pragma once

// A Publisher that keeps every line the hub publishes, for tests that check what subscribers
// would see and in which order.

#include <mutex>
#include <string>
#include <vector>

#include <agentcore/hub/publisher.hpp>

namespace agentcore::testing {

class RecordingPublisher final : public Publisher {
 public:
  struct Line {
    std::string channel_id;
    std::string line;
    std::string event_id;
    std::size_t call = 0;   // which Publish call carried it (0-based)
    std::uint64_t seq = 0;  // PublishedLine::seq
  };

  bool HasSubscribers() const override { return true; }
  void Publish(std::string_view channel_id, std::span<const PublishedLine> lines) override {
    std::lock_guard lock(mu_);
    for (const PublishedLine& l : lines) {
      lines_.push_back(Line{std::string(channel_id), std::string(l.line),
                            std::string(l.event_id), calls_, l.seq});
    }
    ++calls_;
  }

  std::vector<Line> Lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }
  /// The lines whose text contains `needle`.
  std::vector<Line> Matching(std::string_view needle) const {
    std::vector<Line> out;
    for (Line& l : Lines()) {
      if (l.line.find(needle) != std::string::npos) out.push_back(std::move(l));
    }
    return out;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    lines_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Line> lines_;  // guarded by mu_
  std::size_t calls_ = 0;    // guarded by mu_
};

}  // namespace agentcore::testing
