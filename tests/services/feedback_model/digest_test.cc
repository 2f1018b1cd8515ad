// Digest arithmetic over hand-built items, with expectations computed by
// hand (the comments show the sums).
#include "services/feedback/digest.h"

#include <string>
#include <vector>

#include "common/util/util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/feedback/validate.h"

namespace rapport::feedback {
namespace {

using common::v1::Outcome;
using common::v1::Team;

const absl::Time kStart = absl::FromUnixSeconds(1'750'000'000);
const absl::Time kEnd = kStart + absl::Hours(24 * 7);

class Builder {
 public:
  // Items get increasing ids one millisecond apart from kStart.
  v1::Feedback& Add(Team team) {
    v1::Feedback& f = items_.emplace_back();
    const absl::Time at = kStart + absl::Milliseconds(++n_);
    f.set_id(
        StreamId{static_cast<uint64_t>(absl::ToUnixMillis(at)), 0}.ToString());
    *f.mutable_created_at() = util::ToTimestamp(at);
    f.mutable_author()->set_team(team);
    f.mutable_author()->set_id("rep");
    return f;
  }
  v1::Feedback& AddOutcome(Team team, const std::string& message, Outcome o) {
    v1::Feedback& f = Add(team);
    f.mutable_subject()->set_message_id(message);
    f.mutable_outcome()->set_outcome(o);
    return f;
  }
  void Enrich(const v1::Feedback& f, const std::string& tpl,
              std::vector<std::string> rules,
              const std::string& campaign = "") {
    store::OutcomeEnrichment& e = outcomes_[f.id()];
    e.set_message_id(f.subject().message_id());
    e.set_template_id(tpl);
    e.set_campaign_id(campaign);
    for (std::string& r : rules) e.add_fired_rule_ids(std::move(r));
  }
  v1::Feedback& AddNote(Team from, Team to, const std::string& text,
                        bool flagged = false) {
    v1::Feedback& f = Add(from);
    f.mutable_subject()->set_team(to);
    f.mutable_note()->set_to_team(to);
    f.mutable_note()->set_text(text);
    f.set_flagged(flagged);
    return f;
  }
  v1::Feedback& AddReview(Team team, const std::string& tpl, int rating,
                          std::vector<std::string> tags = {},
                          const std::string& comment = "") {
    v1::Feedback& f = Add(team);
    f.mutable_subject()->set_template_id(tpl);
    f.mutable_review()->set_rating(rating);
    f.mutable_review()->set_comment(comment);
    for (std::string& t : tags) f.mutable_review()->add_tags(std::move(t));
    return f;
  }

  v1::Digest Digest(Team team) {
    DigestInput in;
    in.team = team;
    in.start = kStart;
    in.end = kEnd;
    in.now = kEnd;
    in.items = items_;
    in.outcomes = outcomes_;
    return ComputeDigest(in);
  }
  std::vector<v1::Feedback>& items() { return items_; }

 private:
  int n_ = 0;
  std::vector<v1::Feedback> items_;
  absl::flat_hash_map<std::string, store::OutcomeEnrichment> outcomes_;
};

int64_t CountOf(const v1::OutcomeStats& s, Outcome o) {
  for (const v1::OutcomeCount& c : s.by_outcome()) {
    if (c.outcome() == o) return c.count();
  }
  return 0;
}

TEST(OutcomeStatsTest, RatesUseDeliveredExceptBounces) {
  // 5 reports: 1 bounced -> 4 delivered. Welcome: MEETING, REPLIED = 2.
  const v1::OutcomeStats s = ComputeOutcomeStats(
      {common::v1::OUTCOME_MEETING_BOOKED, common::v1::OUTCOME_NO_REPLY,
       common::v1::OUTCOME_REPLIED, common::v1::OUTCOME_BOUNCED,
       common::v1::OUTCOME_UNSUBSCRIBED});
  EXPECT_EQ(s.total(), 5);
  EXPECT_DOUBLE_EQ(s.reply_rate(), 2.0 / 4);
  EXPECT_DOUBLE_EQ(s.meeting_rate(), 1.0 / 4);
  EXPECT_DOUBLE_EQ(s.unsubscribe_rate(), 1.0 / 4);
  EXPECT_DOUBLE_EQ(s.bounce_rate(), 1.0 / 5);
  EXPECT_EQ(CountOf(s, common::v1::OUTCOME_NO_REPLY), 1);
  EXPECT_EQ(s.by_outcome_size(), 5);
  EXPECT_EQ(s.by_outcome(0).outcome(),
            common::v1::OUTCOME_REPLIED);  // enum order
}

TEST(OutcomeStatsTest, EmptyAndAllBouncedAreZeroNotNan) {
  const v1::OutcomeStats empty = ComputeOutcomeStats({});
  EXPECT_EQ(empty.total(), 0);
  EXPECT_EQ(empty.reply_rate(), 0);
  EXPECT_EQ(empty.bounce_rate(), 0);
  const v1::OutcomeStats bounced =
      ComputeOutcomeStats({common::v1::OUTCOME_BOUNCED});
  EXPECT_EQ(bounced.reply_rate(), 0);
  EXPECT_EQ(bounced.bounce_rate(), 1);
}

TEST(OutcomeStatsTest, WelcomeRepliesAreThoseOfCommonProto) {
  EXPECT_TRUE(IsWelcomeReply(common::v1::OUTCOME_REPLIED));
  EXPECT_TRUE(IsWelcomeReply(common::v1::OUTCOME_POSITIVE_REPLY));
  EXPECT_TRUE(IsWelcomeReply(common::v1::OUTCOME_NEUTRAL_REPLY));
  EXPECT_TRUE(IsWelcomeReply(common::v1::OUTCOME_MEETING_BOOKED));
  EXPECT_FALSE(IsWelcomeReply(common::v1::OUTCOME_NEGATIVE_REPLY));
  EXPECT_FALSE(IsWelcomeReply(common::v1::OUTCOME_NO_REPLY));
  EXPECT_FALSE(IsWelcomeReply(common::v1::OUTCOME_COMPLAINT));
  EXPECT_FALSE(IsWelcomeReply(common::v1::OUTCOME_BOUNCED));
}

TEST(DigestTest, TeamOutcomesTemplatesCampaignsAndCounts) {
  Builder b;
  const Team sales = common::v1::TEAM_SALES;
  b.Enrich(b.AddOutcome(sales, "m1", common::v1::OUTCOME_MEETING_BOOKED), "A",
           {"r1"}, "spring");
  b.Enrich(b.AddOutcome(sales, "m2", common::v1::OUTCOME_NO_REPLY), "A", {"r1"},
           "spring");
  b.Enrich(b.AddOutcome(sales, "m3", common::v1::OUTCOME_REPLIED), "B", {});
  b.Enrich(b.AddOutcome(sales, "m4", common::v1::OUTCOME_BOUNCED), "B", {"r1"});
  b.AddOutcome(sales, "m5", common::v1::OUTCOME_UNSUBSCRIBED);  // no enrichment
  // Another team's outcome: counted in `counts`, not in SALES' rates.
  b.Enrich(b.AddOutcome(common::v1::TEAM_MARKETING, "m6",
                        common::v1::OUTCOME_POSITIVE_REPLY),
           "A", {});
  // Outside the period: ignored everywhere.
  v1::Feedback& late = b.AddOutcome(sales, "m7", common::v1::OUTCOME_REPLIED);
  *late.mutable_created_at() = util::ToTimestamp(kEnd);

  const v1::Digest d = b.Digest(sales);
  EXPECT_EQ(d.team(), sales);
  EXPECT_EQ(FromProto(d.start_time()), kStart);
  EXPECT_EQ(FromProto(d.end_time()), kEnd);

  // SALES: 5 reports, 1 bounce -> 4 delivered; welcome m1, m3 -> 2/4.
  EXPECT_EQ(d.outcomes().total(), 5);
  EXPECT_DOUBLE_EQ(d.outcomes().reply_rate(), 0.5);
  EXPECT_DOUBLE_EQ(d.outcomes().meeting_rate(), 0.25);
  EXPECT_DOUBLE_EQ(d.outcomes().unsubscribe_rate(), 0.25);
  EXPECT_DOUBLE_EQ(d.outcomes().bounce_rate(), 0.2);

  // Templates: B = {REPLIED, BOUNCED} -> 1/1 = 1.0; A = {MEETING, NO_REPLY}
  // (m6 is MARKETING's) -> 1/2 = 0.5. Highest reply rate first.
  ASSERT_EQ(d.templates_size(), 2);
  EXPECT_EQ(d.templates(0).id(), "B");
  EXPECT_DOUBLE_EQ(d.templates(0).stats().reply_rate(), 1.0);
  EXPECT_EQ(d.templates(0).stats().total(), 2);
  EXPECT_EQ(d.templates(1).id(), "A");
  EXPECT_DOUBLE_EQ(d.templates(1).stats().reply_rate(), 0.5);
  ASSERT_EQ(d.campaigns_size(), 1);
  EXPECT_EQ(d.campaigns(0).id(), "spring");
  EXPECT_EQ(d.campaigns(0).stats().total(), 2);
  // Fewer than 10 delivered each: no best or worst.
  EXPECT_EQ(d.best_templates_size(), 0);
  EXPECT_EQ(d.worst_templates_size(), 0);
  // Rule lifts need 5 messages each way.
  EXPECT_EQ(d.rule_lifts_size(), 0);

  // Counts cover every team: SALES 5 outcomes, MARKETING 1.
  ASSERT_EQ(d.counts_size(), 2);
  EXPECT_EQ(d.counts(0).team(), sales);
  EXPECT_EQ(d.counts(0).kind(), v1::FEEDBACK_KIND_OUTCOME);
  EXPECT_EQ(d.counts(0).count(), 5);
  EXPECT_EQ(d.counts(1).team(), common::v1::TEAM_MARKETING);
  EXPECT_EQ(d.counts(1).count(), 1);

  // The whole tenant: 6 reports, 1 bounce -> 5 delivered, 3 welcome.
  const v1::Digest all = b.Digest(common::v1::TEAM_UNSPECIFIED);
  EXPECT_EQ(all.outcomes().total(), 6);
  EXPECT_DOUBLE_EQ(all.outcomes().reply_rate(), 3.0 / 5);
  // A now has m1, m2, m6: 2 welcome of 3 delivered.
  ASSERT_EQ(all.templates_size(), 2);
  EXPECT_EQ(all.templates(1).id(), "A");
  EXPECT_DOUBLE_EQ(all.templates(1).stats().reply_rate(), 2.0 / 3);
}

TEST(DigestTest, RuleLiftWithLaplaceSmoothingAndPerMessageDedup) {
  Builder b;
  const Team sales = common::v1::TEAM_SALES;
  // r1 fired on 10 messages, 2 replied; not fired on 10 messages, 6
  // replied. r2 fired on only 4 messages (too few): not reported. r3 fired
  // on all 20 (0 not-fired): not reported.
  for (int i = 0; i < 10; ++i) {
    std::vector<std::string> rules = {"r1", "r3"};
    if (i < 4) rules.emplace_back("r2");
    b.Enrich(b.AddOutcome(sales, "f" + std::to_string(i),
                          i < 2 ? common::v1::OUTCOME_POSITIVE_REPLY
                                : common::v1::OUTCOME_NO_REPLY),
             "T", rules);
  }
  for (int i = 0; i < 10; ++i) {
    b.Enrich(b.AddOutcome(sales, "n" + std::to_string(i),
                          i < 6 ? common::v1::OUTCOME_REPLIED
                                : common::v1::OUTCOME_NEGATIVE_REPLY),
             "T", {"r3"});
  }
  // A second report about n9: it replied after all. The latest report per
  // message decides, so not-fired replies become 7 of 10 (not 7 of 11).
  b.Enrich(b.AddOutcome(sales, "n9", common::v1::OUTCOME_MEETING_BOOKED), "T",
           {"r3"});
  // A bounced message counts for no rule.
  b.Enrich(b.AddOutcome(sales, "x", common::v1::OUTCOME_BOUNCED), "T",
           {"r1", "r3"});

  const v1::Digest d = b.Digest(sales);
  ASSERT_EQ(d.rule_lifts_size(), 1) << d.DebugString();
  const v1::RuleLift& l = d.rule_lifts(0);
  EXPECT_EQ(l.rule_id(), "r1");
  EXPECT_EQ(l.fired_count(), 10);
  EXPECT_DOUBLE_EQ(l.fired_reply_rate(), 0.2);
  EXPECT_EQ(l.not_fired_count(), 10);
  EXPECT_DOUBLE_EQ(l.not_fired_reply_rate(), 0.7);
  // (2 + 1) / (10 + 2) over (7 + 1) / (10 + 2) = 3 / 8.
  EXPECT_DOUBLE_EQ(l.lift(), 3.0 / 8.0);
  // Reports, not messages, for the outcome totals: 22.
  EXPECT_EQ(d.outcomes().total(), 22);
}

TEST(DigestTest, BestAndWorstTemplatesNeedTenDeliveredAndNeverOverlap) {
  Builder b;
  const Team sales = common::v1::TEAM_SALES;
  int m = 0;
  auto add = [&](const std::string& tpl, int delivered, int replied) {
    for (int i = 0; i < delivered; ++i) {
      b.Enrich(b.AddOutcome(sales, "m" + std::to_string(m++),
                            i < replied ? common::v1::OUTCOME_REPLIED
                                        : common::v1::OUTCOME_NO_REPLY),
               tpl, {});
    }
  };
  add("T1", 10, 8);  // 0.8
  add("T2", 10, 5);  // 0.5
  add("T3", 12, 3);  // 0.25
  add("T4", 10, 1);  // 0.1
  add("T5", 5, 5);   // 1.0 but only 5 delivered
  // Bounces do not count as delivered: T6 has 9 delivered.
  add("T6", 9, 0);
  b.Enrich(b.AddOutcome(sales, "b", common::v1::OUTCOME_BOUNCED), "T6", {});

  const v1::Digest d = b.Digest(sales);
  ASSERT_EQ(d.best_templates_size(), 3);
  EXPECT_EQ(d.best_templates(0).id(), "T1");
  EXPECT_EQ(d.best_templates(1).id(), "T2");
  EXPECT_EQ(d.best_templates(2).id(), "T3");
  // Lowest first, but T3/T2/T1 are already best: only T4 is left.
  ASSERT_EQ(d.worst_templates_size(), 1);
  EXPECT_EQ(d.worst_templates(0).id(), "T4");
  // All six are listed by reply rate.
  ASSERT_EQ(d.templates_size(), 6);
  EXPECT_EQ(d.templates(0).id(), "T5");
  EXPECT_EQ(d.templates(5).id(), "T6");
}

TEST(DigestTest, ReviewsNotesAndRespect) {
  Builder b;
  const Team sales = common::v1::TEAM_SALES;
  const Team mkt = common::v1::TEAM_MARKETING;
  b.AddReview(sales, "A", 5, {"great-opener", "too-long"});
  b.AddReview(sales, "A", 4, {"too-long"}, "a bit long");
  v1::Feedback& rude =
      b.AddReview(sales, "B", 1, {"too-long"}, "written by clueless people");
  rude.set_flagged(true);
  b.AddReview(mkt, "B", 2);  // not SALES'
  b.AddNote(mkt, sales, "first note");
  b.AddNote(mkt, sales, "second note, rude", /*flagged=*/true);
  b.AddNote(sales, sales, "to ourselves");  // not from another team
  b.AddNote(mkt, common::v1::TEAM_OPS, "for ops");
  b.AddNote(sales, mkt, "thanks for the new deck");

  const v1::Digest d = b.Digest(sales);
  // 3 SALES reviews: (5 + 4 + 1) / 3.
  EXPECT_EQ(d.reviews().count(), 3);
  EXPECT_DOUBLE_EQ(d.reviews().mean_rating(), 10.0 / 3);
  ASSERT_EQ(d.reviews().top_tags_size(), 2);
  EXPECT_EQ(d.reviews().top_tags(0).tag(), "too-long");
  EXPECT_EQ(d.reviews().top_tags(0).count(), 3);
  EXPECT_EQ(d.reviews().top_tags(1).tag(), "great-opener");

  ASSERT_EQ(d.notes_size(), 2);
  EXPECT_EQ(d.notes(0).note().text(), "second note, rude");  // newest first
  EXPECT_EQ(d.notes(1).note().text(), "first note");

  // SALES authored 3 reviews with text or tags + 2 notes = 5 checked, 1
  // flagged; received 1 flagged note.
  EXPECT_EQ(d.respect().checked_authored(), 5);
  EXPECT_EQ(d.respect().flagged_authored(), 1);
  EXPECT_EQ(d.respect().flagged_received(), 1);

  // Review ratings per template (rapportctl): A = 4.5 (2), B = 1.0 (1).
  const TemplateRatings r = RateTemplates(b.items(), sales);
  ASSERT_EQ(r.highest.size(), 2u);
  EXPECT_EQ(r.highest[0].template_id, "A");
  EXPECT_DOUBLE_EQ(r.highest[0].mean_rating, 4.5);
  EXPECT_EQ(r.highest[0].count, 2);
  EXPECT_TRUE(r.lowest.empty());  // both are already in `highest`
  const TemplateRatings one = RateTemplates(b.items(), sales, 1, 1);
  ASSERT_EQ(one.highest.size(), 1u);
  ASSERT_EQ(one.lowest.size(), 1u);
  EXPECT_EQ(one.lowest[0].template_id, "B");
  // The whole tenant: B = (1 + 2) / 2.
  const TemplateRatings all =
      RateTemplates(b.items(), common::v1::TEAM_UNSPECIFIED, 2, 1);
  ASSERT_EQ(all.lowest.size(), 1u);
  EXPECT_DOUBLE_EQ(all.lowest[0].mean_rating, 1.5);
}

}  // namespace
}  // namespace rapport::feedback
