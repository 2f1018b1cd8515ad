#include "common/log/log.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::log {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(LogTest, LineIsOneJsonObjectWithServiceAndEvent) {
  Init("profile-service", Level::kInfo);
  const std::string line = Format(Level::kWarn, "redis_unavailable",
                                  {{"attempt", 3},
                                   {"ok", false},
                                   {"latency_s", 0.25},
                                   {"code", "UNAVAILABLE"}});
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_THAT(line, MatchesRegex(
                        R"(\{"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z",.*)"));
  EXPECT_EQ(line.substr(line.find("\"level\"")),
            R"("level":"warn","service":"profile-service",)"
            R"("event":"redis_unavailable","attempt":3,"ok":false,)"
            R"("latency_s":0.25,"code":"UNAVAILABLE"})"
            "\n");
}

TEST(LogTest, EscapesControlCharactersQuotesAndInvalidUtf8) {
  std::string out;
  AppendJsonString(out, "a\"b\\c\nd\x01\xff\xc3\xa9");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\u0001\\ufffd\xc3\xa9\"");
}

TEST(LogTest, RejectsTruncatedAndOverlongUtf8) {
  std::string out;
  AppendJsonString(out, "\xe2\x82");  // truncated 3-byte sequence
  EXPECT_EQ(out, "\"\\ufffd\\ufffd\"");
  out.clear();
  AppendJsonString(out, "\xc0\xaf");  // overlong '/'
  EXPECT_EQ(out, "\"\\ufffd\\ufffd\"");
}

TEST(LogTest, NonFiniteNumbersBecomeNull) {
  const std::string line = Format(Level::kInfo, "x", {{"v", 1.0 / 0.0}});
  EXPECT_THAT(line, HasSubstr("\"v\":null"));
}

TEST(LogTest, MinimumLevelFilters) {
  Init("t", Level::kWarn);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kWarn));
  EXPECT_TRUE(Enabled(Level::kError));
  Init("t", Level::kDebug);
  EXPECT_TRUE(Enabled(Level::kDebug));
}

TEST(LogTest, ParsesLevelsCaseInsensitively) {
  EXPECT_EQ(*ParseLevel("DEBUG"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("Warning"), Level::kWarn);
  EXPECT_EQ(*ParseLevel("error"), Level::kError);
  EXPECT_FALSE(ParseLevel("trace").ok());
}

}  // namespace
}  // namespace rapport::log
