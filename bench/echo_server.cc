// echo-server: the thinnest unary and streaming service, started through the
// same bootstrap as the real services (auth, metrics, health, reflection,
// TLS, drain), so that "service QPS / echo QPS" measures what a service adds
// on top of the platform. No Redis (the runtime opens none for
// Service::kEcho) and no readiness probe: always SERVING.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/config/config.h"
#include "common/server/ordered_stream.h"
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

// EchoStream: the streaming baseline of ScoreMessages, through the same
// server::OrderedStreamReactor (read ahead up to its window, answers
// written one at a time in request order). A request Echo would refuse
// ends the stream with that status once the answers before it are written.
class EchoStreamReactor final
    : public server::OrderedStreamReactor<EchoRequest, EchoResponse> {
 public:
  EchoStreamReactor() { StartReading(); }

 private:
  void OnRequest(EchoRequest& in) override {
    auto item = std::make_unique<Item>();
    const grpc::Status answered = Answer(in, &item->out);
    if (!answered.ok()) {
      EndAfterAnswers(answered);
      return;
    }
    Queue(std::move(item), /*answered=*/true);
  }
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
