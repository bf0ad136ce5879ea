// SPDX-License-Identifier: Apache-2.0
#include "output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace agentcore::ctl {
namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

std::size_t Width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += IsContinuation(c) ? 0 : 1;
  return n;
}

// Colour escapes do not take columns.
std::size_t VisibleWidth(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\033') {
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    n += IsContinuation(static_cast<unsigned char>(s[i])) ? 0 : 1;
  }
  return n;
}

}  // namespace

Output Output::Detect(const GlobalFlags& flags) {
  Output out;
  out.json = flags.json;
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  out.colour = ::isatty(1) == 1 && !flags.no_color && (no_color == nullptr || *no_color == 0) &&
               (term == nullptr || std::string_view(term) != "dumb");
  out.progress = ::isatty(2) == 1 && !flags.json;
  return out;
}

std::string Output::Paint(std::string_view text, Colour c) const {
  if (!colour || c == Colour::kNone) return std::string(text);
  const char* code = c == Colour::kGreen    ? "32"
                     : c == Colour::kYellow ? "33"
                     : c == Colour::kRed    ? "31"
                     : c == Colour::kDim    ? "2"
                                            : "1";
  return std::string("\033[") + code + "m" + std::string(text) + "\033[0m";
}

std::string Output::State(std::string_view state) const {
  for (std::string_view good : {"ok", "active", "running", "succeeded", "ready", "busy", "idle"}) {
    if (state == good) return Paint(state, Colour::kGreen);
  }
  for (std::string_view bad : {"failed", "error", "offline", "revoked", "deleted"}) {
    if (state == bad) return Paint(state, Colour::kRed);
  }
  for (std::string_view meh : {"paused", "stopped", "cancelled", "archived", "creating", "queued",
                               "planning", "building"}) {
    if (state == meh) return Paint(state, Colour::kYellow);
  }
  return std::string(state);
}

void Output::Line(std::string_view text) const {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string Text(const Json& v, std::string_view key, std::string_view fallback) {
  const Json* m = v.is_object() ? v.Find(key) : nullptr;
  if (m == nullptr || m->is_null()) return std::string(fallback);
  if (m->is_string()) return m->as_string();
  if (m->is_bool()) return m->as_bool() ? "yes" : "no";
  if (m->is_number()) {
    const double d = m->as_number();
    char buf[32];
    if (d == static_cast<double>(static_cast<long long>(d))) {
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(d));
    } else {
      std::snprintf(buf, sizeof buf, "%.4g", d);
    }
    return buf;
  }
  return ToJson(*m);
}

std::string Cell(std::string_view text, std::size_t max) {
  std::string out;
  std::size_t points = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (!IsContinuation(c)) {
      if (max != 0 && points == max) {
        out += "…";
        return out;
      }
      ++points;
    }
    if (c == '\n' || c == '\t' || c == '\r') {
      out.push_back(' ');
    } else if (c < 0x20 || c == 0x7F) {
      out.push_back('?');
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

void Table::Print(const Output& out) const {
  std::vector<std::size_t> widths(header_.size(), 0);
  for (std::size_t i = 0; i < header_.size(); ++i) widths[i] = Width(header_[i]);
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], VisibleWidth(row[i]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string text;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : std::string();
      text += header ? out.Paint(cell, Colour::kDim) : cell;
      if (i + 1 < widths.size()) text.append(widths[i] - VisibleWidth(cell) + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out.Line(text);
  };
  line(header_, true);
  for (const auto& row : rows_) line(row, false);
}

void ProgressLine::Show(std::string_view text) {
  if (!enabled_) return;
  std::fprintf(stderr, "\r\033[K%.*s", static_cast<int>(text.size()), text.data());
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::Clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

std::string HumanBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

}  // namespace agentcore::ctl
