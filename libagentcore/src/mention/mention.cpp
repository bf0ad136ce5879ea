// SPDX-License-Identifier: Apache-2.0
#include <agentcore/mention/mention.hpp>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace agentcore {
namespace {

// kNameByte[b] is the lower-cased byte if b is in [A-Za-z0-9_-], else 0 (spec cast §3.1: the
// class is ASCII only). One table gives both the class test and the lower-casing.
constexpr std::array<char, 256> MakeNameTable() {
  std::array<char, 256> table{};
  for (int c = 'a'; c <= 'z'; ++c) table[c] = static_cast<char>(c);
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = static_cast<char>(c - 'A' + 'a');
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<char>(c);
  table['_'] = '_';
  table['-'] = '-';
  return table;
}
constexpr std::array<char, 256> kNameByte = MakeNameTable();

inline char NameByte(char c) { return kNameByte[static_cast<unsigned char>(c)]; }

// Returns the first '@' in [p, end), or end. REQUIRES: p < end. `begin` is the start of the whole
// content: bytes in [begin, p) may be read again (never beyond end), which lets the last partial
// block be one overlapping 16-byte load instead of a byte loop.
//
// This is memchr, inlined: most messages are a few hundred bytes with zero or one '@', where
// the call and the set-up of glibc's memchr cost more than the search itself (measured on the
// benchmark corpus: the routing pass took about 15% longer with memchr). Without SSE2 we
// fall back to memchr.
inline const char* FindAt(const char* begin, const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i at = _mm_set1_epi8('@');
  const auto load = [](const char* q) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  };
  // REQUIRES: p < end, so 1 to 16 bytes are left after the loop. One simple loop is faster
  // than an unrolled one here: the cost is the mispredicted exit, not the loads.
  while (end - p > 16) {
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(load(p), at)));
    if (mask != 0) return p + std::countr_zero(mask);
    p += 16;
  }
  if (end - begin >= 16) {
    const char* const last = end - 16;
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(load(last), at)));
    mask &= ~0u << (p - last);  // drop the bytes before p; 0 <= p - last < 16
    return mask != 0 ? last + std::countr_zero(mask) : end;
  }
  while (p < end && *p != '@') ++p;
  return p;
#else
  (void)begin;
  const void* found = std::memchr(p, '@', static_cast<std::size_t>(end - p));
  return found != nullptr ? static_cast<const char*>(found) : end;
#endif
}

#if defined(__SSE2__)
// Classifies the 16 bytes at p: writes them lower-cased to out[0, 16) and returns how many of
// them, from the first, are name bytes (16 if all are). Branch-free, unlike a byte loop whose
// exit is mispredicted once per name. REQUIRES: p[0, 16) readable, out[0, 16) writable.
inline std::size_t NameRun16(const char* p, char* out) {
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // x in [lo, hi], as signed bytes: bytes >= 0x80 are negative and never in a range here.
  const auto in_range = [](__m128i x, char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmpgt_epi8(_mm_set1_epi8(static_cast<char>(hi + 1)), x));
  };
  // Setting bit 5 maps 'A'..'Z' onto 'a'..'z' and nothing else onto them.
  const __m128i bit5 = _mm_set1_epi8(0x20);
  const __m128i letter = in_range(_mm_or_si128(c, bit5), 'a', 'z');
  const __m128i name = _mm_or_si128(
      _mm_or_si128(letter, in_range(c, '0', '9')),
      _mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('_')), _mm_cmpeq_epi8(c, _mm_set1_epi8('-'))));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_or_si128(c, _mm_and_si128(letter, bit5)));
  const unsigned others = ~static_cast<unsigned>(_mm_movemask_epi8(name)) & 0xFFFFu;
  return others == 0 ? 16 : static_cast<std::size_t>(std::countr_zero(others));
}
#endif

// Copies the name that starts at p (the byte after an '@'), lower-cased, to out and returns
// its length, possibly 0. REQUIRES: out has room for end - p bytes.
inline std::size_t CopyName(const char* const p, const char* const end, char* const out) {
  std::size_t n = 0;
#if defined(__SSE2__)
  while (end - (p + n) >= 16) {
    const std::size_t run = NameRun16(p + n, out + n);
    n += run;
    if (run < 16) return n;
  }
#endif
  while (p + n < end) {
    const char lowered = NameByte(p[n]);
    if (lowered == 0) break;
    out[n++] = lowered;
  }
  return n;
}

// Up to this many mentions a linear search for duplicates beats hashing; beyond it (10k
// distinct mentions in one message is legal input) the search would be quadratic.
constexpr std::size_t kLinearDedupLimit = 16;

// FNV-1a; names are short and the index is only used for unusual messages.
std::size_t HashName(std::string_view name) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return static_cast<std::size_t>(h ^ (h >> 29));
}

// Length of the JavaScript `\s` character starting at s[i], or 0 if there is none. The set is
// ECMAScript's WhiteSpace plus LineTerminator: TAB, LF, VT, FF, CR, SPACE, U+00A0, U+1680,
// U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 and U+FEFF, here in UTF-8.
std::size_t WhitespaceLength(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = byte(0);
  if (c < 0x80) return (c == ' ' || (c >= '\t' && c <= '\r')) ? 1 : 0;
  const std::size_t left = s.size() - i;
  if (c == 0xC2) return (left >= 2 && byte(1) == 0xA0) ? 2 : 0;
  if (left < 3) return 0;
  const unsigned char c1 = byte(1);
  const unsigned char c2 = byte(2);
  switch (c) {
    case 0xE1:
      return (c1 == 0x9A && c2 == 0x80) ? 3 : 0;
    case 0xE2:
      if (c1 == 0x80) {
        return (c2 <= 0x8A && c2 >= 0x80) || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF ? 3 : 0;
      }
      return (c1 == 0x81 && c2 == 0x9F) ? 3 : 0;
    case 0xE3:
      return (c1 == 0x80 && c2 == 0x80) ? 3 : 0;
    case 0xEF:
      return (c1 == 0xBB && c2 == 0xBF) ? 3 : 0;
    default:
      return 0;
  }
}

}  // namespace

MentionScanner::MentionScanner() = default;
MentionScanner::~MentionScanner() = default;
MentionScanner::MentionScanner(MentionScanner&&) noexcept = default;
MentionScanner& MentionScanner::operator=(MentionScanner&&) noexcept = default;

MentionsView MentionScanner::Scan(std::string_view content) {
  // Many messages have no '@' at all. Finding that out needs few registers, so it is kept
  // apart from the name loop, whose set-up would otherwise be paid by every message.
  const char* const begin = content.data();
  const char* const end = begin + content.size();
  const char* const at = begin < end ? FindAt(begin, begin, end) : end;
  if (at == end) {
    views_.clear();
    return MentionsView{};
  }
  return ScanFrom(content, at);
}

MentionsView MentionScanner::ScanFrom(std::string_view content, const char* first_at) {
  views_.clear();
  index_active_ = false;
  bool is_channel_mention = false;
  // Names are written to names_ behind the read position: each name follows its own '@', so
  // out - names_.data() < at - begin always, and the room CopyName needs (the rest of the
  // content) is there. Hence the buffer never moves during a scan and the views stay valid.
  if (names_.size() < content.size()) names_.resize(content.size());
  char* out = names_.data();

  // spec cast §3.1: the regex /@([a-zA-Z0-9_-]+)/g. A match needs '@' plus at least one name
  // byte; scanning resumes after the name, or after a bare '@' (so "@@fox" yields "fox").
  const char* const begin = content.data();
  const char* const end = begin + content.size();
  const char* at = first_at;
  while (true) {
    const std::size_t size = CopyName(at + 1, end, out);
    const char* const p = at + 1 + size;
    if (size != 0) {
      const std::string_view name(out, size);
      if (name == "channel") {
        is_channel_mention = true;
      } else if (views_.empty()) {
        // The first name cannot be a duplicate, and it is most messages' only name.
        views_.push_back(name);
        out += size;
      } else if (Accept(name)) {
        out += size;  // a duplicate's bytes are simply overwritten by the next name
      }
    }
    if (p == end) break;
    at = FindAt(begin, p, end);
    if (at == end) break;
  }
  return MentionsView{views_, is_channel_mention};
}

bool MentionScanner::Accept(std::string_view name) {
  if (!index_active_) {
    for (std::string_view seen : views_) {
      if (seen == name) return false;
    }
    views_.push_back(name);
    if (views_.size() > kLinearDedupLimit) RebuildIndex(kLinearDedupLimit * 8);
    return true;
  }
  const std::size_t mask = index_.size() - 1;
  for (std::size_t slot = HashName(name) & mask;; slot = (slot + 1) & mask) {
    const std::size_t entry = index_[slot];
    if (entry == 0) {
      views_.push_back(name);
      index_[slot] = views_.size();
      break;
    }
    if (views_[entry - 1] == name) return false;
  }
  // Keep the load factor at or below one half so probes stay short.
  if (views_.size() * 2 > index_.size()) RebuildIndex(index_.size() * 2);
  return true;
}

void MentionScanner::RebuildIndex(std::size_t slot_count) {
  // REQUIRES: slot_count is a power of two larger than twice views_.size().
  index_.assign(slot_count, 0);
  const std::size_t mask = slot_count - 1;
  for (std::size_t i = 0; i < views_.size(); ++i) {
    std::size_t slot = HashName(views_[i]) & mask;
    while (index_[slot] != 0) slot = (slot + 1) & mask;
    index_[slot] = i + 1;
  }
  index_active_ = true;
}

ParsedMentions ParseMentions(std::string_view content) {
  MentionScanner scanner;
  const MentionsView view = scanner.Scan(content);
  ParsedMentions parsed;
  parsed.mentions.assign(view.mentions.begin(), view.mentions.end());
  parsed.is_channel_mention = view.is_channel_mention;
  return parsed;
}

std::string StripMentions(std::string_view content) {
  // One pass doing what Cast does in three: remove the mentions, collapse whitespace runs,
  // trim. Removing a mention never creates or splits whitespace (names are ASCII, whitespace
  // is not in the name class), so deciding per byte is equivalent; a run of whitespace is
  // written as one space only when something non-blank follows it and precedes it.
  std::string out;
  out.reserve(content.size());
  bool pending_space = false;
  std::size_t i = 0;
  while (i < content.size()) {
    if (content[i] == '@' && i + 1 < content.size() && NameByte(content[i + 1]) != 0) {
      i += 2;
      while (i < content.size() && NameByte(content[i]) != 0) ++i;
      continue;
    }
    if (const std::size_t ws = WhitespaceLength(content, i); ws != 0) {
      pending_space = true;
      i += ws;
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.push_back(content[i]);
    ++i;
  }
  return out;
}

bool IsMentionableCallsign(std::string_view callsign) {
  // "channel" is the broadcast keyword, never a name (spec cast §3.1).
  if (callsign.empty() || callsign == "channel") return false;
  for (char c : callsign) {
    // NameByte is 0 outside the class and differs from c for upper-case letters.
    if (NameByte(c) == 0 || NameByte(c) != c) return false;
  }
  return true;
}

}  // namespace agentcore
