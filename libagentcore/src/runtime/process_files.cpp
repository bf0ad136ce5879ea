// SPDX-License-Identifier: Apache-2.0
#include "runtime/process_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

namespace agentcore::internal {

namespace {

constexpr std::string_view kPidFileHeader = "agentcore-local-process-pid 1";

bool IsPlain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

void AppendEscaped(std::string_view part, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : part) {
    if (IsPlain(c)) {
      out->push_back(c);
    } else {
      auto b = static_cast<unsigned char>(c);
      out->push_back('%');
      out->push_back(kHex[b >> 4]);
      out->push_back(kHex[b & 0xF]);
    }
  }
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string ErrnoText(int err) { return std::system_category().message(err); }

}  // namespace

std::string AgentDirName(std::string_view agent_id) {
  std::string out;
  out.reserve(agent_id.size() + 8);
  std::size_t start = 0;
  for (int part = 0; part < 3; ++part) {
    std::size_t colon = part < 2 ? agent_id.find(':', start) : std::string_view::npos;
    std::string_view piece = agent_id.substr(start, colon == std::string_view::npos
                                                        ? std::string_view::npos
                                                        : colon - start);
    if (part > 0) out.push_back('.');
    AppendEscaped(piece, &out);
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return out;
}

std::string FormatPidRecord(const PidRecord& r) {
  return fmt::format("{}\nagent_id={}\npid={}\nstart_time={}\nboot_id={}\nstarted_at={}\n",
                     kPidFileHeader, r.agent_id, r.pid, r.start_time, r.boot_id, r.started_at);
}

Result<PidRecord> ParsePidRecord(std::string_view text) {
  auto bad = [](std::string_view why) {
    return InvalidArgument(fmt::format("invalid pid file: {}", why));
  };
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return bad("missing final newline");
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  if (lines.empty() || lines[0] != kPidFileHeader) return bad("unknown header");
  PidRecord r;
  bool have_id = false, have_pid = false, have_start = false, have_boot = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return bad("line without '='");
    std::string_view key = line.substr(0, eq);
    std::string_view value = line.substr(eq + 1);
    if (key == "agent_id") {
      r.agent_id = std::string(value);
      have_id = !value.empty();
    } else if (key == "pid") {
      have_pid = ParseNumber(value, &r.pid) && r.pid > 1;
      if (!have_pid) return bad("bad pid");
    } else if (key == "start_time") {
      have_start = ParseNumber(value, &r.start_time);
      if (!have_start) return bad("bad start_time");
    } else if (key == "boot_id") {
      r.boot_id = std::string(value);
      have_boot = true;
    } else if (key == "started_at") {
      if (!ParseNumber(value, &r.started_at)) return bad("bad started_at");
    }
    // Unknown keys are skipped: a newer writer may add some.
  }
  if (!have_id || !have_pid || !have_start || !have_boot) return bad("missing field");
  return r;
}

Status WriteFileAtomically(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Internal(fmt::format("cannot create \"{}\": {}", tmp, ErrnoText(errno)));
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Internal(fmt::format("cannot write \"{}\": {}", tmp, ErrnoText(err)));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // fsync so that the rename never exposes an empty file after a power loss.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Internal(fmt::format("cannot write \"{}\": {}", tmp, ErrnoText(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Internal(fmt::format("cannot rename \"{}\": {}", tmp, ErrnoText(err)));
  }
  return Status::Ok();
}

Result<std::string> ReadSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFound(fmt::format("no file \"{}\"", path));
    return Internal(fmt::format("cannot open \"{}\": {}", path, ErrnoText(err)));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Internal(fmt::format("cannot read \"{}\": {}", path, ErrnoText(err)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::optional<ProcStat> ReadProcStat(int pid) {
  auto text = ReadSmallFile(fmt::format("/proc/{}/stat", pid));
  if (!text) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted
  // from the last ')'. The state is field 3 and starttime field 22 (proc(5)).
  std::string_view s = *text;
  std::size_t close = s.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  s.remove_prefix(close + 1);
  std::vector<std::string_view> fields;
  while (!s.empty() && fields.size() < 20) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    std::size_t end = s.find_first_of(" \n");
    if (end == std::string_view::npos) end = s.size();
    if (end > 0) fields.push_back(s.substr(0, end));
    s.remove_prefix(end);
  }
  if (fields.size() < 20 || fields[0].size() != 1) return std::nullopt;
  ProcStat st;
  st.state = fields[0][0];
  if (!ParseNumber(fields[19], &st.start_time)) return std::nullopt;
  return st;
}

std::string ReadBootId() {
  auto text = ReadSmallFile("/proc/sys/kernel/random/boot_id");
  if (!text) return {};
  std::string id = std::move(*text);
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

}  // namespace agentcore::internal
