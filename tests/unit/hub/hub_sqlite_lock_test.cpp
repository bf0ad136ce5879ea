// SPDX-License-Identifier: Apache-2.0
// One hub per SQLite file (docs/cluster.md "One server on SQLite"): OpenHub locks
// "<file>.hub.lock"; a second hub on the file, in this process or another, is refused and
// touches nothing; the lock goes with the hub (or its process); store-only openers and
// ":memory:" take none.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/hub/hub.hpp>

#include "store/temp_dir.hpp"
#include "support/manual_clock.hpp"
#include "support/run_command.hpp"

extern char** environ;

namespace agentcore {
namespace {

using testing::ManualClock;
using testing::RunCommand;
using testing::TempDir;

std::string RefusalFor(const std::string& file) {
  return "another agentcore server uses " + file +
         ": SQLite serves one server; use PostgreSQL (--database-url postgres://…) for several";
}

Result<std::unique_ptr<Hub>> Open(const std::string& store_url, const TempDir& dir,
                                  ManualClock* clock) {
  HubOptions o;
  o.store_url = store_url;
  o.clock = clock;
  o.local_process.data_dir = dir.File("data");
  return OpenHub(std::move(o));
}

/// Whether another process (util-linux flock(1)) finds `lock` held.
bool HeldElsewhere(const std::string& lock) {
  return RunCommand({"flock", "--nonblock", "--conflict-exit-code", "7", lock, "true"}) == 7;
}

/// A process that holds `lock` until killed: flock(1) itself (--close: the sleep it runs does
/// not hold it), in a process group of its own so that the sleep goes with it.
class LockHolder {
 public:
  explicit LockHolder(const std::string& lock) {
    std::vector<std::string> args = {"flock", "--close", lock, "sleep", "60"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    REQUIRE(::posix_spawnp(&pid_, "flock", nullptr, &attr, argv.data(), environ) == 0);
    posix_spawnattr_destroy(&attr);
  }
  ~LockHolder() { Kill(); }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

TEST_SUITE("Hub: one hub per SQLite file") {
  TEST_CASE("a second hub on the file is refused, the first keeps working, a later one opens") {
    ManualClock clock;
    TempDir dir;
    const std::string db = dir.File("hub.db");
    auto first = Open("sqlite://" + db, dir, &clock);
    REQUIRE(first.ok());
    Space space;
    space.id = "s1";
    space.name = "Space";
    REQUIRE((*first)->store().EnsureSpace(space).ok());

    // In this process: flock belongs to an open file description, so a second one conflicts.
    auto second = Open("sqlite://" + db, dir, &clock);
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().code() == ErrorCode::kUnavailable);
    CHECK(second.status().message() == RefusalFor(db));
    // The plain-path spelling of the same file is the same database.
    auto plain = Open(db, dir, &clock);
    REQUIRE_FALSE(plain.ok());
    CHECK(plain.status().message() == RefusalFor(db));

    // The refusals changed nothing: the first hub reads and writes as before.
    CHECK((*first)->store().GetSpace("s1").ok());
    space.id = "s2";
    CHECK((*first)->store().EnsureSpace(space).ok());

    // Closing is not enough (the store is still open); destroying the hub releases the file.
    (*first)->Close();
    CHECK_FALSE(Open("sqlite://" + db, dir, &clock).ok());
    first->reset();
    auto third = Open("sqlite://" + db, dir, &clock);
    REQUIRE(third.ok());
    CHECK((*third)->store().GetSpace("s2").ok());
  }

  TEST_CASE("another process sees the hub's lock, and a lock another process holds refuses") {
    ManualClock clock;
    TempDir dir;
    const std::string db = dir.File("hub.db");
    const std::string lock = db + ".hub.lock";
    {
      auto hub = Open("sqlite://" + db, dir, &clock);
      REQUIRE(hub.ok());
      CHECK(HeldElsewhere(lock));
    }
    CHECK_FALSE(HeldElsewhere(lock));  // released with the hub; the file stays, harmless

    LockHolder holder(lock);  // as another agentcore-server would
    for (int i = 0; i < 200 && !HeldElsewhere(lock); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(HeldElsewhere(lock));
    auto refused = Open("sqlite://" + db, dir, &clock);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().message() == RefusalFor(db));
    holder.Kill();  // a dead holder's lock goes with it: no stale lock after a crash
    CHECK(Open("sqlite://" + db, dir, &clock).ok());
  }

  TEST_CASE("two names of one database (a symlink) share the lock") {
    ManualClock clock;
    TempDir dir;
    const std::string db = dir.File("real.db");
    auto first = Open("sqlite://" + db, dir, &clock);
    REQUIRE(first.ok());
    std::filesystem::create_symlink(db, dir.File("alias.db"));
    auto second = Open("sqlite://" + dir.File("alias.db"), dir, &clock);
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().message() == RefusalFor(dir.File("alias.db")));
  }

  TEST_CASE("a store handed to OpenHub is locked too; opening a store alone takes no lock") {
    ManualClock clock;
    TempDir dir;
    const std::string db = dir.File("hub.db");
    auto first = Open("sqlite://" + db, dir, &clock);
    REQUIRE(first.ok());
    // Store-only programs (the CLI's api-key and invite-code commands) share the file.
    auto store = OpenStore("sqlite://" + db);
    REQUIRE(store.ok());
    CHECK((*store)->DatabaseFile() == db);
    Space space;
    space.id = "cli";
    space.name = "From the CLI";
    CHECK((*store)->EnsureSpace(space).ok());
    // But not as a hub's store.
    HubOptions o;
    o.store = *std::move(store);
    o.clock = &clock;
    o.local_process.data_dir = dir.File("data");
    auto second = OpenHub(std::move(o));
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().code() == ErrorCode::kUnavailable);
    CHECK(second.status().message() == RefusalFor(db));
    CHECK((*first)->store().GetSpace("cli").ok());
  }

#ifdef AGENTCORE_CLI
  TEST_CASE("the CLI's store-only commands work on the file a hub serves") {
    ManualClock clock;
    TempDir dir;
    const std::string db = dir.File("hub.db");
    auto hub = Open("sqlite://" + db, dir, &clock);
    REQUIRE(hub.ok());
    std::string out;
    CHECK(RunCommand({AGENTCORE_CLI, "invite-codes", "--database-url", "sqlite://" + db,
                      "generate", "--count", "1"},
                     &out) == 0);
    CHECK_MESSAGE(out.find("\"code\"") != std::string::npos, out);
    CHECK(RunCommand({AGENTCORE_CLI, "invite-codes", "--database-url", "sqlite://" + db, "list"},
                     &out) == 0);
    CHECK_MESSAGE(out.find("\"id\"") != std::string::npos, out);
  }
#endif

  TEST_CASE("in-memory stores take no lock: any number of hubs") {
    ManualClock clock;
    TempDir dir;
    auto a = Open("sqlite::memory:", dir, &clock);
    auto b = Open("sqlite::memory:", dir, &clock);
    CHECK(a.ok());
    CHECK(b.ok());
    CHECK(OpenStore("sqlite::memory:").value()->DatabaseFile().empty());
    CHECK_FALSE(std::filesystem::exists(":memory:.hub.lock"));
  }

  TEST_CASE("agents the hub starts do not inherit the lock (close-on-exec)") {
    ManualClock clock;
    TempDir dir;
    const std::string db = dir.File("hub.db");
    auto hub = Open("sqlite://" + db, dir, &clock);
    REQUIRE(hub.ok());
    const std::filesystem::path lock = std::filesystem::canonical(db + ".hub.lock");
    int found = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      if (std::filesystem::read_symlink(entry.path(), ec) != lock) continue;
      ++found;
      const int fd = std::stoi(entry.path().filename().string());
      CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    }
    CHECK(found == 1);
  }

  TEST_CASE("a lock file that cannot be made is a clear error, and nothing is created") {
    ManualClock clock;
    TempDir dir;
    const std::string db = dir.File("missing-dir/hub.db");
    auto hub = Open("sqlite://" + db, dir, &clock);
    REQUIRE_FALSE(hub.ok());
    CHECK(hub.status().code() == ErrorCode::kUnavailable);
    CHECK(hub.status().message().starts_with("cannot open the hub lock \""));
    CHECK(hub.status().message().find("missing-dir/hub.db.hub.lock\": No such file or directory") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.File("missing-dir")));
    // A malformed URL is still OpenStore's error, not the lock's.
    auto bad = Open("sqlite:nowhere", dir, &clock);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().code() == ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace agentcore
