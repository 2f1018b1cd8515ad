// Buying stage weighting: pitching to someone who has not recognised a need
// costs much more than to someone evaluating options.

#include <gtest/gtest.h>

#include "tests/services/scoring_engine/test_util.h"

namespace rapport::scoring::engine::testing {
namespace {

constexpr char kPitchyDraft[] =
    "Hi Mitch,\n\nCongratulations on the new distribution hub in Denver. Our "
    "platform "
    "is the market leader for onboarding new reps. How are you planning the "
    "ramp for "
    "the Denver team?\n\nBest,\nBob";

Scored ScoreAtStage(common::BuyingStage stage) {
  profile::Profile p = SeedProfile();
  p.set_stage(stage);
  const common::Sender sender = SeedSender();
  return ScoreDraft(
      {kPitchyDraft, "Denver hub", common::CHANNEL_EMAIL, &p, &sender});
}

double Dimension(const Scored& s, v1::Dimension d) {
  for (const v1::DimensionScore& ds : s.report.dimensions()) {
    if (ds.dimension() == d) return ds.score();
  }
  return -1;
}

TEST(StageTest, SamePitchyDraftScoresLowerForUnawareThanEvaluating) {
  const Scored unaware = ScoreAtStage(common::BUYING_STAGE_UNAWARE);
  const Scored problem = ScoreAtStage(common::BUYING_STAGE_PROBLEM_AWARE);
  const Scored evaluating = ScoreAtStage(common::BUYING_STAGE_EVALUATING);
  EXPECT_LT(unaware.report.score(), evaluating.report.score());
  EXPECT_LT(problem.report.score(), evaluating.report.score());
  EXPECT_LT(Dimension(unaware, v1::DIMENSION_PITCH),
            Dimension(evaluating, v1::DIMENSION_PITCH));
  // The reply model sees the stage too.
  EXPECT_LT(unaware.report.reply_probability(),
            evaluating.report.reply_probability());
}

TEST(StageTest, PenaltiesAndSignalsScaleByTheStageMultiplier) {
  const Scored unaware = ScoreAtStage(common::BUYING_STAGE_UNAWARE);
  const Scored evaluating = ScoreAtStage(common::BUYING_STAGE_EVALUATING);
  // Multipliers of the default rules for DIMENSION_PITCH: 2 and 0.5.
  EXPECT_NEAR(unaware.X("pitch.hype"), 2.0, 1e-9);
  EXPECT_NEAR(evaluating.X("pitch.hype"), 0.5, 1e-9);
  EXPECT_NEAR(Dimension(evaluating, v1::DIMENSION_PITCH), 100 - 0.5 * (25 + 10),
              1e-9);
  EXPECT_NEAR(Dimension(unaware, v1::DIMENSION_PITCH), 100 - 2 * (25 + 10),
              1e-9);
  // Other dimensions are unaffected.
  EXPECT_EQ(Dimension(unaware, v1::DIMENSION_NAME),
            Dimension(evaluating, v1::DIMENSION_NAME));
}

TEST(StageTest, UnknownStageIsTreatedAsEarly) {
  const Scored unknown = ScoreAtStage(common::BUYING_STAGE_UNKNOWN);
  const Scored unspecified = ScoreAtStage(common::BUYING_STAGE_UNSPECIFIED);
  const Scored exploring = ScoreAtStage(common::BUYING_STAGE_EXPLORING);
  EXPECT_EQ(unknown.report.score(), unspecified.report.score());
  EXPECT_LT(unknown.report.score(), exploring.report.score());
}

}  // namespace
}  // namespace rapport::scoring::engine::testing
