#include "services/scoring/engine/text/phrase_index.h"

#include "absl/strings/str_cat.h"
#include "services/scoring/engine/text/utf8.h"

namespace rapport::scoring::engine::text {
namespace {

char32_t StraightenQuote(char32_t cp) {
  switch (cp) {
    case 0x2018:
    case 0x2019:
    case 0x02BC:
    case 0x2032:
      return '\'';
    case 0x201C:
    case 0x201D:
    case 0x2033:
      return '"';
    default:
      return cp;
  }
}

// True when `token_text` equals `exact` once its quotes are straightened.
bool EqualsQuoteNormalized(absl::string_view token_text,
                           absl::string_view exact) {
  size_t i = 0;
  size_t j = 0;
  char buf[4];
  while (i < token_text.size()) {
    char32_t cp;
    const int len = DecodeUtf8(token_text, i, &cp);
    if (cp == kInvalidCodePoint) return false;
    const char32_t s = StraightenQuote(cp);
    size_t n = 0;
    if (s == cp) {
      for (int k = 0; k < len; ++k) buf[n++] = token_text[i + k];
    } else {
      buf[n++] = static_cast<char>(s);
    }
    if (j + n > exact.size() ||
        exact.substr(j, n) != absl::string_view(buf, n)) {
      return false;
    }
    j += n;
    i += static_cast<size_t>(len);
  }
  return j == exact.size();
}

}  // namespace

void AppendQuoteNormalized(absl::string_view token_text, std::string* out) {
  size_t i = 0;
  while (i < token_text.size()) {
    char32_t cp;
    const int len = DecodeUtf8(token_text, i, &cp);
    if (cp == kInvalidCodePoint) {
      out->push_back(token_text[i]);
    } else {
      const char32_t s = StraightenQuote(cp);
      if (s == cp) {
        out->append(token_text.data() + i, static_cast<size_t>(len));
      } else {
        AppendUtf8(s, out);
      }
    }
    i += static_cast<size_t>(len);
  }
}

int PhraseIndex::Add(absl::string_view phrase, bool case_sensitive) {
  std::vector<Token> toks;
  std::string folded;
  Tokenize(phrase, &toks, &folded);
  if (toks.empty()) return -1;
  Entry e;
  e.case_sensitive = case_sensitive;
  std::string key = case_sensitive ? "1" : "0";
  for (size_t k = 0; k < toks.size(); ++k) {
    const Token& t = toks[k];
    e.tokens.emplace_back(FoldedText(folded, t));
    e.space_before.push_back(k > 0 && (t.flags & kSpaceBefore) != 0);
    if (case_sensitive) {
      std::string exact;
      AppendQuoteNormalized(phrase.substr(t.start, t.end - t.start), &exact);
      e.exact.push_back(std::move(exact));
    }
    absl::StrAppend(&key, e.space_before.back() ? " " : "\x01",
                    case_sensitive ? e.exact.back() : e.tokens.back());
  }
  if (auto it = dedupe_.find(key); it != dedupe_.end()) {
    return static_cast<int>(it->second);
  }
  if (e.tokens.size() > 1) {
    e.second_len = e.tokens[1].size();
    e.second_first = e.tokens[1].empty() ? '\0' : e.tokens[1][0];
  }
  const auto id = static_cast<uint32_t>(entries_.size());
  dedupe_.emplace(std::move(key), id);
  HeadFor(e.tokens[0]).entries.push_back(id);
  entries_.push_back(std::move(e));
  return static_cast<int>(id);
}

bool PhraseIndex::SetRole(absl::string_view word, uint8_t role) {
  std::vector<Token> toks;
  std::string folded;
  Tokenize(word, &toks, &folded);
  if (toks.size() != 1) return false;
  const absl::string_view key = FoldedText(folded, toks[0]);
  HeadFor(std::string(key.data(), key.size())).roles |= role;
  return true;
}

PhraseIndex::Head& PhraseIndex::HeadFor(const std::string& folded_token) {
  if (!folded_token.empty()) {
    const auto b = static_cast<unsigned char>(folded_token[0]);
    first_bytes_[b >> 6] |= uint64_t{1} << (b & 63);
  }
  const uint64_t prefix = Prefix(folded_token);
  for (size_t i = SlotOf(folded_token, prefix);; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.head == kEmptySlot) break;
    if (s.prefix == prefix && s.size == folded_token.size() &&
        head_words_[s.head] == folded_token) {
      return heads_[s.head];
    }
  }
  const auto head = static_cast<uint32_t>(heads_.size());
  heads_.emplace_back();
  head_words_.push_back(folded_token);
  // At most half full, so that a miss ends after a probe or two.
  if (2 * heads_.size() > slots_.size()) {
    slots_.assign(2 * slots_.size(), Slot{0, 0, kEmptySlot});
    mask_ = slots_.size() - 1;
    for (uint32_t h = 0; h < head; ++h) Insert(h);
  }
  Insert(head);
  return heads_[head];
}

void PhraseIndex::Insert(uint32_t head) {
  const std::string& word = head_words_[head];
  const uint64_t prefix = Prefix(word);
  size_t i = SlotOf(word, prefix);
  while (slots_[i].head != kEmptySlot) i = (i + 1) & mask_;
  slots_[i] = Slot{prefix, static_cast<uint32_t>(word.size()), head};
}

size_t PhraseIndex::MatchEntryAt(uint32_t e, const TokenSpan& span, size_t i,
                                 size_t limit) const {
  const Entry& entry = entries_[e];
  const std::vector<Token>& toks = *span.tokens;
  const size_t n = entry.tokens.size();
  if (i + n > limit) return 0;
  for (size_t k = 0; k < n; ++k) {
    const Token& t = toks[i + k];
    if (k > 0) {
      const bool space = (t.flags & kSpaceBefore) != 0;
      if (space != entry.space_before[k]) return 0;
    }
    if (!EqualBytes(FoldedText(span.folded, t), entry.tokens[k])) return 0;
    if (entry.case_sensitive &&
        !EqualsQuoteNormalized(span.text.substr(t.start, t.end - t.start),
                               entry.exact[k])) {
      return 0;
    }
  }
  return n;
}

size_t PhraseIndex::LongestAt(const TokenSpan& span, size_t i,
                              size_t limit) const {
  if (i >= limit) return 0;
  const Head* head = FindHead(FoldedText(span.folded, (*span.tokens)[i]));
  if (head == nullptr) return 0;
  size_t best = 0;
  for (uint32_t e : head->entries) {
    const size_t n = MatchEntryAt(e, span, i, limit);
    if (n > best) best = n;
  }
  return best;
}

}  // namespace rapport::scoring::engine::text
