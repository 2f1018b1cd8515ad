#include "services/scoring/service.h"

#include "common/server/handler.h"

namespace rapport::scoring {

using server::NotYetImplemented;
using server::Unary;

ScoringServiceImpl::ScoringServiceImpl(server::Runtime& runtime)
    : auth_(runtime.auth()) {}

grpc::ServerUnaryReactor* ScoringServiceImpl::ScoreMessage(
    grpc::CallbackServerContext* ctx, const v1::ScoreMessageRequest* request,
    v1::ScoreReport* response) {
  return Unary(ctx, auth_, "ScoreMessage", [](const auth::Principal&) {
    return NotYetImplemented("ScoreMessage");
  });
}

grpc::ServerBidiReactor<v1::ScoreMessageRequest, v1::ScoreMessagesResponse>*
ScoringServiceImpl::ScoreMessages(grpc::CallbackServerContext* ctx) {
  const absl::Status status =
      server::Guarded(*ctx, auth_, "ScoreMessages", [](const auth::Principal&) {
        return NotYetImplemented("ScoreMessages");
      });
  return new server::FinishedBidiReactor<v1::ScoreMessageRequest,
                                         v1::ScoreMessagesResponse>(
      ToGrpcStatus(status));
}

grpc::ServerUnaryReactor* ScoringServiceImpl::RecordOutcome(
    grpc::CallbackServerContext* ctx, const v1::RecordOutcomeRequest* request,
    v1::RecordOutcomeResponse* response) {
  return Unary(ctx, auth_, "RecordOutcome", [](const auth::Principal&) {
    return NotYetImplemented("RecordOutcome");
  });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::GetModel(
    grpc::CallbackServerContext* ctx, const v1::GetModelRequest* request,
    v1::Model* response) {
  return Unary(ctx, auth_, "GetModel", [](const auth::Principal&) {
    return NotYetImplemented("GetModel");
  });
}

}  // namespace rapport::scoring
