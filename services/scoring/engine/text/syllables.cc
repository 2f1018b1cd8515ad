#include "services/scoring/engine/text/syllables.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace rapport::scoring::engine::text {
namespace {

constexpr uint8_t kLetter = 1;
constexpr uint8_t kVowel = 2;  // a e i o u y (y is a consonant word-initially)
constexpr uint8_t kLead =
    4;  // a non-ASCII lead byte: a letter, read as a vowel

constexpr std::array<uint8_t, 256> MakeTable() {
  std::array<uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = kLetter;
  for (char c : {'a', 'e', 'i', 'o', 'u', 'y'}) {
    t[static_cast<unsigned char>(c)] = kLetter | kVowel;
  }
  for (int b = 0xC0; b < 0x100; ++b) t[static_cast<size_t>(b)] = kLead;
  return t;
}
constexpr std::array<uint8_t, 256> kTable = MakeTable();

bool IsVowel(char c) {
  return (kTable[static_cast<unsigned char>(c)] & kVowel) != 0;
}
bool IsAsciiLetter(char c) {
  return (kTable[static_cast<unsigned char>(c)] & kLetter) != 0;
}

// What a byte does to the vowel-group count.
enum Kind : uint8_t {
  kBreak = 0,  // an ASCII non-letter: ends a vowel group
  kKeep = 1,   // a continuation byte: part of the letter before it
  kConsonant = 2,
  kVowelish = 3,  // a e i o u y, or the lead byte of a non-ASCII letter
};

constexpr std::array<uint8_t, 256> MakeKinds() {
  std::array<uint8_t, 256> t{};
  for (int b = 0; b < 0x100; ++b) {
    const uint8_t cls = kTable[static_cast<size_t>(b)];
    uint8_t k = kBreak;
    if (b >= 0x80 && b < 0xC0) k = kKeep;
    if (cls & kLetter) k = kConsonant;
    if ((cls & kVowel) || (cls & kLead)) k = kVowelish;
    t[static_cast<size_t>(b)] = k;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kKinds = MakeKinds();

}  // namespace

int CountSyllables(absl::string_view w) {
  // Only the letters count; "don't" -> "dont", "e-mail" -> two parts.
  const auto* p = reinterpret_cast<const unsigned char*>(w.data());
  const size_t size = w.size();
  // "y" as the first letter is a consonant ("yes"): start after it.
  size_t i = 0;
  while (i < size && !(kTable[p[i]] & (kLetter | kLead))) ++i;
  if (i < size && p[i] == 'y') ++i;
  int groups = 0;
  bool in_vowel = false;
  for (; i < size; ++i) {
    const uint8_t k = kKinds[p[i]];
    const bool vowel = k == kVowelish;
    groups += (vowel && !in_vowel) ? 1 : 0;
    in_vowel = vowel || (k == kKeep && in_vowel);
  }
  if (groups <= 1) return 1;
  // Silent endings, for words of more than one group, decided on the last
  // four bytes: "make", "time"; "while", "male" (but "table" keeps its -le
  // syllable); "opened", "helped" (not "wanted", "needed"); "makes",
  // "times" (not "boxes", "places").
  const size_t n = w.size();
  const char c1 = w[n - 1];
  const char c2 = n >= 2 ? w[n - 2] : '\0';
  const char c3 = n >= 3 ? w[n - 3] : '\0';
  const char c4 = n >= 4 ? w[n - 4] : '\0';
  // The third byte from the end is an ASCII consonant.
  const bool consonant3 = IsAsciiLetter(c3) && !IsVowel(c3);
  bool silent = false;
  if (c1 == 'e') {
    silent = c2 == 'l' ? !consonant3 : !(c2 == 'e' || c2 == 'i' || c2 == 'y');
  } else if (c2 == 'e' && c1 == 'd') {
    silent = consonant3 && c3 != 't' && c3 != 'd';
  } else if (c2 == 'e' && c1 == 's') {
    silent = consonant3 && c3 != 's' && c3 != 'z' && c3 != 'g' && c3 != 'c' &&
             c3 != 'x' && !(c3 == 'h' && (c4 == 'c' || c4 == 's'));
  }
  if (silent) --groups;
  return std::max(groups, 1);
}

double FleschKincaidGrade(int words, int sentences, int syllables) {
  if (words <= 0) return 0;
  sentences = std::max(sentences, 1);
  const double grade = 0.39 * words / sentences +
                       11.8 * static_cast<double>(syllables) / words - 15.59;
  return std::clamp(grade, 0.0, 18.0);
}

}  // namespace rapport::scoring::engine::text
