// SPDX-License-Identifier: Apache-2.0
// jemalloc's compiled-in options (linked into agentcore-server only when jemalloc is; the
// MALLOC_CONF environment variable still overrides them). Issue 13 §1: RSS must stay within
// 64 MiB while 40 clients pin large replies, and come back within 32 MiB after they close.
//  * dirty_decay_ms:0, muzzy_decay_ms:0: freed pages go back to the system at once
//    (MADV_DONTNEED). A storm of large replies frees hundreds of MB a second; with a 1 s decay
//    jemalloc kept about 110 MiB of them resident at the peak (and still ~30 MiB 10 s later:
//    its background purge leaves small per-arena remainders), with 0.2 s about 90 MiB. The
//    price is a purge syscall per freed large extent: throughput benchmarks not re-run.
//  * tcache_max:4096: thread caches keep only objects up to 4 KiB (default 32 KiB); with 64
//    blocking threads and 2 io threads, cached 4-32 KiB message strings kept about 8 MiB.
//  * background_thread:true: purging does not wait for allocation activity.
extern "C" {
// NOLINTNEXTLINE: the symbol name and type are jemalloc's.
__attribute__((used, visibility("default"))) const char* malloc_conf =
    "background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0,tcache_max:4096";
}
