#pragma once

// Redis storage of profile-service (the thin shell around the pure model).
//
// One hash per contact, under the tenant's hash tag:
//   rapport:{tenant}:contact:<id>   HASH
//     v  version (decimal int64; 1 on creation, +1 on every change)
//     c  the Contact (rapport.common.v1.Contact bytes)
//     h  the History (HistoryRecord bytes: the last 500 raw interactions,
//        running aggregates, the last 50 insights)
//     p  the derived Profile (rapport.profile.v1.Profile bytes): what
//        GetProfile answers and what scoring-service reads, one HGET
//     d  when p was derived (Unix microseconds)
//   rapport:{tenant}:contacts       ZSET of contact ids, all scores 0, so
//                                   ZRANGEBYLEX gives keyset paging by id
//
// Every write is a compare-and-set Lua script: it applies only if the stored
// version is still the one the caller read, and writes the hash and the index
// together, so two replicas writing one contact never lose an update (the
// loser re-reads and retries) and a Redis failure never leaves half a write.
// Erasure deletes the hash and the index entry: nothing else names a contact.
// Every script also publishes the contact's key on kContactChangesChannel
// (keys.h) so that processes caching profiles drop their copy.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/pool.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/profile/v1/profile.pb.h"
#include "services/profile/keys.h"
#include "services/profile/model/derive.h"
#include "services/profile/reader.h"

namespace rapport::profile {

// The stored state of one contact.
struct ContactRecord {
  int64_t version = 0;  // 0: not stored yet
  common::v1::Contact contact;
  model::History history;
};

class ProfileStore {
 public:
  explicit ProfileStore(redis::Pool& pool);

  // The record, or nullopt when the contact is not stored.
  absl::StatusOr<std::optional<ContactRecord>> Load(
      absl::string_view tenant, absl::string_view contact_id);

  // Several records in one round trip (nullopt for missing ones).
  absl::StatusOr<std::vector<std::optional<ContactRecord>>> LoadMany(
      absl::string_view tenant, const std::vector<std::string>& contact_ids);

  // Writes `record` with `profile` if the stored version is still
  // `record.version` (0: not stored). On success the new version is
  // record.version + 1 and profile->version()/updated_at() must already carry
  // it. Returns false on a version conflict (nothing written).
  absl::StatusOr<bool> CompareAndSet(absl::string_view tenant,
                                     const ContactRecord& record,
                                     const v1::Profile& profile,
                                     absl::Time derived_at);

  // CompareAndSet for many records in one round trip; one result per item.
  struct Write {
    const ContactRecord* record;
    const v1::Profile* profile;
  };
  absl::StatusOr<std::vector<bool>> CompareAndSetMany(
      absl::string_view tenant, const std::vector<Write>& writes,
      absl::Time derived_at);

  // The stored profile and when it was derived, or nullopt. (The hot read
  // path, with the process-local cache, is ProfileReader in reader.h.)
  using StoredProfile = profile::StoredProfile;
  absl::StatusOr<std::optional<StoredProfile>> GetProfile(
      absl::string_view tenant, absl::string_view contact_id);

  // Contact ids after `after_id` (exclusive; empty: from the start), in id
  // order, at most `limit`, with their profiles.
  absl::StatusOr<std::vector<v1::Profile>> Scan(absl::string_view tenant,
                                                absl::string_view after_id,
                                                int limit, bool* exhausted,
                                                std::string* last_id);

  // Records that the profile of version `version` was derived again at
  // `derived_at` without changes. Returns false (and writes nothing) when
  // the contact changed or vanished meanwhile.
  absl::StatusOr<bool> Touch(absl::string_view tenant,
                             absl::string_view contact_id, int64_t version,
                             absl::Time derived_at);

  // Removes every key holding the contact; returns how many keys existed.
  absl::StatusOr<int> Delete(absl::string_view tenant,
                             absl::string_view contact_id);

  // Called with a contact's key after every write attempted on it (applied
  // or not), before the write's caller gets the result: the process drops
  // its cached copy so that it reads its own writes. (Other processes learn
  // of the change from the message the scripts publish.)
  void set_on_change(std::function<void(absl::string_view key)> on_change) {
    on_change_ = std::move(on_change);
  }

 private:
  // A Lua script run by EVALSHA; SCRIPT LOAD on first use and again after
  // NOSCRIPT (Redis restarted or flushed its script cache).
  class Script {
   public:
    explicit Script(const char* source) : source_(source) {}
    // Runs one invocation per element of `calls` (each: numkeys, keys...,
    // args...) in one round trip; one reply per call.
    absl::StatusOr<std::vector<redis::Reply>> Run(
        redis::Pool& pool, const std::vector<std::vector<std::string>>& calls);

   private:
    absl::StatusOr<std::string> Sha(redis::Pool& pool, bool reload);
    const char* source_;
    absl::Mutex mu_;
    std::string sha_ ABSL_GUARDED_BY(mu_);
  };

  void Changed(absl::string_view key) const;

  redis::Pool& pool_;
  std::function<void(absl::string_view key)> on_change_;
  Script cas_;
  Script delete_;
  Script touch_;
};

}  // namespace rapport::profile
