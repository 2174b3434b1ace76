// Stable 64-bit string hashing and the ASCII normalisations shared by the packer and the
// extractor. Hashes are part of the snapshot format: they must not change between versions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

namespace radarcore {

// splitmix64's finaliser: a bijection with good avalanche, used to mix words and keys.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Little-endian load, so the hash is the same on every platform: one unaligned load (and a
// byte swap on big-endian machines) instead of eight byte loads.
inline uint64_t LoadLe64(const unsigned char* p) {
  uint64_t w = 0;
  std::memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

// Hash of a byte string; never 0, which is reserved for "missing".
inline uint64_t HashBytes(std::string_view s, uint64_t seed = 0) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  uint64_t h = Mix64(seed ^ (static_cast<uint64_t>(n) * 0x9e3779b97f4a7c15ULL));
  size_t i = 0;
  for (; i + 8 <= n; i += 8) h = Mix64(h ^ LoadLe64(p + i)) * 0x9e3779b97f4a7c15ULL;
  uint64_t tail = 0;
  if (n >= 8 && n > i) {
    // The last (n - i) bytes are the high bytes of the word that ends the string.
    tail = LoadLe64(p + n - 8) >> (8 * (8 - (n - i)));
  } else {
    for (size_t k = n; k > i; --k) tail = (tail << 8) | p[k - 1];
  }
  h = Mix64(h ^ tail ^ (static_cast<uint64_t>(n - i) << 56));
  return h == 0 ? 1 : h;
}

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

inline char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
inline char ToUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// A reusable buffer for normalised text. Unlike std::string::resize, making room does not zero
// the new bytes (they are written right after); that zeroing was a tenth of packing an event.
class TextBuffer {
 public:
  void clear() { size_ = 0; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_.get(), size_}; }
  // Space for n more bytes after the current end; finish with SetEnd.
  char* Reserve(size_t n) {
    if (size_ + n > capacity_) {
      const size_t capacity = std::max(2 * capacity_, size_ + n);
      std::unique_ptr<char[]> grown(new char[capacity]);
      if (size_ != 0) std::memcpy(grown.get(), data_.get(), size_);
      data_ = std::move(grown);
      capacity_ = capacity;
    }
    return data_.get() + size_;
  }
  void SetEnd(const char* end) { size_ = static_cast<size_t>(end - data_.get()); }
  void Append(std::string_view s) {
    char* w = Reserve(s.size());
    for (char c : s) *w++ = c;  // short strings (separators): a call to memcpy costs more
    SetEnd(w);
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Appends `s` (already trimmed) with inner runs of whitespace collapsed to one space, lower-cased
// when `lower`. Writes through a pointer into space sized for the worst case, so the loop does
// no capacity checks.
// True when no byte of the word is below 0x21 (space, tabs, line breaks, other controls) and,
// when `lower`, none is an upper-case ASCII letter; may be false for such words too (a caller
// then takes the byte-by-byte path, which is always right). Bit tricks from "Bit Twiddling
// Hacks" (hasless, hasbetween), exact in that direction for bounds up to 128.
inline bool PlainWord(uint64_t x, bool lower) {
  constexpr uint64_t kOnes = ~uint64_t{0} / 255;
  constexpr uint64_t kHigh = kOnes * 128;
  const uint64_t below_space = (x - kOnes * 0x21) & ~x & kHigh;
  const uint64_t low7 = x & (kOnes * 127);
  const uint64_t upper = (kOnes * (127 + 'Z' + 1) - low7) & ~x & (low7 + kOnes * (127 - ('A' - 1))) & kHigh;
  return (below_space | (lower ? upper : 0)) == 0;
}

inline void AppendNormalised(TextBuffer* out, std::string_view s, bool lower) {
  char* w = out->Reserve(s.size());
  // Most values need no change (already trimmed, lower case, single spaces): copy them eight
  // bytes at a time while the words are plain.
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, s.data() + i, sizeof word);
    if (!PlainWord(word, lower)) break;
    std::memcpy(w, &word, sizeof word);
    w += 8;
  }
  bool pending_space = false;
  for (char c : s.substr(i)) {
    if (IsSpace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) *w++ = ' ';
    pending_space = false;
    *w++ = lower ? ToLower(c) : c;
  }
  out->SetEnd(w);
}

// Trimmed, ASCII-lower-cased, inner runs of whitespace collapsed to one space (non-ASCII bytes
// are kept as they are). Writes into *out, which callers reuse to avoid allocations.
inline void NormaliseInto(std::string_view s, TextBuffer* out) {
  out->clear();
  AppendNormalised(out, Trim(s), true);
}

}  // namespace radarcore
