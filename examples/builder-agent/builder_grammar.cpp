// SPDX-License-Identifier: Apache-2.0
#include "builder-agent/builder_grammar.hpp"

#include <charconv>
#include <cmath>
#include <optional>
#include <utility>

namespace builder {

using agentcore::InvalidArgument;
using agentcore::Json;
using agentcore::Result;

namespace {

constexpr std::size_t kMaxTitleBytes = 120;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n';
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

/// `\n`, `\t`, `\\`, `\"`, `\;` decoded; any other backslash kept as written.
std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    const char next = s[i + 1];
    switch (next) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case '\\': out.push_back('\\'); break;
      case '"': out.push_back('"'); break;
      case ';': out.push_back(';'); break;
      default:
        out.push_back('\\');
        out.push_back(next);
        break;
    }
    ++i;
  }
  return out;
}

/// The end (one past the closing quote) of the quoted string starting at s[0] == '"', or npos
/// when it is not closed.
std::size_t QuotedEnd(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

/// A path token at the start of `*s` (a quoted string, or a run of non-space bytes), taken off
/// `*s`; nullopt when there is none (empty, unterminated quote, empty quotes).
std::optional<std::string> TakePath(std::string_view* s) {
  if (s->empty()) return std::nullopt;
  std::string path;
  if (s->front() == '"') {
    const std::size_t end = QuotedEnd(*s);
    if (end == std::string_view::npos) return std::nullopt;
    path = Unescape(s->substr(1, end - 2));
    s->remove_prefix(end);
    if (!s->empty() && !IsSpace(s->front())) return std::nullopt;  // "a"b
  } else {
    std::size_t end = 0;
    while (end < s->size() && !IsSpace((*s)[end])) ++end;
    path = Unescape(s->substr(0, end));
    s->remove_prefix(end);
  }
  if (path.empty()) return std::nullopt;
  return path;
}

/// The next word (a run of non-space bytes) of `*s`, taken off it with the spaces before it.
std::string_view TakeWord(std::string_view* s) {
  *s = Trim(*s);
  std::size_t end = 0;
  while (end < s->size() && !IsSpace((*s)[end])) ++end;
  std::string_view word = s->substr(0, end);
  s->remove_prefix(end);
  return word;
}

/// A text: one whole quoted string (unquoted), or the text as written (unescaped).
std::string TextOf(std::string_view s) {
  s = Trim(s);
  if (!s.empty() && s.front() == '"' && QuotedEnd(s) == s.size()) {
    return Unescape(s.substr(1, s.size() - 2));
  }
  return Unescape(s);
}

/// A whole non-negative decimal number, or nullopt.
std::optional<std::int64_t> Number(std::string_view s) {
  std::int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || s.front() == '-' || ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

/// `s` cut to at most kMaxTitleBytes at a UTF-8 boundary, with "..." when cut.
std::string Shorten(std::string_view s) {
  if (s.size() <= kMaxTitleBytes) return std::string(s);
  std::size_t end = kMaxTitleBytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return std::string(s.substr(0, end)) + "...";
}

std::string TitleOf(const Todo& t) {
  switch (t.action) {
    case TodoAction::kWrite: return Shorten("Write " + t.path);
    case TodoAction::kAppend: return Shorten("Append to " + t.path);
    case TodoAction::kDelete: return Shorten("Delete " + t.path);
    case TodoAction::kRun: return Shorten("Run: " + t.command);
    case TodoAction::kSleep: return "Sleep " + std::to_string(t.ms) + " ms";
    case TodoAction::kFail:
      return t.attempt == 0 ? std::string("Fail") : "Fail on attempt " + std::to_string(t.attempt);
    case TodoAction::kCrash: return "Crash the agent";
    case TodoAction::kNote: return Shorten("Note: " + t.text);
  }
  return {};
}

/// `create|write <path> with <text>`: `rest` follows the keyword.
bool ParseWrite(std::string_view rest, Todo* t) {
  rest = Trim(rest);
  std::optional<std::string> path = TakePath(&rest);
  if (!path) return false;
  if (!EqualsNoCase(TakeWord(&rest), "with")) return false;
  t->action = TodoAction::kWrite;
  t->path = std::move(*path);
  t->text = TextOf(rest);
  return true;
}

/// `append <text> to <path>`.
bool ParseAppend(std::string_view rest, Todo* t) {
  rest = Trim(rest);
  std::string_view text_part;
  std::string_view path_part;
  if (!rest.empty() && rest.front() == '"' && QuotedEnd(rest) != std::string_view::npos) {
    const std::size_t end = QuotedEnd(rest);
    text_part = rest.substr(0, end);
    std::string_view after = rest.substr(end);
    if (after.empty() || !IsSpace(after.front())) return false;
    if (!EqualsNoCase(TakeWord(&after), "to")) return false;
    path_part = Trim(after);
  } else {
    // The last " to " outside quotes.
    std::size_t split = std::string_view::npos;
    bool quoted = false;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      const char c = rest[i];
      if (c == '\\') {
        ++i;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (quoted || !IsSpace(c) || i + 3 >= rest.size()) continue;
      if (EqualsNoCase(rest.substr(i + 1, 2), "to") && IsSpace(rest[i + 3])) split = i;
    }
    if (split == std::string_view::npos) return false;
    text_part = rest.substr(0, split);
    path_part = Trim(rest.substr(split + 4));
  }
  std::optional<std::string> path = TakePath(&path_part);
  if (!path || !Trim(path_part).empty()) return false;
  std::string text = TextOf(text_part);
  if (text.empty()) return false;
  t->action = TodoAction::kAppend;
  t->path = std::move(*path);
  t->text = std::move(text);
  return true;
}

bool ParseDelete(std::string_view rest, Todo* t) {
  rest = Trim(rest);
  std::optional<std::string> path = TakePath(&rest);
  if (!path || !Trim(rest).empty()) return false;
  t->action = TodoAction::kDelete;
  t->path = std::move(*path);
  return true;
}

bool ParseRun(std::string_view rest, Todo* t) {
  rest = Trim(rest);
  if (rest.empty()) return false;
  std::string command;
  command.reserve(rest.size());
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\\' && i + 1 < rest.size() && rest[i + 1] == ';') continue;  // \; is ;
    command.push_back(rest[i]);
  }
  t->action = TodoAction::kRun;
  t->command = std::move(command);
  return true;
}

bool ParseSleep(std::string_view rest, Todo* t) {
  rest = Trim(rest);
  if (rest.size() >= 2 && EqualsNoCase(rest.substr(rest.size() - 2), "ms")) {
    rest = Trim(rest.substr(0, rest.size() - 2));
  }
  std::optional<std::int64_t> ms = Number(rest);
  if (!ms || *ms > kMaxSleepMs) return false;
  t->action = TodoAction::kSleep;
  t->ms = *ms;
  return true;
}

bool ParseFail(std::string_view rest, Todo* t) {
  rest = Trim(rest);
  std::int64_t attempt = 0;
  if (!rest.empty()) {
    if (!EqualsNoCase(TakeWord(&rest), "on") || !EqualsNoCase(TakeWord(&rest), "attempt")) {
      return false;
    }
    std::optional<std::int64_t> n = Number(TakeWord(&rest));
    if (!n || *n < 1 || *n > 1'000'000 || !Trim(rest).empty()) return false;
    attempt = *n;
  }
  t->action = TodoAction::kFail;
  t->attempt = attempt;
  return true;
}

}  // namespace

std::string_view ActionName(TodoAction action) {
  switch (action) {
    case TodoAction::kWrite: return "write";
    case TodoAction::kAppend: return "append";
    case TodoAction::kDelete: return "delete";
    case TodoAction::kRun: return "run";
    case TodoAction::kSleep: return "sleep";
    case TodoAction::kFail: return "fail";
    case TodoAction::kCrash: return "crash";
    case TodoAction::kNote: return "note";
  }
  return "note";
}

std::vector<std::string> SplitClauses(std::string_view prompt) {
  std::vector<std::string> clauses;
  std::string current;
  bool quoted = false;
  auto flush = [&] {
    std::string_view trimmed = Trim(current);
    if (!trimmed.empty()) clauses.emplace_back(trimmed);
    current.clear();
    quoted = false;
  };
  for (std::size_t i = 0; i < prompt.size(); ++i) {
    const char c = prompt[i];
    if (c == '\n') {  // a newline always ends a clause, an open quote too
      flush();
    } else if (c == '\\' && i + 1 < prompt.size() && prompt[i + 1] != '\n') {
      current.push_back(c);
      current.push_back(prompt[++i]);
    } else if (c == ';' && !quoted) {
      flush();
    } else {
      if (c == '"') quoted = !quoted;
      current.push_back(c);
    }
  }
  flush();
  return clauses;
}

Todo ParseClause(std::string_view clause, std::string id) {
  clause = Trim(clause);
  Todo t;
  t.id = std::move(id);
  std::string_view rest = clause;
  const std::string_view keyword = TakeWord(&rest);
  bool parsed = false;
  if (EqualsNoCase(keyword, "create") || EqualsNoCase(keyword, "write")) {
    parsed = ParseWrite(rest, &t);
  } else if (EqualsNoCase(keyword, "append")) {
    parsed = ParseAppend(rest, &t);
  } else if (EqualsNoCase(keyword, "delete")) {
    parsed = ParseDelete(rest, &t);
  } else if (EqualsNoCase(keyword, "run")) {
    parsed = ParseRun(rest, &t);
  } else if (EqualsNoCase(keyword, "sleep")) {
    parsed = ParseSleep(rest, &t);
  } else if (EqualsNoCase(keyword, "fail")) {
    parsed = ParseFail(rest, &t);
  } else if (EqualsNoCase(keyword, "crash")) {
    parsed = Trim(rest).empty();
    if (parsed) t.action = TodoAction::kCrash;
  }
  if (!parsed) {
    const std::string saved_id = std::move(t.id);
    t = Todo{};
    t.id = saved_id;
    t.action = TodoAction::kNote;
    t.text = std::string(clause);
  }
  t.title = TitleOf(t);
  return t;
}

std::vector<Todo> ParsePrompt(std::string_view prompt) {
  std::vector<Todo> todos;
  for (const std::string& clause : SplitClauses(prompt)) {
    todos.push_back(ParseClause(clause, std::to_string(todos.size() + 1)));
  }
  return todos;
}

Json TodoToJson(const Todo& t) {
  Json v = Json::Object();
  v.Set("id", t.id);
  v.Set("title", t.title);
  v.Set("action", ActionName(t.action));
  switch (t.action) {
    case TodoAction::kWrite:
    case TodoAction::kAppend:
      v.Set("path", t.path);
      v.Set("text", t.text);
      break;
    case TodoAction::kDelete: v.Set("path", t.path); break;
    case TodoAction::kRun: v.Set("command", t.command); break;
    case TodoAction::kSleep: v.Set("ms", t.ms); break;
    case TodoAction::kFail: v.Set("attempt", t.attempt); break;
    case TodoAction::kCrash: break;
    case TodoAction::kNote: v.Set("text", t.text); break;
  }
  return v;
}

Json PlanToJson(std::string_view summary, const std::vector<Todo>& todos) {
  Json plan = Json::Object();
  plan.Set("summary", summary);
  Json list = Json::Array();
  for (const Todo& t : todos) list.as_array().push_back(TodoToJson(t));
  plan.Set("todos", std::move(list));
  return plan;
}

Result<std::vector<Todo>> TodosFromPlan(const Json& plan) {
  if (!plan.is_object()) return InvalidArgument("plan is not an object");
  const Json* todos = plan.Find("todos");
  if (todos == nullptr || !todos->is_array()) {
    return InvalidArgument("plan has no todos array");
  }
  std::vector<Todo> out;
  for (std::size_t i = 0; i < todos->as_array().size(); ++i) {
    const Json& v = todos->as_array()[i];
    const std::string where = "plan todo " + std::to_string(i);
    if (!v.is_object()) return InvalidArgument(where + " is not an object");
    auto text = [&](std::string_view key, bool non_empty) -> Result<std::string> {
      const std::string* s = v.FindString(key);
      if (s == nullptr || (non_empty && s->empty())) {
        return InvalidArgument(where + ": " + std::string(key) +
                               (non_empty ? " must be a non-empty string" : " must be a string"));
      }
      return *s;
    };
    auto number = [&](std::string_view key, double max) -> Result<std::int64_t> {
      const Json* n = v.Find(key);
      if (n == nullptr || !n->is_number() || !std::isfinite(n->as_number()) ||
          n->as_number() != std::floor(n->as_number()) || n->as_number() < 0 ||
          n->as_number() > max) {
        return InvalidArgument(where + ": " + std::string(key) + " must be a whole number in 0.." +
                               std::to_string(static_cast<std::int64_t>(max)));
      }
      return static_cast<std::int64_t>(n->as_number());
    };
    Todo t;
    AGENTCORE_ASSIGN_OR_RETURN(t.id, text("id", false));
    AGENTCORE_ASSIGN_OR_RETURN(t.title, text("title", false));
    std::string action;
    AGENTCORE_ASSIGN_OR_RETURN(action, text("action", true));
    if (action == "write" || action == "append") {
      t.action = action == "write" ? TodoAction::kWrite : TodoAction::kAppend;
      AGENTCORE_ASSIGN_OR_RETURN(t.path, text("path", true));
      AGENTCORE_ASSIGN_OR_RETURN(t.text, text("text", false));
    } else if (action == "delete") {
      t.action = TodoAction::kDelete;
      AGENTCORE_ASSIGN_OR_RETURN(t.path, text("path", true));
    } else if (action == "run") {
      t.action = TodoAction::kRun;
      AGENTCORE_ASSIGN_OR_RETURN(t.command, text("command", true));
    } else if (action == "sleep") {
      t.action = TodoAction::kSleep;
      AGENTCORE_ASSIGN_OR_RETURN(t.ms, number("ms", static_cast<double>(kMaxSleepMs)));
    } else if (action == "fail") {
      t.action = TodoAction::kFail;
      AGENTCORE_ASSIGN_OR_RETURN(t.attempt, number("attempt", 1'000'000));
    } else if (action == "crash") {
      t.action = TodoAction::kCrash;
    } else if (action == "note") {
      t.action = TodoAction::kNote;
      AGENTCORE_ASSIGN_OR_RETURN(t.text, text("text", false));
    } else {
      return InvalidArgument(where + ": unknown action \"" + Shorten(action) + "\"");
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace builder
