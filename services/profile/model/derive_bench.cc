// Micro-benchmarks of the profile model: what one write costs the service
// (fold + derive + serialize) and what validation costs per request.
//
//   build/bench/profile_derive_bench --benchmark_min_time=1

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "google/protobuf/timestamp.pb.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/profile/v1/profile.pb.h"
#include "services/profile/model/derive.h"
#include "services/profile/model/validate.h"

namespace rapport::profile::model {
namespace {

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2025, 6, 2, 12, 0, 0),
                                        absl::UTCTimeZone());

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

common::v1::Contact BenchContact() {
  common::v1::Contact c;
  c.set_id("0035g00000XyZabc");
  c.set_full_name("Mitchell Grant");
  c.set_preferred_name("Mitch");
  c.set_email("mitch.grant@acme-logistics.example");
  c.set_title("VP Sales");
  c.set_company("Acme Logistics");
  c.set_industry("Logistics");
  for (int k = 0; k < 5; ++k) {
    c.add_priorities(absl::StrCat("cut onboarding time for new reps ", k));
    c.add_challenges(absl::StrCat("rep churn in EMEA region ", k));
  }
  for (int k = 0; k < 3; ++k) {
    common::v1::TriggerEvent* e = c.add_trigger_events();
    e->set_description("opened a new distribution hub in Denver");
    *e->mutable_occurred_at() = Ts(kNow - absl::Hours(24 * 30 * (k + 1)));
    e->set_source_url("https://news.example/acme/denver-hub");
  }
  c.set_linkedin_url("https://www.linkedin.com/in/mitchgrant");
  c.set_time_zone("America/Denver");
  c.set_locale("en-US");
  c.set_owner_rep_id("rep-42");
  (*c.mutable_external_ids())["salesforce"] = "0035g00000XyZabc";
  (*c.mutable_external_ids())["hubspot"] = "51234";
  (*c.mutable_custom_fields())["segment"] = "enterprise";
  (*c.mutable_custom_fields())["region"] = "amer-west";
  return c;
}

// The i-th interaction of a two-year relationship: mostly emails, some
// replies, calls and meetings, three topics from a pool of 60.
v1::Interaction NthInteraction(int i, absl::Time at) {
  v1::Interaction x;
  x.set_id(absl::StrCat("i-", i));
  x.set_contact_id("0035g00000XyZabc");
  switch (i % 10) {
    case 0:
    case 4:
      x.set_kind(v1::INTERACTION_KIND_EMAIL_REPLIED);
      x.set_direction(v1::DIRECTION_INBOUND);
      break;
    case 7:
      x.set_kind(v1::INTERACTION_KIND_MEETING);
      x.set_direction(v1::DIRECTION_OUTBOUND);
      x.mutable_duration()->set_seconds(1800);
      break;
    case 8:
      x.set_kind(v1::INTERACTION_KIND_CALL);
      x.set_direction(v1::DIRECTION_OUTBOUND);
      break;
    default:
      x.set_kind(v1::INTERACTION_KIND_EMAIL_SENT);
      x.set_direction(v1::DIRECTION_OUTBOUND);
      break;
  }
  *x.mutable_occurred_at() = Ts(at);
  for (int t = 0; t < 3; ++t) {
    x.add_topics(absl::StrCat("Topic Number ", (i * 7 + t * 13) % 60));
  }
  return x;
}

// 800 interactions over two years: 500 kept raw, 300 in the aggregates.
History BenchHistory() {
  History h;
  constexpr int kTotal = 800;
  const absl::Duration step = absl::Hours(24 * 730) / kTotal;
  for (int i = 0; i < kTotal; ++i) {
    FoldInteraction(NthInteraction(i, kNow - absl::Hours(24 * 730) + step * i),
                    &h);
  }
  common::v1::Contact scratch = BenchContact();
  for (int k = 0; k < 20; ++k) {
    common::v1::ContactInsight insight;
    insight.set_contact_id("0035g00000XyZabc");
    insight.set_kind(k % 2 == 0 ? common::v1::INSIGHT_KIND_INTEREST
                                : common::v1::INSIGHT_KIND_OTHER);
    insight.set_text(absl::StrCat("warehouse robotics ", k));
    *insight.mutable_observed_at() = Ts(kNow - absl::Hours(24 * k));
    ApplyInsight(insight, kNow, &scratch, &h);
  }
  return h;
}

void BM_Derive500Interactions(benchmark::State& state) {
  const common::v1::Contact contact = BenchContact();
  const History history = BenchHistory();
  const DeriveOptions options;
  v1::Profile profile;
  for (auto _ : state) {
    Derive(contact, history, kNow, options, &profile);
    benchmark::DoNotOptimize(profile);
  }
  state.counters["interests"] = profile.interests_size();
}
BENCHMARK(BM_Derive500Interactions);

void BM_DeriveNewContact(benchmark::State& state) {
  const common::v1::Contact contact = BenchContact();
  const History history;
  const DeriveOptions options;
  v1::Profile profile;
  for (auto _ : state) {
    Derive(contact, history, kNow, options, &profile);
    benchmark::DoNotOptimize(profile);
  }
}
BENCHMARK(BM_DeriveNewContact);

// Steady state: the raw list is full, so every fold also trims one.
void BM_FoldInteractionAtCapacity(benchmark::State& state) {
  History history = BenchHistory();
  int i = 1000;
  absl::Time at = kNow;
  for (auto _ : state) {
    at += absl::Minutes(1);
    benchmark::DoNotOptimize(
        FoldInteraction(NthInteraction(i++, at), &history));
  }
}
BENCHMARK(BM_FoldInteractionAtCapacity);

void BM_SerializeHistory(benchmark::State& state) {
  const History history = BenchHistory();
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string out = SerializeHistory(history);
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_SerializeHistory);

void BM_ParseHistory(benchmark::State& state) {
  const std::string bytes = SerializeHistory(BenchHistory());
  for (auto _ : state) {
    absl::StatusOr<History> parsed = ParseHistory(bytes);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseHistory);

void BM_ValidateContact(benchmark::State& state) {
  const common::v1::Contact contact = BenchContact();
  for (auto _ : state) {
    absl::Status status = ValidateContact(contact, kNow);
    benchmark::DoNotOptimize(status);
  }
}
BENCHMARK(BM_ValidateContact);

void BM_ValidateInteraction(benchmark::State& state) {
  const v1::Interaction interaction = NthInteraction(1, kNow - absl::Hours(1));
  for (auto _ : state) {
    absl::Status status = ValidateInteraction(interaction, kNow);
    benchmark::DoNotOptimize(status);
  }
}
BENCHMARK(BM_ValidateInteraction);

}  // namespace
}  // namespace rapport::profile::model
