#include "bench/loadgen/request_source.h"

#include <grpcpp/support/byte_buffer.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/loadgen/method.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/scoring/v1/scoring.pb.h"

namespace rapport::loadgen {
namespace {

using scoring::v1::ScoreMessageRequest;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Message(const absl::Status& status) {
  return {status.message().data(), status.message().size()};
}

const google::protobuf::Descriptor& RequestType() {
  return *ScoreMessageRequest::descriptor();
}

ScoreMessageRequest Draft(const std::string& body) {
  ScoreMessageRequest r;
  r.mutable_message()->set_channel(common::v1::CHANNEL_EMAIL);
  r.mutable_message()->set_subject("Your Denver hub");
  r.mutable_message()->set_body(body);
  r.mutable_recipient()->set_full_name("Mitchell Grant");
  r.mutable_recipient()->set_preferred_name("Mitch");
  r.set_request_id("req");
  return r;
}

std::unique_ptr<RequestSource> Source(std::vector<std::string> requests,
                                      VaryOptions vary) {
  auto source = RequestSource::Create(RequestType(), std::move(requests), vary);
  EXPECT_TRUE(source.ok()) << source.status();
  return source.ok() ? *std::move(source) : nullptr;
}

std::string Bytes(grpc::ByteBuffer buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const auto& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

// The number in a varied field's " [<digits>]" suffix; -1 if malformed.
int64_t StampOf(const std::string& value, const std::string& base) {
  const std::string prefix = base + " [";
  if (!absl::StartsWith(value, prefix) || !absl::EndsWith(value, "]") ||
      value.size() != prefix.size() + RequestSource::kStampDigits + 1) {
    return -1;
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(
          value.substr(prefix.size(), RequestSource::kStampDigits), &n)) {
    return -1;
  }
  return static_cast<int64_t>(n % (uint64_t{1} << 62));
}

TEST(RequestSourceTest, WithoutVaryEveryCallSendsTheSameBytes) {
  const std::string wire = Draft("Hi Mitch").SerializeAsString();
  auto source = Source({wire}, {});
  ASSERT_NE(source, nullptr);
  EXPECT_TRUE(source->constant());
  EXPECT_EQ(source->Render(0), wire);
  EXPECT_EQ(source->Render(12345), wire);
  EXPECT_EQ(Bytes(source->Buffer(7)), wire);
  EXPECT_EQ(source->mean_bytes(), static_cast<int64_t>(wire.size()));
}

TEST(RequestSourceTest, VaryMakesEveryCallDistinctAndChangesOnlyTheField) {
  const ScoreMessageRequest base = Draft("Hi Mitch, how is Denver?");
  auto source = Source({base.SerializeAsString()},
                       {.paths = {"message.body"}, .offset = 0});
  ASSERT_NE(source, nullptr);
  EXPECT_FALSE(source->constant());
  std::set<std::string> seen;
  for (uint64_t n = 0; n < 2000; ++n) {
    const std::string wire = source->Render(n);
    ASSERT_TRUE(seen.insert(wire).second) << "call " << n << " repeats";
    ScoreMessageRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire)) << n;
    EXPECT_EQ(StampOf(parsed.message().body(), base.message().body()),
              static_cast<int64_t>(n));
    // Everything else is the request as given.
    parsed.mutable_message()->set_body(base.message().body());
    EXPECT_EQ(parsed.SerializeAsString(), base.SerializeAsString()) << n;
  }
  // The gRPC buffer carries the same bytes as Render.
  EXPECT_EQ(Bytes(source->Buffer(42)), source->Render(42));
}

TEST(RequestSourceTest, NumbersComeFromOneCounterSharedByAllCallers) {
  auto source =
      Source({Draft("x").SerializeAsString()}, {.paths = {"message.body"}});
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->NextNumber(), 0u);
  EXPECT_EQ(source->NextNumber(), 1u);
  EXPECT_EQ(source->NextNumber(), 2u);
}

TEST(RequestSourceTest, VariantsRepeatAfterKAndTheOffsetSeparatesRuns) {
  const std::string wire = Draft("Hi").SerializeAsString();
  auto source = Source({wire}, {.paths = {"message.body"}, .variants = 3});
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->Render(0), source->Render(3));
  EXPECT_EQ(source->Render(2), source->Render(5));
  EXPECT_NE(source->Render(0), source->Render(1));
  EXPECT_NE(source->Render(1), source->Render(2));

  auto other_run =
      Source({wire}, {.paths = {"message.body"}, .variants = 3, .offset = 777});
  ASSERT_NE(other_run, nullptr);
  for (uint64_t n = 0; n < 3; ++n) {
    for (uint64_t m = 0; m < 3; ++m) {
      EXPECT_NE(other_run->Render(n), source->Render(m));
    }
  }
}

TEST(RequestSourceTest, StampStaysNineteenDigitsAtTheTopOfItsRange) {
  auto source =
      Source({Draft("b").SerializeAsString()},
             {.paths = {"message.body"}, .offset = 999'999'999'999'999'999ULL});
  ASSERT_NE(source, nullptr);
  for (uint64_t n :
       {uint64_t{0}, uint64_t{1}, uint64_t{9'000'000'000'000'000'000ULL},
        uint64_t{9'000'000'000'000'000'001ULL}}) {
    ScoreMessageRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(source->Render(n)));
    EXPECT_GE(StampOf(parsed.message().body(), "b"), 0)
        << n << ": " << parsed.message().body();
  }
}

TEST(RequestSourceTest, SeveralFieldsAreStampedAndJsonNamesWork) {
  auto source = Source({Draft("body").SerializeAsString()},
                       {.paths = {"message.body", "requestId"}});
  ASSERT_NE(source, nullptr);
  ScoreMessageRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(source->Render(5)));
  EXPECT_EQ(StampOf(parsed.message().body(), "body"), 5);
  EXPECT_EQ(StampOf(parsed.request_id(), "req"), 5);
}

TEST(RequestSourceTest, UnsetFieldsAreCreated) {
  auto source = Source({""}, {.paths = {"message.subject"}});
  ASSERT_NE(source, nullptr);
  ScoreMessageRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(source->Render(9)));
  EXPECT_EQ(StampOf(parsed.message().subject(), ""), 9);
}

TEST(RequestSourceTest, RequestsRotatePerCallEachWithItsOwnStamp) {
  auto source = Source({Draft("one").SerializeAsString(),
                        Draft("two, longer").SerializeAsString(),
                        Draft("three").SerializeAsString()},
                       {.paths = {"message.body"}});
  ASSERT_NE(source, nullptr);
  const char* bodies[] = {"one", "two, longer", "three"};
  for (uint64_t n = 0; n < 9; ++n) {
    ScoreMessageRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(source->Render(n)));
    EXPECT_EQ(StampOf(parsed.message().body(), bodies[n % 3]),
              static_cast<int64_t>(n));
  }
  auto plain = Source({"a", "bb"}, {});
  ASSERT_NE(plain, nullptr);
  EXPECT_FALSE(plain->constant());
  EXPECT_EQ(plain->Render(0), "a");
  EXPECT_EQ(Bytes(plain->Buffer(1)), "bb");
  EXPECT_EQ(plain->Render(2), "a");
}

TEST(RequestSourceTest, BadPathsNameTheFlagAndThePath) {
  const std::string wire = Draft("b").SerializeAsString();
  const std::pair<const char*, const char*> cases[] = {
      {"message.bdy", "rapport.scoring.v1.Draft has no field \"bdy\""},
      {"nothing", "has no field \"nothing\""},
      {"message.channel",
       "message.channel has type enum; --vary takes a "
       "string field"},
      {"message", "message has type message; --vary takes a string field"},
      {"message.body.x", "message.body has type string, not a message"},
      {"recipient.priorities", "recipient.priorities is repeated"},
  };
  for (const auto& [path, why] : cases) {
    auto source =
        RequestSource::Create(RequestType(), {wire}, {.paths = {path}});
    ASSERT_FALSE(source.ok()) << path;
    EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(source.status()),
                AllOf(StartsWith(absl::StrCat("--vary: ", path, ": ")),
                      HasSubstr(why)));
  }
}

TEST(RequestSourceTest, RefusesToSwitchTheRequestsOneof) {
  // The draft names an inline recipient; varying contact_id would replace
  // it and change what the request means.
  auto source = RequestSource::Create(
      RequestType(),
      {Draft("b").SerializeAsString(), Draft("c").SerializeAsString()},
      {.paths = {"contact_id"}});
  ASSERT_FALSE(source.ok());
  EXPECT_THAT(Message(source.status()),
              AllOf(StartsWith("--vary: contact_id: "),
                    HasSubstr("sets recipient of oneof recipient_source"),
                    HasSubstr("(request 1)")));
}

TEST(ParseRequestLinesTest, OneRequestPerNonBlankLine) {
  auto method =
      ResolveMethod("rapport.scoring.v1.ScoringService/ScoreMessages");
  ASSERT_TRUE(method.ok());
  auto lines = ParseRequestLines(
      *method->descriptor,
      "{\"requestId\":\"a\"}\n\n  {\"request_id\":\"b\"}  \r\n");
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 2u);
  ScoreMessageRequest second;
  ASSERT_TRUE(second.ParseFromString((*lines)[1]));
  EXPECT_EQ(second.request_id(), "b");
}

TEST(ParseRequestLinesTest, ErrorsNameTheLine) {
  auto method = ResolveMethod("rapport.scoring.v1.ScoringService/ScoreMessage");
  ASSERT_TRUE(method.ok());
  auto bad = ParseRequestLines(*method->descriptor,
                               "{\"requestId\":\"a\"}\n{\"bodyy\":1}\n");
  EXPECT_THAT(
      Message(bad.status()),
      AllOf(StartsWith("--request-lines: line 2: "), HasSubstr("bodyy")));
  auto empty = ParseRequestLines(*method->descriptor, "\n  \n");
  EXPECT_THAT(Message(empty.status()), StartsWith("--request-lines: "));
}

}  // namespace
}  // namespace rapport::loadgen
