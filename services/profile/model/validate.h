#pragma once

// Input validation for profile-service: exactly the limits documented in
// rapport/common/v1/common.proto (ID, NAME, SHORT_TEXT, URL, EMAIL, ...) and
// rapport/profile/v1/profile.proto.
//
// Every failure is absl::InvalidArgumentError("<field path>: <what is
// wrong>"), with the path written as a client would write it
// ("contact.priorities[3]", "contact.external_ids[\"salesforce\"]",
// "interaction.occurred_at"). The first violation found is reported, fields
// in proto field-number order. Values are not echoed except IDs (up to 128
// bytes), map keys, time zones and locales, C-escaped: names, emails and free
// text may be personal data and the message may be logged or shown.
//
// The status also carries the path alone as a payload, so ImportContacts can
// fill RejectedContact.field / .reason without parsing the message:
// ViolationField(status), ViolationReason(status).
//
// `path` arguments name the message being validated ("contact",
// "recipient"); an empty path gives paths relative to it ("email",
// "priorities[3]"), as RejectedContact.field wants.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/profile/v1/profile.pb.h"

namespace rapport::profile::model {

// The limits, in bytes unless named otherwise (common.proto).
inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxShortTextBytes = 512;
inline constexpr size_t kMaxUrlBytes = 2048;
inline constexpr size_t kMinEmailBytes = 3;
inline constexpr size_t kMaxEmailBytes = 254;
inline constexpr size_t kMaxDescriptionBytes = 1024;  // trigger events
inline constexpr size_t kMaxInsightTextBytes = 1024;
inline constexpr size_t kMaxInsightInterestBytes = 128;
inline constexpr int kMaxListItems = 32;  // priorities, challenges, events
inline constexpr int kMaxExternalIds = 16;
inline constexpr size_t kMaxExternalIdKeyBytes = 32;
inline constexpr int kMaxCustomFields = 64;
inline constexpr size_t kMaxCustomFieldKeyBytes = 64;
inline constexpr size_t kMaxCustomFieldValueBytes = 1024;
inline constexpr size_t kMaxTimeZoneBytes = 64;
inline constexpr size_t kMaxLocaleBytes = 35;
inline constexpr int kMaxTopics = 32;  // per interaction
inline constexpr size_t kMaxPageTokenBytes = 1024;
inline constexpr int32_t kDefaultPageSize = 50;
inline constexpr int32_t kMaxPageSize = 500;
// How far ahead of the server's clock a time may be: interactions 5 minutes
// (clock skew of the caller), trigger events and insights 24 hours (a date
// typed in another time zone).
inline constexpr absl::Duration kMaxInteractionSkew = absl::Minutes(5);
inline constexpr absl::Duration kMaxFutureEventTime = absl::Hours(24);
// Interactions older than this are refused (profile.proto).
inline constexpr absl::Duration kMaxInteractionAge = absl::Hours(24 * 1826);
inline constexpr absl::Duration kMaxCallDuration = absl::Hours(24);

// ID: required, 1-128 bytes of [A-Za-z0-9._:@+-], starting with a letter or
// digit. `field` is the full path used in the message.
absl::Status ValidateId(absl::string_view field, absl::string_view value);
// The same, but empty is allowed ("optional ID").
absl::Status ValidateOptionalId(absl::string_view field,
                                absl::string_view value);

// Contact as sent to UpsertContact / ImportContacts (output-only fields
// created_at and updated_at are ignored). NAME fields are checked as if
// trimmed; NormalizeContact() trims them for storage.
absl::Status ValidateContact(const common::v1::Contact& contact, absl::Time now,
                             absl::string_view path = "contact");

// What the store should keep of a valid contact: NAME fields (full_name,
// preferred_name, title, company, industry) trimmed of ASCII white space,
// exact duplicate priorities and challenges removed (first kept).
void NormalizeContact(common::v1::Contact* contact);

// Interaction as sent to RecordInteraction (recorded_at is ignored). Beyond
// the field limits: EMAIL_SENT must be OUTBOUND and EMAIL_REPLIED INBOUND, as
// the InteractionKind comments define them.
absl::Status ValidateInteraction(const v1::Interaction& interaction,
                                 absl::Time now,
                                 absl::string_view path = "interaction");

// Insight as sent to RecordInsight: contact_id required, kind known, text
// 1-1024 bytes without control characters (a NAME for PREFERRED_NAME, at most
// 128 bytes for INTEREST), observed_at valid and at most 24 hours ahead.
absl::Status ValidateInsight(const common::v1::ContactInsight& insight,
                             absl::Time now,
                             absl::string_view path = "insight");

// Paging: page_size not negative, page_token at most 1024 bytes. Fields are
// named without a prefix ("page_size"), as they sit in the request.
absl::Status ValidatePageRequest(int32_t page_size,
                                 absl::string_view page_token);
// 0 -> 50, above 500 -> 500 (ListProfilesRequest.page_size).
int32_t EffectivePageSize(int32_t page_size);

// ProfileFilter: stage a known value, company / industry optional NAMEs,
// owner_rep_id an optional ID.
absl::Status ValidateProfileFilter(const v1::ProfileFilter& filter,
                                   absl::string_view path = "filter");

// The whole ListProfilesRequest: paging and filter.
absl::Status ValidateListProfilesRequest(const v1::ListProfilesRequest& req);

// The offending field path of a status returned above ("contact.email"), or
// empty for any other status.
std::string ViolationField(const absl::Status& status);
// The message without the "<field>: " prefix ("is not an email address: ..."),
// or the whole message for any other status.
std::string ViolationReason(const absl::Status& status);

}  // namespace rapport::profile::model
