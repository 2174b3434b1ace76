// The text normalisation's word-at-a-time fast path against a byte-by-byte reference, on random
// strings over an alphabet of the bytes it must treat specially (whitespace, controls, upper
// case, the letters' neighbours '@', '[', '`', '{', and non-ASCII bytes).
#include <random>
#include <string>
#include <string_view>

#include "check.hpp"
#include "features/text.hpp"

namespace {

using radarcore::TextBuffer;

std::string Reference(std::string_view s, bool lower) {
  s = radarcore::Trim(s);
  std::string out;
  bool pending_space = false;
  for (char c : s) {
    if (radarcore::IsSpace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += lower ? radarcore::ToLower(c) : c;
  }
  return out;
}

void MatchesReference() {
  static constexpr char kAlphabet[] = {'a', 'z', 'A', 'Z', '@', '[', '`', '{', '0', '.', ' ', '\t',
                                       '\n', '\r', '\v', '\f', '\x01', '\x1f', '!', '\x7f',
                                       '\x80', '\xc3', '\xff'};
  std::mt19937_64 rng(3);
  TextBuffer buffer;
  for (int round = 0; round < 200000; ++round) {
    std::string s(rng() % 41, 'a');
    // Mostly letters (so the fast path runs for long words), or words with single spaces
    // between them (names, addresses: copied a word at a time too), or any bytes.
    const uint64_t mode = rng() % 3;
    for (char& c : s) {
      if (mode == 0 && rng() % 8 != 0) {
        c = static_cast<char>('a' + rng() % 26);
      } else if (mode == 1 && rng() % 16 != 0) {
        c = rng() % 5 == 0 ? ' ' : static_cast<char>('a' + rng() % 26);
      } else {
        c = kAlphabet[rng() % sizeof kAlphabet];
      }
    }
    const bool lower = rng() % 2 == 0;
    buffer.clear();
    radarcore::AppendNormalised(&buffer, radarcore::Trim(s), lower);
    RC_CHECK(buffer.view() == Reference(s, lower));
  }
}

void AppendsAfterExistingText() {
  TextBuffer buffer;
  buffer.Append("12 Main St");
  buffer.Append(", ");
  radarcore::AppendNormalised(&buffer, "SPRINGFIELD  IL", true);
  RC_CHECK(buffer.view() == "12 Main St, springfield il");
  radarcore::NormaliseInto("  Jane.DOE@Example.COM ", &buffer);
  RC_CHECK(buffer.view() == "jane.doe@example.com");
  // A run of spaces right after a word copied whole, and one that starts a word.
  radarcore::NormaliseInto("abcdefg    h", &buffer);
  RC_CHECK(buffer.view() == "abcdefg h");
  radarcore::NormaliseInto("abcdefgh  ij kl", &buffer);
  RC_CHECK(buffer.view() == "abcdefgh ij kl");
}

}  // namespace

int main() {
  MatchesReference();
  AppendsAfterExistingText();
  return radarcore::test::Finish("test_text");
}
