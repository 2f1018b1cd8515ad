#pragma once

// Syllable estimate for the Flesch-Kincaid reading grade.
//
// A vowel-group heuristic with the usual English corrections (silent final
// "e", "-ed" and "-es" endings, "-le" after a consonant) rather than a
// hyphenation dictionary (libhyphen): the grade only needs an estimate, the
// heuristic is within a syllable on almost all common words, needs no data
// files and costs a few nanoseconds per word.

#include "absl/strings/string_view.h"

namespace rapport::scoring::engine::text {

// Syllables of one folded (lower-case) word; at least 1. Letters outside
// ASCII count as vowels of their own group ("café" = 2), which is right for
// the accented vowels that appear in English text.
int CountSyllables(absl::string_view folded_word);

// Flesch-Kincaid grade level from totals: 0.39 * words/sentences + 11.8 *
// syllables/words - 15.59, clamped to [0, 18]; 0 when there are no words.
double FleschKincaidGrade(int words, int sentences, int syllables);

}  // namespace rapport::scoring::engine::text
