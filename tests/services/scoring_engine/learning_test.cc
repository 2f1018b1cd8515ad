// The reply model: labels from outcomes, online logistic regression
// regularised toward the DEFAULT weights, storage as a Model message, and
// when Score() uses learned weights.

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>

#include "services/scoring/engine/model.h"
#include "tests/services/scoring_engine/test_util.h"

namespace rapport::scoring::engine::testing {
namespace {

TEST(LabelTest, FollowsTheOutcomeContract) {
  EXPECT_EQ(LabelForOutcome(common::OUTCOME_MEETING_BOOKED), true);
  EXPECT_EQ(LabelForOutcome(common::OUTCOME_POSITIVE_REPLY), true);
  EXPECT_EQ(LabelForOutcome(common::OUTCOME_REPLIED), true);
  EXPECT_EQ(LabelForOutcome(common::OUTCOME_NEUTRAL_REPLY), true);
  EXPECT_EQ(LabelForOutcome(common::OUTCOME_NEGATIVE_REPLY), false);
  EXPECT_EQ(LabelForOutcome(common::OUTCOME_NO_REPLY), false);
  EXPECT_EQ(LabelForOutcome(common::OUTCOME_UNSUBSCRIBED), false);
  EXPECT_EQ(LabelForOutcome(common::OUTCOME_COMPLAINT), false);
  EXPECT_EQ(LabelForOutcome(common::OUTCOME_BOUNCED), std::nullopt);
  EXPECT_EQ(LabelForOutcome(common::OUTCOME_UNSPECIFIED), std::nullopt);
}

double Sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

// A deterministic world: rule i fires with probability 0.1 (value 1, or 2
// for a fifth of them), and a hidden "true" model decides the reply (about
// 10% of drafts get a welcome reply).
struct World {
  std::mt19937_64 rng{20240601};
  std::vector<double> true_weight;
  double true_intercept = -1.5;
  size_t rules;

  explicit World(const CompiledRules& r) : rules(r.size()) {
    std::normal_distribution<double> shift(0, 0.6);
    for (size_t i = 0; i < rules; ++i) {
      // The truth differs from the defaults for every other rule.
      true_weight.push_back(r.rule(i).default_weight +
                            (i % 2 == 0 ? shift(rng) : 0));
    }
  }
  Signals Draw(size_t never_fires = SIZE_MAX) {
    std::uniform_real_distribution<double> u(0, 1);
    Signals s;
    s.x.assign(rules, 0);
    for (size_t i = 0; i < rules; ++i) {
      if (i != never_fires && u(rng) < 0.1) s.x[i] = u(rng) < 0.2 ? 2 : 1;
    }
    return s;
  }
  bool Label(const Signals& s) {
    double z = true_intercept;
    for (size_t i = 0; i < rules; ++i) z += true_weight[i] * s.x[i];
    return std::uniform_real_distribution<double>(0, 1)(rng) < Sigmoid(z);
  }
};

double LogLoss(const std::vector<std::pair<Signals, bool>>& data,
               const ModelWeights& w) {
  double loss = 0;
  for (const auto& [s, y] : data) {
    const double p = std::clamp(ReplyProbability(s, w), 1e-12, 1 - 1e-12);
    loss -= y ? std::log(p) : std::log(1 - p);
  }
  return loss / static_cast<double>(data.size());
}

TEST(LearnTest, MovesTowardAHiddenTruthAndBeatsTheDefaults) {
  const CompiledRules& rules = DefaultRules();
  World world(rules);
  const size_t quiet_rule = 3;
  ModelWeights learned = DefaultWeights(rules);
  const ModelWeights defaults = DefaultWeights(rules);
  LearnOptions options = LearnOptions::FromRules(rules);
  if (const char* lr = std::getenv("LR")) options.learning_rate = std::atof(lr);
  for (int n = 0; n < 20000; ++n) {
    const Signals s = world.Draw(quiet_rule);
    Learn(s, world.Label(s), options, &learned);
  }
  std::vector<std::pair<Signals, bool>> fresh;
  for (int n = 0; n < 20000; ++n) {
    Signals s = world.Draw(quiet_rule);
    const bool y = world.Label(s);
    fresh.emplace_back(std::move(s), y);
  }
  ModelWeights truth = DefaultWeights(rules);
  truth.weight = world.true_weight;
  truth.intercept = world.true_intercept;
  const double loss_default = LogLoss(fresh, defaults);
  const double loss_learned = LogLoss(fresh, learned);
  const double loss_truth = LogLoss(fresh, truth);
  std::cout << "log-loss on 20,000 fresh draws: defaults " << loss_default
            << ", learned (20,000 outcomes) " << loss_learned << ", truth "
            << loss_truth << "\n";
  RecordProperty("log_loss_default", std::to_string(loss_default));
  RecordProperty("log_loss_learned", std::to_string(loss_learned));
  EXPECT_LT(loss_learned, loss_default - 0.05);
  EXPECT_LT(loss_learned - loss_truth, 0.5 * (loss_default - loss_truth));
  // Closer to the truth than the defaults were, on the rules that moved.
  double before = 0;
  double after = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (i == quiet_rule || i % 2 != 0) continue;
    before += std::abs(defaults.weight[i] - world.true_weight[i]);
    after += std::abs(learned.weight[i] - world.true_weight[i]);
  }
  std::cout << "distance to truth of the shifted weights: defaults " << before
            << ", learned " << after << "\n";
  EXPECT_LT(after, 0.6 * before);
  // A rule that never fired stays at its default.
  EXPECT_DOUBLE_EQ(learned.weight[quiet_rule], defaults.weight[quiet_rule]);
  EXPECT_EQ(learned.fired_count[quiet_rule], 0);
  EXPECT_EQ(learned.outcomes_learned, 20000);
}

TEST(LearnTest, OneStepPullsTowardTheDefaultNotTowardZero) {
  const CompiledRules& rules = DefaultRules();
  ModelWeights w = DefaultWeights(rules);
  const size_t i = static_cast<size_t>(rules.FindRule("timing.do_not_contact"));
  const size_t j = static_cast<size_t>(rules.FindRule("pitch.hype"));
  const double w0 = rules.rule(i).default_weight;  // -3
  w.weight[i] = 0.0;
  w.weight[j] = 1.0;
  LearnOptions options;
  options.learning_rate = 0.1;
  options.l2_to_default = 0.5;
  Signals s;
  s.x.assign(rules.size(), 0);
  s.x[i] = 1;
  const double p = ReplyProbability(s, w);
  Learn(s, /*positive=*/false, options, &w);
  // g = 0 - p; the L2 term pulls from 0 toward -3, not toward 0.
  EXPECT_DOUBLE_EQ(w.weight[i], 0.0 + 0.1 * ((0 - p) * 1 - 0.5 * (0.0 - w0)));
  EXPECT_LT(w.weight[i], 0.0);
  // A rule that did not fire is untouched.
  EXPECT_DOUBLE_EQ(w.weight[j], 1.0);
  EXPECT_EQ(w.fired_count[i], 1);
  EXPECT_EQ(w.fired_count[j], 0);
}

TEST(LearnTest, StrongRegularisationKeepsARuleAtItsDefault) {
  const CompiledRules& rules = DefaultRules();
  const size_t i = static_cast<size_t>(rules.FindRule("timing.do_not_contact"));
  const double w0 = rules.rule(i).default_weight;
  Signals s;
  s.x.assign(rules.size(), 0);
  s.x[i] = 1;
  LearnOptions options = LearnOptions::FromRules(rules);
  // Data that says "this rule costs every reply" (always negative).
  ModelWeights weak = DefaultWeights(rules);
  ModelWeights strong = DefaultWeights(rules);
  options.l2_to_default = 0;
  for (int n = 0; n < 5000; ++n) Learn(s, false, options, &weak);
  options.l2_to_default = 1.0;
  for (int n = 0; n < 5000; ++n) Learn(s, false, options, &strong);
  EXPECT_LT(weak.weight[i], w0 - 0.3);      // free to follow the data
  EXPECT_NEAR(strong.weight[i], w0, 0.05);  // held at its default
}

TEST(LearnTest, FewOutcomesStayNearTheDefaults) {
  const CompiledRules& rules = DefaultRules();
  World world(rules);
  ModelWeights w = DefaultWeights(rules);
  const LearnOptions options = LearnOptions::FromRules(rules);
  for (int n = 0; n < 20; ++n) {
    const Signals s = world.Draw();
    Learn(s, world.Label(s), options, &w);
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    EXPECT_NEAR(w.weight[i], rules.rule(i).default_weight, 0.2)
        << rules.rule(i).id;
  }
}

TEST(LearnTest, WeightsAreClampedAndStayFinite) {
  const CompiledRules& rules = DefaultRules();
  ModelWeights w = DefaultWeights(rules);
  LearnOptions options = LearnOptions::FromRules(rules);
  options.learning_rate = 1000;
  Signals s;
  s.x.assign(rules.size(), 1);
  s.x[0] = std::numeric_limits<double>::infinity();
  for (int n = 0; n < 10; ++n) Learn(s, n % 2 == 0, options, &w);
  for (double v : w.weight) {
    EXPECT_TRUE(std::isfinite(v));
    EXPECT_LE(std::abs(v), options.max_abs_weight);
  }
  EXPECT_LE(std::abs(w.intercept), options.max_abs_weight);
}

TEST(ModelProtoTest, RoundTripsThroughTheModelMessage) {
  const CompiledRules& rules = DefaultRules();
  World world(rules);
  ModelWeights w = DefaultWeights(rules);
  for (int n = 0; n < 500; ++n) {
    const Signals s = world.Draw();
    Learn(s, world.Label(s), LearnOptions::FromRules(rules), &w);
  }
  w.version = 42;
  const v1::Model model = ToModelProto(w, rules);
  EXPECT_EQ(model.rules_size(), static_cast<int>(rules.size()));
  EXPECT_EQ(model.rules_version(), rules.version());
  for (int k = 1; k < model.rules_size(); ++k) {
    EXPECT_LT(model.rules(k - 1).rule_id(), model.rules(k).rule_id());
  }
  v1::Model parsed;
  ASSERT_TRUE(parsed.ParseFromString(model.SerializeAsString()));
  const ModelWeights back = FromModelProto(parsed, rules);
  EXPECT_EQ(back.version, 42);
  EXPECT_EQ(back.outcomes_learned, 500);
  EXPECT_DOUBLE_EQ(back.intercept, w.intercept);
  for (size_t i = 0; i < rules.size(); ++i) {
    EXPECT_DOUBLE_EQ(back.weight[i], w.weight[i]);
    EXPECT_EQ(back.fired_count[i], w.fired_count[i]);
  }
}

TEST(ModelProtoTest, AlignsByRuleIdWhenTheRulesChange) {
  const CompiledRules& rules = DefaultRules();
  ModelWeights w = DefaultWeights(rules);
  const size_t hype = static_cast<size_t>(rules.FindRule("pitch.hype"));
  w.weight[hype] = -1.25;
  v1::Model model = ToModelProto(w, rules);
  auto* unknown = model.add_rules();
  unknown->set_rule_id("retired.rule");
  unknown->set_weight(3);
  // The same rules with one rule disabled: the rest keep their weights.
  std::string text = ReadFile(RulesDir() + "/default.textproto");
  text.replace(text.find("id: \"pitch.feature_talk\""), 24,
               "id: \"pitch.feature_talk\"\n  disabled: true");
  auto changed = ParseRules(text, "changed");
  ASSERT_TRUE(changed.ok()) << changed.status();
  const ModelWeights aligned = FromModelProto(model, **changed);
  ASSERT_EQ(aligned.weight.size(), (*changed)->size());
  EXPECT_DOUBLE_EQ(
      aligned.weight[static_cast<size_t>((*changed)->FindRule("pitch.hype"))],
      -1.25);
  EXPECT_EQ(aligned.rules_version, (*changed)->version());
}

TEST(ScoreModelTest, LearnedWeightsAreUsedOnlyAfterMinOutcomes) {
  const CompiledRules& rules = DefaultRules();
  v1::Draft draft;
  draft.set_channel(common::CHANNEL_EMAIL);
  draft.set_subject("Denver");
  draft.set_body(kSeedBody);
  const profile::Profile p = SeedProfile();
  ModelWeights w = DefaultWeights(rules);
  w.intercept = 2.0;  // a very different model
  w.version = 7;
  w.outcomes_learned = rules.min_outcomes() - 1;
  const ScoreInput in{&draft, &p, nullptr};
  const v1::ScoreReport before = Score(in, rules, w);
  EXPECT_EQ(before.model_version(), 0);
  w.outcomes_learned = rules.min_outcomes();
  const v1::ScoreReport after = Score(in, rules, w);
  EXPECT_EQ(after.model_version(), 7);
  EXPECT_GT(after.reply_probability(), before.reply_probability());
  // The 0-100 score comes from the rules, not from the model.
  EXPECT_EQ(after.score(), before.score());
  // Weights of another rules version are not used.
  w.rules_version = "0-000000000000";
  EXPECT_EQ(Score(in, rules, w).model_version(), 0);
}

TEST(SignalsStorageTest, RoundTripsByRuleId) {
  const CompiledRules& rules = DefaultRules();
  const Scored s = ScoreForMitch(kSeedBody);
  auto stored = SignalsByRuleId(s.signals, rules);
  EXPECT_FALSE(stored.empty());
  for (const auto& [id, value] : stored) EXPECT_NE(value, 0) << id;
  stored.emplace_back("retired.rule", 1.0);
  const Signals back = SignalsFromRuleIds(stored, rules);
  EXPECT_EQ(back.x, s.signals.x);
}

TEST(ScoreModelTest, ReplyProbabilityMatchesTheSignals) {
  const CompiledRules& rules = DefaultRules();
  const Scored s = ScoreForMitch(kSeedBody);
  EXPECT_NEAR(s.report.reply_probability(),
              ReplyProbability(s.signals, DefaultWeights(rules)), 1e-12);
}

}  // namespace
}  // namespace rapport::scoring::engine::testing
