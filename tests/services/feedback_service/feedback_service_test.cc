// FeedbackService over gRPC, in process, against a real redis-server.
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/server/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/feedback/v1/feedback.grpc.pb.h"
#include "services/feedback/service.h"
#include "tests/support/redis_server.h"

namespace rapport::feedback {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const respect::RespectChecker> Checker() {
  const char* root = std::getenv("RAPPORT_SOURCE_DIR");
  const std::string path =
      root != nullptr
          ? absl::StrCat(root, "/services/feedback/respect/lexicon.textproto")
          : std::string(RAPPORT_RESPECT_LEXICON);
  auto checker = respect::LoadLexicon(path);
  EXPECT_TRUE(checker.ok()) << checker.status();
  return checker.ok() ? *checker : nullptr;
}

v1::Feedback NoteTo(common::v1::Team to, const std::string& text) {
  v1::Feedback f;
  f.mutable_author()->set_team(common::v1::TEAM_SALES);
  f.mutable_author()->set_id("rep-1");
  f.mutable_subject()->set_team(to);
  f.mutable_note()->set_to_team(to);
  f.mutable_note()->set_text(text);
  return f;
}

v1::Feedback OutcomeFor(const std::string& message) {
  v1::Feedback f;
  f.mutable_author()->set_team(common::v1::TEAM_SALES);
  f.mutable_author()->set_id("rep-1");
  f.mutable_subject()->set_message_id(message);
  f.mutable_outcome()->set_outcome(common::v1::OUTCOME_REPLIED);
  return f;
}

class FeedbackServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    config::Config config;
    config.service = config::Service::kFeedback;
    config.metrics_addr = "127.0.0.1:0";
    config.redis.host = "127.0.0.1";
    config.redis.port = redis_->port();
    config.redis_timeout = absl::Seconds(1);
    config.log_level = log::Level::kWarn;
    runtime_ = std::make_unique<server::Runtime>(config);
    WatchOptions watch;
    watch.max_watchers = 2;
    watch.page = 8;
    watch.block = absl::Milliseconds(100);
    service_ = std::make_unique<FeedbackServiceImpl>(*runtime_, Checker(),
                                                     HandlerOptions{}, watch);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::FeedbackService::NewStub(channel_);
  }

  void TearDown() override {
    if (service_) service_->Shutdown();
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(2));
    }
    service_.reset();
    runtime_.reset();
  }

  std::unique_ptr<grpc::ClientContext> Ctx(
      absl::Duration timeout = absl::Seconds(30)) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    return ctx;
  }

  std::string Submit(const v1::Feedback& f) {
    v1::SubmitFeedbackRequest req;
    *req.mutable_feedback() = f;
    v1::SubmitFeedbackResponse resp;
    const grpc::Status st = stub_->SubmitFeedback(Ctx().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.feedback_id();
  }

  double Watchers() { return service_->metrics().watchers.Value(); }

  // Watchers start and stop on their own threads: under a loaded machine
  // (the whole suite runs two tests at once) that can take seconds.
  void WaitForWatchers(double n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (Watchers() != n && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_EQ(Watchers(), n);
  }

  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<server::Runtime> runtime_;
  std::unique_ptr<FeedbackServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::FeedbackService::Stub> stub_;
};

TEST_F(FeedbackServiceTest, EveryUnaryRpcWorksOverTheWire) {
  const std::string id = Submit(
      NoteTo(common::v1::TEAM_MARKETING, "They are clueless about our ICP."));
  ASSERT_FALSE(id.empty());

  v1::SubmitFeedbackRequest bad;
  bad.mutable_feedback()->CopyFrom(OutcomeFor("m-1"));
  bad.mutable_feedback()->clear_outcome();
  bad.mutable_feedback()->mutable_review()->set_rating(9);
  v1::SubmitFeedbackResponse resp;
  grpc::Status st = stub_->SubmitFeedback(Ctx().get(), bad, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "feedback.review.rating: 9 is not between 1 and 5");

  v1::ListFeedbackRequest list;
  v1::ListFeedbackResponse items;
  ASSERT_TRUE(stub_->ListFeedback(Ctx().get(), list, &items).ok());
  ASSERT_EQ(items.items_size(), 1);
  EXPECT_EQ(items.items(0).id(), id);
  EXPECT_TRUE(items.items(0).flagged());

  v1::GetDigestRequest digest_req;
  digest_req.set_team(common::v1::TEAM_MARKETING);
  v1::Digest digest;
  ASSERT_TRUE(stub_->GetDigest(Ctx().get(), digest_req, &digest).ok());
  ASSERT_EQ(digest.notes_size(), 1);
  EXPECT_EQ(digest.respect().flagged_received(), 1);
}

TEST_F(FeedbackServiceTest, WatchStreamsNewMatchingItemsInOrder) {
  Submit(NoteTo(common::v1::TEAM_OPS, "before the watch: not streamed"));
  auto ctx = Ctx();
  v1::WatchFeedbackRequest req;
  req.mutable_filter()->set_kind(v1::FEEDBACK_KIND_NOTE);
  auto reader = stub_->WatchFeedback(ctx.get(), req);
  WaitForWatchers(1);
  std::vector<std::string> notes;
  for (int i = 0; i < 3; ++i) {
    notes.push_back(Submit(NoteTo(common::v1::TEAM_OPS, absl::StrCat("n", i))));
    Submit(OutcomeFor(absl::StrCat("m", i)));  // filtered out
  }
  for (const std::string& id : notes) {
    v1::Feedback f;
    ASSERT_TRUE(reader->Read(&f));
    EXPECT_EQ(f.id(), id);
    EXPECT_TRUE(f.has_note());
  }
  ctx->TryCancel();
  v1::Feedback f;
  while (reader->Read(&f)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  WaitForWatchers(0);
}

TEST_F(FeedbackServiceTest, WatchResumesAfterTheLastIdSeen) {
  std::vector<std::string> ids;
  ids.reserve(5);
  for (int i = 0; i < 5; ++i) ids.push_back(Submit(OutcomeFor("m")));
  auto ctx = Ctx();
  v1::WatchFeedbackRequest req;
  req.set_start_after_id(ids[1]);
  auto reader = stub_->WatchFeedback(ctx.get(), req);
  for (int i = 2; i < 5; ++i) {
    v1::Feedback f;
    ASSERT_TRUE(reader->Read(&f));
    EXPECT_EQ(f.id(), ids[i]);
  }
  ctx->TryCancel();
  v1::Feedback f;
  while (reader->Read(&f)) {
  }
  reader->Finish();
}

TEST_F(FeedbackServiceTest, WatchSurvivesASlowReader) {
  auto ctx = Ctx(absl::Seconds(60));
  auto reader = stub_->WatchFeedback(ctx.get(), v1::WatchFeedbackRequest());
  WaitForWatchers(1);
  // ~1.6 MB of notes: far more than the transport's flow-control windows,
  // so the server's writes stall while the client does not read.
  std::vector<std::string> ids;
  ids.reserve(400);
  const std::string text(4000, 'x');
  for (int i = 0; i < 400; ++i) {
    ids.push_back(Submit(NoteTo(common::v1::TEAM_PRODUCT, text)));
  }
  absl::SleepFor(absl::Seconds(1));
  // Requests keep being served while the watcher is stalled.
  Submit(OutcomeFor("still-serving"));
  for (const std::string& id : ids) {
    v1::Feedback f;
    ASSERT_TRUE(reader->Read(&f));
    ASSERT_EQ(f.id(), id);
  }
  ctx->TryCancel();
  v1::Feedback f;
  while (reader->Read(&f)) {
  }
  reader->Finish();
}

TEST_F(FeedbackServiceTest, TooManyWatchersIsResourceExhausted) {
  auto c1 = Ctx();
  auto c2 = Ctx();
  auto r1 = stub_->WatchFeedback(c1.get(), v1::WatchFeedbackRequest());
  auto r2 = stub_->WatchFeedback(c2.get(), v1::WatchFeedbackRequest());
  WaitForWatchers(2);
  auto c3 = Ctx();
  auto r3 = stub_->WatchFeedback(c3.get(), v1::WatchFeedbackRequest());
  v1::Feedback f;
  EXPECT_FALSE(r3->Read(&f));
  const grpc::Status st = r3->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(st.error_message(), HasSubstr("watchers"));

  c1->TryCancel();
  while (r1->Read(&f)) {
  }
  r1->Finish();
  WaitForWatchers(1);
  auto c4 = Ctx();
  auto r4 = stub_->WatchFeedback(c4.get(), v1::WatchFeedbackRequest());
  // A watch starts "from now": submit only once it is registered.
  WaitForWatchers(2);
  const std::string id = Submit(OutcomeFor("m"));
  ASSERT_TRUE(r4->Read(&f));
  EXPECT_EQ(f.id(), id);
  for (auto* c : {c2.get(), c4.get()}) c->TryCancel();
  while (r2->Read(&f)) {
  }
  while (r4->Read(&f)) {
  }
  r2->Finish();
  r4->Finish();
}

TEST_F(FeedbackServiceTest, ShutdownEndsWatchersWithUnavailable) {
  auto ctx = Ctx();
  auto reader = stub_->WatchFeedback(ctx.get(), v1::WatchFeedbackRequest());
  WaitForWatchers(1);
  const std::string id = Submit(OutcomeFor("m"));
  v1::Feedback f;
  ASSERT_TRUE(reader->Read(&f));
  service_->Shutdown();
  EXPECT_FALSE(reader->Read(&f));
  const grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(st.error_message(), HasSubstr(id)) << "names where to resume";
  WaitForWatchers(0);
  // New watchers are refused while draining.
  auto c2 = Ctx();
  auto r2 = stub_->WatchFeedback(c2.get(), v1::WatchFeedbackRequest());
  EXPECT_FALSE(r2->Read(&f));
  EXPECT_EQ(r2->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(FeedbackServiceTest, BadWatchRequestsAreRefused) {
  v1::WatchFeedbackRequest req;
  req.set_start_after_id("yesterday");
  auto ctx = Ctx();
  auto reader = stub_->WatchFeedback(ctx.get(), req);
  v1::Feedback f;
  EXPECT_FALSE(reader->Read(&f));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Watchers(), 0);
}

}  // namespace
}  // namespace rapport::feedback
