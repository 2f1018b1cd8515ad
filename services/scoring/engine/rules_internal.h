#pragma once

// The compiled form of a rules file, as the engine reads it. Internal to the
// engine (engine.cc, detectors.cc, rules.cc and tests).

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "re2/re2.h"
#include "re2/set.h"
#include "services/scoring/engine/detectors.h"
#include "services/scoring/engine/rules.h"
#include "services/scoring/engine/template.h"
#include "services/scoring/engine/text/phrase_index.h"
#include "services/scoring/engine/text/structure.h"

namespace rapport::scoring::engine {

// Enum ranges of the protos, for dense tables.
inline constexpr int kDimensionCount = 12;  // DIMENSION_* values 0..11
inline constexpr int kSeverityCount = 5;    // SEVERITY_* values 0..4
inline constexpr int kStageCount = 8;       // BUYING_STAGE_* values 0..7
inline constexpr int kChannelCount = 4;     // CHANNEL_* values 0..3

// Word-role bits set on tokens by the phrase pass (Token::roles).
inline constexpr uint8_t kRoleSelf = 1;       // lexicon self_words
inline constexpr uint8_t kRoleRecipient = 2;  // lexicon recipient_words
inline constexpr uint8_t kRoleStopword = 4;   // lexicon stopwords

// Channel thresholds with defaults applied.
struct ChannelConfig {
  int ideal_min_words = 50;
  int ideal_max_words = 125;
  int max_paragraph_words = 60;
  int max_subject_words = 8;
  int ideal_min_questions = 1;
  int ideal_max_questions = 3;
  double max_reading_grade = 9;
};

struct CompiledRule {
  RuleInfo info;
  double penalty = 0;  // points per finding before stage multipliers
  int max_findings = 3;
  bool in_subject = true;
  bool in_body = true;
  uint32_t channel_mask = 0;  // bit per Channel value; 0 = every channel
  // Text rules: the match sources that fire it (lexicon ids and its own).
  std::vector<uint32_t> sources;
  std::unique_ptr<RE2> exceptions;  // may be null
  Detector detector = Detector::kNone;
  std::array<double, kMaxDetectorParams> params{};
  std::array<double, kStageCount> stage_multiplier{};
  Template explanation;
  Template suggestion;
  Template fallback_suggestion;
  Template replacement;

  bool AppliesTo(int channel) const {
    return channel_mask == 0 || ((channel_mask >> channel) & 1U);
  }
};

struct PatternEntry {
  std::unique_ptr<RE2> re;
  std::vector<uint32_t> sources;
};

// Reserved lexicons the engine reads itself (source ids; -1 if absent,
// which validation does not allow).
struct ReservedLexicons {
  int ask_phrases = -1;
  int change_phrases = -1;
};

struct CompiledRulesData {
  std::string version;
  int32_t file_version = 0;
  std::string source_name;

  double intercept = 0;
  double critical_score_cap = 10;
  std::array<double, kDimensionCount> dimension_weight{};  // normalised
  std::array<std::string, kDimensionCount> dimension_title;
  std::array<double, kSeverityCount> severity_penalty{};
  std::array<ChannelConfig, kChannelCount> channels;

  double learning_rate = 0.05;
  double l2_to_default = 0.01;
  double max_abs_weight = 5;
  int32_t min_outcomes = 20;

  std::vector<CompiledRule> rules;
  std::vector<std::string> lexicon_ids;  // source id = lexicon index
  absl::flat_hash_map<std::string, int> rule_index;

  // Structure analysis word lists.
  text::TextConfig text;
  // Sentence-start lists of the question detectors.
  text::PhraseIndex open_question_openers;
  text::PhraseIndex closed_question_openers;
  text::PhraseIndex non_genuine_questions;

  // Match sources: lexicons [0, lexicon_ids.size()), then one per rule
  // (index lexicon_ids.size() + rule index) for its own phrases/patterns.
  size_t source_count = 0;
  // The one-pass phrase matcher over all phrases; entry -> sources.
  text::PhraseIndex phrases;
  std::vector<std::vector<uint32_t>> phrase_sources;
  // Patterns, with one RE2::Set per case sensitivity (set index -> pattern).
  std::vector<PatternEntry> patterns;
  std::unique_ptr<RE2::Set> pattern_set_ci;
  std::unique_ptr<RE2::Set> pattern_set_cs;
  std::vector<int> set_ci_to_pattern;
  std::vector<int> set_cs_to_pattern;

  ReservedLexicons reserved;
};

}  // namespace rapport::scoring::engine
