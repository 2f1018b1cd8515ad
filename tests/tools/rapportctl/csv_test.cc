#include "tools/rapportctl/csv.h"

#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

TEST(CsvReaderTest, ReadsPlainRecordsWithLineNumbers) {
  const auto records = ParseCsv("a,b,c\n1,2,3\n");
  ASSERT_THAT(records, SizeIs(2));
  EXPECT_THAT(records[0].fields, ElementsAre("a", "b", "c"));
  EXPECT_THAT(records[1].fields, ElementsAre("1", "2", "3"));
  EXPECT_EQ(records[0].line, 1);
  EXPECT_EQ(records[1].line, 2);
  EXPECT_THAT(records[1].error, IsEmpty());
}

TEST(CsvReaderTest, QuotedFieldKeepsCommas) {
  const auto records =
      ParseCsv("name,company\n\"Grant, Mitchell\",\"Acme, Inc\"\n");
  ASSERT_THAT(records, SizeIs(2));
  EXPECT_THAT(records[1].fields, ElementsAre("Grant, Mitchell", "Acme, Inc"));
}

TEST(CsvReaderTest, DoubledQuoteIsOneQuote) {
  const auto records =
      ParseCsv("a,b\n\"She said \"\"call me Kate\"\"\",x\n\"\"\"\",\"\"\n");
  ASSERT_THAT(records, SizeIs(3));
  EXPECT_THAT(records[1].fields, ElementsAre("She said \"call me Kate\"", "x"));
  EXPECT_THAT(records[2].fields, ElementsAre("\"", ""));
}

TEST(CsvReaderTest, EmbeddedNewlineKeepsStartLineAndAdvancesCount) {
  const auto records =
      ParseCsv("id,notes\n1,\"line one\nline two\nline three\"\n2,plain\n");
  ASSERT_THAT(records, SizeIs(3));
  EXPECT_THAT(records[1].fields,
              ElementsAre("1", "line one\nline two\nline three"));
  EXPECT_EQ(records[1].line, 2);
  EXPECT_EQ(records[1].end_line, 4);
  EXPECT_THAT(records[2].fields, ElementsAre("2", "plain"));
  EXPECT_EQ(records[2].line, 5);
}

TEST(CsvReaderTest, CrlfLineEnds) {
  const auto records = ParseCsv("a,b\r\n1,\"x\r\ny\"\r\n2,3\r\n");
  ASSERT_THAT(records, SizeIs(3));
  EXPECT_THAT(records[0].fields, ElementsAre("a", "b"));
  // A CRLF inside quotes is data.
  EXPECT_THAT(records[1].fields, ElementsAre("1", "x\r\ny"));
  EXPECT_THAT(records[2].fields, ElementsAre("2", "3"));
  EXPECT_EQ(records[2].line, 4);
}

TEST(CsvReaderTest, StripsUtf8ByteOrderMark) {
  const auto records = ParseCsv(
      "\xEF\xBB\xBF"
      "First Name,Email\nZo\xC3\xAB,z@example.com\n");
  ASSERT_THAT(records, SizeIs(2));
  EXPECT_EQ(records[0].fields[0], "First Name");
  EXPECT_EQ(records[1].fields[0], "Zo\xC3\xAB");
}

TEST(CsvReaderTest, LastLineWithoutNewline) {
  const auto records = ParseCsv("a,b\n1,2");
  ASSERT_THAT(records, SizeIs(2));
  EXPECT_THAT(records[1].fields, ElementsAre("1", "2"));
  EXPECT_EQ(records[1].line, 2);
}

TEST(CsvReaderTest, RaggedRowsAreReturnedAsRead) {
  // Column counts are checked by the importer, which knows the header.
  const auto records = ParseCsv("a,b,c\n1,2\n1,2,3,4\n,,\n");
  ASSERT_THAT(records, SizeIs(4));
  EXPECT_THAT(records[1].fields, SizeIs(2));
  EXPECT_THAT(records[2].fields, SizeIs(4));
  EXPECT_THAT(records[3].fields, ElementsAre("", "", ""));
  EXPECT_TRUE(IsBlankRecord(records[3]));
  EXPECT_FALSE(IsBlankRecord(records[2]));
}

TEST(CsvReaderTest, SkipsBlankLinesButCountsThem) {
  const auto records = ParseCsv("a,b\n\n   \n1,2\n\r\n3,4\n");
  ASSERT_THAT(records, SizeIs(3));
  EXPECT_EQ(records[1].line, 4);
  EXPECT_EQ(records[2].line, 6);
}

TEST(CsvReaderTest, TrailingCommaIsAnEmptyLastField) {
  const auto records = ParseCsv("a,b,\n");
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_THAT(records[0].fields, ElementsAre("a", "b", ""));
}

TEST(CsvReaderTest, MalformedQuotingIsReportedAndReadingContinues) {
  const auto records = ParseCsv("a,b\n1,\"closed\"junk\n2,ok\n");
  ASSERT_THAT(records, SizeIs(3));
  EXPECT_THAT(records[1].error, HasSubstr("malformed quoting"));
  EXPECT_EQ(records[1].line, 2);
  EXPECT_THAT(records[2].error, IsEmpty());
  EXPECT_THAT(records[2].fields, ElementsAre("2", "ok"));
  EXPECT_EQ(records[2].line, 3);
}

TEST(CsvReaderTest, UnterminatedQuoteAtEndIsAnError) {
  const auto records = ParseCsv("a,b\n1,2\n3,\"never closed\n4,5\n");
  ASSERT_THAT(records, SizeIs(3));
  EXPECT_THAT(records[1].error, IsEmpty());
  EXPECT_THAT(records[2].error, HasSubstr("unterminated"));
  EXPECT_EQ(records[2].line, 3);
}

TEST(CsvReaderTest, ReadsFromAStreamIncrementally) {
  std::string text = "id,name\n";
  for (int i = 0; i < 1000; ++i) {
    text += std::to_string(i) + ",\"Name, " + std::to_string(i) + "\"\n";
  }
  std::istringstream in(text);
  CsvReader reader(&in);
  CsvRecord record;
  int count = 0;
  while (reader.Next(&record)) {
    ASSERT_THAT(record.error, IsEmpty());
    ASSERT_EQ(record.line, count + 1);
    ++count;
  }
  EXPECT_EQ(count, 1001);
  EXPECT_EQ(record.fields[1], "Name, 999");
}

}  // namespace
}  // namespace rapport::ctl
