#include "services/feedback/service.h"

#include "common/server/handler.h"

namespace rapport::feedback {

using server::NotYetImplemented;
using server::Unary;

FeedbackServiceImpl::FeedbackServiceImpl(server::Runtime& runtime)
    : auth_(runtime.auth()) {}

grpc::ServerUnaryReactor* FeedbackServiceImpl::SubmitFeedback(
    grpc::CallbackServerContext* ctx, const v1::SubmitFeedbackRequest* request,
    v1::SubmitFeedbackResponse* response) {
  return Unary(ctx, auth_, "SubmitFeedback", [](const auth::Principal&) {
    return NotYetImplemented("SubmitFeedback");
  });
}

grpc::ServerUnaryReactor* FeedbackServiceImpl::ListFeedback(
    grpc::CallbackServerContext* ctx, const v1::ListFeedbackRequest* request,
    v1::ListFeedbackResponse* response) {
  return Unary(ctx, auth_, "ListFeedback", [](const auth::Principal&) {
    return NotYetImplemented("ListFeedback");
  });
}

grpc::ServerWriteReactor<v1::Feedback>* FeedbackServiceImpl::WatchFeedback(
    grpc::CallbackServerContext* ctx, const v1::WatchFeedbackRequest* request) {
  const absl::Status status =
      server::Guarded(*ctx, auth_, "WatchFeedback", [](const auth::Principal&) {
        return NotYetImplemented("WatchFeedback");
      });
  return new server::FinishedWriteReactor<v1::Feedback>(ToGrpcStatus(status));
}

grpc::ServerUnaryReactor* FeedbackServiceImpl::GetDigest(
    grpc::CallbackServerContext* ctx, const v1::GetDigestRequest* request,
    v1::Digest* response) {
  return Unary(ctx, auth_, "GetDigest", [](const auth::Principal&) {
    return NotYetImplemented("GetDigest");
  });
}

}  // namespace rapport::feedback
