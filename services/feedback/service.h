#pragma once

#include <memory>

#include "common/auth/auth.h"
#include "common/redis/pool.h"
#include "common/server/server.h"
#include "rapport/feedback/v1/feedback.grpc.pb.h"
#include "services/feedback/handler.h"
#include "services/feedback/respect/respect.h"
#include "services/feedback/store.h"
#include "services/feedback/watch.h"

namespace rapport::feedback {

// gRPC adapter of rapport.feedback.v1.FeedbackService (see
// protos/rapport/feedback/v1/feedback.proto): authenticates each call and
// hands it to FeedbackHandler; WatchFeedback streams through the WatchHub.
class FeedbackServiceImpl final : public v1::FeedbackService::CallbackService {
 public:
  FeedbackServiceImpl(server::Runtime& runtime,
                      std::shared_ptr<const respect::RespectChecker> checker,
                      HandlerOptions options = {},
                      WatchOptions watch_options = {});
  ~FeedbackServiceImpl() override;

  grpc::ServerUnaryReactor* SubmitFeedback(
      grpc::CallbackServerContext* ctx,
      const v1::SubmitFeedbackRequest* request,
      v1::SubmitFeedbackResponse* response) override;
  grpc::ServerUnaryReactor* ListFeedback(
      grpc::CallbackServerContext* ctx, const v1::ListFeedbackRequest* request,
      v1::ListFeedbackResponse* response) override;
  grpc::ServerWriteReactor<v1::Feedback>* WatchFeedback(
      grpc::CallbackServerContext* ctx,
      const v1::WatchFeedbackRequest* request) override;
  grpc::ServerUnaryReactor* GetDigest(grpc::CallbackServerContext* ctx,
                                      const v1::GetDigestRequest* request,
                                      v1::Digest* response) override;

  // Ends every WatchFeedback stream (UNAVAILABLE) and refuses new ones; for
  // the drain on SIGTERM.
  void Shutdown();

  FeedbackHandler& handler() { return handler_; }
  FeedbackStore& store() { return store_; }
  FeedbackMetrics& metrics() { return metrics_; }

 private:
  const auth::Authenticator& auth_;
  FeedbackMetrics metrics_;
  FeedbackStore store_;
  FeedbackHandler handler_;
  // Blocking XREADs of watchers run on their own connections.
  std::unique_ptr<redis::Pool> watch_pool_;
  WatchHub watch_hub_;
};

}  // namespace rapport::feedback
