#include "services/scoring/service.h"

#include <google/protobuf/arena.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/server/codec.h"
#include "common/server/handler.h"
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

// ScoreMessages: up to kWindow items of one stream are scored at once
// (their Redis round trips share batches), and answers are written one at a
// time in the order the requests came. Reading stops while kWindow items
// wait to be answered, so a client that stops reading stops the server from
// reading too (HTTP/2 flow control then holds it back): memory per stream
// stays bounded whatever the client does. An item the handler refuses is
// answered with an ItemError and the stream goes on; a message that does
// not parse at all (its request_id unknown) ends the stream with
// INVALID_ARGUMENT naming it, once every earlier item is answered.
class ScoreStreamReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // Items read and not yet answered, per stream.
  static constexpr size_t kWindow = 32;

  ScoreStreamReactor(ScoringHandler& handler, std::string tenant)
      : handler_(handler), tenant_(std::move(tenant)) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client finished sending
      Update([&] {
        reading_ = false;
        reads_done_ = true;
      });
      return;
    }
    auto item = std::make_unique<Item>();
    const int64_t index = next_index_++;
    const absl::Status parsed =
        server::ParseStreamRequest(in_, index, &item->request);
    in_.Clear();
    if (!parsed.ok()) {
      Update([&] {
        reading_ = false;
        // Every earlier item is answered first.
        End(ToGrpcStatus(parsed), /*drain=*/true);
      });
      return;
    }
    item->response.set_request_id(item->request.request_id());
    item->response.set_index(index);
    Item* raw = item.get();
    Update([&] {
      reading_ = false;
      items_.push_back(std::move(item));
      ++scoring_;
    });
    // May answer inline, or later on a Redis I/O or gRPC client thread.
    handler_.ScoreMessage(
        tenant_, raw->request, &raw->report,
        [this, raw](const absl::Status& status) { Scored(raw, status); });
  }

  void OnWriteDone(bool ok) override {
    Update([&] {
      writing_ = false;
      items_.pop_front();
      // The client went away: nothing more is read or written.
      if (!ok) {
        End(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"),
            /*drain=*/false);
      }
    });
  }

  void OnDone() override { delete this; }

 private:
  struct Item {
    v1::ScoreMessageRequest request;
    v1::ScoreMessagesResponse response;  // all but the report
    std::string report;                  // its encoding (ScoringHandler)
    grpc::ByteBuffer out;
    bool answered = false;
  };

  void Scored(Item* item, const absl::Status& status) {
    absl::Status serialized;
    if (status.ok()) {
      serialized = EncodeAnswer(item);
    } else {
      ToItemError(status, item->response.mutable_error());
      serialized = server::SerializeResponse(item->response, &item->out);
    }
    Update([&] {
      item->answered = true;
      --scoring_;
      if (!serialized.ok()) End(ToGrpcStatus(serialized), /*drain=*/false);
    });
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

  // Stops reading; the stream ends with `status` once nothing is being
  // scored or written, and, with `drain`, once the items already read are
  // answered.
  void End(grpc::Status status, bool drain) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    reads_done_ = true;
    if (end_.ok()) {
      end_ = std::move(status);
      drain_ = drain;
    }
  }

  // Applies `change` under mu_, then starts what can start now, after mu_
  // is released (gRPC is never called under it): the next write (answers go
  // out in request order), the next read (while the window has room), or
  // the end of the stream (when nothing is read, scored or written).
  template <typename Fn>
  void Update(Fn change) {
    grpc::ByteBuffer* write = nullptr;
    bool read = false;
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      change();
      if (finished_) return;
      const bool answering = end_.ok() || drain_;
      if (!writing_ && answering && !items_.empty() &&
          items_.front()->answered) {
        writing_ = true;
        write = &items_.front()->out;
      }
      if (!reads_done_ && !reading_ && items_.size() < kWindow) {
        reading_ = true;
        read = true;
      }
      // A read still pending after an error is cancelled by Finish.
      if (reads_done_ && !writing_ && scoring_ == 0 &&
          (items_.empty() || !answering)) {
        finished_ = true;
        finish = end_;
      }
    }
    if (write != nullptr) StartWrite(write);
    if (read) StartRead(&in_);
    if (finish.has_value()) Finish(*finish);
  }

  ScoringHandler& handler_;
  const std::string tenant_;
  grpc::ByteBuffer in_;     // the read in progress (one at a time)
  int64_t next_index_ = 0;  // OnReadDone only

  absl::Mutex mu_;
  std::deque<std::unique_ptr<Item>> items_ ABSL_GUARDED_BY(mu_);
  size_t scoring_ ABSL_GUARDED_BY(mu_) = 0;   // handler calls not yet back
  bool reading_ ABSL_GUARDED_BY(mu_) = true;  // the constructor's read
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_ ABSL_GUARDED_BY(mu_);  // how the stream ends
  bool drain_ ABSL_GUARDED_BY(mu_) = true;
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
