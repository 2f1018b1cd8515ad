// Responsiveness: the Beta prior on the reply rate, median reply time and
// best hours.

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/profile/model/derive.h"
#include "tests/services/profile/model_test_util.h"

namespace rapport::profile::model::test_util {
namespace {

using ::testing::ElementsAre;

absl::Time At(int day, int hour, int minute = 0) {
  return absl::FromCivil(absl::CivilMinute(2025, 5, day, hour, minute),
                         absl::UTCTimeZone());
}

TEST(ResponsivenessTest, NoTouchesGiveThePrior) {
  const v1::Responsiveness r =
      DeriveAt(BaseContact(), History{}).responsiveness();
  EXPECT_DOUBLE_EQ(r.reply_rate(), 0.05);
  EXPECT_DOUBLE_EQ(r.prior_reply_rate(), 0.05);
  EXPECT_EQ(r.touches(), 0);
  EXPECT_EQ(r.replies(), 0);
  EXPECT_FALSE(r.has_median_reply_time());
  EXPECT_FALSE(r.has_last_reply_at());
  EXPECT_TRUE(r.best_hours_utc().empty());
}

TEST(ResponsivenessTest, OneReplyToOneTouchIsNotOneHundredPercent) {
  const History h = Fold({Sent(kNow - Days(2)), Replied(kNow - Days(1))});
  const v1::Responsiveness r = DeriveAt(BaseContact(), h).responsiveness();
  EXPECT_DOUBLE_EQ(r.reply_rate(), 1.5 / 11.0);
  EXPECT_LT(r.reply_rate(), 0.2);
  EXPECT_EQ(r.touches(), 1);
  EXPECT_EQ(r.replies(), 1);
}

TEST(ResponsivenessTest, ManyTouchesOutweighThePrior) {
  History h;
  for (int k = 0; k < 100; ++k) {
    FoldInteraction(Sent(kNow - Days(200) + absl::Hours(k)), &h);
  }
  for (int k = 0; k < 30; ++k) {
    FoldInteraction(Replied(kNow - Days(100) + absl::Hours(k)), &h);
  }
  const v1::Responsiveness r = DeriveAt(BaseContact(), h).responsiveness();
  EXPECT_DOUBLE_EQ(r.reply_rate(), 30.5 / 110.0);
}

TEST(ResponsivenessTest, PriorIsConfigurable) {
  DeriveOptions options;
  options.prior_reply_rate = 0.10;
  options.prior_weight = 20;
  const History h = Fold({Sent(kNow - Days(1))});
  const v1::Responsiveness r =
      DeriveAt(BaseContact(), h, kNow, options).responsiveness();
  EXPECT_DOUBLE_EQ(r.reply_rate(), 2.0 / 21.0);
  EXPECT_DOUBLE_EQ(r.prior_reply_rate(), 0.10);
}

TEST(ResponsivenessTest, ConversationsTheyStartedCannotPushTheRateAboveOne) {
  History h;
  FoldInteraction(Sent(kNow - Days(30)), &h);
  for (int k = 0; k < 40; ++k) {
    FoldInteraction(Meeting(kNow - Days(20) + absl::Hours(k)), &h);
  }
  const v1::Responsiveness r = DeriveAt(BaseContact(), h).responsiveness();
  EXPECT_EQ(r.replies(), 40);
  EXPECT_DOUBLE_EQ(r.reply_rate(), 1.5 / 11.0);
}

TEST(ResponsivenessTest, CountsEveryKindOfReplyTheProtoDefines) {
  v1::Interaction connected =
      Make(v1::INTERACTION_KIND_CALL, v1::DIRECTION_OUTBOUND, kNow - Days(5));
  connected.mutable_duration()->set_seconds(300);
  const History h = Fold({
      Sent(kNow - Days(9)),  // touch
      Make(v1::INTERACTION_KIND_CALL, v1::DIRECTION_OUTBOUND,
           kNow - Days(8)),  // touch
      Make(v1::INTERACTION_KIND_LINKEDIN_MESSAGE, v1::DIRECTION_OUTBOUND,
           kNow - Days(7)),  // touch
      Make(v1::INTERACTION_KIND_LINKEDIN_MESSAGE, v1::DIRECTION_INBOUND,
           kNow - Days(6)),  // reply
      connected,             // both
      Make(v1::INTERACTION_KIND_CALL, v1::DIRECTION_INBOUND,
           kNow - Days(4)),                                          // reply
      Meeting(kNow - Days(3)),                                       // reply
      Reported(kNow - Days(2), common::v1::OUTCOME_POSITIVE_REPLY),  // reply
      Reported(kNow - Days(1), common::v1::OUTCOME_NO_REPLY),        // neither
      Make(v1::INTERACTION_KIND_EVENT, v1::DIRECTION_INBOUND,
           kNow - Days(1)),  // neither
  });
  const v1::Responsiveness r = DeriveAt(BaseContact(), h).responsiveness();
  EXPECT_EQ(r.touches(), 4);
  EXPECT_EQ(r.replies(), 5);
  EXPECT_EQ(T(r.last_reply_at()), kNow - Days(2));
}

TEST(ResponsivenessTest, MedianReplyTimePairsEachReplyWithTheLatestTouch) {
  const History h = Fold({
      Sent(At(1, 9)), Sent(At(2, 9)), Replied(At(2, 11)),  // 2 h after latest
      Replied(At(2, 12)),                                  // same touch: skip
      Sent(At(5, 9)), Replied(At(5, 13)),                  // 4 h
      Sent(At(8, 9)), Replied(At(9, 9)),                   // 24 h
  });
  const v1::Responsiveness r = DeriveAt(BaseContact(), h).responsiveness();
  EXPECT_EQ(D(r.median_reply_time()), absl::Hours(4));
}

TEST(ResponsivenessTest, MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  const History h = Fold({Sent(At(1, 9)), Replied(At(1, 10)),   // 1 h
                          Sent(At(3, 9)), Replied(At(3, 12)),   // 3 h
                          Sent(At(5, 9)), Replied(At(5, 14)),   // 5 h
                          Sent(At(7, 9)), Replied(At(8, 9))});  // 24 h
  EXPECT_EQ(D(DeriveAt(BaseContact(), h).responsiveness().median_reply_time()),
            absl::Hours(4));
}

TEST(ResponsivenessTest, ScheduledMeetingsDoNotCountAsReplyTime) {
  const History h = Fold({Sent(At(1, 9)), Meeting(At(10, 15))});
  EXPECT_FALSE(
      DeriveAt(BaseContact(), h).responsiveness().has_median_reply_time());
}

TEST(ResponsivenessTest, NoBestHoursWithFewerThanThreeTimedReplies) {
  const History h = Fold({Replied(At(1, 14)), Replied(At(2, 14))});
  EXPECT_TRUE(
      DeriveAt(BaseContact(), h).responsiveness().best_hours_utc().empty());
}

TEST(ResponsivenessTest, BestHoursNeedTwoRepliesInTheHour) {
  const History h =
      Fold({Replied(At(1, 14)), Replied(At(2, 14, 30)), Replied(At(3, 9))});
  EXPECT_THAT(DeriveAt(BaseContact(), h).responsiveness().best_hours_utc(),
              ElementsAre(14));
}

TEST(ResponsivenessTest, BestHoursAreMostRepliesFirstAtMostThree) {
  const History h = Fold({
      Replied(At(1, 8)), Replied(At(2, 8)),                        // 2 at 08
      Replied(At(1, 16)), Replied(At(2, 16)), Replied(At(3, 16)),  // 3 at 16
      Replied(At(4, 7)), Replied(At(5, 7)),                        // 2 at 07
      Replied(At(4, 20)), Replied(At(5, 20)),                      // 2 at 20
      Replied(At(6, 11)),                                          // 1 at 11
  });
  EXPECT_THAT(DeriveAt(BaseContact(), h).responsiveness().best_hours_utc(),
              ElementsAre(16, 7, 8));
}

}  // namespace
}  // namespace rapport::profile::model::test_util
