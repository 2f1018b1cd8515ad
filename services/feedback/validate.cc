#include "services/feedback/validate.h"

#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "services/profile/model/text.h"
#include "services/profile/model/validate.h"

namespace rapport::feedback {
namespace {

using common::v1::Team;

constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31
constexpr int32_t kNanosPerSecond = 1'000'000'000;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

std::string Path(absl::string_view base, absl::string_view field) {
  return base.empty() ? ToStr(field) : absl::StrCat(base, ".", field);
}

// A team where one is required (or optional when `required` is false).
absl::Status CheckTeam(absl::string_view field, Team team, bool required) {
  if (!common::v1::Team_IsValid(team)) {
    return Invalid(field, absl::StrCat(static_cast<int>(team),
                                       " is not a known team (TEAM_SALES, "
                                       "TEAM_MARKETING, TEAM_OPS, ...)"));
  }
  if (required && team == common::v1::TEAM_UNSPECIFIED) {
    return Invalid(field,
                   "required: the team (TEAM_SALES, TEAM_MARKETING, TEAM_OPS, "
                   "TEAM_LEGAL, TEAM_PRICING, TEAM_PRODUCT, "
                   "TEAM_CUSTOMER_SUCCESS, ...)");
  }
  return absl::OkStatus();
}

// TEXT: 1-4096 bytes of UTF-8 (`required`), newlines, carriage returns and
// tabs allowed, no other control characters.
absl::Status CheckText(absl::string_view field, absl::string_view text,
                       bool required) {
  if (text.empty()) {
    return required ? Invalid(field, "required, 1-4096 bytes of text")
                    : absl::OkStatus();
  }
  if (text.size() > kMaxTextBytes) {
    return Invalid(field,
                   absl::StrCat("is ", text.size(), " bytes long; at most ",
                                kMaxTextBytes, " bytes are allowed"));
  }
  if (!profile::model::IsValidUtf8(text)) {
    return Invalid(field, "is not valid UTF-8");
  }
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\r' && c != '\t') || u == 0x7F) {
      return Invalid(field,
                     "contains a control character (only newlines and tabs "
                     "are allowed)");
    }
  }
  if (absl::StripAsciiWhitespace(text).empty() && required) {
    return Invalid(field, "is only white space");
  }
  return absl::OkStatus();
}

absl::Status CheckSubject(const v1::FeedbackSubject& subject,
                          absl::string_view path) {
  using S = v1::FeedbackSubject;
  switch (subject.target_case()) {
    case S::kMessageId:
      return profile::model::ValidateId(Path(path, "message_id"),
                                        subject.message_id());
    case S::kTemplateId:
      return profile::model::ValidateId(Path(path, "template_id"),
                                        subject.template_id());
    case S::kCampaignId:
      return profile::model::ValidateId(Path(path, "campaign_id"),
                                        subject.campaign_id());
    case S::kContactId:
      return profile::model::ValidateId(Path(path, "contact_id"),
                                        subject.contact_id());
    case S::kTeam:
      return CheckTeam(Path(path, "team"), subject.team(), /*required=*/true);
    case S::TARGET_NOT_SET:
      break;
  }
  return Invalid(path,
                 "required: exactly one of message_id, template_id, "
                 "campaign_id, contact_id or team");
}

absl::Status CheckOutcome(const v1::Feedback& f, absl::Time now) {
  const v1::OutcomeFeedback& o = f.outcome();
  if (!common::v1::Outcome_IsValid(o.outcome()) ||
      o.outcome() == common::v1::OUTCOME_UNSPECIFIED) {
    return Invalid("feedback.outcome.outcome",
                   "required: what happened (OUTCOME_MEETING_BOOKED, "
                   "OUTCOME_POSITIVE_REPLY, OUTCOME_NO_REPLY, "
                   "OUTCOME_UNSUBSCRIBED, OUTCOME_BOUNCED, ...)");
  }
  if (!f.subject().has_message_id() && !f.subject().has_contact_id()) {
    return Invalid("feedback.subject",
                   "an outcome is about a message (message_id, the "
                   "ScoreReport.message_id) or a contact (contact_id)");
  }
  if (o.has_occurred_at()) {
    ASSIGN_OR_RETURN(
        absl::Time at,
        CheckTimestamp("feedback.outcome.occurred_at", o.occurred_at()));
    if (at > now + kMaxOutcomeSkew) {
      return Invalid("feedback.outcome.occurred_at",
                     "is more than 5 minutes in the future");
    }
    if (at < now - kMaxOutcomeAge) {
      return Invalid("feedback.outcome.occurred_at",
                     "is more than 5 years in the past");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckReview(v1::Feedback* f) {
  v1::Review* r = f->mutable_review();
  if (r->rating() < kMinRating || r->rating() > kMaxRating) {
    return Invalid("feedback.review.rating",
                   absl::StrCat(r->rating(), " is not between ", kMinRating,
                                " and ", kMaxRating));
  }
  if (!f->subject().has_message_id() && !f->subject().has_template_id() &&
      !f->subject().has_campaign_id()) {
    return Invalid("feedback.subject",
                   "a review rates a message_id, template_id or "
                   "campaign_id");
  }
  RETURN_IF_ERROR(
      CheckText("feedback.review.comment", r->comment(), /*required=*/false));
  if (r->tags_size() > kMaxTags) {
    return Invalid("feedback.review.tags",
                   absl::StrCat("has ", r->tags_size(), " tags; at most ",
                                kMaxTags, " are allowed"));
  }
  for (int i = 0; i < r->tags_size(); ++i) {
    std::string* tag = r->mutable_tags(i);
    const std::string field = absl::StrCat("feedback.review.tags[", i, "]");
    if (tag->empty() || tag->size() > kMaxTagBytes) {
      return Invalid(field, absl::StrCat("must be 1-", kMaxTagBytes,
                                         " bytes, is ", tag->size()));
    }
    if (!profile::model::IsValidUtf8(*tag)) {
      return Invalid(field, "is not valid UTF-8");
    }
    for (const char c : *tag) {
      const auto u = static_cast<unsigned char>(c);
      if (absl::ascii_isspace(u) || u < 0x20 || u == 0x7F) {
        return Invalid(field,
                       "must not contain white space or control characters "
                       "(use \"too-long\", not \"too long\")");
      }
    }
    absl::AsciiStrToLower(tag);
  }
  return absl::OkStatus();
}

absl::Status CheckInsight(v1::Feedback* f, absl::Time now) {
  common::v1::ContactInsight* insight = f->mutable_insight();
  // Output-only in a Feedback: set by the forwarder.
  insight->clear_source_feedback_id();
  insight->clear_author_team();
  const v1::FeedbackSubject& subject = f->subject();
  if (subject.has_contact_id()) {
    if (insight->contact_id().empty()) {
      insight->set_contact_id(subject.contact_id());
    } else if (insight->contact_id() != subject.contact_id()) {
      return Invalid("feedback.insight.contact_id",
                     absl::StrCat("\"", absl::CEscape(insight->contact_id()),
                                  "\" differs from feedback.subject."
                                  "contact_id \"",
                                  absl::CEscape(subject.contact_id()),
                                  "\"; leave it empty or make them equal"));
    }
  } else if (insight->contact_id().empty()) {
    return Invalid("feedback.subject",
                   "an insight is about a contact: set subject.contact_id "
                   "(or insight.contact_id)");
  }
  return profile::model::ValidateInsight(*insight, now, "feedback.insight");
}

absl::Status CheckNote(const v1::Feedback& f) {
  RETURN_IF_ERROR(CheckTeam("feedback.note.to_team", f.note().to_team(),
                            /*required=*/true));
  return CheckText("feedback.note.text", f.note().text(), /*required=*/true);
}

bool SameTarget(const v1::FeedbackSubject& a, const v1::FeedbackSubject& b) {
  using S = v1::FeedbackSubject;
  if (a.target_case() != b.target_case()) return false;
  switch (a.target_case()) {
    case S::kMessageId:
      return a.message_id() == b.message_id();
    case S::kTemplateId:
      return a.template_id() == b.template_id();
    case S::kCampaignId:
      return a.campaign_id() == b.campaign_id();
    case S::kContactId:
      return a.contact_id() == b.contact_id();
    case S::kTeam:
      return a.team() == b.team();
    case S::TARGET_NOT_SET:
      return true;
  }
  return false;
}

}  // namespace

v1::FeedbackKind KindOf(const v1::Feedback& feedback) {
  switch (feedback.kind_case()) {
    case v1::Feedback::kOutcome:
      return v1::FEEDBACK_KIND_OUTCOME;
    case v1::Feedback::kReview:
      return v1::FEEDBACK_KIND_REVIEW;
    case v1::Feedback::kInsight:
      return v1::FEEDBACK_KIND_INSIGHT;
    case v1::Feedback::kNote:
      return v1::FEEDBACK_KIND_NOTE;
    case v1::Feedback::KIND_NOT_SET:
      break;
  }
  return v1::FEEDBACK_KIND_UNSPECIFIED;
}

std::string TeamKeyName(common::v1::Team team) {
  if (team == common::v1::TEAM_UNSPECIFIED || !common::v1::Team_IsValid(team)) {
    return "";
  }
  const std::string& name = common::v1::Team_Name(team);
  constexpr absl::string_view kPrefix = "TEAM_";
  return name.substr(kPrefix.size());
}

std::string TeamLabel(common::v1::Team team) {
  std::string name = TeamKeyName(team);
  if (name.empty()) return "none";
  absl::AsciiStrToLower(&name);
  return name;
}

std::string KindLabel(v1::FeedbackKind kind) {
  switch (kind) {
    case v1::FEEDBACK_KIND_OUTCOME:
      return "outcome";
    case v1::FEEDBACK_KIND_REVIEW:
      return "review";
    case v1::FEEDBACK_KIND_INSIGHT:
      return "insight";
    case v1::FEEDBACK_KIND_NOTE:
      return "note";
    default:
      return "none";
  }
}

absl::StatusOr<v1::Feedback> NormalizeSubmission(const v1::Feedback& feedback,
                                                 absl::Time now) {
  v1::Feedback f = feedback;
  f.clear_id();
  f.clear_created_at();
  f.clear_flagged();
  f.clear_warnings();

  if (!f.has_author()) {
    return Invalid("feedback.author",
                   "required: the author's team and id (author.team, "
                   "author.id)");
  }
  RETURN_IF_ERROR(
      CheckTeam("feedback.author.team", f.author().team(), /*required=*/true));
  RETURN_IF_ERROR(
      profile::model::ValidateId("feedback.author.id", f.author().id()));
  RETURN_IF_ERROR(CheckSubject(f.subject(), "feedback.subject"));
  switch (f.kind_case()) {
    case v1::Feedback::kOutcome:
      RETURN_IF_ERROR(CheckOutcome(f, now));
      break;
    case v1::Feedback::kReview:
      RETURN_IF_ERROR(CheckReview(&f));
      break;
    case v1::Feedback::kInsight:
      RETURN_IF_ERROR(CheckInsight(&f, now));
      break;
    case v1::Feedback::kNote:
      RETURN_IF_ERROR(CheckNote(f));
      break;
    case v1::Feedback::KIND_NOT_SET:
      return Invalid("feedback",
                     "required: exactly one of outcome, review, insight or "
                     "note");
  }
  RETURN_IF_ERROR(profile::model::ValidateOptionalId("feedback.idempotency_key",
                                                     f.idempotency_key()));
  return f;
}

absl::Status ValidateFilter(const v1::FeedbackFilter& filter,
                            absl::string_view path, bool allow_time_range) {
  RETURN_IF_ERROR(CheckTeam(Path(path, "author_team"), filter.author_team(),
                            /*required=*/false));
  RETURN_IF_ERROR(profile::model::ValidateOptionalId(Path(path, "author_id"),
                                                     filter.author_id()));
  if (!v1::FeedbackKind_IsValid(filter.kind())) {
    return Invalid(Path(path, "kind"),
                   absl::StrCat(static_cast<int>(filter.kind()),
                                " is not a FeedbackKind"));
  }
  if (filter.has_subject() &&
      filter.subject().target_case() != v1::FeedbackSubject::TARGET_NOT_SET) {
    RETURN_IF_ERROR(CheckSubject(filter.subject(), Path(path, "subject")));
  }
  RETURN_IF_ERROR(CheckTeam(Path(path, "to_team"), filter.to_team(),
                            /*required=*/false));
  if (!allow_time_range) {
    if (filter.has_start_time() || filter.has_end_time()) {
      return Invalid(
          Path(path, filter.has_start_time() ? "start_time" : "end_time"),
          "must be unset in WatchFeedback; resume with start_after_id");
    }
    return absl::OkStatus();
  }
  std::optional<absl::Time> start;
  if (filter.has_start_time()) {
    ASSIGN_OR_RETURN(
        start, CheckTimestamp(Path(path, "start_time"), filter.start_time()));
  }
  if (filter.has_end_time()) {
    ASSIGN_OR_RETURN(absl::Time end,
                     CheckTimestamp(Path(path, "end_time"), filter.end_time()));
    if (start.has_value() && end <= *start) {
      return Invalid(Path(path, "end_time"), "must be after start_time");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePaging(int32_t page_size, absl::string_view page_token) {
  if (page_size < 0) {
    return Invalid(
        "page_size",
        absl::StrCat(page_size, " is negative; use 0 for the default of ",
                     kDefaultPageSize));
  }
  if (page_token.size() > kMaxPageTokenBytes) {
    return Invalid("page_token",
                   absl::StrCat("is ", page_token.size(),
                                " bytes long; a page token is at most ",
                                kMaxPageTokenBytes,
                                " bytes (pass next_page_token unchanged)"));
  }
  return absl::OkStatus();
}

int32_t EffectivePageSize(int32_t page_size) {
  if (page_size <= 0) return kDefaultPageSize;
  return std::min(page_size, kMaxPageSize);
}

bool Matches(const v1::Feedback& f, const v1::FeedbackFilter& filter) {
  if (filter.author_team() != common::v1::TEAM_UNSPECIFIED &&
      f.author().team() != filter.author_team()) {
    return false;
  }
  if (!filter.author_id().empty() && f.author().id() != filter.author_id()) {
    return false;
  }
  if (filter.kind() != v1::FEEDBACK_KIND_UNSPECIFIED &&
      KindOf(f) != filter.kind()) {
    return false;
  }
  if (filter.has_subject() &&
      filter.subject().target_case() != v1::FeedbackSubject::TARGET_NOT_SET &&
      !SameTarget(f.subject(), filter.subject())) {
    return false;
  }
  if (filter.to_team() != common::v1::TEAM_UNSPECIFIED &&
      (!f.has_note() || f.note().to_team() != filter.to_team())) {
    return false;
  }
  if (filter.has_flagged() && f.flagged() != filter.flagged()) return false;
  if (filter.has_start_time() &&
      FromProto(f.created_at()) < FromProto(filter.start_time())) {
    return false;
  }
  if (filter.has_end_time() &&
      FromProto(f.created_at()) >= FromProto(filter.end_time())) {
    return false;
  }
  return true;
}

std::string StreamId::ToString() const { return absl::StrCat(ms, "-", seq); }

std::optional<StreamId> ParseStreamId(absl::string_view text) {
  const size_t dash = text.find('-');
  if (dash == absl::string_view::npos || dash == 0 || dash + 1 == text.size()) {
    return std::nullopt;
  }
  const absl::string_view ms = text.substr(0, dash);
  const absl::string_view seq = text.substr(dash + 1);
  auto digits = [](absl::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return absl::ascii_isdigit(c); });
  };
  StreamId id;
  if (!digits(ms) || !digits(seq) || !absl::SimpleAtoi(ms, &id.ms) ||
      !absl::SimpleAtoi(seq, &id.seq)) {
    return std::nullopt;
  }
  return id;
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::StatusOr<absl::Time> CheckTimestamp(
    absl::string_view field, const google::protobuf::Timestamp& ts) {
  if (ts.seconds() < kMinTimestampSeconds ||
      ts.seconds() > kMaxTimestampSeconds || ts.nanos() < 0 ||
      ts.nanos() >= kNanosPerSecond) {
    return Invalid(field,
                   "is not a valid timestamp (years 0001-9999, nanos "
                   "0-999999999)");
  }
  return FromProto(ts);
}

}  // namespace rapport::feedback
