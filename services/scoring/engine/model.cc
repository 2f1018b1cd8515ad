#include "services/scoring/engine/model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/container/flat_hash_map.h"

namespace rapport::scoring::engine {
namespace {

namespace v1 = ::rapport::scoring::v1;
namespace common = ::rapport::common::v1;

double Sigmoid(double z) {
  return 1.0 / (1.0 + std::exp(-std::clamp(z, -50.0, 50.0)));
}

double Finite(double v, double fallback) {
  return std::isfinite(v) ? v : fallback;
}

}  // namespace

std::vector<std::pair<std::string, double>> SignalsByRuleId(
    const Signals& signals, const CompiledRules& rules) {
  std::vector<std::pair<std::string, double>> out;
  const size_t n = std::min(signals.x.size(), rules.size());
  for (size_t i = 0; i < n; ++i) {
    if (signals.x[i] != 0) out.emplace_back(rules.rule(i).id, signals.x[i]);
  }
  return out;
}

Signals SignalsFromRuleIds(
    const std::vector<std::pair<std::string, double>>& values,
    const CompiledRules& rules) {
  Signals s;
  s.x.assign(rules.size(), 0.0);
  for (const auto& [id, value] : values) {
    const int i = rules.FindRule(id);
    if (i >= 0) s.x[static_cast<size_t>(i)] = Finite(value, 0);
  }
  return s;
}

ModelWeights DefaultWeights(const CompiledRules& rules) {
  ModelWeights w;
  w.intercept = rules.default_intercept();
  w.default_intercept = rules.default_intercept();
  w.weight.resize(rules.size());
  w.default_weight.resize(rules.size());
  w.fired_count.assign(rules.size(), 0);
  for (size_t i = 0; i < rules.size(); ++i) {
    w.weight[i] = rules.rule(i).default_weight;
    w.default_weight[i] = rules.rule(i).default_weight;
  }
  w.rules_version = rules.version();
  return w;
}

LearnOptions LearnOptions::FromRules(const CompiledRules& rules) {
  LearnOptions o;
  o.learning_rate = rules.learning_rate();
  o.l2_to_default = rules.l2_to_default();
  o.max_abs_weight = rules.max_abs_weight();
  return o;
}

std::optional<bool> LabelForOutcome(common::Outcome outcome) {
  switch (outcome) {
    case common::OUTCOME_REPLIED:
    case common::OUTCOME_POSITIVE_REPLY:
    case common::OUTCOME_NEUTRAL_REPLY:
    case common::OUTCOME_MEETING_BOOKED:
      return true;
    case common::OUTCOME_NO_REPLY:
    case common::OUTCOME_NEGATIVE_REPLY:
    case common::OUTCOME_UNSUBSCRIBED:
    case common::OUTCOME_COMPLAINT:
      return false;
    default:
      return std::nullopt;
  }
}

double LogOdds(const Signals& signals, const ModelWeights& weights) {
  double z = weights.intercept;
  const size_t n = std::min(signals.x.size(), weights.weight.size());
  for (size_t i = 0; i < n; ++i) {
    if (signals.x[i] != 0) z += signals.x[i] * weights.weight[i];
  }
  return z;
}

double ReplyProbability(const Signals& signals, const ModelWeights& weights) {
  return Sigmoid(LogOdds(signals, weights));
}

void Learn(const Signals& signals, bool positive, const LearnOptions& options,
           ModelWeights* weights) {
  const double lr = options.learning_rate;
  const double l2 = options.l2_to_default;
  const double bound = options.max_abs_weight;
  const double g = (positive ? 1.0 : 0.0) - ReplyProbability(signals, *weights);
  const size_t n = weights->weight.size();
  if (weights->default_weight.size() < n) {
    weights->default_weight.resize(n, 0.0);
  }
  if (weights->fired_count.size() < n) weights->fired_count.resize(n, 0);
  // Sparse updates: a rule's weight moves (and is pulled toward its
  // default) only on outcomes of drafts it fired on, so the pull is
  // measured against that rule's own evidence and rules that never fire
  // keep their defaults exactly.
  const size_t fired = std::min(n, signals.x.size());
  for (size_t i = 0; i < fired; ++i) {
    const double x = Finite(signals.x[i], 0);
    if (x == 0) continue;
    double& w = weights->weight[i];
    w += lr * (g * x - l2 * (w - weights->default_weight[i]));
    w = std::clamp(Finite(w, weights->default_weight[i]), -bound, bound);
    ++weights->fired_count[i];
  }
  double& b = weights->intercept;
  b += lr * (g - l2 * (b - weights->default_intercept));
  b = std::clamp(Finite(b, weights->default_intercept), -bound, bound);
  ++weights->outcomes_learned;
}

v1::Model ToModelProto(const ModelWeights& weights,
                       const CompiledRules& rules) {
  v1::Model m;
  m.set_version(weights.version);
  m.set_outcomes_learned(weights.outcomes_learned);
  m.set_intercept(weights.intercept);
  m.set_default_intercept(rules.default_intercept());
  m.set_rules_version(rules.version());
  std::vector<size_t> order(rules.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return rules.rule(a).id < rules.rule(b).id;
  });
  for (size_t i : order) {
    v1::RuleWeight* rw = m.add_rules();
    rw->set_rule_id(rules.rule(i).id);
    rw->set_dimension(rules.rule(i).dimension);
    rw->set_weight(i < weights.weight.size() ? weights.weight[i]
                                             : rules.rule(i).default_weight);
    rw->set_default_weight(rules.rule(i).default_weight);
    rw->set_fired_count(i < weights.fired_count.size() ? weights.fired_count[i]
                                                       : 0);
  }
  return m;
}

ModelWeights FromModelProto(const v1::Model& model,
                            const CompiledRules& rules) {
  ModelWeights w = DefaultWeights(rules);
  w.version = model.version();
  w.outcomes_learned = model.outcomes_learned();
  w.intercept = Finite(model.intercept(), rules.default_intercept());
  absl::flat_hash_map<std::string, const v1::RuleWeight*> by_id;
  for (const v1::RuleWeight& rw : model.rules()) by_id[rw.rule_id()] = &rw;
  for (size_t i = 0; i < rules.size(); ++i) {
    auto it = by_id.find(rules.rule(i).id);
    if (it == by_id.end()) continue;
    w.weight[i] = Finite(it->second->weight(), rules.rule(i).default_weight);
    w.fired_count[i] = it->second->fired_count();
  }
  return w;
}

}  // namespace rapport::scoring::engine
