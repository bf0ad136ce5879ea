// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @mentions are how a chat message names its recipients (spec cast §3.1). A mention is an `@`
/// followed by one or more ASCII characters from `[A-Za-z0-9_-]`; the name ends at the first
/// byte outside that class (punctuation, space, another `@`, any non-ASCII byte, NUL). There is
/// no word boundary: the scan finds every such match left to right, exactly like Cast's regular
/// expression `/@([a-zA-Z0-9_-]+)/g`. Each name is lower-cased (ASCII), the name `channel` turns
/// the message into a channel broadcast instead of being listed, and the remaining names are
/// de-duplicated in first-seen order.
///
/// Consequences kept on purpose, because Cast's clients see them (spec cast §8 item 5):
///   * e-mail addresses mention their domain label: `bob@fox.com` mentions `fox`;
///   * `x@channel`, `@Channel` and `@CHANNEL` are channel broadcasts; `@channels` is a name;
///   * `@@fox` mentions `fox`, `@fox@bear` mentions `fox` and `bear`;
///   * a lone `@`, `@ fox` and `@ünïcode` mention nothing, `@café` mentions `caf`;
///   * mentions inside Markdown code spans and code blocks count (`@Override` is `override`).
///
/// Two ways to call it:
///   * `ParseMentions()` returns owned strings. Use it anywhere speed does not matter.
///   * `MentionScanner` is for hot paths (routing millions of messages): it keeps its buffers
///     between calls, so after the first few messages a scan performs no heap allocation, and
///     it returns views into those buffers that stay valid until the next `Scan()`.
/// Both run the same code and always agree.
///
/// Input is any byte string. It need not be valid UTF-8 and may contain NUL bytes; bytes at
/// or above 0x80 simply never belong to a name, which is what the JavaScript regex does with
/// the UTF-16 units such bytes decode to.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/export.hpp>

namespace agentcore {

/// The result of `ParseMentions()`: owned, independent of the content it came from.
struct ParsedMentions {
  /// Distinct lower-cased names in first-seen order. Each is non-empty, consists of
  /// `[a-z0-9_-]` only, and is never `channel`.
  std::vector<std::string> mentions;
  /// True when the content contains `@channel` in any letter case (Cast's isChannelMention).
  bool is_channel_mention = false;

  friend bool operator==(const ParsedMentions&, const ParsedMentions&) = default;
};

/// The result of `MentionScanner::Scan()`: the same facts as `ParsedMentions`, as views into
/// the scanner's buffers. Cheap to copy; every view, and the span itself, stays valid until the
/// next `Scan()` on the same scanner or its destruction.
struct MentionsView {
  /// Distinct lower-cased names in first-seen order (same rules as ParsedMentions::mentions).
  std::span<const std::string_view> mentions;
  /// True when the content contains `@channel` in any letter case.
  bool is_channel_mention = false;
};

/// Returns the mentions of `content` per spec cast §3.1 (see the file comment). Never fails;
/// content without mentions yields an empty list and `is_channel_mention == false`.
AGENTCORE_EXPORT ParsedMentions ParseMentions(std::string_view content);

/// Returns `content` with every `@[A-Za-z0-9_-]+` removed, every run of whitespace collapsed to
/// one space, and leading and trailing whitespace removed (Cast's stripMentions). Removal
/// happens first, so `a @fox b` becomes `a b` and `mail me@fox.com` becomes `mail me.com`.
///
/// "Whitespace" is JavaScript's `\s`, so the result matches Cast's byte for byte on valid
/// UTF-8: the ASCII bytes tab, line feed, vertical tab, form feed, carriage return and space,
/// plus the UTF-8 encodings of U+00A0, U+1680, U+2000 to U+200A, U+2028, U+2029, U+202F,
/// U+205F, U+3000 and U+FEFF. Every other byte, including invalid UTF-8 and NUL, is copied
/// through unchanged (JavaScript would have replaced invalid UTF-8 with U+FFFD before
/// stripping; we do not touch bytes we cannot interpret). Never fails.
AGENTCORE_EXPORT std::string StripMentions(std::string_view content);

/// True when `callsign` can ever be the target of a mention: non-empty, made only of
/// `[a-z0-9_-]`, and not `channel` (which is the broadcast keyword). Routing compares names
/// exactly (spec cast §3.2), so a roster callsign such as `Fox` or `fox.bot` is never reached by
/// any mention, only by `@channel`; callers that create roster entries can use this to warn
/// about or reject such callsigns.
AGENTCORE_EXPORT bool IsMentionableCallsign(std::string_view callsign);

/// A reusable mention parser for hot paths. `Scan()` gives the same answer as
/// `ParseMentions()` but keeps its buffers between calls: once they have grown to fit the
/// largest message seen (its byte length for names, its mention count for the list), scanning
/// allocates nothing. The buffers are never shrunk; destroy the scanner to release them.
///
/// Thread-compatible (one thread at a time); use one scanner per thread. Owns its buffers;
/// keeps no reference to the content after `Scan()` returns.
class AGENTCORE_EXPORT MentionScanner {
 public:
  MentionScanner();
  ~MentionScanner();
  MentionScanner(const MentionScanner&) = delete;
  MentionScanner& operator=(const MentionScanner&) = delete;
  /// Moving a scanner keeps the views it returned valid; the moved-from scanner can be used
  /// again.
  MentionScanner(MentionScanner&&) noexcept;
  MentionScanner& operator=(MentionScanner&&) noexcept;

  /// Scans `content` per spec cast §3.1 and returns its mentions. Never fails. The returned
  /// views point into this scanner and stay valid until the next `Scan()` or the scanner's
  /// destruction; `content` may be freed as soon as this returns.
  MentionsView Scan(std::string_view content);

 private:
  // Scan() after the first '@', at first_at.
  MentionsView ScanFrom(std::string_view content, const char* first_at);
  // Accepts `name` (already in names_) unless an equal name was accepted before. Returns true
  // if it was accepted.
  bool Accept(std::string_view name);
  void RebuildIndex(std::size_t slot_count);

  // Storage for the lower-cased names, back to back. Its size only grows and is kept at least
  // the size of the content being scanned; names are written behind the read position, so it
  // never reallocates during a scan and the views below stay valid.
  std::vector<char> names_;
  // Views into names_, one per accepted mention.
  std::vector<std::string_view> views_;
  // Open-addressing hash index over views_ (slot holds index + 1; 0 is empty), used once a
  // message has more than a few mentions; below that a linear search is faster.
  std::vector<std::size_t> index_;
  bool index_active_ = false;
};

}  // namespace agentcore
