// The seed contract (/work/shared/checks/check_seed.py): seed 004's "Bob
// Blah" message scores at most 25 with a finding spanning each of its
// faults, and a customer-centred rewrite for the same contact scores at least
// 75.

#include <string>

#include "tests/services/scoring_engine/test_util.h"

namespace rapport::scoring::engine::testing {
namespace {

// True when a body finding spans the first occurrence of `phrase`, with the
// contract check's own test.
bool Covered(const v1::ScoreReport& report, const std::string& phrase) {
  const size_t i = std::string(kSeedBody).find(phrase);
  for (const v1::Finding& f : report.findings()) {
    if (f.field() == v1::MESSAGE_FIELD_SUBJECT) continue;
    if ((f.start() <= i && i < f.end()) ||
        (i <= f.start() && f.start() < i + phrase.size())) {
      return true;
    }
  }
  return false;
}

TEST(SeedTest, BobBlahMessageScoresAtMost25) {
  const Scored s = ScoreForMitch(kSeedBody, "Quick question");
  EXPECT_LE(s.report.score(), 25) << s.report.DebugString();
}

TEST(SeedTest, BobBlahMessageHasAFindingOnEachFault) {
  const Scored s = ScoreForMitch(kSeedBody, "Quick question");
  for (const char* phrase : {"Mitchell", "10 minutes of your time",
                             "number one", "Fortune 500", "We are"}) {
    EXPECT_TRUE(Covered(s.report, phrase))
        << "no finding spans '" << phrase << "'";
  }
  for (const v1::Finding& f : s.report.findings()) {
    EXPECT_FALSE(f.suggestion().empty()) << f.rule_id();
  }
}

TEST(SeedTest, FormalNameFindingSaysMitch) {
  const Scored s = ScoreForMitch(kSeedBody, "Quick question");
  const auto name = s.Of("name.formal_name");
  ASSERT_EQ(name.size(), 1u);
  EXPECT_EQ(name[0].start(), 0u);
  EXPECT_EQ(name[0].end(), 8u);
  EXPECT_EQ(name[0].excerpt(), "Mitchell");
  EXPECT_EQ(name[0].replacement(), "Mitch");
  EXPECT_EQ(name[0].suggestion(), "Say Mitch: that is the name they use.");
}

TEST(SeedTest, HypeSuggestionUsesTheStatedPriority) {
  const Scored s = ScoreForMitch(kSeedBody, "Quick question");
  const auto hype = s.Of("pitch.hype");
  ASSERT_FALSE(hype.empty());
  EXPECT_EQ(hype[0].excerpt(), "number one");
  EXPECT_EQ(hype[0].suggestion(),
            "Replace the claim with their stated priority 'cut onboarding time "
            "for new reps'.");
}

TEST(SeedTest, CustomerCentredRewriteScoresAtLeast75) {
  const std::string rewrite =
      ReadFile(RulesDir() + "/examples/seed_rewrite.txt");
  ASSERT_FALSE(rewrite.empty());
  const Scored s = ScoreForMitch(rewrite, "Ramp time for the Denver hub");
  EXPECT_GE(s.report.score(), 75) << s.report.DebugString();
  EXPECT_GE(s.report.word_count(), 50);
  EXPECT_LE(s.report.word_count(), 125);
  EXPECT_TRUE(s.Fired("relevance.overlap"));
  EXPECT_TRUE(s.Fired("conversation.open_question"));
  EXPECT_FALSE(s.Fired("pitch.hype"));
  EXPECT_FALSE(s.Fired("pitch.feature_talk"));
  EXPECT_GT(
      s.report.reply_probability(),
      ScoreForMitch(kSeedBody, "Quick question").report.reply_probability());
}

}  // namespace
}  // namespace rapport::scoring::engine::testing
