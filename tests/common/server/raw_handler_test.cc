// The raw-method adapters against a real in-process gRPC server, called
// with raw bytes the way any client can send them: valid requests are
// answered as before, requests that do not parse get INVALID_ARGUMENT naming
// the field (and, on streams, the message index) instead of gRPC 1.51's
// UNIMPLEMENTED or a silent end of stream.

#include "common/server/raw_handler.h"

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/auth.h"
#include "rapport/feedback/v1/feedback.grpc.pb.h"
#include "rapport/profile/v1/profile.grpc.pb.h"
#include "rapport/scoring/v1/scoring.grpc.pb.h"

namespace rapport::server {
namespace {

namespace pv1 = profile::v1;
namespace sv1 = scoring::v1;
namespace fv1 = feedback::v1;

constexpr char kApiKey[] = "test-key-for-raw-handlers";
constexpr char kBad[] = "\xff\xfe";

// --- Services built on the adapters -------------------------------------

// Records what the stream handlers saw.
struct Seen {
  absl::Mutex mu;
  std::vector<std::string> ids ABSL_GUARDED_BY(mu);
  void Add(const std::string& id) {
    absl::MutexLock lock(&mu);
    ids.push_back(id);
  }
  std::vector<std::string> Get() {
    absl::MutexLock lock(&mu);
    return ids;
  }
};

class ImportReactor final : public RawReadReactor<pv1::ImportContactsRequest,
                                                  pv1::ImportContactsResponse> {
 public:
  ImportReactor(Seen& seen, grpc::ByteBuffer* response)
      : RawReadReactor("ImportContacts", response), seen_(seen) {
    StartReading();
  }

 private:
  absl::Status OnMessage(int64_t /*index*/,
                         const pv1::ImportContactsRequest& request) override {
    for (const auto& c : request.contacts()) seen_.Add(c.id());
    accepted_ += request.contacts_size();
    return absl::OkStatus();
  }
  absl::Status OnReadsDone(int64_t /*count*/,
                           pv1::ImportContactsResponse* response) override {
    response->set_accepted_count(accepted_);
    return absl::OkStatus();
  }

  Seen& seen_;
  int accepted_ = 0;
};

class TestProfileService final
    : public pv1::ProfileService::WithRawCallbackMethod_GetProfile<
          pv1::ProfileService::WithRawCallbackMethod_ImportContacts<
              pv1::ProfileService::Service>> {
 public:
  explicit TestProfileService(const auth::Authenticator& auth) : auth_(auth) {}

  grpc::ServerUnaryReactor* GetProfile(grpc::CallbackServerContext* ctx,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override {
    return RawUnary<pv1::GetProfileRequest, pv1::Profile>(
        ctx, request, response, auth_, "GetProfile",
        [](const auth::Principal& p, const auto& req, auto* resp) {
          if (req.contact_id() == "throws") throw std::runtime_error("boom");
          if (req.contact_id() == "missing") {
            return absl::NotFoundError("contact_id: no such contact");
          }
          resp->mutable_contact()->set_id(req.contact_id());
          resp->set_stage_reason(p.tenant);
          return absl::OkStatus();
        });
  }

  grpc::ServerReadReactor<grpc::ByteBuffer>* ImportContacts(
      grpc::CallbackServerContext* /*ctx*/,
      grpc::ByteBuffer* response) override {
    return new ImportReactor(seen, response);
  }

  Seen seen;

 private:
  const auth::Authenticator& auth_;
};

class ScoreReactor final : public RawBidiReactor<sv1::ScoreMessageRequest,
                                                 sv1::ScoreMessagesResponse> {
 public:
  ScoreReactor() : RawBidiReactor("ScoreMessages") { StartReading(); }

 private:
  absl::Status OnMessage(int64_t index, const sv1::ScoreMessageRequest& request,
                         sv1::ScoreMessagesResponse* response) override {
    response->set_request_id(request.request_id());
    response->set_index(index);
    // Past gRPC's inlined-slice size, as real reports are.
    response->mutable_report()->set_message_id(std::string(64, 'm'));
    return absl::OkStatus();
  }
};

class TestScoringService final
    : public sv1::ScoringService::WithRawCallbackMethod_ScoreMessages<
          sv1::ScoringService::Service> {
 public:
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ScoreMessages(
      grpc::CallbackServerContext* /*ctx*/) override {
    return new ScoreReactor();
  }
};

// A reactor written against the typed API, as feedback-service's WatchHub
// hands them out: writes `count` items from a thread of its own, then
// finishes.
class TypedWatchReactor final : public grpc::ServerWriteReactor<fv1::Feedback> {
 public:
  TypedWatchReactor(std::string prefix, int count)
      : prefix_(std::move(prefix)), count_(count) {
    NextOrFinish();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "gone"));
      return;
    }
    NextOrFinish();
  }
  void OnDone() override { delete this; }

 private:
  void NextOrFinish() {
    if (written_ == count_) {
      Finish(grpc::Status::OK);
      return;
    }
    item_.set_id(absl::StrCat(prefix_, "-", written_++));
    // Past gRPC's inlined-slice size, as real items are.
    item_.set_idempotency_key(std::string(64, 'k'));
    StartWrite(&item_);
  }

  const std::string prefix_;
  const int count_;
  int written_ = 0;
  fv1::Feedback item_;
};

class TestFeedbackService final
    : public fv1::FeedbackService::WithRawCallbackMethod_WatchFeedback<
          fv1::FeedbackService::Service> {
 public:
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchFeedback(
      grpc::CallbackServerContext* /*ctx*/,
      const grpc::ByteBuffer* request) override {
    fv1::WatchFeedbackRequest parsed;
    const absl::Status status = ParseRequest(*request, &parsed);
    if (!status.ok()) {
      return new FinishedWriteReactor<grpc::ByteBuffer>(ToGrpcStatus(status));
    }
    return new SerializingWriteReactor<fv1::Feedback>(
        new TypedWatchReactor(parsed.start_after_id(), 3));
  }
};

// --- Raw-bytes client ------------------------------------------------------

std::string Bytes(const google::protobuf::Message& m) {
  google::protobuf::LogSilencer quiet;  // invalid UTF-8 is sent on purpose
  return m.SerializeAsString();
}

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

template <typename Message>
Message Decode(const grpc::ByteBuffer& buffer) {
  grpc::Slice slice;
  EXPECT_TRUE(buffer.DumpToSingleSlice(&slice).ok());
  Message m;
  EXPECT_TRUE(m.ParseFromArray(slice.begin(), static_cast<int>(slice.size())));
  return m;
}

class RawHandlerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RouteProtobufLogs();  // as the server bootstrap does
    auto auth = auth::Authenticator::FromJson(
        absl::StrCat(R"({"keys":[{"sha256":")", auth::Sha256Hex(kApiKey),
                     R"(","tenant":"acme","role":"writer"}]})"),
        "test");
    ASSERT_TRUE(auth.ok()) << auth.status();
    auth_ = auth->release();
    profile_ = new TestProfileService(*auth_);
    scoring_ = new TestScoringService();
    feedback_ = new TestFeedbackService();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(profile_);
    builder.RegisterService(scoring_);
    builder.RegisterService(feedback_);
    server_ = builder.BuildAndStart().release();
    ASSERT_NE(server_, nullptr);
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  static void TearDownTestSuite() {
    server_->Shutdown();
    delete server_;
    delete channel_;
    delete feedback_;
    delete scoring_;
    delete profile_;
    delete auth_;
  }

  std::unique_ptr<grpc::ClientContext> Context(bool with_key = true) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (with_key) auth::AttachApiKey(ctx.get(), kApiKey);
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(10));
    return ctx;
  }

  grpc::Status Unary(const std::string& method, const std::string& bytes,
                     grpc::ByteBuffer* response, bool with_key = true) {
    auto ctx = Context(with_key);
    const grpc::internal::RpcMethod rpc(method.c_str(),
                                        grpc::internal::RpcMethod::NORMAL_RPC);
    return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer,
                                             grpc::ByteBuffer>(
        channel_->get(), rpc, ctx.get(), Buffer(bytes), response);
  }

  static inline auth::Authenticator* auth_ = nullptr;
  static inline TestProfileService* profile_ = nullptr;
  static inline TestScoringService* scoring_ = nullptr;
  static inline TestFeedbackService* feedback_ = nullptr;
  static inline grpc::Server* server_ = nullptr;
  static inline std::shared_ptr<grpc::Channel>* channel_ = nullptr;
};

constexpr char kGetProfile[] = "/rapport.profile.v1.ProfileService/GetProfile";
constexpr char kImport[] = "/rapport.profile.v1.ProfileService/ImportContacts";
constexpr char kScoreMessages[] =
    "/rapport.scoring.v1.ScoringService/ScoreMessages";
constexpr char kWatch[] = "/rapport.feedback.v1.FeedbackService/WatchFeedback";

TEST_F(RawHandlerTest, UnaryAnswersAValidRequestWithTheCallersTenant) {
  pv1::GetProfileRequest request;
  request.set_contact_id("c-1");
  grpc::ByteBuffer response;
  const grpc::Status s = Unary(kGetProfile, Bytes(request), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const auto profile = Decode<pv1::Profile>(response);
  EXPECT_EQ(profile.contact().id(), "c-1");
  EXPECT_EQ(profile.stage_reason(), "acme");
}

TEST_F(RawHandlerTest, UnaryInvalidUtf8IsInvalidArgumentNamingTheField) {
  pv1::GetProfileRequest request;
  request.set_contact_id(kBad);
  grpc::ByteBuffer response;
  const grpc::Status s = Unary(kGetProfile, Bytes(request), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "contact_id: not valid UTF-8 (first bad byte at offset 0); send "
            "text as UTF-8");
}

TEST_F(RawHandlerTest, UnaryAuthenticatesBeforeParsing) {
  grpc::ByteBuffer response;
  const grpc::Status s =
      Unary(kGetProfile, "garbage!", &response, /*with_key=*/false);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << s.error_message();
}

TEST_F(RawHandlerTest, UnaryHandlerErrorsAndExceptionsKeepTheirStatus) {
  pv1::GetProfileRequest request;
  grpc::ByteBuffer response;
  request.set_contact_id("missing");
  EXPECT_EQ(Unary(kGetProfile, Bytes(request), &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.set_contact_id("throws");
  const grpc::Status s = Unary(kGetProfile, Bytes(request), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(s.error_message().find("handler_exception"), std::string::npos);
}

TEST_F(RawHandlerTest, ClientStreamBadMessageFailsTheCallNamingItsIndex) {
  auto ctx = Context();
  grpc::ByteBuffer response;
  const grpc::internal::RpcMethod rpc(
      kImport, grpc::internal::RpcMethod::CLIENT_STREAMING);
  std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> writer(
      grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(
          channel_->get(), rpc, ctx.get(), &response));
  for (int i = 0; i < 5; ++i) {
    pv1::ImportContactsRequest batch;
    batch.add_contacts()->set_id(absl::StrCat("cs-", i));
    if (i == 2) batch.mutable_contacts(0)->set_full_name(kBad);
    if (!writer->Write(Buffer(Bytes(batch)))) break;  // the server finished
  }
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "stream message 2 (counting from 0): contacts[0].full_name: not "
            "valid UTF-8 (first bad byte at offset 0); send text as UTF-8; the "
            "2 messages before it were processed, none from it on");
  std::vector<std::string> seen;
  for (const std::string& id : profile_->seen.Get()) {
    if (id.rfind("cs-", 0) == 0) seen.push_back(id);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"cs-0", "cs-1"}));
}

TEST_F(RawHandlerTest, ClientStreamOfValidMessagesEndsWithTheResponse) {
  auto ctx = Context();
  grpc::ByteBuffer response;
  const grpc::internal::RpcMethod rpc(
      kImport, grpc::internal::RpcMethod::CLIENT_STREAMING);
  std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> writer(
      grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(
          channel_->get(), rpc, ctx.get(), &response));
  for (int i = 0; i < 3; ++i) {
    pv1::ImportContactsRequest batch;
    batch.add_contacts()->set_id(absl::StrCat("ok-", i));
    ASSERT_TRUE(writer->Write(Buffer(Bytes(batch))));
  }
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Decode<pv1::ImportContactsResponse>(response).accepted_count(), 3);
}

TEST_F(RawHandlerTest, BidiAnswersEachValidMessageThenFailsOnGarbage) {
  auto ctx = Context();
  const grpc::internal::RpcMethod rpc(
      kScoreMessages, grpc::internal::RpcMethod::BIDI_STREAMING);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>
      stream(grpc::internal::ClientReaderWriterFactory<
             grpc::ByteBuffer, grpc::ByteBuffer>::Create(channel_->get(), rpc,
                                                         ctx.get()));
  for (int i = 0; i < 2; ++i) {
    sv1::ScoreMessageRequest request;
    request.set_request_id(absl::StrCat("r-", i));
    ASSERT_TRUE(stream->Write(Buffer(Bytes(request))));
    grpc::ByteBuffer answer;
    ASSERT_TRUE(stream->Read(&answer));
    const auto decoded = Decode<sv1::ScoreMessagesResponse>(answer);
    EXPECT_EQ(decoded.request_id(), absl::StrCat("r-", i));
    EXPECT_EQ(decoded.index(), i);
  }
  stream->Write(Buffer("not protobuf at all"));
  grpc::ByteBuffer answer;
  EXPECT_FALSE(stream->Read(&answer));
  const grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "stream message 2 (counting from 0): request: not a valid "
            "rapport.scoring.v1.ScoreMessageRequest (malformed protobuf); the "
            "2 messages before it were processed, none from it on");
}

TEST_F(RawHandlerTest, ServerStreamFromATypedReactorArrivesWhole) {
  auto ctx = Context();
  fv1::WatchFeedbackRequest request;
  request.set_start_after_id("item");
  const grpc::internal::RpcMethod rpc(
      kWatch, grpc::internal::RpcMethod::SERVER_STREAMING);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
          channel_->get(), rpc, ctx.get(), Buffer(Bytes(request))));
  std::vector<std::string> ids;
  grpc::ByteBuffer item;
  while (reader->Read(&item)) ids.push_back(Decode<fv1::Feedback>(item).id());
  const grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ids, (std::vector<std::string>{"item-0", "item-1", "item-2"}));
}

TEST_F(RawHandlerTest, ServerStreamBadRequestIsInvalidArgument) {
  auto ctx = Context();
  fv1::WatchFeedbackRequest request;
  request.set_start_after_id(kBad);
  const grpc::internal::RpcMethod rpc(
      kWatch, grpc::internal::RpcMethod::SERVER_STREAMING);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
          channel_->get(), rpc, ctx.get(), Buffer(Bytes(request))));
  grpc::ByteBuffer item;
  EXPECT_FALSE(reader->Read(&item));
  const grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "start_after_id: not valid UTF-8 (first bad byte at offset 0); "
            "send text as UTF-8");
}

}  // namespace
}  // namespace rapport::server
