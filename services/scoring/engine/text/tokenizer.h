#pragma once

// The engine's tokenizer: one pass over the ORIGINAL bytes of a subject or
// body, producing tokens with byte offsets into it and, in the same pass, a
// folded copy of every token (lower case, typographic quotes straight) for
// matching.
//
// Why hand-written: ICU's word break iterator finds words, but a sales
// scorer needs tokens ICU does not know (merge fields such as {{first_name}},
// [Company] and %FIRST_NAME%, URLs, e-mail addresses, acronyms with periods
// such as "U.S." and "e.g.", runs of terminal punctuation such as "?!" or
// "..."), needs to know the whitespace between tokens (phrase matching and
// paragraph breaks) and must not allocate per token. ICU is still used for
// Unicode character properties and case folding (text/utf8.h).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace rapport::scoring::engine::text {

enum class TokenKind : uint8_t {
  kWord,        // letters (and digits), with inner ' ’ - joiners: "don’t"
  kNumber,      // digits with inner , or . between digits: "1,000", "3.5"
  kPunct,       // one punctuation code point, or a run of . ! ? ("...")
  kSymbol,      // any other code point (emoji, currency, math)
  kUrl,         // http://..., https://..., www....
  kEmail,       // local@domain.tld
  kMergeField,  // {{x}}, {x}, [Company], %FIRST_NAME%, <<x>>
  kInvalid,     // one byte that is not well-formed UTF-8
};

// Token flags.
inline constexpr uint8_t kSpaceBefore = 1;   // whitespace precedes the token
inline constexpr uint8_t kCapitalized = 2;   // first letter upper/title case
inline constexpr uint8_t kAllCaps = 4;       // >= 2 letters, all upper case
inline constexpr uint8_t kAcronymDot = 8;    // "U.S." style: ends with '.'
inline constexpr uint8_t kTerminal = 16;     // punct run holding . ! ? or …
inline constexpr uint8_t kHasQuestion = 32;  // punct run holding '?'
inline constexpr uint8_t kCurlyQuote = 64;   // holds a typographic quote

// Where a token sits in the draft's structure (set by AnalyzeField).
enum class Region : uint8_t {
  kScored,     // ordinary text: counted and matched
  kGreeting,   // "Hi Mitch," - name rules read it, nothing else
  kSignature,  // sign-off, name lines, "Sent from my iPhone"
  kQuoted,     // "> " lines and everything from "On ... wrote:"
};

struct Token {
  uint32_t start = 0;            // byte offset into the original text
  uint32_t end = 0;              // one past the last byte
  uint32_t fold_start = 0;       // offset of the folded text in the fold buffer
  uint16_t fold_len = 0;         // its length (cut at 65535)
  uint16_t newlines_before = 0;  // line breaks in the gap before it
  TokenKind kind = TokenKind::kWord;
  uint8_t flags = 0;
  Region region = Region::kScored;
  uint8_t roles = 0;  // word-role bits set by the engine (self, you, ...)
};

// Tokenizes `text` into `tokens` (cleared first) and appends the folded text
// of every token to `folded` (cleared first). CRLF, CR and LF all count as
// one line break. Offsets are always on code point boundaries of well-formed
// input; an ill-formed byte becomes its own kInvalid token. Texts longer
// than 4 GiB are cut (the service limits bodies to 64 KiB).
void Tokenize(absl::string_view text, std::vector<Token>* tokens,
              std::string* folded);

// The folded text of a token.
inline absl::string_view FoldedText(absl::string_view folded, const Token& t) {
  return folded.substr(t.fold_start, t.fold_len);
}

// Byte equality for the short strings the engine compares per token
// (folded words, phrase words, stems): inline, without a call to memcmp,
// which costs more than comparing a few bytes.
inline bool EqualBytes(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  for (size_t i = 0; i < a.size(); ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

// True when the token is a word-like unit for counting (word, number, URL,
// e-mail or merge field).
inline bool CountsAsWord(const Token& t) {
  return t.kind == TokenKind::kWord || t.kind == TokenKind::kNumber ||
         t.kind == TokenKind::kUrl || t.kind == TokenKind::kEmail ||
         t.kind == TokenKind::kMergeField;
}

}  // namespace rapport::scoring::engine::text
