#include "services/scoring/engine/rules.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/scoring/engine/engine.h"
#include "services/scoring/engine/rules_internal.h"
#include "services/scoring/engine/text/utf8.h"

namespace rapport::scoring::engine {
namespace {

namespace pb = ::google::protobuf;
namespace v1 = ::rapport::scoring::v1;
namespace common = ::rapport::common::v1;
using ParseInfoTree = pb::TextFormat::ParseInfoTree;

// Limits of rules.proto.
constexpr int kMaxRules = 1000;
constexpr int kMaxLexiconPhrases = 5000;
constexpr int kMaxLexiconPatterns = 500;
constexpr size_t kMaxPhraseBytes = 256;
constexpr size_t kMaxPatternBytes = 1024;
constexpr size_t kMaxTemplateBytes = 512;
constexpr size_t kMaxTitleBytes = 64;
constexpr size_t kMaxIdBytes = 64;
// Errors listed before the rest are summarised.
constexpr size_t kMaxErrors = 50;
// Memory budget of each RE2::Set's automaton.
constexpr int64_t kSetMaxMem = int64_t{64} << 20;

// Reserved lexicons read by the engine itself; each must exist.
constexpr absl::string_view kReservedLexicons[] = {
    "greeting_words",
    "generic_salutations",
    "honorifics",
    "signoffs",
    "mobile_signatures",
    "abbreviations",
    "final_abbreviations",
    "quote_headers",
    "self_words",
    "recipient_words",
    "stopwords",
    "open_question_openers",
    "closed_question_openers",
    "non_genuine_questions",
    "ask_phrases",
    "change_phrases",
};
// Reserved lexicons matched at fixed positions (line or sentence starts) or
// used as single words: patterns make no sense there.
constexpr absl::string_view kPhraseOnlyLexicons[] = {
    "greeting_words",
    "generic_salutations",
    "honorifics",
    "signoffs",
    "mobile_signatures",
    "abbreviations",
    "final_abbreviations",
    "self_words",
    "recipient_words",
    "stopwords",
    "open_question_openers",
    "closed_question_openers",
    "non_genuine_questions",
};

bool IsFinite(double v) { return std::isfinite(v); }

bool ValidLexiconId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  if (!(id[0] >= 'a' && id[0] <= 'z')) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool ValidRuleId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  if (id.front() == '.' || id.back() == '.') return false;
  char prev = 0;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.';
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return true;
}

std::string Sha256Hex12(absl::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return absl::BytesToHexString(
             absl::string_view(reinterpret_cast<const char*>(digest), 6))
      .substr(0, 12);
}

// Where something is in the rules file: a line and column when the file was
// parsed from text, else a field path.
struct Where {
  const ParseInfoTree* tree = nullptr;
  std::string path;
  int line = -1;
  int column = -1;
};

Where Child(const Where& parent, const pb::Descriptor* descriptor,
            absl::string_view field, int index) {
  Where w;
  const pb::FieldDescriptor* fd =
      descriptor->FindFieldByName(std::string(field.data(), field.size()));
  w.path = parent.path.empty() ? std::string(field.data(), field.size())
                               : absl::StrCat(parent.path, ".", field);
  if (index >= 0) absl::StrAppend(&w.path, "[", index, "]");
  w.line = parent.line;
  w.column = parent.column;
  // A repeated field without an index (for "X is missing") has no location
  // of its own: keep the parent's.
  if (parent.tree != nullptr && fd != nullptr &&
      (index >= 0 || !fd->is_repeated())) {
    const auto loc =
        parent.tree->GetLocation(fd, fd->is_repeated() ? index : -1);
    if (loc.line >= 0) {
      w.line = loc.line;
      w.column = loc.column;
    }
    if (fd->message_type() != nullptr) {
      w.tree =
          parent.tree->GetTreeForNested(fd, fd->is_repeated() ? index : -1);
    }
  }
  return w;
}

class Errors {
 public:
  explicit Errors(std::string source) : source_(std::move(source)) {}

  void Add(const Where& w, absl::string_view message) {
    ++count_;
    if (list_.size() >= kMaxErrors) return;
    if (w.line >= 0) {
      list_.push_back(absl::StrCat(source_, ":", w.line + 1, ":", w.column + 1,
                                   ": ", message));
    } else if (!w.path.empty()) {
      list_.push_back(absl::StrCat(source_, ": ", w.path, ": ", message));
    } else {
      list_.push_back(absl::StrCat(source_, ": ", message));
    }
  }

  bool empty() const { return count_ == 0; }

  absl::Status ToStatus() const {
    std::string text = absl::StrJoin(list_, "\n");
    if (count_ > list_.size()) {
      absl::StrAppend(&text, "\n... and ", count_ - list_.size(),
                      " more errors");
    }
    return absl::InvalidArgumentError(text);
  }

 private:
  std::string source_;
  std::vector<std::string> list_;
  size_t count_ = 0;
};

class ParseErrorCollector : public pb::io::ErrorCollector {
 public:
  explicit ParseErrorCollector(Errors* errors) : errors_(errors) {}
  void AddError(int line, pb::io::ColumnNumber column,
                const std::string& message) override {
    Where w;
    w.line = line;
    w.column = column;
    errors_->Add(w, message);
  }

 private:
  Errors* errors_;
};

RE2::Options PatternOptions(bool case_sensitive) {
  RE2::Options o;
  o.set_case_sensitive(case_sensitive);
  o.set_log_errors(false);
  return o;
}

std::string Quote(absl::string_view s) {
  return absl::StrCat("'", text::TruncateUtf8(s, 60),
                      s.size() > 60 ? "...'" : "'");
}

class Compiler {
 public:
  Compiler(const v1::RulesFile& file, const ParseInfoTree* tree,
           absl::string_view source_name)
      : file_(file),
        errors_(std::string(source_name.data(), source_name.size())),
        data_(std::make_unique<CompiledRulesData>()) {
    root_.tree = tree;
    data_->source_name = std::string(source_name.data(), source_name.size());
  }

  // Validates and compiles; answers the data or every error found.
  absl::StatusOr<std::unique_ptr<CompiledRulesData>> Run() {
    CheckTopLevel();
    CheckDimensions();
    CheckSeverities();
    CheckStageMultipliers();
    CheckChannels();
    CheckLearning();
    CheckLexicons();
    CheckRules();
    if (!errors_.empty()) return errors_.ToStatus();
    BuildMatchers();
    if (!errors_.empty()) return errors_.ToStatus();
    return std::move(data_);
  }

  Errors& errors() { return errors_; }
  const Where& root() const { return root_; }

 private:
  Where At(absl::string_view field, int index = -1) const {
    return Child(root_, v1::RulesFile::descriptor(), field, index);
  }

  void CheckTopLevel() {
    if (file_.version() <= 0) {
      errors_.Add(At("version"), "version must be > 0 (bump it on every edit)");
    }
    data_->file_version = file_.version();
    if (!IsFinite(file_.intercept())) {
      errors_.Add(At("intercept"), "intercept must be a finite number");
    }
    data_->intercept = file_.intercept();
    const double cap = file_.critical_score_cap();
    if (!IsFinite(cap) || cap < 0 || cap > 100) {
      errors_.Add(At("critical_score_cap"),
                  "critical_score_cap must be within [0, 100]");
    }
    data_->critical_score_cap = cap == 0 ? 10 : cap;
  }

  void CheckDimensions() {
    std::array<bool, kDimensionCount> seen{};
    double total = 0;
    for (int i = 0; i < file_.dimensions_size(); ++i) {
      const v1::DimensionConfig& d = file_.dimensions(i);
      const Where w = At("dimensions", i);
      const int dim = d.dimension();
      if (dim <= 0 || dim >= kDimensionCount) {
        errors_.Add(w,
                    "dimension must be set (DIMENSION_FOCUS ... "
                    "DIMENSION_TIMING)");
        continue;
      }
      if (seen[dim]) {
        errors_.Add(
            w, absl::StrCat("dimension ", v1::Dimension_Name(d.dimension()),
                            " is listed twice"));
      }
      seen[dim] = true;
      if (!IsFinite(d.weight()) || d.weight() <= 0) {
        errors_.Add(
            w, absl::StrCat("dimension ", v1::Dimension_Name(d.dimension()),
                            ": weight must be > 0"));
      } else {
        data_->dimension_weight[dim] = d.weight();
        total += d.weight();
      }
      if (d.title().size() > kMaxTitleBytes) {
        errors_.Add(w, "title is longer than 64 bytes");
      }
      data_->dimension_title[dim] = d.title();
    }
    for (int dim = 1; dim < kDimensionCount; ++dim) {
      if (!seen[dim]) {
        errors_.Add(
            At("dimensions"),
            absl::StrCat("dimension ",
                         v1::Dimension_Name(static_cast<v1::Dimension>(dim)),
                         " is missing (every dimension needs an entry)"));
      }
    }
    if (total > 0) {
      for (double& w : data_->dimension_weight) w /= total;
    }
  }

  void CheckSeverities() {
    std::array<bool, kSeverityCount> seen{};
    for (int i = 0; i < file_.severities_size(); ++i) {
      const v1::SeverityConfig& s = file_.severities(i);
      const Where w = At("severities", i);
      const int sev = s.severity();
      if (sev <= 0 || sev >= kSeverityCount) {
        errors_.Add(w, "severity must be set (SEVERITY_INFO ... CRITICAL)");
        continue;
      }
      if (seen[sev]) errors_.Add(w, "severity is listed twice");
      seen[sev] = true;
      if (!IsFinite(s.penalty()) || s.penalty() < 0) {
        errors_.Add(w, "penalty must be >= 0");
      }
      data_->severity_penalty[sev] = s.penalty();
    }
    for (int sev = 1; sev < kSeverityCount; ++sev) {
      if (!seen[sev]) {
        errors_.Add(
            At("severities"),
            absl::StrCat("severity ",
                         v1::Severity_Name(static_cast<v1::Severity>(sev)),
                         " is missing"));
      }
    }
  }

  void CheckStageMultipliers() {
    for (int i = 0; i < file_.stage_multipliers_size(); ++i) {
      const v1::StageMultiplier& m = file_.stage_multipliers(i);
      const Where w = At("stage_multipliers", i);
      const int stage = m.stage();
      const int dim = m.dimension();
      if (stage <= 0 || stage >= kStageCount) {
        errors_.Add(w,
                    "stage must be set (use BUYING_STAGE_UNKNOWN for "
                    "\"no stage known\")");
        continue;
      }
      if (dim < 0 || dim >= kDimensionCount) {
        errors_.Add(w, "unknown dimension");
        continue;
      }
      if (!IsFinite(m.multiplier()) || m.multiplier() < 0) {
        errors_.Add(w, "multiplier must be >= 0");
        continue;
      }
      if (has_stage_dim_[stage][dim]) {
        errors_.Add(w, "this (stage, dimension) pair is listed twice");
      }
      has_stage_dim_[stage][dim] = true;
      stage_dim_[stage][dim] = m.multiplier();
    }
  }

  void CheckChannels() {
    std::array<bool, kChannelCount> seen{};
    std::array<ChannelConfig, kChannelCount> configs;
    for (int i = 0; i < file_.channels_size(); ++i) {
      const v1::ChannelSettings& c = file_.channels(i);
      const Where w = At("channels", i);
      const int ch = c.channel();
      if (ch <= 0 || ch >= kChannelCount) {
        errors_.Add(w, "channel must be set");
        continue;
      }
      if (seen[ch]) errors_.Add(w, "channel is listed twice");
      seen[ch] = true;
      ChannelConfig cfg;
      auto pick = [&](int32_t v, int def, absl::string_view name) {
        if (v < 0) errors_.Add(w, absl::StrCat(name, " must be >= 0"));
        return v > 0 ? v : def;
      };
      cfg.ideal_min_words = pick(c.ideal_min_words(), 50, "ideal_min_words");
      cfg.ideal_max_words = pick(c.ideal_max_words(), 125, "ideal_max_words");
      cfg.max_paragraph_words =
          pick(c.max_paragraph_words(), 60, "max_paragraph_words");
      cfg.max_subject_words =
          pick(c.max_subject_words(), 8, "max_subject_words");
      cfg.ideal_min_questions =
          pick(c.ideal_min_questions(), 1, "ideal_min_questions");
      cfg.ideal_max_questions =
          pick(c.ideal_max_questions(), 3, "ideal_max_questions");
      if (!IsFinite(c.max_reading_grade()) || c.max_reading_grade() < 0) {
        errors_.Add(w, "max_reading_grade must be >= 0");
      }
      cfg.max_reading_grade =
          c.max_reading_grade() > 0 ? c.max_reading_grade() : 9;
      if (cfg.ideal_min_words > cfg.ideal_max_words) {
        errors_.Add(w, "ideal_min_words is above ideal_max_words");
      }
      if (cfg.ideal_min_questions > cfg.ideal_max_questions) {
        errors_.Add(w, "ideal_min_questions is above ideal_max_questions");
      }
      configs[ch] = cfg;
    }
    if (!seen[common::CHANNEL_EMAIL]) {
      errors_.Add(At("channels"), "the CHANNEL_EMAIL entry is required");
    }
    for (int ch = 0; ch < kChannelCount; ++ch) {
      data_->channels[ch] =
          seen[ch] ? configs[ch] : configs[common::CHANNEL_EMAIL];
    }
  }

  void CheckLearning() {
    const v1::LearningSettings& l = file_.learning();
    const Where w = At("learning");
    if (!IsFinite(l.learning_rate()) || l.learning_rate() < 0) {
      errors_.Add(w, "learning_rate must be > 0");
    }
    data_->learning_rate = l.learning_rate() > 0 ? l.learning_rate() : 0.05;
    if (l.has_l2_to_default()) {
      if (!IsFinite(l.l2_to_default()) || l.l2_to_default() < 0) {
        errors_.Add(w, "l2_to_default must be >= 0");
      }
      data_->l2_to_default = l.l2_to_default();
    }
    if (!IsFinite(l.max_abs_weight()) || l.max_abs_weight() < 0) {
      errors_.Add(w, "max_abs_weight must be > 0");
    }
    data_->max_abs_weight = l.max_abs_weight() > 0 ? l.max_abs_weight() : 5;
    if (l.min_outcomes() < 0) errors_.Add(w, "min_outcomes must be >= 0");
    data_->min_outcomes = l.min_outcomes() > 0 ? l.min_outcomes() : 20;
  }

  void CheckLexicons() {
    for (int i = 0; i < file_.lexicons_size(); ++i) {
      const v1::Lexicon& lex = file_.lexicons(i);
      const Where w = At("lexicons", i);
      const std::string label = absl::StrCat("lexicon '", lex.id(), "'");
      if (!ValidLexiconId(lex.id())) {
        errors_.Add(w, absl::StrCat(label,
                                    ": id must be 1-64 bytes of [a-z0-9_] "
                                    "starting with a letter"));
      }
      if (!lexicon_index_.emplace(lex.id(), i).second) {
        errors_.Add(w, absl::StrCat(label, ": id is used by another lexicon"));
      }
      if (lex.phrases_size() > kMaxLexiconPhrases) {
        errors_.Add(w, absl::StrCat(label, ": more than 5000 phrases"));
      }
      if (lex.patterns_size() > kMaxLexiconPatterns) {
        errors_.Add(w, absl::StrCat(label, ": more than 500 patterns"));
      }
      CheckPhrases(w, label, v1::Lexicon::descriptor(), lex.phrases());
      CheckPatterns(w, label, v1::Lexicon::descriptor(), "patterns",
                    lex.patterns(), lex.case_sensitive());
      if (lex.patterns_size() > 0 &&
          std::find(std::begin(kPhraseOnlyLexicons),
                    std::end(kPhraseOnlyLexicons),
                    lex.id()) != std::end(kPhraseOnlyLexicons)) {
        errors_.Add(w, absl::StrCat(label,
                                    " is matched word by word or at line "
                                    "and sentence starts: use phrases, "
                                    "not patterns"));
      }
      data_->lexicon_ids.push_back(lex.id());
    }
    for (absl::string_view id : kReservedLexicons) {
      if (!lexicon_index_.contains(id)) {
        errors_.Add(At("lexicons"),
                    absl::StrCat("reserved lexicon '", id,
                                 "' is missing (the engine reads it; see "
                                 "rules/README.md)"));
      }
    }
  }

  // Validates each entry of a list of phrases or patterns: its size (and
  // UTF-8 when `utf8`), then `check`, which answers what makes the entry
  // unusable ("" when nothing does). Errors name the entry by its field and
  // position and quote it: "<label>: <noun> 3 must be <limits>",
  // "<label>: <noun> '<entry>' <problem>".
  template <typename Check>
  void CheckEntries(const Where& parent, absl::string_view label,
                    const pb::Descriptor* descriptor, absl::string_view field,
                    absl::string_view noun, size_t max_bytes, bool utf8,
                    absl::string_view limits,
                    const pb::RepeatedPtrField<std::string>& entries,
                    Check&& check) {
    for (int j = 0; j < entries.size(); ++j) {
      const std::string& p = entries.Get(j);
      const Where w = Child(parent, descriptor, field, j);
      if (p.empty() || p.size() > max_bytes ||
          (utf8 && !text::IsValidUtf8(p))) {
        errors_.Add(w, absl::StrCat(label, ": ", noun, " ", j + 1, " must be ",
                                    limits));
        continue;
      }
      const std::string problem = check(p);
      if (!problem.empty()) {
        errors_.Add(
            w, absl::StrCat(label, ": ", noun, " ", Quote(p), " ", problem));
      }
    }
  }

  void CheckPhrases(const Where& parent, absl::string_view label,
                    const pb::Descriptor* descriptor,
                    const pb::RepeatedPtrField<std::string>& phrases) {
    CheckEntries(parent, label, descriptor, "phrases", "phrase",
                 kMaxPhraseBytes, /*utf8=*/true, "1-256 bytes of UTF-8",
                 phrases, [](const std::string& p) -> std::string {
                   text::PhraseIndex probe;
                   return probe.Add(p, false) < 0 ? "has no words or symbols"
                                                  : "";
                 });
  }

  void CheckPatterns(const Where& parent, absl::string_view label,
                     const pb::Descriptor* descriptor, absl::string_view field,
                     const pb::RepeatedPtrField<std::string>& patterns,
                     bool case_sensitive) {
    CheckEntries(parent, label, descriptor, field, field, kMaxPatternBytes,
                 /*utf8=*/false, "1-1024 bytes", patterns,
                 [&](const std::string& p) -> std::string {
                   RE2 re(p, PatternOptions(case_sensitive));
                   if (!re.ok()) {
                     return absl::StrCat("does not compile: ", re.error());
                   }
                   if (RE2::FullMatch("", re)) {
                     return "matches the empty string";
                   }
                   return "";
                 });
  }

  void CheckTemplate(const Where& w, absl::string_view label,
                     absl::string_view field, const std::string& text,
                     bool required, Template* out) {
    if (text.empty()) {
      if (required) {
        errors_.Add(w, absl::StrCat(label, ": ", field, " is required"));
      }
      return;
    }
    if (text.size() > kMaxTemplateBytes || !text::IsValidUtf8(text)) {
      errors_.Add(w, absl::StrCat(label, ": ", field,
                                  " must be at most 512 bytes of UTF-8"));
      return;
    }
    absl::StatusOr<Template> t = Template::Parse(text);
    if (!t.ok()) {
      errors_.Add(w,
                  absl::StrCat(label, ": ", field, ": ", t.status().message()));
      return;
    }
    *out = *std::move(t);
  }

  void CheckRules() {
    if (file_.rules_size() > kMaxRules) {
      errors_.Add(At("rules"), "more than 1000 rules");
    }
    absl::flat_hash_map<std::string, int> ids;
    for (int i = 0; i < file_.rules_size(); ++i) {
      const v1::Rule& r = file_.rules(i);
      const Where w = At("rules", i);
      const std::string label = absl::StrCat("rule '", r.id(), "'");
      if (!ValidRuleId(r.id())) {
        errors_.Add(w, absl::StrCat(label,
                                    ": id must be dot-separated words of "
                                    "[a-z0-9_], at most 64 bytes"));
      }
      if (!ids.emplace(r.id(), i).second) {
        errors_.Add(w, absl::StrCat(label, ": id is used by another rule"));
      }
      CompiledRule c;
      CheckRule(r, w, label, &c);
      if (!r.disabled()) {
        rule_file_index_.push_back(i);
        data_->rules.push_back(std::move(c));
      }
    }
  }

  void CheckRule(const v1::Rule& r, const Where& w, const std::string& label,
                 CompiledRule* c) {
    const pb::Descriptor* rd = v1::Rule::descriptor();
    c->info.id = r.id();
    c->info.title = r.title();
    if (r.title().size() > kMaxTitleBytes) {
      errors_.Add(Child(w, rd, "title", -1),
                  absl::StrCat(label, ": title is longer than 64 bytes"));
    }
    if (r.dimension() <= 0 || r.dimension() >= kDimensionCount) {
      errors_.Add(w, absl::StrCat(label, ": dimension is required"));
    }
    c->info.dimension = r.dimension();
    if (r.severity() <= 0 || r.severity() >= kSeverityCount) {
      errors_.Add(w, absl::StrCat(label, ": severity is required"));
    }
    c->info.severity = r.severity();
    if (!IsFinite(r.weight())) {
      errors_.Add(Child(w, rd, "weight", -1),
                  absl::StrCat(label, ": weight must be a finite number"));
    }
    c->info.default_weight = r.weight();
    c->info.credit = r.weight() > 0;
    if (r.has_penalty() && (!IsFinite(r.penalty()) || r.penalty() < 0)) {
      errors_.Add(Child(w, rd, "penalty", -1),
                  absl::StrCat(label, ": penalty must be >= 0"));
    }
    const int sev =
        std::clamp(static_cast<int>(r.severity()), 0, kSeverityCount - 1);
    c->penalty = r.has_penalty() ? r.penalty() : data_->severity_penalty[sev];
    if (c->info.credit) c->penalty = 0;
    if (r.max_findings() < 0) {
      errors_.Add(w, absl::StrCat(label, ": max_findings must be >= 0"));
    }
    c->max_findings = r.max_findings() > 0 ? r.max_findings() : 3;
    if (r.fields_size() > 0) {
      c->in_subject = false;
      c->in_body = false;
      for (int f : r.fields()) {
        if (f == v1::MESSAGE_FIELD_SUBJECT) {
          c->in_subject = true;
        } else if (f == v1::MESSAGE_FIELD_BODY) {
          c->in_body = true;
        } else {
          errors_.Add(w, absl::StrCat(label,
                                      ": fields may only name "
                                      "MESSAGE_FIELD_SUBJECT or _BODY"));
        }
      }
    }
    for (int ch : r.channels()) {
      if (ch <= 0 || ch >= kChannelCount) {
        errors_.Add(w, absl::StrCat(label,
                                    ": channels must not be "
                                    "CHANNEL_UNSPECIFIED"));
        continue;
      }
      c->channel_mask |= 1U << static_cast<unsigned>(ch);
    }
    for (int j = 0; j < r.lexicons_size(); ++j) {
      if (!lexicon_index_.contains(r.lexicons(j))) {
        errors_.Add(
            Child(w, rd, "lexicons", j),
            absl::StrCat(label, ": unknown lexicon '", r.lexicons(j), "'"));
      }
    }
    CheckPhrases(w, label, rd, r.phrases());
    CheckPatterns(w, label, rd, "patterns", r.patterns(), r.case_sensitive());
    CheckPatterns(w, label, rd, "exceptions", r.exceptions(),
                  r.case_sensitive());
    if (!r.detector().empty()) {
      const DetectorSpec* spec = FindDetector(r.detector());
      if (spec == nullptr) {
        errors_.Add(Child(w, rd, "detector", -1),
                    absl::StrCat(label, ": unknown detector '", r.detector(),
                                 "' (see rules/README.md for the list)"));
      } else {
        c->detector = spec->detector;
        CheckDetector(r, w, label, *spec, c);
      }
      if (r.phrases_size() > 0 || r.patterns_size() > 0) {
        errors_.Add(w, absl::StrCat(label,
                                    ": a detector rule takes no phrases "
                                    "or patterns"));
      }
    } else {
      if (r.phrases_size() == 0 && r.patterns_size() == 0 &&
          r.lexicons_size() == 0) {
        errors_.Add(w, absl::StrCat(label,
                                    ": needs phrases, patterns, lexicons "
                                    "or a detector"));
      }
      if (!r.params().empty()) {
        errors_.Add(w,
                    absl::StrCat(label, ": params are only read by detectors"));
      }
      if (c->info.credit) {
        errors_.Add(Child(w, rd, "weight", -1),
                    absl::StrCat(label,
                                 ": a text rule flags a fault, so its "
                                 "weight must be <= 0 (credit rules use "
                                 "a detector)"));
      }
    }
    // Stage multipliers: the rule's own, then the file's for its dimension,
    // then the file's for every dimension, then 1.
    std::array<bool, kStageCount> own{};
    for (int j = 0; j < r.stage_multipliers_size(); ++j) {
      const v1::StageMultiplier& m = r.stage_multipliers(j);
      const int stage = m.stage();
      if (stage <= 0 || stage >= kStageCount || !IsFinite(m.multiplier()) ||
          m.multiplier() < 0) {
        errors_.Add(Child(w, rd, "stage_multipliers", j),
                    absl::StrCat(label,
                                 ": stage multipliers need a stage and a "
                                 "multiplier >= 0"));
        continue;
      }
      own[stage] = true;
      c->stage_multiplier[stage] = m.multiplier();
    }
    const int dim =
        std::clamp(static_cast<int>(r.dimension()), 0, kDimensionCount - 1);
    for (int stage = 0; stage < kStageCount; ++stage) {
      if (own[stage]) continue;
      if (has_stage_dim_[stage][dim]) {
        c->stage_multiplier[stage] = stage_dim_[stage][dim];
      } else if (has_stage_dim_[stage][0]) {
        c->stage_multiplier[stage] = stage_dim_[stage][0];
      } else {
        c->stage_multiplier[stage] = 1;
      }
    }
    c->stage_multiplier[0] = c->stage_multiplier[1];  // UNSPECIFIED = UNKNOWN
    CheckTemplate(Child(w, rd, "explanation", -1), label, "explanation",
                  r.explanation(), true, &c->explanation);
    CheckTemplate(Child(w, rd, "suggestion", -1), label, "suggestion",
                  r.suggestion(), true, &c->suggestion);
    CheckTemplate(Child(w, rd, "fallback_suggestion", -1), label,
                  "fallback_suggestion", r.fallback_suggestion(),
                  c->suggestion.UsesProfilePlaceholder(),
                  &c->fallback_suggestion);
    CheckTemplate(Child(w, rd, "replacement", -1), label, "replacement",
                  r.replacement(), false, &c->replacement);
    if (r.evidence_size() == 0) {
      errors_.Add(w, absl::StrCat(label,
                                  ": needs at least one evidence entry "
                                  "(a seed sentence or a published source)"));
    }
    for (int j = 0; j < r.evidence_size(); ++j) {
      if (r.evidence(j).source().empty()) {
        errors_.Add(Child(w, rd, "evidence", j),
                    absl::StrCat(label, ": evidence needs a source"));
      }
    }
    if (!r.disabled()) {
      bool fires = false;
      bool quiet = false;
      for (const v1::RuleExample& e : r.examples()) {
        (e.fires() ? fires : quiet) = true;
      }
      const DetectorSpec* spec =
          r.detector().empty() ? nullptr : FindDetector(r.detector());
      if (spec != nullptr && !spec->example_can_fire) fires = true;
      if (!fires || !quiet) {
        errors_.Add(w, absl::StrCat(label,
                                    ": needs at least one example that "
                                    "fires and one that does not"));
      }
    }
  }

  void CheckDetector(const v1::Rule& r, const Where& w,
                     const std::string& label, const DetectorSpec& spec,
                     CompiledRule* c) {
    for (size_t k = 0; k < kMaxDetectorParams; ++k) {
      c->params[k] = spec.params[k].default_value;
    }
    for (const auto& [name, value] : r.params()) {
      size_t k = 0;
      while (k < kMaxDetectorParams && spec.params[k].name != name) ++k;
      if (k == kMaxDetectorParams || name.empty()) {
        errors_.Add(w, absl::StrCat(label, ": detector '", spec.name,
                                    "' has no param '", name, "'"));
        continue;
      }
      if (!IsFinite(value) || value < 0) {
        errors_.Add(w, absl::StrCat(label, ": param '", name,
                                    "' must be a finite number >= 0"));
        continue;
      }
      c->params[k] = value;
    }
    for (int j = 0; j < r.lexicons_size(); ++j) {
      const std::string& id = r.lexicons(j);
      if (std::find(spec.lexicons.begin(), spec.lexicons.end(), id) ==
          spec.lexicons.end()) {
        errors_.Add(Child(w, v1::Rule::descriptor(), "lexicons", j),
                    absl::StrCat(label, ": detector '", spec.name,
                                 "' does not read lexicon '", id, "'"));
      }
    }
  }

  int LexiconSource(absl::string_view id) const {
    auto it = lexicon_index_.find(id);
    return it == lexicon_index_.end() ? -1 : it->second;
  }

  void AddPhraseSource(absl::string_view phrase, bool cs, uint32_t source) {
    const int e = data_->phrases.Add(phrase, cs);
    if (e < 0) return;
    if (static_cast<size_t>(e) >= data_->phrase_sources.size()) {
      data_->phrase_sources.resize(static_cast<size_t>(e) + 1);
    }
    std::vector<uint32_t>& s = data_->phrase_sources[static_cast<size_t>(e)];
    if (std::find(s.begin(), s.end(), source) == s.end()) s.push_back(source);
  }

  void AddPatternSource(const std::string& pattern, bool cs, uint32_t source) {
    const std::string key = absl::StrCat(cs ? "1" : "0", pattern);
    auto [it, inserted] =
        pattern_index_.emplace(key, static_cast<int>(data_->patterns.size()));
    if (inserted) {
      PatternEntry e;
      e.re = std::make_unique<RE2>(pattern, PatternOptions(cs));
      data_->patterns.push_back(std::move(e));
    }
    std::vector<uint32_t>& s =
        data_->patterns[static_cast<size_t>(it->second)].sources;
    if (std::find(s.begin(), s.end(), source) == s.end()) s.push_back(source);
  }

  void AddLexiconToPass(int lex) {
    if (in_pass_.contains(lex)) return;
    in_pass_.insert(lex);
    const v1::Lexicon& l = file_.lexicons(lex);
    for (const std::string& p : l.phrases()) {
      AddPhraseSource(p, l.case_sensitive(), static_cast<uint32_t>(lex));
    }
    for (const std::string& p : l.patterns()) {
      AddPatternSource(p, l.case_sensitive(), static_cast<uint32_t>(lex));
    }
  }

  void FillPhraseIndex(absl::string_view lexicon, text::PhraseIndex* index) {
    const int lex = LexiconSource(lexicon);
    if (lex < 0) return;
    for (const std::string& p : file_.lexicons(lex).phrases()) {
      index->Add(p, file_.lexicons(lex).case_sensitive());
    }
  }

  void FillRoles(absl::string_view lexicon, uint8_t role) {
    const int lex = LexiconSource(lexicon);
    if (lex < 0) return;
    const v1::Lexicon& l = file_.lexicons(lex);
    for (int j = 0; j < l.phrases_size(); ++j) {
      if (!data_->phrases.SetRole(l.phrases(j), role)) {
        errors_.Add(
            Child(At("lexicons", lex), v1::Lexicon::descriptor(), "phrases", j),
            absl::StrCat("lexicon '", lexicon, "': ", Quote(l.phrases(j)),
                         " must be a single word (the engine counts "
                         "these words one by one)"));
      }
    }
  }

  void FillAbbreviations(absl::string_view lexicon,
                         absl::flat_hash_set<std::string>* set) {
    const int lex = LexiconSource(lexicon);
    if (lex < 0) return;
    const v1::Lexicon& l = file_.lexicons(lex);
    for (int j = 0; j < l.phrases_size(); ++j) {
      if (!text::TextConfig::AddAbbreviation(l.phrases(j), set)) {
        errors_.Add(
            Child(At("lexicons", lex), v1::Lexicon::descriptor(), "phrases", j),
            absl::StrCat("lexicon '", lexicon, "': ", Quote(l.phrases(j)),
                         " must be one word with an optional period"));
      }
    }
  }

  void BuildMatchers() {
    const size_t lexicons = data_->lexicon_ids.size();
    data_->source_count = lexicons + data_->rules.size();
    // Structure and question lists.
    text::TextConfig& tc = data_->text;
    FillPhraseIndex("greeting_words", &tc.greeting_words);
    FillPhraseIndex("generic_salutations", &tc.generic_salutations);
    FillPhraseIndex("honorifics", &tc.honorifics);
    FillPhraseIndex("signoffs", &tc.signoffs);
    FillPhraseIndex("mobile_signatures", &tc.mobile_signatures);
    FillAbbreviations("abbreviations", &tc.abbreviations);
    FillAbbreviations("final_abbreviations", &tc.final_abbreviations);
    FillPhraseIndex("open_question_openers", &data_->open_question_openers);
    FillPhraseIndex("closed_question_openers", &data_->closed_question_openers);
    FillPhraseIndex("non_genuine_questions", &data_->non_genuine_questions);
    if (const int q = LexiconSource("quote_headers"); q >= 0) {
      const v1::Lexicon& l = file_.lexicons(q);
      if (l.patterns_size() > 0) {
        std::vector<std::string> parts;
        for (const std::string& p : l.patterns()) {
          parts.push_back(absl::StrCat("(?:", p, ")"));
        }
        tc.quote_header = std::make_unique<RE2>(
            absl::StrJoin(parts, "|"), PatternOptions(l.case_sensitive()));
        if (!tc.quote_header->ok()) {
          errors_.Add(At("lexicons", q),
                      "lexicon 'quote_headers': the patterns "
                      "do not compile together");
        }
      }
    }
    // The one-pass matcher: lexicons fired by text rules, the ask and change
    // phrases, and every rule's own phrases and patterns.
    data_->reserved.ask_phrases = LexiconSource("ask_phrases");
    data_->reserved.change_phrases = LexiconSource("change_phrases");
    AddLexiconToPass(data_->reserved.ask_phrases);
    AddLexiconToPass(data_->reserved.change_phrases);
    for (size_t i = 0; i < data_->rules.size(); ++i) {
      CompiledRule& c = data_->rules[i];
      const v1::Rule& r = file_.rules(rule_file_index_[i]);
      data_->rule_index.emplace(c.info.id, static_cast<int>(i));
      if (c.detector != Detector::kNone) continue;
      const auto own = static_cast<uint32_t>(lexicons + i);
      c.sources.push_back(own);
      for (const std::string& lex_id : r.lexicons()) {
        const int lex = LexiconSource(lex_id);
        AddLexiconToPass(lex);
        if (std::find(c.sources.begin(), c.sources.end(),
                      static_cast<uint32_t>(lex)) == c.sources.end()) {
          c.sources.push_back(static_cast<uint32_t>(lex));
        }
      }
      for (const std::string& p : r.phrases()) {
        AddPhraseSource(p, r.case_sensitive(), own);
      }
      for (const std::string& p : r.patterns()) {
        AddPatternSource(p, r.case_sensitive(), own);
      }
      if (r.exceptions_size() > 0) {
        std::vector<std::string> parts;
        for (const std::string& p : r.exceptions()) {
          parts.push_back(absl::StrCat("(?:", p, ")"));
        }
        c.exceptions = std::make_unique<RE2>(
            absl::StrJoin(parts, "|"), PatternOptions(r.case_sensitive()));
      }
    }
    FillRoles("self_words", kRoleSelf);
    FillRoles("recipient_words", kRoleRecipient);
    FillRoles("stopwords", kRoleStopword);
    // One RE2::Set per case sensitivity finds which patterns occur in one
    // pass; only those are then searched for their positions.
    for (size_t k = 0; k < data_->patterns.size(); ++k) {
      const PatternEntry& e = data_->patterns[k];
      const bool cs = e.re->options().case_sensitive();
      std::unique_ptr<RE2::Set>& set =
          cs ? data_->pattern_set_cs : data_->pattern_set_ci;
      std::vector<int>& map =
          cs ? data_->set_cs_to_pattern : data_->set_ci_to_pattern;
      if (set == nullptr) {
        RE2::Options o = PatternOptions(cs);
        o.set_max_mem(kSetMaxMem);
        set = std::make_unique<RE2::Set>(o, RE2::UNANCHORED);
      }
      std::string error;
      if (set->Add(e.re->pattern(), &error) < 0) {
        errors_.Add(
            At("lexicons"),
            absl::StrCat("pattern ", Quote(e.re->pattern()), ": ", error));
      }
      map.push_back(static_cast<int>(k));
    }
    for (auto* set :
         {data_->pattern_set_ci.get(), data_->pattern_set_cs.get()}) {
      if (set != nullptr && !set->Compile()) {
        errors_.Add(At("lexicons"),
                    "the patterns are too many or too complex "
                    "to match together (RE2 out of memory)");
      }
    }
  }

  const v1::RulesFile& file_;
  Where root_;
  Errors errors_;
  std::unique_ptr<CompiledRulesData> data_;
  absl::flat_hash_map<std::string, int> lexicon_index_;
  absl::flat_hash_map<std::string, int> pattern_index_;
  absl::flat_hash_set<int> in_pass_;
  std::vector<int> rule_file_index_;
  std::array<std::array<bool, kDimensionCount>, kStageCount> has_stage_dim_{};
  std::array<std::array<double, kDimensionCount>, kStageCount> stage_dim_{};
};

// Runs every enabled rule's examples against the compiled rules.
void CheckExamples(const v1::RulesFile& file, const CompiledRules& rules,
                   const Where& root, Errors* errors) {
  const ModelWeights weights = DefaultWeights(rules);
  for (int i = 0; i < file.rules_size(); ++i) {
    const v1::Rule& r = file.rules(i);
    if (r.disabled()) continue;
    const int index = rules.FindRule(r.id());
    if (index < 0) continue;
    const Where w = Child(root, v1::RulesFile::descriptor(), "rules", i);
    for (int j = 0; j < r.examples_size(); ++j) {
      const v1::RuleExample& e = r.examples(j);
      const Where ew = Child(w, v1::Rule::descriptor(), "examples", j);
      v1::Draft draft;
      draft.set_channel(common::CHANNEL_EMAIL);
      if (e.field() == v1::MESSAGE_FIELD_SUBJECT) {
        draft.set_subject(e.text());
      } else {
        draft.set_body(e.text());
      }
      profile::v1::Profile profile;
      if (e.has_recipient()) profile = ProfileFromContact(e.recipient());
      ScoreInput in;
      in.draft = &draft;
      in.profile = e.has_recipient() ? &profile : nullptr;
      in.sender = e.has_sender() ? &e.sender() : nullptr;
      Signals signals;
      const v1::ScoreReport report = Score(in, rules, weights, &signals);
      const bool fired = signals.x[static_cast<size_t>(index)] != 0;
      if (fired != e.fires()) {
        errors->Add(
            ew, absl::StrCat("rule '", r.id(), "': example ", Quote(e.text()),
                             e.fires() ? " should fire but does not"
                                       : " should not fire but does"));
        continue;
      }
      if (fired && !e.expect_excerpt().empty()) {
        const v1::Finding* first = nullptr;
        for (const v1::Finding& f : report.findings()) {
          if (f.rule_id() != r.id()) continue;
          if (first == nullptr || f.field() < first->field() ||
              (f.field() == first->field() && f.start() < first->start())) {
            first = &f;
          }
        }
        const std::string got = first == nullptr ? "" : first->excerpt();
        if (got != e.expect_excerpt()) {
          errors->Add(
              ew, absl::StrCat("rule '", r.id(), "': example ", Quote(e.text()),
                               " should span ", Quote(e.expect_excerpt()),
                               " but spans ", Quote(got)));
        }
      }
    }
  }
}

absl::StatusOr<std::shared_ptr<const CompiledRules>> Compile(
    const v1::RulesFile& file, const ParseInfoTree* tree,
    absl::string_view source_name, absl::string_view content) {
  Compiler compiler(file, tree, source_name);
  absl::StatusOr<std::unique_ptr<CompiledRulesData>> data = compiler.Run();
  if (!data.ok()) return data.status();
  (*data)->version = absl::StrCat(file.version(), "-", Sha256Hex12(content));
  auto rules = std::make_shared<const CompiledRules>(*std::move(data));
  CheckExamples(file, *rules, compiler.root(), &compiler.errors());
  if (!compiler.errors().empty()) return compiler.errors().ToStatus();
  return rules;
}

}  // namespace

CompiledRules::CompiledRules(std::unique_ptr<CompiledRulesData> data)
    : data_(std::move(data)) {}
CompiledRules::~CompiledRules() = default;

const std::string& CompiledRules::version() const { return data_->version; }
int32_t CompiledRules::file_version() const { return data_->file_version; }
const std::string& CompiledRules::source_name() const {
  return data_->source_name;
}
size_t CompiledRules::size() const { return data_->rules.size(); }
const RuleInfo& CompiledRules::rule(size_t i) const {
  return data_->rules[i].info;
}
int CompiledRules::FindRule(absl::string_view id) const {
  auto it = data_->rule_index.find(id);
  return it == data_->rule_index.end() ? -1 : it->second;
}
double CompiledRules::default_intercept() const { return data_->intercept; }
double CompiledRules::learning_rate() const { return data_->learning_rate; }
double CompiledRules::l2_to_default() const { return data_->l2_to_default; }
double CompiledRules::max_abs_weight() const { return data_->max_abs_weight; }
int32_t CompiledRules::min_outcomes() const { return data_->min_outcomes; }

absl::StatusOr<std::shared_ptr<const CompiledRules>> LoadRules(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read rules file ", path));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const size_t slash = path.find_last_of('/');
  const std::string name =
      slash == std::string::npos ? path : path.substr(slash + 1);
  return ParseRules(buffer.str(), name);
}

absl::StatusOr<std::shared_ptr<const CompiledRules>> ParseRules(
    absl::string_view text, absl::string_view source_name) {
  Errors errors(std::string(source_name.data(), source_name.size()));
  v1::RulesFile file;
  ParseInfoTree tree;
  ParseErrorCollector collector(&errors);
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text.data(), text.size()), &file)) {
    if (errors.empty()) {
      Where w;
      errors.Add(w, "not a valid RulesFile text proto");
    }
    return errors.ToStatus();
  }
  return Compile(file, &tree, source_name, text);
}

absl::StatusOr<std::shared_ptr<const CompiledRules>> CompileRules(
    const v1::RulesFile& file, absl::string_view source_name) {
  std::string bytes;
  pb::io::StringOutputStream stream(&bytes);
  {
    pb::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    file.SerializeToCodedStream(&coded);
  }
  return Compile(file, nullptr, source_name, bytes);
}

}  // namespace rapport::scoring::engine
