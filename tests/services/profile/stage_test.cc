// Buying stage: every row of the rule table in derive.h and the transitions
// between them.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/profile/model/derive.h"
#include "tests/services/profile/model_test_util.h"

namespace rapport::profile::model::test_util {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(StageTest, UnknownWithoutInteractions) {
  const v1::Profile p = DeriveAt(BaseContact(), History{});
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_UNKNOWN);
  EXPECT_EQ(p.stage_reason(), "No interactions recorded yet.");
}

TEST(StageTest, UnknownWhenOnlyBouncesWereRecorded) {
  const History h =
      Fold({Reported(kNow - Days(1), common::v1::OUTCOME_BOUNCED)});
  EXPECT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_UNKNOWN);
}

TEST(StageTest, ResearchedChallengeAloneIsNotEvidence) {
  common::v1::Contact c = BaseContact();
  c.add_challenges("rep churn in EMEA");  // may come from research
  EXPECT_EQ(DeriveAt(c, History{}).stage(), common::v1::BUYING_STAGE_UNKNOWN);
}

TEST(StageTest, UnawareWhenOnlyUnansweredTouches) {
  const History h = Fold({Sent(kNow - Days(30)), Sent(kNow - Days(20))});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_UNAWARE);
  EXPECT_THAT(p.stage_reason(), HasSubstr("2 touches and no reply yet"));
}

TEST(StageTest, WhatTheSellerWroteAboutDoesNotMoveTheStage) {
  const History h = Fold({Sent(kNow - Days(3), {"pricing", "contract"})});
  EXPECT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_UNAWARE);
}

TEST(StageTest, UnawareAfterTouchesMovesToProblemAwareOnFirstReply) {
  History h = Fold({Sent(kNow - Days(10)), Sent(kNow - Days(5))});
  ASSERT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_UNAWARE);
  FoldInteraction(Replied(kNow - Days(4), {"rep onboarding"}), &h);
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_PROBLEM_AWARE);
  EXPECT_THAT(p.stage_reason(), HasSubstr("1 reply in the last 90 days"));
}

TEST(StageTest, ProblemAwareFromStatedChallengeInsight) {
  common::v1::Contact c = BaseContact();
  History h;
  ApplyInsight(
      Insight(common::v1::INSIGHT_KIND_CHALLENGE, "rep churn", kNow - Days(2)),
      kNow, &c, &h);
  const v1::Profile p = DeriveAt(c, h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_PROBLEM_AWARE);
  EXPECT_THAT(p.stage_reason(), HasSubstr("stated a challenge or priority"));
}

TEST(StageTest, ProblemAwareMovesToExploringOnSecondReply) {
  History h = Fold({Sent(kNow - Days(10)), Replied(kNow - Days(9))});
  ASSERT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_PROBLEM_AWARE);
  FoldInteraction(Replied(kNow - Days(2)), &h);
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_EXPLORING);
  EXPECT_THAT(p.stage_reason(), HasSubstr("2 replies in the last 90 days"));
}

TEST(StageTest, ExploringAfterOneMeeting) {
  const History h = Fold({Meeting(kNow - Days(3), {"rep onboarding"})});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_EXPLORING);
  EXPECT_THAT(p.stage_reason(), HasSubstr("1 meeting"));
}

TEST(StageTest, ExploringAfterConnectedCall) {
  v1::Interaction call =
      Make(v1::INTERACTION_KIND_CALL, v1::DIRECTION_OUTBOUND, kNow - Days(1));
  call.mutable_duration()->set_seconds(600);
  EXPECT_EQ(DeriveAt(BaseContact(), Fold({call})).stage(),
            common::v1::BUYING_STAGE_EXPLORING);
}

TEST(StageTest, UnansweredCallIsOnlyATouch) {
  const v1::Interaction call =
      Make(v1::INTERACTION_KIND_CALL, v1::DIRECTION_OUTBOUND, kNow - Days(1));
  EXPECT_EQ(DeriveAt(BaseContact(), Fold({call})).stage(),
            common::v1::BUYING_STAGE_UNAWARE);
}

TEST(StageTest, MeetingBookedIsExploringNotEvaluating) {
  const History h =
      Fold({Sent(kNow - Days(4)),
            Reported(kNow - Days(3), common::v1::OUTCOME_MEETING_BOOKED)});
  EXPECT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_EXPLORING);
}

TEST(StageTest, ExploringMovesToEvaluatingWhenTheyAskAboutPricing) {
  History h = Fold({Meeting(kNow - Days(20), {"rep onboarding"})});
  ASSERT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_EXPLORING);
  FoldInteraction(Replied(kNow - Days(5), {"Pricing"}), &h);
  FoldInteraction(Replied(kNow - Days(2), {"pricing tiers"}), &h);
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_EVALUATING);
  EXPECT_EQ(p.stage_reason(),
            "2 replies in the last 90 days mentioning 'pricing tiers': they "
            "are comparing options.");
}

TEST(StageTest, EvaluatingTopicsMatchWholeWordsOnly) {
  const History h = Fold({Replied(kNow - Days(2), {"repricing of freight"}),
                          Replied(kNow - Days(1), {"security review"})});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_EVALUATING);
  EXPECT_THAT(p.stage_reason(), HasSubstr("'security review'"));
  EXPECT_THAT(p.stage_reason(), HasSubstr("1 reply "));
}

TEST(StageTest, EvaluatingMovesToDecidingOnContractTalk) {
  History h = Fold({Meeting(kNow - Days(30), {"demo"})});
  ASSERT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_EVALUATING);
  FoldInteraction(Meeting(kNow - Days(1), {"MSA redlines"}), &h);
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_DECIDING);
  EXPECT_THAT(p.stage_reason(),
              HasSubstr("1 meeting in the last 90 days mentioning 'msa "
                        "redlines': a decision is near."));
}

TEST(StageTest, DecidingMovesToCustomerOnRenewalTopic) {
  History h = Fold({Meeting(kNow - Days(30), {"contract"})});
  ASSERT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_DECIDING);
  FoldInteraction(Sent(kNow - Days(1), {"Renewal 2026"}), &h);
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_CUSTOMER);
  EXPECT_THAT(p.stage_reason(),
              HasSubstr("'renewal 2026' came up on 2025-06-01"));
}

TEST(StageTest, CustomerFromCrmLifecycleField) {
  common::v1::Contact c = BaseContact();
  (*c.mutable_custom_fields())["lifecyclestage"] = "customer";
  const v1::Profile p = DeriveAt(c, History{});
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_CUSTOMER);
  EXPECT_THAT(p.stage_reason(), HasSubstr("'lifecyclestage'"));

  common::v1::Contact sf = BaseContact();
  (*sf.mutable_custom_fields())["Account_Type"] = "Customer - Direct";
  EXPECT_EQ(DeriveAt(sf, History{}).stage(), common::v1::BUYING_STAGE_CUSTOMER);
}

TEST(StageTest, FormerCustomerOrProspectFieldIsNotCustomer) {
  for (const char* value : {"former customer", "customers", "prospect"}) {
    common::v1::Contact c = BaseContact();
    (*c.mutable_custom_fields())["type"] = value;
    EXPECT_EQ(DeriveAt(c, History{}).stage(), common::v1::BUYING_STAGE_UNKNOWN)
        << value;
  }
}

TEST(StageTest, TopicCustomerChurnDoesNotMakeThemACustomer) {
  const History h = Fold({Replied(kNow - Days(1), {"customer churn"})});
  EXPECT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_PROBLEM_AWARE);
}

TEST(StageTest, RecentEvidenceWinsOverOlderLaterStage) {
  const History h =
      Fold({Meeting(kNow - Days(200), {"contract"}), Replied(kNow - Days(10))});
  EXPECT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_PROBLEM_AWARE);
}

TEST(StageTest, OlderEvidenceUsedWhenTheWindowIsQuiet) {
  const History h = Fold({Replied(kNow - Days(200), {"pricing"}),
                          Sent(kNow - Days(20)), Sent(kNow - Days(10))});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_EVALUATING);
  EXPECT_THAT(p.stage_reason(),
              AllOf(HasSubstr("'pricing'"), HasSubstr("2024-11-14"),
                    HasSubstr("over 90 days ago")));
}

TEST(StageTest, DeclineWithoutEngagementIsUnaware) {
  const History h =
      Fold({Sent(kNow - Days(5)), Replied(kNow - Days(4), {"pricing"},
                                          common::v1::OUTCOME_NEGATIVE_REPLY)});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.stage(), common::v1::BUYING_STAGE_UNAWARE);
  EXPECT_THAT(p.stage_reason(), HasSubstr("Declined on 2025-05-29"));
}

TEST(StageTest, WindowIsConfigurable) {
  const History h =
      Fold({Replied(kNow - Days(40), {"demo"}), Sent(kNow - Days(1))});
  DeriveOptions options;
  options.stage_window = Days(30);
  EXPECT_THAT(DeriveAt(BaseContact(), h, kNow, options).stage_reason(),
              HasSubstr("over 30 days ago"));
}

TEST(StageTest, ReasonCarriesNoPersonalData) {
  common::v1::Contact c = CompleteContact();
  c.set_email("mitchell.grant@acme.example");
  const History h = Fold({Replied(kNow - Days(1), {"pricing"})});
  const v1::Profile p = DeriveAt(c, h);
  EXPECT_THAT(p.stage_reason(),
              AllOf(Not(HasSubstr("Mitch")), Not(HasSubstr("Grant")),
                    Not(HasSubstr("acme")), Not(HasSubstr("Acme"))));
}

TEST(StageTest, NeverUnspecified) {
  for (const History& h :
       {History{}, Fold({Sent(kNow)}), Fold({Meeting(kNow - Days(1))})}) {
    EXPECT_NE(DeriveAt(BaseContact(), h).stage(),
              common::v1::BUYING_STAGE_UNSPECIFIED);
  }
}

}  // namespace
}  // namespace rapport::profile::model::test_util
