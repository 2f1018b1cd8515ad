#include "services/scoring/engine/text/tokenizer.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <array>
#include <limits>

#include "absl/base/attributes.h"
#include "services/scoring/engine/text/utf8.h"

namespace rapport::scoring::engine::text {
namespace {

bool IsAsciiAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c); }
bool IsAsciiUpper(char c) { return c >= 'A' && c <= 'Z'; }

// Longest merge-field spelling accepted, in bytes.
constexpr size_t kMaxMergeField = 64;

// Length of a merge field starting at `pos`, or 0. Templates leave these
// behind when a mail-merge value is missing: {{first_name}}, {first_name},
// [Company], [First Name], %FIRST_NAME%, <<Company>>. Markdown links
// ("[here](...)") and footnotes ("[1]") are not merge fields.
size_t MatchMergeField(absl::string_view s, size_t pos) {
  const size_t n = s.size();
  const char c = s[pos];
  auto find_close = [&](size_t from, absl::string_view close) -> size_t {
    const size_t limit = std::min(n, pos + kMaxMergeField);
    for (size_t i = from; i + close.size() <= limit; ++i) {
      if (s[i] == '\n' || s[i] == '\r') return absl::string_view::npos;
      if (s.substr(i, close.size()) == close) return i;
    }
    return absl::string_view::npos;
  };
  auto inner_ok = [&](size_t from, size_t to, bool allow_space) {
    size_t letters = 0;
    for (size_t i = from; i < to; ++i) {
      const char ch = s[i];
      if (IsAsciiAlpha(ch)) {
        ++letters;
      } else if (!(IsAsciiDigit(ch) || ch == '_' || ch == '.' || ch == '-' ||
                   (allow_space && ch == ' '))) {
        return false;
      }
    }
    return letters > 0;
  };
  if (c == '{') {
    if (pos + 1 < n && s[pos + 1] == '{') {
      const size_t close = find_close(pos + 2, "}}");
      if (close == absl::string_view::npos) return 0;
      if (!inner_ok(pos + 2, close, /*allow_space=*/true)) return 0;
      return close + 2 - pos;
    }
    const size_t close = find_close(pos + 1, "}");
    if (close == absl::string_view::npos || close == pos + 1) return 0;
    if (!IsAsciiAlpha(s[pos + 1]) || !inner_ok(pos + 1, close, true)) return 0;
    return close + 1 - pos;
  }
  if (c == '[') {
    const size_t close = find_close(pos + 1, "]");
    if (close == absl::string_view::npos || close == pos + 1) return 0;
    if (!IsAsciiAlpha(s[pos + 1]) || !inner_ok(pos + 1, close, true)) return 0;
    if (close + 1 < n && s[close + 1] == '(') return 0;  // markdown link
    return close + 1 - pos;
  }
  if (c == '%') {
    const size_t close = find_close(pos + 1, "%");
    if (close == absl::string_view::npos || close < pos + 3) return 0;
    if (!IsAsciiAlpha(s[pos + 1])) return 0;
    for (size_t i = pos + 1; i < close; ++i) {
      const char ch = s[i];
      if (!(IsAsciiUpper(ch) || IsAsciiDigit(ch) || ch == '_')) return 0;
    }
    return close + 1 - pos;
  }
  if (c == '<' && pos + 1 < n && s[pos + 1] == '<') {
    const size_t close = find_close(pos + 2, ">>");
    if (close == absl::string_view::npos) return 0;
    if (!inner_ok(pos + 2, close, true)) return 0;
    return close + 2 - pos;
  }
  return 0;
}

bool StartsWithNoCase(absl::string_view s, size_t pos, absl::string_view p) {
  if (s.size() - pos < p.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    char a = s[pos + i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != p[i]) return false;
  }
  return true;
}

// Length of a URL starting at `pos`, or 0.
size_t MatchUrl(absl::string_view s, size_t pos) {
  size_t prefix = 0;
  if (StartsWithNoCase(s, pos, "https://")) {
    prefix = 8;
  } else if (StartsWithNoCase(s, pos, "http://")) {
    prefix = 7;
  } else if (StartsWithNoCase(s, pos, "www.")) {
    prefix = 4;
  } else {
    return 0;
  }
  size_t i = pos + prefix;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b <= ' ' || b == '<' || b == '>' || b == '"' || b >= 0x80) break;
    ++i;
  }
  while (i > pos + prefix) {
    const char last = s[i - 1];
    if (last == '.' || last == ',' || last == ';' || last == ':' ||
        last == '!' || last == '?' || last == ')' || last == ']' ||
        last == '}' || last == '\'') {
      --i;
    } else {
      break;
    }
  }
  return i > pos + prefix ? i - pos : 0;
}

bool IsEmailLocalChar(char c) {
  return IsAsciiAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
         c == '-';
}

// Length of an e-mail address starting at `pos`, or 0.
size_t MatchEmail(absl::string_view s, size_t pos) {
  const size_t n = s.size();
  size_t i = pos;
  while (i < n && IsEmailLocalChar(s[i])) ++i;
  if (i == pos || i >= n || s[i] != '@') return 0;
  const size_t domain = ++i;
  size_t last_dot = 0;
  while (i < n && (IsAsciiAlnum(s[i]) || s[i] == '-' || s[i] == '.')) {
    if (s[i] == '.') last_dot = i;
    ++i;
  }
  while (i > domain && s[i - 1] == '.') --i;  // sentence-final period
  if (last_dot == 0 || last_dot <= domain || last_dot + 2 > i) return 0;
  for (size_t k = last_dot + 1; k < i; ++k) {
    if (!IsAsciiAlpha(s[k])) return 0;
  }
  return i - pos;
}

bool IsAsciiPunct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') ||
         (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

// ASCII character classes, so the hot loops test one table entry per byte.
constexpr uint8_t kClsAlpha = 1;
constexpr uint8_t kClsDigit = 2;
constexpr uint8_t kClsGap = 4;      // space, tab, other control characters
constexpr uint8_t kClsNewline = 8;  // \n, \r
constexpr uint8_t kClsHigh = 16;    // a byte of a multi-byte sequence

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int b = 0; b < 256; ++b) {
    uint8_t cls = 0;
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) cls = kClsAlpha;
    if (b >= '0' && b <= '9') cls = kClsDigit;
    if (b == '\n' || b == '\r') cls = kClsNewline;
    if ((b < 0x20 && b != '\n' && b != '\r') || b == ' ' || b == 0x7F) {
      cls = kClsGap;
    }
    if (b >= 0x80) cls = kClsHigh;
    t[static_cast<size_t>(b)] = cls;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClasses = MakeClasses();

inline uint8_t ClassOf(char c) {
  return kClasses[static_cast<unsigned char>(c)];
}

// Lower-case ASCII by table.
constexpr std::array<char, 256> MakeLower() {
  std::array<char, 256> t{};
  for (int b = 0; b < 256; ++b) {
    t[static_cast<size_t>(b)] =
        static_cast<char>((b >= 'A' && b <= 'Z') ? b + ('a' - 'A') : b);
  }
  return t;
}
constexpr std::array<char, 256> kLower = MakeLower();

// What the fast path of ScanWord needs to know about a byte: the ASCII
// letter and digit classes, and the letter's case.
constexpr uint8_t kInfoAlpha = 1;
constexpr uint8_t kInfoDigit = 2;
constexpr uint8_t kInfoUpper = 4;
constexpr uint8_t kInfoLower = 8;
// A byte after which an ASCII word certainly ends with nothing more to
// look at: whitespace, control characters and ASCII punctuation other than
// the joiners and the starts of acronyms and e-mail addresses
// (' - . , @ _ + %).
constexpr uint8_t kInfoEndsWord = 16;

constexpr std::array<uint8_t, 256> MakeInfo() {
  std::array<uint8_t, 256> t{};
  for (int b = 0; b < 0x80; ++b) {
    uint8_t v = 0;
    if (b >= 'A' && b <= 'Z') v = kInfoAlpha | kInfoUpper;
    if (b >= 'a' && b <= 'z') v = kInfoAlpha | kInfoLower;
    if (b >= '0' && b <= '9') v = kInfoDigit;
    if (v == 0 && b != '\'' && b != '-' && b != '.' && b != ',' && b != '@' &&
        b != '_' && b != '+' && b != '%') {
      v = kInfoEndsWord;
    }
    t[static_cast<size_t>(b)] = v;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kInfo = MakeInfo();

// The folded form of one code point, UTF-8, is at most this many bytes for
// each byte it came from (simple case folding never more than doubles it).
constexpr size_t kFoldExpansion = 2;

class Tokenizer {
 public:
  // Folded bytes are written straight into `folded`, sized for the worst
  // case up front and cut to what was written at the end.
  Tokenizer(absl::string_view text, std::vector<Token>* tokens,
            std::string* folded)
      : s_(text), tokens_(tokens), folded_(folded) {
    folded_->resize(kFoldExpansion * text.size() + 16);
    out_ = folded_->data();
  }

  void Run() {
    const size_t n = s_.size();
    size_t pos = 0;
    while (pos < n) {
      const char c = s_[pos];
      const uint8_t cls = ClassOf(c);
      if (cls & (kClsAlpha | kClsDigit)) {
        // Only "http..." and "www..." may start a URL.
        const char second =
            pos + 1 < n ? static_cast<char>(s_[pos + 1] | 0x20) : '\0';
        if (((c | 0x20) == 'h' && second == 't') ||
            ((c | 0x20) == 'w' && second == 'w')) {
          pos = ScanToken(pos, c, static_cast<char32_t>(c), 1);
        } else {
          pos = ScanWord(pos);
        }
        continue;
      }
      if (cls & kClsGap) {  // also other control characters
        space_ = true;
        ++pos;
        continue;
      }
      if (cls & kClsNewline) {
        if (c == '\r' && pos + 1 < n && s_[pos + 1] == '\n') ++pos;
        AddNewline();
        ++pos;
        continue;
      }
      if (!(cls & kClsHigh)) {
        if (c == '{' || c == '[' || c == '%' || c == '<' || c == '.' ||
            c == '!' || c == '?') {
          pos = ScanToken(pos, c, static_cast<char32_t>(c), 1);
        } else {
          // Any other ASCII punctuation byte is a token of its own and
          // its own folded form (what ScanToken would answer).
          const size_t fold_begin = fold_pos_;
          out_[fold_pos_++] = c;
          pos = Emit(pos, pos + 1, TokenKind::kPunct, 0, fold_begin);
        }
        continue;
      }
      char32_t cp;
      const int len = DecodeUtf8Slow(s_, pos, &cp);
      if (cp != kInvalidCodePoint) {
        if (IsLineBreakCodePoint(cp)) {
          AddNewline();
          pos += static_cast<size_t>(len);
          continue;
        }
        if (IsSpaceCodePoint(cp)) {
          space_ = true;
          pos += static_cast<size_t>(len);
          continue;
        }
      }
      pos = ScanToken(pos, c, cp, len);
    }
    folded_->resize(fold_pos_);
  }

 private:
  void AddNewline() {
    space_ = true;
    if (newlines_ < std::numeric_limits<uint16_t>::max()) ++newlines_;
  }

  void PutCodePoint(char32_t cp) {
    if (cp < 0x80) {
      out_[fold_pos_++] = static_cast<char>(cp);
      return;
    }
    char buf[4];
    size_t n = 0;
    if (cp < 0x800) {
      buf[n++] = static_cast<char>(0xC0 | (cp >> 6));
      buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      buf[n++] = static_cast<char>(0xE0 | (cp >> 12));
      buf[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      buf[n++] = static_cast<char>(0xF0 | (cp >> 18));
      buf[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      buf[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    }
    for (size_t k = 0; k < n; ++k) out_[fold_pos_++] = buf[k];
  }

  // Folds one (possibly ill-formed) code point of the input at `p` of `len`
  // bytes; answers whether it was a typographic quote made straight.
  bool FoldAt(size_t p, char32_t cp, size_t len) {
    if (cp == kInvalidCodePoint) {
      out_[fold_pos_++] = s_[p];
      return false;
    }
    const char32_t folded = FoldCodePoint(cp);
    PutCodePoint(folded);
    return cp >= 0x80 && (folded == '\'' || folded == '"');
  }

  // Folds input bytes [start, end) (a non-word token).
  uint8_t FoldRange(size_t start, size_t end) {
    uint8_t flags = 0;
    for (size_t i = start; i < end;) {
      const auto b = static_cast<unsigned char>(s_[i]);
      if (b < 0x80) {
        out_[fold_pos_++] = kLower[b];
        ++i;
        continue;
      }
      char32_t cp;
      const auto len = static_cast<size_t>(DecodeUtf8Slow(s_, i, &cp));
      if (FoldAt(i, cp, len)) flags |= kCurlyQuote;
      i += len;
    }
    return flags;
  }

  // Scans the token starting at `pos` (whose first code point is `cp`, `len`
  // bytes) and answers the position after it.
  size_t ScanToken(size_t pos, char c, char32_t cp, int len) {
    if (c == '{' || c == '[' || c == '%' || c == '<') {
      if (const size_t m = MatchMergeField(s_, pos); m > 0) {
        return EmitFolded(pos, pos + m, TokenKind::kMergeField, 0);
      }
    }
    if (c == 'h' || c == 'H' || c == 'w' || c == 'W') {
      if (const size_t m = MatchUrl(s_, pos); m > 0) {
        return EmitFolded(pos, pos + m, TokenKind::kUrl, 0);
      }
    }
    if (cp == kInvalidCodePoint) {
      return EmitFolded(pos, pos + 1, TokenKind::kInvalid, 0);
    }
    if (IsWordCodePoint(cp)) return ScanWord(pos);
    if (c == '.' || c == '!' || c == '?') {
      size_t end = pos;
      uint8_t flags = kTerminal;
      while (end < s_.size() &&
             (s_[end] == '.' || s_[end] == '!' || s_[end] == '?')) {
        if (s_[end] == '?') flags |= kHasQuestion;
        ++end;
      }
      return EmitFolded(pos, end, TokenKind::kPunct, flags);
    }
    const size_t end = pos + static_cast<size_t>(len);
    if (len == 1) {
      return EmitFolded(
          pos, end, IsAsciiPunct(c) ? TokenKind::kPunct : TokenKind::kSymbol,
          0);
    }
    if (cp == 0x2026) return EmitFolded(pos, end, TokenKind::kPunct, kTerminal);
    if (cp == 0x203D || cp == 0x2047 || cp == 0x2048 || cp == 0x2049) {
      return EmitFolded(pos, end, TokenKind::kPunct, kTerminal | kHasQuestion);
    }
    return EmitFolded(pos, end,
                      u_ispunct(static_cast<UChar32>(cp)) ? TokenKind::kPunct
                                                          : TokenKind::kSymbol,
                      0);
  }

  // True when the code point at `p` (< size) is a word character.
  bool WordAt(size_t p) const {
    const uint8_t cls = ClassOf(s_[p]);
    if (cls & (kClsAlpha | kClsDigit)) return true;
    if (!(cls & kClsHigh)) return false;
    char32_t cp;
    DecodeUtf8Slow(s_, p, &cp);
    return IsWordCodePoint(cp);
  }

  // Scans a word or number, folding it as it goes.
  size_t ScanWord(size_t pos) {
    const size_t end = ScanAsciiWord(pos);
    return end != 0 ? end : ScanWordGeneral(pos);
  }

  // The fast path of ScanWord: a run of ASCII letters and digits followed
  // by the end of the text, whitespace or punctuation that cannot continue
  // it. Emits the token and answers the position after it, or answers 0
  // (nothing emitted) when the general path must decide. Every token it
  // emits is exactly the one ScanWordGeneral would emit.
  size_t ScanAsciiWord(size_t pos) {
    const auto* src = reinterpret_cast<const unsigned char*>(s_.data());
    const size_t n = s_.size();
    // Locals only in the loop: a store through char* would otherwise make
    // the compiler reload every member on every byte.
    char* out = out_ + fold_pos_;
    size_t q = pos;
    uint8_t seen = 0;  // OR of the kInfo bits of the run
    do {
      const unsigned char ch = src[q];
      const uint8_t info = kInfo[ch];
      if (!(info & (kInfoAlpha | kInfoDigit))) break;
      // Letters to lower case; digits already have bit 0x20 set.
      *out++ = static_cast<char>(ch | 0x20);
      seen |= info;
    } while (++q < n);
    const size_t run = q - pos;
    if (run == 0) return 0;  // a non-ASCII letter or digit first
    if (q < n) {
      const unsigned char next = src[q];
      const bool ends_in_letter = (kInfo[src[q - 1]] & kInfoAlpha) != 0;
      if (next == '.' || next == ',') {
        // Not a joiner after a letter ("3.5" and "1,000" are); a '.' after
        // one letter may start an acronym ("U.S."), after more may be part
        // of an e-mail address ("jane.doe@...").
        if (!ends_in_letter) return 0;
        if (next == '.' && (run == 1 || MatchEmail(s_, pos) > 0)) return 0;
      } else if (!(kInfo[next] & kInfoEndsWord)) {
        return 0;
      }
    }
    uint8_t flags = 0;
    size_t letters = run;
    if (seen & kInfoDigit) {
      letters = 0;
      for (size_t k = pos; k < q; ++k) {
        letters += (kInfo[src[k]] & kInfoAlpha) != 0 ? 1 : 0;
      }
    }
    if (letters > 0) {
      size_t first = pos;
      while (!(kInfo[src[first]] & kInfoAlpha)) ++first;
      if (kInfo[src[first]] & kInfoUpper) flags |= kCapitalized;
      if (letters >= 2 && !(seen & kInfoLower)) flags |= kAllCaps;
    }
    const size_t fold_begin = fold_pos_;
    fold_pos_ += run;
    return Emit(pos, q, letters == 0 ? TokenKind::kNumber : TokenKind::kWord,
                flags, fold_begin);
  }

  size_t ScanWordGeneral(size_t pos) {
    const size_t n = s_.size();
    const size_t fold_begin = fold_pos_;
    size_t p = pos;
    bool all_digits = true;
    bool last_digit = false;
    size_t code_points = 0;
    size_t letters = 0;
    size_t upper = 0;
    uint8_t flags = 0;
    while (p < n) {
      // The common case: a run of ASCII letters and digits.
      uint8_t cls = ClassOf(s_[p]);
      while (cls & (kClsAlpha | kClsDigit)) {
        const char ch = s_[p];
        last_digit = (cls & kClsDigit) != 0;
        all_digits = all_digits && last_digit;
        if (!last_digit) {
          const bool up = ch <= 'Z';
          if (letters == 0 && up) flags |= kCapitalized;
          ++letters;
          upper += up ? 1 : 0;
        }
        out_[fold_pos_++] = kLower[static_cast<unsigned char>(ch)];
        ++code_points;
        if (++p >= n) break;
        cls = ClassOf(s_[p]);
      }
      if (p >= n) break;
      const char j = s_[p];
      if (cls & kClsHigh) {
        char32_t cp;
        const auto len = static_cast<size_t>(DecodeUtf8Slow(s_, p, &cp));
        if (IsWordCodePoint(cp)) {
          last_digit = IsDigitCodePoint(cp);
          all_digits = all_digits && last_digit;
          if (IsLetterCodePoint(cp)) {
            const bool up = IsUpperCodePoint(cp);
            if (letters == 0 && up) flags |= kCapitalized;
            ++letters;
            upper += up ? 1 : 0;
          }
          FoldAt(p, cp, len);
          ++code_points;
          p += len;
          continue;
        }
        // Inner ’ and hyphens U+2010, U+2011 join words: "don’t".
        if ((cp == 0x2019 || cp == 0x2010 || cp == 0x2011) && p + len < n &&
            WordAt(p + len)) {
          if (FoldAt(p, cp, len)) flags |= kCurlyQuote;
          p += len;
          continue;
        }
        break;
      }
      // ASCII joiners: ' and - between word characters, , and . between
      // digits ("1,000", "3.5").
      if (((j == '\'' || j == '-') && p + 1 < n && WordAt(p + 1)) ||
          ((j == '.' || j == ',') && last_digit && p + 1 < n &&
           (ClassOf(s_[p + 1]) & kClsDigit))) {
        out_[fold_pos_++] = j;
        ++p;
        continue;
      }
      break;
    }
    // Acronyms with periods: "U.S.", "e.g.", "i.e.", "a.m.".
    if (code_points == 1 && !all_digits && p + 1 < n && s_[p] == '.') {
      size_t q = p;
      int pairs = 0;
      while (q + 1 < n && s_[q] == '.') {
        char32_t c2;
        const int l2 = DecodeUtf8(s_, q + 1, &c2);
        if (!IsLetterCodePoint(c2)) break;
        const size_t after = q + 1 + static_cast<size_t>(l2);
        if (after < n) {
          char32_t c3;
          DecodeUtf8(s_, after, &c3);
          if (IsWordCodePoint(c3)) break;
        }
        q = after;
        ++pairs;
      }
      if (pairs > 0) {
        // Re-fold the whole acronym (letters and periods).
        if (q < n && s_[q] == '.') {
          ++q;
          flags |= kAcronymDot;
        }
        fold_pos_ = fold_begin;
        FoldRange(pos, q);
        p = q;
      }
    }
    // E-mail addresses: the word is followed by '@' or by a local-part
    // character that may lead to one.
    if (p < n && (s_[p] == '@' || s_[p] == '.' || s_[p] == '_' ||
                  s_[p] == '+' || s_[p] == '-' || s_[p] == '%')) {
      if (const size_t m = MatchEmail(s_, pos); m > 0) {
        fold_pos_ = fold_begin;
        return EmitFolded(pos, pos + m, TokenKind::kEmail, 0);
      }
    }
    if (letters >= 2 && upper == letters) flags |= kAllCaps;
    if (all_digits) flags &= static_cast<uint8_t>(~(kCapitalized | kAllCaps));
    return Emit(pos, p, all_digits ? TokenKind::kNumber : TokenKind::kWord,
                flags, fold_begin);
  }

  // Folds [start, end) and emits it as a token.
  size_t EmitFolded(size_t start, size_t end, TokenKind kind, uint8_t flags) {
    const size_t fold_begin = fold_pos_;
    flags |= FoldRange(start, end);
    return Emit(start, end, kind, flags, fold_begin);
  }

  // Emits a token whose folded text is [fold_begin, fold_pos_).
  ABSL_ATTRIBUTE_ALWAYS_INLINE size_t Emit(size_t start, size_t end,
                                           TokenKind kind, uint8_t flags,
                                           size_t fold_begin) {
    Token& t = tokens_->emplace_back();
    t.start = static_cast<uint32_t>(start);
    t.end = static_cast<uint32_t>(end);
    t.kind = kind;
    t.flags = flags;
    if (space_) t.flags |= kSpaceBefore;
    t.newlines_before = newlines_;
    t.fold_start = static_cast<uint32_t>(fold_begin);
    t.fold_len = static_cast<uint16_t>(std::min<size_t>(
        fold_pos_ - fold_begin, std::numeric_limits<uint16_t>::max()));
    space_ = false;
    newlines_ = 0;
    return end;
  }

  absl::string_view s_;
  std::vector<Token>* tokens_;
  std::string* folded_;
  char* out_ = nullptr;
  size_t fold_pos_ = 0;
  bool space_ = false;
  uint16_t newlines_ = 0;
};

}  // namespace

void Tokenize(absl::string_view text, std::vector<Token>* tokens,
              std::string* folded) {
  tokens->clear();
  folded->clear();
  if (text.size() > std::numeric_limits<uint32_t>::max()) {
    text = text.substr(0, std::numeric_limits<uint32_t>::max());
  }
  tokens->reserve(text.size() / 4 + 8);
  Tokenizer(text, tokens, folded).Run();
}

}  // namespace rapport::scoring::engine::text
