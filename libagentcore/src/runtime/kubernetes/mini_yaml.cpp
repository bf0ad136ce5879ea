// SPDX-License-Identifier: Apache-2.0
#include "runtime/kubernetes/mini_yaml.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace agentcore::internal {
namespace {

struct Line {
  int indent = 0;
  std::string text;  // without indentation, comment and trailing blanks
  int number = 0;    // 1-based, for messages
};

Status LineError(int number, std::string_view what) {
  return InvalidArgument(fmt::format("yaml line {}: {}", number, what));
}

// Cuts a comment: '#' at the start or after a blank, outside quotes.
std::string_view StripComment(std::string_view s) {
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote != 0) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if ((c == '"' || c == '\'') &&
        (i == 0 || s[i - 1] == ' ' || s[i - 1] == ':' || s[i - 1] == '-')) {
      quote = c;
    } else if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
      return s.substr(0, i);
    }
  }
  return s;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return TrimRight(s);
}

void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A quoted scalar starting at s[0]; sets *used to the bytes consumed.
Result<std::string> ParseQuoted(std::string_view s, int number, std::size_t* used) {
  const char q = s[0];
  std::string out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (q == '\'') {
      if (c == '\'') {
        if (i + 1 < s.size() && s[i + 1] == '\'') {
          out.push_back('\'');
          ++i;
          continue;
        }
        *used = i + 1;
        return out;
      }
      out.push_back(c);
      continue;
    }
    if (c == '"') {
      *used = i + 1;
      return out;
    }
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= s.size()) break;
    switch (s[i]) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '/':
        out.push_back('/');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case '0':
        out.push_back('\0');
        break;
      case 'u': {
        if (i + 4 >= s.size()) return LineError(number, "bad \\u escape");
        std::uint32_t cp = 0;
        for (std::size_t k = 1; k <= 4; ++k) {
          const char h = s[i + k];
          cp <<= 4;
          if (h >= '0' && h <= '9') {
            cp |= static_cast<std::uint32_t>(h - '0');
          } else if (h >= 'a' && h <= 'f') {
            cp |= static_cast<std::uint32_t>(h - 'a' + 10);
          } else if (h >= 'A' && h <= 'F') {
            cp |= static_cast<std::uint32_t>(h - 'A' + 10);
          } else {
            return LineError(number, "bad \\u escape");
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) return LineError(number, "surrogate \\u escape");
        AppendUtf8(cp, &out);
        i += 4;
        break;
      }
      default:
        return LineError(number, fmt::format("unsupported escape \\{}", s[i]));
    }
  }
  return LineError(number, "unterminated quoted string");
}

// A whole scalar value (what follows "key: " or "- ").
Result<Json> ParseScalar(std::string_view s, int number) {
  s = Trim(s);
  if (s.empty()) return Json(nullptr);
  if (s[0] == '"' || s[0] == '\'') {
    std::size_t used = 0;
    AGENTCORE_ASSIGN_OR_RETURN(std::string value, ParseQuoted(s, number, &used));
    if (!Trim(s.substr(used)).empty()) {
      return LineError(number, "text after a quoted string");
    }
    return Json(std::move(value));
  }
  switch (s[0]) {
    case '&':
    case '*':
      return LineError(number, "anchors and aliases are not supported");
    case '!':
      return LineError(number, "tags are not supported");
    case '|':
    case '>':
      return LineError(number, "block scalars are not supported");
    case '[':
      if (Trim(s.substr(1)) == "]") return Json::Array();
      return LineError(number, "flow sequences are not supported");
    case '{':
      if (Trim(s.substr(1)) == "}") return Json::Object();
      return LineError(number, "flow mappings are not supported");
    case '%':
    case '@':
    case '`':
      return LineError(number, fmt::format("a plain scalar cannot start with '{}'", s[0]));
    default:
      break;
  }
  if (s == "true" || s == "True" || s == "TRUE") return Json(true);
  if (s == "false" || s == "False" || s == "FALSE") return Json(false);
  if (s == "null" || s == "Null" || s == "NULL" || s == "~") return Json(nullptr);
  return Json(std::string(s));
}

bool IsSeqItem(std::string_view text) { return text == "-" || text.starts_with("- "); }

// Finds the ':' that ends a mapping key: followed by a blank or the end, outside quotes.
// npos when the line is not a mapping entry.
std::size_t KeyColon(std::string_view text) {
  std::size_t i = 0;
  if (!text.empty() && (text[0] == '"' || text[0] == '\'')) {
    const char q = text[0];
    for (i = 1; i < text.size(); ++i) {
      if (text[i] == '\\' && q == '"') {
        ++i;
      } else if (text[i] == q) {
        if (q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i;
          continue;
        }
        break;
      }
    }
    ++i;
  }
  for (; i < text.size(); ++i) {
    if (text[i] == ':' && (i + 1 == text.size() || text[i + 1] == ' ')) return i;
  }
  return std::string_view::npos;
}

class Parser {
 public:
  explicit Parser(std::vector<Line> lines) : lines_(std::move(lines)) {}

  Result<Json> Document() {
    if (lines_.empty()) return Json(nullptr);
    AGENTCORE_ASSIGN_OR_RETURN(Json root, Block(0));
    if (pos_ < lines_.size()) return LineError(lines_[pos_].number, "unexpected indentation");
    return root;
  }

 private:
  Result<Json> Block(int min_indent) {
    if (++depth_ > 64) {
      // pos_ may be past the last line: an item with nothing after it can end the file.
      return LineError(lines_[std::min(pos_, lines_.size() - 1)].number, "nested too deeply");
    }
    Result<Json> out = BlockInner(min_indent);
    --depth_;
    return out;
  }

  Result<Json> BlockInner(int min_indent) {
    if (pos_ >= lines_.size() || lines_[pos_].indent < min_indent) return Json(nullptr);
    const Line& line = lines_[pos_];
    if (IsSeqItem(line.text)) return Sequence(line.indent);
    if (KeyColon(line.text) != std::string_view::npos) return Mapping(line.indent);
    const int number = line.number;
    ++pos_;
    AGENTCORE_ASSIGN_OR_RETURN(Json value, ParseScalar(line.text, number));
    if (pos_ < lines_.size() && lines_[pos_].indent >= min_indent) {
      return LineError(lines_[pos_].number, "multi-line scalars are not supported");
    }
    return value;
  }

  Result<Json> Sequence(int indent) {
    JsonArray items;
    while (pos_ < lines_.size() && lines_[pos_].indent == indent && IsSeqItem(lines_[pos_].text)) {
      Line& line = lines_[pos_];
      std::string_view rest = std::string_view(line.text).substr(1);
      const std::size_t blanks = rest.find_first_not_of(' ');
      if (blanks == std::string_view::npos) {
        ++pos_;
        AGENTCORE_ASSIGN_OR_RETURN(Json item, Block(indent + 1));
        items.push_back(std::move(item));
        continue;
      }
      // "- key: v" opens a mapping whose later keys sit under "key": read the item as if its
      // text started at that column.
      line.indent = indent + 1 + static_cast<int>(blanks);
      line.text = std::string(rest.substr(blanks));
      AGENTCORE_ASSIGN_OR_RETURN(Json item, Block(line.indent));
      items.push_back(std::move(item));
    }
    return Json(std::move(items));
  }

  Result<Json> Mapping(int indent) {
    Json map = Json::Object();
    while (pos_ < lines_.size() && lines_[pos_].indent == indent && !IsSeqItem(lines_[pos_].text)) {
      const Line& line = lines_[pos_];
      const int number = line.number;
      const std::string_view text = line.text;
      const std::size_t colon = KeyColon(text);
      if (colon == std::string_view::npos) return LineError(number, "expected \"key: value\"");
      AGENTCORE_ASSIGN_OR_RETURN(Json key_json, ParseScalar(text.substr(0, colon), number));
      std::string key;
      if (key_json.is_string()) {
        key = key_json.as_string();
      } else if (key_json.is_bool()) {
        key = Trim(text.substr(0, colon));
      } else {
        return LineError(number, "bad mapping key");
      }
      if (map.Find(key) != nullptr) {
        return LineError(number, fmt::format("duplicate key \"{}\"", key));
      }
      const std::string_view value_text = Trim(text.substr(colon + 1));
      ++pos_;
      Json value;
      if (!value_text.empty()) {
        AGENTCORE_ASSIGN_OR_RETURN(value, ParseScalar(value_text, number));
        if (pos_ < lines_.size() && lines_[pos_].indent > indent) {
          return LineError(lines_[pos_].number, "unexpected indentation");
        }
      } else if (pos_ < lines_.size() && lines_[pos_].indent > indent) {
        AGENTCORE_ASSIGN_OR_RETURN(value, Block(indent + 1));
      } else if (pos_ < lines_.size() && lines_[pos_].indent == indent &&
                 IsSeqItem(lines_[pos_].text)) {
        AGENTCORE_ASSIGN_OR_RETURN(value, Sequence(indent));
      }
      map.Set(key, std::move(value));
    }
    return map;
  }

  std::vector<Line> lines_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<Json> ParseMiniYaml(std::string_view text) {
  std::vector<Line> lines;
  int number = 0;
  bool seen_content = false;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++number;
    if (raw.find('\0') != std::string_view::npos) return LineError(number, "NUL byte");
    std::size_t indent = 0;
    while (indent < raw.size() && raw[indent] == ' ') ++indent;
    std::string_view body = TrimRight(StripComment(raw.substr(indent)));
    if (body.empty()) continue;
    if (body[0] == '\t') return LineError(number, "tabs in indentation are not supported");
    if (indent == 0 && (body == "---" || body.starts_with("--- "))) {
      if (seen_content) return LineError(number, "more than one document");
      continue;
    }
    if (indent == 0 && (body == "..." || body[0] == '%')) {
      return LineError(number, "directives and document ends are not supported");
    }
    if (indent > 1000) return LineError(number, "indented too deeply");
    seen_content = true;
    lines.push_back(Line{static_cast<int>(indent), std::string(body), number});
  }
  return Parser(std::move(lines)).Document();
}

}  // namespace agentcore::internal
