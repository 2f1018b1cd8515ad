// GrpcPeers against in-process gRPC servers: batch calls answer per item,
// and a peer without the batch RPCs (an older version, mid-rollout) gets
// the items as single calls, in order.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "services/feedback/forwarder.h"

namespace rapport::feedback {
namespace {

// A scoring-service of before RecordOutcomes: RecordOutcome only (the batch
// RPC answers UNIMPLEMENTED, as gRPC does for a method a server lacks).
class OldScoring final : public scoring::v1::ScoringService::Service {
 public:
  grpc::Status RecordOutcome(
      grpc::ServerContext*, const scoring::v1::RecordOutcomeRequest* request,
      scoring::v1::RecordOutcomeResponse* response) override {
    absl::MutexLock lock(&mu);
    seen.push_back(request->message_id());
    if (request->message_id() == "msg-gone") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "message_id: gone");
    }
    response->set_contact_id("c-" + request->message_id());
    response->set_applied(true);
    return grpc::Status::OK;
  }
  absl::Mutex mu;
  std::vector<std::string> seen ABSL_GUARDED_BY(mu);
};

// A scoring-service with RecordOutcomes, answering per item; `short_by`
// results fewer than asked (a broken peer).
class NewScoring final : public scoring::v1::ScoringService::Service {
 public:
  grpc::Status RecordOutcomes(
      grpc::ServerContext*, const scoring::v1::RecordOutcomesRequest* request,
      scoring::v1::RecordOutcomesResponse* response) override {
    batches.fetch_add(1);
    for (int i = 0; i + short_by < request->outcomes_size(); ++i) {
      scoring::v1::RecordOutcomeResult* r = response->add_results();
      if (request->outcomes(i).message_id() == "msg-gone") {
        r->mutable_error()->set_code(grpc::StatusCode::NOT_FOUND);
        r->mutable_error()->set_message("message_id: gone");
      } else {
        r->mutable_response()->set_contact_id(
            "c-" + request->outcomes(i).message_id());
      }
    }
    return grpc::Status::OK;
  }
  std::atomic<int> batches{0};
  int short_by = 0;
};

class OldProfile final : public profile::v1::ProfileService::Service {
 public:
  grpc::Status RecordInteraction(
      grpc::ServerContext*,
      const profile::v1::RecordInteractionRequest* request,
      profile::v1::RecordInteractionResponse* response) override {
    absl::MutexLock lock(&mu);
    seen.push_back(request->interaction().id());
    response->set_interaction_id(request->interaction().id());
    return grpc::Status::OK;
  }
  absl::Mutex mu;
  std::vector<std::string> seen ABSL_GUARDED_BY(mu);
};

// One in-process server on a free port and a channel to it.
struct Server {
  explicit Server(grpc::Service* service) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service);
    server = builder.BuildAndStart();
    channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                  grpc::InsecureChannelCredentials());
  }
  ~Server() { server->Shutdown(); }
  std::unique_ptr<grpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
};

std::vector<scoring::v1::RecordOutcomeRequest> Outcomes(
    const std::vector<std::string>& message_ids) {
  std::vector<scoring::v1::RecordOutcomeRequest> out;
  for (const std::string& id : message_ids) {
    out.emplace_back().set_message_id(id);
  }
  return out;
}

using OutcomeResults =
    absl::StatusOr<Peers::Results<scoring::v1::RecordOutcomeResponse>>;

OutcomeResults SendOutcomes(GrpcPeers& peers,
                            const std::vector<std::string>& message_ids) {
  absl::Notification done;
  OutcomeResults out;
  peers.RecordOutcomes("acme", Outcomes(message_ids), [&](OutcomeResults r) {
    out = std::move(r);
    done.Notify();
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  return out;
}

TEST(GrpcPeersTest, APeerWithoutTheBatchRpcGetsSingleCallsInOrder) {
  OldScoring scoring;
  OldProfile profile;
  Server s(&scoring), p(&profile);
  GrpcPeers peers(s.channel, p.channel, "", absl::Seconds(5));

  OutcomeResults r = SendOutcomes(peers, {"msg-1", "msg-gone", "msg-3"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0]->contact_id(), "c-msg-1");
  EXPECT_EQ((*r)[1].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*r)[2]->contact_id(), "c-msg-3");
  {
    absl::MutexLock lock(&scoring.mu);
    EXPECT_EQ(scoring.seen,
              (std::vector<std::string>{"msg-1", "msg-gone", "msg-3"}));
  }

  std::vector<profile::v1::Interaction> interactions(2);
  interactions[0].set_id("fb-1");
  interactions[1].set_id("fb-2");
  absl::Notification done;
  absl::StatusOr<Peers::Results<profile::v1::RecordInteractionResponse>> ir;
  peers.RecordInteractions("acme", interactions, [&](auto res) {
    ir = std::move(res);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(ir.ok()) << ir.status();
  ASSERT_EQ(ir->size(), 2u);
  EXPECT_EQ((*ir)[1]->interaction_id(), "fb-2");
  absl::MutexLock lock(&profile.mu);
  EXPECT_EQ(profile.seen, (std::vector<std::string>{"fb-1", "fb-2"}));
}

TEST(GrpcPeersTest, ABatchRpcAnswersEachItemAndAShortAnswerFailsTheCall) {
  NewScoring scoring;
  OldProfile profile;
  Server s(&scoring), p(&profile);
  GrpcPeers peers(s.channel, p.channel, "", absl::Seconds(5));

  OutcomeResults r = SendOutcomes(peers, {"msg-1", "msg-gone"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(scoring.batches.load(), 1) << "one call for the batch";
  EXPECT_EQ((*r)[0]->contact_id(), "c-msg-1");
  EXPECT_EQ((*r)[1].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*r)[1].status().message(), "message_id: gone");

  scoring.short_by = 1;
  r = SendOutcomes(peers, {"msg-1", "msg-2"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace rapport::feedback
