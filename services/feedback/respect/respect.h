#pragma once

// The respect check of feedback-service (issue 5, item 4): flags disdainful or
// contemptuous wording about customers or colleagues in internal feedback
// text ("they are clueless", "those sellers are incompetent", "Turkeys!") and
// answers each flag with the span, why it is a problem and a constructive
// rephrasing. It only reports: nothing is censored, rewritten or blocked.
//
// Pure: no gRPC, no Redis, no I/O except LoadLexicon reading its file. All
// wording lives in a RespectLexicon data file (schema:
// protos/rapport/feedback/v1/respect.proto; the default is lexicon.textproto
// beside this header, documented in README.md there).
//
// A RespectChecker is immutable once built and safe to use from any number of
// threads; feedback-service holds a std::shared_ptr<const RespectChecker> and
// swaps in a new one on reload (SIGHUP) while calls in flight finish on the
// old one. A lexicon that fails to load is refused as a whole, with every
// problem listed as "<source>:<line>:<column>: <what is wrong>".
//
// Matching (RespectTerm in respect.proto, plus what the schema leaves open):
//   * Text is matched with curly quotes and apostrophes read as straight ones
//     and no-break spaces as spaces; reported offsets are always byte offsets
//     into the text as given (UTF-8, end exclusive, on code point
//     boundaries).
//   * Phrases: case-insensitive unless the term says otherwise, whitespace
//     runs match any whitespace run, an apostrophe may be left out ("dont"
//     matches "don't"), and they match whole words only: a letter or digit
//     (any script) right before or after the phrase prevents the match, so
//     "cunt" never fires inside "Scunthorpe" nor "clue" inside "clueless".
//   * Patterns: RE2, case-insensitive unless the term says otherwise. When a
//     pattern has a capturing group, the warning spans group 1 (RE2 has no
//     look-around: match the context, report the word); otherwise the whole
//     match. Use (?:...) for grouping that should not narrow the span.
//   * Exceptions (per term and lexicon-wide): RE2, case-insensitive; a match
//     whose reported span overlaps an exception's match is dropped.
//   * Overlaps: a warning whose span lies inside another warning's span is
//     dropped (one warning per stretch of text; the longer wins, then the
//     term listed first), as is a second overlapping match of the same term.
//     Warnings come in text order, at most max_warnings per call.
//   * The term with id kShoutingTermId is the all-caps rule, not a word
//     list: a run of at least kShoutingMinWords shouted words with no word
//     containing a lower-case letter between them is flagged, from the first
//     to the last shouted word. A shouted word is a token of letters, digits,
//     apostrophes and '&' with at least two letters, none lower-case, that
//     fully matches one of the term's patterns and none of its exceptions
//     (the acronym allowlist: ROI, EMEA, Q3, B2B...). Acronyms and one-letter
//     words ("I", "A") neither count nor break a run.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapport/feedback/v1/feedback.pb.h"
#include "rapport/feedback/v1/respect.pb.h"

namespace rapport::feedback::respect {

// Id of the all-caps ("shouting") term; see the header comment.
inline constexpr absl::string_view kShoutingTermId = "shouting.all_caps";
// Shouted words a run needs before it is flagged.
inline constexpr int kShoutingMinWords = 3;
// Upper bound of RespectLexicon.max_warnings, and its value when 0:
// SubmitFeedbackResponse carries at most 20 warnings.
inline constexpr int kMaxWarnings = 20;
// Largest lexicon file LoadLexicon reads.
inline constexpr size_t kMaxLexiconFileBytes = 4 << 20;

class RespectChecker {
 public:
  // Compiled form; defined in respect.cc. Build checkers with Compile,
  // ParseLexicon or LoadLexicon.
  class Impl;
  explicit RespectChecker(std::unique_ptr<const Impl> impl);
  ~RespectChecker();
  RespectChecker(const RespectChecker&) = delete;
  RespectChecker& operator=(const RespectChecker&) = delete;

  // Warnings for `text`, the UTF-8 value of the Feedback field at
  // `field_path` ("note.text", "review.tags[2]"), in text order, at most
  // max_warnings(). Each has field = field_path, start/end byte offsets into
  // `text`, the excerpt text[start, end), the term id and category, and the
  // term's explanation and suggestion with {match} replaced by the excerpt.
  // Empty when nothing is disdainful. Never fails; invalid UTF-8 is matched
  // as well as it can be.
  std::vector<v1::RespectWarning> Check(absl::string_view text,
                                        absl::string_view field_path) const;

  // Check over every respect-checked field of `feedback` (review.comment,
  // review.tags[i], insight.text, note.text), in that order, at most
  // max_warnings() in all.
  std::vector<v1::RespectWarning> CheckFeedback(
      const v1::Feedback& feedback) const;

  // RespectLexicon.version of the lexicon this checker was built from.
  int32_t version() const;
  // Where the lexicon came from (a path, or the name given to Compile).
  const std::string& source_name() const;
  // Effective cap on warnings per call (RespectLexicon.max_warnings, 0 → 20).
  int max_warnings() const;
  // Term ids in lexicon order (e.g. to pre-register metric label values).
  std::vector<std::string> term_ids() const;

 private:
  std::unique_ptr<const Impl> impl_;
};

// Validates and compiles `lexicon`. `source_name` prefixes error messages
// ("<source_name>: terms[3] (\"insult.x\").patterns[1]: ..."). Errors:
// INVALID_ARGUMENT listing every problem found (up to 20): missing required
// fields, limits of respect.proto, duplicate or malformed term ids, RE2
// patterns or exceptions that do not compile or match the empty string
// (naming the term id), examples that do not behave as stated.
absl::StatusOr<std::shared_ptr<const RespectChecker>> Compile(
    const v1::RespectLexicon& lexicon, absl::string_view source_name);

// Parses text-format `text` and compiles it; errors carry
// "<source_name>:<line>:<column>: " (1-based), for syntax errors, unknown
// fields and every semantic problem Compile reports.
absl::StatusOr<std::shared_ptr<const RespectChecker>> ParseLexicon(
    absl::string_view text, absl::string_view source_name);

// Reads the text-format lexicon at `path` and compiles it, as ParseLexicon
// with source_name = path. NOT_FOUND if the file cannot be opened,
// INVALID_ARGUMENT if it is larger than kMaxLexiconFileBytes or invalid.
absl::StatusOr<std::shared_ptr<const RespectChecker>> LoadLexicon(
    absl::string_view path);

}  // namespace rapport::feedback::respect
