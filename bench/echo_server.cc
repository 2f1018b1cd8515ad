// echo-server: the thinnest unary and streaming service, started through the
// same bootstrap as the real services (auth, metrics, health, reflection,
// TLS, drain), so that "service QPS / echo QPS" measures what a service adds
// on top of the platform. No Redis (the runtime opens none for
// Service::kEcho) and no readiness probe: always SERVING.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/config/config.h"
#include "common/server/server.h"
#include "rapport/bench/v1/echo.grpc.pb.h"

namespace rapport::bench {
namespace {

using v1::EchoRequest;
using v1::EchoResponse;

constexpr uint32_t kMaxResponseBytes = 1 << 20;

// Echo's answer to `request`, into `response`.
grpc::Status Answer(const EchoRequest& request, EchoResponse* response) {
  const uint32_t size = request.response_bytes();
  if (size == 0) {
    response->set_payload(request.payload());
    return grpc::Status::OK;
  }
  if (size > kMaxResponseBytes) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("response_bytes: ", size, "; at most ",
                         kMaxResponseBytes)};
  }
  const std::string& in = request.payload();
  std::string* out = response->mutable_payload();
  if (in.empty()) {
    out->assign(size, '\0');
    return grpc::Status::OK;
  }
  out->reserve(size);
  while (out->size() < size) {
    out->append(in, 0, std::min<size_t>(in.size(), size - out->size()));
  }
  return grpc::Status::OK;
}

// EchoStream: reads ahead while fewer than kWindow answers wait to be
// written (so a client that stops reading stops the server reading, and
// memory per stream stays bounded), writes the answers one at a time in
// request order, and ends when the client has finished sending and every
// answer is written. gRPC is never called under mu_.
class EchoStreamReactor final
    : public grpc::ServerBidiReactor<EchoRequest, EchoResponse> {
 public:
  static constexpr size_t kWindow = 32;

  EchoStreamReactor() { StartRead(&in_); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client finished sending
      Update([&] {
        reading_ = false;
        reads_done_ = true;
      });
      return;
    }
    EchoResponse response;
    const grpc::Status answered = Answer(in_, &response);
    Update([&] {
      reading_ = false;
      if (answered.ok()) {
        answers_.push_back(std::move(response));
      } else {
        reads_done_ = true;  // the answers before it are written first
        end_ = answered;
      }
    });
  }

  void OnWriteDone(bool ok) override {
    Update([&] {
      writing_ = false;
      answers_.pop_front();
      if (!ok) {  // the client went away: nothing more is read or written
        reads_done_ = true;
        cancelled_ = true;
        end_ = grpc::Status(grpc::StatusCode::CANCELLED, "stream closed");
      }
    });
  }

  void OnDone() override { delete this; }

 private:
  template <typename Fn>
  void Update(Fn change) {
    const EchoResponse* write = nullptr;
    bool read = false;
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      change();
      if (finished_) return;
      if (!writing_ && !cancelled_ && !answers_.empty()) {
        writing_ = true;
        write = &answers_.front();  // deque: stays put while others are added
      }
      if (!reads_done_ && !reading_ && answers_.size() < kWindow) {
        reading_ = true;
        read = true;
      }
      // A read still pending after an error is cancelled by Finish.
      if (reads_done_ && !writing_ && (answers_.empty() || cancelled_)) {
        finished_ = true;
        finish = end_;
      }
    }
    if (write != nullptr) StartWrite(write);
    if (read) StartRead(&in_);
    if (finish.has_value()) Finish(*finish);
  }

  EchoRequest in_;  // the read in progress (one at a time)
  absl::Mutex mu_;
  std::deque<EchoResponse> answers_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = true;  // the constructor's read
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_ ABSL_GUARDED_BY(mu_);
};

class EchoService final : public v1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx,
                                 const EchoRequest* request,
                                 EchoResponse* response) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(Answer(*request, response));
    return reactor;
  }

  grpc::ServerBidiReactor<EchoRequest, EchoResponse>* EchoStream(
      grpc::CallbackServerContext* /*ctx*/) override {
    return new EchoStreamReactor();
  }
};

}  // namespace
}  // namespace rapport::bench

int main(int argc, char** argv) {
  const rapport::config::Config config =
      rapport::config::LoadOrDie(rapport::config::Service::kEcho, argc, argv);
  rapport::server::Runtime runtime(config);
  rapport::bench::EchoService service;
  // service_full_name() lives on the generated outer class, not on its
  // nested CallbackService, hence the explicit registration.
  return rapport::server::Serve(
      runtime,
      {{&service, rapport::bench::v1::EchoService::service_full_name()}});
}
