#pragma once

// Reads derived profiles for the hot paths of profile-service (GetProfile)
// and scoring-service (every ScoreMessage): from a process-local cache kept
// coherent with Redis (common/redis/coherent_cache.h), else with one HMGET
// through the pipelined AsyncClient, whose answer fills the cache.
//
// Coherence: every script that changes a contact publishes its key on
// kContactChangesChannel (keys.h, store.cc); the reader's listener drops the
// cached copy when the message arrives, and the writing process drops its
// own copy before it answers (Invalidate), so a client reads its own writes.
// Another replica may answer the previous version for as long as the
// message takes to reach it (microseconds on one host); clients that must
// not see that window turn the cache off (RAPPORT_PROFILE_CACHE_ENTRIES=0).
// While the subscription is down, nothing is served from memory.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config/config.h"
#include "common/redis/async_client.h"
#include "common/redis/coherent_cache.h"
#include "common/redis/invalidation.h"
#include "common/redis/pool.h"
#include "common/redis/reply.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "rapport/profile/v1/profile.pb.h"

namespace rapport::profile {

// The stored profile and when it was derived.
struct StoredProfile {
  v1::Profile profile;
  absl::Time derived_at;
  // `profile` as stored (the bytes GetProfile answers).
  std::string serialized;
};

// DATA_LOSS for a stored contact record that cannot be read; `what` names
// the part (no data).
absl::Status CorruptContact(absl::string_view what);

// The HMGET that reads a stored profile, and the parse of its reply
// (nullopt: no such contact; DATA_LOSS: unreadable).
absl::StatusOr<std::vector<std::string>> GetProfileCommand(
    absl::string_view tenant, absl::string_view contact_id);
absl::StatusOr<std::optional<StoredProfile>> ParseProfileReply(
    const redis::Reply& reply);

class ProfileReader {
 public:
  struct Options {
    // Profiles kept in memory; 0 turns the cache (and its listener) off.
    size_t cache_entries = 50'000;
    // Safety bound on how long an entry is served.
    absl::Duration max_age = absl::Seconds(60);
    // The subscription's connection (endpoint, timeouts, backoff).
    redis::PoolOptions redis;
  };

  // The settings from the configuration: RAPPORT_PROFILE_CACHE_ENTRIES, the
  // Redis endpoint and timeouts.
  static Options FromConfig(const config::Config& config);

  // Null: no such contact.
  using Result = absl::StatusOr<std::shared_ptr<const StoredProfile>>;
  using Done = absl::AnyInvocable<void(Result) &&>;

  // Registers the rapport_profile_cache_* metrics in `registry` and starts
  // the listener.
  ProfileReader(redis::AsyncClient& redis, prometheus::Registry& registry,
                Options options);

  // Calls `done` exactly once: inline on a cache hit or a bad key, else on
  // a Redis I/O thread (see AsyncClient's callback rules: keep it short).
  void Read(absl::string_view tenant, absl::string_view contact_id, Done done);

  // Drops the cached copy of a contact this process has just changed.
  void Invalidate(absl::string_view contact_key);

  bool cache_subscribed() const { return cache_.subscribed(); }

 private:
  redis::AsyncClient& redis_;
  redis::CoherentCache<StoredProfile> cache_;
  prometheus::Counter& hits_;
  prometheus::Counter& misses_;
  prometheus::Gauge& subscribed_;
  std::unique_ptr<redis::InvalidationListener> listener_;
};

}  // namespace rapport::profile
