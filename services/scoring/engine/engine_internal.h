#pragma once

// Per-draft working state of the engine, shared by the pipeline (engine.cc)
// and the detectors (detectors.cc). One Workspace per thread is reused
// across drafts so scoring allocates almost nothing once warm.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/profile/v1/profile.pb.h"
#include "rapport/scoring/v1/scoring.pb.h"
#include "services/scoring/engine/rules_internal.h"
#include "services/scoring/engine/text/structure.h"

namespace rapport::scoring::engine {

// Field indices (also the order of MessageField SUBJECT, BODY).
inline constexpr uint8_t kSubject = 0;
inline constexpr uint8_t kBody = 1;
inline constexpr uint8_t kNoField = 2;  // MESSAGE_FIELD_NONE

// A phrase or pattern occurrence.
struct Match {
  uint32_t source = 0;
  uint8_t field = kBody;
  uint32_t start = 0;  // byte span in the original field
  uint32_t end = 0;
};

// A finding before it becomes a proto.
struct RawFinding {
  uint32_t rule = 0;
  uint8_t field = kNoField;
  uint32_t start = 0;
  uint32_t end = 0;
  double magnitude = 1;
  double penalty = 0;  // points off its dimension, multipliers applied
  double impact = 0;
};

// A sequence of folded words to find in the draft (names given at run time:
// the seller's company and products, the recipient's names): words
// [first, first + count) of Workspace::dyn_words.
struct DynPhrase {
  uint32_t first = 0;
  uint32_t count = 0;
};

// One string of the profile or sender inside Workspace::ptext and its
// tokens.
struct Segment {
  uint32_t begin = 0;  // bytes in ptext
  uint32_t end = 0;
  uint32_t tok_begin = 0;  // tokens in ptokens
  uint32_t tok_end = 0;
};

// Occurrence of a dynamic phrase: tokens [begin, end) of a field.
struct Mention {
  uint8_t field = kBody;
  uint32_t tok_begin = 0;
  uint32_t tok_end = 0;
};

// Profile items the draft may refer to (priorities, challenges, trigger
// events, interests) and which of them it does.
enum class ItemKind : uint8_t {
  kPriority,
  kChallenge,
  kTriggerEvent,
  kInterest
};
struct ProfileItem {
  ItemKind kind = ItemKind::kPriority;
  uint32_t first_stem = 0;  // range in Workspace::item_stems
  uint32_t stem_count = 0;
  uint32_t matched = 0;
  bool referenced = false;
};

// A question sentence of the body.
struct Question {
  uint32_t sentence = 0;
  bool genuine = false;
  bool open = false;
};

// What the recipient's profile and the sender say, as plain views.
struct ProfileView {
  bool present = false;
  absl::string_view full_name;
  absl::string_view preferred_name;
  absl::string_view address_as;
  absl::string_view first_name;
  absl::string_view last_name;
  absl::string_view title;
  absl::string_view company;
  absl::string_view industry;
  absl::string_view priority;
  absl::string_view challenge;
  absl::string_view trigger_event;
  absl::string_view interest;
  int stage = rapport::common::v1::BUYING_STAGE_UNKNOWN;
  bool do_not_contact = false;
  bool fatigued = false;
  int64_t wait_seconds = 0;
  int item_count = 0;  // priorities + challenges + trigger events + interests
};

struct Workspace {
  text::FieldText fields[2];
  text::NameHints hints;
  ProfileView profile;
  absl::string_view sender_company;
  absl::string_view product_name;

  // Phrase and pattern matches, then grouped by source.
  std::vector<Match> matches;
  std::vector<uint32_t> source_begin;  // source -> first index in `grouped`
  std::vector<uint32_t> group_next;
  std::vector<Match> grouped;

  // Normalised text of each field for patterns (quotes straight, whitespace
  // runs as one space, text outside the scored regions as '\n'), as runs
  // mapping it back to the original bytes.
  struct NormRun {
    uint32_t norm_start = 0;
    uint32_t len = 0;  // normalised bytes
    uint32_t orig_start = 0;
    uint32_t orig_len = 0;
    uint32_t token = 0;   // first token (the only one when `quotes`)
    bool quotes = false;  // a token with typographic quotes
  };
  std::string norm[2];
  std::vector<NormRun> norm_runs[2];
  std::vector<uint32_t> token_run[2];  // scored token -> norm_runs index
  bool norm_built[2] = {false, false};
  std::vector<int> set_hits;

  // The profile's and sender's strings, tokenized together in one pass
  // (names, company, products, priorities, ...): segment i is one string.
  std::string ptext;
  std::vector<text::Token> ptokens;
  std::string pfold;
  std::vector<Segment> segments;

  // Names found at run time (folded words, views into pfold).
  std::vector<absl::string_view> dyn_words;
  std::vector<DynPhrase> seller_phrases;
  std::vector<DynPhrase> recipient_phrases;
  std::vector<Mention> seller_mentions;
  std::vector<Mention> recipient_mentions;
  // The formal first name (empty unless a different preferred name is
  // known), the words of the full name, and every acceptable name word.
  absl::string_view formal_first;
  std::vector<absl::string_view> full_name_words;
  std::vector<absl::string_view> acceptable_names;

  // Profile items and their stems (views into pfold).
  std::vector<ProfileItem> items;
  std::vector<absl::string_view> item_stems;
  std::vector<uint32_t>
      stem_item;                 // item_stems[k] belongs to items[stem_item[k]]
  uint64_t stem_bloom[16] = {};  // 1024-bit filter in front of item_stems
  bool short_stems = false;      // a stem under 3 bytes: no filtering
  std::vector<uint64_t> item_stem_hits;  // per item: bits of its stems hit
  std::vector<std::pair<uint32_t, absl::string_view>> body_stem_hits;

  // Per body sentence: refers to the recipient (you/your, name, company or
  // a profile item) / contains a change phrase / contains an ask phrase.
  std::vector<uint8_t> sentence_recipient;
  std::vector<uint8_t> sentence_change;
  std::vector<uint8_t> sentence_ask;
  std::vector<uint32_t> token_sentence;  // body token -> sentence (or ~0)
  std::vector<Question> questions;
  int self_words = 0;
  int recipient_words = 0;
  int trigger_referenced = 0;
  int syllables = 0;
  double reading_grade = 0;

  std::vector<RawFinding> findings;
  std::vector<double> x;
  std::vector<double> values_scratch;
  std::string text_scratch;
  std::string number_scratch[6];
  // Sanitised copies of profile values that were not valid UTF-8.
  std::string sanitized[16];
};

// Runs the detector of rule `r` and appends its findings (penalty and
// impact left 0) to ws->findings; answers the rule's raw signal value
// (before the stage multiplier): the sum of finding magnitudes, or a credit
// detector's value.
double RunDetector(const CompiledRulesData& rules, const CompiledRule& rule,
                   uint32_t rule_index, int channel, Workspace* ws);

}  // namespace rapport::scoring::engine
