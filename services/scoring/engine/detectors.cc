#include "services/scoring/engine/detectors.h"

#include <algorithm>
#include <cmath>

#include "services/scoring/engine/engine_internal.h"
#include "services/scoring/engine/text/syllables.h"

namespace rapport::scoring::engine {
namespace {

using text::Region;
using text::Token;
using text::TokenKind;

// The documented detectors (rules/README.md has the prose). Params are
// looked up by position in the engine, by name in the rules file.
constexpr DetectorSpec kSpecs[] = {
    {"self_focus_ratio",
     Detector::kSelfFocusRatio,
     {{"self_words", "recipient_words"}},
     {{{"max_self_share", 0.5}, {"min_self_words", 3}}}},
    {"recipient_focus",
     Detector::kRecipientFocus,
     {{"self_words", "recipient_words"}},
     {{{"min_recipient_share", 0.6}, {"min_recipient_words", 3}}}},
    {"self_opening", Detector::kSelfOpening, {{"self_words"}}, {}},
    {"seller_mentions", Detector::kSellerMentions, {}, {}},
    {"word_count_max", Detector::kWordCountMax, {}, {{{"max_magnitude", 3}}}},
    {"word_count_min", Detector::kWordCountMin, {}, {}},
    {"subject_length", Detector::kSubjectLength, {}, {}},
    {"empty_subject", Detector::kEmptySubject, {}, {}},
    {"ask_count", Detector::kAskCount, {{"ask_phrases"}}, {{{"max_asks", 1}}}},
    {"paragraph_length", Detector::kParagraphLength, {}, {}},
    {"merge_fields", Detector::kMergeFields, {}, {}},
    {"formal_name", Detector::kFormalName, {}, {}},
    {"wrong_name",
     Detector::kWrongName,
     {{"greeting_words", "generic_salutations", "honorifics"}},
     {}},
    {"no_name",
     Detector::kNoName,
     {{"greeting_words", "generic_salutations"}},
     {}},
    {"relevance_missing",
     Detector::kRelevanceMissing,
     {{"stopwords"}},
     {{{"min_item_share", 0.5}}}},
    {"relevance_overlap",
     Detector::kRelevanceOverlap,
     {{"stopwords"}},
     {{{"min_item_share", 0.5}, {"max_items", 3}}}},
    {"knowledge_gap", Detector::kKnowledgeGap, {}, {}},
    {"question_min",
     Detector::kQuestionMin,
     {{"recipient_words", "self_words", "non_genuine_questions"}},
     {}},
    {"question_max", Detector::kQuestionMax, {}, {}},
    {"closed_questions",
     Detector::kClosedQuestions,
     {{"recipient_words", "self_words", "non_genuine_questions",
       "open_question_openers", "closed_question_openers"}},
     {}},
    {"open_questions",
     Detector::kOpenQuestions,
     {{"recipient_words", "self_words", "non_genuine_questions",
       "open_question_openers"}},
     {{{"max_items", 2}}}},
    {"why_now_missing",
     Detector::kWhyNowMissing,
     {{"change_phrases", "recipient_words", "stopwords"}},
     {}},
    {"consequence",
     Detector::kConsequence,
     {{"change_phrases", "recipient_words", "stopwords"}},
     {{{"max_items", 2}}}},
    {"reading_grade",
     Detector::kReadingGrade,
     {},
     {{{"max_magnitude", 3}, {"grades_per_step", 2}}}},
    {"sentence_length", Detector::kSentenceLength, {}, {{{"max_words", 25}}}},
    {"do_not_contact", Detector::kDoNotContact, {}, {}},
    {"fatigue", Detector::kFatigue, {}, {}, /*example_can_fire=*/false},
    {"all_caps_run", Detector::kAllCapsRun, {}, {{{"min_words", 2}}}},
};

class Run {
 public:
  Run(const CompiledRulesData& rules, const CompiledRule& rule,
      uint32_t rule_index, int channel, Workspace* ws)
      : rules_(rules),
        rule_(rule),
        index_(rule_index),
        channel_(rchannel(channel)),
        ws_(*ws) {}

  double Go() {
    const text::FieldText& body = ws_.fields[kBody];
    const text::FieldText& subject = ws_.fields[kSubject];
    const ChannelConfig& ch = rules_.channels[static_cast<size_t>(channel_)];
    switch (rule_.detector) {
      case Detector::kNone:
        return 0;
      case Detector::kSelfFocusRatio: {
        const int self = ws_.self_words;
        const int total = self + ws_.recipient_words;
        if (total > 0 && self >= Param(1) &&
            static_cast<double>(self) / total > Param(0)) {
          AddBodyWide(1);
        }
        return 0;
      }
      case Detector::kRecipientFocus: {
        const int you = ws_.recipient_words;
        const int total = ws_.self_words + you;
        return (total > 0 && you >= Param(1) &&
                static_cast<double>(you) / total >= Param(0))
                   ? 1
                   : 0;
      }
      case Detector::kSelfOpening:
        for (const text::Sentence& s : body.sentences) {
          uint32_t i = s.tok_begin;
          while (i < s.tok_end && body.tokens[i].kind == TokenKind::kPunct) ++i;
          if (i >= s.tok_end) continue;
          if (body.tokens[i].roles & kRoleSelf) {
            Add(kBody, body.tokens[i].start, body.tokens[i].end, 1);
            continue;
          }
          for (const Mention& m : ws_.seller_mentions) {
            if (m.field == kBody && m.tok_begin == i) {
              Add(kBody, body.tokens[i].start, body.tokens[m.tok_end - 1].end,
                  1);
              break;
            }
          }
        }
        return 0;
      case Detector::kSellerMentions:
        for (const Mention& m : ws_.seller_mentions) {
          const text::FieldText& f = ws_.fields[m.field];
          if (!InField(m.field)) continue;
          Add(m.field, f.tokens[m.tok_begin].start, f.tokens[m.tok_end - 1].end,
              1);
        }
        return 0;
      case Detector::kWordCountMax: {
        const double max = ch.ideal_max_words;
        if (body.words > max) {
          AddBodyWide(std::min(Param(0), 1 + (body.words - max) / max));
        }
        return 0;
      }
      case Detector::kWordCountMin:
        if (body.words < static_cast<uint32_t>(ch.ideal_min_words)) {
          AddBodyWide(1);
        }
        return 0;
      case Detector::kSubjectLength:
        if (!subject.tokens.empty() &&
            subject.words > static_cast<uint32_t>(ch.max_subject_words)) {
          Add(kSubject, subject.tokens.front().start, subject.tokens.back().end,
              1);
        }
        return 0;
      case Detector::kEmptySubject:
        if (subject.tokens.empty()) Add(kSubject, 0, 0, 1);
        return 0;
      case Detector::kAskCount: {
        int asks = 0;
        for (size_t s = 0; s < body.sentences.size(); ++s) {
          if (!ws_.sentence_ask[s]) continue;
          if (++asks > Param(0)) {
            Add(kBody, body.sentences[s].start, body.sentences[s].end, 1);
          }
        }
        return 0;
      }
      case Detector::kParagraphLength:
        for (const text::Paragraph& p : body.paragraphs) {
          if (p.words > static_cast<uint32_t>(ch.max_paragraph_words)) {
            Add(kBody, p.start, p.end, 1);
          }
        }
        return 0;
      case Detector::kMergeFields:
        for (uint8_t f : {kSubject, kBody}) {
          if (!InField(f)) continue;
          for (const Token& t : ws_.fields[f].tokens) {
            if (t.kind == TokenKind::kMergeField &&
                t.region != Region::kQuoted) {
              Add(f, t.start, t.end, 1);
            }
          }
        }
        return 0;
      case Detector::kFormalName:
        FormalName();
        return 0;
      case Detector::kWrongName:
        WrongName();
        return 0;
      case Detector::kNoName:
        NoName();
        return 0;
      case Detector::kRelevanceMissing:
        if (ws_.profile.item_count > 0 && ReferencedItems(Param(0)) == 0) {
          Add(kNoField, 0, 0, 1);
        }
        return 0;
      case Detector::kRelevanceOverlap:
        return std::min<double>(ReferencedItems(Param(0)), Param(1));
      case Detector::kKnowledgeGap:
        if (!ws_.profile.present || ws_.profile.item_count == 0) {
          Add(kNoField, 0, 0, 1);
        }
        return 0;
      case Detector::kQuestionMin: {
        int genuine = 0;
        for (const Question& q : ws_.questions) genuine += q.genuine ? 1 : 0;
        if (genuine < ch.ideal_min_questions) Add(kNoField, 0, 0, 1);
        return 0;
      }
      case Detector::kQuestionMax: {
        int n = 0;
        for (const Question& q : ws_.questions) {
          if (++n > ch.ideal_max_questions) {
            const text::Sentence& s = body.sentences[q.sentence];
            Add(kBody, s.start, s.end, 1);
          }
        }
        return 0;
      }
      case Detector::kClosedQuestions: {
        const Question* first_closed = nullptr;
        for (const Question& q : ws_.questions) {
          if (!q.genuine) continue;
          if (q.open) return 0;
          if (first_closed == nullptr) first_closed = &q;
        }
        if (first_closed != nullptr) {
          const text::Sentence& s = body.sentences[first_closed->sentence];
          Add(kBody, s.start, s.end, 1);
        }
        return 0;
      }
      case Detector::kOpenQuestions: {
        int open = 0;
        for (const Question& q : ws_.questions) {
          open += (q.genuine && q.open) ? 1 : 0;
        }
        return std::min<double>(open, Param(0));
      }
      case Detector::kWhyNowMissing:
        if (ChangeSentences() == 0 && ws_.trigger_referenced == 0) {
          Add(kNoField, 0, 0, 1);
        }
        return 0;
      case Detector::kConsequence:
        return std::min<double>(ChangeSentences(), Param(0));
      case Detector::kReadingGrade:
        ReadingGrade(ch.max_reading_grade);
        return 0;
      case Detector::kSentenceLength:
        for (const text::Sentence& s : body.sentences) {
          if (s.words > Param(0)) Add(kBody, s.start, s.end, 1);
        }
        return 0;
      case Detector::kDoNotContact:
        if (ws_.profile.do_not_contact) Add(kNoField, 0, 0, 1);
        return 0;
      case Detector::kFatigue:
        if (ws_.profile.fatigued) Add(kNoField, 0, 0, 1);
        return 0;
      case Detector::kAllCapsRun:
        for (uint8_t f : {kSubject, kBody}) {
          if (InField(f)) AllCapsRuns(f, Param(0));
        }
        return 0;
    }
    return 0;
  }

 private:
  static int rchannel(int channel) {
    return (channel > 0 && channel < kChannelCount) ? channel : 1;
  }

  double Param(size_t k) const { return rule_.params[k]; }

  bool InField(uint8_t f) const {
    return f == kSubject ? rule_.in_subject : rule_.in_body;
  }

  void Add(uint8_t field, uint32_t start, uint32_t end, double magnitude) {
    RawFinding f;
    f.rule = index_;
    f.field = field;
    f.start = start;
    f.end = end;
    f.magnitude = magnitude;
    ws_.findings.push_back(f);
  }

  void AddBodyWide(double magnitude) {
    const text::FieldText& body = ws_.fields[kBody];
    Add(kBody, body.scored_start, body.scored_end, magnitude);
  }

  int ReferencedItems(double share) const {
    int n = 0;
    for (const ProfileItem& item : ws_.items) {
      if (item.stem_count == 0) continue;
      const double need =
          std::max<double>(std::min<uint32_t>(2, item.stem_count),
                           std::ceil(share * item.stem_count));
      if (item.matched >= need) ++n;
    }
    return n;
  }

  int ChangeSentences() const {
    int n = 0;
    for (size_t s = 0; s < ws_.sentence_change.size(); ++s) {
      if (ws_.sentence_change[s] && ws_.sentence_recipient[s]) ++n;
    }
    return n;
  }

  // The greeting and the scored text of subject and body, where names are
  // looked for.
  static bool NameRegion(const Token& t) {
    return t.region == Region::kScored || t.region == Region::kGreeting;
  }

  void FormalName() {
    if (ws_.formal_first.empty()) return;
    for (uint8_t f : {kSubject, kBody}) {
      if (!InField(f)) continue;
      const text::FieldText& field = ws_.fields[f];
      for (uint32_t i = 0; i < field.tokens.size(); ++i) {
        if (!NameRegion(field.tokens[i]) ||
            !text::EqualBytes(field.Folded(i), ws_.formal_first)) {
          continue;
        }
        // "Mitchell Grant": span the whole formal name.
        uint32_t end = i + 1;
        for (size_t k = 1;
             k < ws_.full_name_words.size() && end < field.tokens.size() &&
             text::EqualBytes(field.Folded(end), ws_.full_name_words[k]);
             ++k) {
          ++end;
        }
        Add(f, field.tokens[i].start, field.tokens[end - 1].end, 1);
      }
    }
  }

  bool Acceptable(absl::string_view folded) const {
    return std::any_of(
        ws_.acceptable_names.begin(), ws_.acceptable_names.end(),
        [&](absl::string_view name) { return text::EqualBytes(name, folded); });
  }

  void WrongName() {
    const text::FieldText& body = ws_.fields[kBody];
    const text::Greeting& g = body.greeting;
    if (!ws_.profile.present || ws_.acceptable_names.empty() || !g.found ||
        g.name_begin >= g.name_end) {
      return;
    }
    for (uint32_t i = g.name_begin; i < g.name_end; ++i) {
      if (Acceptable(body.Folded(i))) return;
    }
    Add(kBody, body.tokens[g.name_begin].start, body.tokens[g.name_end - 1].end,
        1);
  }

  void NoName() {
    const text::FieldText& body = ws_.fields[kBody];
    const text::Greeting& g = body.greeting;
    if (g.found && g.generic) {
      Add(kBody, body.tokens[g.generic_begin].start,
          body.tokens[g.generic_end - 1].end, 1);
      return;
    }
    if (!ws_.profile.present || ws_.acceptable_names.empty()) return;
    for (uint8_t f : {kSubject, kBody}) {
      const text::FieldText& field = ws_.fields[f];
      for (uint32_t i = 0; i < field.tokens.size(); ++i) {
        if (NameRegion(field.tokens[i]) && Acceptable(field.Folded(i))) return;
      }
    }
    if (g.found) {
      Add(kBody, body.tokens[g.tok_begin].start, body.tokens[g.tok_end - 1].end,
          1);
    } else {
      Add(kNoField, 0, 0, 1);
    }
  }

  // A scored word written in capitals (two letters or more, all upper
  // case: "PAY", "DON'T", also acronyms such as "IBM").
  static bool CapsWord(const Token& t) {
    return t.kind == TokenKind::kWord && t.region == Region::kScored &&
           (t.flags & text::kAllCaps);
  }

  // Runs of at least `min_words` capitalised words in a row within a
  // paragraph, separated by spaces or a comma ("PAY YOU", "FUN, AMAZING"):
  // one finding per run. A lone capitalised word is an acronym as often as
  // a shout, so it never fires alone.
  void AllCapsRuns(uint8_t f, double min_words) {
    const text::FieldText& field = ws_.fields[f];
    const auto n = static_cast<uint32_t>(field.tokens.size());
    for (uint32_t i = 0; i < n; ++i) {
      if (!CapsWord(field.tokens[i])) continue;
      uint32_t last = i;
      uint32_t words = 1;
      for (uint32_t j = i + 1; j < n;) {
        const Token& t = field.tokens[j];
        const bool comma = t.kind == TokenKind::kPunct &&
                           !(t.flags & text::kSpaceBefore) &&
                           field.Folded(j) == ",";
        const uint32_t w = comma ? j + 1 : j;
        if (w >= n) break;
        const Token& next = field.tokens[w];
        if (!CapsWord(next) || !(next.flags & text::kSpaceBefore) ||
            next.newlines_before >= 2) {
          break;
        }
        last = w;
        ++words;
        j = w + 1;
      }
      if (words >= min_words) {
        Add(f, field.tokens[i].start, field.tokens[last].end, 1);
      }
      i = last;
    }
  }

  void ReadingGrade(double max_grade) {
    if (ws_.reading_grade <= max_grade) return;
    const text::FieldText& body = ws_.fields[kBody];
    // Point at the hardest sentence: the one with the highest grade of its
    // own (per-sentence syllables are in values_scratch).
    size_t best = 0;
    double best_grade = -1;
    for (size_t s = 0; s < body.sentences.size(); ++s) {
      const text::Sentence& sent = body.sentences[s];
      if (sent.words == 0 || s >= ws_.values_scratch.size()) continue;
      const double g =
          text::FleschKincaidGrade(static_cast<int>(sent.words), 1,
                                   static_cast<int>(ws_.values_scratch[s]));
      if (g > best_grade) {
        best_grade = g;
        best = s;
      }
    }
    const double step = Param(1) > 0 ? Param(1) : 2;
    const double magnitude =
        std::min(Param(0), 1 + (ws_.reading_grade - max_grade) / step);
    if (best_grade < 0) {
      AddBodyWide(magnitude);
    } else {
      Add(kBody, body.sentences[best].start, body.sentences[best].end,
          magnitude);
    }
  }

  const CompiledRulesData& rules_;
  const CompiledRule& rule_;
  uint32_t index_;
  int channel_;
  Workspace& ws_;
};

}  // namespace

const DetectorSpec* FindDetector(absl::string_view name) {
  for (const DetectorSpec& s : kSpecs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const DetectorSpec& GetDetectorSpec(Detector d) {
  for (const DetectorSpec& s : kSpecs) {
    if (s.detector == d) return s;
  }
  return kSpecs[0];
}

double RunDetector(const CompiledRulesData& rules, const CompiledRule& rule,
                   uint32_t rule_index, int channel, Workspace* ws) {
  return Run(rules, rule, rule_index, channel, ws).Go();
}

}  // namespace rapport::scoring::engine
