#pragma once

// The request logic of scoring-service over the pure engine: validate, load
// (profile, model, cache), score, store (message record, cache), answer. No
// gRPC service types here; service.cc adapts these to the callback API.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/coherent_cache.h"
#include "rapport/scoring/v1/scoring.pb.h"
#include "services/scoring/engine/engine.h"
#include "services/scoring/profile_source.h"
#include "services/scoring/store.h"

namespace rapport::scoring {

struct ScoringOptions {
  // How often a replica checks Redis for a newer model of a tenant: every
  // replica uses a new version within this long (plus one round trip).
  absl::Duration model_poll = absl::Seconds(1);
  int max_learn_attempts = 32;
  // Score reports kept in process memory in front of the shared Redis
  // cache (0: none).
  size_t local_report_cache_entries = 10'000;
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

class ScoringMetrics {
 public:
  explicit ScoringMetrics(prometheus::Registry& registry);

  // Findings by rule id: the label set is the rules file's ids (bounded).
  void CountFinding(absl::string_view rule_id);

  prometheus::Histogram& score;
  prometheus::Histogram& engine_seconds;
  prometheus::Counter& cache_hit;
  prometheus::Counter& cache_miss;
  prometheus::Counter& profile_unavailable;
  prometheus::Counter& model_unavailable;
  prometheus::Counter& outcome_applied;
  prometheus::Counter& outcome_duplicate;
  prometheus::Counter& outcome_not_learned;
  prometheus::Counter& model_conflicts;
  prometheus::Gauge& model_version;
  prometheus::Counter& rules_reloaded;
  prometheus::Counter& rules_rejected;

  // The write-behind queue of message records (ScoringStore's observer).
  void ObserveRecordWrites(const redis::WriteBehind::Stats& stats);
  prometheus::Gauge& records_pending;
  prometheus::Counter& record_batches_written;
  prometheus::Counter& record_batches_failed;
  prometheus::Counter& records_refused;

 private:
  prometheus::Family<prometheus::Counter>& findings_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, prometheus::Counter*> by_rule_
      ABSL_GUARDED_BY(mu_);
  redis::WriteBehind::Stats last_writes_ ABSL_GUARDED_BY(mu_);
};

class ScoringHandler {
 public:
  ScoringHandler(ScoringStore& store, ProfileSource& profiles,
                 ScoringMetrics& metrics,
                 std::shared_ptr<const engine::CompiledRules> rules,
                 ScoringOptions options = {});

  // Scores `request` and calls `done` exactly once: inline when everything
  // it needs is in memory, else on a Redis I/O thread or a gRPC client
  // thread (keep `done` short). `request` and `report` must live until
  // then. OK once the message's record is queued for writing
  // (ScoringStore::SaveScored): UNAVAILABLE while Redis fails.
  //
  // On OK `*report` holds the v1::ScoreReport in its wire encoding, the
  // answer as it goes out (ScoreMessage's response; ScoreMessages embeds it
  // as ScoreMessagesResponse.report). The report is serialized once for
  // the answer and the shared cache alike (see Respond).
  using ScoreDone = absl::AnyInvocable<void(absl::Status) &&>;
  void ScoreMessage(absl::string_view tenant,
                    const v1::ScoreMessageRequest& request, std::string* report,
                    ScoreDone done);
  // The same, waiting for the answer, parsed (tests, tools).
  absl::Status ScoreMessage(absl::string_view tenant,
                            const v1::ScoreMessageRequest& request,
                            v1::ScoreReport* report);
  absl::Status RecordOutcome(absl::string_view tenant,
                             const v1::RecordOutcomeRequest& request,
                             v1::RecordOutcomeResponse* response);
  // Up to kMaxOutcomesPerCall outcomes, learned in order with one model
  // write; per-outcome errors in the results (see scoring.proto).
  static constexpr int kMaxOutcomesPerCall = 1000;
  absl::Status RecordOutcomes(absl::string_view tenant,
                              const v1::RecordOutcomesRequest& request,
                              v1::RecordOutcomesResponse* response);
  absl::Status GetModel(absl::string_view tenant,
                        const v1::GetModelRequest& request, v1::Model* model);

  // Hot reload: requests already running finish with the rules they
  // started with; new ones use `rules`.
  void SetRules(std::shared_ptr<const engine::CompiledRules> rules);
  std::shared_ptr<const engine::CompiledRules> rules() const;

 private:
  struct Call;
  // ScoreMessage's steps, in order: the cached report (local, then Redis),
  // else the engine; then the report and the message's record.
  void Lookup(std::unique_ptr<Call> call);
  void Score(std::unique_ptr<Call> call);
  // `entry` is the cached entry, or `*fresh` when just scored;
  // `report_bytes` the encoding of entry.report() when already known
  // (empty: Respond serializes it).
  void Respond(std::unique_ptr<Call> call, const store::CacheEntry& entry,
               absl::string_view report_bytes,
               std::unique_ptr<store::CacheEntry> fresh);
  void Finish(std::unique_ptr<Call> call, absl::Status status);

  // The tenant's current weights for `rules` (cached per tenant, checked
  // against Redis at most every model_poll). On a Redis failure: the
  // defaults, and `degraded` set.
  std::shared_ptr<const engine::ModelWeights> Weights(
      absl::string_view tenant,
      const std::shared_ptr<const engine::CompiledRules>& rules,
      bool* degraded);
  // RecordOutcomes's steps: the outcomes' message records (NOT_FOUND items
  // as errors), then learning from those with a label.
  struct Pending;
  absl::Status LoadRecords(absl::string_view tenant,
                           std::vector<Pending>& pending);
  absl::Status LearnOutcomes(absl::string_view tenant,
                             std::vector<Pending>& pending);
  absl::StatusOr<engine::ModelWeights> LoadWeights(
      absl::string_view tenant, const engine::CompiledRules& rules);

  ScoringStore& store_;
  ProfileSource& profiles_;
  ScoringMetrics& metrics_;
  ScoringOptions options_;
  // A report kept in memory with its encoding, so that answering it again
  // copies bytes instead of serializing the report each time.
  struct LocalReport {
    store::CacheEntry entry;
    std::string report_bytes;  // entry.report(), serialized
  };
  redis::CoherentCache<LocalReport> local_reports_;

  mutable absl::Mutex rules_mu_;
  std::shared_ptr<const engine::CompiledRules> rules_
      ABSL_GUARDED_BY(rules_mu_);

  struct CachedModel {
    std::shared_ptr<const engine::ModelWeights> weights;
    std::string rules_version;
    absl::Time checked_at;
  };
  absl::Mutex models_mu_;
  absl::flat_hash_map<std::string, CachedModel> models_
      ABSL_GUARDED_BY(models_mu_);
};

// Checks a ScoreMessageRequest; INVALID_ARGUMENT naming the field.
absl::Status ValidateScoreRequest(const v1::ScoreMessageRequest& request,
                                  absl::Time now);

// The key of the score cache for a request whose recipient resolved to
// `profile` (null: none), under the given rules and model versions.
std::string CacheKey(const v1::ScoreMessageRequest& request,
                     const profile::v1::Profile* profile,
                     absl::string_view rules_version, int64_t model_version);

}  // namespace rapport::scoring
