// Validation: every limit of common.proto / profile.proto, each with a value
// that passes and one that fails, the field path in the message, and no
// personal data echoed.

#include "services/profile/model/validate.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/profile/model_test_util.h"

namespace rapport::profile::model::test_util {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Matches an INVALID_ARGUMENT whose message starts with "<field>: ".
MATCHER_P(FailsOn, field, "") {
  const absl::Status& status = arg;
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    *result_listener << "status " << status;
    return false;
  }
  *result_listener << "message: " << status.message();
  return absl::StartsWith(status.message(), absl::StrCat(field, ": ")) &&
         ViolationField(status) == field;
}

MATCHER(IsOk, "") {
  *result_listener << arg;
  return arg.ok();
}

absl::Status CheckContact(const common::v1::Contact& c) {
  return ValidateContact(c, kNow);
}

// ── IDs ─────────────────────────────────────────────────────────────────────

TEST(ValidateIdTest, AcceptsTheDocumentedAlphabet) {
  EXPECT_THAT(ValidateId("contact_id", "a"), IsOk());
  EXPECT_THAT(ValidateId("contact_id", "0035g00000XyZ.1_a:b@c+d-e"), IsOk());
  EXPECT_THAT(ValidateId("contact_id", std::string(128, 'x')), IsOk());
}

TEST(ValidateIdTest, RejectsEmptyLongAndBadCharactersEchoingTheId) {
  EXPECT_THAT(ValidateId("contact_id", ""), FailsOn("contact_id"));
  EXPECT_EQ(ValidateId("contact_id", "").message(), "contact_id: is required");
  const absl::Status long_id = ValidateId("contact_id", std::string(129, 'x'));
  EXPECT_THAT(long_id, FailsOn("contact_id"));
  EXPECT_THAT(long_id.message(), HasSubstr("129 bytes"));
  EXPECT_THAT(long_id.message(), Not(HasSubstr("xxxx")));
  const absl::Status spaced = ValidateId("contact_id", "ab cd");
  EXPECT_THAT(spaced, FailsOn("contact_id"));
  EXPECT_THAT(spaced.message(), HasSubstr("\"ab cd\" is not a valid ID"));
  EXPECT_THAT(ValidateId("contact_id", "-leading"), FailsOn("contact_id"));
  EXPECT_THAT(ValidateId("contact_id", ".x"), FailsOn("contact_id"));
  EXPECT_THAT(ValidateId("contact_id", "a/b"), FailsOn("contact_id"));
  // Non-ASCII is escaped, never echoed raw.
  EXPECT_THAT(ValidateId("contact_id", "caf\xC3\xA9").message(),
              HasSubstr("\"caf\\xc3\\xa9\""));
}

TEST(ValidateIdTest, OptionalIdAllowsEmpty) {
  EXPECT_THAT(ValidateOptionalId("interaction.id", ""), IsOk());
  EXPECT_THAT(ValidateOptionalId("interaction.id", "bad id"),
              FailsOn("interaction.id"));
}

// ── Contact ─────────────────────────────────────────────────────────────────

TEST(ValidateContactTest, CompleteContactPasses) {
  common::v1::Contact c = CompleteContact();
  c.set_email("mitch.grant@acme-logistics.example");
  c.set_do_not_contact_reason("unsubscribed 2024-05-02");
  c.set_linkedin_url("https://www.linkedin.com/in/mitchgrant");
  c.set_time_zone("Europe/Madrid");
  c.set_locale("en-GB");
  c.set_owner_rep_id("rep-7");
  (*c.mutable_external_ids())["salesforce"] = "0035g00000XyZ";
  (*c.mutable_custom_fields())["Segment.Tier-1_x"] = "enterprise";
  c.mutable_trigger_events(0)->set_source_url("http://news.example/denver");
  EXPECT_THAT(CheckContact(c), IsOk());
}

TEST(ValidateContactTest, IdIsRequired) {
  common::v1::Contact c = BaseContact();
  c.clear_id();
  EXPECT_THAT(CheckContact(c), FailsOn("contact.id"));
}

TEST(ValidateContactTest, FullNameIsARequiredName) {
  common::v1::Contact c = BaseContact();
  c.set_full_name("");
  EXPECT_EQ(CheckContact(c).message(), "contact.full_name: is required");
  c.set_full_name("   ");
  EXPECT_EQ(CheckContact(c).message(), "contact.full_name: is blank");
  c.set_full_name(std::string(256, 'n'));
  EXPECT_THAT(CheckContact(c), IsOk());
  c.set_full_name(std::string(257, 'n'));
  EXPECT_THAT(CheckContact(c), FailsOn("contact.full_name"));
  // Surrounding white space is trimmed, so it does not count.
  c.set_full_name("  " + std::string(256, 'n') + "  ");
  EXPECT_THAT(CheckContact(c), IsOk());
}

TEST(ValidateContactTest, NamesRejectControlCharactersWithoutEchoingTheName) {
  common::v1::Contact c = BaseContact();
  c.set_full_name("Mitchell\x01Grant");
  const absl::Status s = CheckContact(c);
  EXPECT_THAT(s, FailsOn("contact.full_name"));
  EXPECT_THAT(s.message(), HasSubstr("control character (U+0001) at byte 8"));
  EXPECT_THAT(s.message(), Not(HasSubstr("Mitchell")));
  c.set_full_name("Mitchell\x7FGrant");
  EXPECT_THAT(CheckContact(c), FailsOn("contact.full_name"));
  c.set_full_name("Mitchell\nGrant");
  EXPECT_THAT(CheckContact(c), FailsOn("contact.full_name"));
}

TEST(ValidateContactTest, EveryStringMustBeUtf8) {
  common::v1::Contact c = BaseContact();
  c.set_full_name("Mitch\xC3");
  EXPECT_EQ(CheckContact(c).message(), "contact.full_name: is not valid UTF-8");
  c = BaseContact();
  c.set_title("VP \xED\xA0\x80");  // surrogate
  EXPECT_THAT(CheckContact(c), FailsOn("contact.title"));
  c = BaseContact();
  (*c.mutable_custom_fields())["segment"] = "\xFF";
  EXPECT_THAT(CheckContact(c), FailsOn("contact.custom_fields[\"segment\"]"));
  c = BaseContact();
  c.set_full_name("José Müller 営業");
  EXPECT_THAT(CheckContact(c), IsOk());
}

TEST(ValidateContactTest, OptionalNamesMayBeEmptyButNotTooLong) {
  for (const char* field : {"preferred_name", "title", "company", "industry"}) {
    common::v1::Contact c = BaseContact();
    const auto* descriptor = c.GetDescriptor()->FindFieldByName(field);
    c.GetReflection()->SetString(&c, descriptor, "");
    EXPECT_THAT(CheckContact(c), IsOk()) << field;
    c.GetReflection()->SetString(&c, descriptor, "  ");
    EXPECT_THAT(CheckContact(c), IsOk()) << field;  // trims to unset
    c.GetReflection()->SetString(&c, descriptor, std::string(257, 'x'));
    EXPECT_THAT(CheckContact(c), FailsOn(absl::StrCat("contact.", field)));
  }
}

TEST(ValidateContactTest, EmailSyntaxWithoutEchoingTheAddress) {
  common::v1::Contact c = BaseContact();
  for (const char* good :
       {"a@b.c", "mitch.grant+crm@acme.co.uk", "x@sub.domain.example"}) {
    c.set_email(good);
    EXPECT_THAT(CheckContact(c), IsOk()) << good;
  }
  for (const char* bad :
       {"not-an-email", "a@b", "@acme.com", "a@@acme.com", "a@b@acme.com",
        "mitch grant@acme.com", "mitch@acme.com\n", "a@.com", "a@acme.",
        "a@acme..com", "ab"}) {
    c.set_email(bad);
    const absl::Status s = CheckContact(c);
    EXPECT_THAT(s, FailsOn("contact.email")) << bad;
    EXPECT_THAT(s.message(), Not(HasSubstr(bad))) << bad;
  }
  c.set_email(std::string(250, 'a') + "@b.co");  // 255 bytes
  EXPECT_THAT(CheckContact(c).message(), HasSubstr("3-254 bytes"));
  c.set_email("not-an-email");
  EXPECT_EQ(CheckContact(c).message(),
            "contact.email: is not an email address: it needs exactly one '@'");
}

TEST(ValidateContactTest, PrioritiesAndChallengesAreShortTexts) {
  common::v1::Contact c = BaseContact();
  for (int k = 0; k < 32; ++k) c.add_priorities(absl::StrCat("p", k));
  c.add_challenges(std::string(512, 'c'));
  EXPECT_THAT(CheckContact(c), IsOk());
  c.add_priorities("one too many");
  EXPECT_EQ(CheckContact(c).message(),
            "contact.priorities: has 33 items; at most 32 are allowed");
  c.clear_priorities();
  c.add_priorities("fine");
  c.add_priorities("");
  EXPECT_EQ(CheckContact(c).message(), "contact.priorities[1]: is required");
  c.set_priorities(1, "  ");
  EXPECT_THAT(CheckContact(c), FailsOn("contact.priorities[1]"));
  c.set_priorities(1, "tab\tinside");
  EXPECT_THAT(CheckContact(c), FailsOn("contact.priorities[1]"));
  c.set_priorities(1, "ok");
  c.set_challenges(0, std::string(513, 'c'));
  EXPECT_THAT(CheckContact(c), FailsOn("contact.challenges[0]"));
}

TEST(ValidateContactTest, TriggerEvents) {
  common::v1::Contact c = CompleteContact();
  common::v1::TriggerEvent* e = c.mutable_trigger_events(0);
  *e->mutable_occurred_at() = Ts(kNow + absl::Hours(23));
  EXPECT_THAT(CheckContact(c), IsOk());
  *e->mutable_occurred_at() = Ts(kNow + absl::Hours(25));
  EXPECT_EQ(CheckContact(c).message(),
            "contact.trigger_events[0].occurred_at: is more than 24 hours in "
            "the future");
  e->mutable_occurred_at()->set_nanos(-1);
  EXPECT_THAT(CheckContact(c),
              FailsOn("contact.trigger_events[0].occurred_at"));
  e->clear_occurred_at();
  e->set_description("");
  EXPECT_THAT(CheckContact(c),
              FailsOn("contact.trigger_events[0].description"));
  e->set_description(std::string(1024, 'd'));
  EXPECT_THAT(CheckContact(c), IsOk());
  e->set_description(std::string(1025, 'd'));
  EXPECT_THAT(CheckContact(c),
              FailsOn("contact.trigger_events[0].description"));
  e->set_description("ok");
  e->set_source_url("ftp://example.com/x");
  EXPECT_THAT(CheckContact(c), FailsOn("contact.trigger_events[0].source_url"));
  for (int k = 0; k < 32; ++k) c.add_trigger_events()->set_description("x");
  e = c.mutable_trigger_events(0);
  e->clear_source_url();
  EXPECT_THAT(CheckContact(c), FailsOn("contact.trigger_events"));
}

TEST(ValidateContactTest, DoNotContactReasonIsAnOptionalShortText) {
  common::v1::Contact c = BaseContact();
  c.set_do_not_contact_reason(std::string(512, 'r'));
  EXPECT_THAT(CheckContact(c), IsOk());
  c.set_do_not_contact_reason(std::string(513, 'r'));
  EXPECT_THAT(CheckContact(c), FailsOn("contact.do_not_contact_reason"));
}

TEST(ValidateContactTest, LinkedinUrlMustBeAbsoluteHttp) {
  common::v1::Contact c = BaseContact();
  for (const char* good : {"https://linkedin.com/in/x", "HTTP://example.com",
                           "https://example.com?q=1"}) {
    c.set_linkedin_url(good);
    EXPECT_THAT(CheckContact(c), IsOk()) << good;
  }
  for (const char* bad : {"linkedin.com/in/x", "https://", "https:///path",
                          "javascript:alert(1)", "https://exa mple.com"}) {
    c.set_linkedin_url(bad);
    EXPECT_THAT(CheckContact(c), FailsOn("contact.linkedin_url")) << bad;
  }
  c.set_linkedin_url("https://e.com/" + std::string(2040, 'p'));
  EXPECT_THAT(CheckContact(c), FailsOn("contact.linkedin_url"));
}

TEST(ValidateContactTest, TimeZoneMustBeKnownAndSafe) {
  common::v1::Contact c = BaseContact();
  for (const char* good : {"Europe/Madrid", "America/Argentina/Buenos_Aires",
                           "UTC", "Etc/GMT+5"}) {
    c.set_time_zone(good);
    EXPECT_THAT(CheckContact(c), IsOk()) << good;
  }
  for (const char* bad :
       {"Mars/Olympus_Mons", "../../etc/passwd", "/usr/share/zoneinfo/UTC",
        "localtime", "Europe//Madrid"}) {
    c.set_time_zone(bad);
    EXPECT_THAT(CheckContact(c), FailsOn("contact.time_zone")) << bad;
  }
  c.set_time_zone(std::string(65, 'Z'));
  EXPECT_THAT(CheckContact(c).message(), HasSubstr("65 bytes"));
}

TEST(ValidateContactTest, LocaleMustBeABcp47Tag) {
  common::v1::Contact c = BaseContact();
  for (const char* good :
       {"en", "en-GB", "zh-Hant-TW", "es-419", "x-private"}) {
    c.set_locale(good);
    EXPECT_THAT(CheckContact(c), IsOk()) << good;
  }
  for (const char* bad : {"en_GB", "e", "en-", "1en", "en-toolongsubtag"}) {
    c.set_locale(bad);
    EXPECT_THAT(CheckContact(c), FailsOn("contact.locale")) << bad;
  }
  c.set_locale("en-" + std::string(33, 'a'));
  EXPECT_THAT(CheckContact(c), FailsOn("contact.locale"));
}

TEST(ValidateContactTest, OwnerRepIdIsAnOptionalId) {
  common::v1::Contact c = BaseContact();
  c.set_owner_rep_id("rep 7");
  EXPECT_THAT(CheckContact(c), FailsOn("contact.owner_rep_id"));
}

TEST(ValidateContactTest, ExternalIds) {
  common::v1::Contact c = BaseContact();
  auto& ids = *c.mutable_external_ids();
  ids["hub_spot-2"] = "123";
  EXPECT_THAT(CheckContact(c), IsOk());
  ids["SalesForce"] = "1";
  EXPECT_THAT(CheckContact(c).message(),
              HasSubstr("contact.external_ids: key \"SalesForce\""));
  ids.erase("SalesForce");
  ids["salesforce"] = "";
  EXPECT_THAT(CheckContact(c), FailsOn("contact.external_ids[\"salesforce\"]"));
  ids["salesforce"] = "bad id";
  EXPECT_THAT(CheckContact(c), FailsOn("contact.external_ids[\"salesforce\"]"));
  ids.clear();
  ids[std::string(33, 'k')] = "1";
  EXPECT_THAT(CheckContact(c), FailsOn("contact.external_ids"));
  ids.clear();
  for (int k = 0; k < 17; ++k) ids[absl::StrCat("s", k)] = "1";
  EXPECT_EQ(CheckContact(c).message(),
            "contact.external_ids: has 17 entries; at most 16 are allowed");
}

TEST(ValidateContactTest, CustomFields) {
  common::v1::Contact c = BaseContact();
  auto& fields = *c.mutable_custom_fields();
  fields["segment"] = std::string(1024, 'v');
  fields["empty.value"] = "";
  EXPECT_THAT(CheckContact(c), IsOk());
  fields["segment"] = std::string(1025, 'v');
  EXPECT_THAT(CheckContact(c), FailsOn("contact.custom_fields[\"segment\"]"));
  fields["segment"] = "ok";
  fields["bad key"] = "x";
  EXPECT_THAT(CheckContact(c), FailsOn("contact.custom_fields"));
  fields.erase("bad key");
  fields[std::string(65, 'k')] = "x";
  EXPECT_THAT(CheckContact(c), FailsOn("contact.custom_fields"));
  fields.clear();
  for (int k = 0; k < 65; ++k) fields[absl::StrCat("f", k)] = "";
  EXPECT_THAT(CheckContact(c), FailsOn("contact.custom_fields"));
}

TEST(ValidateContactTest, PathPrefixFollowsTheCaller) {
  common::v1::Contact c = BaseContact();
  c.set_email("nope");
  const absl::Status relative = ValidateContact(c, kNow, "");
  EXPECT_THAT(relative, FailsOn("email"));
  EXPECT_EQ(ViolationReason(relative),
            "is not an email address: it needs exactly one '@'");
  EXPECT_THAT(ValidateContact(c, kNow, "recipient"),
              FailsOn("recipient.email"));
}

TEST(ValidateContactTest, OutputOnlyTimesAreIgnored) {
  common::v1::Contact c = BaseContact();
  c.mutable_created_at()->set_nanos(-5);
  EXPECT_THAT(CheckContact(c), IsOk());
}

TEST(NormalizeContactTest, TrimsNamesAndDropsExactDuplicates) {
  common::v1::Contact c = BaseContact();
  c.set_full_name("  Mitchell Grant \t");
  c.set_preferred_name(" Mitch ");
  c.set_company("Acme ");
  c.add_priorities("a");
  c.add_priorities("b");
  c.add_priorities("a");
  c.add_priorities("A");
  c.add_challenges("x");
  c.add_challenges("x");
  NormalizeContact(&c);
  EXPECT_EQ(c.full_name(), "Mitchell Grant");
  EXPECT_EQ(c.preferred_name(), "Mitch");
  EXPECT_EQ(c.company(), "Acme");
  EXPECT_THAT(c.priorities(), ::testing::ElementsAre("a", "b", "A"));
  EXPECT_THAT(c.challenges(), ::testing::ElementsAre("x"));
}

// ── Interaction ─────────────────────────────────────────────────────────────

v1::Interaction GoodInteraction() {
  v1::Interaction i = Sent(kNow - absl::Hours(1), {"pricing"});
  i.set_id("i-1");
  return i;
}

absl::Status CheckInteraction(const v1::Interaction& i) {
  return ValidateInteraction(i, kNow);
}

TEST(ValidateInteractionTest, GoodInteractionPasses) {
  v1::Interaction i = GoodInteraction();
  i.set_message_id("m-1");
  i.set_feedback_id("f-1");
  i.set_rep_id("rep-1");
  EXPECT_THAT(CheckInteraction(i), IsOk());
  v1::Interaction call =
      Make(v1::INTERACTION_KIND_CALL, v1::DIRECTION_INBOUND, kNow);
  call.set_talk_ratio(0.4);
  call.mutable_duration()->set_seconds(1800);
  EXPECT_THAT(CheckInteraction(call), IsOk());
}

TEST(ValidateInteractionTest, Ids) {
  v1::Interaction i = GoodInteraction();
  i.set_id("");
  EXPECT_THAT(CheckInteraction(i), IsOk());
  i.set_id("has space");
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.id"));
  i = GoodInteraction();
  i.clear_contact_id();
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.contact_id"));
  for (const char* field : {"message_id", "feedback_id", "rep_id"}) {
    i = GoodInteraction();
    i.GetReflection()->SetString(&i, i.GetDescriptor()->FindFieldByName(field),
                                 "no good");
    EXPECT_THAT(CheckInteraction(i),
                FailsOn(absl::StrCat("interaction.", field)));
  }
}

TEST(ValidateInteractionTest, KindAndDirectionAreRequiredKnownAndConsistent) {
  v1::Interaction i = GoodInteraction();
  i.set_kind(v1::INTERACTION_KIND_UNSPECIFIED);
  EXPECT_EQ(CheckInteraction(i).message(), "interaction.kind: is required");
  i.set_kind(static_cast<v1::InteractionKind>(42));
  EXPECT_EQ(CheckInteraction(i).message(),
            "interaction.kind: 42 is not a known value");
  i = GoodInteraction();
  i.set_direction(v1::DIRECTION_UNSPECIFIED);
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.direction"));
  i.set_direction(v1::DIRECTION_INBOUND);  // an email sent cannot be inbound
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.direction"));
  i = Replied(kNow);
  EXPECT_THAT(CheckInteraction(i), IsOk());
  i.set_direction(v1::DIRECTION_OUTBOUND);
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.direction"));
}

TEST(ValidateInteractionTest,
     OccurredAtWithinFiveMinutesAheadAndFiveYearsBack) {
  v1::Interaction i = GoodInteraction();
  i.clear_occurred_at();
  EXPECT_EQ(CheckInteraction(i).message(),
            "interaction.occurred_at: is required");
  *i.mutable_occurred_at() = Ts(kNow + absl::Minutes(5));
  EXPECT_THAT(CheckInteraction(i), IsOk());
  *i.mutable_occurred_at() = Ts(kNow + absl::Minutes(6));
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.occurred_at"));
  *i.mutable_occurred_at() = Ts(kNow - Days(365 * 5));
  EXPECT_THAT(CheckInteraction(i), IsOk());
  *i.mutable_occurred_at() = Ts(kNow - Days(365 * 5 + 3));
  EXPECT_THAT(CheckInteraction(i).message(), HasSubstr("5 years in the past"));
  i.mutable_occurred_at()->set_seconds(253402300800);  // year 10000
  EXPECT_THAT(CheckInteraction(i).message(),
              HasSubstr("not a valid timestamp"));
  *i.mutable_occurred_at() = Ts(kNow);
  i.mutable_occurred_at()->set_nanos(1000000000);
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.occurred_at"));
}

TEST(ValidateInteractionTest, Topics) {
  v1::Interaction i = GoodInteraction();
  i.clear_topics();
  for (int k = 0; k < 32; ++k) i.add_topics(absl::StrCat("t", k));
  EXPECT_THAT(CheckInteraction(i), IsOk());
  i.add_topics("t32");
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.topics"));
  i.clear_topics();
  i.add_topics(std::string(128, 't'));
  i.add_topics("  " + std::string(128, 't') + " ");  // trimmed: fits
  EXPECT_THAT(CheckInteraction(i), IsOk());
  i.add_topics(std::string(129, 't'));
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.topics[2]"));
  i.set_topics(2, "");
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.topics[2]"));
  i.set_topics(2, "\xE2\x82");
  EXPECT_EQ(CheckInteraction(i).message(),
            "interaction.topics[2]: is not valid UTF-8");
  i.set_topics(2, "préstamos");
  EXPECT_THAT(CheckInteraction(i), IsOk());
}

TEST(ValidateInteractionTest, TalkRatioWithinZeroAndOne) {
  v1::Interaction i = GoodInteraction();
  for (const double ok : {0.0, 0.5, 1.0}) {
    i.set_talk_ratio(ok);
    EXPECT_THAT(CheckInteraction(i), IsOk()) << ok;
  }
  for (const double bad : {-0.01, 1.01, std::nan("")}) {
    i.set_talk_ratio(bad);
    EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.talk_ratio")) << bad;
  }
}

TEST(ValidateInteractionTest, OutcomeKnownAndRequiredForOutcomeReports) {
  v1::Interaction i = Reported(kNow, common::v1::OUTCOME_BOUNCED);
  EXPECT_THAT(CheckInteraction(i), IsOk());
  i.set_outcome(common::v1::OUTCOME_UNSPECIFIED);
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.outcome"));
  i = GoodInteraction();
  i.set_outcome(static_cast<common::v1::Outcome>(99));
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.outcome"));
}

TEST(ValidateInteractionTest, DurationBetweenZeroAnd24Hours) {
  v1::Interaction i =
      Make(v1::INTERACTION_KIND_MEETING, v1::DIRECTION_OUTBOUND, kNow);
  i.mutable_duration()->set_seconds(int64_t{24} * 3600);
  EXPECT_THAT(CheckInteraction(i), IsOk());
  i.mutable_duration()->set_seconds(int64_t{24} * 3600 + 1);
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.duration"));
  i.mutable_duration()->set_seconds(-1);
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.duration"));
  i.mutable_duration()->set_seconds(1);
  i.mutable_duration()->set_nanos(-5);  // mixed signs
  EXPECT_THAT(CheckInteraction(i), FailsOn("interaction.duration"));
}

// ── Insight ─────────────────────────────────────────────────────────────────

TEST(ValidateInsightTest, GoodInsightPasses) {
  common::v1::ContactInsight insight =
      Insight(common::v1::INSIGHT_KIND_PRIORITY, "cut ramp time");
  insight.set_source_feedback_id("fb-1");
  insight.set_author_team(common::v1::TEAM_SALES);
  EXPECT_THAT(ValidateInsight(insight, kNow), IsOk());
  insight.clear_observed_at();
  EXPECT_THAT(ValidateInsight(insight, kNow), IsOk());
}

TEST(ValidateInsightTest, RequiredFields) {
  common::v1::ContactInsight insight =
      Insight(common::v1::INSIGHT_KIND_OTHER, "note");
  insight.clear_contact_id();
  EXPECT_THAT(ValidateInsight(insight, kNow), FailsOn("insight.contact_id"));
  insight = Insight(common::v1::INSIGHT_KIND_UNSPECIFIED, "note");
  EXPECT_THAT(ValidateInsight(insight, kNow), FailsOn("insight.kind"));
  insight = Insight(static_cast<common::v1::InsightKind>(9), "note");
  EXPECT_THAT(ValidateInsight(insight, kNow), FailsOn("insight.kind"));
  insight = Insight(common::v1::INSIGHT_KIND_OTHER, "");
  EXPECT_THAT(ValidateInsight(insight, kNow), FailsOn("insight.text"));
}

TEST(ValidateInsightTest, TextLimitsDependOnKind) {
  EXPECT_THAT(ValidateInsight(Insight(common::v1::INSIGHT_KIND_OTHER,
                                      std::string(1024, 'x')),
                              kNow),
              IsOk());
  EXPECT_THAT(ValidateInsight(Insight(common::v1::INSIGHT_KIND_OTHER,
                                      std::string(1025, 'x')),
                              kNow),
              FailsOn("insight.text"));
  EXPECT_THAT(
      ValidateInsight(Insight(common::v1::INSIGHT_KIND_OTHER, "a\x02"), kNow),
      FailsOn("insight.text"));
  EXPECT_THAT(ValidateInsight(Insight(common::v1::INSIGHT_KIND_PREFERRED_NAME,
                                      std::string(257, 'n')),
                              kNow),
              FailsOn("insight.text"));
  EXPECT_THAT(ValidateInsight(Insight(common::v1::INSIGHT_KIND_INTEREST,
                                      std::string(128, 'i')),
                              kNow),
              IsOk());
  EXPECT_THAT(ValidateInsight(Insight(common::v1::INSIGHT_KIND_INTEREST,
                                      std::string(129, 'i')),
                              kNow),
              FailsOn("insight.text"));
}

TEST(ValidateInsightTest, ObservedAtAtMostADayAhead) {
  EXPECT_THAT(ValidateInsight(Insight(common::v1::INSIGHT_KIND_OTHER, "n",
                                      kNow + absl::Hours(24)),
                              kNow),
              IsOk());
  EXPECT_THAT(ValidateInsight(Insight(common::v1::INSIGHT_KIND_OTHER, "n",
                                      kNow + absl::Hours(25)),
                              kNow),
              FailsOn("insight.observed_at"));
}

TEST(ValidateInsightTest, SourceFeedbackIdAndTeam) {
  common::v1::ContactInsight insight =
      Insight(common::v1::INSIGHT_KIND_OTHER, "n");
  insight.set_source_feedback_id("fb 1");
  EXPECT_THAT(ValidateInsight(insight, kNow),
              FailsOn("insight.source_feedback_id"));
  insight.clear_source_feedback_id();
  insight.set_author_team(static_cast<common::v1::Team>(77));
  EXPECT_THAT(ValidateInsight(insight, kNow), FailsOn("insight.author_team"));
}

// ── Paging and filters ─────────────────────────────────────────────────────

TEST(ValidatePageTest, PageSizeAndToken) {
  EXPECT_THAT(ValidatePageRequest(0, ""), IsOk());
  EXPECT_THAT(ValidatePageRequest(10000, std::string(1024, 't')), IsOk());
  EXPECT_THAT(ValidatePageRequest(-1, ""), FailsOn("page_size"));
  EXPECT_THAT(ValidatePageRequest(10, std::string(1025, 't')),
              FailsOn("page_token"));
  EXPECT_EQ(EffectivePageSize(0), 50);
  EXPECT_EQ(EffectivePageSize(7), 7);
  EXPECT_EQ(EffectivePageSize(501), 500);
}

TEST(ValidatePageTest, ListProfilesFilter) {
  v1::ListProfilesRequest req;
  req.mutable_filter()->set_stage(common::v1::BUYING_STAGE_EVALUATING);
  req.mutable_filter()->set_company("Acme");
  req.mutable_filter()->set_owner_rep_id("rep-1");
  EXPECT_THAT(ValidateListProfilesRequest(req), IsOk());
  req.mutable_filter()->set_stage(static_cast<common::v1::BuyingStage>(12));
  EXPECT_THAT(ValidateListProfilesRequest(req), FailsOn("filter.stage"));
  req.mutable_filter()->clear_stage();
  req.mutable_filter()->set_industry(std::string(300, 'i'));
  EXPECT_THAT(ValidateListProfilesRequest(req), FailsOn("filter.industry"));
  req.mutable_filter()->clear_industry();
  req.mutable_filter()->set_owner_rep_id("rep 1");
  EXPECT_THAT(ValidateListProfilesRequest(req), FailsOn("filter.owner_rep_id"));
  req.mutable_filter()->clear_owner_rep_id();
  req.set_page_size(-5);
  EXPECT_THAT(ValidateListProfilesRequest(req), FailsOn("page_size"));
}

TEST(ViolationTest, OtherStatusesHaveNoField) {
  const absl::Status other = absl::NotFoundError("nope");
  EXPECT_EQ(ViolationField(other), "");
  EXPECT_EQ(ViolationReason(other), "nope");
}

}  // namespace
}  // namespace rapport::profile::model::test_util
