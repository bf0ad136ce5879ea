// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <agentcore/workspace/git.hpp>
#include <agentcore/workspace/path_policy.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "process/spawn.hpp"

namespace agentcore {
namespace {

using Clock = std::chrono::steady_clock;

// git's stderr goes into error messages up to this size.
constexpr std::size_t kMaxErrorExcerpt = 2048;
// Captured stderr and ordinary stdout; `git ls-files` may print a whole tree, so it gets more.
constexpr std::size_t kMaxCapture = 64 * 1024;
constexpr std::size_t kMaxListing = 64 * 1024 * 1024;
// Paths per `git rm --cached` command line.
constexpr std::size_t kPathsPerCommand = 256;

// The .gitignore forms of IsSecretPath's names. A pattern without '/' matches a file or a
// directory at any depth, and ignoring a directory ignores what is under it: IsSecretPath's
// "any component" rule. Letters become [xX] classes because IsSecretPath ignores ASCII case.
constexpr const char* kSecretPatterns[] = {".env",   ".env.*",          "*.pem",       "*.key",
                                           "*.p12",  "id_rsa*",         "id_ed25519*", ".npmrc",
                                           ".netrc", "credentials.json"};
constexpr std::string_view kExcludeBegin = "# agentcore: secrets are never committed (begin)";
constexpr std::string_view kExcludeEnd = "# agentcore: secrets are never committed (end)";

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct GitOutput {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

std::string Excerpt(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.size() <= kMaxErrorExcerpt) return std::string(text);
  return std::string(text.substr(0, kMaxErrorExcerpt)) + "…";
}

// Runs one git command in `root` and collects its output; a call never outlives `deadline`.
class GitRunner {
 public:
  GitRunner(std::string root, const GitCommitOptions& options)
      : root_(std::move(root)),
        binary_(options.git_binary),
        deadline_(Clock::now() + options.timeout),
        timeout_(options.timeout) {
    const char* path = std::getenv("PATH");
    env_ = {
        fmt::format("PATH={}", path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin"),
        // No user or system configuration: HOME points nowhere, the global and system files
        // are switched off. Only the repository's own config and the -c flags below count.
        "HOME=/nonexistent",
        "GIT_CONFIG_NOSYSTEM=1",
        "GIT_CONFIG_GLOBAL=/dev/null",
        "GIT_TERMINAL_PROMPT=0",
        "GIT_LITERAL_PATHSPECS=1",
        "LC_ALL=C",
        "GIT_AUTHOR_NAME=" + options.author_name,
        "GIT_AUTHOR_EMAIL=" + options.author_email,
        "GIT_COMMITTER_NAME=" + options.committer_name,
        "GIT_COMMITTER_EMAIL=" + options.committer_email,
    };
  }

  // The output of `git <args>` with any exit code; errors only for a failed start or the
  // deadline.
  Result<GitOutput> Run(const std::vector<std::string>& args, std::size_t max_out = kMaxCapture);

  // Like Run, but a non-zero exit is kInternal with git's stderr.
  Result<GitOutput> Check(const std::vector<std::string>& args, std::size_t max_out = kMaxCapture) {
    AGENTCORE_ASSIGN_OR_RETURN(GitOutput out, Run(args, max_out));
    if (out.exit_code != 0) return Failed(args, out);
    return out;
  }

  Status Failed(const std::vector<std::string>& args, const GitOutput& out) const {
    std::string what = args.empty() ? std::string() : args.front();
    return Internal(fmt::format("git {} in \"{}\" failed ({}): {}", what, root_,
                                out.exit_code >= 0 ? fmt::format("exit {}", out.exit_code)
                                                   : std::string("killed by a signal"),
                                Excerpt(out.err.empty() ? out.out : out.err)));
  }

 private:
  std::string root_;
  std::string binary_;
  Clock::time_point deadline_;
  std::chrono::milliseconds timeout_;
  std::vector<std::string> env_;
};

Result<GitOutput> GitRunner::Run(const std::vector<std::string>& args, std::size_t max_out) {
  // Flags before the subcommand: what the server trusts regardless of the repository.
  std::vector<std::string> argv_strings = {
      binary_,
      "-c",
      "core.hooksPath=/dev/null",  // an agent-written hook must not run on the host
      "-c",
      "core.fsmonitor=false",
      "-c",
      "commit.gpgSign=false",
      "-c",
      "init.defaultBranch=main",
      "-c",
      "safe.directory=" + root_,  // the workspace may be owned by an agent's uid
      "-c",
      "core.quotePath=false",
  };
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return Internal(fmt::format("cannot create a pipe for git: {}", std::strerror(errno)));
  }
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return Internal(fmt::format("cannot create a pipe for git: {}", std::strerror(errno)));
  }
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);

  if (Clock::now() >= deadline_) {
    return Status(ErrorCode::kDeadlineExceeded,
                  fmt::format("git in \"{}\" timed out after {} ms", root_, timeout_.count()));
  }
  // Its own process group, so that a timeout kills git and whatever it started.
  internal::SpawnSpec spec;
  spec.argv = std::move(argv_strings);
  spec.env = env_;
  spec.cwd = root_;
  spec.stdout_fd = out_w.fd;
  spec.stderr_fd = err_w.fd;
  Result<pid_t> spawned = internal::SpawnProcess(spec);
  if (!spawned.ok()) {
    return Internal(fmt::format("cannot run \"{}\": {}", binary_, spawned.status().message()));
  }
  const pid_t pid = *spawned;
  out_w.Close();
  err_w.Close();

  GitOutput result;
  bool timed_out = false;
  Fd* fds[2] = {&out_r, &err_r};
  std::string* bufs[2] = {&result.out, &result.err};
  const std::size_t caps[2] = {max_out, kMaxCapture};
  char chunk[16 * 1024];
  while (out_r.fd >= 0 || err_r.fd >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfds[2];
    nfds_t n = 0;
    int which[2];
    for (int i = 0; i < 2; ++i) {
      if (fds[i]->fd < 0) continue;
      pfds[n] = pollfd{fds[i]->fd, POLLIN, 0};
      which[n++] = i;
    }
    const int r = ::poll(pfds, n, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (r < 0 && errno != EINTR) break;
    for (nfds_t k = 0; r > 0 && k < n; ++k) {
      if (pfds[k].revents == 0) continue;
      const int i = which[k];
      const ssize_t got = ::read(fds[i]->fd, chunk, sizeof chunk);
      if (got > 0) {
        // Past the cap the bytes are read and dropped, so git never blocks on a full pipe.
        const std::size_t room = caps[i] > bufs[i]->size() ? caps[i] - bufs[i]->size() : 0;
        bufs[i]->append(chunk, std::min(room, static_cast<std::size_t>(got)));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fds[i]->Close();
      }
    }
  }
  // The pipes are closed (or the deadline passed); wait for the exit within what is left.
  if (timed_out) ::kill(-pid, SIGKILL);  // the group: hooks' children and pagers too
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, timed_out ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0) {
      if (errno == EINTR) continue;
      return Internal(
          fmt::format("cannot wait for git in \"{}\": {}", root_, std::strerror(errno)));
    }
    if (Clock::now() >= deadline_) {
      timed_out = true;
      ::kill(-pid, SIGKILL);  // the next waitpid blocks until the kill lands
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);  // anything in the group that outlived git
    return Status(ErrorCode::kDeadlineExceeded,
                  fmt::format("git {} in \"{}\" timed out after {} ms",
                              args.empty() ? "" : args.front(), root_, timeout_.count()));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

bool ValidIdentity(std::string_view s) {
  return s.find_first_of(std::string_view("\n\r<>\0", 5)) == std::string_view::npos;
}

// kExcludeBegin..kExcludeEnd with the patterns, each letter as a [xX] class.
std::string ExcludeBlock() {
  std::string block(kExcludeBegin);
  block += '\n';
  for (const char* p : kSecretPatterns) {
    for (const char* c = p; *c != '\0'; ++c) {
      const auto u = static_cast<unsigned char>(*c);
      if (std::isalpha(u)) {
        block += '[';
        block += static_cast<char>(std::tolower(u));
        block += static_cast<char>(std::toupper(u));
        block += ']';
      } else {
        block += *c;
      }
    }
    block += '\n';
  }
  block.append(kExcludeEnd);
  block += '\n';
  return block;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  return out;
}

// Puts ExcludeBlock() into <root>/.git/info/exclude, replacing an earlier block and keeping
// every other line. Every step refuses symlinks: .git is the workspace's, which agents write.
Status WriteExcludes(int root_fd, const std::string& root) {
  auto fail = [&root](std::string_view what) {
    return Internal(fmt::format("cannot write {}/.git/info/exclude: {} ({})", root, what,
                                std::strerror(errno)));
  };
  Fd git(::openat(root_fd, ".git", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (git.fd < 0) return fail(".git is not a directory");
  if (::mkdirat(git.fd, "info", 0755) != 0 && errno != EEXIST) return fail("mkdir info");
  Fd info(::openat(git.fd, "info", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (info.fd < 0) return fail(".git/info is not a directory");
  std::string existing;
  {
    Fd in(::openat(info.fd, "exclude", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (in.fd >= 0) {
      existing = ReadAll(in.fd);
    } else if (errno != ENOENT) {
      return fail("open");
    }
  }
  const std::string block = ExcludeBlock();
  std::string updated;
  const std::size_t b = existing.find(kExcludeBegin);
  const std::size_t e = b == std::string::npos ? std::string::npos : existing.find(kExcludeEnd, b);
  if (b != std::string::npos && e != std::string::npos) {
    std::size_t after = e + kExcludeEnd.size();
    if (after < existing.size() && existing[after] == '\n') ++after;
    updated = existing.substr(0, b) + block + existing.substr(after);
  } else {
    updated = existing;
    if (!updated.empty() && updated.back() != '\n') updated += '\n';
    updated += block;
  }
  if (updated == existing) return Status();
  Fd out(::openat(info.fd, "exclude.agentcore-tmp",
                  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (out.fd < 0) return fail("create");
  std::string_view rest(updated);
  while (!rest.empty()) {
    const ssize_t n = ::write(out.fd, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  out.Close();
  if (::renameat(info.fd, "exclude.agentcore-tmp", info.fd, "exclude") != 0) return fail("rename");
  return Status();
}

bool IsHexSha(std::string_view s) {
  if (s.size() != 40 && s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

/// The commit HEAD names, read from `.git/HEAD` and its loose ref file (what git just wrote);
/// empty when anything is unusual (a detached HEAD is read as is).
std::string HeadFromFiles(int root_fd) {
  auto read = [&](const std::string& path) -> std::string {
    Fd fd(::openat(root_fd, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.fd < 0) return {};
    char buf[256];
    const ssize_t n = ::read(fd.fd, buf, sizeof buf);
    if (n <= 0) return {};
    std::string text(buf, static_cast<std::size_t>(n));
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    return text;
  };
  std::string head = read(".git/HEAD");
  constexpr std::string_view kRef = "ref: refs/heads/";
  if (head.rfind(kRef, 0) != 0) return IsHexSha(head) ? head : std::string();
  const std::string branch = head.substr(kRef.size());
  if (branch.empty() || branch.find("..") != std::string::npos) return {};
  std::string sha = read(".git/refs/heads/" + branch);
  return IsHexSha(sha) ? sha : std::string();
}

Result<std::optional<std::string>> CommitWorkspace(const std::string& root,
                                                   const GitCommitOptions& options) {
  if (options.message.empty()) return InvalidArgument("commit message is empty");
  for (const std::string* field : {&options.author_name, &options.author_email,
                                   &options.committer_name, &options.committer_email}) {
    if (!ValidIdentity(*field)) {
      return InvalidArgument(
          fmt::format("commit identity \"{}\" holds a newline, '<', '>' or NUL", *field));
    }
  }
  if (options.message.find('\0') != std::string::npos) {
    return InvalidArgument("commit message holds a NUL byte");
  }
  Fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root_fd.fd < 0) {
    return NotFound(fmt::format("workspace \"{}\" does not exist or is not a directory", root));
  }

  // safe.directory compares against the real path of the work tree.
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(root.c_str(), nullptr), &std::free);
  GitRunner git(real != nullptr ? std::string(real.get()) : root, options);
  struct stat st {};
  if (::fstatat(root_fd.fd, ".git", &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) {
      return Internal(fmt::format("cannot stat {}/.git: {}", root, std::strerror(errno)));
    }
    AGENTCORE_RETURN_IF_ERROR(git.Check({"init", "-q"}).status());
  } else if (!S_ISDIR(st.st_mode)) {
    // A .git file (gitdir: …) or symlink would send git to a repository outside the workspace.
    return Internal(fmt::format("{}/.git is not a directory", root));
  }

  AGENTCORE_RETURN_IF_ERROR(WriteExcludes(root_fd.fd, root));
  AGENTCORE_RETURN_IF_ERROR(git.Check({"add", "-A", "--", "."}).status());

  // Paths tracked before the excludes existed, or forced in, are still in the index: take out
  // every one IsSecretPath names.
  AGENTCORE_ASSIGN_OR_RETURN(GitOutput listing, git.Check({"ls-files", "-z"}, kMaxListing));
  if (listing.out.size() >= kMaxListing) {
    return Internal(
        fmt::format("git ls-files in \"{}\" printed more than {} bytes", root, kMaxListing));
  }
  std::vector<std::string> secrets;
  std::size_t start = 0;
  while (start < listing.out.size()) {
    std::size_t end = listing.out.find('\0', start);
    if (end == std::string::npos) end = listing.out.size();
    std::string_view path(listing.out.data() + start, end - start);
    if (!path.empty() && IsSecretPath(path)) secrets.emplace_back(path);
    start = end + 1;
  }
  for (std::size_t i = 0; i < secrets.size(); i += kPathsPerCommand) {
    std::vector<std::string> args = {"rm", "--cached", "-q", "--ignore-unmatch", "--"};
    const std::size_t stop = std::min(secrets.size(), i + kPathsPerCommand);
    args.insert(args.end(), secrets.begin() + static_cast<std::ptrdiff_t>(i),
                secrets.begin() + static_cast<std::ptrdiff_t>(stop));
    AGENTCORE_RETURN_IF_ERROR(git.Check(args).status());
  }

  // One process for "anything to commit?" and the commit (each git process costs a few ms,
  // and this runs after every successful run): exit 1 with git's "nothing to commit" (LC_ALL=C)
  // is no change.
  AGENTCORE_ASSIGN_OR_RETURN(GitOutput commit,
                             git.Run({"commit", "-q", "--no-verify", "-m", options.message}));
  if (commit.exit_code == 1 && (commit.out.find("nothing to commit") != std::string::npos ||
                                commit.out.find("nothing added to commit") != std::string::npos ||
                                commit.out.find("no changes added to commit") != std::string::npos)) {
    return std::optional<std::string>();
  }
  if (commit.exit_code != 0) return git.Failed({"commit"}, commit);
  std::string sha = HeadFromFiles(root_fd.fd);
  if (sha.empty()) {  // a packed or unusual ref: ask git
    AGENTCORE_ASSIGN_OR_RETURN(GitOutput head, git.Check({"rev-parse", "HEAD"}));
    sha = head.out;
    while (!sha.empty() && std::isspace(static_cast<unsigned char>(sha.back()))) sha.pop_back();
  }
  if (!IsHexSha(sha)) {
    return Internal(fmt::format("git rev-parse HEAD in \"{}\" printed \"{}\"", root, Excerpt(sha)));
  }
  return std::optional<std::string>(std::move(sha));
}

}  // namespace agentcore
