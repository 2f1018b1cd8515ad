// The loadgen's own costs: what a slot adds per call (one vector append),
// what the end of a run costs (merge + sort), and the JSON -> wire path run
// once per run (and the shape of any future JSON gateway).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "bench/loadgen/method.h"
#include "bench/loadgen/stats.h"

namespace rapport::loadgen {
namespace {

// Latencies shaped like a loaded echo run: log-normal around ~400 us.
std::vector<int64_t> FakeLatencies(size_t n) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(12.9, 0.4);
  std::vector<int64_t> out(n);
  for (auto& v : out) v = static_cast<int64_t>(dist(rng));
  return out;
}

void BM_RecordOk(benchmark::State& state) {
  WorkerStats stats;
  stats.latencies_ns.reserve(1 << 20);
  int64_t v = 0;
  for (auto _ : state) {
    if (stats.latencies_ns.size() == (1 << 20)) stats.latencies_ns.clear();
    stats.RecordOk(++v);
  }
  benchmark::DoNotOptimize(stats.latencies_ns.data());
}
BENCHMARK(BM_RecordOk);

// End of a run: 16 slots' samples merged, sorted and summarized.
void BM_Merge(benchmark::State& state) {
  const auto total = static_cast<size_t>(state.range(0));
  std::vector<WorkerStats> workers(16);
  const std::vector<int64_t> samples = FakeLatencies(total);
  for (size_t i = 0; i < total; ++i) {
    workers[i % workers.size()].RecordOk(samples[i]);
  }
  for (auto _ : state) {
    RunSummary s = Merge(workers, 10.0);
    benchmark::DoNotOptimize(s.latency.p999_ns);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Merge)->Arg(10'000)->Arg(400'000)->Unit(benchmark::kMillisecond);

void BM_SerializeJsonRequest(benchmark::State& state) {
  auto method = ResolveUnaryMethod("rapport.bench.v1.EchoService/Echo");
  if (!method.ok()) {
    const std::string error(method.status().message());
    state.SkipWithError(error.c_str());
    return;
  }
  const std::string json = absl::StrCat(
      R"({"payload":")",
      absl::Base64Escape(std::string(static_cast<size_t>(state.range(0)), 'x')),
      R"("})");
  for (auto _ : state) {
    auto wire = SerializeJsonRequest(*method->descriptor, json);
    benchmark::DoNotOptimize(wire);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(json.size()));
}
BENCHMARK(BM_SerializeJsonRequest)->Arg(16)->Arg(1024);

}  // namespace
}  // namespace rapport::loadgen
