#pragma once

// One Prometheus registry and exposer per process (DESIGN.md "Metrics").
// Families are registered at start-up and label sets resolved once, so the
// hot path only increments pre-resolved metrics (STYLE.md #7). Label values
// come from closed sets (gRPC methods compiled into the binary, status code
// names, Redis command names from a fixed list), never from request data.

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/pool.h"

namespace rapport::metrics {

// Latency buckets in seconds, from 100 µs to 10 s: wide enough for an echo
// call and for a slow Redis reconnect.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

// Redis command latency and errors, labelled by upper-case command name
// (unknown commands are counted as "OTHER" to keep the label set closed).
class RedisMetrics final : public redis::CommandObserver {
 public:
  explicit RedisMetrics(prometheus::Registry& registry);
  void OnCommand(absl::string_view command, absl::Duration latency,
                 bool error) override;

 private:
  struct PerCommand {
    prometheus::Histogram* latency;
    prometheus::Counter* errors;
  };
  PerCommand& For(absl::string_view command);

  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& errors_;
  // Built once in the constructor for every known command; read-only after.
  absl::flat_hash_map<std::string, PerCommand> by_command_;
};

class Metrics {
 public:
  // Starts the exposer on `address` (host:port) serving /metrics. Fails with
  // a message naming RAPPORT_METRICS_ADDR when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<Metrics>> Start(
      const std::string& address, absl::string_view service,
      absl::string_view version);

  // A registry without an exposer, for tests.
  static std::unique_ptr<Metrics> ForTesting(absl::string_view service);

  prometheus::Registry& registry() { return *registry_; }
  RedisMetrics& redis() { return *redis_; }

  // Records grpc_server_handled_total{grpc_service,grpc_method,grpc_code}
  // and grpc_server_handling_seconds{grpc_service,grpc_method}.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  MakeServerInterceptorFactory();

  // The port the exposer listens on (useful when started on port 0).
  int port() const { return port_; }

 private:
  Metrics(absl::string_view service, absl::string_view version);

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<RedisMetrics> redis_;
  int port_ = 0;
};

}  // namespace rapport::metrics
