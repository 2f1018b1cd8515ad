#pragma once

// Token-level phrase matching: the engine's answer to "which of these 2,000
// words and phrases occur in this draft" in one pass with one hash lookup
// per token and no allocation.
//
// Phrases are tokenized exactly like drafts, so matching is on word
// boundaries by construction. As rules.proto says: case-insensitive unless
// case-sensitive, typographic quotes read as straight ones, and whitespace
// between two words of a phrase matches any run of whitespace (including
// line breaks) while tokens written together ("best-in-class", "#1") must be
// together in the draft too.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "services/scoring/engine/text/tokenizer.h"

namespace rapport::scoring::engine::text {

// A tokenized field as the matchers see it.
struct TokenSpan {
  const std::vector<Token>* tokens = nullptr;
  absl::string_view folded;  // fold buffer of the tokens
  absl::string_view text;    // original text (for case-sensitive phrases)
};

class PhraseIndex {
 public:
  // What is known about a folded token that starts at least one phrase or
  // carries word roles.
  struct Head {
    uint8_t roles = 0;              // bits given with SetRole()
    std::vector<uint32_t> entries;  // phrases starting with this token
  };

  // Adds a phrase and answers its entry id (dense, from 0), or -1 when the
  // phrase has no tokens. Adding the same phrase twice (same folded tokens,
  // gaps and case sensitivity) answers the first id.
  int Add(absl::string_view phrase, bool case_sensitive);

  // Marks the one-token phrase `word` (folded like draft tokens) with role
  // bits, answered by FindHead(). Returns false if `word` is not exactly one
  // token.
  bool SetRole(absl::string_view word, uint8_t role);

  // The head for a folded token, or nullptr. Tokens whose first byte starts
  // no head are answered without hashing.
  const Head* FindHead(absl::string_view folded_token) const {
    if (folded_token.empty()) return nullptr;
    const auto b = static_cast<unsigned char>(folded_token[0]);
    if (!((first_bytes_[b >> 6] >> (b & 63)) & 1U)) return nullptr;
    const uint64_t prefix = Prefix(folded_token);
    const size_t n = folded_token.size();
    for (size_t i = SlotOf(folded_token, prefix);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.head == kEmptySlot) return nullptr;
      if (s.prefix == prefix && s.size == n &&
          (n <= 8 || EqualBytes(head_words_[s.head], folded_token))) {
        return &heads_[s.head];
      }
    }
  }

  // Number of tokens of entry `e` if it matches starting at token `i` of
  // `span`, using only tokens before `limit`; 0 otherwise.
  size_t MatchEntryAt(uint32_t e, const TokenSpan& span, size_t i,
                      size_t limit) const;

  // Calls fn(entry, token_count) for every entry of `head` (the head of
  // token i) that matches at token `i`. Entries whose second token cannot
  // match are rejected on its length and first byte before any comparison.
  template <typename Fn>
  void ForEachMatchAt(const Head& head, const TokenSpan& span, size_t i,
                      size_t limit, Fn&& fn) const {
    const std::vector<Token>& toks = *span.tokens;
    size_t next_len = 0;
    char next_first = 0;
    if (i + 1 < limit) {
      const Token& t = toks[i + 1];
      next_len = t.fold_len;
      next_first = next_len > 0 ? span.folded[t.fold_start] : 0;
    }
    for (uint32_t e : head.entries) {
      const Entry& entry = entries_[e];
      if (entry.tokens.size() > 1 &&
          (i + 1 >= limit || entry.second_len != next_len ||
           entry.second_first != next_first)) {
        continue;
      }
      const size_t n = MatchEntryAt(e, span, i, limit);
      if (n > 0) fn(e, n);
    }
  }

  // Length in tokens of the longest phrase matching at token `i` (0: none).
  size_t LongestAt(const TokenSpan& span, size_t i, size_t limit) const;

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  size_t TokenCount(uint32_t e) const { return entries_[e].tokens.size(); }

 private:
  struct Entry {
    std::vector<std::string> tokens;  // folded
    std::vector<std::string> exact;   // quote-normalised original (cs only)
    std::vector<bool> space_before;   // per token; [0] unused
    bool case_sensitive = false;
    // Quick reject on the second token: its folded length and first byte.
    size_t second_len = 0;
    char second_first = 0;
  };
  Head& HeadFor(const std::string& folded_token);

  // The heads are looked up once per token of every draft, so they sit in
  // an open-addressing table made for short words rather than in a general
  // hash map: a slot holds the word's first 8 bytes and its length, so a
  // word of up to 8 bytes (most of them) is found with one comparison of
  // two integers, and only longer words compare their remaining bytes.
  struct Slot {
    uint64_t prefix = 0;  // the first 8 bytes, zero-padded
    uint32_t size = 0;    // bytes of the word (cut at 2^32 - 1)
    uint32_t head = 0;    // index in heads_, or kEmptySlot
  };
  static constexpr uint32_t kEmptySlot = 0xFFFFFFFF;
  // The first min(8, size) bytes of `s` as an integer, zero-padded; loads
  // that overlap instead of a loop over the bytes.
  static uint64_t Prefix(absl::string_view s) {
    const size_t n = s.size();
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    if (n >= 8) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
    if (n >= 4) {
      uint32_t lo;
      uint32_t hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + n - 4, 4);
      // Bytes [4, n) are the top n - 4 bytes of `hi`.
      return uint64_t{lo} | ((uint64_t{hi} >> (8 * (8 - n))) << 32);
    }
    if (n == 0) return 0;
    return uint64_t{p[0]} | (uint64_t{p[n / 2]} << (8 * (n / 2))) |
           (uint64_t{p[n - 1]} << (8 * (n - 1)));
  }
  size_t SlotOf(absl::string_view s, uint64_t prefix) const {
    uint64_t h = prefix ^ (uint64_t{s.size()} << 56);
    if (s.size() > 8) {
      uint64_t last;
      std::memcpy(&last, s.data() + s.size() - 8, 8);
      h ^= last * 0xC2B2AE3D27D4EB4FULL;
    }
    h *= 0x9E3779B97F4A7C15ULL;
    return static_cast<size_t>(h >> 32) & mask_;
  }
  void Insert(uint32_t head);

  std::vector<Head> heads_;
  std::vector<std::string> head_words_;  // heads_[i] starts with word i
  std::vector<Slot> slots_ = std::vector<Slot>(16, Slot{0, 0, kEmptySlot});
  size_t mask_ = 15;
  uint64_t first_bytes_[4] = {0, 0, 0, 0};  // first bytes of the heads
  absl::flat_hash_map<std::string, uint32_t> dedupe_;
  std::vector<Entry> entries_;
};

// The original bytes of a token with typographic quotes made straight (the
// form case-sensitive phrases are compared in), appended to `out`.
void AppendQuoteNormalized(absl::string_view token_text, std::string* out);

}  // namespace rapport::scoring::engine::text
