#pragma once

// Loading, validating and compiling the rules data file
// (rapport.scoring.v1.RulesFile, services/scoring/rules/default.textproto).
//
// A CompiledRules is immutable once built: every method is const and safe to
// call from any number of threads (RE2 objects are thread-safe). The service
// keeps a std::shared_ptr<const CompiledRules> and swaps it on SIGHUP; a file
// that fails to load leaves the previous rules in force because loading
// never touches them.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapport/scoring/v1/rules.pb.h"
#include "rapport/scoring/v1/scoring.pb.h"

namespace rapport::scoring::engine {

// What the rest of the world may know about one enabled rule.
struct RuleInfo {
  std::string id;
  std::string title;
  rapport::scoring::v1::Dimension dimension =
      rapport::scoring::v1::DIMENSION_UNSPECIFIED;
  rapport::scoring::v1::Severity severity =
      rapport::scoring::v1::SEVERITY_UNSPECIFIED;
  // Default weight in the reply model (log-odds per unit of signal).
  double default_weight = 0;
  // A credit rule (weight > 0) rewards something the draft does well: it
  // contributes to the signal vector and the reply model but produces no
  // finding and takes no points off.
  bool credit = false;
};

struct CompiledRulesData;  // rules_internal.h

class CompiledRules {
 public:
  explicit CompiledRules(std::unique_ptr<CompiledRulesData> data);
  ~CompiledRules();
  CompiledRules(const CompiledRules&) = delete;
  CompiledRules& operator=(const CompiledRules&) = delete;

  // "<RulesFile.version>-<first 12 hex digits of SHA-256 of the file>", as
  // ScoreReport.rules_version and Model.rules_version.
  const std::string& version() const;
  int32_t file_version() const;
  // Where the rules came from ("default.textproto").
  const std::string& source_name() const;

  // The enabled rules in file order; signal vectors and weights are aligned
  // with it.
  size_t size() const;
  const RuleInfo& rule(size_t i) const;
  // Index of the enabled rule with this id, or -1.
  int FindRule(absl::string_view id) const;

  // RulesFile.intercept.
  double default_intercept() const;
  // LearningSettings with their documented defaults applied.
  double learning_rate() const;
  double l2_to_default() const;
  double max_abs_weight() const;
  int32_t min_outcomes() const;

  // Engine internals.
  const CompiledRulesData& data() const { return *data_; }

 private:
  std::unique_ptr<CompiledRulesData> data_;
};

// Reads, parses, validates and compiles a rules file. Errors are
// INVALID_ARGUMENT (NOT_FOUND when the file cannot be read) listing every
// problem as "<file>:<line>:<column>: <what>", naming the rule or lexicon.
absl::StatusOr<std::shared_ptr<const CompiledRules>> LoadRules(
    const std::string& path);

// The same for the text of a rules file; `source_name` prefixes errors.
absl::StatusOr<std::shared_ptr<const CompiledRules>> ParseRules(
    absl::string_view text, absl::string_view source_name);

// The same for an already parsed file (errors name fields by path, e.g.
// "rules[3]", as there are no line numbers). The version hash is taken over
// the message's deterministic serialization.
absl::StatusOr<std::shared_ptr<const CompiledRules>> CompileRules(
    const rapport::scoring::v1::RulesFile& file, absl::string_view source_name);

}  // namespace rapport::scoring::engine
