#pragma once

// Adapters for raw (ByteBuffer) callback methods, the generated
// WithRawCallbackMethod_<Rpc> templates: the same shape as server::Unary,
// with the request parsed by ParseRequest (common/server/codec.h) so a
// request that does not parse is answered INVALID_ARGUMENT naming the field,
// instead of gRPC 1.51's UNIMPLEMENTED (unary) or a silent end of stream
// (client streams).
//
// Order on every call: authenticate, parse, handle, serialize, Finish once.
// An unauthenticated caller gets UNAUTHENTICATED whatever it sent.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/auth/auth.h"
#include "common/log/log.h"
#include "common/server/codec.h"
#include "common/server/handler.h"
#include "common/status/grpc_status.h"

namespace rapport::server {

// Unary raw method: `fn(const auth::Principal&, const Request&, Response*)
// -> absl::Status` fills the response, which is serialized into `out` when
// the status is OK.
template <typename Request, typename Response, typename Fn>
grpc::ServerUnaryReactor* RawUnary(grpc::CallbackServerContext* ctx,
                                   const grpc::ByteBuffer* in,
                                   grpc::ByteBuffer* out,
                                   const auth::Authenticator& auth,
                                   absl::string_view rpc, Fn&& fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const absl::Status status =
      Guarded(*ctx, auth, rpc, [&](const auth::Principal& principal) {
        Request request;
        Response response;
        if (absl::Status s = ParseRequest(*in, &request); !s.ok()) return s;
        if (absl::Status s = fn(principal, std::as_const(request), &response);
            !s.ok()) {
          return s;
        }
        return SerializeResponse(response, out);
      });
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// Client-streaming raw method, one message at a time: each message is
// parsed and handed to OnMessage before the next is read, so a fast client
// cannot make the server buffer without bound. A message that does not
// parse ends the call with INVALID_ARGUMENT naming its index and field
// (ParseStreamRequest); it is never taken for the end of the stream. When
// the client has sent everything, OnReadsDone fills the response.
//
// Allocate with new and return from the method; it deletes itself. The
// derived constructor calls StartReading() last.
template <typename Request, typename Response>
class RawReadReactor : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  RawReadReactor(absl::string_view rpc, grpc::ByteBuffer* response)
      : rpc_(rpc), response_(response) {}

 protected:
  void StartReading() { StartRead(&in_); }

  // Message `index` (counting from 0). An error ends the call with it.
  virtual absl::Status OnMessage(int64_t index, const Request& request) = 0;
  // The client half-closed after `count` messages.
  virtual absl::Status OnReadsDone(int64_t count, Response* response) = 0;

 private:
  void OnReadDone(bool ok) final {
    if (!ok) {  // the client closed its side: every message was handled
      Response response;
      Finish(ToGrpcStatus(Catching(rpc_, [&]() -> absl::Status {
        if (absl::Status s = OnReadsDone(index_, &response); !s.ok()) return s;
        return SerializeResponse(response, response_);
      })));
      return;
    }
    absl::Status status = ParseStreamRequest(in_, index_, &request_);
    in_.Clear();
    if (status.ok()) {
      status = Catching(rpc_, [&] { return OnMessage(index_, request_); });
    }
    if (!status.ok()) {
      Finish(ToGrpcStatus(status));
      return;
    }
    ++index_;
    StartRead(&in_);
  }

  void OnDone() final { delete this; }

  const std::string rpc_;
  grpc::ByteBuffer* const response_;
  grpc::ByteBuffer in_;
  Request request_;
  int64_t index_ = 0;
};

// Bidirectional raw method answering each message with one message: read,
// parse, OnMessage, write, and only then read the next, so a client that
// stops reading stops the server from reading too (memory per stream stays
// bounded). A message that does not parse ends the stream with
// INVALID_ARGUMENT naming its index and field; every earlier message has
// been answered by then. The stream ends OK when the client half-closes.
//
// Allocate with new and return from the method; it deletes itself. The
// derived constructor calls StartReading() last.
template <typename Request, typename Response>
class RawBidiReactor
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RawBidiReactor(absl::string_view rpc) : rpc_(rpc) {}

 protected:
  void StartReading() { StartRead(&in_); }

  // Answers message `index` (counting from 0) in `response` (cleared). An
  // error ends the stream with it instead.
  virtual absl::Status OnMessage(int64_t index, const Request& request,
                                 Response* response) = 0;

 private:
  void OnReadDone(bool ok) final {
    if (!ok) {  // the client finished sending
      Finish(grpc::Status::OK);
      return;
    }
    absl::Status status = ParseStreamRequest(in_, index_, &request_);
    in_.Clear();
    response_.Clear();
    if (status.ok()) {
      status = Catching(rpc_, [&]() -> absl::Status {
        if (absl::Status s = OnMessage(index_, request_, &response_); !s.ok()) {
          return s;
        }
        return SerializeResponse(response_, &out_);
      });
    }
    if (!status.ok()) {
      Finish(ToGrpcStatus(status));
      return;
    }
    ++index_;
    StartWrite(&out_);
  }

  void OnWriteDone(bool ok) final {
    if (!ok) {  // the client went away
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      return;
    }
    StartRead(&in_);
  }

  void OnDone() final { delete this; }

  const std::string rpc_;
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
  Request request_;
  Response response_;
  int64_t index_ = 0;
};

// Serves a server-streaming raw method with a reactor written against the
// typed API (grpc::ServerWriteReactor<Response>), e.g. one a library hands
// out: each message the typed reactor writes is serialized and written
// here, and every reaction of the call is passed on to it. The typed
// reactor keeps its contract (one write in flight, Finish once, OnDone
// last); it is bound at construction, so it may start writing at once.
//
// Allocate with new and return from the method; it deletes itself after the
// typed reactor's OnDone.
template <typename Response>
class SerializingWriteReactor final
    : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit SerializingWriteReactor(grpc::ServerWriteReactor<Response>* typed)
      : typed_(typed), writer_(this) {
    writer_.Bind(typed_);
  }

  void OnSendInitialMetadataDone(bool ok) override {
    typed_->OnSendInitialMetadataDone(ok);
  }
  void OnWriteDone(bool ok) override { typed_->OnWriteDone(ok); }
  void OnCancel() override { typed_->OnCancel(); }
  void OnDone() override {
    typed_->OnDone();
    delete this;
  }

 private:
  // What the typed reactor sees as its call: forwards to this reactor.
  // Implements grpc's public call interface, as mocks do; gRPC's own
  // reference counting of calls is not involved (the real call is this
  // reactor's).
  class Writer final : public grpc::ServerCallbackWriter<Response> {
   public:
    explicit Writer(SerializingWriteReactor* outer) : outer_(outer) {}
    void Bind(grpc::ServerWriteReactor<Response>* typed) {
      this->BindReactor(typed);
    }

    void Finish(grpc::Status s) override { outer_->Finish(std::move(s)); }
    void SendInitialMetadata() override { outer_->StartSendInitialMetadata(); }
    void Write(const Response* msg, grpc::WriteOptions options) override {
      if (!Serialize(*msg)) {
        // The write cannot happen: report it as failed, as gRPC does for
        // a write to a call that is gone.
        outer_->typed_->OnWriteDone(false);
        return;
      }
      outer_->StartWrite(&outer_->out_, options);
    }
    void WriteAndFinish(const Response* msg, grpc::WriteOptions options,
                        grpc::Status s) override {
      if (!Serialize(*msg)) {
        outer_->Finish(grpc::Status(grpc::StatusCode::INTERNAL,
                                    "a response could not be serialized"));
        return;
      }
      outer_->StartWriteAndFinish(&outer_->out_, options, std::move(s));
    }

   private:
    bool Serialize(const Response& msg) {
      const absl::Status status = SerializeResponse(msg, &outer_->out_);
      if (!status.ok()) {
        log::Error("response_not_serialized", {{"reason", status.message()}});
      }
      return status.ok();
    }
    // Only gRPC's call objects ask for these; the typed reactor never does.
    grpc::internal::ServerReactor* reactor() override { return outer_->typed_; }
    void CallOnDone() override {}

    SerializingWriteReactor* const outer_;
  };

  grpc::ServerWriteReactor<Response>* const typed_;
  Writer writer_;
  grpc::ByteBuffer out_;  // the message being written
};

}  // namespace rapport::server
