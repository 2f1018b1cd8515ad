// Validation of submitted feedback and filters: exactly the limits of
// feedback.proto and common.proto, errors naming the field.
#include "services/feedback/validate.h"

#include <string>

#include "common/util/util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::feedback {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'750'000'000);

v1::Feedback Base() {
  v1::Feedback f;
  f.mutable_author()->set_team(common::v1::TEAM_SALES);
  f.mutable_author()->set_id("rep-7");
  return f;
}

v1::Feedback Outcome(common::v1::Outcome o = common::v1::OUTCOME_REPLIED) {
  v1::Feedback f = Base();
  f.mutable_subject()->set_message_id("msg-1");
  f.mutable_outcome()->set_outcome(o);
  return f;
}

v1::Feedback Review(int rating) {
  v1::Feedback f = Base();
  f.mutable_subject()->set_template_id("tpl-1");
  f.mutable_review()->set_rating(rating);
  return f;
}

v1::Feedback Note(const std::string& text) {
  v1::Feedback f = Base();
  f.mutable_subject()->set_team(common::v1::TEAM_MARKETING);
  f.mutable_note()->set_to_team(common::v1::TEAM_MARKETING);
  f.mutable_note()->set_text(text);
  return f;
}

void ExpectInvalid(const v1::Feedback& f, const std::string& field,
                   const std::string& what = "") {
  absl::StatusOr<v1::Feedback> r = NormalizeSubmission(f, kNow);
  ASSERT_FALSE(r.ok()) << "accepted: " << f.ShortDebugString();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(field + ": "));
  if (!what.empty()) {
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(what));
  }
}

TEST(ValidateFeedbackTest, AcceptsEachKindAndClearsOutputOnlyFields) {
  v1::Feedback f = Outcome();
  f.set_id("client-made-up");
  f.set_flagged(true);
  f.add_warnings()->set_term("x");
  *f.mutable_created_at() = util::ToTimestamp(kNow);
  absl::StatusOr<v1::Feedback> r = NormalizeSubmission(f, kNow);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->id().empty());
  EXPECT_FALSE(r->flagged());
  EXPECT_EQ(r->warnings_size(), 0);
  EXPECT_FALSE(r->has_created_at());

  EXPECT_TRUE(NormalizeSubmission(Review(1), kNow).ok());
  EXPECT_TRUE(NormalizeSubmission(Review(5), kNow).ok());
  EXPECT_TRUE(
      NormalizeSubmission(Note("Thanks for the fast turnaround"), kNow).ok());
}

TEST(ValidateFeedbackTest, RatingOutsideOneToFiveNamesTheField) {
  ExpectInvalid(Review(9), "feedback.review.rating",
                "9 is not between 1 and 5");
  ExpectInvalid(Review(6), "feedback.review.rating",
                "6 is not between 1 and 5");
  ExpectInvalid(Review(0), "feedback.review.rating",
                "0 is not between 1 and 5");
  ExpectInvalid(Review(-1), "feedback.review.rating");
}

// Issue 5: an unknown team is INVALID_ARGUMENT naming the field, wherever
// a team appears (values from a newer client, or garbage).
TEST(ValidateFeedbackTest, UnknownTeamsNameTheField) {
  const auto unknown = static_cast<common::v1::Team>(42);
  v1::Feedback f = Review(3);
  f.mutable_author()->set_team(unknown);
  ExpectInvalid(f, "feedback.author.team", "42 is not a known team");

  f = Note("hello");
  f.mutable_subject()->set_team(unknown);
  ExpectInvalid(f, "feedback.subject.team", "42 is not a known team");

  f = Note("hello");
  f.mutable_note()->set_to_team(unknown);
  ExpectInvalid(f, "feedback.note.to_team", "42 is not a known team");

  for (void (v1::FeedbackFilter::*set)(common::v1::Team) :
       {&v1::FeedbackFilter::set_author_team,
        &v1::FeedbackFilter::set_to_team}) {
    v1::FeedbackFilter filter;
    (filter.*set)(unknown);
    const absl::Status st = ValidateFilter(filter, "filter", true);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(st.message()),
                HasSubstr("_team: 42 is not a known team"));
  }
}

// Issue 5: every kind needs a subject, and says which ones it takes.
TEST(ValidateFeedbackTest, EmptySubjectNamesTheFieldForEveryKind) {
  v1::Feedback outcome = Outcome();
  v1::Feedback review = Review(4);
  v1::Feedback note = Note("Thanks for the quick legal review");
  v1::Feedback insight = Base();
  insight.mutable_insight()->set_kind(common::v1::INSIGHT_KIND_PRIORITY);
  insight.mutable_insight()->set_text("hiring 40 reps in Q3");
  for (v1::Feedback* f : {&outcome, &review, &note, &insight}) {
    f->clear_subject();
    ExpectInvalid(*f, "feedback.subject",
                  "required: exactly one of message_id, template_id, "
                  "campaign_id, contact_id or team");
  }
  v1::Feedback empty_id = Review(4);
  empty_id.mutable_subject()->set_template_id("");
  ExpectInvalid(empty_id, "feedback.subject.template_id");
}

// Issue 5: text past 4096 bytes, in any text field, names the field and
// both sizes.
TEST(ValidateFeedbackTest, OversizedTextNamesTheFieldAndTheLimit) {
  v1::Feedback review = Review(2);
  review.mutable_review()->set_comment(std::string(4097, 'a'));
  ExpectInvalid(review, "feedback.review.comment",
                "is 4097 bytes long; at most 4096 bytes are allowed");

  v1::Feedback note = Note(std::string(10'000, 'n'));
  ExpectInvalid(note, "feedback.note.text",
                "is 10000 bytes long; at most 4096 bytes are allowed");

  v1::Feedback insight = Base();
  insight.mutable_subject()->set_contact_id("c-1");
  insight.mutable_insight()->set_kind(common::v1::INSIGHT_KIND_PRIORITY);
  insight.mutable_insight()->set_text(std::string(4097, 'i'));
  ExpectInvalid(insight, "feedback.insight.text", "4097 bytes");
}

TEST(ValidateFeedbackTest, AuthorTeamAndIdAreRequired) {
  v1::Feedback f = Outcome();
  f.mutable_author()->set_team(common::v1::TEAM_UNSPECIFIED);
  ExpectInvalid(f, "feedback.author.team", "required");
  f.mutable_author()->set_team(static_cast<common::v1::Team>(99));
  ExpectInvalid(f, "feedback.author.team", "not a known team");
  f = Outcome();
  f.mutable_author()->set_id("");
  ExpectInvalid(f, "feedback.author.id");
  f.mutable_author()->set_id("bad id with spaces");
  ExpectInvalid(f, "feedback.author.id");
  f.clear_author();
  ExpectInvalid(f, "feedback.author");
}

TEST(ValidateFeedbackTest, SubjectAndKindAreRequired) {
  v1::Feedback f = Outcome();
  f.clear_subject();
  ExpectInvalid(f, "feedback.subject", "exactly one of");
  f = Outcome();
  f.mutable_subject()->set_message_id("");
  ExpectInvalid(f, "feedback.subject.message_id");
  f = Base();
  f.mutable_subject()->set_message_id("m");
  ExpectInvalid(f, "feedback", "exactly one of outcome, review, insight");
  f = Note("x");
  f.mutable_subject()->set_team(common::v1::TEAM_UNSPECIFIED);
  ExpectInvalid(f, "feedback.subject.team");
}

TEST(ValidateFeedbackTest, OutcomeRules) {
  ExpectInvalid(Outcome(common::v1::OUTCOME_UNSPECIFIED),
                "feedback.outcome.outcome", "required");
  v1::Feedback f = Outcome();
  f.mutable_subject()->set_template_id("tpl");
  ExpectInvalid(f, "feedback.subject", "message");
  f = Outcome();
  f.mutable_subject()->set_contact_id("c-1");
  EXPECT_TRUE(NormalizeSubmission(f, kNow).ok());
  *f.mutable_outcome()->mutable_occurred_at() =
      util::ToTimestamp(kNow + absl::Hours(1));
  ExpectInvalid(f, "feedback.outcome.occurred_at", "future");
  *f.mutable_outcome()->mutable_occurred_at() =
      util::ToTimestamp(kNow - absl::Hours(24 * 365 * 6));
  ExpectInvalid(f, "feedback.outcome.occurred_at", "past");
  f.mutable_outcome()->mutable_occurred_at()->set_nanos(-1);
  ExpectInvalid(f, "feedback.outcome.occurred_at", "not a valid timestamp");
}

TEST(ValidateFeedbackTest, ReviewTextAndTags) {
  v1::Feedback f = Review(3);
  f.mutable_subject()->set_contact_id("c-1");
  ExpectInvalid(f, "feedback.subject", "review rates");

  f = Review(3);
  f.mutable_review()->set_comment(std::string(4096, 'a'));
  EXPECT_TRUE(NormalizeSubmission(f, kNow).ok());
  f.mutable_review()->set_comment(std::string(4097, 'a'));
  ExpectInvalid(f, "feedback.review.comment", "4097 bytes");
  f.mutable_review()->set_comment("line one\nline two\ttab");
  EXPECT_TRUE(NormalizeSubmission(f, kNow).ok());
  f.mutable_review()->set_comment(std::string("bell\x07", 5));
  ExpectInvalid(f, "feedback.review.comment", "control character");
  f.mutable_review()->set_comment("\xC3\x28");
  ExpectInvalid(f, "feedback.review.comment", "UTF-8");

  f = Review(4);
  f.mutable_review()->add_tags("Too-Long");
  f.mutable_review()->add_tags("GREAT-opener");
  absl::StatusOr<v1::Feedback> r = NormalizeSubmission(f, kNow);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->review().tags(0), "too-long");
  EXPECT_EQ(r->review().tags(1), "great-opener");

  f.mutable_review()->add_tags("has space");
  ExpectInvalid(f, "feedback.review.tags[2]", "white space");
  f.mutable_review()->set_tags(2, "");
  ExpectInvalid(f, "feedback.review.tags[2]", "1-64 bytes");
  f.mutable_review()->set_tags(2, std::string(65, 't'));
  ExpectInvalid(f, "feedback.review.tags[2]");
  f.mutable_review()->set_tags(2, std::string(64, 't'));
  EXPECT_TRUE(NormalizeSubmission(f, kNow).ok());
  f = Review(4);
  for (int i = 0; i < 17; ++i) f.mutable_review()->add_tags("t");
  ExpectInvalid(f, "feedback.review.tags", "17 tags");
}

TEST(ValidateFeedbackTest, InsightTakesTheSubjectContact) {
  v1::Feedback f = Base();
  f.mutable_subject()->set_contact_id("c-9");
  common::v1::ContactInsight* in = f.mutable_insight();
  in->set_kind(common::v1::INSIGHT_KIND_PRIORITY);
  in->set_text("cut ramp time before the Q3 hiring wave");
  in->set_source_feedback_id("forged");
  in->set_author_team(common::v1::TEAM_LEGAL);
  absl::StatusOr<v1::Feedback> r = NormalizeSubmission(f, kNow);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->insight().contact_id(), "c-9");
  EXPECT_TRUE(r->insight().source_feedback_id().empty());
  EXPECT_EQ(r->insight().author_team(), common::v1::TEAM_UNSPECIFIED);

  f.mutable_insight()->set_contact_id("other");
  ExpectInvalid(f, "feedback.insight.contact_id", "differs");

  f.mutable_subject()->set_message_id("m-1");
  f.mutable_insight()->set_contact_id("");
  ExpectInvalid(f, "feedback.subject", "insight is about a contact");
  f.mutable_insight()->set_contact_id("c-9");
  EXPECT_TRUE(NormalizeSubmission(f, kNow).ok());

  f.mutable_insight()->set_kind(common::v1::INSIGHT_KIND_UNSPECIFIED);
  ExpectInvalid(f, "feedback.insight.kind");
  f.mutable_insight()->set_kind(common::v1::INSIGHT_KIND_PRIORITY);
  f.mutable_insight()->set_text("");
  ExpectInvalid(f, "feedback.insight.text");
}

TEST(ValidateFeedbackTest, NoteNeedsRecipientTeamAndText) {
  v1::Feedback f = Note("");
  ExpectInvalid(f, "feedback.note.text", "required");
  f = Note("   \n ");
  ExpectInvalid(f, "feedback.note.text", "white space");
  f = Note("hello");
  f.mutable_note()->set_to_team(common::v1::TEAM_UNSPECIFIED);
  ExpectInvalid(f, "feedback.note.to_team", "required");
}

TEST(ValidateFeedbackTest, IdempotencyKeyIsAnOptionalId) {
  v1::Feedback f = Outcome();
  f.set_idempotency_key(std::string(128, 'k'));
  EXPECT_TRUE(NormalizeSubmission(f, kNow).ok());
  f.set_idempotency_key(std::string(129, 'k'));
  ExpectInvalid(f, "feedback.idempotency_key");
  f.set_idempotency_key("has space");
  ExpectInvalid(f, "feedback.idempotency_key");
}

TEST(ValidateFilterTest, WatchRefusesTimeRanges) {
  v1::FeedbackFilter filter;
  *filter.mutable_start_time() = util::ToTimestamp(kNow);
  EXPECT_TRUE(ValidateFilter(filter, "filter", true).ok());
  const absl::Status st = ValidateFilter(filter, "filter", false);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("filter.start_time"));
  *filter.mutable_end_time() = util::ToTimestamp(kNow - absl::Seconds(1));
  EXPECT_THAT(std::string(ValidateFilter(filter, "filter", true).message()),
              HasSubstr("filter.end_time: must be after start_time"));
  v1::FeedbackFilter bad_kind;
  bad_kind.set_kind(static_cast<v1::FeedbackKind>(42));
  EXPECT_FALSE(ValidateFilter(bad_kind, "filter", true).ok());
}

TEST(MatchesTest, EveryConditionMustHold) {
  v1::Feedback f = Note("hi");
  f.set_id("100-0");
  *f.mutable_created_at() = util::ToTimestamp(absl::FromUnixMillis(100));
  v1::FeedbackFilter filter;
  EXPECT_TRUE(Matches(f, filter));
  filter.set_author_team(common::v1::TEAM_SALES);
  filter.set_kind(v1::FEEDBACK_KIND_NOTE);
  filter.set_to_team(common::v1::TEAM_MARKETING);
  filter.mutable_subject()->set_team(common::v1::TEAM_MARKETING);
  filter.set_flagged(false);
  EXPECT_TRUE(Matches(f, filter));
  filter.set_flagged(true);
  EXPECT_FALSE(Matches(f, filter));
  filter.clear_flagged();
  filter.mutable_subject()->set_message_id("m");
  EXPECT_FALSE(Matches(f, filter));
  filter.clear_subject();
  filter.set_to_team(common::v1::TEAM_OPS);
  EXPECT_FALSE(Matches(f, filter));
  filter.clear_to_team();
  *filter.mutable_start_time() = util::ToTimestamp(absl::FromUnixMillis(100));
  *filter.mutable_end_time() = util::ToTimestamp(absl::FromUnixMillis(101));
  EXPECT_TRUE(Matches(f, filter));
  *filter.mutable_end_time() = util::ToTimestamp(absl::FromUnixMillis(100));
  EXPECT_FALSE(Matches(f, filter));  // end is exclusive
}

TEST(StreamIdTest, ParsesOnlyStreamIds) {
  EXPECT_EQ(ParseStreamId("1700000000000-3"), (StreamId{1700000000000ULL, 3}));
  EXPECT_FALSE(ParseStreamId("1700000000000").has_value());
  EXPECT_FALSE(ParseStreamId("-1").has_value());
  EXPECT_FALSE(ParseStreamId("1-").has_value());
  EXPECT_FALSE(ParseStreamId("1-2-3").has_value());
  EXPECT_FALSE(ParseStreamId("+1-2").has_value());
  EXPECT_FALSE(ParseStreamId("99999999999999999999-0").has_value());
  EXPECT_LT((StreamId{5, 9}), (StreamId{6, 0}));
  EXPECT_EQ((StreamId{12, 4}).ToString(), "12-4");
}

TEST(LabelsTest, TeamsAndKindsAreClosedSets) {
  EXPECT_EQ(TeamLabel(common::v1::TEAM_CUSTOMER_SUCCESS), "customer_success");
  EXPECT_EQ(TeamLabel(common::v1::TEAM_UNSPECIFIED), "none");
  EXPECT_EQ(TeamLabel(static_cast<common::v1::Team>(77)), "none");
  EXPECT_EQ(TeamKeyName(common::v1::TEAM_SALES), "SALES");
  EXPECT_EQ(KindLabel(v1::FEEDBACK_KIND_INSIGHT), "insight");
  EXPECT_EQ(KindLabel(static_cast<v1::FeedbackKind>(9)), "none");
}

}  // namespace
}  // namespace rapport::feedback
