// SPDX-License-Identifier: Apache-2.0
#include <agentcore/ulid.hpp>

#include <array>
#include <random>

#include <fmt/format.h>

namespace agentcore {

namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

constexpr std::array<std::int8_t, 256> MakeDecodeTable() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 32; ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    const char c = kAlphabet[i];
    if (c >= 'A' && c <= 'Z') t[static_cast<unsigned char>(c - 'A' + 'a')] = static_cast<std::int8_t>(i);
  }
  return t;
}
constexpr std::array<std::int8_t, 256> kDecode = MakeDecodeTable();

std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

UlidGenerator::UlidGenerator(Clock* clock) : clock_(clock ? clock : SystemClock()) {
  std::random_device rd;
  rng_state_ = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

std::string UlidGenerator::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  const UnixMillis now = clock_->NowMillis();
  if (now > last_ms_) {
    last_ms_ = now;
    hi_ = SplitMix64(rng_state_) & 0xFFFF;
    lo_ = SplitMix64(rng_state_);
  } else if (++lo_ == 0 && ++hi_ > 0xFFFF) {
    // 2^80 ids in one millisecond cannot happen; move to the next millisecond all the same.
    ++last_ms_;
    hi_ = 0;
  }
  return EncodeUlid(last_ms_, static_cast<std::uint16_t>(hi_), lo_);
}

std::string NewUlid() {
  static UlidGenerator generator;
  return generator.Next();
}

std::string EncodeUlid(UnixMillis ms, std::uint16_t random_hi, std::uint64_t random_lo) {
  std::string out(kUlidLength, '0');
  auto t = static_cast<std::uint64_t>(ms) & ((std::uint64_t{1} << 48) - 1);
  for (int i = 9; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kAlphabet[t & 31];
    t >>= 5;
  }
  // 80 random bits = 16 characters of 5 bits, taken from the low end: 12 characters use 60
  // low bits, the 13th straddles (4 low bits + 1 high bit), the last 3 use the high 15 bits.
  std::uint64_t lo = random_lo;
  std::uint64_t hi = random_hi;
  for (int i = 25; i >= 10; --i) {
    out[static_cast<std::size_t>(i)] = kAlphabet[lo & 31];
    lo = (lo >> 5) | ((hi & 31) << 59);
    hi >>= 5;
  }
  return out;
}

bool IsUlid(std::string_view s) {
  if (s.size() != kUlidLength || s[0] > '7') return false;
  for (char c : s) {
    if (kDecode[static_cast<unsigned char>(c)] < 0 || (c >= 'a' && c <= 'z')) return false;
  }
  return true;
}

Result<UnixMillis> UlidTime(std::string_view s) {
  if (s.size() != kUlidLength) {
    return InvalidArgument(fmt::format("\"{}\" is not a ULID: length {} is not 26", s, s.size()));
  }
  std::uint64_t t = 0;
  for (std::size_t i = 0; i < kUlidLength; ++i) {
    if (kDecode[static_cast<unsigned char>(s[i])] < 0) {
      return InvalidArgument(fmt::format("\"{}\" is not a ULID: bad character at {}", s, i));
    }
    if (i < 10) t = (t << 5) | static_cast<std::uint64_t>(kDecode[static_cast<unsigned char>(s[i])]);
  }
  if (t >> 48 != 0) return InvalidArgument(fmt::format("\"{}\" is not a ULID: time overflows", s));
  return static_cast<UnixMillis>(t);
}

}  // namespace agentcore
