#include "common/redis/reply.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::redis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Parses one RESP reply with hiredis' own reader, the way the pool gets
// replies, and converts it.
Reply Parse(absl::string_view resp) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(
      redisReaderCreate(), redisReaderFree);
  EXPECT_EQ(redisReaderFeed(reader.get(), resp.data(), resp.size()), REDIS_OK);
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
  EXPECT_NE(raw, nullptr) << "incomplete reply";
  if (raw == nullptr) return Reply::Error("incomplete");
  Reply reply = internal::FromHiredis(*static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return reply;
}

TEST(ReplyTest, DefaultIsNil) {
  Reply r;
  EXPECT_TRUE(r.is_nil());
  EXPECT_EQ(r.kind(), Reply::Kind::kNil);
  EXPECT_TRUE(r.AsStatus().ok());
}

TEST(ReplyTest, ConvertsIntegers) {
  EXPECT_EQ(Parse(":42\r\n"), Reply::Integer(42));
  EXPECT_EQ(Parse(":-9223372036854775808\r\n").integer(), INT64_MIN);
  EXPECT_EQ(*Parse(":7\r\n").AsInteger(), 7);
}

TEST(ReplyTest, ConvertsBulkAndStatusStringsToStrings) {
  EXPECT_EQ(Parse("$5\r\nhello\r\n"), Reply::String("hello"));
  EXPECT_EQ(Parse("$0\r\n\r\n"), Reply::String(""));
  const Reply ok = Parse("+OK\r\n");
  EXPECT_TRUE(ok.is_string());
  EXPECT_EQ(ok.str(), "OK");
}

TEST(ReplyTest, BulkStringsAreBinarySafe) {
  const std::string value("a\0b\r\nc", 6);
  const Reply r = Parse(std::string("$6\r\n") + value + "\r\n");
  ASSERT_TRUE(r.is_string());
  EXPECT_EQ(r.str(), value);
  EXPECT_EQ(r.str().size(), 6u);
}

TEST(ReplyTest, ConvertsNilBulkAndNilArrayToNil) {
  EXPECT_TRUE(Parse("$-1\r\n").is_nil());
  EXPECT_TRUE(Parse("*-1\r\n").is_nil());
}

TEST(ReplyTest, ConvertsEmptyAndNestedArrays) {
  const Reply empty = Parse("*0\r\n");
  EXPECT_TRUE(empty.is_array());
  EXPECT_TRUE(empty.elements().empty());

  const Reply nested = Parse("*3\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n-ERR no\r\n");
  EXPECT_EQ(nested,
            Reply::Array({Reply::Integer(1),
                          Reply::Array({Reply::String("x"), Reply::Nil()}),
                          Reply::Error("ERR no")}));
}

TEST(ReplyTest, ConvertsErrorsWithTheirCode) {
  const Reply r = Parse(
      "-WRONGTYPE Operation against a key holding the wrong kind of "
      "value\r\n");
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.error_code(), "WRONGTYPE");
  EXPECT_THAT(r.str(), HasSubstr("wrong kind"));
  EXPECT_EQ(r.AsStatus().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.AsStatus().message(), HasSubstr("WRONGTYPE Operation"));
}

TEST(ReplyTest, MapsErrorCodesToStatusCodes) {
  EXPECT_EQ(Reply::Error("NOSCRIPT No matching script.").AsStatus().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Reply::Error("EXECABORT Transaction discarded").AsStatus().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Reply::Error("OOM command not allowed").AsStatus().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Reply::Error("LOADING Redis is loading").AsStatus().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Reply::Error("NOAUTH Authentication required.").AsStatus().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Reply::Error("READONLY You can't write").AsStatus().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Reply::Error("ERR syntax error").AsStatus().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(Reply::Error("NOSUCHCODE whatever").AsStatus().code(),
            absl::StatusCode::kInternal);
}

TEST(ReplyTest, StatusNeverQuotesArgumentsFromTheErrorMessage) {
  // Redis echoes arguments in single quotes; they may be keys or values.
  const Reply r = Reply::Error(
      "ERR unknown command 'GETT', with args beginning with: "
      "'rapport:{acme}:contact:jane@example.com' ");
  const absl::Status s = r.AsStatus();
  EXPECT_THAT(s.message(), HasSubstr("ERR"));
  EXPECT_THAT(s.message(), Not(HasSubstr("jane")));
  EXPECT_THAT(s.message(), Not(HasSubstr("GETT")));
}

TEST(ReplyTest, StatusCutsVeryLongMessages) {
  const Reply r = Reply::Error("ERR " + std::string(5000, 'x'));
  EXPECT_LT(r.AsStatus().message().size(), 300u);
}

TEST(ReplyTest, CheckedAccessorsNameBothKinds) {
  const absl::StatusOr<int64_t> i = Reply::String("1").AsInteger();
  EXPECT_EQ(i.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(i.status().message(), HasSubstr("expected integer, got string"));

  const absl::StatusOr<std::string> s = Reply::Nil().AsString();
  EXPECT_THAT(s.status().message(), HasSubstr("expected string, got nil"));

  // Error replies keep their own mapping.
  EXPECT_EQ(Reply::Error("NOSCRIPT x").AsString().status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*Reply::String("v").AsString(), "v");
}

TEST(ReplyTest, AccessorsOfOtherKindsAreEmpty) {
  const Reply r = Reply::Integer(5);
  EXPECT_EQ(r.str(), "");
  EXPECT_TRUE(r.elements().empty());
  EXPECT_EQ(r.error_code(), "");
  EXPECT_EQ(Reply::String("5").integer(), 0);
}

TEST(ReplyTest, DebugStringEscapesBinary) {
  EXPECT_EQ(
      Reply::Array({Reply::String(std::string("a\0b", 3)), Reply::Integer(3),
                    Reply::Nil(), Reply::Error("ERR x")})
          .DebugString(),
      "[\"a\\000b\", (integer) 3, nil, (error) ERR x]");
}

TEST(ReplyTest, KindNames) {
  EXPECT_EQ(KindName(Reply::Kind::kNil), "nil");
  EXPECT_EQ(KindName(Reply::Kind::kInteger), "integer");
  EXPECT_EQ(KindName(Reply::Kind::kString), "string");
  EXPECT_EQ(KindName(Reply::Kind::kError), "error");
  EXPECT_EQ(KindName(Reply::Kind::kArray), "array");
}

}  // namespace
}  // namespace rapport::redis
