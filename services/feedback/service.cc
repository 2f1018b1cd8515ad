#include "services/feedback/service.h"

#include <memory>
#include <string>
#include <utility>

#include "common/server/codec.h"
#include "common/server/handler.h"
#include "common/server/raw_handler.h"
#include "common/status/macros.h"

namespace rapport::feedback {
namespace {

using server::RawUnary;

std::unique_ptr<redis::Pool> MakeWatchPool(server::Runtime& runtime,
                                           const WatchOptions& options) {
  const config::Config& config = runtime.config();
  redis::PoolOptions po;
  po.endpoint = config.redis;
  po.size = options.max_watchers;
  // A blocking read answers within `block`; the usual timeout comes on top.
  po.command_timeout = options.block + config.redis_timeout;
  po.connect_timeout = config.redis_timeout;
  po.observer = &runtime.metrics().redis();
  return redis::Pool::Create(po);
}

}  // namespace

FeedbackServiceImpl::FeedbackServiceImpl(
    server::Runtime& runtime,
    std::shared_ptr<const respect::RespectChecker> checker,
    HandlerOptions options, WatchOptions watch_options)
    : auth_(runtime.auth()),
      metrics_(runtime.metrics().registry()),
      store_(*runtime.redis(), runtime.async_redis()),
      handler_(store_, metrics_, std::move(checker), std::move(options)),
      watch_pool_(MakeWatchPool(runtime, watch_options)),
      watch_hub_(*watch_pool_, metrics_, watch_options) {}

FeedbackServiceImpl::~FeedbackServiceImpl() = default;

void FeedbackServiceImpl::Shutdown() {
  watch_hub_.Shutdown();
  watch_hub_.WaitIdle(watch_hub_.options().block + absl::Seconds(1));
}

// Checked on the callback thread, stored through the pipelined AsyncClient
// and answered from its I/O thread once Redis applied the append script:
// no callback thread waits on Redis (DESIGN.md "Performance notes"), and
// OK still means stored.
grpc::ServerUnaryReactor* FeedbackServiceImpl::SubmitFeedback(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // Request and response live until Redis has answered.
  struct Call {
    v1::SubmitFeedbackRequest request;
    v1::SubmitFeedbackResponse response;
  };
  auto call = std::make_unique<Call>();
  FeedbackHandler::SubmitPlan plan;
  const absl::Status status = server::Guarded(
      *ctx, auth_, "SubmitFeedback", [&](const auth::Principal& p) {
        RETURN_IF_ERROR(server::ParseRequest(*request, &call->request));
        ASSIGN_OR_RETURN(
            plan, handler_.PrepareSubmit(p, call->request, &call->response));
        return absl::OkStatus();
      });
  if (!status.ok()) {
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  v1::SubmitFeedbackResponse* out = &call->response;
  handler_.StoreSubmit(
      std::move(plan), out,
      [reactor, response, call = std::move(call)](absl::Status st) {
        if (st.ok()) st = server::SerializeResponse(call->response, response);
        reactor->Finish(ToGrpcStatus(st));
      });
  return reactor;
}

grpc::ServerUnaryReactor* FeedbackServiceImpl::ListFeedback(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::ListFeedbackRequest, v1::ListFeedbackResponse>(
      ctx, request, response, auth_, "ListFeedback",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        return handler_.ListFeedback(p.tenant, req, resp);
      });
}

// The WatchHub's reactors write typed Feedback messages;
// SerializingWriteReactor serves them over the raw method.
grpc::ServerWriteReactor<grpc::ByteBuffer>* FeedbackServiceImpl::WatchFeedback(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request) {
  WatchStart start;
  const absl::Status status = server::Guarded(
      *ctx, auth_, "WatchFeedback", [&](const auth::Principal& p) {
        v1::WatchFeedbackRequest parsed;
        RETURN_IF_ERROR(server::ParseRequest(*request, &parsed));
        ASSIGN_OR_RETURN(start, handler_.PrepareWatch(p.tenant, parsed));
        return absl::OkStatus();
      });
  if (!status.ok()) {
    return new server::FinishedWriteReactor<grpc::ByteBuffer>(
        ToGrpcStatus(status));
  }
  return new server::SerializingWriteReactor<v1::Feedback>(
      watch_hub_.Watch(std::move(start)));
}

grpc::ServerUnaryReactor* FeedbackServiceImpl::GetDigest(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::GetDigestRequest, v1::Digest>(
      ctx, request, response, auth_, "GetDigest",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        return handler_.GetDigest(p.tenant, req, resp);
      });
}

}  // namespace rapport::feedback
