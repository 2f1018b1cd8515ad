#pragma once

// A process-local, bounded LRU cache of values read from Redis, kept
// coherent with Redis by invalidation messages (see invalidation.h): every
// writer of a cached key publishes the key in the same Lua script that
// writes it, and every process holding a CoherentCache for those keys
// subscribes and calls Invalidate(key).
//
// The race every such cache must close: a read R sent before a write W may
// be answered (old value) after this process has already processed W's
// invalidation; filling the cache with R's answer would keep the old value
// forever. So a read takes a Ticket first, and Fill() stores the value only
// if nothing invalidated the key's stripe (nor reset the cache) since the
// ticket was taken. Invalidate() bumps the stripe before it erases, under the
// shard lock Fill() holds, so either the fill sees the bump or the erase
// comes after the fill. Conservative (a stripe covers many keys), never
// stale beyond the delivery delay of the invalidation itself.
//
// While the invalidation subscription is down (messages may be lost), the
// cache must not be trusted: SetSubscribed(false) empties it and refuses
// fills until SetSubscribed(true), which the listener calls only once it is
// subscribed again.
//
// Consistency, stated plainly: a process that writes a key invalidates its
// own entry before it answers (read-your-writes in one process); another
// process serves the old value until the invalidation reaches it (Redis
// pub/sub delivery: microseconds on one host, about a network round trip
// across hosts). Entries also expire after `max_age`, a bound should a
// message be lost in a way the subscription does not notice.
//
// Thread-safe. Get/Fill/Invalidate cost one hash, one shard mutex and a
// list splice; values are shared (std::shared_ptr<const V>), never copied.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rapport::redis {

struct CoherentCacheOptions {
  // Most entries kept (least recently used go first). 0 disables the cache:
  // every Get misses and nothing is stored.
  size_t capacity = 100'000;
  // Entries older than this are not served.
  absl::Duration max_age = absl::Seconds(60);
};

template <typename V>
class CoherentCache {
 public:
  // Taken before reading the value from Redis; 0 means "do not fill".
  using Ticket = uint64_t;

  explicit CoherentCache(CoherentCacheOptions options = {})
      : options_(options),
        per_shard_(options.capacity == 0
                       ? 0
                       : (options.capacity + kShards - 1) / kShards) {
    for (auto& g : stripes_) g.store(1, std::memory_order_relaxed);
  }

  CoherentCache(const CoherentCache&) = delete;
  CoherentCache& operator=(const CoherentCache&) = delete;

  bool enabled() const { return per_shard_ > 0; }

  // The cached value, or null.
  std::shared_ptr<const V> Get(absl::string_view key) {
    if (!enabled()) return nullptr;
    const size_t h = absl::HashOf(key);
    Shard& shard = shards_[h % kShards];
    absl::MutexLock lock(&shard.mu);
    auto it = shard.index.find(key);
    if (it == shard.index.end()) return nullptr;
    if (absl::Now() - it->second->stored > options_.max_age) {
      shard.lru.erase(it->second);
      shard.index.erase(it);
      return nullptr;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return it->second->value;
  }

  // Take before sending the read whose answer may be filled in.
  Ticket Begin(absl::string_view key) const {
    if (!enabled() || !subscribed_.load(std::memory_order_acquire)) return 0;
    return Stripe(absl::HashOf(key)).load(std::memory_order_acquire);
  }

  // Stores `value` read after Begin() returned `ticket`, unless the key may
  // have changed since. Returns whether it was stored.
  bool Fill(absl::string_view key, Ticket ticket,
            std::shared_ptr<const V> value) {
    if (ticket == 0 || value == nullptr) return false;
    const size_t h = absl::HashOf(key);
    Shard& shard = shards_[h % kShards];
    absl::MutexLock lock(&shard.mu);
    if (Stripe(h).load(std::memory_order_acquire) != ticket ||
        !subscribed_.load(std::memory_order_acquire)) {
      return false;
    }
    auto it = shard.index.find(key);
    if (it != shard.index.end()) {
      it->second->value = std::move(value);
      it->second->stored = absl::Now();
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      return true;
    }
    shard.lru.push_front(Node{std::string(key), std::move(value), absl::Now()});
    shard.index.emplace(shard.lru.front().key, shard.lru.begin());
    if (shard.index.size() > per_shard_) {
      shard.index.erase(shard.lru.back().key);
      shard.lru.pop_back();
    }
    return true;
  }

  // The key changed (or vanished): drop it, and refuse fills from reads
  // that started before now.
  void Invalidate(absl::string_view key) {
    if (!enabled()) return;
    const size_t h = absl::HashOf(key);
    Stripe(h).fetch_add(1, std::memory_order_acq_rel);
    Shard& shard = shards_[h % kShards];
    absl::MutexLock lock(&shard.mu);
    auto it = shard.index.find(key);
    if (it == shard.index.end()) return;
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }

  // Whether invalidations are being received. false empties the cache and
  // refuses fills; true (once subscribed again) allows them again.
  void SetSubscribed(bool subscribed) {
    if (!subscribed) subscribed_.store(false, std::memory_order_release);
    for (auto& g : stripes_) g.fetch_add(1, std::memory_order_acq_rel);
    for (Shard& shard : shards_) {
      absl::MutexLock lock(&shard.mu);
      shard.index.clear();
      shard.lru.clear();
    }
    if (subscribed) subscribed_.store(true, std::memory_order_release);
  }

  bool subscribed() const {
    return subscribed_.load(std::memory_order_acquire);
  }

  size_t size() const {
    size_t n = 0;
    for (const Shard& shard : shards_) {
      absl::MutexLock lock(&shard.mu);
      n += shard.index.size();
    }
    return n;
  }

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kStripes = 1024;

  struct Node {
    std::string key;
    std::shared_ptr<const V> value;
    absl::Time stored;
  };
  struct Shard {
    mutable absl::Mutex mu;
    std::list<Node> lru ABSL_GUARDED_BY(mu);  // most recently used first
    absl::flat_hash_map<absl::string_view, typename std::list<Node>::iterator>
        index ABSL_GUARDED_BY(mu);  // keys point into the nodes
  };

  std::atomic<uint64_t>& Stripe(size_t hash) {
    return stripes_[(hash / kShards) % kStripes];
  }
  const std::atomic<uint64_t>& Stripe(size_t hash) const {
    return stripes_[(hash / kShards) % kStripes];
  }

  const CoherentCacheOptions options_;
  const size_t per_shard_;
  std::atomic<bool> subscribed_{false};
  std::array<std::atomic<uint64_t>, kStripes> stripes_;
  std::array<Shard, kShards> shards_;
};

}  // namespace rapport::redis
