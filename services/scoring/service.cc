#include "services/scoring/service.h"

#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/handler.h"
#include "common/status/macros.h"

namespace rapport::scoring {
namespace {

using server::Unary;

absl::Status RequireWrite(const auth::Principal& principal) {
  if (principal.CanWrite()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "the API key's role \"", principal.role,
      "\" may only read; use a key with role writer, admin or service"));
}

// ScoreMessages: one request at a time. The next request is read only after
// the previous answer has been written, so a client that stops reading
// stops the server from reading too (HTTP/2 flow control then holds it
// back): memory per stream stays bounded whatever the client does. One bad
// item is answered with an ItemError and the stream goes on.
class ScoreStreamReactor final
    : public grpc::ServerBidiReactor<v1::ScoreMessageRequest,
                                     v1::ScoreMessagesResponse> {
 public:
  ScoreStreamReactor(ScoringHandler& handler, std::string tenant)
      : handler_(handler), tenant_(std::move(tenant)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client finished sending
      Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    response_.set_request_id(request_.request_id());
    response_.set_index(index_++);
    // The answer may come inline or on another thread; either way it is
    // written before the next request is read.
    handler_.ScoreMessage(tenant_, request_, response_.mutable_report(),
                          [this](absl::Status status) {
                            if (!status.ok()) {
                              response_.clear_report();
                              response_.mutable_error()->set_code(
                                  static_cast<int>(status.code()));
                              response_.mutable_error()->set_message(
                                  std::string(status.message()));
                            }
                            StartWrite(&response_);
                          });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // the client went away
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  ScoringHandler& handler_;
  const std::string tenant_;
  v1::ScoreMessageRequest request_;
  v1::ScoreMessagesResponse response_;
  int64_t index_ = 0;
};

}  // namespace

ScoringServiceImpl::ScoringServiceImpl(const auth::Authenticator& auth,
                                       ScoringHandler& handler)
    : auth_(auth), handler_(handler) {}

grpc::ServerUnaryReactor* ScoringServiceImpl::ScoreMessage(
    grpc::CallbackServerContext* ctx, const v1::ScoreMessageRequest* request,
    v1::ScoreReport* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string tenant;
  const absl::Status status = server::Guarded(*ctx, auth_, "ScoreMessage",
                                              [&](const auth::Principal& p) {
                                                tenant = p.tenant;
                                                return absl::OkStatus();
                                              });
  if (!status.ok()) {
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  // Answered inline when everything is in memory, else from the thread that
  // completes the last Redis (or profile-service) call.
  handler_.ScoreMessage(
      tenant, *request, response,
      [reactor](absl::Status done) { reactor->Finish(ToGrpcStatus(done)); });
  return reactor;
}

grpc::ServerBidiReactor<v1::ScoreMessageRequest, v1::ScoreMessagesResponse>*
ScoringServiceImpl::ScoreMessages(grpc::CallbackServerContext* ctx) {
  std::string tenant;
  const absl::Status status = server::Guarded(*ctx, auth_, "ScoreMessages",
                                              [&](const auth::Principal& p) {
                                                tenant = p.tenant;
                                                return absl::OkStatus();
                                              });
  if (!status.ok()) {
    return new server::FinishedBidiReactor<v1::ScoreMessageRequest,
                                           v1::ScoreMessagesResponse>(
        ToGrpcStatus(status));
  }
  return new ScoreStreamReactor(handler_, std::move(tenant));
}

grpc::ServerUnaryReactor* ScoringServiceImpl::RecordOutcome(
    grpc::CallbackServerContext* ctx, const v1::RecordOutcomeRequest* request,
    v1::RecordOutcomeResponse* response) {
  return Unary(ctx, auth_, "RecordOutcome", [&](const auth::Principal& p) {
    RETURN_IF_ERROR(RequireWrite(p));
    return handler_.RecordOutcome(p.tenant, *request, response);
  });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::GetModel(
    grpc::CallbackServerContext* ctx, const v1::GetModelRequest* request,
    v1::Model* response) {
  return Unary(ctx, auth_, "GetModel", [&](const auth::Principal& p) {
    return handler_.GetModel(p.tenant, *request, response);
  });
}

}  // namespace rapport::scoring
