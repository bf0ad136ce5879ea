// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small helpers shared by the benchmarks: argument lookup, file loading, timing, medians.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace agentcore::bench {

// The value after `--name`, or `fallback`.
std::string Arg(int argc, char** argv, std::string_view name, std::string fallback);
// Whether `--name` is present.
bool Flag(int argc, char** argv, std::string_view name);
// The whole file, followed by 64 readable padding bytes (not part of the returned size).
// Exits with a message when it cannot be read.
std::string ReadFilePadded(const std::string& path);
double Median(std::vector<double> v);

inline double MillisSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace agentcore::bench
