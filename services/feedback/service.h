#pragma once

#include "common/auth/auth.h"
#include "common/server/server.h"
#include "rapport/feedback/v1/feedback.grpc.pb.h"

namespace rapport::feedback {

// gRPC adapter of rapport.feedback.v1.FeedbackService (see
// protos/rapport/feedback/v1/feedback.proto).
class FeedbackServiceImpl final : public v1::FeedbackService::CallbackService {
 public:
  explicit FeedbackServiceImpl(server::Runtime& runtime);

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

 private:
  const auth::Authenticator& auth_;
};

}  // namespace rapport::feedback
