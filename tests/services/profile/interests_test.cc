// Interests: recency decay, weights by who said it, stated priorities,
// normalisation and the top-N cut.

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/profile/model/derive.h"
#include "tests/services/profile/model_test_util.h"

namespace rapport::profile::model::test_util {
namespace {

TEST(InterestsTest, TopicSeenOneHalfLifeAgoWeighsHalfOfOneSeenToday) {
  const History h =
      Fold({Sent(kNow - Days(90), {"old topic"}), Sent(kNow, {"new topic"})});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  const v1::Interest* fresh = FindInterest(p, "new topic");
  const v1::Interest* old = FindInterest(p, "old topic");
  ASSERT_NE(fresh, nullptr);
  ASSERT_NE(old, nullptr);
  EXPECT_DOUBLE_EQ(fresh->weight(), 1.0);
  EXPECT_DOUBLE_EQ(old->weight(), 0.5);
  EXPECT_EQ(p.interests(0).topic(), "new topic");
}

TEST(InterestsTest, HalfLifeIsConfigurable) {
  DeriveOptions options;
  options.interest_half_life = Days(30);
  const History h = Fold({Sent(kNow - Days(60), {"topic"})});
  const v1::Profile p = DeriveAt(BaseContact(), h, kNow, options);
  ASSERT_EQ(p.interests_size(), 1);
  EXPECT_DOUBLE_EQ(p.interests(0).weight(), 0.25);
}

TEST(InterestsTest, WhatTheyRaiseWeighsTwiceWhatWeSent) {
  const History h =
      Fold({Sent(kNow, {"our topic"}), Replied(kNow, {"their topic"}),
            Meeting(kNow, {"meeting topic"})});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_DOUBLE_EQ(FindInterest(p, "our topic")->weight(), 1.0);
  EXPECT_DOUBLE_EQ(FindInterest(p, "their topic")->weight(), 2.0);
  EXPECT_DOUBLE_EQ(FindInterest(p, "meeting topic")->weight(), 2.0);
}

TEST(InterestsTest, MentionsAddUpAndLastSeenIsTheLatest) {
  const History h = Fold({Sent(kNow - Days(10), {"ramp time"}),
                          Replied(kNow - Days(5), {"ramp time"})});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  const v1::Interest* i = FindInterest(p, "ramp time");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->mentions(), 2);
  EXPECT_EQ(T(i->last_seen_at()), kNow - Days(5));
  EXPECT_NEAR(i->weight(), std::exp2(-10.0 / 90) + 2 * std::exp2(-5.0 / 90),
              1e-12);
}

TEST(InterestsTest, TopicsAreCaseAndSpaceFoldedIntoOneKey) {
  const History h = Fold(
      {Sent(kNow, {"  Rep   Onboarding "}), Replied(kNow, {"rep onboarding"})});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  ASSERT_EQ(p.interests_size(), 1);
  EXPECT_EQ(p.interests(0).topic(), "rep onboarding");
  EXPECT_EQ(p.interests(0).mentions(), 2);
}

TEST(InterestsTest, NonAsciiTopicsAreLowerCasedToo) {
  const History h =
      Fold({Sent(kNow, {"PRÉSTAMOS"}), Sent(kNow, {"préstamos"})});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  ASSERT_EQ(p.interests_size(), 1);
  EXPECT_EQ(p.interests(0).topic(), "préstamos");
}

TEST(InterestsTest, StatedPrioritiesAndChallengesAreStrongConstantInterests) {
  common::v1::Contact c = BaseContact();
  c.add_priorities("Cut Onboarding Time");
  c.add_challenges("rep churn in EMEA");
  const History h = Fold({Sent(kNow - Days(365), {"cut onboarding time"})});
  const v1::Profile p = DeriveAt(c, h);
  const v1::Interest* priority = FindInterest(p, "cut onboarding time");
  const v1::Interest* challenge = FindInterest(p, "rep churn in emea");
  ASSERT_NE(priority, nullptr);
  ASSERT_NE(challenge, nullptr);
  EXPECT_DOUBLE_EQ(challenge->weight(), 3.0);
  EXPECT_EQ(challenge->mentions(), 0);
  EXPECT_FALSE(challenge->has_last_seen_at());
  EXPECT_NEAR(priority->weight(), 3.0 + std::exp2(-365.0 / 90), 1e-12);
  EXPECT_EQ(priority->mentions(), 1);
}

TEST(InterestsTest, ATopicTheyKeepRaisingOutranksAStatedPriority) {
  common::v1::Contact c = BaseContact();
  c.add_priorities("emea expansion");
  const History h = Fold({Replied(kNow - Days(2), {"pricing"}),
                          Meeting(kNow - Days(1), {"pricing"})});
  const v1::Profile p = DeriveAt(c, h);
  ASSERT_EQ(p.interests_size(), 2);
  EXPECT_EQ(p.interests(0).topic(), "pricing");
  EXPECT_EQ(p.interests(1).topic(), "emea expansion");
}

TEST(InterestsTest, TopicsTheyIgnoredOrDeclinedAreNotInterests) {
  v1::Interaction ignored = Sent(kNow, {"ignored"});
  ignored.set_outcome(common::v1::OUTCOME_NO_REPLY);
  const History h =
      Fold({ignored,
            Replied(kNow, {"declined"}, common::v1::OUTCOME_NEGATIVE_REPLY)});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.interests_size(), 0);
  EXPECT_TRUE(HasGap(p, v1::KNOWLEDGE_GAP_CODE_NO_INTERESTS));
}

TEST(InterestsTest, KeepsTheTwentyStrongestStrongestFirst) {
  History h;
  for (int k = 0; k < 25; ++k) {
    FoldInteraction(Sent(kNow - Days(k), {absl::StrCat("topic ", k)}), &h);
  }
  const v1::Profile p = DeriveAt(BaseContact(), h);
  ASSERT_EQ(p.interests_size(), 20);
  EXPECT_EQ(p.interests(0).topic(), "topic 0");
  EXPECT_EQ(p.interests(19).topic(), "topic 19");
  for (int k = 1; k < p.interests_size(); ++k) {
    EXPECT_GE(p.interests(k - 1).weight(), p.interests(k).weight());
  }
}

TEST(InterestsTest, MaxInterestsOptionIsClampedToTheProtoLimit) {
  History h;
  for (int k = 0; k < 25; ++k) {
    FoldInteraction(Sent(kNow, {absl::StrCat("t", k)}), &h);
  }
  DeriveOptions options;
  options.max_interests = 100;
  EXPECT_EQ(DeriveAt(BaseContact(), h, kNow, options).interests_size(), 20);
  options.max_interests = 3;
  EXPECT_EQ(DeriveAt(BaseContact(), h, kNow, options).interests_size(), 3);
}

TEST(InterestsTest, EqualWeightsAreOrderedByTopic) {
  const History h = Fold({Sent(kNow, {"b", "a", "c"})});
  const v1::Profile p = DeriveAt(BaseContact(), h);
  ASSERT_EQ(p.interests_size(), 3);
  EXPECT_EQ(p.interests(0).topic(), "a");
  EXPECT_EQ(p.interests(2).topic(), "c");
}

}  // namespace
}  // namespace rapport::profile::model::test_util
