#include "bench/loadgen/report.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::loadgen {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

RunSummary Sample() {
  std::vector<WorkerStats> workers(2);
  for (int64_t i = 1; i <= 1000; ++i) workers[i % 2].RecordOk(i * 1000);
  workers[0].RecordError(14);
  return Merge(workers, 1.0);
}

RunInfo Info() {
  RunInfo info;
  info.method = "/rapport.bench.v1.EchoService/Echo";
  info.target = "127.0.0.1:50050";
  info.concurrency = 16;
  info.channels = 4;
  info.warmup_s = 1;
  info.duration_s = 10;
  info.request_bytes = 1027;
  return info;
}

TEST(FormatJsonTest, IsOneValidObjectWithStableKeys) {
  const std::string json = FormatJson(Info(), Sample());
  EXPECT_EQ(json.find('\n'), json.size() - 1);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  const auto& f = parsed.fields();
  EXPECT_EQ(f.at("method").string_value(),
            "/rapport.bench.v1.EchoService/Echo");
  EXPECT_EQ(f.at("calls").number_value(), 1001);
  EXPECT_EQ(f.at("ok").number_value(), 1000);
  EXPECT_EQ(f.at("errors").number_value(), 1);
  EXPECT_EQ(f.at("qps").number_value(), 1001);
  EXPECT_EQ(f.at("request_bytes").number_value(), 1027);
  const auto& latency = f.at("latency_us").struct_value().fields();
  EXPECT_EQ(latency.at("p50").number_value(), 500);
  EXPECT_EQ(latency.at("p90").number_value(), 900);
  EXPECT_EQ(latency.at("p99").number_value(), 990);
  EXPECT_EQ(latency.at("p999").number_value(), 999);
  EXPECT_EQ(latency.at("max").number_value(), 1000);
  EXPECT_EQ(f.at("errors_by_code")
                .struct_value()
                .fields()
                .at("UNAVAILABLE")
                .number_value(),
            1);
}

TEST(FormatJsonTest, UnaryRunWithoutVaryHasOnlyTheUnaryKeys) {
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  FormatJson(Info(), Sample()), &parsed)
                  .ok());
  for (const char* key : {"mode", "window", "item_errors", "streams",
                          "streams_failed", "vary", "request_lines"}) {
    EXPECT_FALSE(parsed.fields().contains(key)) << key;
  }
  EXPECT_EQ(parsed.fields().size(), 13u);
}

TEST(FormatJsonTest, StreamAndVaryAddTheirKeys) {
  RunInfo info = Info();
  info.bidi_streaming = true;
  info.window = 8;
  info.item_error_field = "error";
  info.vary = {"message.body", "message.subject"};
  info.variants = 1000;
  info.request_lines = 3;
  std::vector<WorkerStats> workers(1);
  workers[0].RecordOk(1000);
  workers[0].RecordItemError(3);
  workers[0].streams = 1;
  const std::string json = FormatJson(info, Merge(workers, 1.0));
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  const auto& f = parsed.fields();
  EXPECT_EQ(f.at("mode").string_value(), "bidi");
  EXPECT_EQ(f.at("window").number_value(), 8);
  EXPECT_EQ(f.at("item_error_field").string_value(), "error");
  EXPECT_EQ(f.at("streams").number_value(), 1);
  EXPECT_EQ(f.at("streams_failed").number_value(), 0);
  EXPECT_EQ(f.at("item_errors").number_value(), 1);
  EXPECT_EQ(f.at("errors").number_value(), 1);
  EXPECT_EQ(f.at("errors_by_code")
                .struct_value()
                .fields()
                .at("ITEM_INVALID_ARGUMENT")
                .number_value(),
            1);
  ASSERT_EQ(f.at("vary").list_value().values_size(), 2);
  EXPECT_EQ(f.at("vary").list_value().values(1).string_value(),
            "message.subject");
  EXPECT_EQ(f.at("variants").number_value(), 1000);
  EXPECT_EQ(f.at("request_lines").number_value(), 3);
  EXPECT_THAT(FormatText(info, Merge(workers, 1.0)),
              AllOf(HasSubstr("item errors 1 (field error)"),
                    HasSubstr("message.body, message.subject (1000 variants)"),
                    HasSubstr("3 lines")));
}

TEST(FormatTextTest, ShowsQpsPercentilesAndErrors) {
  const std::string text = FormatText(Info(), Sample());
  EXPECT_THAT(text, HasSubstr("qps       1001.0"));
  EXPECT_THAT(text, HasSubstr("p99.9 999.0 us"));
  EXPECT_THAT(text, HasSubstr("UNAVAILABLE 1"));
}

}  // namespace
}  // namespace rapport::loadgen
