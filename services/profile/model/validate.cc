#include "services/profile/model/validate.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/status/macros.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/profile/model/text.h"

namespace rapport::profile::model {
namespace {

using common::v1::Contact;
using common::v1::ContactInsight;

constexpr absl::string_view kFieldPayloadUrl =
    "type.rapport.dev/rapport.profile.model.FieldPath";

// google.protobuf.Timestamp's documented range: 0001-01-01 to 9999-12-31.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
constexpr int64_t kMaxDurationSeconds = 315576000000;
constexpr int32_t kNanosPerSecond = 1000000000;

std::string Path(absl::string_view path, absl::string_view field) {
  if (path.empty()) return ToString(field);
  return absl::StrCat(path, ".", field);
}

std::string Indexed(absl::string_view field, int index) {
  return absl::StrCat(field, "[", index, "]");
}

std::string Keyed(absl::string_view field, absl::string_view key) {
  return absl::StrCat(field, "[\"", absl::CHexEscape(key), "\"]");
}

absl::Status Violation(absl::string_view field, absl::string_view reason) {
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat(field, ": ", reason));
  status.SetPayload(kFieldPayloadUrl, absl::Cord(field));
  return status;
}

// Echo of a short value in messages: C-escaped (so the message stays
// printable ASCII whatever was sent), cut to `max_bytes`.
std::string Quote(absl::string_view value, size_t max_bytes) {
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, max_bytes)),
                      value.size() > max_bytes ? "...\"" : "\"");
}

std::string Bytes(size_t n) {
  return absl::StrCat(n, n == 1 ? " byte" : " bytes");
}

// Finds the first byte in U+0000-U+001F or U+007F, except the allowed ones.
std::optional<size_t> FindControl(absl::string_view text,
                                  bool allow_newline_and_tab) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != 0x7F) continue;
    if (allow_newline_and_tab &&
        (byte == '\n' || byte == '\t' || byte == '\r')) {
      continue;
    }
    return i;
  }
  return std::nullopt;
}

struct TextRule {
  size_t max_bytes;
  bool required;
  bool trim;  // NAME: leading and trailing white space does not count
  bool allow_newline_and_tab = false;
};

constexpr TextRule kName{kMaxNameBytes, true, true};
constexpr TextRule kOptionalName{kMaxNameBytes, false, true};
constexpr TextRule kShortText{kMaxShortTextBytes, true, false};
constexpr TextRule kOptionalShortText{kMaxShortTextBytes, false, false};

// Checks UTF-8, emptiness, length and control characters, in that order.
// Never echoes the value.
absl::Status CheckText(absl::string_view field, absl::string_view value,
                       const TextRule& rule) {
  if (!IsValidUtf8(value)) return Violation(field, "is not valid UTF-8");
  const absl::string_view stripped = absl::StripAsciiWhitespace(value);
  const absl::string_view measured = rule.trim ? stripped : value;
  if (stripped.empty()) {
    if (value.empty()) {
      return rule.required ? Violation(field, "is required") : absl::OkStatus();
    }
    // An optional NAME of only white space trims to "not set".
    if (rule.trim && !rule.required) return absl::OkStatus();
    return Violation(field, "is blank");
  }
  if (measured.size() > rule.max_bytes) {
    return Violation(
        field, absl::StrCat("is ", Bytes(measured.size()), " long; at most ",
                            rule.max_bytes, " bytes are allowed"));
  }
  if (const std::optional<size_t> at =
          FindControl(measured, rule.allow_newline_and_tab)) {
    return Violation(
        field,
        absl::StrFormat("contains a control character (U+%04X) at byte %d",
                        static_cast<unsigned char>(measured[*at]), *at));
  }
  return absl::OkStatus();
}

bool IsIdByte(char c, bool first) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  if (first) return false;
  return c == '.' || c == '_' || c == ':' || c == '@' || c == '+' || c == '-';
}

absl::Status CheckId(absl::string_view field, absl::string_view value,
                     bool required) {
  if (value.empty()) {
    return required ? Violation(field, "is required") : absl::OkStatus();
  }
  if (value.size() > kMaxIdBytes) {
    return Violation(
        field, absl::StrCat("is ", Bytes(value.size()),
                            " long; an ID is at most ", kMaxIdBytes, " bytes"));
  }
  for (size_t i = 0; i < value.size(); ++i) {
    if (!IsIdByte(value[i], i == 0)) {
      return Violation(
          field,
          absl::StrCat(Quote(value, kMaxIdBytes),
                       " is not a valid ID: use ASCII letters, digits and "
                       "`. _ : @ + -`, starting with a letter or digit"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEmail(absl::string_view field, absl::string_view value) {
  if (value.empty()) return absl::OkStatus();
  if (!IsValidUtf8(value)) return Violation(field, "is not valid UTF-8");
  if (value.size() < kMinEmailBytes || value.size() > kMaxEmailBytes) {
    return Violation(
        field,
        absl::StrCat("is ", Bytes(value.size()), " long; an email address is ",
                     kMinEmailBytes, "-", kMaxEmailBytes, " bytes"));
  }
  constexpr absl::string_view kNot = "is not an email address: ";
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) {
      return Violation(field, absl::StrCat(kNot,
                                           "it contains white space or a "
                                           "control character"));
    }
  }
  const size_t at = value.find('@');
  if (at == absl::string_view::npos ||
      value.find('@', at + 1) != absl::string_view::npos) {
    return Violation(field, absl::StrCat(kNot, "it needs exactly one '@'"));
  }
  if (at == 0) {
    return Violation(field, absl::StrCat(kNot, "nothing before the '@'"));
  }
  const absl::string_view domain = value.substr(at + 1);
  if (!absl::StrContains(domain, '.')) {
    return Violation(field,
                     absl::StrCat(kNot, "the domain after '@' has no '.'"));
  }
  for (const absl::string_view label : absl::StrSplit(domain, '.')) {
    if (label.empty()) {
      return Violation(field, absl::StrCat(kNot,
                                           "the domain after '@' has an "
                                           "empty part (\"..\" or a '.' "
                                           "at either end)"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckUrl(absl::string_view field, absl::string_view value) {
  if (value.empty()) return absl::OkStatus();
  if (!IsValidUtf8(value)) return Violation(field, "is not valid UTF-8");
  if (value.size() > kMaxUrlBytes) {
    return Violation(field, absl::StrCat("is ", Bytes(value.size()),
                                         " long; a URL is at most ",
                                         kMaxUrlBytes, " bytes"));
  }
  constexpr absl::string_view kNot =
      "is not an absolute http:// or https:// URL";
  absl::string_view rest = value;
  if (!absl::ConsumePrefix(&rest, "http://") &&
      !absl::ConsumePrefix(&rest, "https://")) {
    // Schemes are case-insensitive (RFC 3986 3.1).
    const absl::string_view lowered_prefix = value.substr(0, 8);
    if (absl::StartsWithIgnoreCase(lowered_prefix, "http://")) {
      rest = value.substr(7);
    } else if (absl::StartsWithIgnoreCase(lowered_prefix, "https://")) {
      rest = value.substr(8);
    } else {
      return Violation(field, kNot);
    }
  }
  const size_t host_end = rest.find_first_of("/?#");
  const absl::string_view authority = rest.substr(0, host_end);
  if (authority.empty() || authority.front() == '@' ||
      authority.front() == ':') {
    return Violation(field, absl::StrCat(kNot, ": the host is missing"));
  }
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) {
      return Violation(field, absl::StrCat(kNot,
                                           ": it contains white space or "
                                           "a control character"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTimeZone(absl::string_view field, absl::string_view value) {
  if (value.empty()) return absl::OkStatus();
  if (value.size() > kMaxTimeZoneBytes) {
    return Violation(field,
                     absl::StrCat("is ", Bytes(value.size()), " long; at most ",
                                  kMaxTimeZoneBytes, " bytes are allowed"));
  }
  // Only the IANA name shape reaches the zone loader (which reads files under
  // the zoneinfo directory): no "..", no absolute paths, no "localtime".
  bool shape_ok = value != "localtime";
  for (const absl::string_view part : absl::StrSplit(value, '/')) {
    if (part.empty()) shape_ok = false;
    for (const char c : part) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
          c != '-' && c != '+') {
        shape_ok = false;
      }
    }
  }
  absl::TimeZone zone;
  if (!shape_ok || !absl::LoadTimeZone(ToString(value), &zone)) {
    return Violation(field,
                     absl::StrCat(Quote(value, kMaxTimeZoneBytes),
                                  " is not a known IANA time zone (for example "
                                  "\"Europe/Madrid\")"));
  }
  return absl::OkStatus();
}

// BCP 47 well-formedness, simplified: subtags of 1-8 ASCII letters or digits
// joined by '-', the first 2-8 letters (a language) or "x"/"i" (private use,
// grandfathered).
absl::Status CheckLocale(absl::string_view field, absl::string_view value) {
  if (value.empty()) return absl::OkStatus();
  if (value.size() > kMaxLocaleBytes) {
    return Violation(field,
                     absl::StrCat("is ", Bytes(value.size()), " long; at most ",
                                  kMaxLocaleBytes, " bytes are allowed"));
  }
  bool ok = true;
  bool first = true;
  for (const absl::string_view subtag : absl::StrSplit(value, '-')) {
    if (subtag.empty() || subtag.size() > 8) ok = false;
    for (const char c : subtag) {
      const auto byte = static_cast<unsigned char>(c);
      if (!absl::ascii_isalnum(byte) || (first && !absl::ascii_isalpha(byte))) {
        ok = false;
      }
    }
    if (first && subtag.size() == 1 && subtag != "x" && subtag != "X" &&
        subtag != "i" && subtag != "I") {
      ok = false;
    }
    first = false;
  }
  if (!ok) {
    return Violation(field, absl::StrCat(Quote(value, kMaxLocaleBytes),
                                         " is not a BCP 47 language tag (for "
                                         "example \"en-GB\")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> CheckTimestamp(
    absl::string_view field, const google::protobuf::Timestamp& ts) {
  if (ts.seconds() < kMinTimestampSeconds ||
      ts.seconds() > kMaxTimestampSeconds || ts.nanos() < 0 ||
      ts.nanos() >= kNanosPerSecond) {
    return Violation(field,
                     "is not a valid timestamp (years 0001-9999, nanos "
                     "0-999999999)");
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::Status CheckNotTooFarAhead(absl::string_view field,
                                 const google::protobuf::Timestamp& ts,
                                 absl::Time now, absl::Duration max_ahead,
                                 absl::string_view max_ahead_words) {
  absl::StatusOr<absl::Time> at = CheckTimestamp(field, ts);
  if (!at.ok()) return at.status();
  if (*at > now + max_ahead) {
    return Violation(field, absl::StrCat("is more than ", max_ahead_words,
                                         " in the future"));
  }
  return absl::OkStatus();
}

template <typename Map>
std::vector<std::pair<absl::string_view, absl::string_view>> SortedEntries(
    const Map& map) {
  std::vector<std::pair<absl::string_view, absl::string_view>> entries;
  entries.reserve(map.size());
  for (const auto& [key, value] : map) entries.emplace_back(key, value);
  std::sort(entries.begin(), entries.end());
  return entries;
}

absl::Status CheckCount(absl::string_view field, int count, int max,
                        absl::string_view noun) {
  if (count > max) {
    return Violation(field, absl::StrCat("has ", count, " ", noun, "; at most ",
                                         max, " are allowed"));
  }
  return absl::OkStatus();
}

absl::Status CheckTextList(
    absl::string_view field,
    const google::protobuf::RepeatedPtrField<std::string>& items) {
  RETURN_IF_ERROR(CheckCount(field, items.size(), kMaxListItems, "items"));
  for (int i = 0; i < items.size(); ++i) {
    RETURN_IF_ERROR(CheckText(Indexed(field, i), items[i], kShortText));
  }
  return absl::OkStatus();
}

absl::Status CheckExternalIds(
    absl::string_view field,
    const google::protobuf::Map<std::string, std::string>& ids) {
  RETURN_IF_ERROR(CheckCount(field, static_cast<int>(ids.size()),
                             kMaxExternalIds, "entries"));
  for (const auto& [key, value] : SortedEntries(ids)) {
    bool key_ok = !key.empty() && key.size() <= kMaxExternalIdKeyBytes;
    for (const char c : key) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
          !absl::ascii_islower(static_cast<unsigned char>(c)) && c != '_' &&
          c != '-') {
        key_ok = false;
      }
    }
    if (!key_ok) {
      return Violation(field,
                       absl::StrCat("key ", Quote(key, kMaxExternalIdKeyBytes),
                                    " is not 1-32 bytes of lower-case "
                                    "letters, digits, '_' and '-'"));
    }
    RETURN_IF_ERROR(CheckId(Keyed(field, key), value, /*required=*/true));
  }
  return absl::OkStatus();
}

absl::Status CheckCustomFields(
    absl::string_view field,
    const google::protobuf::Map<std::string, std::string>& fields) {
  RETURN_IF_ERROR(CheckCount(field, static_cast<int>(fields.size()),
                             kMaxCustomFields, "entries"));
  for (const auto& [key, value] : SortedEntries(fields)) {
    bool key_ok = !key.empty() && key.size() <= kMaxCustomFieldKeyBytes;
    for (const char c : key) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
          c != '.' && c != '-') {
        key_ok = false;
      }
    }
    if (!key_ok) {
      return Violation(field,
                       absl::StrCat("key ", Quote(key, kMaxCustomFieldKeyBytes),
                                    " is not 1-64 bytes of letters, digits, "
                                    "'_', '.' and '-'"));
    }
    const std::string value_field = Keyed(field, key);
    if (!IsValidUtf8(value)) {
      return Violation(value_field, "is not valid UTF-8");
    }
    if (value.size() > kMaxCustomFieldValueBytes) {
      return Violation(
          value_field,
          absl::StrCat("is ", Bytes(value.size()), " long; at most ",
                       kMaxCustomFieldValueBytes, " bytes are allowed"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTriggerEvents(
    absl::string_view field,
    const google::protobuf::RepeatedPtrField<common::v1::TriggerEvent>& events,
    absl::Time now) {
  RETURN_IF_ERROR(CheckCount(field, events.size(), kMaxListItems, "items"));
  for (int i = 0; i < events.size(); ++i) {
    const common::v1::TriggerEvent& event = events[i];
    const std::string item = Indexed(field, i);
    RETURN_IF_ERROR(CheckText(Path(item, "description"), event.description(),
                              TextRule{kMaxDescriptionBytes, /*required=*/true,
                                       /*trim=*/false}));
    if (event.has_occurred_at()) {
      RETURN_IF_ERROR(CheckNotTooFarAhead(Path(item, "occurred_at"),
                                          event.occurred_at(), now,
                                          kMaxFutureEventTime, "24 hours"));
    }
    RETURN_IF_ERROR(CheckUrl(Path(item, "source_url"), event.source_url()));
  }
  return absl::OkStatus();
}

absl::Status CheckEnum(absl::string_view field, int value, bool known,
                       bool required) {
  if (!known) {
    return Violation(field, absl::StrCat(value, " is not a known value"));
  }
  if (required && value == 0) return Violation(field, "is required");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateId(absl::string_view field, absl::string_view value) {
  return CheckId(field, value, /*required=*/true);
}

absl::Status ValidateOptionalId(absl::string_view field,
                                absl::string_view value) {
  return CheckId(field, value, /*required=*/false);
}

absl::Status ValidateContact(const Contact& contact, absl::Time now,
                             absl::string_view path) {
  RETURN_IF_ERROR(ValidateId(Path(path, "id"), contact.id()));
  RETURN_IF_ERROR(
      CheckText(Path(path, "full_name"), contact.full_name(), kName));
  RETURN_IF_ERROR(CheckText(Path(path, "preferred_name"),
                            contact.preferred_name(), kOptionalName));
  RETURN_IF_ERROR(CheckEmail(Path(path, "email"), contact.email()));
  RETURN_IF_ERROR(
      CheckText(Path(path, "title"), contact.title(), kOptionalName));
  RETURN_IF_ERROR(
      CheckText(Path(path, "company"), contact.company(), kOptionalName));
  RETURN_IF_ERROR(
      CheckText(Path(path, "industry"), contact.industry(), kOptionalName));
  RETURN_IF_ERROR(
      CheckTextList(Path(path, "priorities"), contact.priorities()));
  RETURN_IF_ERROR(
      CheckTextList(Path(path, "challenges"), contact.challenges()));
  RETURN_IF_ERROR(CheckTriggerEvents(Path(path, "trigger_events"),
                                     contact.trigger_events(), now));
  RETURN_IF_ERROR(CheckText(Path(path, "do_not_contact_reason"),
                            contact.do_not_contact_reason(),
                            kOptionalShortText));
  RETURN_IF_ERROR(CheckUrl(Path(path, "linkedin_url"), contact.linkedin_url()));
  RETURN_IF_ERROR(CheckTimeZone(Path(path, "time_zone"), contact.time_zone()));
  RETURN_IF_ERROR(CheckLocale(Path(path, "locale"), contact.locale()));
  RETURN_IF_ERROR(
      ValidateOptionalId(Path(path, "owner_rep_id"), contact.owner_rep_id()));
  RETURN_IF_ERROR(
      CheckExternalIds(Path(path, "external_ids"), contact.external_ids()));
  RETURN_IF_ERROR(
      CheckCustomFields(Path(path, "custom_fields"), contact.custom_fields()));
  return absl::OkStatus();
}

void NormalizeContact(Contact* contact) {
  const auto trim = [](std::string* s) {
    absl::string_view stripped = absl::StripAsciiWhitespace(*s);
    if (stripped.size() != s->size()) *s = ToString(stripped);
  };
  trim(contact->mutable_full_name());
  trim(contact->mutable_preferred_name());
  trim(contact->mutable_title());
  trim(contact->mutable_company());
  trim(contact->mutable_industry());
  const auto dedupe =
      [](google::protobuf::RepeatedPtrField<std::string>* list) {
        absl::flat_hash_set<std::string> seen;
        int kept = 0;
        for (int i = 0; i < list->size(); ++i) {
          if (!seen.insert(list->Get(i)).second) continue;
          if (kept != i) list->Mutable(kept)->swap(*list->Mutable(i));
          ++kept;
        }
        list->DeleteSubrange(kept, list->size() - kept);
      };
  dedupe(contact->mutable_priorities());
  dedupe(contact->mutable_challenges());
}

absl::Status ValidateInteraction(const v1::Interaction& interaction,
                                 absl::Time now, absl::string_view path) {
  RETURN_IF_ERROR(ValidateOptionalId(Path(path, "id"), interaction.id()));
  RETURN_IF_ERROR(
      ValidateId(Path(path, "contact_id"), interaction.contact_id()));
  RETURN_IF_ERROR(CheckEnum(Path(path, "kind"), interaction.kind(),
                            v1::InteractionKind_IsValid(interaction.kind()),
                            /*required=*/true));
  const std::string direction_field = Path(path, "direction");
  RETURN_IF_ERROR(CheckEnum(direction_field, interaction.direction(),
                            v1::Direction_IsValid(interaction.direction()),
                            /*required=*/true));
  if (interaction.kind() == v1::INTERACTION_KIND_EMAIL_SENT &&
      interaction.direction() != v1::DIRECTION_OUTBOUND) {
    return Violation(direction_field,
                     "must be DIRECTION_OUTBOUND when kind is "
                     "INTERACTION_KIND_EMAIL_SENT");
  }
  if (interaction.kind() == v1::INTERACTION_KIND_EMAIL_REPLIED &&
      interaction.direction() != v1::DIRECTION_INBOUND) {
    return Violation(direction_field,
                     "must be DIRECTION_INBOUND when kind is "
                     "INTERACTION_KIND_EMAIL_REPLIED");
  }

  const std::string occurred_field = Path(path, "occurred_at");
  if (!interaction.has_occurred_at()) {
    return Violation(occurred_field, "is required");
  }
  absl::StatusOr<absl::Time> occurred =
      CheckTimestamp(occurred_field, interaction.occurred_at());
  if (!occurred.ok()) return occurred.status();
  if (*occurred > now + kMaxInteractionSkew) {
    return Violation(occurred_field, "is more than 5 minutes in the future");
  }
  if (*occurred < now - kMaxInteractionAge) {
    return Violation(occurred_field, "is more than 5 years in the past");
  }

  const std::string topics_field = Path(path, "topics");
  RETURN_IF_ERROR(
      CheckCount(topics_field, interaction.topics_size(), kMaxTopics, "items"));
  for (int i = 0; i < interaction.topics_size(); ++i) {
    RETURN_IF_ERROR(CheckText(Indexed(topics_field, i), interaction.topics(i),
                              TextRule{kMaxTopicBytes, /*required=*/true,
                                       /*trim=*/true,
                                       /*allow_newline_and_tab=*/true}));
  }

  if (interaction.has_talk_ratio()) {
    const double ratio = interaction.talk_ratio();
    if (!std::isfinite(ratio) || ratio < 0.0 || ratio > 1.0) {
      return Violation(Path(path, "talk_ratio"),
                       absl::StrCat(ratio, " is outside [0, 1]"));
    }
  }

  const std::string outcome_field = Path(path, "outcome");
  RETURN_IF_ERROR(CheckEnum(outcome_field, interaction.outcome(),
                            common::v1::Outcome_IsValid(interaction.outcome()),
                            /*required=*/false));
  if (interaction.kind() == v1::INTERACTION_KIND_OUTCOME_REPORTED &&
      interaction.outcome() == common::v1::OUTCOME_UNSPECIFIED) {
    return Violation(outcome_field,
                     "is required when kind is "
                     "INTERACTION_KIND_OUTCOME_REPORTED");
  }

  if (interaction.has_duration()) {
    const google::protobuf::Duration& d = interaction.duration();
    const bool well_formed =
        d.seconds() >= -kMaxDurationSeconds &&
        d.seconds() <= kMaxDurationSeconds && d.nanos() > -kNanosPerSecond &&
        d.nanos() < kNanosPerSecond && !(d.seconds() > 0 && d.nanos() < 0) &&
        !(d.seconds() < 0 && d.nanos() > 0);
    const absl::Duration duration =
        absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
    if (!well_formed || duration < absl::ZeroDuration() ||
        duration > kMaxCallDuration) {
      return Violation(Path(path, "duration"),
                       "must be between 0 and 24 hours");
    }
  }

  RETURN_IF_ERROR(
      ValidateOptionalId(Path(path, "message_id"), interaction.message_id()));
  RETURN_IF_ERROR(
      ValidateOptionalId(Path(path, "feedback_id"), interaction.feedback_id()));
  RETURN_IF_ERROR(
      ValidateOptionalId(Path(path, "rep_id"), interaction.rep_id()));
  return absl::OkStatus();
}

absl::Status ValidateInsight(const ContactInsight& insight, absl::Time now,
                             absl::string_view path) {
  RETURN_IF_ERROR(ValidateId(Path(path, "contact_id"), insight.contact_id()));
  RETURN_IF_ERROR(CheckEnum(Path(path, "kind"), insight.kind(),
                            common::v1::InsightKind_IsValid(insight.kind()),
                            /*required=*/true));
  const std::string text_field = Path(path, "text");
  switch (insight.kind()) {
    case common::v1::INSIGHT_KIND_PREFERRED_NAME:
      RETURN_IF_ERROR(CheckText(text_field, insight.text(), kName));
      break;
    case common::v1::INSIGHT_KIND_INTEREST:
      RETURN_IF_ERROR(CheckText(text_field, insight.text(),
                                TextRule{kMaxInsightInterestBytes,
                                         /*required=*/true, /*trim=*/true}));
      break;
    default:
      RETURN_IF_ERROR(CheckText(
          text_field, insight.text(),
          TextRule{kMaxInsightTextBytes, /*required=*/true, /*trim=*/false}));
      break;
  }
  if (insight.has_observed_at()) {
    RETURN_IF_ERROR(CheckNotTooFarAhead(Path(path, "observed_at"),
                                        insight.observed_at(), now,
                                        kMaxFutureEventTime, "24 hours"));
  }
  RETURN_IF_ERROR(ValidateOptionalId(Path(path, "source_feedback_id"),
                                     insight.source_feedback_id()));
  RETURN_IF_ERROR(CheckEnum(Path(path, "author_team"), insight.author_team(),
                            common::v1::Team_IsValid(insight.author_team()),
                            /*required=*/false));
  return absl::OkStatus();
}

absl::Status ValidatePageRequest(int32_t page_size,
                                 absl::string_view page_token) {
  if (page_size < 0) {
    return Violation("page_size", absl::StrCat(page_size,
                                               " is negative; use 0 for the "
                                               "default of ",
                                               kDefaultPageSize));
  }
  if (page_token.size() > kMaxPageTokenBytes) {
    return Violation(
        "page_token",
        absl::StrCat("is ", Bytes(page_token.size()),
                     " long; a page token is at most ", kMaxPageTokenBytes,
                     " bytes (pass next_page_token unchanged)"));
  }
  return absl::OkStatus();
}

int32_t EffectivePageSize(int32_t page_size) {
  if (page_size <= 0) return kDefaultPageSize;
  return std::min(page_size, kMaxPageSize);
}

absl::Status ValidateProfileFilter(const v1::ProfileFilter& filter,
                                   absl::string_view path) {
  RETURN_IF_ERROR(CheckEnum(Path(path, "stage"), filter.stage(),
                            common::v1::BuyingStage_IsValid(filter.stage()),
                            /*required=*/false));
  RETURN_IF_ERROR(
      CheckText(Path(path, "company"), filter.company(), kOptionalName));
  RETURN_IF_ERROR(
      CheckText(Path(path, "industry"), filter.industry(), kOptionalName));
  RETURN_IF_ERROR(
      ValidateOptionalId(Path(path, "owner_rep_id"), filter.owner_rep_id()));
  return absl::OkStatus();
}

absl::Status ValidateListProfilesRequest(const v1::ListProfilesRequest& req) {
  RETURN_IF_ERROR(ValidatePageRequest(req.page_size(), req.page_token()));
  return ValidateProfileFilter(req.filter(), "filter");
}

std::string ViolationField(const absl::Status& status) {
  const absl::optional<absl::Cord> field = status.GetPayload(kFieldPayloadUrl);
  if (!field.has_value()) return "";
  std::string out;
  absl::CopyCordToString(*field, &out);
  return out;
}

std::string ViolationReason(const absl::Status& status) {
  const std::string field = ViolationField(status);
  absl::string_view message = status.message();
  if (!field.empty()) absl::ConsumePrefix(&message, absl::StrCat(field, ": "));
  return ToString(message);
}

}  // namespace rapport::profile::model
