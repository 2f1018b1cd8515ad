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

}  // namespace

int CountSyllables(absl::string_view w) {
  // Only the letters count; "don't" -> "dont", "e-mail" -> two parts.
  int groups = 0;
  bool in_vowel = false;
  size_t letters = 0;
  for (const char ch : w) {
    const uint8_t cls = kTable[static_cast<unsigned char>(ch)];
    if (cls & kLead) {  // non-ASCII letter: a vowel of its own
      groups += in_vowel ? 0 : 1;
      in_vowel = true;
      ++letters;
      continue;
    }
    if (!(cls & kLetter)) {
      // Continuation bytes of a non-ASCII letter keep the group open.
      if (static_cast<unsigned char>(ch) < 0x80) in_vowel = false;
      continue;
    }
    ++letters;
    // "y" at the start of a word is a consonant ("yes").
    const bool vowel = (cls & kVowel) && !(ch == 'y' && letters == 1);
    groups += (vowel && !in_vowel) ? 1 : 0;
    in_vowel = vowel;
  }
  if (groups <= 1) return 1;
  // Silent endings, for words of more than one group.
  const size_t n = w.size();
  auto ends_with = [&](absl::string_view suffix) {
    return n >= suffix.size() && w.substr(n - suffix.size()) == suffix;
  };
  auto consonant_at = [&](size_t from_end) {
    if (n < from_end) return false;
    const char c = w[n - from_end];
    return IsAsciiLetter(c) && !IsVowel(c);
  };
  // "make", "time"; "while", "male" (but "table" keeps its -le syllable);
  // "opened", "helped" (not "wanted", "needed"); "makes", "times" (not
  // "boxes", "places").
  const bool silent_e = ends_with("e") && !ends_with("le") &&
                        !ends_with("ee") && !ends_with("ie") &&
                        !ends_with("ye");
  const bool silent_le = ends_with("le") && !consonant_at(3);
  const bool silent_ed = ends_with("ed") && !ends_with("ted") &&
                         !ends_with("ded") && consonant_at(3);
  const bool silent_es =
      ends_with("es") && consonant_at(3) && !ends_with("ses") &&
      !ends_with("zes") && !ends_with("ches") && !ends_with("shes") &&
      !ends_with("ges") && !ends_with("ces") && !ends_with("xes");
  if (silent_e || silent_le || silent_ed || silent_es) --groups;
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
