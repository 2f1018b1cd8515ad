#include "services/scoring/service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/server/handler.h"
#include "common/server/raw_handler.h"
#include "common/status/macros.h"

namespace rapport::scoring {
namespace {

using server::RawUnary;

absl::Status RequireWrite(const auth::Principal& principal) {
  if (principal.CanWrite()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "the API key's role \"", principal.role,
      "\" may only read; use a key with role writer, admin or service"));
}

// ScoreMessages: one request at a time (server::RawBidiReactor). The next
// request is read only after the previous answer has been written, so a
// client that stops reading stops the server from reading too (HTTP/2 flow
// control then holds it back): memory per stream stays bounded whatever the
// client does. One item the handler refuses is answered with an ItemError
// and the stream goes on; a message that does not parse at all (its
// request_id unknown) ends the stream with INVALID_ARGUMENT naming it.
class ScoreStreamReactor final
    : public server::RawBidiReactor<v1::ScoreMessageRequest,
                                    v1::ScoreMessagesResponse> {
 public:
  ScoreStreamReactor(ScoringHandler& handler, std::string tenant)
      : RawBidiReactor("ScoreMessages"),
        handler_(handler),
        tenant_(std::move(tenant)) {
    StartReading();
  }

 private:
  absl::Status OnMessage(int64_t index, const v1::ScoreMessageRequest& request,
                         v1::ScoreMessagesResponse* response) override {
    response->set_request_id(request.request_id());
    response->set_index(index);
    const absl::Status status = server::Catching("ScoreMessages", [&] {
      return handler_.ScoreMessage(tenant_, request,
                                   response->mutable_report());
    });
    if (!status.ok()) {
      response->clear_report();
      response->mutable_error()->set_code(static_cast<int>(status.code()));
      response->mutable_error()->set_message(std::string(status.message()));
    }
    return absl::OkStatus();
  }

  ScoringHandler& handler_;
  const std::string tenant_;
};

}  // namespace

ScoringServiceImpl::ScoringServiceImpl(const auth::Authenticator& auth,
                                       ScoringHandler& handler)
    : auth_(auth), handler_(handler) {}

grpc::ServerUnaryReactor* ScoringServiceImpl::ScoreMessage(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::ScoreMessageRequest, v1::ScoreReport>(
      ctx, request, response, auth_, "ScoreMessage",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        return handler_.ScoreMessage(p.tenant, req, resp);
      });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
ScoringServiceImpl::ScoreMessages(grpc::CallbackServerContext* ctx) {
  std::string tenant;
  const absl::Status status = server::Guarded(*ctx, auth_, "ScoreMessages",
                                              [&](const auth::Principal& p) {
                                                tenant = p.tenant;
                                                return absl::OkStatus();
                                              });
  if (!status.ok()) {
    return new server::FinishedBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>(
        ToGrpcStatus(status));
  }
  return new ScoreStreamReactor(handler_, std::move(tenant));
}

grpc::ServerUnaryReactor* ScoringServiceImpl::RecordOutcome(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::RecordOutcomeRequest, v1::RecordOutcomeResponse>(
      ctx, request, response, auth_, "RecordOutcome",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        RETURN_IF_ERROR(RequireWrite(p));
        return handler_.RecordOutcome(p.tenant, req, resp);
      });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::GetModel(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::GetModelRequest, v1::Model>(
      ctx, request, response, auth_, "GetModel",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        return handler_.GetModel(p.tenant, req, resp);
      });
}

}  // namespace rapport::scoring
