#pragma once

#include <memory>
#include <string>

#include "common/auth/auth.h"
#include "common/server/server.h"
#include "rapport/scoring/v1/scoring.grpc.pb.h"
#include "services/scoring/handler.h"

namespace rapport::scoring {

// gRPC adapter of rapport.scoring.v1.ScoringService (see
// protos/rapport/scoring/v1/scoring.proto).
class ScoringServiceImpl final : public v1::ScoringService::CallbackService {
 public:
  ScoringServiceImpl(const auth::Authenticator& auth, ScoringHandler& handler);

  grpc::ServerUnaryReactor* ScoreMessage(grpc::CallbackServerContext* ctx,
                                         const v1::ScoreMessageRequest* request,
                                         v1::ScoreReport* response) override;
  grpc::ServerBidiReactor<v1::ScoreMessageRequest, v1::ScoreMessagesResponse>*
  ScoreMessages(grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* RecordOutcome(
      grpc::CallbackServerContext* ctx, const v1::RecordOutcomeRequest* request,
      v1::RecordOutcomeResponse* response) override;
  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* ctx,
                                     const v1::GetModelRequest* request,
                                     v1::Model* response) override;

 private:
  const auth::Authenticator& auth_;
  ScoringHandler& handler_;
};

}  // namespace rapport::scoring
