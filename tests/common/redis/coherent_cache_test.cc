// Unit tests of rapport::redis::CoherentCache: LRU bounds, expiry, and the
// ticket protocol that keeps a read racing an invalidation out of the cache.

#include "common/redis/coherent_cache.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace rapport::redis {
namespace {

using Cache = CoherentCache<std::string>;

std::shared_ptr<const std::string> V(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

TEST(CoherentCacheTest, FillsAndServesAValueReadWithAValidTicket) {
  Cache cache;
  cache.SetSubscribed(true);
  const Cache::Ticket t = cache.Begin("k");
  ASSERT_NE(t, 0u);
  EXPECT_TRUE(cache.Fill("k", t, V("v1")));
  ASSERT_NE(cache.Get("k"), nullptr);
  EXPECT_EQ(*cache.Get("k"), "v1");
  EXPECT_EQ(cache.Get("other"), nullptr);
}

TEST(CoherentCacheTest, RefusesAReadThatAnInvalidationOvertook) {
  // Read sent, the key changes, the invalidation arrives, then the (old)
  // answer: it must not be cached.
  Cache cache;
  cache.SetSubscribed(true);
  const Cache::Ticket t = cache.Begin("k");
  cache.Invalidate("k");
  EXPECT_FALSE(cache.Fill("k", t, V("old")));
  EXPECT_EQ(cache.Get("k"), nullptr);
  // A read started after the invalidation fills.
  EXPECT_TRUE(cache.Fill("k", cache.Begin("k"), V("new")));
  EXPECT_EQ(*cache.Get("k"), "new");
}

TEST(CoherentCacheTest, InvalidationDropsTheEntry) {
  Cache cache;
  cache.SetSubscribed(true);
  ASSERT_TRUE(cache.Fill("k", cache.Begin("k"), V("v")));
  cache.Invalidate("k");
  EXPECT_EQ(cache.Get("k"), nullptr);
}

TEST(CoherentCacheTest, NothingIsCachedWhileNotSubscribed) {
  Cache cache;  // not subscribed yet: invalidations could be missed
  EXPECT_EQ(cache.Begin("k"), 0u);
  EXPECT_FALSE(cache.Fill("k", cache.Begin("k"), V("v")));
  cache.SetSubscribed(true);
  ASSERT_TRUE(cache.Fill("k", cache.Begin("k"), V("v")));
  // The subscription is lost: everything goes, and reads that began while
  // subscribed may not fill any more.
  const Cache::Ticket before = cache.Begin("j");
  cache.SetSubscribed(false);
  EXPECT_EQ(cache.Get("k"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Fill("j", before, V("x")));
  // Subscribed again: a read from before the loss still may not fill.
  cache.SetSubscribed(true);
  EXPECT_FALSE(cache.Fill("j", before, V("x")));
  EXPECT_TRUE(cache.Fill("j", cache.Begin("j"), V("y")));
}

TEST(CoherentCacheTest, EvictsTheLeastRecentlyUsedBeyondCapacity) {
  CoherentCacheOptions options;
  options.capacity = 16;  // one entry per shard
  Cache cache(options);
  cache.SetSubscribed(true);
  for (int i = 0; i < 1000; ++i) {
    const std::string key = absl::StrCat("k", i);
    cache.Fill(key, cache.Begin(key), V(key));
  }
  EXPECT_LE(cache.size(), 16u);
  EXPECT_NE(cache.Get("k999"), nullptr);  // the newest is kept
}

TEST(CoherentCacheTest, ExpiresEntriesOlderThanMaxAge) {
  CoherentCacheOptions options;
  options.max_age = absl::Milliseconds(20);
  Cache cache(options);
  cache.SetSubscribed(true);
  ASSERT_TRUE(cache.Fill("k", cache.Begin("k"), V("v")));
  EXPECT_NE(cache.Get("k"), nullptr);
  absl::SleepFor(absl::Milliseconds(40));
  EXPECT_EQ(cache.Get("k"), nullptr);
}

TEST(CoherentCacheTest, ZeroCapacityDisablesIt) {
  CoherentCacheOptions options;
  options.capacity = 0;
  Cache cache(options);
  cache.SetSubscribed(true);
  EXPECT_FALSE(cache.enabled());
  EXPECT_FALSE(cache.Fill("k", cache.Begin("k"), V("v")));
  EXPECT_EQ(cache.Get("k"), nullptr);
}

TEST(CoherentCacheTest, ConcurrentReadersNeverKeepAValueOlderThanTheLast) {
  // Writers bump a version and invalidate; readers take a ticket, read the
  // version (the "Redis read"), then fill. After all writers stop, a cached
  // value must be the final version or absent.
  Cache cache;
  cache.SetSubscribed(true);
  std::atomic<int> version{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        const Cache::Ticket t = cache.Begin("k");
        const int seen = version.load();
        std::this_thread::yield();
        cache.Fill("k", t, V(absl::StrCat(seen)));
      }
    });
  }
  for (int i = 0; i < 20000; ++i) {
    version.fetch_add(1);   // the write...
    cache.Invalidate("k");  // ...and its invalidation, after it
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  const std::shared_ptr<const std::string> cached = cache.Get("k");
  if (cached != nullptr) {
    EXPECT_EQ(*cached, absl::StrCat(version.load()));
  }
}

}  // namespace
}  // namespace rapport::redis
