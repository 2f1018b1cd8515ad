// Integration tests of rapport::redis::WriteBehind against a real
// redis-server: grouping, order, refusal while Redis fails and when the
// queue is full, retries after a restart, Flush and the draining destructor.

#include "common/redis/write_behind.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"

namespace rapport::redis {
namespace {

using ::rapport::testing::RedisServer;
using ::testing::HasSubstr;

class WriteBehindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    AsyncClientOptions options;
    options.endpoint = server_->endpoint();
    options.connections = 2;
    options.backoff_initial = absl::Milliseconds(5);
    options.backoff_max = absl::Milliseconds(50);
    client_ = AsyncClient::Create(options);
  }

  // The value of `key` as Redis has it ("" when missing).
  std::string Get(const std::string& key) {
    auto reply = server_->Cli({"GET", key});
    EXPECT_TRUE(reply.ok()) << reply.status();
    if (!reply.ok() || reply->is_nil()) return "";
    return reply->str();
  }

  int64_t DbSize() {
    auto reply = server_->Cli({"DBSIZE"});
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->integer() : -1;
  }

  static WriteBehind::Command Set(const std::string& key,
                                  const std::string& value) {
    return {"SET", key, value};
  }

  // Waits until `done()` or 10 s.
  template <typename F>
  static bool Eventually(F done) {
    const absl::Time limit = absl::Now() + absl::Seconds(10);
    while (!done()) {
      if (absl::Now() > limit) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<AsyncClient> client_;
};

TEST_F(WriteBehindTest, ConcurrentWritesAllLandGroupedIntoFewerBatches) {
  std::atomic<int> observed{0};
  WriteBehind writer(*client_, {},
                     [&](const WriteBehind::Stats&) { observed.fetch_add(1); });
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(writer
                        .Write({Set(absl::StrCat("k:", t, ":", i),
                                    absl::StrCat(t * kPerThread + i))})
                        .ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(writer.Flush(absl::Seconds(10)).ok());

  EXPECT_EQ(DbSize(), kThreads * kPerThread);
  EXPECT_EQ(Get("k:3:499"), absl::StrCat(3 * kPerThread + 499));
  const WriteBehind::Stats stats = writer.GetStats();
  EXPECT_EQ(stats.written, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.failed_batches, 0u);
  // Writes that arrived while a batch was on the wire went out together.
  EXPECT_LT(stats.batches, stats.written);
  EXPECT_TRUE(Eventually(
      [&] { return observed.load() >= static_cast<int>(stats.batches); }));
}

TEST_F(WriteBehindTest, ALingeringBatchGathersWritesThatArriveMeanwhile) {
  WriteBehindOptions options;
  options.linger = absl::Milliseconds(300);
  WriteBehind writer(*client_, options);
  const absl::Time start = absl::Now();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(writer.Write({Set(absl::StrCat("l:", i), "v")}).ok());
  }
  // Nothing leaves before the linger is over (unless this thread was
  // descheduled for that long, which the check allows for).
  if (absl::Now() - start < absl::Milliseconds(200)) {
    EXPECT_EQ(writer.GetStats().written, 0u);
    EXPECT_EQ(DbSize(), 0);
  }
  // Then it all goes, by itself, as one batch.
  ASSERT_TRUE(Eventually([&] { return writer.GetStats().written == 10; }));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(writer.GetStats().batches, 1u);
  EXPECT_EQ(DbSize(), 10);
  // The next write lingers again, from its own arrival.
  ASSERT_TRUE(writer.Write({Set("l:late", "v")}).ok());
  ASSERT_TRUE(Eventually([&] { return writer.GetStats().written == 11; }));
  EXPECT_EQ(writer.GetStats().batches, 2u);
}

TEST_F(WriteBehindTest, AFullBatchAndFlushDoNotWaitForTheLinger) {
  WriteBehindOptions options;
  options.linger = absl::Hours(1);
  options.linger_batch = 5;
  WriteBehind writer(*client_, options);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(writer.Write({Set(absl::StrCat("f:", i), "v")}).ok());
  }
  ASSERT_TRUE(Eventually([&] { return writer.GetStats().written == 5; }));
  ASSERT_TRUE(writer.Write({Set("f:flushed", "v")}).ok());
  ASSERT_TRUE(writer.Flush(absl::Seconds(5)).ok());
  EXPECT_EQ(Get("f:flushed"), "v");
}

TEST_F(WriteBehindTest, TheDestructorSendsWhatLingers) {
  {
    WriteBehindOptions options;
    options.linger = absl::Hours(1);
    WriteBehind writer(*client_, options);
    ASSERT_TRUE(writer.Write({Set("d:1", "v")}).ok());
  }
  EXPECT_EQ(Get("d:1"), "v");
}

TEST_F(WriteBehindTest, KeepsTheOrderOfWrites) {
  WriteBehind writer(*client_);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(writer.Write({Set("counter", absl::StrCat(i))}).ok());
  }
  ASSERT_TRUE(writer.Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(Get("counter"), "1999");
}

TEST_F(WriteBehindTest, AllOrNothingPerWriteAndEmptyIsFine) {
  WriteBehind writer(*client_);
  EXPECT_TRUE(writer.Write({}).ok());
  ASSERT_TRUE(writer.Write({Set("a", "1"), Set("b", "2")}).ok());
  ASSERT_TRUE(writer.Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(Get("a"), "1");
  EXPECT_EQ(Get("b"), "2");
}

TEST_F(WriteBehindTest, RefusesWhileRedisFailsAndRetriesWhatItAccepted) {
  WriteBehindOptions options;
  options.retry_initial = absl::Milliseconds(10);
  options.retry_max = absl::Milliseconds(100);
  WriteBehind writer(*client_, options);
  ASSERT_TRUE(writer.Write({Set("before", "1")}).ok());
  ASSERT_TRUE(writer.Flush(absl::Seconds(10)).ok());

  ASSERT_TRUE(server_->Kill().ok());
  // Accepted until a batch fails; those stay queued.
  std::vector<std::string> accepted;
  for (int i = 0; i < 1000 && !writer.GetStats().failing; ++i) {
    const std::string key = absl::StrCat("during:", i);
    if (writer.Write({Set(key, "x")}).ok()) accepted.push_back(key);
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(writer.GetStats().failing);
  absl::Status refused = writer.Write({Set("refused", "x")});
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.message(), HasSubstr("failing"));
  absl::Status flush = writer.Flush(absl::Milliseconds(50));
  if (!accepted.empty()) {
    EXPECT_EQ(flush.code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_THAT(flush.message(), HasSubstr("still queued"));
  }

  // Redis comes back empty (no persistence): whatever was accepted while it
  // was down is written by the retries.
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(writer.Flush(absl::Seconds(10)).ok());
  for (const std::string& key : accepted) EXPECT_EQ(Get(key), "x") << key;
  EXPECT_EQ(Get("refused"), "");
  EXPECT_FALSE(writer.GetStats().failing);
  EXPECT_GE(writer.GetStats().failed_batches, 1u);
  EXPECT_GE(writer.GetStats().refused, 1u);
  EXPECT_TRUE(writer.Write({Set("after", "1")}).ok());
  ASSERT_TRUE(writer.Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(Get("after"), "1");
}

TEST_F(WriteBehindTest, RefusesBeyondMaxPendingWhileRedisIsSlow) {
  WriteBehindOptions options;
  options.max_pending = 50;
  WriteBehind writer(*client_, options);
  ASSERT_TRUE(writer.Write({Set("warm", "1")}).ok());
  ASSERT_TRUE(writer.Flush(absl::Seconds(10)).ok());
  // Redis stops serving writes for a while (commands are held, not failed).
  ASSERT_TRUE(server_->Cli({"CLIENT", "PAUSE", "200", "WRITE"}).ok());
  int accepted = 0;
  absl::Status last;
  for (int i = 0; i < 200; ++i) {
    last = writer.Write({Set(absl::StrCat("slow:", i), "x")});
    if (!last.ok()) break;
    ++accepted;
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(last.message(), HasSubstr("already queued"));
  EXPECT_LE(accepted, 50);
  ASSERT_TRUE(writer.Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(DbSize(), 1 + accepted);
}

TEST_F(WriteBehindTest, DestructorWritesWhatIsQueued) {
  {
    WriteBehind writer(*client_);
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(writer.Write({Set(absl::StrCat("d:", i), "x")}).ok());
    }
  }
  EXPECT_EQ(DbSize(), 3000);
}

TEST_F(WriteBehindTest, DestructorGivesUpAfterDrainTimeoutOnADeadRedis) {
  WriteBehindOptions options;
  options.drain_timeout = absl::Milliseconds(200);
  auto writer = std::make_unique<WriteBehind>(*client_, options);
  ASSERT_TRUE(server_->Kill().ok());
  int accepted = 0;
  for (int i = 0; i < 100 && !writer->GetStats().failing; ++i) {
    if (writer->Write({Set(absl::StrCat("lost:", i), "x")}).ok()) ++accepted;
    absl::SleepFor(absl::Milliseconds(1));
  }
  const absl::Time start = absl::Now();
  writer.reset();  // must not hang on a dead Redis
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace rapport::redis
