// SPDX-License-Identifier: Apache-2.0
#include "json/simd_kernel.hpp"

#include <cstring>

namespace agentcore::internal {

const char* JsonKernel::Padded(std::string_view text) {
  padded_.resize(text.size() + kJsonPadding);
  std::memcpy(padded_.data(), text.data(), text.size());
  return padded_.data();
}

namespace {
// A document above this leaves no grown buffers behind (ParseJson, ParseFrame).
constexpr std::size_t kKeepBuffersBytes = 256 * 1024;
}  // namespace

Result<Json> JsonKernel::ParseJson(std::string_view text) {
  const char* data = Padded(text);
  Json out;
  Status st = ParseJsonInPlace(data, text.size(), padded_.size(), &out);
  if (text.size() > kKeepBuffersBytes) {
    std::string().swap(padded_);
    ShrinkBuffers();
  }
  if (!st.ok()) return st;
  return out;
}

Status JsonKernel::ParseFrame(std::string_view line, TymbalFrame* out) {
  const char* data = Padded(line);
  Status st = ParseFrameInPlace(data, line.size(), padded_.size(), out);
  if (line.size() > kKeepBuffersBytes) {
    std::string().swap(padded_);
    ShrinkBuffers();
  }
  return st;
}

std::unique_ptr<JsonKernel> NewJsonKernel() {
#if AGENTCORE_HAVE_HASWELL_KERNEL
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
      __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("pclmul") &&
      __builtin_cpu_supports("popcnt")) {
    return NewHaswellJsonKernel();
  }
#endif
  return NewGenericJsonKernel();
}

JsonKernel& ThreadLocalJsonKernel() {
  thread_local std::unique_ptr<JsonKernel> kernel = NewJsonKernel();
  return *kernel;
}

}  // namespace agentcore::internal
