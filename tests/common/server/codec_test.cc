#include "common/server/codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "common/log/log.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/feedback/v1/feedback.pb.h"
#include "rapport/profile/v1/profile.pb.h"
#include "rapport/scoring/v1/scoring.pb.h"

namespace rapport::server {
namespace {

using google::protobuf::util::MessageDifferencer;

// Text that must never show up in an error: it sits right next to the bad
// bytes in every test request.
constexpr char kSecret[] = "Mitchell-private-note";
// Not UTF-8: a lone continuation byte, then a truncated 3-byte sequence.
constexpr char kBad[] = "\x80\xe2\x82";

// Serialized `message`. protobuf serializes proto3 strings holding invalid
// UTF-8 (it only logs about it), which is how the bad requests are built.
std::string Bytes(const google::protobuf::Message& message) {
  google::protobuf::LogSilencer quiet;
  return message.SerializeAsString();
}

// `bytes` as gRPC hands them to a raw method, in `parts` slices.
grpc::ByteBuffer Buffer(const std::string& bytes, int parts = 1) {
  std::vector<grpc::Slice> slices;
  const size_t step = bytes.size() / parts;
  for (int i = 0; i < parts; ++i) {
    const size_t begin = i * step;
    const size_t end = i + 1 == parts ? bytes.size() : begin + step;
    slices.emplace_back(bytes.data() + begin, end - begin);
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

// A length-delimited field `number` holding `bytes`, as protobuf writes it.
std::string Field(int number, const std::string& bytes) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteTag(google::protobuf::internal::WireFormatLite::MakeTag(
        number,
        google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
    coded.WriteVarint32(static_cast<uint32_t>(bytes.size()));
    coded.WriteString(bytes);
  }
  return out;
}

absl::Status Parse(const std::string& bytes, google::protobuf::Message* out,
                   int parts = 1) {
  google::protobuf::LogSilencer quiet;
  return ParseRequest(Buffer(bytes, parts), out);
}

// The error is printable ASCII and carries none of the request's text.
void ExpectNoContent(const absl::Status& status) {
  const absl::string_view message = status.message();
  EXPECT_EQ(message.find(kSecret), absl::string_view::npos) << message;
  for (const char c : message) {
    EXPECT_TRUE(absl::ascii_isprint(static_cast<unsigned char>(c)))
        << "byte " << static_cast<int>(static_cast<unsigned char>(c))
        << " in: " << message;
  }
}

scoring::v1::ScoreMessageRequest ScoreRequest() {
  scoring::v1::ScoreMessageRequest r;
  r.set_contact_id("c-1");
  r.mutable_message()->set_subject("Onboarding");
  r.mutable_message()->set_body("Mitch, how are new reps ramping this month?");
  r.mutable_sender()->set_rep_id("rep-1");
  r.mutable_sender()->add_product_names("Rapport");
  r.set_request_id("req-1");
  return r;
}

TEST(ParseRequestTest, ValidRequestRoundTrips) {
  const scoring::v1::ScoreMessageRequest sent = ScoreRequest();
  grpc::ByteBuffer buffer;
  ASSERT_TRUE(SerializeResponse(sent, &buffer).ok());
  scoring::v1::ScoreMessageRequest got;
  ASSERT_TRUE(ParseRequest(buffer, &got).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(sent, got));
}

TEST(ParseRequestTest, RequestInSeveralSlicesParses) {
  const scoring::v1::ScoreMessageRequest sent = ScoreRequest();
  scoring::v1::ScoreMessageRequest got;
  ASSERT_TRUE(Parse(Bytes(sent), &got, /*parts=*/3).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(sent, got));
}

TEST(ParseRequestTest, EmptyBufferIsTheDefaultMessage) {
  scoring::v1::ScoreMessageRequest got = ScoreRequest();
  ASSERT_TRUE(Parse("", &got).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(
      got, scoring::v1::ScoreMessageRequest::default_instance()));
}

TEST(ParseRequestTest, NoMessageAtAllIsInvalidArgumentNamingTheType) {
  const grpc::ByteBuffer none;  // what a unary call without a message gives
  profile::v1::GetProfileRequest got;
  const absl::Status s = ParseRequest(none, &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("rapport.profile.v1.GetProfileRequest"),
            absl::string_view::npos)
      << s;
}

TEST(ParseRequestTest,
     UnknownFieldsAndOtherWireTypesAreAcceptedAsProtobufDoes) {
  // Field 1 (contact_id, a string) sent as a varint, and field 99: both
  // become unknown fields, as for any protobuf parser.
  const std::string bytes("\x08\x01\x98\x06\x05", 5);
  profile::v1::GetProfileRequest got;
  ASSERT_TRUE(Parse(bytes, &got).ok());
  EXPECT_EQ(got.contact_id(), "");
}

TEST(ParseRequestTest, InvalidUtf8InTopLevelStringNamesFieldAndOffset) {
  profile::v1::GetProfileRequest r;
  r.set_contact_id(std::string("ab") + kBad + kSecret);
  profile::v1::GetProfileRequest got;
  const absl::Status s = Parse(Bytes(r), &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "contact_id: not valid UTF-8 (first bad byte at offset 2); send "
            "text as UTF-8");
  ExpectNoContent(s);
}

TEST(ParseRequestTest, InvalidUtf8InNestedMessageNamesThePath) {
  scoring::v1::ScoreMessageRequest r = ScoreRequest();
  r.mutable_message()->set_body(std::string("Mitch, about reps") + kBad +
                                kSecret);  // bad byte at offset 17
  scoring::v1::ScoreMessageRequest got;
  const absl::Status s = Parse(Bytes(r), &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "message.body: not valid UTF-8 (first bad byte at offset 17); "
            "send text as UTF-8");
  ExpectNoContent(s);
}

TEST(ParseRequestTest, InvalidUtf8InSeveralSlicesIsStillDiagnosed) {
  scoring::v1::ScoreMessageRequest r = ScoreRequest();
  r.mutable_message()->set_body(std::string("Mitch, about reps") + kBad +
                                kSecret);
  scoring::v1::ScoreMessageRequest got;
  const absl::Status s = Parse(Bytes(r), &got, /*parts=*/4);
  EXPECT_EQ(s.message(),
            "message.body: not valid UTF-8 (first bad byte at offset 17); "
            "send text as UTF-8");
}

TEST(ParseRequestTest, InvalidUtf8InRepeatedStringNamesTheElement) {
  profile::v1::UpsertContactRequest r;
  r.mutable_contact()->set_id("c-1");
  r.mutable_contact()->add_priorities("cut onboarding time");
  r.mutable_contact()->add_priorities("reduce churn");
  r.mutable_contact()->add_priorities(std::string(kBad) + kSecret);
  profile::v1::UpsertContactRequest got;
  const absl::Status s = Parse(Bytes(r), &got);
  EXPECT_EQ(s.message(),
            "contact.priorities[2]: not valid UTF-8 (first bad byte at offset "
            "0); send text as UTF-8");
  ExpectNoContent(s);
}

TEST(ParseRequestTest, InvalidUtf8InRepeatedMessageNamesTheElement) {
  profile::v1::ImportContactsRequest r;
  r.add_contacts()->set_id("c-1");
  r.add_contacts()->set_email(std::string("m@example.com") + kBad + kSecret);
  profile::v1::ImportContactsRequest got;
  const absl::Status s = Parse(Bytes(r), &got);
  EXPECT_EQ(s.message(),
            "contacts[1].email: not valid UTF-8 (first bad byte at offset "
            "13); send text as UTF-8");
  ExpectNoContent(s);
}

TEST(ParseRequestTest, InvalidUtf8InMapNamesTheEntryByPositionNotItsKey) {
  // Two custom_fields entries in a known order: a contact with the good one
  // followed by a contact with the bad one (concatenated messages merge).
  common::v1::Contact good;
  (*good.mutable_custom_fields())["segment"] = "enterprise";
  common::v1::Contact bad;
  (*bad.mutable_custom_fields())[kSecret] = std::string("x") + kBad;
  const std::string bytes = Field(1, Bytes(good) + Bytes(bad));
  profile::v1::UpsertContactRequest got;
  const absl::Status s = Parse(bytes, &got);
  EXPECT_EQ(s.message(),
            "contact.custom_fields[1].value: not valid UTF-8 (first bad byte "
            "at offset 1); send text as UTF-8");
  ExpectNoContent(s);

  profile::v1::UpsertContactRequest bad_key;
  (*bad_key.mutable_contact()->mutable_external_ids())[std::string(kBad)] =
      kSecret;
  const absl::Status k = Parse(Bytes(bad_key), &got);
  EXPECT_EQ(k.message(),
            "contact.external_ids[0].key: not valid UTF-8 (first bad byte at "
            "offset 0); send text as UTF-8");
  ExpectNoContent(k);
}

TEST(ParseRequestTest, GarbageIsMalformedNamingTheType) {
  feedback::v1::SubmitFeedbackRequest got;
  const absl::Status s =
      Parse(std::string("this is not protobuf ") + kSecret, &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "request: not a valid rapport.feedback.v1.SubmitFeedbackRequest "
            "(malformed protobuf)");
  ExpectNoContent(s);
}

TEST(ParseRequestTest, TruncatedRequestIsMalformed) {
  const std::string whole = Bytes(ScoreRequest());
  scoring::v1::ScoreMessageRequest got;
  const absl::Status s = Parse(whole.substr(0, whole.size() - 3), &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("malformed protobuf"), absl::string_view::npos)
      << s;
}

TEST(ParseRequestTest, GarbageInsideANestedMessageNamesTheField) {
  // Field 1 (message, a Draft) holding bytes that are no protobuf.
  const std::string bytes = std::string("\x0a\x03\xff\xff\xff", 5);
  scoring::v1::ScoreMessageRequest got;
  const absl::Status s = Parse(bytes, &got);
  EXPECT_EQ(s.message(),
            "message: not a valid rapport.scoring.v1.Draft (malformed "
            "protobuf)");
}

TEST(ParseRequestTest, MalformedPackedValuesNameTheField) {
  // Responsiveness.best_hours_utc (6, packed int32) with a varint that
  // never ends.
  const std::string bytes("\x32\x02\x80\x80", 4);
  profile::v1::Responsiveness got;
  const absl::Status s = Parse(bytes, &got);
  EXPECT_EQ(s.message(), "best_hours_utc: malformed packed int32 values");
}

TEST(ParseRequestTest, FailedParseLeavesTheMessageCleared) {
  scoring::v1::ScoreMessageRequest got = ScoreRequest();
  ASSERT_FALSE(Parse("garbage!", &got).ok());
  EXPECT_EQ(got.ByteSizeLong(), 0u);
}

// Corrupted requests: ParseRequest accepts exactly what protobuf accepts,
// and explains every refusal with a field or "malformed protobuf", never
// with request bytes.
TEST(ParseRequestTest, CorruptedRequestsAreRefusedExactlyWhenProtobufRefuses) {
  scoring::v1::ScoreMessageRequest base = ScoreRequest();
  base.mutable_recipient()->set_full_name("Mitchell Grant");
  base.mutable_recipient()->add_priorities("cut onboarding time");
  (*base.mutable_recipient()->mutable_custom_fields())["segment"] = "smb";
  const std::string valid = Bytes(base);
  std::mt19937 rng(20240601);  // fixed: the same cases on every run
  int refused = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = valid;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    }
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    scoring::v1::ScoreMessageRequest expected;
    bool protobuf_ok = false;
    {
      google::protobuf::LogSilencer quiet;
      protobuf_ok = expected.ParseFromString(bytes);
    }
    scoring::v1::ScoreMessageRequest got;
    const absl::Status s = Parse(bytes, &got);
    ASSERT_EQ(s.ok(), protobuf_ok) << "case " << i << ": " << s;
    if (s.ok()) continue;
    ++refused;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message().find("the protobuf parser refused it"),
              absl::string_view::npos)
        << "case " << i << " not diagnosed: " << s;
    ExpectNoContent(s);
  }
  EXPECT_GT(refused, 500);  // the corruption does exercise the diagnosis
}

TEST(ParseStreamRequestTest, NamesTheMessageIndexAndWhatWasProcessed) {
  profile::v1::ImportContactsRequest r;
  r.add_contacts()->set_full_name(std::string(kBad) + kSecret);
  profile::v1::ImportContactsRequest got;
  google::protobuf::LogSilencer quiet;
  const absl::Status s = ParseStreamRequest(Buffer(Bytes(r)), 2, &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "stream message 2 (counting from 0): contacts[0].full_name: not "
            "valid UTF-8 (first bad byte at offset 0); send text as UTF-8; "
            "the 2 messages before it were processed, none from it on");
  ExpectNoContent(s);
  EXPECT_TRUE(ParseStreamRequest(Buffer(""), 7, &got).ok());
}

TEST(SerializeResponseTest, MatchesProtobufSerialization) {
  const scoring::v1::ScoreMessageRequest message = ScoreRequest();
  grpc::ByteBuffer out;
  ASSERT_TRUE(SerializeResponse(message, &out).ok());
  grpc::Slice slice;
  ASSERT_TRUE(out.DumpToSingleSlice(&slice).ok());
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(slice.begin()), slice.size()),
      message.SerializeAsString());
}

TEST(SerializeResponseTest, ReusesABufferAcrossWritesOfAStream) {
  grpc::ByteBuffer out;
  for (int i = 0; i < 3; ++i) {
    scoring::v1::ScoreMessageRequest message = ScoreRequest();
    message.set_request_id(std::string(40 + i, 'r'));  // past gRPC's inlining
    ASSERT_TRUE(SerializeResponse(message, &out).ok());
    grpc::Slice slice;
    ASSERT_TRUE(out.DumpToSingleSlice(&slice).ok());
    EXPECT_EQ(
        std::string(reinterpret_cast<const char*>(slice.begin()), slice.size()),
        message.SerializeAsString());
  }
}

TEST(RouteProtobufLogsTest, ProtobufUtf8ErrorBecomesOneJsonLineWithoutContent) {
  log::Init("codec-test", log::Level::kDebug);
  RouteProtobufLogs();
  profile::v1::GetProfileRequest r;
  r.set_contact_id(std::string(kBad) + kSecret);
  const std::string bytes = Bytes(r);
  testing::internal::CaptureStderr();
  profile::v1::GetProfileRequest got;
  EXPECT_FALSE(ParseRequest(Buffer(bytes), &got).ok());
  const std::string err = testing::internal::GetCapturedStderr();
  log::Init("codec-test", log::Level::kInfo);
  EXPECT_NE(err.find("\"event\":\"protobuf_invalid_utf8\""), std::string::npos)
      << err;
  EXPECT_NE(
      err.find("\"field\":\"rapport.profile.v1.GetProfileRequest.contact_id\""),
      std::string::npos)
      << err;
  EXPECT_EQ(err.find(kSecret), std::string::npos) << err;
  EXPECT_EQ(err.find("String field"), std::string::npos) << err;
  // One JSON object per line.
  EXPECT_EQ(err.front(), '{');
  EXPECT_EQ(err.back(), '\n');
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
}

}  // namespace
}  // namespace rapport::server
