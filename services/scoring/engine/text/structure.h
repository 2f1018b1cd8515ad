#pragma once

// The structure of a draft field: lines, greeting, signature and quoted
// reply (which the scored text excludes while offsets keep pointing into the
// original bytes), paragraphs and sentences.
//
// The word lists it needs (greeting words, sign-offs, abbreviations, ...)
// come from the rules file's reserved lexicons (rules.h), not from C++.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "re2/re2.h"
#include "services/scoring/engine/text/phrase_index.h"
#include "services/scoring/engine/text/tokenizer.h"

namespace rapport::scoring::engine::text {

// Word lists of the structure analysis.
struct TextConfig {
  PhraseIndex greeting_words;       // "hi", "dear", "good morning"
  PhraseIndex generic_salutations;  // "there", "team", "sir or madam"
  PhraseIndex honorifics;           // "mr", "ms", "dr"
  PhraseIndex signoffs;             // "best", "thanks", "kind regards"
  PhraseIndex mobile_signatures;    // "sent from my iphone"
  // Folded, without the trailing period: "mr", "e.g", "u.s".
  absl::flat_hash_set<std::string> abbreviations;        // never end one
  absl::flat_hash_set<std::string> final_abbreviations;  // may end one
  // Matches a line that starts a quoted reply ("On <date>, <name> wrote:",
  // "-----Original Message-----"); may be null.
  std::unique_ptr<RE2> quote_header;

  // Adds an abbreviation as written in a lexicon ("e.g.", "Mr."); returns
  // false if it is not one word.
  static bool AddAbbreviation(absl::string_view written,
                              absl::flat_hash_set<std::string>* set);
};

// Names that help find the greeting and the signature, folded single words.
struct NameHints {
  std::vector<absl::string_view> recipient;  // "mitch", "mitchell", "grant"
  std::vector<absl::string_view> sender;     // "bob", "blah"
};

struct Greeting {
  bool found = false;
  bool has_greeting_word = false;  // "Hi", "Dear", ... (not a bare name)
  bool generic = false;            // "Hi there", "Dear Sir or Madam"
  uint32_t tok_begin = 0;          // the whole greeting, terminator included
  uint32_t tok_end = 0;
  uint32_t name_begin = 0;  // the name words (honorifics excluded)
  uint32_t name_end = 0;
  uint32_t generic_begin = 0;  // the generic salutation words
  uint32_t generic_end = 0;
};

struct Paragraph {
  uint32_t tok_begin = 0;
  uint32_t tok_end = 0;
  uint32_t start = 0;  // byte span in the original text
  uint32_t end = 0;
  uint32_t words = 0;
};

struct Sentence {
  uint32_t tok_begin = 0;
  uint32_t tok_end = 0;
  uint32_t start = 0;  // byte span in the original text
  uint32_t end = 0;
  uint32_t words = 0;
  uint32_t paragraph = 0;
  bool question = false;
};

// One analysed field. Reused across drafts: AnalyzeField() clears it and
// keeps the capacity.
struct FieldText {
  absl::string_view text;
  std::vector<Token> tokens;
  std::string folded;
  Greeting greeting;
  std::vector<Paragraph> paragraphs;
  std::vector<Sentence> sentences;
  bool valid_utf8 = true;     // no ill-formed bytes (no kInvalid token)
  uint32_t words = 0;         // words in scored tokens
  uint32_t scored_start = 0;  // byte span from the first to the last scored
  uint32_t scored_end = 0;    // token (0, 0 when nothing is scored)

  TokenSpan span() const { return TokenSpan{&tokens, folded, text}; }
  absl::string_view Folded(size_t i) const {
    return FoldedText(folded, tokens[i]);
  }
  absl::string_view Original(size_t i) const {
    return text.substr(tokens[i].start, tokens[i].end - tokens[i].start);
  }
  bool Scored(size_t i) const { return tokens[i].region == Region::kScored; }
};

// Tokenizes and analyses one field. For a body (`is_body`) it finds the
// quoted reply, the signature and the greeting and marks their tokens'
// regions; a subject is all scored text.
void AnalyzeField(absl::string_view text, bool is_body,
                  const TextConfig& config, const NameHints& names,
                  FieldText* out);

// Splits the scored tokens of each paragraph into sentences (called by
// AnalyzeField). Knows abbreviations ("e.g.", "Mr.", "Inc."), decimals
// ("3.5" is one token), acronyms ("U.S."), initials ("J. Smith"),
// ellipses ("..." and "…" end a sentence only before a capital) and bullet
// lines.
void SplitSentences(const TextConfig& config, FieldText* field);

}  // namespace rapport::scoring::engine::text
