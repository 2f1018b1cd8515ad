#pragma once

// Input validation and small pure helpers of feedback-service: exactly the
// limits documented in rapport/feedback/v1/feedback.proto and
// rapport/common/v1/common.proto.
//
// Every failure is absl::InvalidArgumentError("<field path>: <what is
// wrong>"), the path written as a client would write it
// ("feedback.review.rating: 9 is not between 1 and 5"). Free text is never
// echoed (it may hold personal data and messages may be logged); IDs are,
// C-escaped.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/feedback/v1/feedback.pb.h"

namespace rapport::feedback {

// Limits (feedback.proto, common.proto).
inline constexpr size_t kMaxTextBytes = 4096;  // TEXT
inline constexpr int kMaxTags = 16;
inline constexpr size_t kMaxTagBytes = 64;
inline constexpr int32_t kMinRating = 1;
inline constexpr int32_t kMaxRating = 5;
inline constexpr size_t kMaxPageTokenBytes = 1024;
inline constexpr int32_t kDefaultPageSize = 50;
inline constexpr int32_t kMaxPageSize = 500;
// OutcomeFeedback.occurred_at: at most 5 minutes ahead (clock skew). It is
// also refused when more than 5 years old: profile-service refuses such
// interactions, so the item could only end in the dead-letter stream.
inline constexpr absl::Duration kMaxOutcomeSkew = absl::Minutes(5);
inline constexpr absl::Duration kMaxOutcomeAge = absl::Hours(24 * 1826);
// GetDigest: default and longest period.
inline constexpr absl::Duration kDefaultDigestPeriod = absl::Hours(24 * 7);
inline constexpr absl::Duration kMaxDigestPeriod = absl::Hours(24 * 92);

// An owned copy of `s` (Debian's absl::string_view is not std::string_view
// and converts to std::string only explicitly).
inline std::string ToStr(absl::string_view s) { return {s.data(), s.size()}; }

// The kind of an item, as the FeedbackKind enum (UNSPECIFIED when unset).
v1::FeedbackKind KindOf(const v1::Feedback& feedback);

// Bounded metric label values: "sales", "customer_success", ...; "none" for
// TEAM_UNSPECIFIED and unknown numbers. Kinds: "outcome", "review",
// "insight", "note", "none".
std::string TeamLabel(common::v1::Team team);
std::string KindLabel(v1::FeedbackKind kind);
// "SALES": the team as spelled in API-key files (auth::Principal::team).
std::string TeamKeyName(common::v1::Team team);

// Validates a SubmitFeedbackRequest.feedback and returns the item to store:
// output-only fields cleared (id, created_at, flagged, warnings,
// insight.source_feedback_id, insight.author_team), tags lower-cased (ASCII),
// insight.contact_id copied from subject.contact_id when empty.
absl::StatusOr<v1::Feedback> NormalizeSubmission(const v1::Feedback& feedback,
                                                 absl::Time now);

// FeedbackFilter checks: enums known, ids valid, end after start. With
// `allow_time_range` false (WatchFeedback), start_time and end_time must be
// unset.
absl::Status ValidateFilter(const v1::FeedbackFilter& filter,
                            absl::string_view path, bool allow_time_range);

// page_size not negative, page_token at most 1024 bytes.
absl::Status ValidatePaging(int32_t page_size, absl::string_view page_token);
// 0 -> 50, above 500 -> 500.
int32_t EffectivePageSize(int32_t page_size);

// Whether an item (with created_at filled) passes every set condition of
// the filter, time range included.
bool Matches(const v1::Feedback& feedback, const v1::FeedbackFilter& filter);

// Feedback ids are Redis stream entry ids, "<unix ms>-<sequence>": the
// entry id is the item's id and its millisecond the acceptance time.
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  std::string ToString() const;
  absl::Time time() const {
    return absl::FromUnixMillis(static_cast<int64_t>(ms));
  }
  bool operator==(const StreamId&) const = default;
  auto operator<=>(const StreamId&) const = default;
};
// nullopt unless `text` is "<digits>-<digits>" within uint64.
std::optional<StreamId> ParseStreamId(absl::string_view text);

absl::Time FromProto(const google::protobuf::Timestamp& ts);
// A valid google.protobuf.Timestamp (years 0001-9999, nanos in range)?
absl::StatusOr<absl::Time> CheckTimestamp(
    absl::string_view field, const google::protobuf::Timestamp& ts);

}  // namespace rapport::feedback
