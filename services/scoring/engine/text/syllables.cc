#include "services/scoring/engine/text/syllables.h"

#include <algorithm>

namespace rapport::scoring::engine::text {
namespace {

bool IsVowel(char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

bool IsAsciiLetter(char c) { return c >= 'a' && c <= 'z'; }

}  // namespace

int CountSyllables(absl::string_view w) {
  // Only the letters count; "don't" -> "dont", "e-mail" -> two parts.
  int groups = 0;
  bool in_vowel = false;
  size_t letters = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const auto b = static_cast<unsigned char>(w[i]);
    if (b >= 0x80) {
      // Non-ASCII: a lead byte starts a letter; treat it as a vowel.
      if ((b & 0xC0) != 0x80) {
        if (!in_vowel) ++groups;
        in_vowel = true;
        ++letters;
      }
      continue;
    }
    const char c = w[i];
    if (!IsAsciiLetter(c)) {
      in_vowel = false;
      continue;
    }
    ++letters;
    // "y" at the start of a word is a consonant ("yes").
    const bool vowel = IsVowel(c) && !(c == 'y' && letters == 1);
    if (vowel && !in_vowel) ++groups;
    in_vowel = vowel;
  }
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
  if (groups > 1) {
    if (ends_with("e") && !ends_with("le") && !ends_with("ee") &&
        !ends_with("ie") && !ends_with("ye")) {
      --groups;  // "make", "time"
    } else if (ends_with("le") && !consonant_at(3)) {
      --groups;  // "while", "male": but "table" keeps its -le syllable
    } else if (ends_with("ed") && !ends_with("ted") && !ends_with("ded") &&
               consonant_at(3)) {
      --groups;  // "opened", "helped": not "wanted", "needed"
    } else if (ends_with("es") && consonant_at(3) && !ends_with("ses") &&
               !ends_with("zes") && !ends_with("ches") && !ends_with("shes") &&
               !ends_with("ges") && !ends_with("ces") && !ends_with("xes")) {
      --groups;  // "makes", "times": not "boxes", "places"
    }
  }
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
