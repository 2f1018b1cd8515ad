#include "tools/rapportctl/csv_import.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/util/util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::ctl {
namespace {

using rapport::common::v1::Contact;
using rapport::profile::v1::RejectedContact;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Split(const std::string& line) {
  return absl::StrSplit(line, '|');
}

// A Salesforce "Contacts & Accounts" report export.
const char kSalesforceHeader[] =
    "Contact ID|Salutation|First Name|Last Name|Title|Account Name|Email|"
    "Phone|Mailing City|Email Opt Out|Contact Owner|Industry|Lead Source";

// A HubSpot contacts export.
const char kHubSpotHeader[] =
    "Record ID|First Name|Last Name|Email|Job Title|Company Name|Industry|"
    "Contact owner|Unsubscribed from all email|Lifecycle Stage|Time Zone|"
    "Nickname";

TEST(ContactIdFromEmailTest, IsStableAndIgnoresCaseAndSpaces) {
  EXPECT_EQ(ContactIdFromEmail("mitch.grant@example.com"),
            "email-16575c6559c5092f");
  EXPECT_EQ(ContactIdFromEmail("  Mitch.Grant@Example.COM "),
            "email-16575c6559c5092f");
  EXPECT_NE(ContactIdFromEmail("kate@example.org"),
            ContactIdFromEmail("kate@example.net"));
}

TEST(HeaderTest, NormalizesAndDerivesKeys) {
  EXPECT_EQ(NormalizeHeader(" First Name "), "firstname");
  EXPECT_EQ(NormalizeHeader("first_name"), "firstname");
  EXPECT_EQ(NormalizeHeader("HasOptedOutOfEmail"), "hasoptedoutofemail");
  EXPECT_EQ(NormalizeHeader("Preferred_Name__c"), "preferredname");
  EXPECT_EQ(CustomFieldKey("Lead Source"), "lead_source");
  EXPECT_EQ(CustomFieldKey("  # of Employees (2024) "), "of_employees_2024");
  EXPECT_EQ(CustomFieldKey("***"), "");
  EXPECT_EQ(OwnerIdFromText("Jane  Smith"), "jane.smith");
  EXPECT_EQ(OwnerIdFromText("jane@example.com"), "jane@example.com");
  EXPECT_EQ(OwnerIdFromText("005Dn000001abcD"), "005dn000001abcd");
}

TEST(ContactCsvMapperTest, MapsSalesforceReportExport) {
  auto mapper = ContactCsvMapper::FromHeader(Split(kSalesforceHeader));
  ASSERT_TRUE(mapper.ok()) << mapper.status();
  EXPECT_THAT(mapper->columns(),
              ElementsAre(ContactColumn::kId, ContactColumn::kCustom,
                          ContactColumn::kFirstName, ContactColumn::kLastName,
                          ContactColumn::kTitle, ContactColumn::kCompany,
                          ContactColumn::kEmail, ContactColumn::kCustom,
                          ContactColumn::kCustom, ContactColumn::kDoNotContact,
                          ContactColumn::kOwner, ContactColumn::kIndustry,
                          ContactColumn::kCustom));
  auto row = mapper->Map(
      Split("0035g00000AbCdE|Mr.|Mitchell|Grant|VP Sales|Acme Logistics|"
            "mitch.grant@acme-logistics.example.com|+1 555 0100|Denver|0|"
            "Jane Smith|Logistics|Webinar"));
  ASSERT_TRUE(row.ok()) << row.status();
  const Contact& c = row->contact;
  EXPECT_EQ(c.id(), "0035g00000AbCdE");
  EXPECT_EQ(c.full_name(), "Mitchell Grant");
  // Never guessed: "Mitchell" is what only his mother calls him.
  EXPECT_EQ(c.preferred_name(), "");
  EXPECT_EQ(c.title(), "VP Sales");
  EXPECT_EQ(c.company(), "Acme Logistics");
  EXPECT_EQ(c.industry(), "Logistics");
  EXPECT_EQ(c.email(), "mitch.grant@acme-logistics.example.com");
  EXPECT_EQ(c.owner_rep_id(), "jane.smith");
  EXPECT_FALSE(c.do_not_contact());
  EXPECT_THAT(c.custom_fields(),
              UnorderedElementsAre(Pair("salutation", "Mr."),
                                   Pair("phone", "+1 555 0100"),
                                   Pair("mailing_city", "Denver"),
                                   Pair("lead_source", "Webinar")));
  // Only the columns present are written; an opt-out of "0" writes nothing.
  EXPECT_THAT(row->mask,
              ElementsAre("custom_fields", "full_name", "title", "company",
                          "email", "owner_rep_id", "industry"));
}

TEST(ContactCsvMapperTest, MapsHubSpotExportWithOptOutAndNickname) {
  auto mapper = ContactCsvMapper::FromHeader(Split(kHubSpotHeader));
  ASSERT_TRUE(mapper.ok()) << mapper.status();
  auto row = mapper->Map(
      Split("51234|Katherine|Okafor|kate.okafor@example.org|Head of Revenue "
            "Operations|Northwind Health|Health Care|Bob Blah|Yes|"
            "salesqualifiedlead|Europe/London|Kate"));
  ASSERT_TRUE(row.ok()) << row.status();
  const Contact& c = row->contact;
  EXPECT_EQ(c.id(), "51234");
  EXPECT_EQ(c.full_name(), "Katherine Okafor");
  EXPECT_EQ(c.preferred_name(), "Kate");
  EXPECT_EQ(c.title(), "Head of Revenue Operations");
  EXPECT_EQ(c.company(), "Northwind Health");
  EXPECT_EQ(c.time_zone(), "Europe/London");
  EXPECT_EQ(c.owner_rep_id(), "bob.blah");
  EXPECT_TRUE(c.do_not_contact());
  EXPECT_THAT(c.do_not_contact_reason(),
              HasSubstr("Unsubscribed from all email"));
  EXPECT_THAT(c.custom_fields(), UnorderedElementsAre(Pair(
                                     "lifecycle_stage", "salesqualifiedlead")));
  EXPECT_THAT(row->mask, testing::Contains("do_not_contact"));
  EXPECT_THAT(row->mask, testing::Contains("preferred_name"));
}

TEST(ContactCsvMapperTest, DataLoaderApiNamesAndListsAndTriggerEvents) {
  auto mapper = ContactCsvMapper::FromHeader(
      Split("Id|FirstName|LastName|Email|HasOptedOutOfEmail|Priorities|"
            "Challenges|Trigger Events|LinkedIn URL"));
  ASSERT_TRUE(mapper.ok()) << mapper.status();
  auto row = mapper->Map(Split(
      "003A|Robert|Lindqvist|bob@example.net|false|cut onboarding time for "
      "new reps; forecast accuracy ;|rep churn in EMEA|2024-03-02: opened a "
      "new distribution hub in Denver; hired a new CRO|"
      "https://www.linkedin.com/in/example"));
  ASSERT_TRUE(row.ok()) << row.status();
  const Contact& c = row->contact;
  EXPECT_THAT(c.priorities(), ElementsAre("cut onboarding time for new reps",
                                          "forecast accuracy"));
  EXPECT_THAT(c.challenges(), ElementsAre("rep churn in EMEA"));
  ASSERT_THAT(c.trigger_events(), SizeIs(2));
  EXPECT_EQ(c.trigger_events(0).description(),
            "opened a new distribution hub in Denver");
  EXPECT_EQ(c.trigger_events(0).occurred_at().seconds(),
            absl::ToUnixSeconds(absl::FromCivil(absl::CivilDay(2024, 3, 2),
                                                absl::UTCTimeZone())));
  EXPECT_EQ(c.trigger_events(1).description(), "hired a new CRO");
  EXPECT_FALSE(c.trigger_events(1).has_occurred_at());
  EXPECT_EQ(c.linkedin_url(), "https://www.linkedin.com/in/example");
  EXPECT_FALSE(c.do_not_contact());
}

TEST(ContactCsvMapperTest, DerivesIdFromEmailWhenNoIdColumn) {
  auto mapper =
      ContactCsvMapper::FromHeader(Split("Full Name|Email Address|Company"));
  ASSERT_TRUE(mapper.ok()) << mapper.status();
  auto row = mapper->Map(Split("Mitchell Grant|Mitch.Grant@example.com|Acme"));
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->contact.id(), "email-16575c6559c5092f");
  EXPECT_EQ(row->contact.full_name(), "Mitchell Grant");

  auto no_email = mapper->Map(Split("Someone|   |Acme"));
  ASSERT_FALSE(no_email.ok());
  EXPECT_THAT(no_email.status().message(), HasSubstr("no id and no email"));
}

TEST(ContactCsvMapperTest, RejectsHeaderWithoutIdOrEmail) {
  auto mapper = ContactCsvMapper::FromHeader(Split("First Name|Last Name"));
  ASSERT_FALSE(mapper.ok());
  EXPECT_THAT(mapper.status().message(), HasSubstr("neither an id"));
}

TEST(ContactCsvMapperTest, WrongFieldCountAndBadOptOutAreRowErrors) {
  auto mapper = ContactCsvMapper::FromHeader(Split("Id|Name|Do Not Contact"));
  ASSERT_TRUE(mapper.ok());
  auto short_row = mapper->Map({"1", "A"});
  ASSERT_FALSE(short_row.ok());
  EXPECT_THAT(short_row.status().message(),
              HasSubstr("expected 3 fields as in the header, found 2"));
  auto bad = mapper->Map({"1", "A", "maybe"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("Do Not Contact"));
}

TEST(ContactCsvMapperTest, KeepsAtMost64CustomFieldsAndWarns) {
  std::vector<std::string> header = {"Id"};
  for (int i = 0; i < 70; ++i) header.push_back("Extra " + std::to_string(i));
  auto mapper = ContactCsvMapper::FromHeader(header);
  ASSERT_TRUE(mapper.ok());
  ASSERT_THAT(mapper->warnings(), SizeIs(1));
  EXPECT_THAT(mapper->warnings()[0], HasSubstr("6 skipped: Extra 64"));
  std::vector<std::string> row(header.size(), "v");
  auto mapped = mapper->Map(row);
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(mapped->contact.custom_fields_size(), 64);
}

TEST(ContactCsvMapperTest, CutsLongCustomValuesOnACharacterBoundary) {
  auto mapper = ContactCsvMapper::FromHeader({"Id", "Name", "Description"});
  ASSERT_TRUE(mapper.ok());
  std::string long_value(1023, 'a');
  long_value += "\xC3\xA9\xC3\xA9";  // "éé" straddles byte 1024
  auto mapped = mapper->Map({"1", "A", long_value});
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(mapped->truncated_values, 1);
  EXPECT_EQ(mapped->contact.custom_fields().at("description").size(), 1023u);
}

TEST(ContactCsvSourceTest, MapsServerIndexesBackToRowsAndLines) {
  // Line 1 header; row 1 on line 2; row 2 spans lines 3-4 (a quoted line
  // break); a blank line 5; row 3 on line 6 is ragged and never sent; row 4
  // on line 7; row 5 on line 8 opts out (its own batch: another mask).
  std::istringstream in(
      "Id,Name,Email,Email Opt Out\n"
      "c1,\"Grant, Mitchell\",mitch@example.com,\n"
      "c2,\"Two\nLines\",bad-email,0\n"
      "\n"
      "c3,Ragged\n"
      "c4,Four,four@example.com,\n"
      "c5,Five,five@example.com,1\n");
  auto source = ContactCsvSource::Open(&in, 500);
  ASSERT_TRUE(source.ok()) << source.status();
  RowIndex index;
  std::vector<Batch> batches;
  while (std::optional<Batch> b = (*source)->Next()) {
    for (const RowIndex::Source& s : b->sources) index.Add(s.row, s.line);
    batches.push_back(*std::move(b));
  }
  ASSERT_THAT(batches, SizeIs(2));
  EXPECT_EQ(batches[0].request.contacts_size(), 3);
  EXPECT_EQ(batches[0].request.contacts(0).full_name(), "Grant, Mitchell");
  EXPECT_EQ(batches[0].request.contacts(1).full_name(), "Two\nLines");
  EXPECT_EQ(batches[1].request.contacts(0).id(), "c5");
  EXPECT_THAT(batches[1].request.update_mask().paths(),
              testing::Contains("do_not_contact"));
  EXPECT_THAT(batches[0].request.update_mask().paths(),
              testing::Not(testing::Contains("do_not_contact")));
  EXPECT_EQ((*source)->rows(), 5);
  ASSERT_THAT((*source)->rejected(), SizeIs(1));
  EXPECT_EQ((*source)->rejected()[0].row, 3);
  EXPECT_EQ((*source)->rejected()[0].line, 6);
  EXPECT_THAT((*source)->rejected()[0].reason, HasSubstr("found 2"));

  // The server rejects stream index 1 (c2) and 3 (c5).
  RejectedContact r;
  r.set_index(1);
  r.set_field("email");
  r.set_reason("not an email address");
  EXPECT_EQ(FormatRejected(r, index),
            "row 2 (line 3): email: not an email address");
  r.set_index(3);
  r.set_field("");
  r.set_reason("tenant quota reached");
  EXPECT_EQ(FormatRejected(r, index), "row 5 (line 8): tenant quota reached");
  r.set_index(9);
  EXPECT_THAT(FormatRejected(r, index), HasSubstr("stream index 9"));
}

TEST(ContactCsvSourceTest, RejectsMalformedRowsAndKeepsGoing) {
  std::istringstream in(
      "Email,Name\n"
      "a@example.com,\"Broken\"quote\n"
      "b@example.com,Fine\n");
  auto source = ContactCsvSource::Open(&in, 500);
  ASSERT_TRUE(source.ok());
  std::optional<Batch> b = (*source)->Next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->request.contacts_size(), 1);
  EXPECT_EQ(b->sources[0].line, 3);
  EXPECT_FALSE((*source)->Next().has_value());
  ASSERT_THAT((*source)->rejected(), SizeIs(1));
  EXPECT_EQ((*source)->rejected()[0].line, 2);
}

TEST(ContactCsvSourceTest, HeaderErrorsNameTheLine) {
  std::istringstream empty("");
  EXPECT_FALSE(ContactCsvSource::Open(&empty, 500).ok());
  std::istringstream no_key("\n\nFirst Name,Last Name\n");
  auto source = ContactCsvSource::Open(&no_key, 500);
  ASSERT_FALSE(source.ok());
  EXPECT_THAT(source.status().message(), HasSubstr("line 3"));
}

TEST(BatchBuilderTest, CutsBatchesBySizeAndMask) {
  BatchBuilder builder(2);
  std::vector<Batch> ready;
  auto contact = [](const std::string& id, std::vector<std::string> mask) {
    MappedContact m;
    m.contact.set_id(id);
    m.mask = std::move(mask);
    return m;
  };
  builder.Add(contact("a", {"full_name"}), {1, 2}, &ready);
  EXPECT_THAT(ready, IsEmpty());
  builder.Add(contact("b", {"full_name"}), {2, 3}, &ready);
  ASSERT_THAT(ready, SizeIs(1));
  builder.Add(contact("c", {"full_name"}), {3, 4}, &ready);
  builder.Add(contact("d", {"full_name", "do_not_contact"}), {4, 5}, &ready);
  ASSERT_THAT(ready, SizeIs(2));
  EXPECT_EQ(ready[1].request.contacts_size(), 1);
  EXPECT_EQ(ready[1].request.contacts(0).id(), "c");
  std::optional<Batch> last = builder.Flush();
  ASSERT_TRUE(last.has_value());
  EXPECT_THAT(last->request.update_mask().paths(),
              ElementsAre("full_name", "do_not_contact"));
  EXPECT_EQ(last->sources[0].line, 5);
  EXPECT_FALSE(builder.Flush().has_value());
}

TEST(InteractionCsvMapperTest, MapsRowsWithStableIds) {
  auto mapper = InteractionCsvMapper::FromHeader(
      {"contact_id", "kind", "direction", "days_ago", "topics", "outcome"});
  ASSERT_TRUE(mapper.ok()) << mapper.status();
  const absl::Time now = absl::FromUnixSeconds(1714000000);
  auto a = mapper->Map(
      {"c1", "Email_Sent", "", "2.5", "rep onboarding; ramp time", ""}, now);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->kind(), rapport::profile::v1::INTERACTION_KIND_EMAIL_SENT);
  EXPECT_EQ(a->direction(), rapport::profile::v1::DIRECTION_OUTBOUND);
  EXPECT_EQ(a->occurred_at().seconds(), 1714000000 - 216000);
  EXPECT_THAT(a->topics(), ElementsAre("rep onboarding", "ramp time"));
  // An equal row is another interaction; the same file read again gives
  // the same ids.
  auto b = mapper->Map(
      {"c1", "email_sent", "", "2.5", "rep onboarding; ramp time", ""}, now);
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->id(), b->id());
  auto again = InteractionCsvMapper::FromHeader(
      {"contact_id", "kind", "direction", "days_ago", "topics", "outcome"});
  auto a2 = again->Map(
      {"c1", "email_sent", "", "2.5", "rep onboarding; ramp time", ""}, now);
  EXPECT_EQ(a->id(), a2->id());

  auto meeting =
      mapper->Map({"c1", "meeting", "inbound", "1", "", "booked"}, now);
  ASSERT_TRUE(meeting.ok()) << meeting.status();
  EXPECT_EQ(meeting->outcome(), rapport::common::v1::OUTCOME_MEETING_BOOKED);

  auto call = mapper->Map({"c1", "call", "", "1", "", ""}, now);
  ASSERT_FALSE(call.ok());
  EXPECT_THAT(call.status().message(), HasSubstr("direction"));
  auto bad_kind = mapper->Map({"c1", "fax", "inbound", "1", "", ""}, now);
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_THAT(bad_kind.status().message(), HasSubstr("kind"));
}

TEST(TimeTest, ParsesRfc3339AndDates) {
  auto t = ParseTime("2024-05-02T14:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(absl::ToUnixSeconds(*t), 1714658400);
  auto offset = ParseTime("2024-05-02T16:00:00+02:00");
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(*offset, *t);
  auto day = ParseTime("2024-05-02");
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(absl::ToUnixSeconds(*day), 1714608000);
  EXPECT_FALSE(ParseTime("yesterday").ok());
  EXPECT_EQ(FromProto(util::ToTimestamp(*t + absl::Nanoseconds(5))),
            *t + absl::Nanoseconds(5));
}

}  // namespace
}  // namespace rapport::ctl
