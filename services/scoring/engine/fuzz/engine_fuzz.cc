// libFuzzer target: the whole engine on fuzzed drafts, profiles and senders
// (subject, body, names, company, priorities, trigger events, products,
// stage, channel, flags), then one learning step. Checks the report's
// invariants: score and probability in range, every span inside its field,
// a suggestion on every finding, and that the report serialises to valid
// protobuf (all strings valid UTF-8).
//
// Built and run by fuzz/run.sh (clang, -fsanitize=fuzzer,address,undefined).

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "services/scoring/engine/engine.h"

namespace {

namespace engine = rapport::scoring::engine;
namespace v1 = rapport::scoring::v1;
namespace common = rapport::common::v1;

const engine::CompiledRules& Rules() {
  static const std::shared_ptr<const engine::CompiledRules> rules = [] {
    const char* path = std::getenv("RAPPORT_RULES");
    auto r = engine::LoadRules(path != nullptr ? path : RAPPORT_DEFAULT_RULES);
    if (!r.ok()) std::abort();
    return *r;
  }();
  return *rules;
}

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const engine::CompiledRules& rules = Rules();

  v1::Draft draft;
  draft.set_channel(
      static_cast<common::Channel>(in.ConsumeIntegralInRange(0, 4)));
  const bool with_profile = in.ConsumeBool();
  const bool with_sender = in.ConsumeBool();
  rapport::profile::v1::Profile profile;
  common::Contact* c = profile.mutable_contact();
  c->set_full_name(in.ConsumeRandomLengthString(64));
  c->set_preferred_name(in.ConsumeRandomLengthString(32));
  c->set_company(in.ConsumeRandomLengthString(64));
  c->set_title(in.ConsumeRandomLengthString(32));
  const int priorities = in.ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < priorities; ++i) {
    c->add_priorities(in.ConsumeRandomLengthString(96));
  }
  if (in.ConsumeBool()) c->add_challenges(in.ConsumeRandomLengthString(96));
  if (in.ConsumeBool()) {
    c->add_trigger_events()->set_description(in.ConsumeRandomLengthString(128));
  }
  if (in.ConsumeBool()) {
    profile.add_interests()->set_topic(in.ConsumeRandomLengthString(32));
  }
  c->set_do_not_contact(in.ConsumeBool());
  profile.set_address_as(in.ConsumeRandomLengthString(32));
  profile.set_stage(
      static_cast<common::BuyingStage>(in.ConsumeIntegralInRange(-1, 9)));
  if (in.ConsumeBool()) {
    profile.mutable_fatigue()->set_fatigued(true);
    profile.mutable_fatigue()->mutable_recommended_wait()->set_seconds(
        in.ConsumeIntegral<int64_t>());
  }
  common::Sender sender;
  sender.set_company_name(in.ConsumeRandomLengthString(64));
  sender.set_rep_name(in.ConsumeRandomLengthString(32));
  const int products = in.ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < products; ++i) {
    sender.add_product_names(in.ConsumeRandomLengthString(32));
  }
  draft.set_subject(in.ConsumeRandomLengthString(256));
  draft.set_body(in.ConsumeRemainingBytesAsString());

  engine::ScoreInput input{&draft, with_profile ? &profile : nullptr,
                           with_sender ? &sender : nullptr};
  engine::Signals signals;
  const engine::ModelWeights weights = engine::DefaultWeights(rules);
  const v1::ScoreReport report = engine::Score(input, rules, weights, &signals);

  Check(report.score() >= 0 && report.score() <= 100);
  Check(report.reply_probability() >= 0 && report.reply_probability() <= 1);
  Check(signals.x.size() == rules.size());
  Check(report.findings_size() <= 100);
  for (const v1::Finding& f : report.findings()) {
    Check(!f.suggestion().empty());
    Check(f.start() <= f.end());
    Check(f.impact() >= 0 && std::isfinite(f.impact()));
    if (f.field() == v1::MESSAGE_FIELD_BODY) {
      Check(f.end() <= draft.body().size());
    }
    if (f.field() == v1::MESSAGE_FIELD_SUBJECT) {
      Check(f.end() <= draft.subject().size());
    }
    if (f.field() == v1::MESSAGE_FIELD_NONE) {
      Check(f.start() == 0 && f.end() == 0);
    }
  }
  std::string bytes;
  Check(report.SerializeToString(&bytes));
  v1::ScoreReport parsed;
  Check(parsed.ParseFromString(bytes));

  engine::ModelWeights learned = weights;
  engine::Learn(signals, in.remaining_bytes() % 2 == 0,
                engine::LearnOptions::FromRules(rules), &learned);
  for (double w : learned.weight) Check(std::isfinite(w));
  return 0;
}
