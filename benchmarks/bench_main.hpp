// SPDX-License-Identifier: Apache-2.0
#pragma once

// The subcommands of agentcore-bench. Each gets argv with argv[0] = its own name and returns
// the process exit code.

int RunTymbalBench(int argc, char** argv);
int RunMentionsBench(int argc, char** argv);
int RunStoreBench(int argc, char** argv);
// An in-process server with N echo agents (agents_bench.cpp; built with the server).
int RunAgentsBench(int argc, char** argv);
// The PostgreSQL half of `store` (store_bench_pg.cpp), called by RunStoreBench for
// --backend postgres when built with AGENTCORE_BENCH_POSTGRES.
int RunPostgresStoreBench(int argc, char** argv);
