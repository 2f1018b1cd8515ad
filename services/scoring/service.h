#pragma once

#include <memory>
#include <string>

#include "common/auth/auth.h"
#include "common/server/server.h"
#include "rapport/scoring/v1/scoring.grpc.pb.h"
#include "services/scoring/handler.h"

namespace rapport::scoring {

// Every RPC of rapport.scoring.v1.ScoringService as a raw (ByteBuffer)
// callback method: requests are parsed by server::ParseRequest so one that
// does not parse is answered INVALID_ARGUMENT naming the field
// (common/server/codec.h says why gRPC's own parsing cannot be used).
using RawScoringService =
    v1::ScoringService::WithRawCallbackMethod_ScoreMessage<
        v1::ScoringService::WithRawCallbackMethod_ScoreMessages<
            v1::ScoringService::WithRawCallbackMethod_RecordOutcome<
                v1::ScoringService::WithRawCallbackMethod_RecordOutcomes<
                    v1::ScoringService::WithRawCallbackMethod_GetModel<
                        v1::ScoringService::Service>>>>>;

// gRPC adapter of rapport.scoring.v1.ScoringService (see
// protos/rapport/scoring/v1/scoring.proto).
class ScoringServiceImpl final : public RawScoringService {
 public:
  ScoringServiceImpl(const auth::Authenticator& auth, ScoringHandler& handler);

  grpc::ServerUnaryReactor* ScoreMessage(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ScoreMessages(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* RecordOutcome(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RecordOutcomes(grpc::CallbackServerContext* ctx,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* ctx,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;

 private:
  const auth::Authenticator& auth_;
  ScoringHandler& handler_;
};

}  // namespace rapport::scoring
