#include "bench/loadgen/method.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/text_format.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/bench/v1/echo.pb.h"

namespace rapport::loadgen {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// gMock's string matchers take std::string; absl::string_view is its own
// type in Debian's Abseil build.
std::string Message(const absl::Status& status) {
  return {status.message().data(), status.message().size()};
}

// A pool of its own, so the streaming cases do not depend on which streaming
// RPCs the project's protos happen to have.
const google::protobuf::DescriptorPool& StreamsPool() {
  static const auto* pool = [] {
    google::protobuf::FileDescriptorProto file;
    const bool parsed = google::protobuf::TextFormat::ParseFromString(
        R"pb(
          name: "test/streams.proto"
          package: "test.v1"
          syntax: "proto3"
          message_type {
            name: "Req"
            field {
              name: "n"
              number: 1
              type: TYPE_INT32
              label: LABEL_OPTIONAL
              json_name: "n"
            }
          }
          service {
            name: "Streams"
            method {
              name: "Unary"
              input_type: ".test.v1.Req"
              output_type: ".test.v1.Req"
            }
            method {
              name: "Up"
              input_type: ".test.v1.Req"
              output_type: ".test.v1.Req"
              client_streaming: true
            }
            method {
              name: "Down"
              input_type: ".test.v1.Req"
              output_type: ".test.v1.Req"
              server_streaming: true
            }
            method {
              name: "Both"
              input_type: ".test.v1.Req"
              output_type: ".test.v1.Req"
              client_streaming: true
              server_streaming: true
            }
          }
        )pb",
        &file);
    auto* p = new google::protobuf::DescriptorPool();
    if (!parsed || p->BuildFile(file) == nullptr) std::abort();
    return p;
  }();
  return *pool;
}

TEST(ResolveUnaryMethodTest, AcceptsTheThreeSpellings) {
  for (const char* name : {"rapport.bench.v1.EchoService/Echo",
                           "/rapport.bench.v1.EchoService/Echo",
                           "rapport.bench.v1.EchoService.Echo"}) {
    auto m = ResolveUnaryMethod(name);
    ASSERT_TRUE(m.ok()) << name << ": " << m.status();
    EXPECT_EQ(m->path, "/rapport.bench.v1.EchoService/Echo");
    EXPECT_EQ(m->descriptor->input_type()->full_name(),
              "rapport.bench.v1.EchoRequest");
  }
}

TEST(ResolveUnaryMethodTest, UnknownServiceIsNotFoundAndListsKnownOnes) {
  auto m = ResolveUnaryMethod("rapport.bench.v1.EchoServce/Echo");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(
      Message(m.status()),
      AllOf(StartsWith("--method: "),
            HasSubstr("unknown service \"rapport.bench.v1.EchoServce\""),
            HasSubstr("rapport.bench.v1.EchoService")));
}

TEST(ResolveUnaryMethodTest, UnknownMethodNamesServiceAndListsItsMethods) {
  auto m = ResolveUnaryMethod("rapport.bench.v1.EchoService/Ecko");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(m.status()),
              AllOf(StartsWith("--method: "), HasSubstr("no method \"Ecko\""),
                    HasSubstr("it has: Echo")));
}

TEST(ResolveUnaryMethodTest, MalformedNameIsInvalidArgument) {
  for (const char* name : {"", "Echo", "/", "rapport.bench.v1.EchoService/"}) {
    auto m = ResolveUnaryMethod(name);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(Message(m.status()), StartsWith("--method: ")) << name;
  }
}

TEST(ResolveUnaryMethodTest, RefusesStreamingMethods) {
  const auto& pool = StreamsPool();
  EXPECT_TRUE(ResolveUnaryMethod("test.v1.Streams/Unary", pool).ok());
  const std::pair<const char*, const char*> cases[] = {
      {"test.v1.Streams/Up", "client-streaming"},
      {"test.v1.Streams/Down", "server-streaming"},
      {"test.v1.Streams/Both", "bidirectional-streaming"}};
  for (const auto& [name, kind] : cases) {
    auto m = ResolveUnaryMethod(name, pool);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(Message(m.status()),
                AllOf(StartsWith("--method: "), HasSubstr(kind),
                      HasSubstr("only unary")))
        << name;
  }
}

TEST(ResolveMethodTest, AcceptsUnaryAndBidiRefusesOneWayStreams) {
  const auto& pool = StreamsPool();
  auto unary = ResolveMethod("test.v1.Streams/Unary", pool);
  ASSERT_TRUE(unary.ok()) << unary.status();
  EXPECT_FALSE(unary->bidi_streaming);
  auto both = ResolveMethod("test.v1.Streams/Both", pool);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_TRUE(both->bidi_streaming);
  EXPECT_EQ(both->path, "/test.v1.Streams/Both");
  for (const auto& [name, kind] :
       {std::pair<const char*, const char*>{"test.v1.Streams/Up",
                                            "client-streaming"},
        {"test.v1.Streams/Down", "server-streaming"}}) {
    auto m = ResolveMethod(name, pool);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(Message(m.status()),
                AllOf(StartsWith("--method: "), HasSubstr(kind),
                      HasSubstr("only unary and bidirectional-streaming")))
        << name;
  }
}

class RequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = ResolveUnaryMethod("rapport.bench.v1.EchoService/Echo");
    ASSERT_TRUE(m.ok()) << m.status();
    echo_ = m->descriptor;
  }
  const google::protobuf::MethodDescriptor* echo_ = nullptr;
};

TEST_F(RequestTest, JsonBecomesTheWireRequest) {
  auto wire = SerializeJsonRequest(
      *echo_, R"({"payload":")" + absl::Base64Escape("hello") + R"("})");
  ASSERT_TRUE(wire.ok()) << wire.status();
  bench::v1::EchoRequest request;
  ASSERT_TRUE(request.ParseFromString(*wire));
  EXPECT_EQ(request.payload(), "hello");
}

TEST_F(RequestTest, UnknownFieldIsNamed) {
  auto wire = SerializeJsonRequest(*echo_, R"({"paylod":"aGk="})");
  ASSERT_EQ(wire.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      Message(wire.status()),
      AllOf(StartsWith("--request: "),
            HasSubstr("rapport.bench.v1.EchoRequest"), HasSubstr("paylod")));
}

TEST_F(RequestTest, WrongValueTypeNamesTheField) {
  auto wire = SerializeJsonRequest(*echo_, R"({"payload": 5})");
  ASSERT_EQ(wire.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(wire.status()),
              AllOf(StartsWith("--request: "), HasSubstr("payload")));
}

TEST_F(RequestTest, BrokenJsonIsOneLineError) {
  auto wire = SerializeJsonRequest(*echo_, R"({"payload":)");
  ASSERT_EQ(wire.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(wire.status()), StartsWith("--request: "));
  EXPECT_EQ(Message(wire.status()).find('\n'), std::string::npos);
}

TEST_F(RequestTest, PayloadBytesFillsThePayloadField) {
  auto wire = SerializePayloadRequest(*echo_, 1024);
  ASSERT_TRUE(wire.ok()) << wire.status();
  bench::v1::EchoRequest request;
  ASSERT_TRUE(request.ParseFromString(*wire));
  EXPECT_EQ(request.payload().size(), 1024u);
}

TEST_F(RequestTest, PayloadBytesNeedsAPayloadField) {
  auto m = ResolveUnaryMethod("test.v1.Streams/Unary", StreamsPool());
  ASSERT_TRUE(m.ok());
  auto wire = SerializePayloadRequest(*m->descriptor, 10);
  ASSERT_EQ(wire.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(wire.status()),
              AllOf(StartsWith("--payload-bytes: "), HasSubstr("test.v1.Req")));
}

TEST_F(RequestTest, CheckResponseAcceptsTheOutputTypeOnly) {
  bench::v1::EchoResponse response;
  response.set_payload("hi");
  EXPECT_TRUE(CheckResponse(*echo_, response.SerializeAsString()).ok());
  const absl::Status bad = CheckResponse(*echo_, "\xff\xff\xff");
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(Message(bad), AllOf(StartsWith("--method: "),
                                  HasSubstr("rapport.bench.v1.EchoResponse")));
}

// The loadgen finds messages by name only, so the link must keep every
// generated file (bench/CMakeLists.txt, rapport_all_protos): each .proto of
// the source tree has to be in the generated pool.
TEST(CompiledInTest, EveryProjectProtoIsInTheGeneratedPool) {
  const std::filesystem::path root = RAPPORT_PROTOS_DIR;
  int files = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(root / "rapport")) {
    if (entry.path().extension() != ".proto") continue;
    const std::string name = entry.path().lexically_relative(root).string();
    EXPECT_NE(
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
            name),
        nullptr)
        << name << " is not linked into the loadgen";
    ++files;
  }
  EXPECT_GT(files, 0);
}

TEST(CompiledInTest, ListsUnaryAndBidiMethodsButNotOneWayStreams) {
  const std::vector<std::string> methods = CompiledInMethods();
  EXPECT_THAT(methods,
              ::testing::Contains("rapport.bench.v1.EchoService/Echo"));
  EXPECT_THAT(methods, ::testing::Contains(
                           "rapport.scoring.v1.ScoringService/ScoreMessages"));
  EXPECT_THAT(methods,
              ::testing::Not(::testing::Contains(
                  "rapport.feedback.v1.FeedbackService/WatchFeedback")));
  EXPECT_THAT(methods, ::testing::Not(IsEmpty()));
}

}  // namespace
}  // namespace rapport::loadgen
