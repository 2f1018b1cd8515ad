// Micro-benchmarks of the respect check: Check() on a ~500-byte team note
// (the common case: nothing to flag; and a note with several flags), and
// loading the default lexicon (what a SIGHUP reload costs).
//
//   build/bench/respect_bench --benchmark_min_time=1

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "services/feedback/respect/respect.h"

namespace rapport::feedback::respect {
namespace {

// ~500 bytes each.
constexpr char kCleanNote[] =
    "Thanks for the Q3 webinar list. Of the 412 registrations, 40 became "
    "MQLs and we called all of them within two days. About 30 had no budget "
    "owner and 6 were students, so only 4 meetings came out of it. Could we "
    "add a qualifying question to the registration form (team size and who "
    "signs off on tooling) and route anyone under 20 seats to the SMB "
    "nurture track? Happy to draft the question with you on Thursday, and "
    "I can share the call notes from the EMEA accounts if that helps.";

constexpr char kFlaggedNote[] =
    "Honestly marketing's leads are garbage again, they are clueless "
    "turkeys. Of the 412 registrations, 40 became MQLs and we called all of "
    "them within two days. About 30 had no budget owner and 6 were "
    "students. Yeah right, great quality. Marketing always does this and "
    "legal is useless too. WHY IS NOBODY FIXING THE FORM? Could we add a "
    "qualifying question to the registration form and route anyone under "
    "20 seats to the SMB nurture track? Whatever. Not my problem anymore, "
    "we'd be better without them.";

std::shared_ptr<const RespectChecker> DefaultChecker() {
  static const std::shared_ptr<const RespectChecker> checker = [] {
    auto loaded = LoadLexicon(RAPPORT_RESPECT_LEXICON);
    if (!loaded.ok()) {
      std::cerr << loaded.status() << "\n";
      std::abort();
    }
    return *std::move(loaded);
  }();
  return checker;
}

void RunCheck(benchmark::State& state, const std::string& text) {
  const auto checker = DefaultChecker();
  size_t warnings = 0;
  for (auto _ : state) {
    auto w = checker->Check(text, "note.text");
    warnings = w.size();
    benchmark::DoNotOptimize(w);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
  state.counters["bytes"] = static_cast<double>(text.size());
  state.counters["warnings"] = static_cast<double>(warnings);
}

void BM_CheckCleanNote(benchmark::State& state) { RunCheck(state, kCleanNote); }
BENCHMARK(BM_CheckCleanNote);

void BM_CheckFlaggedNote(benchmark::State& state) {
  RunCheck(state, kFlaggedNote);
}
BENCHMARK(BM_CheckFlaggedNote);

void BM_LoadDefaultLexicon(benchmark::State& state) {
  for (auto _ : state) {
    auto loaded = LoadLexicon(RAPPORT_RESPECT_LEXICON);
    if (!loaded.ok()) state.SkipWithError("lexicon does not load");
    benchmark::DoNotOptimize(loaded);
  }
}
BENCHMARK(BM_LoadDefaultLexicon)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rapport::feedback::respect
