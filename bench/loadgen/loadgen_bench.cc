// The loadgen's own costs: what a slot adds per call (one vector append),
// what the end of a run costs (merge + sort), the JSON -> wire path run
// once per run (and the shape of any future JSON gateway), what --vary
// costs per call against the alternatives (serializing per call, a
// pre-serialized ring), and what checking every stream response for an item
// error costs against parsing it.

#include <benchmark/benchmark.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "bench/loadgen/item_error.h"
#include "bench/loadgen/method.h"
#include "bench/loadgen/request_source.h"
#include "bench/loadgen/stats.h"
#include "rapport/scoring/v1/scoring.pb.h"

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

// A ScoreMessage request with a body of `body_bytes`, inline recipient and
// sender: the shape --vary message.body is used on.
scoring::v1::ScoreMessageRequest ScoreRequest(size_t body_bytes) {
  scoring::v1::ScoreMessageRequest r;
  r.mutable_message()->set_channel(common::v1::CHANNEL_EMAIL);
  r.mutable_message()->set_subject("Your Denver hub");
  std::string body;
  while (body.size() < body_bytes) {
    body += "Hi Mitch, how long do new reps take to ramp in Denver? ";
  }
  body.resize(body_bytes);
  r.mutable_message()->set_body(body);
  r.mutable_recipient()->set_full_name("Mitchell Grant");
  r.mutable_recipient()->set_preferred_name("Mitch");
  r.mutable_recipient()->add_priorities("cut onboarding time for new reps");
  r.mutable_sender()->set_company_name("Blah Inc");
  return r;
}

// --vary as built: copy the serialized template into a fresh slice and write
// the 19 stamp digits.
void BM_VaryStamp(benchmark::State& state) {
  auto source = RequestSource::Create(
      *scoring::v1::ScoreMessageRequest::descriptor(),
      {ScoreRequest(static_cast<size_t>(state.range(0))).SerializeAsString()},
      {.paths = {"message.body"}});
  if (!source.ok()) {
    state.SkipWithError(std::string(source.status().message()).c_str());
    return;
  }
  uint64_t n = 0;
  for (auto _ : state) {
    grpc::ByteBuffer buffer = (*source)->Buffer(n++);
    benchmark::DoNotOptimize(buffer);
  }
}
BENCHMARK(BM_VaryStamp)->Arg(1024)->Arg(16384);

// The alternative: set the field and serialize the message per call.
void BM_VaryReserialize(benchmark::State& state) {
  scoring::v1::ScoreMessageRequest request =
      ScoreRequest(static_cast<size_t>(state.range(0)));
  const std::string base = request.message().body();
  uint64_t n = 0;
  for (auto _ : state) {
    request.mutable_message()->set_body(absl::StrCat(base, " [", n++, "]"));
    grpc::Slice slice(request.SerializeAsString());
    grpc::ByteBuffer buffer(&slice, 1);
    benchmark::DoNotOptimize(buffer);
  }
}
BENCHMARK(BM_VaryReserialize)->Arg(1024)->Arg(16384);

// A constant request (or one entry of a pre-serialized ring): a reference
// to a shared slice.
void BM_SharedBuffer(benchmark::State& state) {
  auto source =
      RequestSource::Create(*scoring::v1::ScoreMessageRequest::descriptor(),
                            {ScoreRequest(1024).SerializeAsString()}, {});
  if (!source.ok()) return;
  for (auto _ : state) {
    grpc::ByteBuffer buffer = (*source)->Buffer(0);
    benchmark::DoNotOptimize(buffer);
  }
}
BENCHMARK(BM_SharedBuffer);

// A ScoreMessages answer shaped like a real one: 11 dimensions, `findings`
// findings (~1.9 KB with 8).
std::string ScoredResponse(int findings) {
  scoring::v1::ScoreMessagesResponse r;
  r.set_request_id("req-7");
  r.set_index(7);
  auto* report = r.mutable_report();
  report->set_message_id("m-0123456789");
  report->set_score(62.5);
  for (int i = 0; i < 11; ++i) {
    auto* d = report->add_dimensions();
    d->set_dimension(static_cast<scoring::v1::Dimension>(i + 1));
    d->set_score(80);
    d->set_weight(0.09);
    d->set_summary("4 of 5 sentences are about you, not Mitch");
  }
  for (int i = 0; i < findings; ++i) {
    auto* f = report->add_findings();
    f->set_rule_id("name.formal_name");
    f->set_field(scoring::v1::MESSAGE_FIELD_BODY);
    f->set_start(10);
    f->set_end(18);
    f->set_excerpt("Mitchell");
    f->set_explanation("Only his mother calls him Mitchell: he goes by Mitch.");
    f->set_suggestion("Say Mitch, not Mitchell.");
    f->set_impact(4.5);
  }
  report->set_rules_version("3-0123456789ab");
  return r.SerializeAsString();
}

void BM_ItemErrorFind(benchmark::State& state) {
  auto detector = ItemErrorDetector::Create(
      *scoring::v1::ScoreMessagesResponse::descriptor(), std::nullopt);
  const std::string wire = ScoredResponse(static_cast<int>(state.range(0)));
  grpc::Slice slice(wire);
  grpc::ByteBuffer buffer(&slice, 1);
  for (auto _ : state) {
    auto found = detector->Find(buffer);
    benchmark::DoNotOptimize(found);
  }
  state.counters["bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_ItemErrorFind)->Arg(0)->Arg(8)->Arg(40);

// What parsing every response would cost instead.
void BM_ParseResponse(benchmark::State& state) {
  const std::string wire = ScoredResponse(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    scoring::v1::ScoreMessagesResponse r;
    benchmark::DoNotOptimize(r.ParseFromString(wire));
  }
  state.counters["bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_ParseResponse)->Arg(0)->Arg(8)->Arg(40);

}  // namespace
}  // namespace rapport::loadgen
