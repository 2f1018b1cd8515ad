#include "services/scoring/service.h"

#include <google/protobuf/arena.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/server/codec.h"
#include "common/server/handler.h"
#include "common/server/ordered_stream.h"
#include "common/server/raw_handler.h"
#include "common/status/item_error.h"
#include "common/status/macros.h"
#include "common/util/util.h"

namespace rapport::scoring {
namespace {

using server::RawUnary;

absl::Status RequireWrite(const auth::Principal& principal) {
  if (principal.CanWrite()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "the API key's role \"", principal.role,
      "\" may only read; use a key with role writer, admin or service"));
}

// ScoreMessages: the drafts of a stream are scored concurrently, up to
// server::OrderedStreamReactor's window (their Redis round trips share
// batches), and answered in the order the requests came; a client that
// stops reading stops the server reading too. An item the handler refuses
// is answered with an ItemError and the stream goes on; a message that
// does not parse at all (its request_id unknown) ends the stream with
// INVALID_ARGUMENT naming it, once every earlier item is answered.
class ScoreStreamReactor final
    : public server::OrderedStreamReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  ScoreStreamReactor(ScoringHandler& handler, std::string tenant)
      : handler_(handler), tenant_(std::move(tenant)) {
    StartReading();
  }

 private:
  struct Item : OrderedStreamReactor::Item {
    v1::ScoreMessageRequest request;
    v1::ScoreMessagesResponse response;  // all but the report
    std::string report;                  // its encoding (ScoringHandler)
  };

  void OnRequest(grpc::ByteBuffer& in) override {
    auto item = std::make_unique<Item>();
    const int64_t index = next_index_++;
    const absl::Status parsed =
        server::ParseStreamRequest(in, index, &item->request);
    in.Clear();
    if (!parsed.ok()) {
      EndAfterAnswers(ToGrpcStatus(parsed));
      return;
    }
    item->response.set_request_id(item->request.request_id());
    item->response.set_index(index);
    Item* raw = Queue(std::move(item), /*answered=*/false);
    // May answer inline, or later on a Redis I/O or gRPC client thread.
    handler_.ScoreMessage(
        tenant_, raw->request, &raw->report,
        [this, raw](const absl::Status& status) { Scored(raw, status); });
  }

  void Scored(Item* item, const absl::Status& status) {
    absl::Status serialized;
    if (status.ok()) {
      serialized = EncodeAnswer(item);
    } else {
      ToItemError(status, item->response.mutable_error());
      serialized = server::SerializeResponse(item->response, &item->out);
    }
    Answered(item, ToGrpcStatus(serialized));
  }

  // The response with the report's encoding as its `report` field: the
  // response's other fields, then the report as a length-delimited field
  // (a message's fields may come in any order), in two slices.
  static absl::Status EncodeAnswer(Item* item) {
    std::string head;
    if (!item->response.AppendToString(&head)) {
      return absl::InternalError("the answer could not be serialized");
    }
    util::AppendLengthDelimitedHeader(
        v1::ScoreMessagesResponse::kReportFieldNumber, item->report.size(),
        &head);
    grpc::Slice slices[2] = {grpc::Slice(head), grpc::Slice(item->report)};
    item->out = grpc::ByteBuffer(slices, 2);
    return absl::OkStatus();
  }

  ScoringHandler& handler_;
  const std::string tenant_;
  int64_t next_index_ = 0;  // OnRequest only
};

}  // namespace

ScoringServiceImpl::ScoringServiceImpl(const auth::Authenticator& auth,
                                       ScoringHandler& handler)
    : auth_(auth), handler_(handler) {}

grpc::ServerUnaryReactor* ScoringServiceImpl::ScoreMessage(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // The request lives on an arena (its first block inside the call: no
  // allocation for a typical draft, and freeing it is free) until the
  // handler answers, which may be on another thread; the report comes back
  // as its encoding, the response's bytes.
  struct Call {
    Call() : arena(ArenaOptions(first_block, sizeof(first_block))) {}
    static google::protobuf::ArenaOptions ArenaOptions(char* block,
                                                       size_t size) {
      google::protobuf::ArenaOptions o;
      o.initial_block = block;
      o.initial_block_size = size;
      return o;
    }
    char first_block[8 << 10];
    google::protobuf::Arena arena;
    v1::ScoreMessageRequest* request =
        google::protobuf::Arena::CreateMessage<v1::ScoreMessageRequest>(&arena);
    std::string report;
  };
  auto call = std::make_unique<Call>();
  std::string tenant;
  const absl::Status status = server::Guarded(
      *ctx, auth_, "ScoreMessage", [&](const auth::Principal& p) {
        tenant = p.tenant;
        return server::ParseRequest(*request, call->request);
      });
  if (!status.ok()) {
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  Call* raw = call.get();
  // Answered inline when everything is in memory, else from the thread that
  // completes the last Redis (or profile-service) call.
  handler_.ScoreMessage(
      tenant, *raw->request, &raw->report,
      [reactor, response, call = std::move(call)](const absl::Status& done) {
        if (done.ok()) {
          grpc::Slice bytes(call->report);
          *response = grpc::ByteBuffer(&bytes, 1);
        }
        reactor->Finish(ToGrpcStatus(done));
      });
  return reactor;
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

grpc::ServerUnaryReactor* ScoringServiceImpl::RecordOutcomes(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RawUnary<v1::RecordOutcomesRequest, v1::RecordOutcomesResponse>(
      ctx, request, response, auth_, "RecordOutcomes",
      [&](const auth::Principal& p, const auto& req, auto* resp) {
        RETURN_IF_ERROR(RequireWrite(p));
        return handler_.RecordOutcomes(p.tenant, req, resp);
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
