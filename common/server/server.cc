#include "common/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/server/codec.h"
#include "common/tls/tls.h"

namespace rapport::server {
namespace {

// Signals handled by the signal thread. They are blocked in every thread
// (the mask is inherited by threads created later), so sigwait() in that
// one thread receives them synchronously and no async-signal-safety rules
// apply to the handlers.
sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

[[noreturn]] void DieAtStartup(absl::string_view service,
                               absl::string_view why) {
  std::fprintf(stderr, "%s: %s\n", std::string(service).c_str(),
               std::string(why).c_str());
  std::exit(2);
}

constexpr absl::Duration kProbeInterval = absl::Milliseconds(500);

// Default service config of channels to peers: spread calls over every
// address a target resolves to (headless Services, ipv4: lists) and retry
// calls that never reached a server. Every peer call the project makes is
// idempotent (ids, feedback ids, idempotency keys), so a retry is harmless.
constexpr char kPeerServiceConfig[] = R"json({
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.05s",
      "maxBackoff": "0.5s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json";

}  // namespace

Runtime::Runtime(const config::Config& config) : config_(config) {
  const sigset_t handled = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  // Debian's Abseil ships with absl::Mutex deadlock detection on: every lock
  // (gRPC's included) then takes a process-wide spinlock, which measurably
  // costs throughput on the request path. It is a debugging aid; the test
  // suite's sanitizer builds keep it.
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif

  const absl::string_view name = config::ServiceName(config_.service);
  log::Init(name, config_.log_level);
  // protobuf prints its own lines (e.g. on every request with invalid UTF-8)
  // as free text on stderr; ours are one JSON object per line.
  RouteProtobufLogs();

  auto metrics =
      metrics::Metrics::Start(config_.metrics_addr, name, RAPPORT_VERSION);
  if (!metrics.ok()) DieAtStartup(name, metrics.status().message());
  metrics_ = *std::move(metrics);

  auto auth = auth::Authenticator::Create(config_.api_keys_file);
  if (!auth.ok()) DieAtStartup(name, auth.status().message());
  auth_ = *std::move(auth);

  if (config_.service != config::Service::kEcho &&
      config_.service != config::Service::kClient) {
    redis::PoolOptions options;
    options.endpoint = config_.redis;
    options.size = config_.redis_pool_size;
    options.command_timeout = config_.redis_timeout;
    options.connect_timeout = config_.redis_timeout;
    options.observer = &metrics_->redis();
    redis_ = redis::Pool::Create(options);
    redis::AsyncClientOptions async_options;
    static_cast<redis::PoolOptions&>(async_options) = options;
    // Two I/O threads: measured best on 2 cores (one connection costs more
    // CPU per call in cross-core wake-ups, more than two batch less).
    async_options.connections = 2;
    async_redis_ = redis::AsyncClient::Create(async_options);
  }
}

Runtime::~Runtime() = default;

int Serve(Runtime& runtime, const std::vector<Registration>& services,
          ReadinessProbe probe, Hooks hooks) {
  const config::Config& config = runtime.config();
  const absl::string_view name = config::ServiceName(config.service);

  auto credentials = tls::MakeServerCredentials(config.tls);
  if (!credentials.ok()) DieAtStartup(name, credentials.status().message());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(config.grpc_addr, *credentials, &bound_port);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  // Keepalive: ping idle connections so dead peers (a pod gone without a
  // FIN) are noticed, and let clients ping every 10 s without a GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // Bound connection age so client-side load balancing re-resolves and new
  // replicas receive traffic (Kubernetes scale-out).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 5 * 60'000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 30'000);

  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(runtime.metrics().MakeServerInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  for (const Registration& r : services) builder.RegisterService(r.service);

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    DieAtStartup(name, absl::StrCat("RAPPORT_GRPC_ADDR (--grpc-addr): cannot "
                                    "listen on ",
                                    config.grpc_addr,
                                    " (address in use or not local?)"));
  }

  if (!probe && runtime.redis() != nullptr) {
    redis::Pool* pool = runtime.redis();
    probe = [pool] { return pool->Ping(); };
  }

  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  auto set_serving = [&](bool serving) {
    health->SetServingStatus(serving);
    for (const Registration& r : services) {
      health->SetServingStatus(r.name, serving);
    }
  };
  set_serving(!probe);
  // "liveness": SERVING for as long as the process serves gRPC, whatever
  // Redis does, so a liveness probe restarts only a stuck process (a Redis
  // outage makes pods unready, not dead).
  health->SetServingStatus(std::string(kLivenessService), true);

  log::Info("server_started",
            {{"grpc_addr", config.grpc_addr},
             {"grpc_port", bound_port},
             {"metrics_port", runtime.metrics().port()},
             {"tls", config.tls.ServerTlsEnabled()
                         ? (config.tls.client_ca_file.empty() ? "tls" : "mtls")
                         : "plaintext"},
             {"auth", runtime.auth().dev_mode() ? "dev" : "api_keys"},
             {"redis", runtime.redis() ? config.redis.Redacted() : "none"},
             {"version", RAPPORT_VERSION}});

  absl::Notification stopping;
  std::thread prober;
  if (probe) {
    prober = std::thread([&] {
      bool last = false;
      bool first = true;
      do {
        const absl::Status st = probe();
        const bool ok = st.ok();
        if (first || ok != last) {
          set_serving(ok);
          if (ok) {
            log::Info("health_serving");
          } else {
            log::Warn("health_not_serving",
                      {{"code", absl::StatusCodeToString(st.code())},
                       {"reason", st.message()}});
          }
        }
        first = false;
        last = ok;
      } while (!stopping.WaitForNotificationWithTimeout(kProbeInterval));
    });
  }

  std::thread signals([&] {
    const sigset_t handled = HandledSignals();
    while (true) {
      int sig = 0;
      if (sigwait(&handled, &sig) != 0) continue;
      if (sig == SIGHUP) {
        log::Info("signal_reload");
        if (hooks.on_reload) hooks.on_reload();
        continue;
      }
      log::Info(
          "drain_started",
          {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
           {"drain_seconds", absl::ToInt64Seconds(config.drain_timeout)}});
      stopping.Notify();
      if (prober.joinable()) prober.join();
      // NOT_SERVING first, so load balancers stop sending new calls; then
      // Shutdown() refuses new calls and waits for in-flight ones until the
      // deadline, after which it cancels what is left.
      health->Shutdown();
      if (hooks.on_shutdown) hooks.on_shutdown();
      server->Shutdown(std::chrono::system_clock::now() +
                       absl::ToChronoSeconds(config.drain_timeout));
      return;
    }
  });

  server->Wait();
  signals.join();
  log::Info("server_stopped");
  return 0;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const config::Config& config, const std::string& target,
    grpc::ChannelArguments args) {
  auto credentials = tls::MakeChannelCredentials(config.tls);
  if (!credentials.ok()) return credentials.status();
  tls::ApplyChannelArgs(config.tls, &args);
  // A caller that brings its own service config (the load generator, which
  // must see every failure) keeps it.
  bool has_service_config = false;
  const grpc_channel_args c_args = args.c_channel_args();
  for (size_t i = 0; i < c_args.num_args; ++i) {
    if (std::string_view(c_args.args[i].key) == GRPC_ARG_SERVICE_CONFIG) {
      has_service_config = true;
    }
  }
  if (!has_service_config) args.SetServiceConfigJSON(kPeerServiceConfig);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  args.SetMaxReceiveMessageSize(config.max_message_bytes);
  args.SetMaxSendMessageSize(config.max_message_bytes);
  return grpc::CreateCustomChannel(target, *credentials, args);
}

}  // namespace rapport::server
