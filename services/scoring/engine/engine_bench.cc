// Micro-benchmarks of the scoring engine: Score() on a realistic 1-KB email
// with a full profile and sender, and the tokenizer alone. Items/s is
// emails per second on one core (the benchmark is single-threaded).
//
//   build/bench/scoring_engine_bench --benchmark_min_time=2
//
// Target (issue 4): >= 50,000 one-kilobyte emails per second per core.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "services/scoring/engine/engine.h"
#include "services/scoring/engine/rules_internal.h"
#include "services/scoring/engine/text/structure.h"
#include "services/scoring/engine/text/tokenizer.h"

namespace rapport::scoring::engine {
namespace {

// About 1 KB: greeting, four paragraphs (a pitch, a time ask, a question),
// sign-off, signature and a quoted reply, the usual mix of a sales email.
constexpr char kBody[] =
    "Hi Mitchell,\r\n"
    "\r\n"
    "I hope this finds you well. Congratulations on the new distribution hub "
    "in Denver; opening a site that size is a big step for Acme Logistics.\r\n"
    "\r\n"
    "My name is Bob and I lead partnerships at Blah Inc. We are the leading "
    "platform for sales onboarding and today we serve 159 of the Fortune 500 "
    "companies. Our AI-powered dashboard helps companies like yours cut ramp "
    "time, improve productivity and leverage best-in-class playbooks.\r\n"
    "\r\n"
    "Every month a new rep takes to ramp costs your team a month of pipeline, "
    "and a new hub means a whole class of new reps at once. How are you "
    "planning to get the Denver team productive, and what has slowed new "
    "hires down most so far?\r\n"
    "\r\n"
    "Would you have 15 minutes for a quick call next Tuesday or Wednesday? "
    "Let me know what works.\r\n"
    "\r\n"
    "Best,\r\n"
    "Bob Blah\r\n"
    "Partnerships, Blah Inc | +1 555 010 0199\r\n"
    "\r\n"
    "On Tue, Mar 3, 2024 at 10:02 AM Mitchell Grant <mitch@acme.example> "
    "wrote:\r\n"
    "> Thanks Bob, not right now.\r\n";

// About 1 KB of a customer-centred email (few findings): the other end of
// the range.
constexpr char kCleanBody[] =
    "Hi Mitch,\n"
    "\n"
    "Congratulations on opening the new distribution hub in Denver. A new site "
    "usually means a wave of new reps who must learn the accounts, the routes "
    "and the tools at the same time, while the hub is already carrying its "
    "costs from day one.\n"
    "\n"
    "You have said that cutting onboarding time for new reps is a priority "
    "this "
    "year. If the Denver team takes the usual six months to ramp, the hub "
    "loses "
    "half a year of pipeline, and the first customers there meet reps who are "
    "still finding their feet.\n"
    "\n"
    "Other logistics teams I talk to found that the first ninety days decide "
    "most of it: who shadows whom, which accounts a new rep owns, and how soon "
    "they hear real objections from real customers.\n"
    "\n"
    "How are you planning to get the Denver reps productive, and what has "
    "slowed new hires down most at Acme so far? I would be glad to hear what "
    "you have tried, even if the answer is that it is under control.\n"
    "\n"
    "Best,\n"
    "Bob\n";

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

profile::v1::Profile FullProfile() {
  profile::v1::Profile p;
  common::v1::Contact* c = p.mutable_contact();
  c->set_id("c-1");
  c->set_full_name("Mitchell Grant");
  c->set_preferred_name("Mitch");
  c->set_title("VP Sales");
  c->set_company("Acme Logistics");
  c->set_industry("Logistics");
  c->add_priorities("cut onboarding time for new reps");
  c->add_priorities("raise win rates in the mid-market");
  c->add_challenges("rep churn in the first year");
  c->add_trigger_events()->set_description(
      "opened a new distribution hub in Denver");
  p.add_interests()->set_topic("sales enablement");
  p.add_interests()->set_topic("coaching");
  p.set_stage(common::v1::BUYING_STAGE_PROBLEM_AWARE);
  p.set_version(7);
  p.set_address_as("Mitch");
  return p;
}

// A draft, recipient and sender for the Score benchmarks.
struct BenchInput {
  scoring::v1::Draft draft;
  profile::v1::Profile profile = FullProfile();
  common::v1::Sender sender;
  BenchInput() {
    draft.set_channel(common::v1::CHANNEL_EMAIL);
    draft.set_subject("Ramp time for the Denver hub");
    draft.set_body(kBody);
    sender.set_team(common::v1::TEAM_SALES);
    sender.set_rep_id("bob");
    sender.set_rep_name("Bob Blah");
    sender.set_company_name("Blah Inc");
    sender.add_product_names("Blah");
    sender.add_product_names("Blah Coach");
  }
  ScoreInput in() const { return ScoreInput{&draft, &profile, &sender}; }
};

// Score() returning a new report each time (the report's allocation and
// destruction included).
void BM_ScoreOneKilobyteEmail(benchmark::State& state) {
  const CompiledRules& rules = Rules();
  const ModelWeights weights = DefaultWeights(rules);
  scoring::v1::Draft draft;
  draft.set_channel(common::v1::CHANNEL_EMAIL);
  draft.set_subject("Ramp time for the Denver hub");
  draft.set_body(kBody);
  const profile::v1::Profile profile = FullProfile();
  common::v1::Sender sender;
  sender.set_team(common::v1::TEAM_SALES);
  sender.set_rep_id("bob");
  sender.set_rep_name("Bob Blah");
  sender.set_company_name("Blah Inc");
  sender.add_product_names("Blah");
  sender.add_product_names("Blah Coach");
  ScoreInput in{&draft, &profile, &sender};
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
  input.draft.set_body(kCleanBody);
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
  const std::string body = kBody;
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
  const std::string body = kBody;
  for (auto _ : state) {
    text::AnalyzeField(body, true, rules.data().text, hints, &field);
    benchmark::DoNotOptimize(field.sentences.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AnalyzeOneKilobyteEmail);

}  // namespace
}  // namespace rapport::scoring::engine
