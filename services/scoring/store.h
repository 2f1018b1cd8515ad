#pragma once

// Redis storage of scoring-service. Every key carries the tenant's hash tag:
//   rapport:{t}:model              HASH  v = version, m = Model bytes
//   rapport:{t}:msg:<message_id>   STRING MessageRecord bytes, TTL
//                                  RAPPORT_MESSAGE_TTL_DAYS (180 days)
//   rapport:{t}:score:<sha256>     STRING CacheEntry bytes, TTL 1 day
// Both are written behind the answer (SaveScored).
//   rapport:{t}:outcome:<id>       STRING "1": an outcome already learned
//                                  (feedback id), TTL 30 days
// The model is written by a compare-and-set script that also records the
// outcome id, so an outcome is learned at most once and never lost between
// "claimed" and "learned".

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/async_client.h"
#include "common/redis/pool.h"
#include "common/redis/write_behind.h"
#include "rapport/scoring/v1/scoring.pb.h"
#include "services/scoring/scoring_store.pb.h"

namespace rapport::scoring {

class ScoringStore {
 public:
  // `pool` for the learning path, `async` for the scoring hot path (its
  // callbacks run on the AsyncClient's I/O threads).
  // `observer` sees the write-behind queue after each batch (metrics).
  ScoringStore(redis::Pool& pool, redis::AsyncClient& async,
               absl::Duration message_ttl,
               redis::WriteBehind::Observer observer = nullptr);

  // The tenant's model, or nullopt before anything was learned.
  absl::StatusOr<std::optional<v1::Model>> LoadModel(absl::string_view tenant);
  // Only the version (0 before anything was learned): the cheap poll.
  absl::StatusOr<int64_t> ModelVersion(absl::string_view tenant);

  enum class CasResult { kApplied, kConflict, kDuplicate };
  struct Cas {
    CasResult result = CasResult::kConflict;
    // kDuplicate: indexes into outcome_ids of those learned before.
    std::vector<size_t> duplicates;
  };
  // Writes `model` (whose version must be expected_version + 1) if the
  // stored version is still `expected_version`, and marks every id of
  // `outcome_ids` as learned in the same atomic step. kDuplicate: some of
  // those outcomes were learned before (listed); nothing written.
  absl::StatusOr<Cas> CompareAndSetModel(
      absl::string_view tenant, int64_t expected_version,
      const v1::Model& model, const std::vector<std::string>& outcome_ids);

  // The records of `message_ids` (nullopt where none is stored; DATA_LOSS
  // for one that does not parse), in one round trip.
  using LoadedMessage = absl::StatusOr<std::optional<store::MessageRecord>>;
  absl::StatusOr<std::vector<LoadedMessage>> LoadMessages(
      absl::string_view tenant, const std::vector<std::string>& message_ids);
  // The shared score cache's entry (nullopt: a miss, also for a damaged
  // entry, which is recomputed).
  using CacheDone = absl::AnyInvocable<
      void(absl::StatusOr<std::optional<store::CacheEntry>>) &&>;
  void LoadCache(absl::string_view tenant, absl::string_view cache_key,
                 CacheDone done);

  // Queues a scored message's record and, when `cache` (a serialized
  // store::CacheEntry, moved from) is set, the cache entry, for writing behind
  // the answer (redis::WriteBehind: grouped with other calls' writes, retried
  // while Redis fails). OK: queued, written within 1 ms and a round trip; lost
  // only if this process dies first. UNAVAILABLE: Redis is failing or too
  // many writes are queued; nothing queued.
  absl::Status SaveScored(absl::string_view tenant,
                          absl::string_view message_id,
                          const store::MessageRecord& record,
                          absl::string_view cache_key, std::string* cache);
  // Waits until the records queued before the call are in Redis (a message
  // just scored by this replica can then be loaded).
  absl::Status FlushScored(absl::Duration timeout);

 private:
  absl::StatusOr<std::string> ScriptSha(bool reload);

  redis::Pool& pool_;
  redis::AsyncClient& async_;
  const std::string ttl_seconds_;  // of message records
  redis::WriteBehind writes_;
  absl::Mutex mu_;
  std::string cas_sha_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rapport::scoring
