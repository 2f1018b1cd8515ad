// ApplyInsight: each InsightKind as common.proto defines it, idempotency on
// source_feedback_id, and the kept list.

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/profile/model/derive.h"
#include "tests/services/profile/model_test_util.h"

namespace rapport::profile::model::test_util {
namespace {

using ::testing::ElementsAre;

TEST(InsightTest, PriorityIsAppendedUnlessAlreadyThereInAnyCase) {
  common::v1::Contact c = BaseContact();
  c.add_priorities("Cut ramp time");
  History h;
  InsightEffect e =
      ApplyInsight(Insight(common::v1::INSIGHT_KIND_PRIORITY, "cut  RAMP time"),
                   kNow, &c, &h);
  EXPECT_FALSE(e.duplicate);
  EXPECT_FALSE(e.contact_changed);
  e = ApplyInsight(Insight(common::v1::INSIGHT_KIND_PRIORITY, "EMEA expansion"),
                   kNow, &c, &h);
  EXPECT_TRUE(e.contact_changed);
  EXPECT_THAT(c.priorities(), ElementsAre("Cut ramp time", "EMEA expansion"));
  EXPECT_EQ(h.insights.size(), 2u);  // both kept as insights
}

TEST(InsightTest, ChallengeIsAppended) {
  common::v1::Contact c = BaseContact();
  History h;
  EXPECT_TRUE(ApplyInsight(Insight(common::v1::INSIGHT_KIND_CHALLENGE,
                                   "rep churn in EMEA"),
                           kNow, &c, &h)
                  .contact_changed);
  EXPECT_THAT(c.challenges(), ElementsAre("rep churn in EMEA"));
}

TEST(InsightTest, FullPriorityListKeepsTheInsightOnly) {
  common::v1::Contact c = BaseContact();
  for (int k = 0; k < 32; ++k) c.add_priorities(absl::StrCat("p", k));
  History h;
  const InsightEffect e = ApplyInsight(
      Insight(common::v1::INSIGHT_KIND_PRIORITY, "one more"), kNow, &c, &h);
  EXPECT_FALSE(e.contact_changed);
  EXPECT_EQ(c.priorities_size(), 32);
  ASSERT_EQ(h.insights.size(), 1u);
  EXPECT_EQ(h.insights[0].text(), "one more");
}

TEST(InsightTest, LongPriorityIsCutToAShortTextOnAWord) {
  common::v1::Contact c = BaseContact();
  History h;
  // 520 bytes: over SHORT_TEXT's 512.
  const std::string text =
      absl::StrCat(std::string(500, 'a'), " tail words and more");
  ApplyInsight(Insight(common::v1::INSIGHT_KIND_PRIORITY, text), kNow, &c, &h);
  ASSERT_EQ(c.priorities_size(), 1);
  EXPECT_EQ(c.priorities(0), std::string(500, 'a') + " tail words");
  EXPECT_EQ(h.insights[0].text(), text);
}

TEST(InsightTest, TriggerEventIsPrependedWithTheObservedTime) {
  common::v1::Contact c = CompleteContact();
  History h;
  const InsightEffect e =
      ApplyInsight(Insight(common::v1::INSIGHT_KIND_TRIGGER_EVENT,
                           "raised a Series C", kNow - Days(1)),
                   kNow, &c, &h);
  EXPECT_TRUE(e.contact_changed);
  ASSERT_EQ(c.trigger_events_size(), 2);
  EXPECT_EQ(c.trigger_events(0).description(), "raised a Series C");
  EXPECT_EQ(T(c.trigger_events(0).occurred_at()), kNow - Days(1));
  // The same event again changes nothing in the record.
  EXPECT_FALSE(ApplyInsight(Insight(common::v1::INSIGHT_KIND_TRIGGER_EVENT,
                                    "Raised a Series C"),
                            kNow, &c, &h)
                   .contact_changed);
}

TEST(InsightTest, TriggerEventsKeepTheNewest32) {
  common::v1::Contact c = BaseContact();
  History h;
  for (int k = 0; k < 33; ++k) {
    ApplyInsight(Insight(common::v1::INSIGHT_KIND_TRIGGER_EVENT,
                         absl::StrCat("event ", k)),
                 kNow, &c, &h);
  }
  ASSERT_EQ(c.trigger_events_size(), 32);
  EXPECT_EQ(c.trigger_events(0).description(), "event 32");
  EXPECT_EQ(c.trigger_events(31).description(), "event 1");
}

TEST(InsightTest, PreferredNameReplacesTheOldOneAndAddressAsFollows) {
  common::v1::Contact c = BaseContact();
  History h;
  EXPECT_EQ(AddressAs(c), "Mitchell");
  EXPECT_TRUE(
      ApplyInsight(Insight(common::v1::INSIGHT_KIND_PREFERRED_NAME, " Mitch "),
                   kNow, &c, &h)
          .contact_changed);
  EXPECT_EQ(c.preferred_name(), "Mitch");
  EXPECT_EQ(DeriveAt(c, h).address_as(), "Mitch");
  EXPECT_FALSE(
      ApplyInsight(Insight(common::v1::INSIGHT_KIND_PREFERRED_NAME, "Mitch"),
                   kNow, &c, &h)
          .contact_changed);
}

TEST(InsightTest, InterestInsightCountsAsAnInboundMention) {
  common::v1::Contact c = BaseContact();
  History h;
  const InsightEffect e =
      ApplyInsight(Insight(common::v1::INSIGHT_KIND_INTEREST,
                           "Warehouse Robotics", kNow - Days(90)),
                   kNow, &c, &h);
  EXPECT_FALSE(e.contact_changed);
  const v1::Profile p = DeriveAt(c, h);
  const v1::Interest* i = FindInterest(p, "warehouse robotics");
  ASSERT_NE(i, nullptr);
  EXPECT_DOUBLE_EQ(i->weight(), 1.0);  // 2, halved once
  EXPECT_EQ(i->mentions(), 1);
  EXPECT_EQ(T(i->last_seen_at()), kNow - Days(90));
}

TEST(InsightTest, InterestInsightBoostsAnExistingTopic) {
  common::v1::Contact c = BaseContact();
  History h = Fold({Sent(kNow, {"warehouse robotics"})});
  ApplyInsight(Insight(common::v1::INSIGHT_KIND_INTEREST, "warehouse robotics"),
               kNow, &c, &h);
  const v1::Profile p = DeriveAt(c, h);
  const v1::Interest* i = FindInterest(p, "warehouse robotics");
  ASSERT_NE(i, nullptr);
  EXPECT_DOUBLE_EQ(i->weight(), 3.0);
  EXPECT_EQ(i->mentions(), 2);
}

TEST(InsightTest, DoNotContactSetsTheFlagAndReason) {
  common::v1::Contact c = BaseContact();
  History h;
  const InsightEffect e = ApplyInsight(
      Insight(common::v1::INSIGHT_KIND_DO_NOT_CONTACT, "asked us to stop"),
      kNow, &c, &h);
  EXPECT_TRUE(e.contact_changed);
  EXPECT_TRUE(c.do_not_contact());
  EXPECT_EQ(c.do_not_contact_reason(), "asked us to stop");
  const v1::Profile p = DeriveAt(c, h);
  EXPECT_TRUE(p.fatigue().fatigued());
  EXPECT_EQ(p.fatigue().reason(), "Do not contact: asked us to stop.");
}

TEST(InsightTest, PreferenceAndOtherAreKeptInInsightsOnly) {
  common::v1::Contact c = BaseContact();
  const common::v1::Contact before = c;
  History h;
  EXPECT_FALSE(ApplyInsight(Insight(common::v1::INSIGHT_KIND_PREFERENCE,
                                    "prefers calls after 4pm"),
                            kNow, &c, &h)
                   .contact_changed);
  EXPECT_FALSE(
      ApplyInsight(Insight(common::v1::INSIGHT_KIND_OTHER,
                           "new in the role since March", kNow - Days(1)),
                   kNow, &c, &h)
          .contact_changed);
  EXPECT_EQ(c.SerializeAsString(), before.SerializeAsString());
  const v1::Profile p = DeriveAt(c, h);
  ASSERT_EQ(p.insights_size(), 2);
  EXPECT_EQ(p.insights(0).text(), "prefers calls after 4pm");
  EXPECT_EQ(p.insights(1).text(), "new in the role since March");
}

TEST(InsightTest, SameSourceFeedbackIdIsAppliedOnce) {
  common::v1::Contact c = BaseContact();
  History h;
  common::v1::ContactInsight insight =
      Insight(common::v1::INSIGHT_KIND_PRIORITY, "cut ramp time");
  insight.set_source_feedback_id("fb-1");
  EXPECT_FALSE(ApplyInsight(insight, kNow, &c, &h).duplicate);
  insight.set_text("something else");
  const InsightEffect again = ApplyInsight(insight, kNow, &c, &h);
  EXPECT_TRUE(again.duplicate);
  EXPECT_FALSE(again.contact_changed);
  EXPECT_EQ(h.insights.size(), 1u);
  EXPECT_EQ(c.priorities_size(), 1);
}

TEST(InsightTest, ObservedAtDefaultsToNow) {
  common::v1::Contact c = BaseContact();
  History h;
  common::v1::ContactInsight insight =
      Insight(common::v1::INSIGHT_KIND_OTHER, "note");
  insight.clear_observed_at();
  ApplyInsight(insight, kNow, &c, &h);
  ASSERT_EQ(h.insights.size(), 1u);
  EXPECT_EQ(T(h.insights[0].observed_at()), kNow);
}

TEST(InsightTest, KeepsTheNewestFiftyNewestFirst) {
  common::v1::Contact c = BaseContact();
  History h;
  for (int k = 0; k < 60; ++k) {
    // Out of order: even ones older.
    const absl::Time at = kNow - Days(k % 2 == 0 ? 100 + k : k);
    ApplyInsight(
        Insight(common::v1::INSIGHT_KIND_OTHER, absl::StrCat("n", k), at), kNow,
        &c, &h);
  }
  ASSERT_EQ(h.insights.size(), 50u);
  for (size_t k = 1; k < h.insights.size(); ++k) {
    EXPECT_GE(T(h.insights[k - 1].observed_at()),
              T(h.insights[k].observed_at()));
  }
  EXPECT_EQ(h.insights[0].text(), "n1");
  EXPECT_EQ(DeriveAt(c, h).insights_size(), 50);
}

}  // namespace
}  // namespace rapport::profile::model::test_util
