#include "common/util/util.h"

#include <string>

#include "gtest/gtest.h"
#include "rapport/scoring/v1/scoring.pb.h"

namespace rapport::util {
namespace {

TEST(AppendLengthDelimitedHeaderTest, FramesAnEmbeddedMessageSerializedOnce) {
  scoring::v1::ScoreReport report;
  report.set_score(42);
  for (int i = 0; i < 20; ++i) {  // long enough for a two-byte length
    scoring::v1::Finding* f = report.add_findings();
    f->set_rule_id("focus.self_centred");
    f->set_excerpt("We are the leading provider");
  }
  const std::string report_bytes = report.SerializeAsString();
  ASSERT_GT(report_bytes.size(), 127u);

  scoring::v1::ScoreMessagesResponse head;
  head.set_request_id("req-1");
  head.set_index(7);
  std::string wire = head.SerializeAsString();
  AppendLengthDelimitedHeader(
      scoring::v1::ScoreMessagesResponse::kReportFieldNumber,
      report_bytes.size(), &wire);
  wire.append(report_bytes);

  scoring::v1::ScoreMessagesResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.request_id(), "req-1");
  EXPECT_EQ(parsed.index(), 7);
  ASSERT_TRUE(parsed.has_report());
  EXPECT_EQ(parsed.report().SerializeAsString(), report_bytes);

  // What protobuf itself would have written for the same message.
  scoring::v1::ScoreMessagesResponse whole = head;
  *whole.mutable_report() = report;
  EXPECT_EQ(wire, whole.SerializeAsString());
}

TEST(AppendLengthDelimitedHeaderTest, WritesTagAndLengthAsVarints) {
  std::string out = "x";
  AppendLengthDelimitedHeader(1, 0, &out);
  EXPECT_EQ(out, std::string("x\x0a\x00", 3));
  out.clear();
  // Field 16: tag (16 << 3) | 2 = 130; length 300: two bytes each.
  AppendLengthDelimitedHeader(16, 300, &out);
  EXPECT_EQ(out, "\x82\x01\xac\x02");
}

}  // namespace
}  // namespace rapport::util
