#include "bench/loadgen/item_error.h"

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/bench/v1/echo.pb.h"
#include "rapport/scoring/v1/scoring.pb.h"

namespace rapport::loadgen {
namespace {

using scoring::v1::ScoreMessagesResponse;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::StartsWith;

std::string Message(const absl::Status& status) {
  return {status.message().data(), status.message().size()};
}

ItemErrorDetector Detector(std::optional<std::string> path) {
  auto d =
      ItemErrorDetector::Create(*ScoreMessagesResponse::descriptor(), path);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : ItemErrorDetector();
}

// A scored answer shaped like the real ones: fields before and after the
// oneof, a report with dimensions and findings to skip over.
ScoreMessagesResponse Scored() {
  ScoreMessagesResponse r;
  r.set_request_id("req-7");
  r.set_index(7);
  auto* report = r.mutable_report();
  report->set_message_id("m-1");
  report->set_score(62.5);
  for (int i = 0; i < 11; ++i) {
    auto* d = report->add_dimensions();
    d->set_dimension(static_cast<scoring::v1::Dimension>(i + 1));
    d->set_score(80);
    d->set_summary("4 of 5 sentences are about you");
  }
  for (int i = 0; i < 8; ++i) {
    auto* f = report->add_findings();
    f->set_rule_id("name.formal_name");
    f->set_start(10);
    f->set_end(18);
    f->set_excerpt("Mitchell");
    f->set_explanation("Only his mother calls him Mitchell.");
    f->set_suggestion("Say Mitch, not Mitchell.");
  }
  report->set_rules_version("3-0123456789ab");
  return r;
}

ScoreMessagesResponse Failed(int code) {
  ScoreMessagesResponse r;
  r.set_request_id("req-8");
  r.set_index(8);
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_message("message.body: empty");
  return r;
}

TEST(ItemErrorDetectorTest, DefaultsToTheResponsesErrorField) {
  const ItemErrorDetector d = Detector(std::nullopt);
  EXPECT_TRUE(d.enabled());
  EXPECT_EQ(d.field(), "error");
}

TEST(ItemErrorDetectorTest, ScoredResponseIsNotAnError) {
  const ItemErrorDetector d = Detector(std::nullopt);
  EXPECT_EQ(d.Find(Scored().SerializeAsString()), std::nullopt);
  EXPECT_EQ(d.Find(ScoreMessagesResponse().SerializeAsString()), std::nullopt);
}

TEST(ItemErrorDetectorTest, ErrorResponseIsFoundWithItsCode) {
  const ItemErrorDetector d = Detector(std::nullopt);
  EXPECT_THAT(d.Find(Failed(3).SerializeAsString()), Optional(3));
  EXPECT_THAT(d.Find(Failed(5).SerializeAsString()), Optional(5));
  // An error without a code still is an error.
  ScoreMessagesResponse bare;
  bare.mutable_error();
  EXPECT_THAT(d.Find(bare.SerializeAsString()), Optional(0));
}

TEST(ItemErrorDetectorTest, ReadsAResponseSplitOverSlices) {
  const ItemErrorDetector d = Detector("error");
  for (const ScoreMessagesResponse& r : {Failed(3), Scored()}) {
    const std::string wire = r.SerializeAsString();
    // Split inside the leading fields, so tags and lengths straddle slices.
    grpc::Slice slices[] = {grpc::Slice(wire.substr(0, 3)),
                            grpc::Slice(wire.substr(3, 5)),
                            grpc::Slice(wire.substr(8))};
    grpc::ByteBuffer buffer(slices, 3);
    EXPECT_EQ(d.Find(buffer), d.Find(wire));
  }
  grpc::ByteBuffer empty;
  EXPECT_EQ(d.Find(empty), std::nullopt);
}

TEST(ItemErrorDetectorTest, NestedPathsAndScalarFields) {
  // report.cached: a bool inside the report, "set" when true.
  const ItemErrorDetector cached = Detector("report.cached");
  EXPECT_EQ(cached.field(), "report.cached");
  ScoreMessagesResponse r = Scored();
  EXPECT_EQ(cached.Find(r.SerializeAsString()), std::nullopt);
  r.mutable_report()->set_cached(true);
  EXPECT_THAT(cached.Find(r.SerializeAsString()), Optional(0));
  // JSON names work too.
  EXPECT_EQ(Detector("report.rulesVersion").field(), "report.rules_version");
}

TEST(ItemErrorDetectorTest, NoneAndEmptyDisableIt) {
  for (const char* off : {"", "none"}) {
    const ItemErrorDetector d = Detector(std::string(off));
    EXPECT_FALSE(d.enabled());
    EXPECT_EQ(d.Find(Failed(3).SerializeAsString()), std::nullopt);
  }
  // A response type without an "error" field: off by default.
  auto echo = ItemErrorDetector::Create(*bench::v1::EchoResponse::descriptor(),
                                        std::nullopt);
  ASSERT_TRUE(echo.ok());
  EXPECT_FALSE(echo->enabled());
}

TEST(ItemErrorDetectorTest, MalformedResponseIsAnError) {
  const ItemErrorDetector d = Detector(std::nullopt);
  EXPECT_THAT(d.Find(std::string("\x22\x7f", 2)),  // length past the end
              Optional(ItemErrorDetector::kMalformedCode));
  EXPECT_THAT(d.Find(std::string("\x0b", 1)),  // a group start: not proto3
              Optional(ItemErrorDetector::kMalformedCode));
}

TEST(ItemErrorDetectorTest, BadPathsNameTheFlag) {
  const std::pair<const char*, const char*> cases[] = {
      {"eror", "ScoreMessagesResponse has no field \"eror\""},
      {"index.x", "index has type int64, not a message"},
      {"report.findings.rule_id", "report.findings is repeated"},
  };
  for (const auto& [path, why] : cases) {
    auto d = ItemErrorDetector::Create(*ScoreMessagesResponse::descriptor(),
                                       std::string(path));
    ASSERT_FALSE(d.ok()) << path;
    EXPECT_THAT(Message(d.status()), AllOf(StartsWith("--item-error-field: "),
                                           HasSubstr(path), HasSubstr(why)));
  }
}

}  // namespace
}  // namespace rapport::loadgen
