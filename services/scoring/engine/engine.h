#pragma once

// The scoring engine: a pure function (draft, profile, sender, rules,
// weights) -> ScoreReport. No gRPC, no Redis, no clocks, no exceptions; any
// input (including invalid UTF-8) yields a report.
//
//   auto rules = LoadRules("services/scoring/rules/default.textproto");
//   ModelWeights weights = DefaultWeights(**rules);
//   ScoreInput in{&draft, &profile, &sender};
//   Signals signals;
//   ScoreReport report = Score(in, **rules, weights, &signals);
//
// The report has score, reply_probability, dimensions, findings (with byte
// spans into the original subject/body), profile_version, model_version,
// rules_version, word_count and reading_grade; the service fills the ids,
// timestamps, cache flag and degradations.

#include "rapport/common/v1/common.pb.h"
#include "rapport/profile/v1/profile.pb.h"
#include "rapport/scoring/v1/scoring.pb.h"
#include "services/scoring/engine/model.h"
#include "services/scoring/engine/rules.h"

namespace rapport::scoring::engine {

struct ScoreInput {
  // The draft. Required (a null draft scores as an empty one).
  const rapport::scoring::v1::Draft* draft = nullptr;
  // The recipient's profile; null when unknown (no contact, or
  // profile-service unavailable): the report then carries a knowledge-gap
  // finding and name, relevance and timing rules judge without it. For an
  // inline recipient wrap the contact with ProfileFromContact().
  const rapport::profile::v1::Profile* profile = nullptr;
  // Who writes; null means unknown (only I/we/our count as seller words).
  const rapport::common::v1::Sender* sender = nullptr;
};

// Scores a draft. `weights` gives reply_probability: when they are not
// aligned with `rules` (another rules version) or have learned from fewer
// than the rules file's min_outcomes, the rules' default weights are used
// and model_version is 0. When `signals_out` is set it receives the signal
// vector (aligned with `rules`) for the learning loop.
rapport::scoring::v1::ScoreReport Score(const ScoreInput& in,
                                        const CompiledRules& rules,
                                        const ModelWeights& weights,
                                        Signals* signals_out = nullptr);

// The same, writing into `report` (cleared first). Reusing one report across
// drafts (a ScoreMessages stream, a benchmark) keeps its findings and
// strings allocated, so scoring allocates almost nothing.
void Score(const ScoreInput& in, const CompiledRules& rules,
           const ModelWeights& weights,
           rapport::scoring::v1::ScoreReport* report,
           Signals* signals_out = nullptr);

// A profile holding only `contact` (stage UNKNOWN, version 0), for inline
// recipients.
rapport::profile::v1::Profile ProfileFromContact(
    const rapport::common::v1::Contact& contact);

}  // namespace rapport::scoring::engine
