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
    auto it = heads_.find(folded_token);
    return it == heads_.end() ? nullptr : &it->second;
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

  // absl's string hash, looked up by string_view, with an inline
  // comparison (see EqualBytes).
  struct TokenHash {
    using is_transparent = void;
    size_t operator()(absl::string_view s) const {
      return absl::Hash<absl::string_view>{}(s);
    }
  };
  struct TokenEq {
    using is_transparent = void;
    bool operator()(absl::string_view a, absl::string_view b) const {
      return EqualBytes(a, b);
    }
  };
  absl::flat_hash_map<std::string, Head, TokenHash, TokenEq> heads_;
  uint64_t first_bytes_[4] = {0, 0, 0, 0};  // first bytes of the heads
  absl::flat_hash_map<std::string, uint32_t> dedupe_;
  std::vector<Entry> entries_;
};

// The original bytes of a token with typographic quotes made straight (the
// form case-sensitive phrases are compared in), appended to `out`.
void AppendQuoteNormalized(absl::string_view token_text, std::string* out);

}  // namespace rapport::scoring::engine::text
