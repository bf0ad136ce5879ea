// SPDX-License-Identifier: Apache-2.0
#include "support/shell_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <agentcore/status.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

extern char** environ;

namespace example_agent {

namespace {

using Clock = std::chrono::steady_clock;

/// Length of the valid UTF-8 sequence at s[i], 0 when invalid, -1 when cut short by the end.
int Utf8Sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  int n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int k = 1; k < n; ++k) {
    if (i + static_cast<std::size_t>(k) >= s.size()) return -1;
    const unsigned char x = b(i + static_cast<std::size_t>(k));
    if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n;
}

/// Turns a byte stream into valid UTF-8 text: invalid bytes become U+FFFD, a sequence cut at the
/// end of a piece waits for the next piece. One per output stream.
class Utf8Text {
 public:
  std::string Take(std::string_view piece, bool last) {
    pending_.append(piece);
    std::string out;
    std::size_t i = 0;
    while (i < pending_.size()) {
      const int n = Utf8Sequence(pending_, i);
      if (n < 0 && !last) break;
      if (n <= 0) {
        out.append("\xEF\xBF\xBD");
        ++i;
        continue;
      }
      out.append(pending_, i, static_cast<std::size_t>(n));
      i += static_cast<std::size_t>(n);
    }
    pending_.erase(0, i);
    return out;
  }

 private:
  std::string pending_;
};

agentcore::Status Errno(std::string_view call) {
  return agentcore::Internal(std::string(call) + ": " + std::strerror(errno));
}

}  // namespace

bool IsSecretVariable(std::string_view entry) {
  const std::string_view name = entry.substr(0, entry.find('='));
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  return name == "CAST_AUTH_TOKEN" || ends("_API_KEY") || ends("_TOKEN") || ends("_SECRET");
}

agentcore::Result<CommandOutcome> RunShellCommand(const CommandOptions& options) {
  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  std::vector<char*> envp;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!IsSecretVariable(*e)) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  std::string sh = "/bin/sh";
  std::string dash_c = "-c";
  std::string command = options.command;
  char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};
  const char* cwd = options.cwd.c_str();
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Errno("pipe");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    agentcore::Status failed = Errno("pipe");
    close(out_pipe[0]);
    close(out_pipe[1]);
    return failed;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);                     // its own group, so that the whole command can be killed
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // the agent's death takes the command along
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the agents block SIGTERM/SIGINT in threads
    signal(SIGPIPE, SIG_DFL);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (chdir(cwd) != 0) _exit(127);
    execve("/bin/sh", argv, envp.data());
    _exit(127);
  }
  const agentcore::Status fork_failed = pid < 0 ? Errno("fork") : agentcore::Status::Ok();
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return fork_failed;
  }
  setpgid(pid, pid);  // also here, so that kill(-pid) works whoever runs first

  CommandOutcome outcome;
  struct Stream {
    int fd;
    const char* name;
    Utf8Text text;
  };
  Stream streams[2] = {{out_pipe[0], "stdout", {}}, {err_pipe[0], "stderr", {}}};
  std::size_t streamed = 0;
  bool truncated = false;
  auto emit = [&](Stream& s, std::string_view bytes, bool last) {
    std::string text = s.text.Take(bytes, last);
    if (text.empty()) return;
    outcome.tail.append(text);
    if (outcome.tail.size() > 2 * options.tail_bytes) {
      outcome.tail.erase(0, outcome.tail.size() - options.tail_bytes);
    }
    if (!options.output) return;
    if (streamed >= options.max_streamed_bytes) {
      if (!truncated) options.output(s.name, "[output truncated]\n");
      truncated = true;
      return;
    }
    streamed += text.size();
    options.output(s.name, text);
  };

  bool exited = false;
  int status = 0;
  Clock::time_point exited_at;
  for (;;) {
    pollfd fds[2];
    Stream* polled[2];
    nfds_t n = 0;
    for (Stream& s : streams) {
      if (s.fd < 0) continue;
      fds[n] = {s.fd, POLLIN, 0};
      polled[n++] = &s;
    }
    if (n == 0) break;
    if (Clock::now() >= options.deadline) {
      outcome.timed_out = true;
      break;
    }
    if (options.stopping && options.stopping()) {
      outcome.stopped = true;
      break;
    }
    // A command that left a background child holding its pipes open is over 500 ms after the
    // shell exited.
    if (exited && Clock::now() - exited_at > std::chrono::milliseconds(500)) break;
    const int ready = poll(fds, n, 100);
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t k = 0; ready > 0 && k < n; ++k) {
      if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[4096];
      const ssize_t got = read(fds[k].fd, buf, sizeof buf);
      if (got > 0) {
        emit(*polled[k], std::string_view(buf, static_cast<std::size_t>(got)), false);
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        emit(*polled[k], {}, true);
        close(polled[k]->fd);
        polled[k]->fd = -1;
      }
    }
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      exited_at = Clock::now();
    }
  }
  kill(-pid, SIGKILL);  // whatever is left of the command's process group
  if (!exited) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  for (Stream& s : streams) {
    if (s.fd >= 0) {
      emit(s, {}, true);
      close(s.fd);
    }
  }
  if (WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
    outcome.exit_code = 128 + outcome.signal;
  }
  if (outcome.tail.size() > options.tail_bytes) {
    outcome.tail.erase(0, outcome.tail.size() - options.tail_bytes);
  }
  return outcome;
}

}  // namespace example_agent
