#include "services/scoring/engine/text/structure.h"

#include <algorithm>

#include "absl/strings/strip.h"

namespace rapport::scoring::engine::text {
namespace {

// Sign-off lines are followed by at most this many lines (name, title,
// company, phone) before the end of the draft or the quoted reply.
constexpr size_t kMaxSignatureTailLines = 6;
// A signature line holds at most this many word-like tokens.
constexpr size_t kMaxSignatureLineWords = 10;
// A greeting names at most this many words ("Mary Ann", "Jean-Luc Picard").
constexpr size_t kMaxGreetingNameWords = 3;

struct Line {
  uint32_t begin;  // token range
  uint32_t end;
};

bool IsPunct(const Token& t) { return t.kind == TokenKind::kPunct; }

// RE2 of Debian bookworm takes its own StringPiece, not absl::string_view.
re2::StringPiece Piece(absl::string_view s) {
  return re2::StringPiece(s.data(), s.size());
}

bool InList(absl::string_view s, const std::vector<absl::string_view>& list) {
  return std::any_of(list.begin(), list.end(),
                     [&](absl::string_view x) { return EqualBytes(x, s); });
}

// The line table of the field being analysed, kept per thread so that
// analysing a draft allocates nothing once warm.
std::vector<Line>& ThreadLines() {
  thread_local std::vector<Line> lines;
  return lines;
}

class Analyzer {
 public:
  Analyzer(const TextConfig& config, const NameHints& names, FieldText* f)
      : config_(config), names_(names), f_(*f), lines_(ThreadLines()) {}

  void Run(bool is_body) {
    if (is_body) {
      BuildLines();
      const size_t quote_line = FindQuotedReply();
      FindSignature(quote_line);
      FindGreeting(quote_line);
    }
    BuildParagraphs();
    SplitSentences(config_, &f_);
  }

 private:
  void BuildLines() {
    lines_.clear();
    const auto n = static_cast<uint32_t>(f_.tokens.size());
    uint32_t begin = 0;
    for (uint32_t i = 1; i <= n; ++i) {
      if (i == n || f_.tokens[i].newlines_before > 0) {
        if (begin < i) lines_.push_back(Line{begin, i});
        begin = i;
      }
    }
  }

  void MarkRegion(uint32_t begin, uint32_t end, Region region) {
    for (uint32_t i = begin; i < end; ++i) f_.tokens[i].region = region;
  }

  absl::string_view LineText(const Line& l) const {
    return f_.text.substr(f_.tokens[l.begin].start,
                          f_.tokens[l.end - 1].end - f_.tokens[l.begin].start);
  }

  bool IsQuoteHeader(size_t li) const {
    if (config_.quote_header == nullptr) return false;
    const Line& l = lines_[li];
    // Cheap pre-filter: a header has a colon or starts with a rule of dashes
    // or underscores, or with "On" (the attribution may wrap).
    bool candidate = false;
    const absl::string_view first = f_.Folded(l.begin);
    if (first == "-" || first == "_" || first == "on") candidate = true;
    for (uint32_t i = l.begin; i < l.end && !candidate; ++i) {
      if (f_.Folded(i) == ":") candidate = true;
    }
    if (!candidate) return false;
    if (RE2::PartialMatch(Piece(LineText(l)), *config_.quote_header)) {
      return true;
    }
    // A wrapped attribution: "On Tue, 3 Mar 2024 at 10:00, Bob Blah <"
    // + "bob@blah.com> wrote:".
    if (first == "on" && li + 1 < lines_.size()) {
      const Line& next = lines_[li + 1];
      const uint32_t start = f_.tokens[l.begin].start;
      const absl::string_view joined =
          f_.text.substr(start, f_.tokens[next.end - 1].end - start);
      return RE2::PartialMatch(Piece(joined), *config_.quote_header);
    }
    return false;
  }

  // Marks quoted text and answers the index of the line that starts the
  // quoted reply (lines_.size() when there is none).
  size_t FindQuotedReply() {
    size_t quote_line = lines_.size();
    for (size_t li = 0; li < lines_.size(); ++li) {
      const Line& l = lines_[li];
      if (f_.Folded(l.begin) == ">") {
        MarkRegion(l.begin, l.end, Region::kQuoted);
        continue;
      }
      if (IsQuoteHeader(li)) {
        quote_line = li;
        break;
      }
    }
    if (quote_line < lines_.size()) {
      MarkRegion(lines_[quote_line].begin,
                 static_cast<uint32_t>(f_.tokens.size()), Region::kQuoted);
    }
    return quote_line;
  }

  size_t LineWords(const Line& l) const {
    size_t words = 0;
    for (uint32_t i = l.begin; i < l.end; ++i) {
      if (CountsAsWord(f_.tokens[i])) ++words;
    }
    return words;
  }

  // True when tokens [from, end) are only punctuation and at most three
  // capitalised words (the "Bob" of "Best, Bob").
  bool OnlyNameAndPunct(uint32_t from, uint32_t end) const {
    size_t words = 0;
    for (uint32_t i = from; i < end; ++i) {
      const Token& t = f_.tokens[i];
      if (IsPunct(t)) {
        if (t.flags & kHasQuestion) return false;
        continue;
      }
      if (t.kind != TokenKind::kWord || !(t.flags & kCapitalized)) return false;
      if (++words > 3) return false;
    }
    return true;
  }

  bool IsSignoffLine(const Line& l) const {
    const size_t n = config_.signoffs.LongestAt(f_.span(), l.begin, l.end);
    return n > 0 && OnlyNameAndPunct(l.begin + static_cast<uint32_t>(n), l.end);
  }

  bool IsMobileSignatureLine(const Line& l) const {
    const size_t n =
        config_.mobile_signatures.LongestAt(f_.span(), l.begin, l.end);
    if (n == 0) return false;
    for (uint32_t i = l.begin + static_cast<uint32_t>(n); i < l.end; ++i) {
      if (!IsPunct(f_.tokens[i])) return false;
    }
    return true;
  }

  bool IsSenderNameLine(const Line& l) const {
    if (names_.sender.empty()) return false;
    size_t matched = 0;
    for (uint32_t i = l.begin; i < l.end; ++i) {
      const Token& t = f_.tokens[i];
      if (IsPunct(t)) continue;
      if (!InList(f_.Folded(i), names_.sender)) return false;
      ++matched;
    }
    return matched > 0;
  }

  bool IsDelimiterLine(const Line& l) const {
    // "-- " (RFC 3676 signature separator).
    return l.end - l.begin == 2 && f_.Folded(l.begin) == "-" &&
           f_.Folded(l.begin + 1) == "-" &&
           !(f_.tokens[l.begin + 1].flags & kSpaceBefore);
  }

  void FindSignature(size_t quote_line) {
    size_t sig_line = quote_line;
    // An explicit delimiter or a mobile signature anywhere in the own text.
    for (size_t li = 1; li < quote_line; ++li) {
      const Line& l = lines_[li];
      if (f_.tokens[l.begin].region == Region::kQuoted) continue;
      if (IsDelimiterLine(l) || IsMobileSignatureLine(l)) {
        sig_line = li;
        break;
      }
    }
    // A sign-off ("Best,", "Thanks, Bob") followed only by short lines.
    size_t tail = 0;
    for (size_t li = std::min(sig_line, lines_.size()); li-- > 1;) {
      const Line& l = lines_[li];
      if (f_.tokens[l.begin].region == Region::kQuoted) continue;
      const Token& last = f_.tokens[l.end - 1];
      const bool short_line = LineWords(l) <= kMaxSignatureLineWords &&
                              !(last.flags & kHasQuestion);
      if (!short_line) break;
      if (IsSignoffLine(l) || (tail == 0 && IsSenderNameLine(l))) {
        sig_line = li;
      }
      if (++tail > kMaxSignatureTailLines) break;
    }
    if (sig_line < quote_line) {
      const uint32_t end = quote_line < lines_.size()
                               ? lines_[quote_line].begin
                               : static_cast<uint32_t>(f_.tokens.size());
      for (uint32_t i = lines_[sig_line].begin; i < end; ++i) {
        if (f_.tokens[i].region == Region::kScored) {
          f_.tokens[i].region = Region::kSignature;
        }
      }
    }
  }

  bool IsRecipientName(uint32_t i) const {
    return InList(f_.Folded(i), names_.recipient);
  }

  static bool IsGreetingTerminator(absl::string_view p) {
    return p == "," || p == "!" || p == ":" || p == "-" ||
           p == "\xE2\x80\x94" || p == "\xE2\x80\x93" || p == "\xE2\x80\xA6" ||
           p == "..." || p == ".";
  }

  // Name words: capitalised words (not "I") starting at `i`, at most three;
  // answers the end.
  uint32_t ScanNames(uint32_t i, uint32_t end) const {
    uint32_t j = i;
    while (j < end && j - i < kMaxGreetingNameWords) {
      const Token& t = f_.tokens[j];
      if (t.kind != TokenKind::kWord || !(t.flags & kCapitalized)) break;
      if (f_.Folded(j) == "i") break;
      ++j;
    }
    return j;
  }

  void FindGreeting(size_t quote_line) {
    if (lines_.empty() || quote_line == 0) return;
    const Line& l = lines_[0];
    if (f_.tokens[l.begin].region != Region::kScored) return;
    const TokenSpan span = f_.span();
    Greeting g;
    uint32_t i = l.begin;
    const size_t gw = config_.greeting_words.LongestAt(span, i, l.end);
    if (gw > 0) {
      g.has_greeting_word = true;
      i += static_cast<uint32_t>(gw);
      if (i < l.end && f_.Folded(i) == ",") ++i;  // "Hello, Mitch"
      const size_t gs = config_.generic_salutations.LongestAt(span, i, l.end);
      if (gs > 0) {
        g.generic = true;
        g.generic_begin = i;
        g.generic_end = i + static_cast<uint32_t>(gs);
        i = g.generic_end;
      } else {
        // "Dear Mr. Grant": skip honorifics and their period.
        while (i < l.end) {
          const size_t h = config_.honorifics.LongestAt(span, i, l.end);
          if (h == 0) break;
          i += static_cast<uint32_t>(h);
          if (i < l.end && f_.Folded(i) == "." &&
              !(f_.tokens[i].flags & kSpaceBefore)) {
            ++i;
          }
        }
        g.name_begin = i;
        g.name_end = ScanNames(i, l.end);
        i = g.name_end;
      }
      if (i < l.end && IsGreetingTerminator(f_.Folded(i))) ++i;
    } else {
      // A bare name: "Mitchell," - on a line of its own, or naming the
      // recipient ("Mitchell, my name is ...").
      const uint32_t name_end = ScanNames(i, l.end);
      if (name_end == i || name_end >= l.end) return;
      if (!IsGreetingTerminator(f_.Folded(name_end)) ||
          f_.Folded(name_end) == ".") {
        return;
      }
      if (config_.signoffs.LongestAt(span, i, l.end) > 0) return;
      bool names_recipient = false;
      for (uint32_t k = i; k < name_end; ++k) {
        if (IsRecipientName(k)) names_recipient = true;
      }
      if (!names_recipient && name_end + 1 != l.end) return;
      g.name_begin = i;
      g.name_end = name_end;
      i = name_end + 1;
    }
    g.found = true;
    g.tok_begin = l.begin;
    g.tok_end = i;
    MarkRegion(g.tok_begin, g.tok_end, Region::kGreeting);
    f_.greeting = g;
  }

  void BuildParagraphs() {
    f_.paragraphs.clear();
    f_.words = 0;
    f_.scored_start = 0;
    f_.scored_end = 0;
    bool first_scored = true;
    Paragraph p;
    bool open = false;
    bool prev_scored = false;
    for (uint32_t i = 0; i < f_.tokens.size(); ++i) {
      const Token& t = f_.tokens[i];
      const bool scored = t.region == Region::kScored;
      if (!scored) {
        prev_scored = false;
        continue;
      }
      if (first_scored) {
        f_.scored_start = t.start;
        first_scored = false;
      }
      f_.scored_end = t.end;
      if (open && (!prev_scored || t.newlines_before >= 2)) {
        f_.paragraphs.push_back(p);
        open = false;
      }
      if (!open) {
        p = Paragraph{};
        p.tok_begin = i;
        p.start = t.start;
        open = true;
      }
      p.tok_end = i + 1;
      p.end = t.end;
      if (CountsAsWord(t)) {
        ++p.words;
        ++f_.words;
      }
      prev_scored = true;
    }
    if (open) f_.paragraphs.push_back(p);
  }

  const TextConfig& config_;
  const NameHints& names_;
  FieldText& f_;
  std::vector<Line>& lines_;
};

}  // namespace

bool TextConfig::AddAbbreviation(absl::string_view written,
                                 absl::flat_hash_set<std::string>* set) {
  std::vector<Token> toks;
  std::string folded;
  Tokenize(written, &toks, &folded);
  if (toks.empty() || toks[0].kind != TokenKind::kWord) return false;
  if (toks.size() > 2) return false;
  if (toks.size() == 2 && FoldedText(folded, toks[1]) != ".") return false;
  absl::string_view word = FoldedText(folded, toks[0]);
  absl::ConsumeSuffix(&word, ".");
  set->emplace(word.data(), word.size());
  return true;
}

void AnalyzeField(absl::string_view text, bool is_body,
                  const TextConfig& config, const NameHints& names,
                  FieldText* out) {
  out->text = text;
  out->greeting = Greeting{};
  Tokenize(text, &out->tokens, &out->folded);
  out->valid_utf8 = std::none_of(
      out->tokens.begin(), out->tokens.end(),
      [](const Token& t) { return t.kind == TokenKind::kInvalid; });
  out->text = text.substr(0, std::min<size_t>(text.size(), UINT32_MAX));
  Analyzer(config, names, out).Run(is_body);
}

}  // namespace rapport::scoring::engine::text
