#pragma once

// UTF-8 primitives of the scoring engine: strict decoding (RFC 3629), case
// folding for matching, character classes and safe output. Drafts reach the
// engine validated by the service, but the engine never trusts that: every
// function here accepts arbitrary bytes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace rapport::scoring::engine::text {

// What DecodeUtf8 reports for a byte that does not start a well-formed
// sequence (the byte is then consumed alone).
inline constexpr char32_t kInvalidCodePoint = 0xFFFFFFFF;

// Decodes the code point starting at byte `pos` of `s` (pos < s.size()) into
// *cp and answers its length in bytes (1-4). An ill-formed sequence (overlong,
// surrogate, above U+10FFFF, truncated, stray continuation byte) answers 1
// with *cp = kInvalidCodePoint.
int DecodeUtf8Slow(absl::string_view s, size_t pos, char32_t* cp);
inline int DecodeUtf8(absl::string_view s, size_t pos, char32_t* cp) {
  const auto b = static_cast<unsigned char>(s[pos]);
  if (b < 0x80) {
    *cp = b;
    return 1;
  }
  return DecodeUtf8Slow(s, pos, cp);
}

// True when `s` is well-formed UTF-8.
bool IsValidUtf8(absl::string_view s);

// Appends `cp` encoded as UTF-8 (nothing for invalid code points).
void AppendUtf8(char32_t cp, std::string* out);

// Appends `s` with every ill-formed byte replaced by U+FFFD, so that report
// strings are always valid UTF-8 (protobuf refuses to parse anything else).
void AppendSanitizedUtf8(absl::string_view s, std::string* out);

// The longest prefix of `s` of at most `max_bytes` bytes that does not split
// a code point (ill-formed bytes count as one-byte code points).
absl::string_view TruncateUtf8(absl::string_view s, size_t max_bytes);

// Case folding for matching: ASCII by table, everything else by ICU's simple
// case folding (u_foldCase), and typographic quotes read as straight ones
// (’ ‘ ʼ ′ -> ', “ ” ″ -> "), as rules.proto's matching contract says.
char32_t FoldCodePointSlow(char32_t cp);
inline char32_t FoldCodePoint(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + ('a' - 'A') : cp;
  return FoldCodePointSlow(cp);
}

// Character classes (Unicode properties through ICU for non-ASCII). The
// inline versions answer ASCII without a call.
bool IsWordCodePointSlow(char32_t cp);
bool IsLetterCodePointSlow(char32_t cp);
bool IsDigitCodePointSlow(char32_t cp);
bool IsUpperCodePointSlow(char32_t cp);
inline bool IsAsciiLetter(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
}
// Letter, digit or combining mark.
inline bool IsWordCodePoint(char32_t cp) {
  if (cp < 0x80) return IsAsciiLetter(cp) || (cp >= '0' && cp <= '9');
  return IsWordCodePointSlow(cp);
}
inline bool IsLetterCodePoint(char32_t cp) {
  if (cp < 0x80) return IsAsciiLetter(cp);
  return IsLetterCodePointSlow(cp);
}
inline bool IsDigitCodePoint(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return IsDigitCodePointSlow(cp);
}
// Upper or title case.
inline bool IsUpperCodePoint(char32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z';
  return IsUpperCodePointSlow(cp);
}
bool IsSpaceCodePoint(char32_t cp);      // Unicode White_Space (+ BOM, ZWSP)
bool IsLineBreakCodePoint(char32_t cp);  // U+2028, U+2029, U+0085

}  // namespace rapport::scoring::engine::text
