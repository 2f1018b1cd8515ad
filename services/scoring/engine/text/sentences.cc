// Sentence splitting over the scored tokens of a field (see structure.h).
//
// Hand-written rather than ICU's sentence break iterator: ICU splits after
// "Inc." and "U.S." followed by a capital and cannot be told that the
// greeting, signature and quoted reply are not part of the text; it also
// needs a UTF-16 copy of every draft. The token stream already carries what
// the rules below need.

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "services/scoring/engine/text/structure.h"

namespace rapport::scoring::engine::text {
namespace {

bool IsClosingPunct(absl::string_view folded) {
  return folded == "\"" || folded == "'" || folded == ")" || folded == "]" ||
         folded == "\xC2\xBB";  // »
}

bool IsBullet(absl::string_view folded) {
  return folded == "-" || folded == "*" || folded == "\xE2\x80\xA2" ||  // •
         folded == "\xE2\x80\x93" || folded == "\xE2\x80\x94";  // – —
}

class Splitter {
 public:
  Splitter(const TextConfig& config, FieldText* f) : config_(config), f_(*f) {}

  void Run() {
    f_.sentences.clear();
    for (uint32_t p = 0; p < f_.paragraphs.size(); ++p) {
      SplitParagraph(p);
    }
  }

 private:
  bool IsCapitalizedWord(uint32_t i) const {
    const Token& t = f_.tokens[i];
    return (t.kind == TokenKind::kWord && (t.flags & kCapitalized)) ||
           t.kind == TokenKind::kNumber;
  }

  bool IsLowercaseWord(uint32_t i) const {
    const Token& t = f_.tokens[i];
    return t.kind == TokenKind::kWord && !(t.flags & kCapitalized);
  }

  // A line inside the paragraph that starts with a bullet ("- ", "• ",
  // "1. ", "2) ") starts a new sentence.
  bool StartsBulletLine(uint32_t i, uint32_t end) const {
    const Token& t = f_.tokens[i];
    if (t.newlines_before == 0) return false;
    const absl::string_view folded = f_.Folded(i);
    if (IsBullet(folded)) return true;
    if (t.kind == TokenKind::kNumber && i + 1 < end) {
      const absl::string_view next = f_.Folded(i + 1);
      return (next == "." || next == ")") &&
             !(f_.tokens[i + 1].flags & kSpaceBefore);
    }
    return false;
  }

  // Whether terminal punctuation token `i` (closing punctuation up to `j`)
  // ends a sentence within the paragraph [begin, end).
  bool EndsSentence(uint32_t begin, uint32_t i, uint32_t j,
                    uint32_t end) const {
    if (j >= end) return true;
    const Token& t = f_.tokens[i];
    const absl::string_view p = f_.Folded(i);
    const bool next_spaced = (f_.tokens[j].flags & kSpaceBefore) != 0;
    if (absl::StrContains(p, '?') || absl::StrContains(p, '!')) {
      return next_spaced || !IsLowercaseWord(j);
    }
    if (p != ".") {
      // An ellipsis ("..." or "…") ends a sentence only before a capital.
      return next_spaced && IsCapitalizedWord(j);
    }
    if (!next_spaced) return false;  // "3.5" is one token; "x.y" is not prose
    if (i > begin && !(t.flags & kSpaceBefore)) {
      const uint32_t w = i - 1;
      const Token& prev = f_.tokens[w];
      if (prev.kind == TokenKind::kWord) {
        const absl::string_view word = f_.Folded(w);
        if (config_.abbreviations.contains(word)) return false;
        // An initial: "J. Smith".
        if ((prev.flags & kCapitalized) && word.size() == 1 &&
            IsCapitalizedWord(j)) {
          return false;
        }
        if (config_.final_abbreviations.contains(word)) {
          return IsCapitalizedWord(j);
        }
      }
    }
    // A period followed by a lower-case word is not a sentence end
    // ("approx. three", "vs. them").
    return !IsLowercaseWord(j);
  }

  // Whether acronym token `i` ("U.S.", "e.g.") ends a sentence.
  bool AcronymEndsSentence(uint32_t i, uint32_t end) const {
    if (i + 1 >= end) return true;
    absl::string_view word = f_.Folded(i);
    absl::ConsumeSuffix(&word, ".");
    if (config_.abbreviations.contains(word)) return false;
    return (f_.tokens[i + 1].flags & kSpaceBefore) &&
           IsCapitalizedWord(i + 1) && f_.Folded(i + 1) != "i";
  }

  void Close(uint32_t begin, uint32_t end, uint32_t paragraph) {
    if (begin >= end) return;
    Sentence s;
    s.tok_begin = begin;
    s.tok_end = end;
    s.start = f_.tokens[begin].start;
    s.end = f_.tokens[end - 1].end;
    s.paragraph = paragraph;
    for (uint32_t k = begin; k < end; ++k) {
      const Token& t = f_.tokens[k];
      if (CountsAsWord(t)) ++s.words;
      if (t.flags & kHasQuestion) s.question = true;
    }
    f_.sentences.push_back(s);
  }

  void SplitParagraph(uint32_t p) {
    const Paragraph& para = f_.paragraphs[p];
    uint32_t start = para.tok_begin;
    const uint32_t end = para.tok_end;
    for (uint32_t i = para.tok_begin; i < end; ++i) {
      if (i > start && StartsBulletLine(i, end)) {
        Close(start, i, p);
        start = i;
      }
      const Token& t = f_.tokens[i];
      if (t.kind == TokenKind::kPunct && (t.flags & kTerminal)) {
        uint32_t j = i + 1;
        while (j < end && f_.tokens[j].kind == TokenKind::kPunct &&
               !(f_.tokens[j].flags & kSpaceBefore) &&
               IsClosingPunct(f_.Folded(j))) {
          ++j;
        }
        if (EndsSentence(start, i, j, end)) {
          Close(start, j, p);
          start = j;
          i = j - 1;
        }
      } else if ((t.flags & kAcronymDot) && AcronymEndsSentence(i, end)) {
        Close(start, i + 1, p);
        start = i + 1;
      }
    }
    Close(start, end, p);
  }

  const TextConfig& config_;
  FieldText& f_;
};

}  // namespace

void SplitSentences(const TextConfig& config, FieldText* field) {
  Splitter(config, field).Run();
}

}  // namespace rapport::scoring::engine::text
