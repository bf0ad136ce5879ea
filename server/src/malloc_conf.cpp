// SPDX-License-Identifier: Apache-2.0
// jemalloc's compiled-in options (linked into agentcore-server only when jemalloc is; the
// MALLOC_CONF environment variable still overrides them). Memory freed after a burst (a sync
// reply, a replay, a closed connection's queue) goes back to the system within about a second
// instead of jemalloc's default ten, a background thread does that purging, so an idle server
// (no allocation activity) returns it too, and it is returned with MADV_DONTNEED at once (no
// "muzzy" MADV_FREE stage, whose pages stay in RSS until the kernel needs them). Issue 13 §1:
// RSS stayed hundreds of MiB above its start after streaming clients closed. Thread caches
// keep only objects up to 4 KiB (default 32 KiB): with 64 blocking threads and 2 io threads,
// cached 4-32 KiB message strings kept about 8 MiB after a 20 MB sync storm, which no purge
// reaches (an idle thread never collects its cache).
extern "C" {
// NOLINTNEXTLINE: the symbol name and type are jemalloc's.
__attribute__((used, visibility("default"))) const char* malloc_conf =
    "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,tcache_max:4096";
}
