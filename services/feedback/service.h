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

// Every RPC of rapport.feedback.v1.FeedbackService as a raw (ByteBuffer)
// callback method: requests are parsed by server::ParseRequest so one that
// does not parse is answered INVALID_ARGUMENT naming the field
// (common/server/codec.h says why gRPC's own parsing cannot be used).
using RawFeedbackService =
    v1::FeedbackService::WithRawCallbackMethod_SubmitFeedback<
        v1::FeedbackService::WithRawCallbackMethod_ListFeedback<
            v1::FeedbackService::WithRawCallbackMethod_WatchFeedback<
                v1::FeedbackService::WithRawCallbackMethod_GetDigest<
                    v1::FeedbackService::Service>>>>;

// gRPC adapter of rapport.feedback.v1.FeedbackService (see
// protos/rapport/feedback/v1/feedback.proto): authenticates each call and
// hands it to FeedbackHandler; WatchFeedback streams through the WatchHub.
class FeedbackServiceImpl final : public RawFeedbackService {
 public:
  FeedbackServiceImpl(server::Runtime& runtime,
                      std::shared_ptr<const respect::RespectChecker> checker,
                      HandlerOptions options = {},
                      WatchOptions watch_options = {});
  ~FeedbackServiceImpl() override;

  grpc::ServerUnaryReactor* SubmitFeedback(grpc::CallbackServerContext* ctx,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListFeedback(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchFeedback(
      grpc::CallbackServerContext* ctx,
      const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* GetDigest(grpc::CallbackServerContext* ctx,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;

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
