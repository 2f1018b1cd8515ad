#include "bench/loadgen/options.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::loadgen {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// gMock's string matchers take std::string; absl::string_view is its own
// type in Debian's Abseil build.
std::string Message(const absl::Status& status) {
  return {status.message().data(), status.message().size()};
}

TEST(ParseOptionsTest, DefaultsAimAtEchoServer) {
  auto o = ParseOptions({});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->target, "127.0.0.1:50050");
  EXPECT_EQ(o->method, "rapport.bench.v1.EchoService/Echo");
  EXPECT_EQ(o->concurrency, 16);
  EXPECT_EQ(o->channels, 4);
  EXPECT_EQ(o->duration, absl::Seconds(10));
  EXPECT_EQ(o->warmup, absl::Seconds(1));
  EXPECT_EQ(o->deadline, absl::ZeroDuration());
  EXPECT_FALSE(o->json);
  EXPECT_FALSE(o->request_json.has_value());
}

TEST(ParseOptionsTest, AcceptsBothFlagForms) {
  auto o = ParseOptions({"--target=10.0.0.1:1", "--concurrency", "64",
                         "--channels=2", "--duration", "0.5", "--warmup=0",
                         "--deadline-ms", "250", "--json", "--request",
                         R"({"payload":"eA=="})"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->target, "10.0.0.1:1");
  EXPECT_EQ(o->concurrency, 64);
  EXPECT_EQ(o->channels, 2);
  EXPECT_EQ(o->duration, absl::Milliseconds(500));
  EXPECT_EQ(o->warmup, absl::ZeroDuration());
  EXPECT_EQ(o->deadline, absl::Milliseconds(250));
  EXPECT_TRUE(o->json);
  EXPECT_EQ(*o->request_json, R"({"payload":"eA=="})");
}

TEST(ParseOptionsTest, BadValuesNameTheFlag) {
  const std::pair<std::vector<std::string>, const char*> cases[] = {
      {{"--concurrency", "0"}, "--concurrency: "},
      {{"--channels=x"}, "--channels: "},
      {{"--duration", "-1"}, "--duration: "},
      {{"--warmup=abc"}, "--warmup: "},
      {{"--payload-bytes=-5"}, "--payload-bytes: "},
      {{"--deadline-ms", "1.5"}, "--deadline-ms: "},
      {{"--concurrency"}, "--concurrency: "},
      {{"--json=maybe"}, "--json: "},
  };
  for (const auto& [args, prefix] : cases) {
    auto o = ParseOptions(args);
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << prefix;
    EXPECT_THAT(Message(o.status()), StartsWith(prefix));
  }
}

TEST(ParseOptionsTest, RequestSourcesAreExclusive) {
  auto both = ParseOptions({"--request={}", "--request-file=f.json"});
  EXPECT_THAT(Message(both.status()), StartsWith("--request-file: "));
  auto payload = ParseOptions({"--request={}", "--payload-bytes=10"});
  EXPECT_THAT(Message(payload.status()), StartsWith("--payload-bytes: "));
}

TEST(ParseOptionsTest, StreamAndVariationFlags) {
  auto o = ParseOptions({"--window=8", "--item-error-field", "report.cached",
                         "--vary", "message.body", "--vary=message.subject",
                         "--variants=100000", "--request-lines=r.jsonl"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->window, 8);
  EXPECT_EQ(o->item_error_field, "report.cached");
  EXPECT_THAT(o->vary,
              ::testing::ElementsAre("message.body", "message.subject"));
  EXPECT_EQ(o->variants, 100000u);
  EXPECT_EQ(o->request_lines, "r.jsonl");

  auto defaults = ParseOptions({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->window.has_value());
  EXPECT_FALSE(defaults->item_error_field.has_value());
  EXPECT_TRUE(defaults->vary.empty());
  EXPECT_EQ(defaults->variants, 0u);
}

TEST(ParseOptionsTest, StreamAndVariationFlagErrorsNameTheFlag) {
  const std::pair<std::vector<std::string>, const char*> cases[] = {
      {{"--window=0"}, "--window: "},
      {{"--window=2000"}, "--window: "},
      {{"--vary="}, "--vary: "},
      {{"--variants=0", "--vary=a"}, "--variants: "},
      {{"--variants=10"}, "--variants: "},
      {{"--request-lines=a", "--request={}"}, "--request-lines: "},
      {{"--request-lines=a", "--payload-bytes=1"}, "--payload-bytes: "},
  };
  for (const auto& [args, prefix] : cases) {
    auto o = ParseOptions(args);
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << prefix;
    EXPECT_THAT(Message(o.status()), StartsWith(prefix));
  }
}

TEST(ParseOptionsTest, UnknownFlagAndStrayArgumentAreErrors) {
  EXPECT_THAT(Message(ParseOptions({"--qps=10"}).status()),
              HasSubstr("unknown flag --qps"));
  EXPECT_THAT(Message(ParseOptions({"stray"}).status()),
              HasSubstr("unexpected argument \"stray\""));
}

TEST(ParseOptionsTest, HelpAndListMethods) {
  EXPECT_TRUE(ParseOptions({"--help"})->help);
  EXPECT_TRUE(ParseOptions({"-h"})->help);
  EXPECT_TRUE(ParseOptions({"--list-methods"})->list_methods);
}

}  // namespace
}  // namespace rapport::loadgen
