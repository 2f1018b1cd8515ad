// echo-server: the thinnest unary service, started through the same bootstrap
// as the real services (auth, metrics, health, reflection, TLS, drain), so
// that "service QPS / echo QPS" measures what a service adds on top of the
// platform. No Redis (the runtime opens none for Service::kEcho) and no
// readiness probe: always SERVING.

#include <grpcpp/grpcpp.h>

#include "common/config/config.h"
#include "common/server/server.h"
#include "rapport/bench/v1/echo.grpc.pb.h"

namespace rapport::bench {
namespace {

using v1::EchoRequest;
using v1::EchoResponse;

class EchoService final : public v1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx,
                                 const EchoRequest* request,
                                 EchoResponse* response) override {
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
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
