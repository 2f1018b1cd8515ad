#pragma once

// From CRM export rows to API messages: the header of a Salesforce or
// HubSpot contact export mapped to Contact fields, rows to Contacts, rows
// batched into ImportContactsRequest messages, and the server's stream
// index of a rejected contact mapped back to the CSV row and line. Pure: no
// I/O, no RPCs, so all of it is unit-tested.

#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/profile/v1/profile.pb.h"
#include "tools/rapportctl/csv.h"

namespace rapport::ctl {

// "email-" + the first 16 hex digits of sha256(lower-cased, trimmed email):
// a stable contact id for exports without an id column, the same for every
// import of the same person.
std::string ContactIdFromEmail(absl::string_view email);

// A header cell reduced to what identifies it: lower case, letters and
// digits only ("First Name", "first_name" and "FirstName" are "firstname"),
// without the "__c" of Salesforce custom field API names
// ("Preferred_Name__c" is "preferredname").
std::string NormalizeHeader(absl::string_view header);

// "Lead Source" -> "lead_source": a custom_fields key ([A-Za-z0-9_.-],
// 1-64 bytes); empty when nothing is left.
std::string CustomFieldKey(absl::string_view header);

// A free-text owner ("Jane Smith", "jane@example.com") as an ID
// ("jane.smith"); empty when nothing usable is left.
std::string OwnerIdFromText(absl::string_view text);

// A ';'-separated cell as a list: items trimmed, empty items dropped.
std::vector<std::string> SplitList(absl::string_view cell);

// "2024-03-02: opened a hub in Denver" (or an RFC 3339 time before ": ")
// is a trigger event with its date; anything else is the description only.
rapport::common::v1::TriggerEvent ParseTriggerEvent(absl::string_view text);

// The Contact field a CSV column fills.
enum class ContactColumn {
  kId,
  kFirstName,
  kLastName,
  kFullName,
  kPreferredName,
  kEmail,
  kTitle,
  kCompany,
  kIndustry,
  kPriorities,
  kChallenges,
  kTriggerEvents,
  kDoNotContact,
  kLinkedIn,
  kTimeZone,
  kLocale,
  kOwner,
  kCustom,   // kept in custom_fields under a key derived from the header
  kIgnored,  // no header text, or past the custom_fields limit
};

// A contact made from one row, with the update mask it must be sent with.
struct MappedContact {
  rapport::common::v1::Contact contact;
  // Top-level Contact fields this row writes (UpsertContactRequest
  // update_mask semantics): the mapped columns, so fields the export does
  // not carry (priorities learned in Rapport, for one) are kept.
  std::vector<std::string> mask;
  // Custom field values of this row cut to kMaxCustomValueBytes.
  int truncated_values = 0;
};

// Header names (after NormalizeHeader) of Salesforce report and Data Loader
// exports and HubSpot contact exports:
//   id              Contact ID, Record ID, Id
//   full_name       First Name + Last Name, or Full Name / Name
//   preferred_name  Preferred Name, Nickname
//   email           Email, Email Address
//   title           Title, Job Title
//   company         Account Name, Company Name, Company
//   industry        Industry
//   priorities      Priorities (';'-separated)
//   challenges      Challenges (';'-separated)
//   trigger_events  Trigger Events (';'-separated, "YYYY-MM-DD: text")
//   do_not_contact  Do Not Contact, Email Opt Out, Unsubscribed from all
//                   email, HasOptedOutOfEmail (true/1/yes)
//   linkedin_url    LinkedIn URL, LinkedIn
//   time_zone       Time Zone
//   locale          Locale, Language
//   owner_rep_id    Contact Owner, Owner, Owner ID
// Every other column goes to custom_fields (at most 64; the rest are
// skipped with a warning). The first non-empty of several columns mapped to
// one field wins.
class ContactCsvMapper {
 public:
  static constexpr int kMaxCustomFields = 64;
  static constexpr size_t kMaxCustomValueBytes = 1024;

  // Fails when the header has neither an id nor an email column (no way to
  // tell contacts apart).
  static absl::StatusOr<ContactCsvMapper> FromHeader(
      const std::vector<std::string>& header);

  // The contact of one data row. INVALID_ARGUMENT for a row that cannot be
  // sent: wrong number of fields, no id and no email, an unreadable
  // do-not-contact value. The message names the column.
  absl::StatusOr<MappedContact> Map(
      const std::vector<std::string>& fields) const;

  // Things a person should know about the header (skipped columns).
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::vector<ContactColumn>& columns() const { return columns_; }
  size_t width() const { return header_.size(); }

 private:
  ContactCsvMapper() = default;

  std::vector<std::string> header_;
  std::vector<ContactColumn> columns_;
  std::vector<std::string> custom_keys_;  // per column; empty unless kCustom
  std::vector<std::string> base_mask_;
  std::vector<std::string> warnings_;
};

// The Interaction of one row of an interactions CSV, for demos and
// back-fills. Columns (any order, header names as NormalizeHeader reads
// them): contact_id, kind, direction, days_ago (a number, may be
// fractional) or occurred_at (RFC 3339), topics (';'-separated), and
// optionally id, outcome, talk_ratio, duration_minutes. kind, direction and
// outcome are enum values as ParseEnum reads them ("email_sent").
class InteractionCsvMapper {
 public:
  static absl::StatusOr<InteractionCsvMapper> FromHeader(
      const std::vector<std::string>& header);

  // `now` anchors days_ago. Rows without an id column get a stable id
  // derived from the row's content (and its occurrence count among equal
  // rows), so importing the same file twice records nothing twice.
  absl::StatusOr<rapport::profile::v1::Interaction> Map(
      const std::vector<std::string>& fields, absl::Time now);

 private:
  InteractionCsvMapper() = default;
  std::map<std::string, int> index_;  // normalized column name -> position
  size_t width_ = 0;
  std::map<std::string, int> seen_;  // content key -> occurrences so far
};

// The direction an interaction kind implies when none is given: sent
// emails are outbound, replies and event attendance inbound; nullopt for
// calls, meetings and LinkedIn messages, which go both ways.
std::optional<rapport::profile::v1::Direction> DefaultDirection(
    rapport::profile::v1::InteractionKind kind);

// Where each contact of an import stream came from, in stream order: the
// server reports rejected contacts by their zero-based stream index.
class RowIndex {
 public:
  struct Source {
    int row = 0;   // 1-based data row of the CSV (the header is row 0)
    int line = 0;  // 1-based physical line where that row starts
  };

  void Add(int row, int line) { sources_.push_back({row, line}); }
  // nullopt for an index the client never sent.
  std::optional<Source> Find(int index) const;
  size_t size() const { return sources_.size(); }
  void Clear() { sources_.clear(); }

 private:
  std::vector<Source> sources_;
};

// "row 7 (line 9): email: not an email address"
std::string FormatRejected(const rapport::profile::v1::RejectedContact& r,
                           const RowIndex& index);

// One ImportContactsRequest and the CSV origin of each of its contacts.
struct Batch {
  rapport::profile::v1::ImportContactsRequest request;
  std::vector<RowIndex::Source> sources;
};

// Groups contacts into ImportContactsRequest messages of at most
// `batch_size`, starting a new message whenever the update mask changes
// (each message carries one mask).
class BatchBuilder {
 public:
  static constexpr int kMaxBatch = 500;  // ImportContactsRequest limit

  explicit BatchBuilder(int batch_size) : batch_size_(batch_size) {}

  // Adds a contact; batches that became complete are appended to `ready`.
  void Add(MappedContact contact, RowIndex::Source source,
           std::vector<Batch>* ready);
  // The last, partial batch, if any.
  std::optional<Batch> Flush();

 private:
  int batch_size_;
  std::vector<std::string> mask_;
  std::optional<Batch> current_;
};

// A row the CLI could not turn into a contact; it is not sent.
struct LocalReject {
  int row = 0;
  int line = 0;
  std::string reason;
};

// A contact export read as batches ready to stream: the header is mapped
// on Open, rows are read as batches are asked for (memory stays flat),
// unreadable rows are kept in rejected() and skipped, all-empty rows are
// skipped silently. Rows are numbered from 1 after the header, blank rows
// not counted.
class ContactCsvSource {
 public:
  // Reads and maps the header. Fails on an empty input, a malformed header
  // line or a header ContactCsvMapper refuses (the message names the line).
  static absl::StatusOr<std::unique_ptr<ContactCsvSource>> Open(
      std::istream* in, int batch_size);

  // The next batch to send; nullopt at the end of the input.
  std::optional<Batch> Next();

  const std::vector<LocalReject>& rejected() const { return rejected_; }
  const std::vector<std::string>& warnings() const {
    return mapper_.warnings();
  }
  int rows() const { return rows_; }
  int truncated_values() const { return truncated_values_; }
  bool read_error() const { return reader_->bad(); }

 private:
  ContactCsvSource(std::unique_ptr<CsvReader> reader, ContactCsvMapper mapper,
                   int batch_size)
      : reader_(std::move(reader)),
        mapper_(std::move(mapper)),
        builder_(batch_size) {}

  std::unique_ptr<CsvReader> reader_;
  ContactCsvMapper mapper_;
  BatchBuilder builder_;
  std::vector<Batch> ready_;
  size_t next_ready_ = 0;
  bool done_ = false;
  int rows_ = 0;
  int truncated_values_ = 0;
  std::vector<LocalReject> rejected_;
};

absl::Time FromProto(const google::protobuf::Timestamp& t);
// RFC 3339 ("2024-05-02T14:00:00Z", offsets allowed) or a date
// ("2024-05-02", midnight UTC).
absl::StatusOr<absl::Time> ParseTime(absl::string_view text);

}  // namespace rapport::ctl
