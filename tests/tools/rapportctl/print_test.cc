#include "tools/rapportctl/print.h"

#include <string>

#include "absl/time/time.h"
#include "common/util/util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/rapportctl/csv_import.h"

namespace rapport::ctl {
namespace {

using rapport::profile::v1::Profile;
using ::testing::HasSubstr;
using ::testing::Not;

absl::Time Day(int y, int m, int d, int hour = 0) {
  return absl::FromCivil(absl::CivilHour(y, m, d, hour), absl::UTCTimeZone());
}

// Mitch, as the seeds describe him, after a few weeks of outreach.
Profile MitchProfile() {
  Profile p;
  auto* c = p.mutable_contact();
  c->set_id("sf-0035g00000mitch");
  c->set_full_name("Mitchell Grant");
  c->set_preferred_name("Mitch");
  c->set_email("mitch.grant@acme-logistics.example.com");
  c->set_title("VP Sales");
  c->set_company("Acme Logistics");
  c->set_industry("Logistics");
  c->set_time_zone("America/Denver");
  c->add_priorities("cut onboarding time for new reps");
  c->add_priorities("forecast accuracy");
  c->add_challenges("rep churn in EMEA");
  auto* event = c->add_trigger_events();
  event->set_description("opened a new distribution hub in Denver");
  *event->mutable_occurred_at() = util::ToTimestamp(Day(2024, 3, 2));
  (*c->mutable_custom_fields())["segment"] = "enterprise";
  p.set_address_as("Mitch");
  p.set_stage(rapport::common::v1::BUYING_STAGE_PROBLEM_AWARE);
  p.set_stage_reason("replied about rep onboarding; no pricing questions yet");
  auto* interest = p.add_interests();
  interest->set_topic("rep onboarding");
  interest->set_weight(3.25);
  interest->set_mentions(4);
  interest = p.add_interests();
  interest->set_topic("sales coaching");
  interest->set_weight(1.1);
  auto* r = p.mutable_responsiveness();
  r->set_reply_rate(0.1234);
  r->set_prior_reply_rate(0.05);
  r->set_replies(2);
  r->set_touches(5);
  r->mutable_median_reply_time()->set_seconds(27 * 3600 + 5 * 60);
  r->add_best_hours_utc(14);
  r->add_best_hours_utc(15);
  auto* f = p.mutable_fatigue();
  f->set_touches_14d(3);
  f->set_replies_14d(0);
  f->set_fatigued(true);
  f->mutable_recommended_wait()->set_seconds(int64_t{5} * 86400);
  *f->mutable_next_contact_after() = util::ToTimestamp(Day(2024, 5, 10, 14));
  f->set_reason("3 emails in 14 days and no reply since May 1: wait 5 days");
  auto* gap = p.add_knowledge_gaps();
  gap->set_code(rapport::profile::v1::KNOWLEDGE_GAP_CODE_NO_INTERACTIONS);
  gap->set_description("no conversation yet: ask what matters to them");
  p.set_version(7);
  *p.mutable_updated_at() = util::ToTimestamp(Day(2024, 5, 5, 9));
  p.set_interaction_count(12);
  *p.mutable_last_interaction_at() = util::ToTimestamp(Day(2024, 5, 1));
  return p;
}

TEST(FormatProfileTest, ReadsLikeABriefingForASeller) {
  const std::string text = FormatProfile(MitchProfile());
  // How to address them first.
  EXPECT_THAT(text, HasSubstr("Mitchell Grant: address as \"Mitch\"\n"));
  EXPECT_THAT(text, HasSubstr("VP Sales @ Acme Logistics · Logistics"));
  EXPECT_THAT(text, HasSubstr("problem aware: replied about rep onboarding"));
  EXPECT_THAT(text, HasSubstr("1. cut onboarding time for new reps"));
  EXPECT_THAT(text, HasSubstr("2. forecast accuracy"));
  EXPECT_THAT(text, HasSubstr("- rep churn in EMEA"));
  EXPECT_THAT(
      text,
      HasSubstr("- opened a new distribution hub in Denver (2024-03-02)"));
  EXPECT_THAT(text, HasSubstr("top interests    3.2  rep onboarding (4 "
                              "mentions)\n                   1.1  sales "
                              "coaching\n"));
  EXPECT_THAT(text,
              HasSubstr("reply rate 12% (2 replies / 5 touches, prior 5.0%)"));
  EXPECT_THAT(text, HasSubstr("median reply time 1d 3h"));
  EXPECT_THAT(text, HasSubstr("best hours 14:00, 15:00 UTC"));
  EXPECT_THAT(text, HasSubstr("3 touches and 0 replies in 14 days"));
  EXPECT_THAT(text, HasSubstr("FATIGUED: wait 5d, next contact after "
                              "2024-05-10 14:00 UTC"));
  EXPECT_THAT(text, HasSubstr("no reply since May 1"));
  EXPECT_THAT(text, HasSubstr("knowledge gaps"));
  EXPECT_THAT(text,
              HasSubstr("[ ] no conversation yet: ask what matters to them"));
  EXPECT_THAT(text, HasSubstr("segment=enterprise"));
  EXPECT_THAT(text, HasSubstr("7 · updated 2024-05-05 09:00 UTC · 12 "
                              "interactions, last 2024-05-01"));
  EXPECT_THAT(text, Not(HasSubstr("DO NOT CONTACT")));
}

TEST(FormatProfileTest, EmptyProfileSaysWhatIsUnknown) {
  Profile p;
  p.mutable_contact()->set_id("c1");
  p.mutable_contact()->set_full_name("Robert Lindqvist");
  p.mutable_contact()->set_do_not_contact(true);
  p.mutable_contact()->set_do_not_contact_reason("unsubscribed 2024-05-02");
  p.mutable_responsiveness()->set_reply_rate(0.05);
  p.mutable_responsiveness()->set_prior_reply_rate(0.05);
  const std::string text = FormatProfile(p);
  EXPECT_THAT(text, HasSubstr("address as \"Robert\" (no preferred name "
                              "known yet)"));
  EXPECT_THAT(text, HasSubstr("DO NOT CONTACT   unsubscribed 2024-05-02"));
  EXPECT_THAT(text, HasSubstr("priorities       none stated"));
  EXPECT_THAT(text, HasSubstr("top interests    none learned yet"));
  EXPECT_THAT(text, HasSubstr("reply rate 5.0% (the prior 5.0%: no touches"));
  EXPECT_THAT(text, HasSubstr("median reply time unknown"));
  // No timing advice for someone who must not be contacted.
  EXPECT_THAT(text, HasSubstr("0 replies in 14 days · do not contact"));
  EXPECT_THAT(text, Not(HasSubstr("ok to write")));
  EXPECT_THAT(FormatProfileSummary(p), HasSubstr("DO NOT CONTACT"));
  EXPECT_THAT(FormatProfileSummary(p), Not(HasSubstr("ok to write")));

  p.mutable_contact()->set_do_not_contact(false);
  EXPECT_THAT(FormatProfile(p), HasSubstr("ok to write now"));
  EXPECT_THAT(FormatProfileSummary(p), HasSubstr("ok to write"));
}

TEST(FormatProfileSummaryTest, OneLine) {
  const std::string line = FormatProfileSummary(MitchProfile());
  EXPECT_THAT(line, HasSubstr("sf-0035g00000mitch"));
  EXPECT_THAT(line, HasSubstr("Mitch (Mitchell Grant)"));
  EXPECT_THAT(line, HasSubstr("problem aware"));
  EXPECT_THAT(line, HasSubstr("wait 5d"));
  EXPECT_THAT(line, HasSubstr("1 knowledge gap"));
  EXPECT_THAT(line, HasSubstr("v7"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(ToJsonTest, KeepsProtoFieldNames) {
  auto json = ToJson(MitchProfile());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"preferred_name\": \"Mitch\""));
  EXPECT_THAT(*json, HasSubstr("\"stage\": \"BUYING_STAGE_PROBLEM_AWARE\""));
  EXPECT_THAT(*json, HasSubstr("\"do_not_contact\": false"));
}

TEST(FormatDurationTest, TwoLargestUnits) {
  EXPECT_EQ(HumanDuration(absl::Hours(52) + absl::Minutes(3)), "2d 4h");
  EXPECT_EQ(HumanDuration(absl::Minutes(200)), "3h 20m");
  EXPECT_EQ(HumanDuration(absl::Seconds(45)), "45s");
  EXPECT_EQ(HumanDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(HumanDuration(-absl::Hours(1)), "0s");
}

}  // namespace
}  // namespace rapport::ctl
