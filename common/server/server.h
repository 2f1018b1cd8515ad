#pragma once

// The one bootstrap every Rapport server uses (STYLE.md #3): TLS or
// plaintext credentials, auth, metrics interceptor and exposer, grpc.health.v1
// driven by a readiness probe, server reflection, message size and keepalive
// limits, and graceful drain on SIGTERM/SIGINT.
//
//   int main(int argc, char** argv) {
//     auto config = rapport::config::LoadOrDie(Service::kProfile, argc, argv);
//     rapport::server::Runtime runtime(config);  // logs, metrics, auth, Redis
//     MyService service(runtime);
//     return rapport::server::Serve(runtime, {Register(service)});
//   }

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/auth/auth.h"
#include "common/config/config.h"
#include "common/metrics/metrics.h"
#include "common/redis/async_client.h"
#include "common/redis/pool.h"

namespace rapport::server {

// Process-wide state built from the configuration before services are
// constructed: logging, the metrics registry and exposer, the API-key
// authenticator. Construction exits the process with a one-line message
// naming the setting when something cannot be set up (e.g. the metrics port
// is taken or the keys file is unreadable).
class Runtime {
 public:
  explicit Runtime(const config::Config& config);
  ~Runtime();

  const config::Config& config() const { return config_; }
  metrics::Metrics& metrics() { return *metrics_; }
  const auth::Authenticator& auth() const { return *auth_; }

  // The shared Redis pool, or null for binaries that do not use Redis
  // (echo-server). Connects lazily: a Redis that is down at start-up only
  // keeps health NOT_SERVING until it is up.
  redis::Pool* redis() { return redis_.get(); }

  // The pipelined Redis client for hot read paths (one I/O thread per
  // connection, replies delivered on those threads), or null without Redis.
  redis::AsyncClient* async_redis() { return async_redis_.get(); }

 private:
  config::Config config_;
  std::unique_ptr<metrics::Metrics> metrics_;
  std::unique_ptr<auth::Authenticator> auth_;
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<redis::AsyncClient> async_redis_;
};

// A gRPC service and its full name ("rapport.profile.v1.ProfileService"),
// under which grpc.health.v1 reports its status too.
struct Registration {
  grpc::Service* service;
  std::string name;
};

// Registration of an implementation of the generated service `Generated`,
// which knows its own name: Register<v1::ProfileService>(impl).
template <typename Generated, typename Impl>
Registration Register(Impl& service) {
  return Registration{&service, Generated::service_full_name()};
}

// Answers whether the service can serve right now. Called twice a second
// from a background thread; OK means SERVING. When not given, a runtime with
// Redis probes it with PING (DESIGN.md: NOT_SERVING until Redis is
// reachable), and one without is always SERVING.
using ReadinessProbe = std::function<absl::Status()>;

// grpc.health.v1 service name that is SERVING whenever the process serves
// (for liveness probes), unlike "" and the service names, which follow
// readiness (Redis reachable).
inline constexpr char kLivenessService[] = "liveness";

// Optional hooks run on the signal thread.
struct Hooks {
  std::function<void()> on_reload;    // SIGHUP
  std::function<void()> on_shutdown;  // before the drain starts
};

// Builds the server, starts it, and blocks until SIGTERM or SIGINT; then
// reports NOT_SERVING, lets in-flight calls finish (up to the configured drain
// timeout) and returns the process exit code (0 after a clean drain, 1 when
// the server could not start). `probe` may be empty: always SERVING.
int Serve(Runtime& runtime, const std::vector<Registration>& services,
          ReadinessProbe probe = {}, Hooks hooks = {});

// Channel to a peer service or server, with the configured TLS settings and
// keepalive, for clients and service-to-service calls.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const config::Config& config, const std::string& target,
    grpc::ChannelArguments args = {});

}  // namespace rapport::server
