#pragma once

// The engine's built-in detectors: signals that are not a list of phrases
// (word counts, name use, question counts, overlap with the profile ...).
// A rule names one in `detector`, tunes it with `params` and may list in
// `lexicons` the reserved lexicons it reads (for reviewers; the engine
// checks that the detector really reads them). rules/README.md documents
// each detector for people who edit the rules file.

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace rapport::scoring::engine {

enum class Detector : uint8_t {
  kNone,  // a text rule: phrases, patterns, lexicons
  kSelfFocusRatio,
  kRecipientFocus,
  kSelfOpening,
  kSellerMentions,
  kWordCountMax,
  kWordCountMin,
  kSubjectLength,
  kEmptySubject,
  kAskCount,
  kParagraphLength,
  kMergeFields,
  kFormalName,
  kWrongName,
  kNoName,
  kRelevanceMissing,
  kRelevanceOverlap,
  kKnowledgeGap,
  kQuestionMin,
  kQuestionMax,
  kClosedQuestions,
  kOpenQuestions,
  kWhyNowMissing,
  kConsequence,
  kReadingGrade,
  kSentenceLength,
  kDoNotContact,
  kFatigue,
  kAllCapsRun,
};

inline constexpr size_t kMaxDetectorParams = 3;
inline constexpr size_t kMaxDetectorLexicons = 5;

struct DetectorParam {
  absl::string_view name;
  double default_value;
};

struct DetectorSpec {
  absl::string_view name;
  Detector detector;
  // Reserved lexicons it reads.
  std::array<absl::string_view, kMaxDetectorLexicons> lexicons;
  std::array<DetectorParam, kMaxDetectorParams> params;
  // False when what the detector reads cannot be written as a rule example
  // (examples carry a Contact, not a derived Profile with fatigue): its rule
  // then needs no firing example.
  bool example_can_fire = true;
};

// The spec of a detector by name, or nullptr.
const DetectorSpec* FindDetector(absl::string_view name);
// The spec of a detector.
const DetectorSpec& GetDetectorSpec(Detector d);

}  // namespace rapport::scoring::engine
