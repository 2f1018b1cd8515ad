// FoldInteraction (ordering, trimming at 500 with aggregates kept right),
// the history byte format, address_as and Derive's bookkeeping.

#include <cmath>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/profile/model/derive.h"
#include "tests/services/profile/model_test_util.h"

namespace rapport::profile::model::test_util {
namespace {

using ::testing::ElementsAre;

TEST(FoldTest, NormalisesAndDeduplicatesTopicsOnTheStoredCopy) {
  const History h =
      Fold({Sent(kNow, {" Pricing ", "pricing", "", "  ", "ROI"})});
  ASSERT_EQ(h.recent.size(), 1u);
  EXPECT_THAT(h.recent[0].topics(), ElementsAre("pricing", "roi"));
}

TEST(FoldTest, OutOfOrderBackfillLandsInTimeOrder) {
  const History h =
      Fold({Sent(kNow - Days(1)), Sent(kNow - Days(3)), Sent(kNow - Days(2))});
  ASSERT_EQ(h.recent.size(), 3u);
  EXPECT_EQ(T(h.recent[0].occurred_at()), kNow - Days(3));
  EXPECT_EQ(T(h.recent[2].occurred_at()), kNow - Days(1));
  EXPECT_EQ(T(h.aggregates.first_interaction_at()), kNow - Days(3));
  EXPECT_EQ(T(h.aggregates.last_interaction_at()), kNow - Days(1));
}

TEST(FoldTest, SameIdStillKeptIsIgnored) {
  History h;
  v1::Interaction i = Sent(kNow);
  i.set_id("i-1");
  EXPECT_TRUE(FoldInteraction(i, &h));
  EXPECT_FALSE(FoldInteraction(i, &h));
  EXPECT_EQ(h.recent.size(), 1u);
  EXPECT_EQ(h.aggregates.interaction_count(), 1);
  v1::Interaction anonymous = Sent(kNow);  // no id: no de-duplication
  EXPECT_TRUE(FoldInteraction(anonymous, &h));
  EXPECT_TRUE(FoldInteraction(anonymous, &h));
  EXPECT_EQ(h.aggregates.interaction_count(), 3);
}

// 600 interactions over 600 hours: the first 100 mention "legacy topic" (a
// reply each), the rest "current topic" (a send each).
History SixHundred() {
  History h;
  const absl::Time start = kNow - absl::Hours(600);
  for (int k = 0; k < 600; ++k) {
    const absl::Time at = start + absl::Hours(k);
    FoldInteraction(
        k < 100 ? Replied(at, {"Legacy Topic"}) : Sent(at, {"current topic"}),
        &h);
  }
  return h;
}

TEST(FoldTest, TrimsToTheNewest500AndKeepsAllTimeCounts) {
  const History h = SixHundred();
  ASSERT_EQ(h.recent.size(), 500u);
  EXPECT_EQ(T(h.recent.front().occurred_at()), kNow - absl::Hours(500));
  EXPECT_EQ(h.aggregates.trimmed_interactions(), 100);
  const v1::Profile p = DeriveAt(BaseContact(), h);
  EXPECT_EQ(p.interaction_count(), 600);
  EXPECT_EQ(p.responsiveness().touches(), 500);
  EXPECT_EQ(p.responsiveness().replies(), 100);
  EXPECT_EQ(T(p.last_interaction_at()), kNow - absl::Hours(1));
}

TEST(FoldTest, InterestsOfTrimmedInteractionsAreNotLost) {
  const History h = SixHundred();
  const v1::Profile p = DeriveAt(BaseContact(), h);
  const v1::Interest* legacy = FindInterest(p, "legacy topic");
  const v1::Interest* current = FindInterest(p, "current topic");
  ASSERT_NE(legacy, nullptr);
  ASSERT_NE(current, nullptr);
  EXPECT_EQ(legacy->mentions(), 100);
  EXPECT_EQ(current->mentions(), 500);
  EXPECT_EQ(T(legacy->last_seen_at()), kNow - absl::Hours(501));
  // The exact sum over every mention, as if nothing had been trimmed.
  double expected = 0;
  for (int k = 0; k < 100; ++k) {
    expected += 2 * std::exp2(-(600.0 - k) / (90 * 24));
  }
  EXPECT_NEAR(legacy->weight(), expected, 1e-9 * expected);
}

TEST(FoldTest, StageEvidenceOfTrimmedInteractionsIsKept) {
  History h;
  FoldInteraction(Replied(kNow - Days(300), {"pricing"}), &h);
  for (int k = 0; k < 500; ++k) {
    FoldInteraction(Sent(kNow - Days(299) + absl::Minutes(k)), &h);
  }
  ASSERT_EQ(h.aggregates.trimmed_interactions(), 1);
  EXPECT_EQ(DeriveAt(BaseContact(), h).stage(),
            common::v1::BUYING_STAGE_EVALUATING);
}

TEST(FoldTest, TopicAccumulatorsAreBounded) {
  History h;
  for (int k = 0; k < 500 + 300; ++k) {
    FoldInteraction(Sent(kNow - absl::Hours(800 - k), {absl::StrCat("t", k)}),
                    &h);
  }
  EXPECT_EQ(h.aggregates.topics_size(), kMaxTopicAccumulators);
  // The weakest (oldest) went first.
  for (const TopicAccumulator& acc : h.aggregates.topics()) {
    EXPECT_NE(acc.topic(), "t0");
  }
}

TEST(FoldTest, OptOutOutcomeSetsDoNotContactOnTheRecord) {
  common::v1::Contact c = BaseContact();
  EXPECT_FALSE(ApplyInteractionToContact(Sent(kNow), &c));
  EXPECT_TRUE(ApplyInteractionToContact(
      Reported(kNow - Days(1), common::v1::OUTCOME_UNSUBSCRIBED), &c));
  EXPECT_TRUE(c.do_not_contact());
  EXPECT_EQ(c.do_not_contact_reason(), "unsubscribed 2025-06-01");
  // Already set: the first reason stays.
  EXPECT_FALSE(ApplyInteractionToContact(
      Reported(kNow, common::v1::OUTCOME_COMPLAINT), &c));
  EXPECT_EQ(c.do_not_contact_reason(), "unsubscribed 2025-06-01");

  common::v1::Contact d = BaseContact();
  EXPECT_TRUE(ApplyInteractionToContact(
      Reported(kNow, common::v1::OUTCOME_COMPLAINT), &d));
  EXPECT_EQ(d.do_not_contact_reason(), "complaint 2025-06-02");
}

TEST(HistoryFormatTest, RoundTripsEverything) {
  common::v1::Contact c = BaseContact();
  History h = SixHundred();
  ApplyInsight(Insight(common::v1::INSIGHT_KIND_INTEREST, "robots"), kNow, &c,
               &h);
  const std::string bytes = SerializeHistory(h);
  absl::StatusOr<History> parsed = ParseHistory(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->recent.size(), 500u);
  EXPECT_EQ(parsed->insights.size(), 1u);
  EXPECT_EQ(SerializeHistory(*parsed), bytes);
  EXPECT_EQ(DeriveAt(c, *parsed).SerializeAsString(),
            DeriveAt(c, h).SerializeAsString());
}

TEST(HistoryFormatTest, BytesAreThoseOfTheEquivalentHistoryRecord) {
  common::v1::Contact c = BaseContact();
  History h = Fold({Sent(kNow - Days(2), {"pricing"}), Replied(kNow)});
  ApplyInsight(Insight(common::v1::INSIGHT_KIND_OTHER, "note"), kNow, &c, &h);
  HistoryRecord record;
  record.set_format_version(1);
  for (const v1::Interaction& i : h.recent) *record.add_recent() = i;
  *record.mutable_aggregates() = h.aggregates;
  for (const common::v1::ContactInsight& i : h.insights) {
    *record.add_insights() = i;
  }
  EXPECT_EQ(SerializeHistory(h), record.SerializeAsString());
  EXPECT_EQ(SerializeHistory(History{}), [] {
    HistoryRecord empty;
    empty.set_format_version(1);
    empty.mutable_aggregates();
    return empty.SerializeAsString();
  }());
}

TEST(HistoryFormatTest, EmptyBytesAreAnEmptyHistory) {
  absl::StatusOr<History> parsed = ParseHistory("");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->recent.empty());
  EXPECT_EQ(parsed->aggregates.interaction_count(), 0);
}

TEST(HistoryFormatTest, GarbageIsDataLoss) {
  EXPECT_EQ(ParseHistory("\xff\xff\xff").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(HistoryFormatTest, NewerFormatIsRefused) {
  HistoryRecord record;
  record.set_format_version(2);
  EXPECT_EQ(ParseHistory(record.SerializeAsString()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(AddressAsTest, PreferredNameWins) {
  common::v1::Contact c = BaseContact();
  c.set_preferred_name("Mitch");
  EXPECT_EQ(AddressAs(c), "Mitch");
}

TEST(AddressAsTest, FirstWordOfTheFullNameOtherwise) {
  common::v1::Contact c = BaseContact();
  EXPECT_EQ(AddressAs(c), "Mitchell");
  c.set_full_name("  Ana  María López ");
  EXPECT_EQ(AddressAs(c), "Ana");
  c.set_full_name("Dr. Ada Lovelace");
  EXPECT_EQ(AddressAs(c), "Ada");
  c.set_full_name("Prof Grant, PhD");
  EXPECT_EQ(AddressAs(c), "Grant");
  c.set_full_name("Dr.");
  EXPECT_EQ(AddressAs(c), "Dr.");
  c.set_full_name("");
  EXPECT_EQ(AddressAs(c), "");
}

TEST(DeriveTest, KeepsTheStoreFieldsAndReplacesEverythingElse) {
  v1::Profile p;
  p.set_version(7);
  *p.mutable_updated_at() = Ts(kNow - Days(1));
  p.add_interests()->set_topic("stale");
  p.set_stage_reason("stale");
  Derive(BaseContact(), History{}, kNow, DeriveOptions{}, &p);
  EXPECT_EQ(p.version(), 7);
  EXPECT_EQ(T(p.updated_at()), kNow - Days(1));
  EXPECT_EQ(p.interests_size(), 0);
  EXPECT_EQ(p.contact().id(), "c-1");
  EXPECT_EQ(p.stage_reason(), "No interactions recorded yet.");
}

TEST(DeriveTest, IsDeterministic) {
  const History h = SixHundred();
  EXPECT_EQ(DeriveAt(CompleteContact(), h).SerializeAsString(),
            DeriveAt(CompleteContact(), h).SerializeAsString());
}

TEST(DeriveTest, CopesWithAnUnsortedRawList) {
  History sorted = Fold(
      {Sent(kNow - Days(3)), Replied(kNow - Days(2)), Sent(kNow - Days(1))});
  History shuffled = sorted;
  std::swap(shuffled.recent[0], shuffled.recent[2]);
  EXPECT_EQ(DeriveAt(BaseContact(), shuffled).SerializeAsString(),
            DeriveAt(BaseContact(), sorted).SerializeAsString());
}

}  // namespace
}  // namespace rapport::profile::model::test_util
