#include "common/redis/redis_url.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::redis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RedisEndpoint MustParse(absl::string_view url) {
  absl::StatusOr<RedisEndpoint> ep = ParseRedisUrl(url);
  EXPECT_TRUE(ep.ok()) << url << ": " << ep.status();
  return ep.ok() ? *ep : RedisEndpoint{};
}

void ExpectInvalid(absl::string_view url) {
  absl::StatusOr<RedisEndpoint> ep = ParseRedisUrl(url);
  EXPECT_EQ(ep.status().code(), absl::StatusCode::kInvalidArgument) << url;
}

TEST(RedisUrlTest, HostOnlyUsesDefaultPortAndDb) {
  const RedisEndpoint ep = MustParse("redis://localhost");
  EXPECT_EQ(ep.host, "localhost");
  EXPECT_EQ(ep.port, 6379);
  EXPECT_EQ(ep.db, 0);
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "");
  EXPECT_EQ(ep.Redacted(), "localhost:6379/0");
}

TEST(RedisUrlTest, ParsesIpv4PortAndDb) {
  const RedisEndpoint ep = MustParse("redis://10.1.2.3:6380/2");
  EXPECT_EQ(ep.host, "10.1.2.3");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.db, 2);
}

TEST(RedisUrlTest, SchemeIsCaseInsensitiveAndTrailingSlashMeansDbZero) {
  const RedisEndpoint ep = MustParse("REDIS://redis.svc.cluster.local:7000/");
  EXPECT_EQ(ep.host, "redis.svc.cluster.local");
  EXPECT_EQ(ep.port, 7000);
  EXPECT_EQ(ep.db, 0);
}

TEST(RedisUrlTest, ParsesBracketedIpv6WithAndWithoutPort) {
  RedisEndpoint ep = MustParse("redis://[::1]:6380/1");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.db, 1);
  EXPECT_EQ(ep.Redacted(), "[::1]:6380/1");

  ep = MustParse("redis://[2001:db8::7]");
  EXPECT_EQ(ep.host, "2001:db8::7");
  EXPECT_EQ(ep.port, 6379);
}

TEST(RedisUrlTest, RejectsMalformedIpv6) {
  ExpectInvalid("redis://[::1");
  ExpectInvalid("redis://[::1]x");
  ExpectInvalid("redis://[]:6379");
  ExpectInvalid("redis://[::1]:");
}

TEST(RedisUrlTest, RejectsUnbracketedIpv6) {
  // Without brackets the last ':' would be read as the port separator:
  // "::1" would become host ":" port 1.
  ExpectInvalid("redis://::1");
  ExpectInvalid("redis://fe80::1:6379");
}

TEST(RedisUrlTest, PasswordOnly) {
  const RedisEndpoint ep = MustParse("redis://:s3cret@localhost:6379");
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "s3cret");
}

TEST(RedisUrlTest, CredentialsWithoutColonAreAPassword) {
  // redis-cli's reading: "redis://secret@host".
  const RedisEndpoint ep = MustParse("redis://s3cret@localhost");
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "s3cret");
}

TEST(RedisUrlTest, UsernameAndPasswordWithColons) {
  const RedisEndpoint ep = MustParse("redis://app:pa:ss:word@localhost");
  EXPECT_EQ(ep.username, "app");
  EXPECT_EQ(ep.password, "pa:ss:word");
}

TEST(RedisUrlTest, PasswordMayContainUnescapedAtSignAndSlash) {
  const RedisEndpoint ep = MustParse("redis://:p@ss/w@rd@db.example:6390/4");
  EXPECT_EQ(ep.password, "p@ss/w@rd");
  EXPECT_EQ(ep.host, "db.example");
  EXPECT_EQ(ep.port, 6390);
  EXPECT_EQ(ep.db, 4);
}

TEST(RedisUrlTest, DecodesPercentEscapesInCredentials) {
  const RedisEndpoint ep =
      MustParse("redis://us%3Aer:p%40ss%2fw%25rd%3a@localhost");
  EXPECT_EQ(ep.username, "us:er");
  EXPECT_EQ(ep.password, "p@ss/w%rd:");
}

TEST(RedisUrlTest, RejectsBadPercentEscapesWithoutEchoingThePassword) {
  for (absl::string_view url :
       {"redis://:hunter2%zz@localhost", "redis://:hunter2%4@localhost",
        "redis://:hunter2%@localhost"}) {
    absl::StatusOr<RedisEndpoint> ep = ParseRedisUrl(url);
    ASSERT_EQ(ep.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(ep.status().message(), HasSubstr("percent-escape"));
    EXPECT_THAT(ep.status().message(), Not(HasSubstr("hunter2")));
  }
}

TEST(RedisUrlTest, ErrorsNeverEchoThePassword) {
  for (absl::string_view url :
       {"redis://:hunter2@", "redis://:hunter2@host:99999",
        "redis://:hunter2@host/99", "redis://:hunter2@ho st",
        "redis://:hunter2@[::1"}) {
    absl::StatusOr<RedisEndpoint> ep = ParseRedisUrl(url);
    ASSERT_FALSE(ep.ok()) << url;
    EXPECT_THAT(ep.status().message(), Not(HasSubstr("hunter2"))) << url;
  }
}

TEST(RedisUrlTest, RedactedNeverShowsCredentials) {
  const RedisEndpoint ep = MustParse("redis://app:hunter2@localhost:6380/3");
  EXPECT_EQ(ep.Redacted(), "localhost:6380/3");
}

TEST(RedisUrlTest, AcceptsDbZeroToFifteen) {
  EXPECT_EQ(MustParse("redis://h/0").db, 0);
  EXPECT_EQ(MustParse("redis://h/15").db, 15);
}

TEST(RedisUrlTest, RejectsDbOutOfRangeOrNotANumber) {
  ExpectInvalid("redis://h/16");
  ExpectInvalid("redis://h/-1");
  ExpectInvalid("redis://h/x");
  ExpectInvalid("redis://h/1/2");
  ExpectInvalid("redis://h/1?timeout=5");
}

TEST(RedisUrlTest, AcceptsPortRangeBounds) {
  EXPECT_EQ(MustParse("redis://h:1").port, 1);
  EXPECT_EQ(MustParse("redis://h:65535").port, 65535);
}

TEST(RedisUrlTest, RejectsBadPorts) {
  ExpectInvalid("redis://h:0");
  ExpectInvalid("redis://h:65536");
  ExpectInvalid("redis://h:-1");
  ExpectInvalid("redis://h:abc");
  ExpectInvalid("redis://h:");
  ExpectInvalid("redis://h:63 79");
}

TEST(RedisUrlTest, RejectsMissingOrWrongScheme) {
  ExpectInvalid("localhost:6379");
  ExpectInvalid("//localhost:6379");
  ExpectInvalid("http://localhost:6379");
  ExpectInvalid("rediss://localhost:6379");
  ExpectInvalid("");
  absl::StatusOr<RedisEndpoint> ep = ParseRedisUrl("localhost:6379");
  EXPECT_THAT(ep.status().message(), HasSubstr("redis://"));
}

TEST(RedisUrlTest, RejectsMissingOrInvalidHost) {
  ExpectInvalid("redis://");
  ExpectInvalid("redis://:6379");
  ExpectInvalid("redis:///0");
  ExpectInvalid("redis://:pw@:6379");
  ExpectInvalid("redis://ho st:6379");
  ExpectInvalid("redis://host%41:6379");
}

}  // namespace
}  // namespace rapport::redis
