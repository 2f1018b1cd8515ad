// Fatigue: the 14-day and 3-day rules, the doubling cadence, declines and
// do-not-contact.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/profile/model/derive.h"
#include "tests/services/profile/model_test_util.h"

namespace rapport::profile::model::test_util {
namespace {

using ::testing::HasSubstr;

v1::Fatigue FatigueOf(const History& h,
                      const common::v1::Contact& c = BaseContact()) {
  return DeriveAt(c, h).fatigue();
}

TEST(FatigueTest, UntouchedContactCanBeWrittenNow) {
  const v1::Fatigue f = FatigueOf(History{});
  EXPECT_FALSE(f.fatigued());
  EXPECT_EQ(D(f.recommended_wait()), absl::ZeroDuration());
  EXPECT_EQ(T(f.next_contact_after()), kNow);
  EXPECT_TRUE(f.reason().empty());
  EXPECT_FALSE(f.has_last_touch_at());
}

TEST(FatigueTest, OneUnansweredTouchAsksForThreeDaysWithoutBeingFatigue) {
  const v1::Fatigue f = FatigueOf(Fold({Sent(kNow - Days(1))}));
  EXPECT_FALSE(f.fatigued());
  EXPECT_EQ(D(f.recommended_wait()), Days(2));
  EXPECT_EQ(T(f.next_contact_after()), kNow + Days(2));
  EXPECT_EQ(T(f.last_touch_at()), kNow - Days(1));
  EXPECT_TRUE(f.reason().empty());
}

TEST(FatigueTest, CadenceDoublesWithEachUnansweredTouchUpToNinetyDays) {
  // Touches 15 days apart, the last one now: neither the 14-day nor the 3-day
  // rule applies, only the cadence 3 d * 2^(u-1), capped at 90 d.
  const absl::Duration expected[] = {Days(3),  Days(6),  Days(12),
                                     Days(24), Days(48), Days(90)};
  for (int u = 1; u <= 6; ++u) {
    History h;
    for (int k = u - 1; k >= 0; --k) {
      FoldInteraction(Sent(kNow - Days(15 * k)), &h);
    }
    const v1::Fatigue f = FatigueOf(h);
    EXPECT_EQ(D(f.recommended_wait()), expected[u - 1]) << "u=" << u;
    EXPECT_FALSE(f.fatigued()) << "u=" << u;
  }
}

TEST(FatigueTest, UnansweredTouchesOlderThanNinetyDaysDoNotCount) {
  History h;
  FoldInteraction(Sent(kNow - Days(200)), &h);
  FoldInteraction(Sent(kNow - Days(150)), &h);
  FoldInteraction(Sent(kNow), &h);
  EXPECT_EQ(D(FatigueOf(h).recommended_wait()), Days(3));
}

TEST(FatigueTest, ThreeUnansweredTouchesInFourteenDaysAreFatigue) {
  const History h =
      Fold({Sent(kNow - Days(10)), Sent(kNow - Days(6)), Sent(kNow - Days(2))});
  const v1::Fatigue f = FatigueOf(h);
  EXPECT_TRUE(f.fatigued());
  EXPECT_EQ(f.touches_14d(), 3);
  EXPECT_EQ(f.replies_14d(), 0);
  // Cadence for u=3: last touch + 12 d = now + 10 d; the 14-day rule clears at
  // the oldest + 14 d = now + 4 d. The longer wins.
  EXPECT_EQ(D(f.recommended_wait()), Days(10));
  EXPECT_EQ(f.reason(),
            "3 emails in the last 14 days and no reply yet: wait 10 days, then "
            "try a channel other than email.");
}

TEST(FatigueTest, TwoUnansweredTouchesInFourteenDaysAreNotFatigue) {
  const History h = Fold({Sent(kNow - Days(10)), Sent(kNow - Days(5))});
  EXPECT_FALSE(FatigueOf(h).fatigued());
}

TEST(FatigueTest, FourteenDayRuleCanOutlastTheCadence) {
  DeriveOptions options;
  options.cadence_base = absl::Hours(1);
  const History h =
      Fold({Sent(kNow - Days(10)), Sent(kNow - Days(6)), Sent(kNow - Days(2))});
  const v1::Fatigue f = DeriveAt(BaseContact(), h, kNow, options).fatigue();
  EXPECT_TRUE(f.fatigued());
  EXPECT_EQ(D(f.recommended_wait()), Days(4));
}

TEST(FatigueTest, TwoUnansweredTouchesInThreeDaysAreFatigue) {
  const History h = Fold({Sent(kNow - Days(2)), Sent(kNow - Days(1))});
  const v1::Fatigue f = FatigueOf(h);
  EXPECT_TRUE(f.fatigued());
  // Cadence u=2: last + 6 d = now + 5 d (the burst rule alone: now + 1 d).
  EXPECT_EQ(D(f.recommended_wait()), Days(5));
  EXPECT_EQ(f.reason(),
            "2 emails in the last 3 days and no reply yet: wait 5 days.");
}

TEST(FatigueTest, TwoTouchesFourDaysApartAreNotABurst) {
  const History h = Fold({Sent(kNow - Days(4)), Sent(kNow)});
  EXPECT_FALSE(FatigueOf(h).fatigued());
}

TEST(FatigueTest, AReplyResetsTheUnansweredCount) {
  const History h =
      Fold({Sent(kNow - Days(10)), Sent(kNow - Days(8)), Sent(kNow - Days(6)),
            Replied(kNow - Days(5)), Sent(kNow - Days(1))});
  const v1::Fatigue f = FatigueOf(h);
  EXPECT_FALSE(f.fatigued());
  EXPECT_EQ(f.touches_14d(), 4);
  EXPECT_EQ(f.replies_14d(), 1);
  EXPECT_EQ(D(f.recommended_wait()), Days(2));
}

TEST(FatigueTest, ReasonNamesTheLastReplyAndMixedChannels) {
  const History h = Fold({
      Replied(kNow - Days(40)),
      Sent(kNow - Days(9)),
      Make(v1::INTERACTION_KIND_CALL, v1::DIRECTION_OUTBOUND, kNow - Days(5)),
      Sent(kNow - Days(1)),
  });
  const v1::Fatigue f = FatigueOf(h);
  EXPECT_TRUE(f.fatigued());
  EXPECT_EQ(f.reason(),
            "3 touches in the last 14 days and no reply since 2025-04-23: wait "
            "11 days.");
}

TEST(FatigueTest, RepliesAndTouchesAreCountedOverFourteenDays) {
  const History h = Fold({Sent(kNow - Days(20)), Replied(kNow - Days(15)),
                          Sent(kNow - Days(13)), Replied(kNow - Days(12)),
                          Meeting(kNow - Days(3))});
  const v1::Fatigue f = FatigueOf(h);
  EXPECT_EQ(f.touches_14d(), 1);
  EXPECT_EQ(f.replies_14d(), 2);
  EXPECT_FALSE(f.fatigued());
}

TEST(FatigueTest, WaitIsNeverNegative) {
  const History h = Fold(
      {Sent(kNow - Days(80)), Sent(kNow - Days(70)), Sent(kNow - Days(60))});
  const v1::Fatigue f = FatigueOf(h);
  EXPECT_EQ(D(f.recommended_wait()), absl::ZeroDuration());
  EXPECT_EQ(T(f.next_contact_after()), kNow);
}

TEST(FatigueTest, DeclineAsksForNinetyDaysOfQuiet) {
  const History h =
      Fold({Sent(kNow - Days(11)),
            Replied(kNow - Days(10), {}, common::v1::OUTCOME_NEGATIVE_REPLY)});
  const v1::Fatigue f = FatigueOf(h);
  EXPECT_TRUE(f.fatigued());
  EXPECT_EQ(D(f.recommended_wait()), Days(80));
  EXPECT_THAT(f.reason(), HasSubstr("Declined on 2025-05-23: wait 80 days"));
}

TEST(FatigueTest, AWelcomeReplyAfterADeclineLiftsIt) {
  const History h =
      Fold({Replied(kNow - Days(10), {}, common::v1::OUTCOME_NEGATIVE_REPLY),
            Replied(kNow - Days(2))});
  EXPECT_FALSE(FatigueOf(h).fatigued());
}

TEST(FatigueTest, DoNotContactIsFatigueWithoutANextContact) {
  common::v1::Contact c = BaseContact();
  c.set_do_not_contact(true);
  c.set_do_not_contact_reason("legal hold");
  const v1::Fatigue f = FatigueOf(Fold({Sent(kNow - Days(1))}), c);
  EXPECT_TRUE(f.fatigued());
  EXPECT_EQ(f.reason(), "Do not contact: legal hold.");
  EXPECT_FALSE(f.has_recommended_wait());
  EXPECT_FALSE(f.has_next_contact_after());
  EXPECT_EQ(f.touches_14d(), 1);

  c.clear_do_not_contact_reason();
  EXPECT_EQ(FatigueOf(History{}, c).reason(),
            "Do not contact (no reason recorded).");
}

TEST(FatigueTest, AnUnsubscribeInTheHistoryStaysDoNotContact) {
  // Even if a later CRM sync cleared the flag on the record.
  const History h =
      Fold({Sent(kNow - Days(30)),
            Reported(kNow - Days(29), common::v1::OUTCOME_UNSUBSCRIBED)});
  const v1::Fatigue f = FatigueOf(h);
  EXPECT_TRUE(f.fatigued());
  EXPECT_EQ(f.reason(), "Unsubscribed on 2025-05-04: do not contact.");
  EXPECT_FALSE(f.has_next_contact_after());
}

TEST(FatigueTest, ThresholdsAreConfigurable) {
  DeriveOptions options;
  options.fatigue_touches = 2;
  const History h = Fold({Sent(kNow - Days(10)), Sent(kNow - Days(5))});
  EXPECT_TRUE(DeriveAt(BaseContact(), h, kNow, options).fatigue().fatigued());
}

}  // namespace
}  // namespace rapport::profile::model::test_util
