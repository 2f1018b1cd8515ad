#include "tools/rapportctl/csv_import.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/auth/auth.h"
#include "common/util/util.h"
#include "tools/rapportctl/enums.h"
#include "tools/rapportctl/flags.h"

namespace rapport::ctl {

namespace {

using rapport::common::v1::Contact;
using rapport::common::v1::TriggerEvent;
using rapport::profile::v1::Direction;
using rapport::profile::v1::Interaction;
using rapport::profile::v1::InteractionKind;

const absl::flat_hash_map<std::string, ContactColumn>& KnownHeaders() {
  static const auto* headers =
      new absl::flat_hash_map<std::string, ContactColumn>{
          {"contactid", ContactColumn::kId},
          {"recordid", ContactColumn::kId},
          {"id", ContactColumn::kId},
          {"firstname", ContactColumn::kFirstName},
          {"lastname", ContactColumn::kLastName},
          {"fullname", ContactColumn::kFullName},
          {"name", ContactColumn::kFullName},
          {"preferredname", ContactColumn::kPreferredName},
          {"nickname", ContactColumn::kPreferredName},
          {"email", ContactColumn::kEmail},
          {"emailaddress", ContactColumn::kEmail},
          {"title", ContactColumn::kTitle},
          {"jobtitle", ContactColumn::kTitle},
          {"accountname", ContactColumn::kCompany},
          {"companyname", ContactColumn::kCompany},
          {"company", ContactColumn::kCompany},
          {"industry", ContactColumn::kIndustry},
          {"priorities", ContactColumn::kPriorities},
          {"challenges", ContactColumn::kChallenges},
          {"triggerevents", ContactColumn::kTriggerEvents},
          {"triggerevent", ContactColumn::kTriggerEvents},
          {"donotcontact", ContactColumn::kDoNotContact},
          {"emailoptout", ContactColumn::kDoNotContact},
          {"unsubscribedfromallemail", ContactColumn::kDoNotContact},
          {"hasoptedoutofemail", ContactColumn::kDoNotContact},
          {"linkedinurl", ContactColumn::kLinkedIn},
          {"linkedin", ContactColumn::kLinkedIn},
          {"timezone", ContactColumn::kTimeZone},
          {"locale", ContactColumn::kLocale},
          {"contactowner", ContactColumn::kOwner},
          {"owner", ContactColumn::kOwner},
          {"ownerid", ContactColumn::kOwner},
      };
  return *headers;
}

// The update-mask path a column writes; empty for none.
absl::string_view MaskPath(ContactColumn column) {
  switch (column) {
    case ContactColumn::kFirstName:
    case ContactColumn::kLastName:
    case ContactColumn::kFullName:
      return "full_name";
    case ContactColumn::kPreferredName:
      return "preferred_name";
    case ContactColumn::kEmail:
      return "email";
    case ContactColumn::kTitle:
      return "title";
    case ContactColumn::kCompany:
      return "company";
    case ContactColumn::kIndustry:
      return "industry";
    case ContactColumn::kPriorities:
      return "priorities";
    case ContactColumn::kChallenges:
      return "challenges";
    case ContactColumn::kTriggerEvents:
      return "trigger_events";
    case ContactColumn::kLinkedIn:
      return "linkedin_url";
    case ContactColumn::kTimeZone:
      return "time_zone";
    case ContactColumn::kLocale:
      return "locale";
    case ContactColumn::kOwner:
      return "owner_rep_id";
    case ContactColumn::kCustom:
      return "custom_fields";
    case ContactColumn::kId:
    case ContactColumn::kDoNotContact:  // per row: only ever set, see Map
    case ContactColumn::kIgnored:
      return "";
  }
  return "";
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
bool TruncateUtf8(std::string* s, size_t max) {
  if (s->size() <= max) return false;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
  return true;
}

void SetIfEmpty(std::string* field, absl::string_view value) {
  if (field->empty() && !value.empty()) *field = Str(value);
}

std::string FieldCountError(size_t want, size_t got) {
  return absl::StrCat("expected ", want, " fields as in the header, found ",
                      got);
}

}  // namespace

std::string ContactIdFromEmail(absl::string_view email) {
  const std::string normalized =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(email));
  return absl::StrCat("email-",
                      rapport::auth::Sha256Hex(normalized).substr(0, 16));
}

std::string NormalizeHeader(absl::string_view header) {
  header = absl::StripAsciiWhitespace(header);
  // Salesforce API names of custom fields end in "__c" ("Priorities__c").
  if (header.size() > 3 &&
      absl::EqualsIgnoreCase(header.substr(header.size() - 3), "__c")) {
    header.remove_suffix(3);
  }
  std::string out;
  out.reserve(header.size());
  for (const char c : header) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::string CustomFieldKey(absl::string_view header) {
  std::string out;
  for (const char c : absl::StripAsciiWhitespace(header)) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '.' || c == '-') {
      out.push_back(absl::ascii_tolower(u));
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');  // spaces, punctuation and non-ASCII
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.size() > 64) out.resize(64);
  return out;
}

std::string OwnerIdFromText(absl::string_view text) {
  std::string out;
  for (const char c : absl::StripAsciiWhitespace(text)) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '.' || c == '_' || c == ':' ||
        c == '@' || c == '+' || c == '-') {
      out.push_back(absl::ascii_tolower(u));
    } else if (absl::ascii_isspace(u) && !out.empty() && out.back() != '.') {
      out.push_back('.');
    }
  }
  while (!out.empty() &&
         !absl::ascii_isalnum(static_cast<unsigned char>(out.front()))) {
    out.erase(0, 1);
  }
  if (out.size() > 128) out.resize(128);
  return out;
}

std::vector<std::string> SplitList(absl::string_view cell) {
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(cell, ';')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) items.emplace_back(item);
  }
  return items;
}

TriggerEvent ParseTriggerEvent(absl::string_view text) {
  TriggerEvent event;
  text = absl::StripAsciiWhitespace(text);
  if (const size_t sep = text.find(": "); sep != absl::string_view::npos) {
    absl::StatusOr<absl::Time> when = ParseTime(text.substr(0, sep));
    if (when.ok()) {
      *event.mutable_occurred_at() = util::ToTimestamp(*when);
      text = absl::StripAsciiWhitespace(text.substr(sep + 2));
    }
  }
  event.set_description(Str(text));
  return event;
}

absl::StatusOr<ContactCsvMapper> ContactCsvMapper::FromHeader(
    const std::vector<std::string>& header) {
  ContactCsvMapper m;
  m.header_ = header;
  m.columns_.reserve(header.size());
  m.custom_keys_.resize(header.size());
  absl::flat_hash_set<std::string> used_keys;
  std::vector<std::string> skipped;
  int custom = 0;
  bool has_id = false;
  bool has_email = false;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string normalized = NormalizeHeader(header[i]);
    ContactColumn column = ContactColumn::kCustom;
    if (const auto it = KnownHeaders().find(normalized);
        it != KnownHeaders().end()) {
      column = it->second;
    }
    if (column == ContactColumn::kCustom) {
      std::string key = CustomFieldKey(header[i]);
      if (key.empty()) {
        m.warnings_.push_back(
            absl::StrCat("column ", i + 1, " has no usable header: ignored"));
        column = ContactColumn::kIgnored;
      } else if (custom >= kMaxCustomFields) {
        skipped.push_back(header[i]);
        column = ContactColumn::kIgnored;
      } else {
        // Distinct headers can reduce to one key ("Lead Source" and
        // "lead_source"); number the later ones.
        std::string unique = key;
        for (int n = 2; used_keys.contains(unique); ++n) {
          unique = absl::StrCat(key.substr(0, 60), "_", n);
        }
        used_keys.insert(unique);
        m.custom_keys_[i] = std::move(unique);
        ++custom;
      }
    }
    has_id |= column == ContactColumn::kId;
    has_email |= column == ContactColumn::kEmail;
    m.columns_.push_back(column);
    if (absl::string_view path = MaskPath(column);
        !path.empty() && std::find(m.base_mask_.begin(), m.base_mask_.end(),
                                   path) == m.base_mask_.end()) {
      m.base_mask_.emplace_back(path);
    }
  }
  if (!skipped.empty()) {
    m.warnings_.push_back(absl::StrCat(
        "only ", kMaxCustomFields, " other columns fit in custom_fields; ",
        skipped.size(), " skipped: ", absl::StrJoin(skipped, ", ")));
  }
  if (!has_id && !has_email) {
    return absl::InvalidArgumentError(
        "the header has neither an id column (Contact ID, Record ID, Id) nor "
        "an email column (Email, Email Address): rows cannot be told apart");
  }
  bool writes_something = !m.base_mask_.empty();
  for (const ContactColumn c : m.columns_) {
    writes_something |= c == ContactColumn::kDoNotContact;
  }
  if (!writes_something) {
    return absl::InvalidArgumentError(
        "the header has no column that maps to a contact field");
  }
  return m;
}

absl::StatusOr<MappedContact> ContactCsvMapper::Map(
    const std::vector<std::string>& fields) const {
  if (fields.size() != header_.size()) {
    return absl::InvalidArgumentError(
        FieldCountError(header_.size(), fields.size()));
  }
  MappedContact out;
  Contact& c = out.contact;
  std::string first;
  std::string last;
  std::string opt_out_column;
  for (size_t i = 0; i < fields.size(); ++i) {
    const absl::string_view value = absl::StripAsciiWhitespace(fields[i]);
    switch (columns_[i]) {
      case ContactColumn::kId:
        SetIfEmpty(c.mutable_id(), value);
        break;
      case ContactColumn::kFirstName:
        SetIfEmpty(&first, value);
        break;
      case ContactColumn::kLastName:
        SetIfEmpty(&last, value);
        break;
      case ContactColumn::kFullName:
        SetIfEmpty(c.mutable_full_name(), value);
        break;
      case ContactColumn::kPreferredName:
        // Never guessed from the first name: the point is to know the name
        // they actually go by.
        SetIfEmpty(c.mutable_preferred_name(), value);
        break;
      case ContactColumn::kEmail:
        SetIfEmpty(c.mutable_email(), value);
        break;
      case ContactColumn::kTitle:
        SetIfEmpty(c.mutable_title(), value);
        break;
      case ContactColumn::kCompany:
        SetIfEmpty(c.mutable_company(), value);
        break;
      case ContactColumn::kIndustry:
        SetIfEmpty(c.mutable_industry(), value);
        break;
      case ContactColumn::kPriorities:
        for (std::string& item : SplitList(value)) {
          c.add_priorities(std::move(item));
        }
        break;
      case ContactColumn::kChallenges:
        for (std::string& item : SplitList(value)) {
          c.add_challenges(std::move(item));
        }
        break;
      case ContactColumn::kTriggerEvents:
        for (const std::string& item : SplitList(value)) {
          *c.add_trigger_events() = ParseTriggerEvent(item);
        }
        break;
      case ContactColumn::kDoNotContact: {
        if (value.empty()) break;
        const std::optional<bool> opted_out = ParseBool(value);
        if (!opted_out.has_value()) {
          return absl::InvalidArgumentError(
              absl::StrCat(header_[i], ": \"", value,
                           "\" is not true/false, yes/no or 1/0"));
        }
        if (*opted_out && opt_out_column.empty()) opt_out_column = header_[i];
        break;
      }
      case ContactColumn::kLinkedIn:
        SetIfEmpty(c.mutable_linkedin_url(), value);
        break;
      case ContactColumn::kTimeZone:
        SetIfEmpty(c.mutable_time_zone(), value);
        break;
      case ContactColumn::kLocale:
        SetIfEmpty(c.mutable_locale(), value);
        break;
      case ContactColumn::kOwner:
        SetIfEmpty(c.mutable_owner_rep_id(), OwnerIdFromText(value));
        break;
      case ContactColumn::kCustom: {
        if (value.empty()) break;
        std::string v(value);
        if (TruncateUtf8(&v, kMaxCustomValueBytes)) ++out.truncated_values;
        (*c.mutable_custom_fields())[custom_keys_[i]] = std::move(v);
        break;
      }
      case ContactColumn::kIgnored:
        break;
    }
  }
  if (c.full_name().empty()) {
    std::vector<absl::string_view> parts;
    if (!first.empty()) parts.emplace_back(first);
    if (!last.empty()) parts.emplace_back(last);
    c.set_full_name(absl::StrJoin(parts, " "));
  }
  if (c.id().empty()) {
    if (c.email().empty()) {
      return absl::InvalidArgumentError(
          "id: the row has no id and no email to derive one from");
    }
    c.set_id(ContactIdFromEmail(c.email()));
  }
  out.mask = base_mask_;
  // An opt-out is only ever set by an import, never cleared: a CRM export
  // that lags behind an unsubscribe recorded in Rapport must not undo it.
  if (!opt_out_column.empty()) {
    c.set_do_not_contact(true);
    c.set_do_not_contact_reason(
        absl::StrCat("opted out in the CRM (", opt_out_column, ")"));
    out.mask.emplace_back("do_not_contact");
    out.mask.emplace_back("do_not_contact_reason");
  }
  return out;
}

absl::StatusOr<InteractionCsvMapper> InteractionCsvMapper::FromHeader(
    const std::vector<std::string>& header) {
  static const auto* aliases =
      new absl::flat_hash_map<std::string, std::string>{
          {"contactid", "contact_id"},
          {"contact", "contact_id"},
          {"kind", "kind"},
          {"direction", "direction"},
          {"daysago", "days_ago"},
          {"occurredat", "occurred_at"},
          {"at", "occurred_at"},
          {"topics", "topics"},
          {"topic", "topics"},
          {"id", "id"},
          {"interactionid", "id"},
          {"outcome", "outcome"},
          {"talkratio", "talk_ratio"},
          {"durationminutes", "duration_minutes"},
      };
  InteractionCsvMapper m;
  m.width_ = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    const auto it = aliases->find(NormalizeHeader(header[i]));
    if (it == aliases->end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown column \"", header[i],
          "\"; expected contact_id, kind, direction, days_ago or "
          "occurred_at, topics, and optionally id, outcome, talk_ratio, "
          "duration_minutes"));
    }
    m.index_.emplace(it->second, static_cast<int>(i));
  }
  for (const char* required : {"contact_id", "kind"}) {
    if (!m.index_.contains(required)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the header has no ", required, " column"));
    }
  }
  if (!m.index_.contains("days_ago") && !m.index_.contains("occurred_at")) {
    return absl::InvalidArgumentError(
        "the header needs a days_ago or an occurred_at column");
  }
  return m;
}

absl::StatusOr<Interaction> InteractionCsvMapper::Map(
    const std::vector<std::string>& fields, absl::Time now) {
  if (fields.size() != width_) {
    return absl::InvalidArgumentError(FieldCountError(width_, fields.size()));
  }
  auto cell = [&](const char* name) -> absl::string_view {
    const auto it = index_.find(name);
    if (it == index_.end()) return {};
    return absl::StripAsciiWhitespace(fields[it->second]);
  };
  Interaction in;
  in.set_contact_id(Str(cell("contact_id")));
  if (in.contact_id().empty()) {
    return absl::InvalidArgumentError("contact_id: empty");
  }
  absl::StatusOr<InteractionKind> kind = ParseEnumAs<InteractionKind>(
      *rapport::profile::v1::InteractionKind_descriptor(), cell("kind"));
  if (!kind.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: ", kind.status().message()));
  }
  in.set_kind(*kind);
  if (const absl::string_view d = cell("direction"); !d.empty()) {
    absl::StatusOr<Direction> direction = ParseEnumAs<Direction>(
        *rapport::profile::v1::Direction_descriptor(), d);
    if (!direction.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("direction: ", direction.status().message()));
    }
    in.set_direction(*direction);
  } else if (std::optional<Direction> implied = DefaultDirection(*kind);
             implied.has_value()) {
    in.set_direction(*implied);
  } else {
    return absl::InvalidArgumentError(
        "direction: empty; say inbound or outbound");
  }
  std::string when;
  if (const absl::string_view at = cell("occurred_at"); !at.empty()) {
    absl::StatusOr<absl::Time> t = ParseTime(at);
    if (!t.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("occurred_at: ", t.status().message()));
    }
    *in.mutable_occurred_at() = util::ToTimestamp(*t);
    when = Str(at);
  } else {
    double days = 0;
    const absl::string_view ago = cell("days_ago");
    if (!absl::SimpleAtod(ago, &days) || days < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "days_ago: \"", ago, "\" is not a number of days (0 or more)"));
    }
    *in.mutable_occurred_at() = util::ToTimestamp(now - absl::Hours(24 * days));
    when = absl::StrCat("-", ago, "d");
  }
  for (std::string& topic : SplitList(cell("topics"))) {
    in.add_topics(std::move(topic));
  }
  if (const absl::string_view o = cell("outcome"); !o.empty()) {
    absl::StatusOr<rapport::common::v1::Outcome> outcome =
        ParseEnumAs<rapport::common::v1::Outcome>(
            *rapport::common::v1::Outcome_descriptor(), o);
    if (!outcome.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("outcome: ", outcome.status().message()));
    }
    in.set_outcome(*outcome);
  }
  if (const absl::string_view r = cell("talk_ratio"); !r.empty()) {
    double ratio = 0;
    if (!absl::SimpleAtod(r, &ratio)) {
      return absl::InvalidArgumentError(
          absl::StrCat("talk_ratio: \"", r, "\" is not a number"));
    }
    in.set_talk_ratio(ratio);
  }
  if (const absl::string_view d = cell("duration_minutes"); !d.empty()) {
    double minutes = 0;
    if (!absl::SimpleAtod(d, &minutes) || minutes < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "duration_minutes: \"", d, "\" is not a number of minutes"));
    }
    const auto seconds = static_cast<int64_t>(minutes * 60);
    in.mutable_duration()->set_seconds(seconds);
  }
  if (const absl::string_view id = cell("id"); !id.empty()) {
    in.set_id(Str(id));
  } else {
    // Equal rows are distinct interactions (two emails on one day), so the
    // occurrence count is part of the key.
    std::string key = absl::StrCat(
        in.contact_id(), "|", in.kind(), "|", in.direction(), "|", when, "|",
        absl::StrJoin(in.topics(), ";"), "|", in.outcome());
    const int n = ++seen_[key];
    absl::StrAppend(&key, "#", n);
    in.set_id(
        absl::StrCat("csv-", rapport::auth::Sha256Hex(key).substr(0, 16)));
  }
  return in;
}

std::optional<Direction> DefaultDirection(InteractionKind kind) {
  switch (kind) {
    case rapport::profile::v1::INTERACTION_KIND_EMAIL_SENT:
      return rapport::profile::v1::DIRECTION_OUTBOUND;
    case rapport::profile::v1::INTERACTION_KIND_EMAIL_REPLIED:
    case rapport::profile::v1::INTERACTION_KIND_EVENT:
      return rapport::profile::v1::DIRECTION_INBOUND;
    default:
      return std::nullopt;
  }
}

std::optional<RowIndex::Source> RowIndex::Find(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= sources_.size()) {
    return std::nullopt;
  }
  return sources_[index];
}

std::string FormatRejected(const rapport::profile::v1::RejectedContact& r,
                           const RowIndex& index) {
  std::string where;
  if (const std::optional<RowIndex::Source> s = index.Find(r.index());
      s.has_value()) {
    where = absl::StrCat("row ", s->row, " (line ", s->line, ")");
  } else {
    where = absl::StrCat("stream index ", r.index());
  }
  if (r.field().empty()) return absl::StrCat(where, ": ", r.reason());
  return absl::StrCat(where, ": ", r.field(), ": ", r.reason());
}

void BatchBuilder::Add(MappedContact contact, RowIndex::Source source,
                       std::vector<Batch>* ready) {
  if (current_.has_value() && contact.mask != mask_) {
    ready->push_back(*std::move(current_));
    current_.reset();
  }
  if (!current_.has_value()) {
    current_.emplace();
    mask_ = contact.mask;
    for (const std::string& path : mask_) {
      current_->request.mutable_update_mask()->add_paths(path);
    }
  }
  *current_->request.add_contacts() = std::move(contact.contact);
  current_->sources.push_back(source);
  if (current_->request.contacts_size() >= batch_size_) {
    ready->push_back(*std::move(current_));
    current_.reset();
  }
}

std::optional<Batch> BatchBuilder::Flush() {
  return std::exchange(current_, std::nullopt);
}

absl::StatusOr<std::unique_ptr<ContactCsvSource>> ContactCsvSource::Open(
    std::istream* in, int batch_size) {
  auto reader = std::make_unique<CsvReader>(in);
  CsvRecord header;
  if (!reader->Next(&header)) {
    return absl::InvalidArgumentError("empty input: no header line");
  }
  if (!header.error.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", header.line, ": ", header.error));
  }
  absl::StatusOr<ContactCsvMapper> mapper =
      ContactCsvMapper::FromHeader(header.fields);
  if (!mapper.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", header.line, ": ", mapper.status().message()));
  }
  return std::unique_ptr<ContactCsvSource>(
      new ContactCsvSource(std::move(reader), *std::move(mapper), batch_size));
}

std::optional<Batch> ContactCsvSource::Next() {
  while (next_ready_ >= ready_.size() && !done_) {
    ready_.clear();
    next_ready_ = 0;
    CsvRecord record;
    if (!reader_->Next(&record)) {
      done_ = true;
      if (std::optional<Batch> last = builder_.Flush(); last.has_value()) {
        ready_.push_back(*std::move(last));
      }
      break;
    }
    if (IsBlankRecord(record)) continue;
    const int row = ++rows_;
    if (!record.error.empty()) {
      rejected_.push_back({row, record.line, std::move(record.error)});
      continue;
    }
    absl::StatusOr<MappedContact> mapped = mapper_.Map(record.fields);
    if (!mapped.ok()) {
      rejected_.push_back({row, record.line, Str(mapped.status().message())});
      continue;
    }
    truncated_values_ += mapped->truncated_values;
    builder_.Add(*std::move(mapped), {row, record.line}, &ready_);
  }
  if (next_ready_ >= ready_.size()) return std::nullopt;
  return std::move(ready_[next_ready_++]);
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::StatusOr<absl::Time> ParseTime(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return t;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &error)) {
    return t;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", text,
      "\" is not an RFC 3339 time (2024-05-02T14:00:00Z) or a date "
      "(2024-05-02)"));
}

}  // namespace rapport::ctl
