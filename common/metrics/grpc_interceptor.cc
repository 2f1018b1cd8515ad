#include "common/metrics/grpc_interceptor.h"

#include <google/protobuf/descriptor.h>

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/metrics/metrics.h"

namespace rapport::metrics {
namespace {

constexpr std::array<absl::string_view, 17> kCodeNames = {"OK",
                                                          "CANCELLED",
                                                          "UNKNOWN",
                                                          "INVALID_ARGUMENT",
                                                          "DEADLINE_EXCEEDED",
                                                          "NOT_FOUND",
                                                          "ALREADY_EXISTS",
                                                          "PERMISSION_DENIED",
                                                          "RESOURCE_EXHAUSTED",
                                                          "FAILED_PRECONDITION",
                                                          "ABORTED",
                                                          "OUT_OF_RANGE",
                                                          "UNIMPLEMENTED",
                                                          "INTERNAL",
                                                          "UNAVAILABLE",
                                                          "DATA_LOSS",
                                                          "UNAUTHENTICATED"};

// Services registered from outside the generated descriptor pool: the
// default health service is built on upb, not on the C++ protobuf runtime.
bool IsKnownMethod(absl::string_view service, absl::string_view method) {
  if (service == "grpc.health.v1.Health") {
    return method == "Check" || method == "Watch";
  }
  const auto* sd =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(service));
  return sd != nullptr && sd->FindMethodByName(std::string(method)) != nullptr;
}

class GrpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit GrpcMetricsInterceptor(MethodMetrics* metrics)
      : metrics_(metrics), start_(std::chrono::steady_clock::now()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const int code = static_cast<int>(methods->GetSendStatus().error_code());
      const std::chrono::duration<double> elapsed =
          std::chrono::steady_clock::now() - start_;
      metrics_->handled[code >= 0 && code < 17 ? code : 2]->Increment();
      metrics_->seconds->Observe(elapsed.count());
    }
    methods->Proceed();
  }

 private:
  MethodMetrics* metrics_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

GrpcMetricsInterceptorFactory::GrpcMetricsInterceptorFactory(
    prometheus::Registry& registry)
    : handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("RPCs completed on the server, by method and status "
                         "code")
                   .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("grpc_server_handling_seconds")
                   .Help("Time from the start of an RPC to its status being "
                         "sent, in seconds")
                   .Register(registry)) {}

MethodMetrics* GrpcMetricsInterceptorFactory::ForMethod(
    const char* full_method) {
  if (full_method == nullptr) return nullptr;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = methods_.find(full_method);
    if (it != methods_.end()) return it->second.get();
  }
  absl::string_view path = full_method;
  if (!absl::StartsWith(path, "/")) return nullptr;
  path.remove_prefix(1);
  const size_t slash = path.find('/');
  if (slash == absl::string_view::npos) return nullptr;
  const absl::string_view service = path.substr(0, slash);
  const absl::string_view method = path.substr(slash + 1);
  if (!IsKnownMethod(service, method)) return nullptr;

  absl::MutexLock lock(&mu_);
  auto& slot = methods_[full_method];
  if (slot == nullptr) {
    slot = std::make_unique<MethodMetrics>();
    const std::string s(service);
    const std::string m(method);
    for (size_t code = 0; code < kCodeNames.size(); ++code) {
      slot->handled[code] =
          &handled_.Add({{"grpc_service", s},
                         {"grpc_method", m},
                         {"grpc_code", std::string(kCodeNames[code])}});
    }
    slot->seconds = &seconds_.Add({{"grpc_service", s}, {"grpc_method", m}},
                                  LatencyBuckets());
  }
  return slot.get();
}

grpc::experimental::Interceptor*
GrpcMetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  MethodMetrics* metrics = ForMethod(info->method());
  if (metrics == nullptr) return nullptr;
  return new GrpcMetricsInterceptor(metrics);
}

}  // namespace rapport::metrics
