#include "services/feedback/respect/respect.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <re2/re2.h>
#include <re2/set.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <numeric>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace rapport::feedback::respect {
namespace {

namespace pb = google::protobuf;
using ParseInfoTree = pb::TextFormat::ParseInfoTree;

// Limits of respect.proto.
constexpr int kMaxTerms = 2000;
constexpr int kMaxLexiconExceptions = 200;
constexpr int kMaxPhrases = 500;
constexpr size_t kMaxPhraseBytes = 256;
constexpr int kMaxPatterns = 100;
constexpr size_t kMaxPatternBytes = 1024;
constexpr size_t kMaxTermIdBytes = 64;
constexpr size_t kMaxTextFieldBytes = 512;
// Not stated by respect.proto; generous bounds so a typo cannot make a
// lexicon unbounded.
constexpr int kMaxTermExceptions = 100;
constexpr int kMaxExamples = 1000;
// Errors listed per refused lexicon.
constexpr int kMaxErrors = 20;
// RE2 memory budgets: one regex (a term's phrases can be 500 alternatives),
// and the set of every regex, whose lazily built DFA is shared by all
// threads.
constexpr int64_t kRegexMaxMem = int64_t{16} << 20;
constexpr int64_t kSetMaxMem = int64_t{64} << 20;
// Matches of one regex considered per Check call: bounds the work an
// adversarial text can cause (the cap on warnings is far lower anyway).
constexpr int kMaxMatchesPerRegex = 256;
constexpr size_t kMaxQuotedBytes = 80;

// ---------------------------------------------------------------------------
// UTF-8 and character classes.

struct CodePoint {
  char32_t value;
  size_t length;
};

constexpr char32_t kReplacementChar = 0xFFFD;

bool IsContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Decodes the code point starting at text[i] (i < size). Invalid sequences
// decode as U+FFFD of length 1, so every byte is consumed exactly once.
CodePoint DecodeAt(absl::string_view text, size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return {b0, 1};
  size_t length = 0;
  char32_t value = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2;
    value = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3;
    value = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4;
    value = b0 & 0x07;
    min = 0x10000;
  } else {
    return {kReplacementChar, 1};
  }
  if (i + length > text.size()) return {kReplacementChar, 1};
  for (size_t k = 1; k < length; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return {kReplacementChar, 1};
    value = (value << 6) | (b & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return {kReplacementChar, 1};
  }
  return {value, length};
}

// Start of the code point that ends right before text[i] (0 < i <= size).
size_t PreviousStart(absl::string_view text, size_t i) {
  size_t j = i - 1;
  for (int k = 0; k < 3 && j > 0 && IsContinuation(text[j]); ++k) --j;
  return j;
}

bool IsAsciiAlnum(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

// A letter, digit or combining mark in any script: what a phrase must not
// touch at a word edge.
bool IsWordChar(char32_t c) {
  if (c < 0x80) return IsAsciiAlnum(c) || c == '_';
  const auto u = static_cast<UChar32>(c);
  return u_isalnum(u) != 0 || (U_GET_GC_MASK(u) & U_GC_M_MASK) != 0;
}

// True if text[start, end) does not continue a word on either side, checked
// only on sides where the match itself begins or ends with a word character
// (a phrase such as "/s" has no left edge to protect).
bool AtWordBoundaries(absl::string_view text, size_t start, size_t end) {
  if (start > 0 && IsWordChar(DecodeAt(text, start).value) &&
      IsWordChar(DecodeAt(text, PreviousStart(text, start)).value)) {
    return false;
  }
  if (end < text.size() &&
      IsWordChar(DecodeAt(text, PreviousStart(text, end)).value) &&
      IsWordChar(DecodeAt(text, end).value)) {
    return false;
  }
  return true;
}

// Longest run of ASCII tokens with two or more capitals and no lower-case
// letter, not interrupted by a token with a lower-case letter: an upper
// bound on the all-caps rule's runs. -1 if the text is not pure ASCII.
int LongestAsciiCapsRun(absl::string_view text) {
  int longest = 0;
  int run = 0;
  int capitals = 0;
  bool lower = false;
  bool in_token = false;
  const auto end_token = [&] {
    if (lower) {
      run = 0;
    } else if (capitals >= 2) {
      longest = std::max(longest, ++run);
    }
    in_token = false;
    capitals = 0;
    lower = false;
  };
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x80) return -1;
    const bool is_upper = b >= 'A' && b <= 'Z';
    const bool is_lower = b >= 'a' && b <= 'z';
    if (is_upper || is_lower || (b >= '0' && b <= '9') || b == '\'' ||
        b == '&') {
      in_token = true;
      capitals += is_upper ? 1 : 0;
      lower = lower || is_lower;
    } else if (in_token) {
      end_token();
    }
  }
  if (in_token) end_token();
  return longest;
}

// ---------------------------------------------------------------------------
// Normalisation: curly quotes and apostrophes as straight ones, no-break
// spaces as spaces, with a map back to the original byte offsets.

char Replacement(char32_t c) {
  switch (c) {
    case 0x2018:  // left single quotation mark
    case 0x2019:  // right single quotation mark, the usual apostrophe
    case 0x201B:  // single high-reversed-9 quotation mark
    case 0x2032:  // prime
      return '\'';
    case 0x201C:  // left double quotation mark
    case 0x201D:  // right double quotation mark
    case 0x201F:  // double high-reversed-9 quotation mark
    case 0x2033:  // double prime
      return '"';
    case 0x00A0:  // no-break space
    case 0x2007:  // figure space
    case 0x202F:  // narrow no-break space
      return ' ';
    default:
      return 0;
  }
}

class NormalizedText {
 public:
  explicit NormalizedText(absl::string_view original) : original_(original) {
    // Every replaced character starts with 0xC2 or 0xE2; most text has
    // neither and is matched in place.
    if (original.find_first_of("\xC2\xE2") == absl::string_view::npos) return;
    buffer_.reserve(original.size());
    map_.reserve(original.size() + 1);
    for (size_t i = 0; i < original.size();) {
      const CodePoint cp = DecodeAt(original, i);
      if (const char r = Replacement(cp.value); r != 0) {
        buffer_.push_back(r);
        map_.push_back(static_cast<uint32_t>(i));
      } else {
        for (size_t k = 0; k < cp.length; ++k) {
          buffer_.push_back(original[i + k]);
          map_.push_back(static_cast<uint32_t>(i + k));
        }
      }
      i += cp.length;
    }
    map_.push_back(static_cast<uint32_t>(original.size()));
    normalized_ = true;
  }

  absl::string_view view() const {
    return normalized_ ? absl::string_view(buffer_) : original_;
  }

  // Offset in the original text of byte `pos` of view() (pos <= size).
  size_t ToOriginal(size_t pos) const { return normalized_ ? map_[pos] : pos; }

 private:
  absl::string_view original_;
  bool normalized_ = false;
  std::string buffer_;
  std::vector<uint32_t> map_;
};

// ---------------------------------------------------------------------------
// Matching helpers.

// absl::string_view is not std::string_view here: copy explicitly.
std::string ToString(absl::string_view s) { return {s.data(), s.size()}; }

re2::StringPiece Piece(absl::string_view s) {
  return re2::StringPiece(s.data(), s.size());
}

RE2::Options RegexOptions(int64_t max_mem) {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_log_errors(false);
  options.set_max_mem(max_mem);
  return options;
}

struct Span {
  size_t start;
  size_t end;
};

bool Overlaps(const Span& a, const Span& b) {
  return a.start < b.end && b.start < a.end;
}

// Calls f(start, end) for each non-empty match of `re` in `text`, left to
// right, non-overlapping. With narrow_to_group, the span is capturing group
// 1 when it took part in the match.
template <typename F>
void ForEachMatch(const RE2& re, absl::string_view text, bool narrow_to_group,
                  F&& f) {
  const re2::StringPiece input = Piece(text);
  re2::StringPiece groups[2];
  const int ngroups = narrow_to_group ? 2 : 1;
  size_t pos = 0;
  for (int found = 0; pos <= text.size() && found < kMaxMatchesPerRegex;) {
    if (!re.Match(input, pos, text.size(), RE2::UNANCHORED, groups, ngroups)) {
      return;
    }
    const size_t match_start = groups[0].data() - text.data();
    const size_t match_end = match_start + groups[0].size();
    const re2::StringPiece& span =
        (ngroups == 2 && groups[1].data() != nullptr) ? groups[1] : groups[0];
    const size_t start = span.data() - text.data();
    if (!span.empty()) {
      f(start, start + span.size());
      ++found;
    }
    if (match_end > pos) {
      pos = match_end;
    } else if (pos < text.size()) {
      pos += DecodeAt(text, pos).length;  // empty match: step over one char
    } else {
      return;
    }
  }
}

// ---------------------------------------------------------------------------
// Lexicon helpers.

std::string Quoted(absl::string_view s) {
  if (s.size() > kMaxQuotedBytes) {
    size_t cut = kMaxQuotedBytes;
    while (cut > 0 && IsContinuation(s[cut])) --cut;
    return absl::StrCat("\"", absl::Utf8SafeCHexEscape(s.substr(0, cut)),
                        "...\"");
  }
  return absl::StrCat("\"", absl::Utf8SafeCHexEscape(s), "\"");
}

bool IsValidTermId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxTermIdBytes) return false;
  for (absl::string_view word : absl::StrSplit(id, '.')) {
    if (word.empty() || !(word[0] >= 'a' && word[0] <= 'z')) return false;
    for (const char c : word) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
        return false;
      }
    }
  }
  return true;
}

bool IsAsciiWordByte(char c) {
  return IsAsciiAlnum(static_cast<unsigned char>(c)) || c == '_';
}

// RE2 source for one phrase: words separated by any whitespace run,
// apostrophes optional, \b at edges that are ASCII word characters (other
// edges are checked by AtWordBoundaries after the match).
std::string PhraseRegex(absl::string_view phrase) {
  std::vector<std::string> words;
  for (absl::string_view word : absl::StrSplit(
           phrase, absl::ByAnyChar(" \t\n\r\f\v"), absl::SkipEmpty())) {
    std::vector<std::string> parts;
    for (absl::string_view part : absl::StrSplit(word, '\'')) {
      parts.push_back(RE2::QuoteMeta(Piece(part)));
    }
    words.push_back(absl::StrJoin(parts, "'?"));
  }
  std::string body = absl::StrJoin(words, "\\s+");
  const absl::string_view trimmed = absl::StripAsciiWhitespace(phrase);
  return absl::StrCat(IsAsciiWordByte(trimmed.front()) ? "\\b" : "", body,
                      IsAsciiWordByte(trimmed.back()) ? "\\b" : "");
}

std::string WithCase(absl::string_view source, bool case_sensitive) {
  return absl::StrCat(case_sensitive ? "" : "(?i)", "(?:", source, ")");
}

}  // namespace

// ---------------------------------------------------------------------------
// The compiled lexicon.

class RespectChecker::Impl {
 public:
  struct Term {
    std::string id;
    v1::RespectCategory category = v1::RESPECT_CATEGORY_UNSPECIFIED;
    std::string explanation;
    std::string suggestion;
  };

  // One regex of the set: a term's phrases (all in one alternation) or one
  // of its patterns.
  struct Matcher {
    std::unique_ptr<const RE2> regex;
    int term = 0;
    bool phrase = false;
    bool narrow_to_group = false;
  };

  // An exception: a term's own (term >= 0) or lexicon-wide (term < 0).
  struct Exception {
    std::unique_ptr<const RE2> regex;
    int term = -1;
  };

  struct Candidate {
    Span span;
    int term;
  };

  Impl()
      : matcher_set(RegexOptions(kSetMaxMem), RE2::UNANCHORED),
        exception_set(RegexOptions(kSetMaxMem), RE2::UNANCHORED) {}

  std::vector<v1::RespectWarning> Check(absl::string_view text,
                                        absl::string_view field_path) const;

  int32_t version = 0;
  std::string source_name;
  int max_warnings = kMaxWarnings;
  std::vector<Term> terms;
  std::vector<Matcher> matchers;
  RE2::Set matcher_set;  // index i is matchers[i]
  std::vector<Exception> exceptions;
  RE2::Set exception_set;  // index i is exceptions[i]
  // The all-caps rule (kShoutingTermId), when the lexicon has it.
  int shouting_term = -1;
  std::unique_ptr<const RE2> shouted_word;  // any of the term's patterns
  std::unique_ptr<const RE2> acronym;       // any of its exceptions, or null

 private:
  void FindTermMatches(absl::string_view text,
                       std::vector<Candidate>* out) const;
  void FindShouting(absl::string_view text, std::vector<Candidate>* out) const;
  void DropExcepted(absl::string_view text,
                    std::vector<Candidate>* candidates) const;
  void ResolveOverlaps(std::vector<Candidate>* candidates) const;
  v1::RespectWarning MakeWarning(const Candidate& candidate,
                                 absl::string_view original,
                                 const NormalizedText& normalized,
                                 absl::string_view field_path) const;
};

void RespectChecker::Impl::FindTermMatches(absl::string_view text,
                                           std::vector<Candidate>* out) const {
  if (matchers.empty()) return;
  std::vector<int> hits;
  RE2::Set::ErrorInfo info{RE2::Set::kNoError};
  if (!matcher_set.Match(Piece(text), &hits, &info) &&
      info.kind != RE2::Set::kNoError) {
    // The set's DFA ran out of memory on this text: run every regex alone.
    hits.resize(matchers.size());
    std::iota(hits.begin(), hits.end(), 0);
  }
  std::sort(hits.begin(), hits.end());
  for (const int hit : hits) {
    const Matcher& m = matchers[hit];
    ForEachMatch(*m.regex, text, m.narrow_to_group, [&](size_t s, size_t e) {
      if (m.phrase && !AtWordBoundaries(text, s, e)) return;
      out->push_back({{s, e}, m.term});
    });
  }
}

void RespectChecker::Impl::FindShouting(absl::string_view text,
                                        std::vector<Candidate>* out) const {
  if (shouting_term < 0) return;
  // Most notes have no run of capitalised words at all: rule them out in
  // one cheap pass (ASCII only; the acronym allowlist is applied later).
  if (const int run = LongestAsciiCapsRun(text);
      run >= 0 && run < kShoutingMinWords) {
    return;
  }

  // Tokens are runs of letters, digits, apostrophes and '&' (any script);
  // ASCII is classified inline, other code points through ICU.
  struct Token {
    size_t start = 0;
    size_t end = 0;
    int letters = 0;
    int capitals = 0;
    bool lower = false;
  };
  const auto is_ascii_token = [](unsigned char b) {
    return IsAsciiAlnum(b) || b == '\'' || b == '&';
  };
  // Reads the token starting at text[i], or returns false at a separator
  // (advancing i past it).
  const auto next_token = [&](size_t& i, Token& t) {
    t = Token{i, i, 0, 0, false};
    while (i < text.size()) {
      const auto b = static_cast<unsigned char>(text[i]);
      if (b < 0x80) {
        if (!is_ascii_token(b)) break;
        if (b >= 'A' && b <= 'Z') {
          ++t.letters;
          ++t.capitals;
        } else if (b >= 'a' && b <= 'z') {
          ++t.letters;
          t.lower = true;
        }
        ++i;
        continue;
      }
      const CodePoint cp = DecodeAt(text, i);
      const auto u = static_cast<UChar32>(cp.value);
      if (!IsWordChar(cp.value)) break;
      if (u_isalpha(u) != 0) {
        ++t.letters;
        if (u_islower(u) != 0) t.lower = true;
        if (u_isupper(u) != 0 || u_istitle(u) != 0) ++t.capitals;
      }
      i += cp.length;
    }
    t.end = i;
    if (t.end == t.start) {
      i += DecodeAt(text, i).length;  // a separator
      return false;
    }
    return true;
  };

  Span run{0, 0};
  int run_words = 0;
  const auto flush = [&] {
    if (run_words >= kShoutingMinWords) out->push_back({run, shouting_term});
    run_words = 0;
  };
  Token t;
  for (size_t i = 0; i < text.size();) {
    if (!next_token(i, t)) continue;
    if (t.lower) {
      flush();
      continue;
    }
    if (t.letters < 2 || t.capitals < 2) continue;  // "I", "Q3", "2024"
    size_t start = t.start;
    size_t end = t.end;
    while (start < end && (text[start] == '\'' || text[start] == '&')) {
      ++start;
    }
    while (end > start && (text[end - 1] == '\'' || text[end - 1] == '&')) {
      --end;
    }
    const re2::StringPiece word = Piece(text.substr(start, end - start));
    if (!RE2::FullMatch(word, *shouted_word)) continue;
    if (acronym != nullptr && RE2::FullMatch(word, *acronym)) continue;
    if (run_words == 0) run.start = start;
    run.end = end;
    ++run_words;
  }
  flush();
}

void RespectChecker::Impl::DropExcepted(
    absl::string_view text, std::vector<Candidate>* candidates) const {
  if (exceptions.empty()) return;
  // One pass of the set over the text finds which exceptions occur at all;
  // only those (and only for terms that matched) are run for their spans.
  std::vector<int> hits;
  RE2::Set::ErrorInfo info{RE2::Set::kNoError};
  if (!exception_set.Match(Piece(text), &hits, &info)) {
    if (info.kind == RE2::Set::kNoError) return;  // no exception occurs
    hits.resize(exceptions.size());  // DFA out of memory: run them all
    std::iota(hits.begin(), hits.end(), 0);
  }
  struct TermSpan {
    Span span;
    int term;
  };
  std::vector<TermSpan> spans;
  for (const int hit : hits) {
    const Exception& e = exceptions[hit];
    if (e.term >= 0 &&
        std::none_of(candidates->begin(), candidates->end(),
                     [&](const Candidate& c) { return c.term == e.term; })) {
      continue;
    }
    ForEachMatch(*e.regex, text, false, [&](size_t s, size_t end) {
      spans.push_back({{s, end}, e.term});
    });
  }
  candidates->erase(
      std::remove_if(candidates->begin(), candidates->end(),
                     [&](const Candidate& c) {
                       return std::any_of(
                           spans.begin(), spans.end(), [&](const TermSpan& t) {
                             return (t.term < 0 || t.term == c.term) &&
                                    Overlaps(t.span, c.span);
                           });
                     }),
      candidates->end());
}

void RespectChecker::Impl::ResolveOverlaps(
    std::vector<Candidate>* candidates) const {
  std::sort(candidates->begin(), candidates->end(),
            [](const Candidate& a, const Candidate& b) {
              if (a.span.start != b.span.start) {
                return a.span.start < b.span.start;
              }
              if (a.span.end != b.span.end) return a.span.end > b.span.end;
              return a.term < b.term;
            });
  std::vector<Candidate> kept;
  for (const Candidate& c : *candidates) {
    if (static_cast<int>(kept.size()) >= max_warnings) break;
    const bool redundant =
        std::any_of(kept.begin(), kept.end(), [&](const Candidate& k) {
          const bool inside =
              k.span.start <= c.span.start && c.span.end <= k.span.end;
          return inside || (k.term == c.term && Overlaps(k.span, c.span));
        });
    if (!redundant) kept.push_back(c);
  }
  *candidates = std::move(kept);
}

v1::RespectWarning RespectChecker::Impl::MakeWarning(
    const Candidate& candidate, absl::string_view original,
    const NormalizedText& normalized, absl::string_view field_path) const {
  size_t start = normalized.ToOriginal(candidate.span.start);
  size_t end = normalized.ToOriginal(candidate.span.end);
  // Spans from RE2 on valid UTF-8 already sit on code point boundaries; keep
  // the excerpt valid UTF-8 on invalid input too.
  while (start > 0 && IsContinuation(original[start])) --start;
  while (end < original.size() && IsContinuation(original[end])) ++end;
  const absl::string_view excerpt = original.substr(start, end - start);
  const Term& term = terms[candidate.term];

  v1::RespectWarning w;
  w.set_field(ToString(field_path));
  w.set_start(static_cast<uint32_t>(start));
  w.set_end(static_cast<uint32_t>(end));
  w.set_excerpt(ToString(excerpt));
  w.set_term(term.id);
  w.set_category(term.category);
  w.set_explanation(
      absl::StrReplaceAll(term.explanation, {{"{match}", excerpt}}));
  w.set_suggestion(
      absl::StrReplaceAll(term.suggestion, {{"{match}", excerpt}}));
  return w;
}

std::vector<v1::RespectWarning> RespectChecker::Impl::Check(
    absl::string_view text, absl::string_view field_path) const {
  const NormalizedText normalized(text);
  const absl::string_view view = normalized.view();
  std::vector<Candidate> candidates;
  FindTermMatches(view, &candidates);
  FindShouting(view, &candidates);
  if (candidates.empty()) return {};
  DropExcepted(view, &candidates);
  ResolveOverlaps(&candidates);
  std::vector<v1::RespectWarning> warnings;
  warnings.reserve(candidates.size());
  for (const Candidate& c : candidates) {
    warnings.push_back(MakeWarning(c, text, normalized, field_path));
  }
  return warnings;
}

// ---------------------------------------------------------------------------
// RespectChecker.

RespectChecker::RespectChecker(std::unique_ptr<const Impl> impl)
    : impl_(std::move(impl)) {}

RespectChecker::~RespectChecker() = default;

std::vector<v1::RespectWarning> RespectChecker::Check(
    absl::string_view text, absl::string_view field_path) const {
  return impl_->Check(text, field_path);
}

std::vector<v1::RespectWarning> RespectChecker::CheckFeedback(
    const v1::Feedback& feedback) const {
  std::vector<v1::RespectWarning> out;
  const auto add = [&](const std::string& text, absl::string_view path) {
    if (static_cast<int>(out.size()) >= impl_->max_warnings) return;
    std::vector<v1::RespectWarning> found = impl_->Check(text, path);
    const size_t room = impl_->max_warnings - out.size();
    if (found.size() > room) found.resize(room);
    std::move(found.begin(), found.end(), std::back_inserter(out));
  };
  switch (feedback.kind_case()) {
    case v1::Feedback::kReview:
      add(feedback.review().comment(), "review.comment");
      for (int i = 0; i < feedback.review().tags_size(); ++i) {
        add(feedback.review().tags(i), absl::StrCat("review.tags[", i, "]"));
      }
      break;
    case v1::Feedback::kInsight:
      add(feedback.insight().text(), "insight.text");
      break;
    case v1::Feedback::kNote:
      add(feedback.note().text(), "note.text");
      break;
    case v1::Feedback::kOutcome:
    case v1::Feedback::KIND_NOT_SET:
      break;
  }
  return out;
}

int32_t RespectChecker::version() const { return impl_->version; }

const std::string& RespectChecker::source_name() const {
  return impl_->source_name;
}

int RespectChecker::max_warnings() const { return impl_->max_warnings; }

std::vector<std::string> RespectChecker::term_ids() const {
  std::vector<std::string> ids;
  ids.reserve(impl_->terms.size());
  for (const auto& t : impl_->terms) ids.push_back(t.id);
  return ids;
}

// ---------------------------------------------------------------------------
// Validation and compilation.

namespace {

// Where a message of the lexicon sits in the text, if it was parsed.
struct Node {
  const pb::Descriptor* descriptor = nullptr;  // its type
  const ParseInfoTree* tree = nullptr;         // locations of its fields
  pb::TextFormat::ParseLocation location;      // its own location
  std::string path;                            // "terms[3]", "" for the root
  std::string label;                           // "term \"insult.x\"" or ""
};

class Compiler {
 public:
  Compiler(absl::string_view source_name, const ParseInfoTree* tree)
      : source_name_(source_name), tree_(tree) {}

  absl::StatusOr<std::shared_ptr<const RespectChecker>> Run(
      const v1::RespectLexicon& lexicon);

 private:
  using Impl = RespectChecker::Impl;

  Node Root() const {
    Node n;
    n.descriptor = v1::RespectLexicon::descriptor();
    n.tree = tree_;
    return n;
  }
  // Element `index` of the repeated message field `field_name` of the root.
  Node Child(absl::string_view field_name, int index,
             const pb::Descriptor* descriptor, std::string label) const;
  void Error(const Node& node, absl::string_view field_name, int index,
             absl::string_view problem);
  std::unique_ptr<const RE2> CompileRegex(const Node& node,
                                          absl::string_view field_name,
                                          int index, absl::string_view source,
                                          bool case_sensitive);
  void CompileTerm(const v1::RespectTerm& term, const Node& node, Impl* impl);
  void CompileShouting(const v1::RespectTerm& term, const Node& node,
                       Impl* impl);
  void RunExamples(const v1::RespectLexicon& lexicon,
                   const RespectChecker& checker);
  absl::Status Failure() const;

  std::string source_name_;
  const ParseInfoTree* tree_;
  std::vector<std::string> errors_;
  int dropped_errors_ = 0;
  absl::flat_hash_map<std::string, std::string> seen_ids_;  // id -> where
};

Node Compiler::Child(absl::string_view field_name, int index,
                     const pb::Descriptor* descriptor,
                     std::string label) const {
  Node n;
  n.descriptor = descriptor;
  const pb::FieldDescriptor* field =
      v1::RespectLexicon::descriptor()->FindFieldByName(ToString(field_name));
  if (tree_ != nullptr && field != nullptr) {
    n.tree = tree_->GetTreeForNested(field, index);
    n.location = tree_->GetLocation(field, index);
  }
  n.path = absl::StrCat(field_name, "[", index, "]");
  n.label = std::move(label);
  return n;
}

void Compiler::Error(const Node& node, absl::string_view field_name, int index,
                     absl::string_view problem) {
  if (static_cast<int>(errors_.size()) >= kMaxErrors) {
    ++dropped_errors_;
    return;
  }
  pb::TextFormat::ParseLocation where = node.location;
  if (node.tree != nullptr && !field_name.empty()) {
    const pb::FieldDescriptor* f =
        node.descriptor->FindFieldByName(ToString(field_name));
    if (f != nullptr) {
      // A repeated field without an index points at its first element.
      const pb::TextFormat::ParseLocation l =
          node.tree->GetLocation(f, f->is_repeated() ? std::max(index, 0) : -1);
      if (l.line >= 0) where = l;
    }
  }
  std::string field_path = node.path;
  if (!field_name.empty()) {
    absl::StrAppend(&field_path, field_path.empty() ? "" : ".", field_name);
    if (index >= 0) absl::StrAppend(&field_path, "[", index, "]");
  }
  std::string message = where.line >= 0
                            ? absl::StrCat(source_name_, ":", where.line + 1,
                                           ":", where.column + 1, ": ")
                            : absl::StrCat(source_name_, ": ");
  if (!node.label.empty()) absl::StrAppend(&message, node.label, ": ");
  if (!field_path.empty()) absl::StrAppend(&message, field_path, ": ");
  absl::StrAppend(&message, problem);
  errors_.push_back(std::move(message));
}

std::unique_ptr<const RE2> Compiler::CompileRegex(const Node& node,
                                                  absl::string_view field_name,
                                                  int index,
                                                  absl::string_view source,
                                                  bool case_sensitive) {
  if (source.empty() || source.size() > kMaxPatternBytes) {
    Error(node, field_name, index,
          absl::StrCat("must be 1-", kMaxPatternBytes, " bytes"));
    return nullptr;
  }
  // Compile as written first, so an unbalanced ")" cannot hide inside the
  // group WithCase wraps it in.
  const RE2 raw(Piece(source), RegexOptions(kRegexMaxMem));
  if (!raw.ok()) {
    Error(node, field_name, index,
          absl::StrCat(Quoted(source), " does not compile: ", raw.error()));
    return nullptr;
  }
  if (RE2::FullMatch("", raw)) {
    Error(node, field_name, index,
          absl::StrCat(Quoted(source), " matches the empty string"));
    return nullptr;
  }
  auto re = std::make_unique<const RE2>(Piece(WithCase(source, case_sensitive)),
                                        RegexOptions(kRegexMaxMem));
  if (!re->ok()) {
    Error(node, field_name, index,
          absl::StrCat(Quoted(source), " does not compile: ", re->error()));
    return nullptr;
  }
  return re;
}

// Adds `re` to `set`; the set's index must equal the caller's vector index.
bool AddToSet(RE2::Set* set, const RE2& re, int expected_index,
              std::string* error) {
  const int index = set->Add(re.pattern(), error);
  if (index < 0) return false;
  if (index != expected_index) {
    *error = "internal: regex set out of step";
    return false;
  }
  return true;
}

void Compiler::CompileShouting(const v1::RespectTerm& term, const Node& node,
                               Impl* impl) {
  if (term.phrases_size() > 0) {
    Error(node, "phrases", 0,
          "the all-caps rule takes no phrases: its patterns say what a "
          "shouted word is, its exceptions list the acronyms");
  }
  if (term.patterns_size() == 0) {
    Error(node, "patterns", -1,
          "the all-caps rule needs a pattern for a shouted word");
    return;
  }
  std::vector<std::string> words;
  for (int i = 0; i < term.patterns_size(); ++i) {
    if (CompileRegex(node, "patterns", i, term.patterns(i),
                     term.case_sensitive()) != nullptr) {
      words.push_back(absl::StrCat("(?:", term.patterns(i), ")"));
    }
  }
  std::vector<std::string> acronyms;
  for (int i = 0; i < term.exceptions_size(); ++i) {
    // Acronyms are compared with capitals, so "SaaS" matches "SAAS" unless
    // the term is case-sensitive.
    if (CompileRegex(node, "exceptions", i, term.exceptions(i),
                     term.case_sensitive()) != nullptr) {
      acronyms.push_back(absl::StrCat("(?:", term.exceptions(i), ")"));
    }
  }
  if (words.size() != static_cast<size_t>(term.patterns_size()) ||
      acronyms.size() != static_cast<size_t>(term.exceptions_size())) {
    return;  // errors reported above
  }
  impl->shouting_term = static_cast<int>(impl->terms.size()) - 1;
  auto word = std::make_unique<const RE2>(
      Piece(WithCase(absl::StrJoin(words, "|"), term.case_sensitive())),
      RegexOptions(kRegexMaxMem));
  if (!word->ok()) {
    Error(node, "patterns", -1,
          absl::StrCat("patterns do not compile together: ", word->error()));
    return;
  }
  impl->shouted_word = std::move(word);
  if (!acronyms.empty()) {
    auto acronym = std::make_unique<const RE2>(
        Piece(WithCase(absl::StrJoin(acronyms, "|"), term.case_sensitive())),
        RegexOptions(kSetMaxMem));
    if (!acronym->ok()) {
      Error(node, "exceptions", -1,
            absl::StrCat("exceptions do not compile together: ",
                         acronym->error()));
      return;
    }
    impl->acronym = std::move(acronym);
  }
}

void Compiler::CompileTerm(const v1::RespectTerm& term, const Node& node,
                           Impl* impl) {
  const int term_index = static_cast<int>(impl->terms.size());
  Impl::Term& compiled = impl->terms.emplace_back();
  compiled.id = term.id();
  compiled.category = term.category();
  compiled.explanation = term.explanation();
  compiled.suggestion = term.rephrase_hint();

  if (!IsValidTermId(term.id())) {
    Error(node, "id", -1,
          absl::StrCat(Quoted(term.id()),
                       " is not a term id: 1-64 bytes of dot-separated "
                       "lower-case words (\"insult.clueless\")"));
  } else {
    const std::string where =
        node.location.line >= 0 ? absl::StrCat("line ", node.location.line + 1)
                                : node.path;
    auto [it, inserted] = seen_ids_.try_emplace(term.id(), where);
    if (!inserted) {
      Error(node, "id", -1,
            absl::StrCat("duplicate id (first used by the term at ", it->second,
                         ")"));
    }
  }
  if (term.category() == v1::RESPECT_CATEGORY_UNSPECIFIED ||
      !v1::RespectCategory_IsValid(term.category())) {
    Error(node, "category", -1,
          "required: one of the RESPECT_CATEGORY_* values other than "
          "UNSPECIFIED");
  }
  if (term.explanation().empty() ||
      term.explanation().size() > kMaxTextFieldBytes) {
    Error(node, "explanation", -1,
          absl::StrCat("required, at most ", kMaxTextFieldBytes, " bytes"));
  }
  if (term.rephrase_hint().size() > kMaxTextFieldBytes) {
    Error(node, "rephrase_hint", -1,
          absl::StrCat("at most ", kMaxTextFieldBytes, " bytes"));
  }
  for (int i = 0; i < term.evidence_size(); ++i) {
    if (term.evidence(i).source().empty()) {
      Error(node, "evidence", i, "source is required");
    }
  }
  if (term.exceptions_size() > kMaxTermExceptions) {
    Error(node, "exceptions", -1,
          absl::StrCat("at most ", kMaxTermExceptions, " per term"));
    return;
  }

  if (term.id() == kShoutingTermId) {
    CompileShouting(term, node, impl);
    return;
  }

  if (term.phrases_size() == 0 && term.patterns_size() == 0) {
    Error(node, "", -1, "needs at least one phrase or pattern");
  }
  if (term.phrases_size() > kMaxPhrases) {
    Error(node, "phrases", -1, absl::StrCat("at most ", kMaxPhrases));
    return;
  }
  if (term.patterns_size() > kMaxPatterns) {
    Error(node, "patterns", -1, absl::StrCat("at most ", kMaxPatterns));
    return;
  }

  for (int i = 0; i < term.exceptions_size(); ++i) {
    // Exceptions are case-insensitive whatever the term says: they describe
    // harmless contexts, which do not depend on capitals.
    if (auto re = CompileRegex(node, "exceptions", i, term.exceptions(i),
                               /*case_sensitive=*/false)) {
      impl->exceptions.push_back({std::move(re), term_index});
    }
  }

  // Phrases: one alternation per term, longest first so "no clue at all"
  // wins over "no clue".
  std::vector<std::string> phrases;
  bool phrases_ok = true;
  for (int i = 0; i < term.phrases_size(); ++i) {
    const std::string& p = term.phrases(i);
    if (p.empty() || p.size() > kMaxPhraseBytes ||
        absl::StripAsciiWhitespace(p).empty()) {
      Error(node, "phrases", i,
            absl::StrCat("must be 1-", kMaxPhraseBytes,
                         " bytes, not only whitespace"));
      phrases_ok = false;
      continue;
    }
    phrases.push_back(p);
  }
  std::sort(phrases.begin(), phrases.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() != b.size() ? a.size() > b.size() : a < b;
            });
  if (phrases_ok && !phrases.empty()) {
    std::vector<std::string> alternatives;
    alternatives.reserve(phrases.size());
    for (const std::string& p : phrases) alternatives.push_back(PhraseRegex(p));
    auto re = std::make_unique<const RE2>(
        Piece(
            WithCase(absl::StrJoin(alternatives, "|"), term.case_sensitive())),
        RegexOptions(kRegexMaxMem));
    if (!re->ok()) {
      Error(node, "phrases", -1, absl::StrCat("do not compile: ", re->error()));
    } else {
      impl->matchers.push_back({std::move(re), term_index, true, false});
    }
  }

  for (int i = 0; i < term.patterns_size(); ++i) {
    if (auto re = CompileRegex(node, "patterns", i, term.patterns(i),
                               term.case_sensitive())) {
      const bool narrow = re->NumberOfCapturingGroups() > 0;
      impl->matchers.push_back({std::move(re), term_index, false, narrow});
    }
  }
}

void Compiler::RunExamples(const v1::RespectLexicon& lexicon,
                           const RespectChecker& checker) {
  for (int i = 0; i < lexicon.examples_size(); ++i) {
    const v1::RespectExample& example = lexicon.examples(i);
    const Node node = Child("examples", i, v1::RespectExample::descriptor(),
                            absl::StrCat("example ", Quoted(example.text())));
    if (example.text().empty()) {
      Error(node, "text", -1, "required");
      continue;
    }
    if (!example.expect_term().empty()) {
      if (!example.flags()) {
        Error(node, "expect_term", -1, "only allowed with flags: true");
        continue;
      }
      if (!seen_ids_.contains(example.expect_term())) {
        Error(node, "expect_term", -1,
              absl::StrCat("no term has id ", Quoted(example.expect_term())));
        continue;
      }
    }
    const std::vector<v1::RespectWarning> warnings =
        checker.Check(example.text(), "example");
    std::vector<std::string> found;
    found.reserve(warnings.size());
    for (const auto& w : warnings) {
      found.push_back(absl::StrCat(w.term(), " on ", Quoted(w.excerpt())));
    }
    if (example.flags() && warnings.empty()) {
      Error(node, "", -1, "expected a warning, got none");
    } else if (!example.flags() && !warnings.empty()) {
      Error(node, "", -1,
            absl::StrCat("expected no warning, got ",
                         absl::StrJoin(found, ", ")));
    } else if (!example.expect_term().empty() &&
               std::none_of(warnings.begin(), warnings.end(),
                            [&](const v1::RespectWarning& w) {
                              return w.term() == example.expect_term();
                            })) {
      Error(node, "", -1,
            absl::StrCat("expected term ", Quoted(example.expect_term()),
                         ", got ", absl::StrJoin(found, ", ")));
    }
  }
}

absl::Status Compiler::Failure() const {
  std::string message = absl::StrJoin(errors_, "\n");
  if (dropped_errors_ > 0) {
    absl::StrAppend(&message, "\n... and ", dropped_errors_, " more");
  }
  return absl::InvalidArgumentError(message);
}

absl::StatusOr<std::shared_ptr<const RespectChecker>> Compiler::Run(
    const v1::RespectLexicon& lexicon) {
  auto impl = std::make_unique<Impl>();
  impl->source_name = source_name_;
  impl->version = lexicon.version();
  impl->max_warnings =
      lexicon.max_warnings() == 0 ? kMaxWarnings : lexicon.max_warnings();

  const Node root = Root();
  if (lexicon.version() <= 0) Error(root, "version", -1, "required, > 0");
  if (lexicon.default_suggestion().empty() ||
      lexicon.default_suggestion().size() > kMaxTextFieldBytes) {
    Error(root, "default_suggestion", -1,
          absl::StrCat("required, at most ", kMaxTextFieldBytes, " bytes"));
  }
  if (lexicon.max_warnings() < 0 || lexicon.max_warnings() > kMaxWarnings) {
    Error(root, "max_warnings", -1,
          absl::StrCat("must be 0-", kMaxWarnings,
                       " (a SubmitFeedbackResponse carries at most ",
                       kMaxWarnings, " warnings)"));
  }
  if (lexicon.terms_size() > kMaxTerms) {
    Error(root, "terms", -1, absl::StrCat("at most ", kMaxTerms));
    return Failure();
  }
  if (lexicon.exceptions_size() > kMaxLexiconExceptions) {
    Error(root, "exceptions", -1,
          absl::StrCat("at most ", kMaxLexiconExceptions));
    return Failure();
  }
  if (lexicon.examples_size() > kMaxExamples) {
    Error(root, "examples", -1, absl::StrCat("at most ", kMaxExamples));
    return Failure();
  }

  for (int i = 0; i < lexicon.terms_size(); ++i) {
    const v1::RespectTerm& term = lexicon.terms(i);
    const Node node = Child("terms", i, v1::RespectTerm::descriptor(),
                            absl::StrCat("term ", Quoted(term.id())));
    CompileTerm(term, node, impl.get());
    Impl::Term& compiled = impl->terms.back();
    if (compiled.suggestion.empty()) {
      compiled.suggestion = lexicon.default_suggestion();
    }
  }
  for (int i = 0; i < lexicon.exceptions_size(); ++i) {
    if (auto re = CompileRegex(root, "exceptions", i, lexicon.exceptions(i),
                               /*case_sensitive=*/false)) {
      impl->exceptions.push_back({std::move(re), -1});
    }
  }
  if (!errors_.empty()) return Failure();

  std::string error;
  for (size_t i = 0; i < impl->matchers.size(); ++i) {
    if (!AddToSet(&impl->matcher_set, *impl->matchers[i].regex,
                  static_cast<int>(i), &error)) {
      Error(root, "terms", -1, absl::StrCat("regex set: ", error));
      return Failure();
    }
  }
  for (size_t i = 0; i < impl->exceptions.size(); ++i) {
    if (!AddToSet(&impl->exception_set, *impl->exceptions[i].regex,
                  static_cast<int>(i), &error)) {
      Error(root, "exceptions", -1, absl::StrCat("regex set: ", error));
      return Failure();
    }
  }
  if ((!impl->matchers.empty() && !impl->matcher_set.Compile()) ||
      (!impl->exceptions.empty() && !impl->exception_set.Compile())) {
    Error(root, "", -1,
          "the lexicon's regexes are too large to compile together");
    return Failure();
  }

  auto checker = std::make_shared<const RespectChecker>(std::move(impl));
  RunExamples(lexicon, *checker);
  if (!errors_.empty()) return Failure();
  return checker;
}

// Collects text-format syntax errors as "<source>:<line>:<column>: ...".
class LineErrorCollector : public pb::io::ErrorCollector {
 public:
  explicit LineErrorCollector(absl::string_view source_name)
      : source_name_(source_name) {}

  void AddError(int line, pb::io::ColumnNumber column,
                const std::string& message) override {
    if (errors_.size() < static_cast<size_t>(kMaxErrors)) {
      errors_.push_back(absl::StrCat(source_name_, ":", line + 1, ":",
                                     column + 1, ": ", message));
    }
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string source_name_;
  std::vector<std::string> errors_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const RespectChecker>> Compile(
    const v1::RespectLexicon& lexicon, absl::string_view source_name) {
  return Compiler(source_name, nullptr).Run(lexicon);
}

absl::StatusOr<std::shared_ptr<const RespectChecker>> ParseLexicon(
    absl::string_view text, absl::string_view source_name) {
  LineErrorCollector collector(source_name);
  ParseInfoTree tree;
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(&tree);
  v1::RespectLexicon lexicon;
  if (!parser.ParseFromString(ToString(text), &lexicon)) {
    if (collector.errors().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_name, ": not a text-format RespectLexicon"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(collector.errors(), "\n"));
  }
  return Compiler(source_name, &tree).Run(lexicon);
}

absl::StatusOr<std::shared_ptr<const RespectChecker>> LoadLexicon(
    absl::string_view path) {
  std::ifstream in{ToString(path), std::ios::binary};
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open respect lexicon ",
                                            path, ": ", std::strerror(errno)));
  }
  std::string text;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxLexiconFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": larger than ", kMaxLexiconFileBytes, " bytes"));
    }
  }
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": read failed"));
  }
  return ParseLexicon(text, path);
}

}  // namespace rapport::feedback::respect
