// Knowledge gaps: each code appears exactly when its condition holds, with
// a description that says what to do.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/profile/model/derive.h"
#include "tests/services/profile/model_test_util.h"

namespace rapport::profile::model::test_util {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<v1::KnowledgeGapCode> Codes(const v1::Profile& p) {
  std::vector<v1::KnowledgeGapCode> codes;
  for (const v1::KnowledgeGap& g : p.knowledge_gaps()) {
    codes.push_back(g.code());
  }
  return codes;
}

std::string Description(const v1::Profile& p, v1::KnowledgeGapCode code) {
  for (const v1::KnowledgeGap& g : p.knowledge_gaps()) {
    if (g.code() == code) return g.description();
  }
  return "";
}

// A complete contact with a recent reply about a topic: no gap at all.
History Engaged() { return Fold({Replied(kNow - Days(3), {"ramp time"})}); }

TEST(GapsTest, CompleteRecentlyEngagedContactHasNoGaps) {
  EXPECT_TRUE(DeriveAt(CompleteContact(), Engaged()).knowledge_gaps().empty());
}

TEST(GapsTest, BareContactHasEveryGapExceptNeverReplied) {
  const v1::Profile p = DeriveAt(BaseContact(), History{});
  EXPECT_THAT(Codes(p),
              ElementsAre(v1::KNOWLEDGE_GAP_CODE_NO_PRIORITIES,
                          v1::KNOWLEDGE_GAP_CODE_NO_CHALLENGES,
                          v1::KNOWLEDGE_GAP_CODE_NO_RECENT_TRIGGER_EVENTS,
                          v1::KNOWLEDGE_GAP_CODE_NO_PREFERRED_NAME,
                          v1::KNOWLEDGE_GAP_CODE_NO_INTERESTS,
                          v1::KNOWLEDGE_GAP_CODE_NO_ROLE_CONTEXT,
                          v1::KNOWLEDGE_GAP_CODE_NO_INTERACTIONS));
  for (const v1::KnowledgeGap& g : p.knowledge_gaps()) {
    EXPECT_THAT(g.description(), HasSubstr(":")) << g.code();
  }
}

TEST(GapsTest, NoPrioritiesTellsTheSellerToDoTheirHomework) {
  common::v1::Contact c = CompleteContact();
  c.clear_priorities();
  const v1::Profile p = DeriveAt(c, Engaged());
  EXPECT_THAT(Codes(p), ElementsAre(v1::KNOWLEDGE_GAP_CODE_NO_PRIORITIES));
  EXPECT_THAT(Description(p, v1::KNOWLEDGE_GAP_CODE_NO_PRIORITIES),
              HasSubstr("do your homework first"));
}

TEST(GapsTest, NoChallenges) {
  common::v1::Contact c = CompleteContact();
  c.clear_challenges();
  EXPECT_THAT(Codes(DeriveAt(c, Engaged())),
              ElementsAre(v1::KNOWLEDGE_GAP_CODE_NO_CHALLENGES));
}

TEST(GapsTest, TriggerEventsOlderThan180DaysAreNotRecent) {
  common::v1::Contact c = CompleteContact();
  *c.mutable_trigger_events(0)->mutable_occurred_at() = Ts(kNow - Days(181));
  const v1::Profile p = DeriveAt(c, Engaged());
  EXPECT_THAT(Codes(p),
              ElementsAre(v1::KNOWLEDGE_GAP_CODE_NO_RECENT_TRIGGER_EVENTS));
  EXPECT_THAT(Description(p, v1::KNOWLEDGE_GAP_CODE_NO_RECENT_TRIGGER_EVENTS),
              HasSubstr("180 days"));

  *c.mutable_trigger_events(0)->mutable_occurred_at() = Ts(kNow - Days(179));
  EXPECT_TRUE(DeriveAt(c, Engaged()).knowledge_gaps().empty());
}

TEST(GapsTest, UndatedTriggerEventCountsAsRecent) {
  common::v1::Contact c = CompleteContact();
  c.mutable_trigger_events(0)->clear_occurred_at();
  EXPECT_TRUE(DeriveAt(c, Engaged()).knowledge_gaps().empty());
}

TEST(GapsTest, NoPreferredName) {
  common::v1::Contact c = CompleteContact();
  c.clear_preferred_name();
  const v1::Profile p = DeriveAt(c, Engaged());
  EXPECT_THAT(Codes(p), ElementsAre(v1::KNOWLEDGE_GAP_CODE_NO_PREFERRED_NAME));
  EXPECT_THAT(Description(p, v1::KNOWLEDGE_GAP_CODE_NO_PREFERRED_NAME),
              HasSubstr("name they sign with"));
}

TEST(GapsTest, StatedPrioritiesAloneAreNotLearnedInterests) {
  // CompleteContact has a priority (an interest) but no interaction topics.
  const v1::Profile p =
      DeriveAt(CompleteContact(), Fold({Replied(kNow - Days(3))}));
  EXPECT_THAT(Codes(p), ElementsAre(v1::KNOWLEDGE_GAP_CODE_NO_INTERESTS));
  EXPECT_GT(p.interests_size(), 0);
}

TEST(GapsTest, InterestInsightFillsTheInterestGap) {
  common::v1::Contact c = CompleteContact();
  History h = Fold({Replied(kNow - Days(3))});
  ApplyInsight(Insight(common::v1::INSIGHT_KIND_INTEREST, "ramp time"), kNow,
               &c, &h);
  EXPECT_TRUE(DeriveAt(c, h).knowledge_gaps().empty());
}

TEST(GapsTest, MissingRoleContextNamesWhatIsMissing) {
  common::v1::Contact c = CompleteContact();
  c.clear_industry();
  v1::Profile p = DeriveAt(c, Engaged());
  EXPECT_THAT(Codes(p), ElementsAre(v1::KNOWLEDGE_GAP_CODE_NO_ROLE_CONTEXT));
  EXPECT_THAT(Description(p, v1::KNOWLEDGE_GAP_CODE_NO_ROLE_CONTEXT),
              HasSubstr("Missing industry:"));
  c.clear_title();
  c.clear_company();
  p = DeriveAt(c, Engaged());
  EXPECT_THAT(Description(p, v1::KNOWLEDGE_GAP_CODE_NO_ROLE_CONTEXT),
              HasSubstr("Missing title, company and industry:"));
}

TEST(GapsTest, NoInteractionsWhenNoneRecordedOrNoneIn180Days) {
  const v1::Profile none = DeriveAt(CompleteContact(), History{});
  EXPECT_TRUE(HasGap(none, v1::KNOWLEDGE_GAP_CODE_NO_INTERACTIONS));
  EXPECT_THAT(Description(none, v1::KNOWLEDGE_GAP_CODE_NO_INTERACTIONS),
              HasSubstr("No interaction recorded yet"));

  const v1::Profile stale = DeriveAt(
      CompleteContact(), Fold({Replied(kNow - Days(181), {"ramp time"})}));
  EXPECT_THAT(Codes(stale),
              ElementsAre(v1::KNOWLEDGE_GAP_CODE_NO_INTERACTIONS));
  EXPECT_THAT(Description(stale, v1::KNOWLEDGE_GAP_CODE_NO_INTERACTIONS),
              HasSubstr("No interaction in the last 180 days"));
}

TEST(GapsTest, NeverRepliedAfterThreeTouches) {
  const History two =
      Fold({Sent(kNow - Days(60), {"ramp time"}), Sent(kNow - Days(40))});
  EXPECT_FALSE(HasGap(DeriveAt(CompleteContact(), two),
                      v1::KNOWLEDGE_GAP_CODE_NEVER_REPLIED));

  const History three = Fold({Sent(kNow - Days(60), {"ramp time"}),
                              Sent(kNow - Days(40)), Sent(kNow - Days(20))});
  const v1::Profile p = DeriveAt(CompleteContact(), three);
  EXPECT_THAT(Codes(p), ElementsAre(v1::KNOWLEDGE_GAP_CODE_NEVER_REPLIED));
  EXPECT_THAT(Description(p, v1::KNOWLEDGE_GAP_CODE_NEVER_REPLIED),
              HasSubstr("No reply after 3 touches"));

  History answered = three;
  FoldInteraction(Replied(kNow - Days(1)), &answered);
  EXPECT_FALSE(HasGap(DeriveAt(CompleteContact(), answered),
                      v1::KNOWLEDGE_GAP_CODE_NEVER_REPLIED));
}

}  // namespace
}  // namespace rapport::profile::model::test_util
