#include "services/feedback/service.h"

#include <string>
#include <utility>

#include "common/server/handler.h"
#include "common/status/macros.h"

namespace rapport::feedback {
namespace {

using server::Unary;

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
    grpc::CallbackServerContext* ctx, const v1::SubmitFeedbackRequest* request,
    v1::SubmitFeedbackResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  FeedbackHandler::SubmitPlan plan;
  const absl::Status status = server::Guarded(
      *ctx, auth_, "SubmitFeedback", [&](const auth::Principal& p) {
        ASSIGN_OR_RETURN(plan, handler_.PrepareSubmit(p, *request, response));
        return absl::OkStatus();
      });
  if (!status.ok()) {
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  handler_.StoreSubmit(std::move(plan), response, [reactor](absl::Status st) {
    reactor->Finish(ToGrpcStatus(st));
  });
  return reactor;
}

grpc::ServerUnaryReactor* FeedbackServiceImpl::ListFeedback(
    grpc::CallbackServerContext* ctx, const v1::ListFeedbackRequest* request,
    v1::ListFeedbackResponse* response) {
  return Unary(ctx, auth_, "ListFeedback", [&](const auth::Principal& p) {
    return handler_.ListFeedback(p.tenant, *request, response);
  });
}

grpc::ServerWriteReactor<v1::Feedback>* FeedbackServiceImpl::WatchFeedback(
    grpc::CallbackServerContext* ctx, const v1::WatchFeedbackRequest* request) {
  WatchStart start;
  const absl::Status status = server::Guarded(
      *ctx, auth_, "WatchFeedback", [&](const auth::Principal& p) {
        ASSIGN_OR_RETURN(start, handler_.PrepareWatch(p.tenant, *request));
        return absl::OkStatus();
      });
  if (!status.ok()) {
    return new server::FinishedWriteReactor<v1::Feedback>(ToGrpcStatus(status));
  }
  return watch_hub_.Watch(std::move(start));
}

grpc::ServerUnaryReactor* FeedbackServiceImpl::GetDigest(
    grpc::CallbackServerContext* ctx, const v1::GetDigestRequest* request,
    v1::Digest* response) {
  return Unary(ctx, auth_, "GetDigest", [&](const auth::Principal& p) {
    return handler_.GetDigest(p.tenant, *request, response);
  });
}

}  // namespace rapport::feedback
