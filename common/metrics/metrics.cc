#include "common/metrics/metrics.h"

#include <chrono>
#include <exception>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/metrics/grpc_interceptor.h"

namespace rapport::metrics {
namespace {

// Every Redis command the project sends, so each gets its own series.
constexpr absl::string_view kKnownCommands[] = {
    "AUTH",          "DEL",        "EVAL",
    "EVALSHA",       "EXEC",       "EXISTS",
    "EXPIRE",        "GET",        "HDEL",
    "HGET",          "HGETALL",    "HINCRBY",
    "HMGET",         "HSET",       "INCR",
    "INCRBY",        "LPUSH",      "LRANGE",
    "LTRIM",         "MGET",       "MULTI",
    "PING",          "PEXPIRE",    "RPUSH",
    "SADD",          "SCAN",       "SCRIPT",
    "SELECT",        "SET",        "SMEMBERS",
    "SREM",          "UNLINK",     "WATCH",
    "XACK",          "XADD",       "XAUTOCLAIM",
    "XCLAIM",        "XGROUP",     "XINFO",
    "XLEN",          "XPENDING",   "XRANGE",
    "XREAD",         "XREADGROUP", "XREVRANGE",
    "ZADD",          "ZCARD",      "ZRANGE",
    "ZRANGEBYSCORE", "ZREM",       "ZREMRANGEBYSCORE",
    "ZREVRANGE",     "ZSCORE",     "PIPELINE",
    "OTHER"};

}  // namespace

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *buckets;
}

RedisMetrics::RedisMetrics(prometheus::Registry& registry)
    : latency_(prometheus::BuildHistogram()
                   .Name("redis_command_duration_seconds")
                   .Help("Latency of Redis commands sent by this process, "
                         "from send to reply")
                   .Register(registry)),
      errors_(prometheus::BuildCounter()
                  .Name("redis_command_errors_total")
                  .Help("Redis commands that failed: connection errors, "
                        "timeouts and error replies")
                  .Register(registry)) {
  for (absl::string_view name : kKnownCommands) {
    by_command_.emplace(
        std::string(name),
        PerCommand{
            &latency_.Add({{"command", std::string(name)}}, LatencyBuckets()),
            &errors_.Add({{"command", std::string(name)}})});
  }
}

RedisMetrics::PerCommand& RedisMetrics::For(absl::string_view command) {
  auto it = by_command_.find(command);
  if (it == by_command_.end()) {
    const std::string upper = absl::AsciiStrToUpper(command);
    it = by_command_.find(upper);
    if (it == by_command_.end()) it = by_command_.find("OTHER");
  }
  return it->second;
}

void RedisMetrics::OnCommand(absl::string_view command, absl::Duration latency,
                             bool error) {
  PerCommand& m = For(command);
  m.latency->Observe(absl::ToDoubleSeconds(latency));
  if (error) m.errors->Increment();
}

Metrics::Metrics(absl::string_view service, absl::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()) {
  redis_ = std::make_unique<RedisMetrics>(*registry_);
  prometheus::BuildGauge()
      .Name("rapport_build_info")
      .Help("Always 1; labels name the service and its version")
      .Register(*registry_)
      .Add({{"service", std::string(service)},
            {"version", std::string(version)}})
      .Set(1);
  prometheus::BuildGauge()
      .Name("process_start_time_seconds")
      .Help("Start time of the process since the Unix epoch, in seconds")
      .Register(*registry_)
      .Add({})
      .Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
}

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(
    const std::string& address, absl::string_view service,
    absl::string_view version) {
  std::unique_ptr<Metrics> m(new Metrics(service, version));
  try {
    // civetweb reports a bind failure by throwing from the constructor; this
    // is start-up, not the request path, so it is caught here and turned
    // into a status.
    m->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "RAPPORT_METRICS_ADDR (--metrics-addr): cannot serve /metrics on ",
        address, ": ", e.what()));
  }
  m->exposer_->RegisterCollectable(m->registry_);
  const std::vector<int> ports = m->exposer_->GetListeningPorts();
  m->port_ = ports.empty() ? 0 : ports.front();
  return m;
}

std::unique_ptr<Metrics> Metrics::ForTesting(absl::string_view service) {
  return std::unique_ptr<Metrics>(new Metrics(service, "test"));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::MakeServerInterceptorFactory() {
  return std::make_unique<GrpcMetricsInterceptorFactory>(*registry_);
}

}  // namespace rapport::metrics
