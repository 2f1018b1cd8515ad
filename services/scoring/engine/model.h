#pragma once

// The reply model: online logistic regression over the rule signals,
// p(welcome reply) = sigmoid(intercept + sum_i w_i * x_i), learned from real
// outcomes with L2 regularisation toward the rules file's DEFAULT weights (not
// toward 0), so a tenant without data scores with the defaults and a rule
// that rarely fires stays near its evidence-based prior.
//
// Pure: the service loads ModelWeights from Redis (as a
// rapport.scoring.v1.Model message, see ToModelProto), calls Learn() per
// outcome and writes them back.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rapport/common/v1/common.pb.h"
#include "rapport/scoring/v1/scoring.pb.h"
#include "services/scoring/engine/rules.h"

namespace rapport::scoring::engine {

// The signal vector of one scored draft: x[i] is the value of rule i of the
// CompiledRules it was scored with (0 when the rule did not fire). For a text
// rule it is the number of findings reported; for a detector a magnitude
// documented with it (1 for yes/no detectors); both are multiplied by the
// rule's buying-stage multiplier.
struct Signals {
  std::vector<double> x;
};

// The non-zero values of `signals` keyed by rule id, for storage under a
// message id: the rules file may change between scoring and the outcome, so
// the service stores ids rather than positions.
std::vector<std::pair<std::string, double>> SignalsByRuleId(
    const Signals& signals, const CompiledRules& rules);

// Signals aligned with `rules` from SignalsByRuleId() output; ids that are
// no longer in the rules are dropped, rules not listed are 0.
Signals SignalsFromRuleIds(
    const std::vector<std::pair<std::string, double>>& values,
    const CompiledRules& rules);

struct ModelWeights {
  // Model.version; 0 = nothing learned yet.
  int64_t version = 0;
  // Outcomes learned from.
  int64_t outcomes_learned = 0;
  double intercept = 0;
  double default_intercept = 0;
  // Aligned with the CompiledRules' rule order.
  std::vector<double> weight;
  std::vector<double> default_weight;
  std::vector<int64_t> fired_count;
  // CompiledRules::version() the vectors are aligned with.
  std::string rules_version;
};

// The defaults of the rules file (version 0, nothing learned).
ModelWeights DefaultWeights(const CompiledRules& rules);

struct LearnOptions {
  double learning_rate = 0.05;
  double l2_to_default = 0.01;
  double max_abs_weight = 5;
  // The rules file's learning settings.
  static LearnOptions FromRules(const CompiledRules& rules);
};

// The label of an outcome for learning, per rapport.common.v1.Outcome: true
// (welcome reply) for REPLIED, POSITIVE_REPLY, NEUTRAL_REPLY and
// MEETING_BOOKED; false for NO_REPLY, NEGATIVE_REPLY, UNSUBSCRIBED and
// COMPLAINT; nullopt for BOUNCED (never reached a person) and UNSPECIFIED,
// which must not be learned from.
std::optional<bool> LabelForOutcome(rapport::common::v1::Outcome outcome);

// z = intercept + sum_i w_i x_i and sigmoid(z). Signals and weights must be
// aligned (a shorter one is read as zeros beyond its end).
double LogOdds(const Signals& signals, const ModelWeights& weights);
double ReplyProbability(const Signals& signals, const ModelWeights& weights);

// One stochastic gradient step on the log-loss of (signals, positive):
//   g = y - p
//   w_i += lr * (g * x_i - l2 * (w_i - default_i))   for each rule with x_i !=
//   0 b   += lr * (g       - l2 * (b   - default_b))
// then clamps to [-max_abs_weight, max_abs_weight]. The pull toward the
// defaults is applied with the rule's own evidence (only when it fired), so
// its strength is relative to how much the data says about that rule, and a
// rule without data keeps its default. Increments outcomes_learned and
// fired_count of the rules with x_i != 0; does NOT bump version (the service
// versions what it writes). Non-finite signal values count as 0.
void Learn(const Signals& signals, bool positive, const LearnOptions& options,
           ModelWeights* weights);

// The weights as the Model message (rules ordered by rule id, defaults next
// to learned values), for GetModel and for storage (SerializeAsString).
rapport::scoring::v1::Model ToModelProto(const ModelWeights& weights,
                                         const CompiledRules& rules);

// Weights from a stored Model, aligned with `rules` by rule id: rules the
// model does not know start at their defaults, rules no longer in the file
// are dropped, and defaults always come from `rules` (a new rules file with
// a new default moves the pull of regularisation there).
ModelWeights FromModelProto(const rapport::scoring::v1::Model& model,
                            const CompiledRules& rules);

}  // namespace rapport::scoring::engine
