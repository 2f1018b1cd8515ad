#pragma once

// Small text helpers shared by derivation and validation: strict UTF-8
// checks, code-point-safe truncation and topic normalisation.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace rapport::profile::model {

// An owned copy of `text`. (Debian's Abseil has its own string_view whose
// conversion to std::string is an explicit operator; spelling it as a
// two-argument constructor keeps the intent plain.)
inline std::string ToString(absl::string_view text) {
  return std::string(text.data(), text.size());
}

// Longest normalised topic (Interaction.topics, Interest.topic), in bytes.
inline constexpr size_t kMaxTopicBytes = 128;

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// The longest prefix of `text` of at most `max_bytes` bytes that does not
// split a UTF-8 sequence. `text` must be valid UTF-8.
absl::string_view TruncateUtf8(absl::string_view text, size_t max_bytes);

// The canonical form of a topic, used as the interest key and for
// case-insensitive comparisons of priorities and challenges: Unicode NFC,
// lower case (ICU root locale: "Préstamos" and "PRÉSTAMOS" agree), every run
// of white space (Unicode White_Space) folded to one ASCII space, leading and
// trailing space removed, then cut to at most `max_bytes` on a code point
// boundary (at the last space when there is one in the second half, so a long
// priority keeps whole words). ASCII input takes a fast path without ICU.
// Empty for empty or all-space input. `text` must be valid UTF-8.
std::string NormalizeTopic(absl::string_view text,
                           size_t max_bytes = kMaxTopicBytes);

// True when `text` is already what NormalizeTopic() returns for it (cheap
// check for the common ASCII case; false for any non-ASCII text, which is
// then simply normalised again).
bool IsNormalizedAsciiTopic(absl::string_view text);

// True when `phrase` occurs in `text` as whole words: bounded on each side by
// the start/end of `text` or a byte that is not an ASCII letter or digit
// ("pricing" matches "pricing/packaging" and "new pricing", not
// "repricing"). Both are expected normalised (lower case).
bool ContainsPhrase(absl::string_view text, absl::string_view phrase);

}  // namespace rapport::profile::model
