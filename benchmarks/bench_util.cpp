// SPDX-License-Identifier: Apache-2.0
#include "bench_util.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace agentcore::bench {

std::string Arg(int argc, char** argv, std::string_view name, std::string fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

bool Flag(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == name) return true;
  }
  return false;
}

std::string ReadFilePadded(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    std::fprintf(stderr, "cannot open %s (generate the corpora: see docs/benchmarks.md)\n",
                 path.c_str());
    std::exit(2);
  }
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  std::string data(static_cast<std::size_t>(size) + 64, ' ');
  const std::size_t n = std::fread(data.data(), 1, static_cast<std::size_t>(size), f);
  std::fclose(f);
  data.resize(n);  // keeps the capacity, so the padding stays readable
  return data;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace agentcore::bench
