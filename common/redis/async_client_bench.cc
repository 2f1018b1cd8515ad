// Pool vs AsyncClient: closed-loop GET from 1, 4 and 16 concurrent callers,
// each waiting for its reply before sending the next (as a gRPC handler
// would if it blocked), reporting ops/s for the whole process.
//
//   build/bench/async_client_bench [--benchmark_filter=...]
//
// Starts a private redis-server (rapport_test_support) when built with the
// tests; otherwise set REDIS_PORT to a redis-server on 127.0.0.1 whose data
// may be overwritten (it SETs one key). Client, server and callers share the
// machine's cores: compare rows of one run, not runs.
//
// BM_AsyncGetChained models a gRPC callback handler more closely: no caller
// thread waits; each of the N "callers" issues its next GET from the previous
// one's callback, on the I/O thread, so only the I/O thread and Redis run.

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "common/redis/async_client.h"
#include "common/redis/pool.h"
#include "common/redis/redis_url.h"
#include "common/redis/reply.h"
#ifdef RAPPORT_HAVE_TEST_SUPPORT
#include "tests/support/redis_server.h"
#endif

namespace rapport::redis {
namespace {

constexpr absl::string_view kKey = "bench:async_client:key";

// Set up by main() before any benchmark runs, torn down after.
struct Fixture {
  RedisEndpoint endpoint;
  std::unique_ptr<Pool> pool;
  std::unique_ptr<AsyncClient> async1;  // One connection (the default).
  std::unique_ptr<AsyncClient> async2;  // Two connections.
};
Fixture* fixture = nullptr;

PoolOptions BaseOptions() {
  PoolOptions options;
  options.endpoint = fixture->endpoint;
  options.command_timeout = absl::Seconds(2);
  return options;
}

void Check(const absl::StatusOr<Reply>& reply, benchmark::State& state) {
  if (!reply.ok() || !reply->is_string()) {
    state.SkipWithError("GET failed");
  }
}

void BM_PoolGet(benchmark::State& state) {
  Pool& pool = *fixture->pool;
  for (auto _ : state) {
    absl::StatusOr<Reply> reply = pool.Command({"GET", kKey});
    Check(reply, state);
    benchmark::DoNotOptimize(reply);
  }
  state.counters["ops/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void AsyncGet(benchmark::State& state, AsyncClient& client) {
  const AsyncClient::Stats before = client.GetStats();
  for (auto _ : state) {
    absl::Notification done;
    absl::StatusOr<Reply> result;
    client.Command({"GET", kKey}, [&](absl::StatusOr<Reply> reply) {
      result = std::move(reply);
      done.Notify();
    });
    done.WaitForNotification();
    Check(result, state);
  }
  state.counters["ops/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  if (state.thread_index() == 0) {
    // Approximate when threads overlap runs; good enough to see batching.
    const AsyncClient::Stats after = client.GetStats();
    const uint64_t batches = after.batches - before.batches;
    state.counters["cmds/batch"] = benchmark::Counter(
        batches == 0 ? 0.0
                     : static_cast<double>(after.commands - before.commands) /
                           static_cast<double>(batches));
  }
}

void BM_AsyncGet(benchmark::State& state) { AsyncGet(state, *fixture->async1); }
void BM_AsyncGet2Conns(benchmark::State& state) {
  AsyncGet(state, *fixture->async2);
}

// N chains of GETs, each continued from its own callback; one benchmark
// thread measures until `state` stops it.
void BM_AsyncGetChained(benchmark::State& state) {
  AsyncClient& client = *fixture->async1;
  const int64_t chains = state.range(0);
  struct Shared {
    AsyncClient* client;
    std::atomic<bool> stop{false};
    std::atomic<int64_t> completed{0};
    std::atomic<int64_t> errors{0};
    absl::Mutex mu;
    int64_t running ABSL_GUARDED_BY(mu) = 0;
  } shared;
  shared.client = &client;
  // Each chain owns a copyable continuation that re-arms itself.
  struct Next {
    Shared* shared;
    void operator()(const absl::StatusOr<Reply>& reply) && {
      if (!reply.ok()) shared->errors.fetch_add(1, std::memory_order_relaxed);
      shared->completed.fetch_add(1, std::memory_order_relaxed);
      if (shared->stop.load(std::memory_order_relaxed)) {
        absl::MutexLock lock(&shared->mu);
        --shared->running;
        return;
      }
      shared->client->Command({"GET", kKey}, Next{shared});
    }
  };
  int64_t start_count = 0;
  for (auto _ : state) {
    {
      absl::MutexLock lock(&shared.mu);
      shared.running = chains;
    }
    start_count = shared.completed.load();
    for (int64_t i = 0; i < chains; ++i) {
      client.Command({"GET", kKey}, Next{&shared});
    }
    absl::SleepFor(absl::Milliseconds(500));
    shared.stop = true;
    absl::MutexLock lock(&shared.mu);
    shared.mu.Await(absl::Condition(
        +[](int64_t* running) { return *running == 0; }, &shared.running));
    shared.stop = false;
  }
  if (shared.errors.load() != 0) state.SkipWithError("GET failed");
  state.counters["ops/s"] = benchmark::Counter(
      static_cast<double>(shared.completed.load() - start_count) *
          static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

BENCHMARK(BM_PoolGet)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();
BENCHMARK(BM_AsyncGet)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();
BENCHMARK(BM_AsyncGet2Conns)->Threads(4)->Threads(16)->UseRealTime();
BENCHMARK(BM_AsyncGetChained)
    ->Arg(1)
    ->Arg(4)
    ->Arg(16)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rapport::redis

int main(int argc, char** argv) {
  using rapport::redis::AsyncClient;
  using rapport::redis::AsyncClientOptions;
  using rapport::redis::Pool;
  using rapport::redis::PoolOptions;

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  rapport::redis::Fixture fixture;
  rapport::redis::fixture = &fixture;
#ifdef RAPPORT_HAVE_TEST_SUPPORT
  std::unique_ptr<rapport::testing::RedisServer> server;
#endif
  if (const char* port = std::getenv("REDIS_PORT"); port != nullptr) {
    if (!absl::SimpleAtoi(port, &fixture.endpoint.port)) {
      std::cerr << "REDIS_PORT is not a port number\n";
      return 1;
    }
  } else {
#ifdef RAPPORT_HAVE_TEST_SUPPORT
    // From the main thread: the server dies with the thread that started it.
    absl::StatusOr<std::unique_ptr<rapport::testing::RedisServer>> started =
        rapport::testing::RedisServer::Start();
    if (!started.ok()) {
      std::cerr << "cannot start redis-server: " << started.status() << "\n";
      return 1;
    }
    server = *std::move(started);
    fixture.endpoint.port = server->port();
#else
    std::cerr << "set REDIS_PORT to a redis-server on 127.0.0.1\n";
    return 1;
#endif
  }

  PoolOptions pool_options = rapport::redis::BaseOptions();
  pool_options.size = 16;  // One connection per caller: no checkout waits.
  fixture.pool = Pool::Create(pool_options);
  AsyncClientOptions async_options;
  static_cast<PoolOptions&>(async_options) = rapport::redis::BaseOptions();
  fixture.async1 = AsyncClient::Create(async_options);
  async_options.connections = 2;
  fixture.async2 = AsyncClient::Create(async_options);

  const absl::StatusOr<rapport::redis::Reply> set = fixture.pool->Command(
      {"SET", rapport::redis::kKey, std::string(100, 'v')});
  if (!set.ok()) {
    std::cerr << "SET failed: " << set.status() << "\n";
    return 1;
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  fixture.async2.reset();
  fixture.async1.reset();
  fixture.pool.reset();
  rapport::redis::fixture = nullptr;
  return 0;
}
