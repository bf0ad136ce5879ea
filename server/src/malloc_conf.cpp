// SPDX-License-Identifier: Apache-2.0
// jemalloc's compiled-in options (linked into agentcore-server only when jemalloc is; the
// MALLOC_CONF environment variable still overrides them). Issue 13 §1: RSS must stay within
// 64 MiB while 40 clients pin large replies, and come back within 32 MiB after they close,
// without slowing the request path.
//  * oversize_threshold:524288: allocations of 512 KiB and more (large messages, reply and
//    replay pages) come from jemalloc's dedicated arena, which returns freed pages at once. A
//    storm of large replies frees hundreds of MB a second; kept for a decay period they made
//    the peak RSS 60-110 MiB above the start.
//  * dirty_decay_ms:200, muzzy_decay_ms:0: everything smaller is returned 0.2 s after it is
//    freed. Measured (issue 13, docs/benchmarks.md): decay 0 for every size cost 3.4x POST
//    throughput (a purge syscall per freed extent); 0.2 s here costs nothing measurable.
//  * tcache_max:4096: thread caches keep only objects up to 4 KiB (default 32 KiB); with 64
//    blocking threads and 2 io threads, cached 4-32 KiB message strings kept about 8 MiB.
//  * background_thread:true: purging does not wait for allocation activity.
extern "C" {
// NOLINTNEXTLINE: the symbol name and type are jemalloc's.
__attribute__((used, visibility("default"))) const char* malloc_conf =
    "background_thread:true,oversize_threshold:524288,dirty_decay_ms:200,muzzy_decay_ms:0,"
    "tcache_max:4096";
}
