#include "services/scoring/engine/text/utf8.h"

#include <unicode/uchar.h>

namespace rapport::scoring::engine::text {

int DecodeUtf8Slow(absl::string_view s, size_t pos, char32_t* cp) {
  const size_t n = s.size() - pos;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + pos);
  const unsigned char b0 = p[0];
  *cp = kInvalidCodePoint;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  auto cont = [&](size_t i) { return i < n && (p[i] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return 1;
    *cp = (static_cast<char32_t>(b0 & 0x1F) << 6) | (p[1] & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return 1;
    const char32_t c = (static_cast<char32_t>(b0 & 0x0F) << 12) |
                       (static_cast<char32_t>(p[1] & 0x3F) << 6) |
                       (p[2] & 0x3F);
    if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)) return 1;
    *cp = c;
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 1;
    const char32_t c = (static_cast<char32_t>(b0 & 0x07) << 18) |
                       (static_cast<char32_t>(p[1] & 0x3F) << 12) |
                       (static_cast<char32_t>(p[2] & 0x3F) << 6) |
                       (p[3] & 0x3F);
    if (c < 0x10000 || c > 0x10FFFF) return 1;
    *cp = c;
    return 4;
  }
  return 1;
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp;
    i += DecodeUtf8Slow(s, i, &cp);
    if (cp == kInvalidCodePoint) return false;
  }
  return true;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    if (cp >= 0xD800 && cp <= 0xDFFF) return;
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= 0x10FFFF) {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void AppendSanitizedUtf8(absl::string_view s, std::string* out) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && static_cast<unsigned char>(s[j]) < 0x80) ++j;
    out->append(s.data() + i, j - i);
    i = j;
    if (i >= s.size()) break;
    char32_t cp;
    const int len = DecodeUtf8Slow(s, i, &cp);
    if (cp == kInvalidCodePoint) {
      out->append("\xEF\xBF\xBD");
    } else {
      out->append(s.data() + i, static_cast<size_t>(len));
    }
    i += static_cast<size_t>(len);
  }
}

absl::string_view TruncateUtf8(absl::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  // Back up over continuation bytes to the start of the cut code point (at
  // most 3 of them: longer runs are ill-formed, and every byte of those
  // counts as a code point of its own).
  size_t cut = max_bytes;
  for (int k = 0;
       k < 3 && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80;
       ++k) {
    --cut;
  }
  // Cut before that code point if it is well-formed and runs past the
  // limit; otherwise the bytes at the limit are ill-formed ones of their
  // own and the limit itself is a boundary.
  char32_t cp;
  const auto len = static_cast<size_t>(DecodeUtf8(s, cut, &cp));
  if (cp == kInvalidCodePoint || cut + len <= max_bytes) {
    return s.substr(0, max_bytes);
  }
  return s.substr(0, cut);
}

char32_t FoldCodePointSlow(char32_t cp) {
  if (cp < 0x80) return FoldCodePoint(cp);
  switch (cp) {
    case 0x2018:  // ‘
    case 0x2019:  // ’
    case 0x02BC:  // ʼ
    case 0x2032:  // ′
      return '\'';
    case 0x201C:  // “
    case 0x201D:  // ”
    case 0x2033:  // ″
      return '"';
    default:
      break;
  }
  if (cp == kInvalidCodePoint) return cp;
  return static_cast<char32_t>(
      u_foldCase(static_cast<UChar32>(cp), U_FOLD_CASE_DEFAULT));
}

bool IsWordCodePointSlow(char32_t cp) {
  if (cp < 0x80) return IsWordCodePoint(cp);
  if (cp == kInvalidCodePoint) return false;
  const auto c = static_cast<UChar32>(cp);
  if (u_isalnum(c)) return true;
  const int8_t type = u_charType(c);
  return type == U_NON_SPACING_MARK || type == U_COMBINING_SPACING_MARK ||
         type == U_ENCLOSING_MARK || type == U_LETTER_NUMBER;
}

bool IsLetterCodePointSlow(char32_t cp) {
  if (cp < 0x80) return IsLetterCodePoint(cp);
  if (cp == kInvalidCodePoint) return false;
  return u_isalpha(static_cast<UChar32>(cp)) != 0;
}

bool IsDigitCodePointSlow(char32_t cp) {
  if (cp < 0x80) return IsDigitCodePoint(cp);
  if (cp == kInvalidCodePoint) return false;
  return u_isdigit(static_cast<UChar32>(cp)) != 0;
}

bool IsUpperCodePointSlow(char32_t cp) {
  if (cp < 0x80) return IsUpperCodePoint(cp);
  if (cp == kInvalidCodePoint) return false;
  const auto c = static_cast<UChar32>(cp);
  return u_isupper(c) || u_istitle(c);
}

bool IsSpaceCodePoint(char32_t cp) {
  if (cp < 0x80) {
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' ||
           cp == '\v';
  }
  if (cp == kInvalidCodePoint) return false;
  // U+FEFF (byte order mark / zero-width no-break space) is not White_Space
  // but reads as nothing; treat it as a gap so it never glues words.
  if (cp == 0xFEFF || cp == 0x200B) return true;
  return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_WHITE_SPACE) != 0;
}

bool IsLineBreakCodePoint(char32_t cp) {
  return cp == 0x2028 || cp == 0x2029 || cp == 0x85;
}

}  // namespace rapport::scoring::engine::text
