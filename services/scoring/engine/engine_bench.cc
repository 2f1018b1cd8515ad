// Micro-benchmarks of the scoring engine: Score() on a realistic 1-KB email
// with a full profile and sender, and the tokenizer alone. Items/s is
// emails per second on one core (the benchmark is single-threaded).
//
//   build/bench/scoring_engine_bench --benchmark_min_time=2
//
// Target (issue 4): >= 50,000 one-kilobyte emails per second per core.

#include <benchmark/benchmark.h>
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "rapport/profile/v1/profile.pb.h"
#include "rapport/scoring/v1/scoring.pb.h"
#include "services/scoring/engine/engine.h"
#include "services/scoring/engine/rules_internal.h"
#include "services/scoring/engine/text/structure.h"
#include "services/scoring/engine/text/tokenizer.h"

namespace rapport::scoring::engine {
namespace {

// The 1-KB email (greeting, four paragraphs: a pitch, a time ask, a
// question; sign-off, signature and a quoted reply, the usual mix of a sales
// email), its sender and its recipient come from bench/data/, which
// bench/platform_bench.sh sends through ScoreMessages too: the streaming
// target compares the service with this benchmark on the same email.
template <typename T>
T LoadJson(const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "%s: cannot be read\n", path);
    std::abort();
  }
  std::stringstream text;
  text << in.rdbuf();
  T message;
  const auto status =
      google::protobuf::util::JsonStringToMessage(text.str(), &message);
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", path, status.ToString().c_str());
    std::abort();
  }
  return message;
}

const scoring::v1::ScoreMessageRequest& Email() {
  static const auto* email = new scoring::v1::ScoreMessageRequest(
      LoadJson<scoring::v1::ScoreMessageRequest>(RAPPORT_BENCH_DATA
                                                 "/one_kilobyte_email.json"));
  return *email;
}

// About 1 KB of a customer-centred email (few findings), for the same
// recipient and sender: the other end of the range.
const scoring::v1::ScoreMessageRequest& CleanEmail() {
  static const auto* email = new scoring::v1::ScoreMessageRequest(
      LoadJson<scoring::v1::ScoreMessageRequest>(
          RAPPORT_BENCH_DATA "/one_kilobyte_clean_email.json"));
  return *email;
}

const CompiledRules& Rules() {
  static const std::shared_ptr<const CompiledRules> rules = [] {
    const char* env = std::getenv("RAPPORT_RULES");
    auto r = LoadRules(env != nullptr ? env : RAPPORT_DEFAULT_RULES);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      std::abort();
    }
    return *r;
  }();
  return *rules;
}

// The recipient: the contact of bench/data/, with what profile-service
// derives from a few interactions.
profile::v1::Profile FullProfile() {
  profile::v1::Profile p;
  *p.mutable_contact() =
      LoadJson<profile::v1::UpsertContactRequest>(
          RAPPORT_BENCH_DATA "/one_kilobyte_email_contact.json")
          .contact();
  p.add_interests()->set_topic("sales enablement");
  p.add_interests()->set_topic("coaching");
  p.set_stage(common::v1::BUYING_STAGE_PROBLEM_AWARE);
  p.set_version(7);
  p.set_address_as("Mitch");
  return p;
}

// A draft, recipient and sender for the Score benchmarks.
struct BenchInput {
  scoring::v1::Draft draft = Email().message();
  profile::v1::Profile profile = FullProfile();
  common::v1::Sender sender = Email().sender();
  ScoreInput in() const { return ScoreInput{&draft, &profile, &sender}; }
};

// Score() returning a new report each time (the report's allocation and
// destruction included).
void BM_ScoreOneKilobyteEmail(benchmark::State& state) {
  const CompiledRules& rules = Rules();
  const ModelWeights weights = DefaultWeights(rules);
  const BenchInput input;
  const ScoreInput in = input.in();
  const scoring::v1::Draft& draft = input.draft;
  Signals signals;
  for (auto _ : state) {
    scoring::v1::ScoreReport report = Score(in, rules, weights, &signals);
    benchmark::DoNotOptimize(report);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(draft.body().size()));
  state.counters["body_bytes"] = static_cast<double>(draft.body().size());
}
BENCHMARK(BM_ScoreOneKilobyteEmail);

// Score() into a reused report, as a ScoreMessages stream can do.
void BM_ScoreOneKilobyteEmailReusedReport(benchmark::State& state) {
  const CompiledRules& rules = Rules();
  const ModelWeights weights = DefaultWeights(rules);
  const BenchInput input;
  const ScoreInput in = input.in();
  scoring::v1::ScoreReport report;
  Signals signals;
  for (auto _ : state) {
    Score(in, rules, weights, &report, &signals);
    benchmark::DoNotOptimize(report);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["findings"] = report.findings_size();
}
BENCHMARK(BM_ScoreOneKilobyteEmailReusedReport);

// Score() of a customer-centred 1-KB email (reused report).
void BM_ScoreOneKilobyteCleanEmail(benchmark::State& state) {
  const CompiledRules& rules = Rules();
  const ModelWeights weights = DefaultWeights(rules);
  BenchInput input;
  input.draft = CleanEmail().message();
  const ScoreInput in = input.in();
  scoring::v1::ScoreReport report;
  Signals signals;
  for (auto _ : state) {
    Score(in, rules, weights, &report, &signals);
    benchmark::DoNotOptimize(report);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["body_bytes"] = static_cast<double>(input.draft.body().size());
  state.counters["findings"] = report.findings_size();
  state.counters["score"] = report.score();
}
BENCHMARK(BM_ScoreOneKilobyteCleanEmail);

void BM_TokenizeOneKilobyteEmail(benchmark::State& state) {
  std::vector<text::Token> tokens;
  std::string folded;
  const std::string body = Email().message().body();
  for (auto _ : state) {
    text::Tokenize(body, &tokens, &folded);
    benchmark::DoNotOptimize(tokens.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_TokenizeOneKilobyteEmail);

void BM_AnalyzeOneKilobyteEmail(benchmark::State& state) {
  const CompiledRules& rules = Rules();
  text::FieldText field;
  text::NameHints hints;
  hints.recipient = {"mitch", "mitchell", "grant"};
  hints.sender = {"bob", "blah"};
  const std::string body = Email().message().body();
  for (auto _ : state) {
    text::AnalyzeField(body, true, rules.data().text, hints, &field);
    benchmark::DoNotOptimize(field.sentences.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AnalyzeOneKilobyteEmail);

}  // namespace
}  // namespace rapport::scoring::engine
