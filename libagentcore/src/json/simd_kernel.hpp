// SPDX-License-Identifier: Apache-2.0
#pragma once

// The one place that talks to simdjson On-Demand. simdjson compiles its On-Demand code for the
// instruction set of the translation unit that includes it, so the kernel is built twice
// (simd_haswell.cpp with AVX2 flags, simd_generic.cpp for the baseline) from simd_kernel.inc,
// and NewJsonKernel() picks one from the CPU's features at run time.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <agentcore/json.hpp>
#include <agentcore/status.hpp>
#include <agentcore/tymbal/frame.hpp>
#include <agentcore/tymbal/parser.hpp>

namespace agentcore::internal {

// Bytes simdjson may read past the end of a document (SIMDJSON_PADDING).
inline constexpr std::size_t kJsonPadding = 64;

// A reusable parser. Thread-compatible: one per thread or per stream.
class JsonKernel {
 public:
  virtual ~JsonKernel() = default;

  // Both parse data[0, len). REQUIRES: capacity >= len + kJsonPadding bytes are readable
  // from data (the bytes past len may be anything).
  virtual Status ParseJsonInPlace(const char* data, std::size_t len, std::size_t capacity,
                                  Json* out) = 0;
  // Cast's parseFrame (spec §2.3). On error *out is left in an unspecified state.
  virtual Status ParseFrameInPlace(const char* data, std::size_t len, std::size_t capacity,
                                   TymbalFrame* out) = 0;
  virtual std::string_view name() const = 0;
  // Gives back the parser's buffers when a large document made them grow (they are per
  // thread and otherwise never shrink: 64 pool threads that each parsed a 900 KB message
  // held about 3 MB apiece for good, issue 13 §1).
  virtual void ShrinkBuffers() = 0;
  // Bytes the parser's buffers can hold now (its capacity, and the padded copy's).
  virtual std::size_t ParserCapacityForTesting() const = 0;
  std::size_t PaddedCapacityForTesting() const { return padded_.capacity(); }

  // Parses every line of data[0, len) (split on '\n'; a last line may lack its '\n') into
  // *frame and reports each to `sink`, numbering lines after *line_no (which it advances).
  // Blank lines are skipped; lines over max_line_bytes are reported invalid. REQUIRES:
  // capacity >= len + kJsonPadding.
  virtual void ParseLines(const char* data, std::size_t len, std::size_t capacity,
                          std::size_t max_line_bytes, std::uint64_t* line_no,
                          TymbalFrame* frame, FrameSink& sink) = 0;

  // Same, for text without padding: copied into a padded buffer first.
  Result<Json> ParseJson(std::string_view text);
  Status ParseFrame(std::string_view line, TymbalFrame* out);

 private:
  const char* Padded(std::string_view text);
  std::string padded_;
};

// Checks a number token against the JSON grammar and converts it as JSON.parse does (too
// large: +-Infinity, too small: +-0). Trailing JSON whitespace is ignored.
Status ParseJsonNumberToken(std::string_view token, double* out);

// The fastest kernel this CPU runs.
std::unique_ptr<JsonKernel> NewJsonKernel();
// A kernel for the calling thread, created on first use.
JsonKernel& ThreadLocalJsonKernel();

std::unique_ptr<JsonKernel> NewGenericJsonKernel();
#if AGENTCORE_HAVE_HASWELL_KERNEL
std::unique_ptr<JsonKernel> NewHaswellJsonKernel();
#endif

}  // namespace agentcore::internal
