// SPDX-License-Identifier: Apache-2.0
// agentcore_crash_writer URL [THREADS] [CONTENT_BYTES]
//
// The child of the crash-safety tests: opens the store at URL (any OpenStore() URL, so the
// SQLite and the PostgreSQL tests share it), makes sure space "crash" with channel "crash"
// exists, then appends messages from THREADS threads (default 4) until it is killed. After
// each acknowledged append it writes the message id and a newline to stdout in one write(2),
// so every complete line the parent reads names a write the store acknowledged. Lines are far
// below PIPE_BUF, so concurrent writes never interleave. Exits 2 with a message on stderr if
// the store cannot be opened or written.
#include <unistd.h>

#include <agentcore/store/store.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

int Fail(const agentcore::Status& s) {
  std::fprintf(stderr, "crash_writer: %s\n", s.ToString().c_str());
  return 2;
}

int ParseOr(const char* arg, int fallback) {
  if (arg == nullptr) return fallback;
  int v = 0;
  const std::string_view s(arg);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v > 0 ? v : fallback;
}

void WriteLine(const std::string& id) {
  std::string line = id + "\n";
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0) std::_Exit(3);  // the parent went away
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: agentcore_crash_writer URL [THREADS] [CONTENT_BYTES]\n");
    return 2;
  }
  const int threads = ParseOr(argc > 2 ? argv[2] : nullptr, 4);
  const int content_bytes = ParseOr(argc > 3 ? argv[3] : nullptr, 200);
  auto store = agentcore::OpenStore(argv[1]);
  if (!store.ok()) return Fail(store.status());

  agentcore::Space space;
  space.id = "crash";
  space.name = "crash";
  if (auto s = (*store)->EnsureSpace(space); !s.ok()) return Fail(s.status());
  std::string channel_id;
  if (auto found = (*store)->FindChannelByName("crash", "crash"); found.ok()) {
    channel_id = found->id;
  } else {
    agentcore::NewChannel c;
    c.space_id = "crash";
    c.name = "crash";
    auto created = (*store)->CreateChannel(c);
    if (!created.ok()) return Fail(created.status());
    channel_id = created->id;
  }

  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (long n = 0;; ++n) {
        agentcore::NewMessage m;
        m.channel_id = channel_id;
        m.sender = "writer-" + std::to_string(t);
        m.sender_type = "agent";
        m.type = "agent_message";
        std::string text = "crash " + std::to_string(t) + "-" + std::to_string(n) + " ";
        text.resize(static_cast<std::size_t>(content_bytes), '.');
        m.content = agentcore::Json(std::move(text));
        auto appended = (*store)->AppendMessage(m);
        if (!appended.ok()) std::_Exit(Fail(appended.status()));
        WriteLine(appended->id);
      }
    });
  }
  for (auto& w : workers) w.join();  // never returns: the parent kills us
  return 0;
}
