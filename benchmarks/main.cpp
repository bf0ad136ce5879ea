// SPDX-License-Identifier: Apache-2.0
// agentcore-bench AREA [options]: benchmarks that print one JSON object per line.
#include <cstdio>
#include <string_view>

#include "bench_main.hpp"

int main(int argc, char** argv) {
  const std::string_view area = argc > 1 ? argv[1] : "";
  if (area == "tymbal") return RunTymbalBench(argc - 1, argv + 1);
  if (area == "store") return RunStoreBench(argc - 1, argv + 1);
  if (area == "mentions") return RunMentionsBench(argc - 1, argv + 1);
#ifdef AGENTCORE_BENCH_AGENTS
  if (area == "agents") return RunAgentsBench(argc - 1, argv + 1);
#endif

  std::fprintf(stderr,
               "usage: agentcore-bench tymbal --file F [--repeat N] [--chunk BYTES]\n"
               "       agentcore-bench mentions --file F [--repeat N] [--route]\n"
               "       agentcore-bench store --backend sqlite --writers N [--messages M] "
               "[--repeat R] [--sync normal|full]\n"
               "       agentcore-bench store --backend sqlite --page-read [--rows N] [--reads N]\n"
               "       agentcore-bench agents --agents N [--messages M] [--drivers D]\n");
  return 2;
}
