#pragma once

#include <grpcpp/support/interceptor.h>
#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace rapport::metrics {

// Per-method series, resolved once per method and then shared by all calls.
struct MethodMetrics {
  // Indexed by grpc::StatusCode (0..16).
  std::array<prometheus::Counter*, 17> handled{};
  prometheus::Histogram* seconds = nullptr;
};

// The grpc-ecosystem go-grpc-prometheus metric names, so existing dashboards
// and alerts work: grpc_server_handled_total{grpc_service,grpc_method,
// grpc_code} and grpc_server_handling_seconds{grpc_service,grpc_method}.
class GrpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcMetricsInterceptorFactory(prometheus::Registry& registry);

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

  // Series for "/package.Service/Method", created on first use. Returns null
  // for methods this binary does not know, so a client sending random method
  // names cannot grow the label set.
  MethodMetrics* ForMethod(const char* full_method);

 private:
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<MethodMetrics>> methods_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace rapport::metrics
