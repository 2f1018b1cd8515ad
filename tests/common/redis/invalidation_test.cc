// Integration tests of rapport::redis::InvalidationListener against a real
// redis-server: messages reach on_key, and a lost subscription is reported
// at once and restored after Redis comes back.

#include "common/redis/invalidation.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"

namespace rapport::redis {
namespace {

using ::rapport::testing::RedisServer;

class Recorder {
 public:
  void Key(absl::string_view key) {
    absl::MutexLock lock(&mu_);
    keys_.emplace_back(key);
  }
  void State(bool subscribed) {
    absl::MutexLock lock(&mu_);
    states_.push_back(subscribed);
  }
  std::vector<std::string> keys() {
    absl::MutexLock lock(&mu_);
    return keys_;
  }
  std::vector<bool> states() {
    absl::MutexLock lock(&mu_);
    return states_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> keys_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> states_ ABSL_GUARDED_BY(mu_);
};

template <typename Pred>
bool WaitFor(Pred pred, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return pred();
}

class InvalidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  InvalidationOptions Options(Recorder& rec) const {
    InvalidationOptions options;
    options.redis.endpoint = server_->endpoint();
    options.redis.backoff_initial = absl::Milliseconds(20);
    options.redis.backoff_max = absl::Milliseconds(100);
    options.channel = "test:invalidate";
    options.on_key = [&rec](absl::string_view key) { rec.Key(key); };
    options.on_state = [&rec](bool s) { rec.State(s); };
    return options;
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(InvalidationTest, DeliversPublishedKeysOnceSubscribed) {
  Recorder rec;
  InvalidationListener listener(Options(rec));
  ASSERT_TRUE(WaitFor([&] { return listener.subscribed(); }));
  EXPECT_EQ(rec.states(), std::vector<bool>{true});
  ASSERT_TRUE(
      server_->Cli({"PUBLISH", "test:invalidate", "rapport:{t}:a"}).ok());
  // Published from a script, as the stores do it.
  ASSERT_TRUE(server_
                  ->Cli({"EVAL",
                         "redis.call('SET', KEYS[1], 'x'); "
                         "return redis.call('PUBLISH', ARGV[1], KEYS[1])",
                         "1", "rapport:{t}:b", "test:invalidate"})
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return rec.keys().size() == 2; }));
  EXPECT_EQ(rec.keys(),
            (std::vector<std::string>{"rapport:{t}:a", "rapport:{t}:b"}));
  // Other channels are not delivered.
  ASSERT_TRUE(server_->Cli({"PUBLISH", "other", "rapport:{t}:c"}).ok());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(rec.keys().size(), 2u);
}

TEST_F(InvalidationTest, ReportsALostSubscriptionAndRestoresIt) {
  Recorder rec;
  InvalidationListener listener(Options(rec));
  ASSERT_TRUE(WaitFor([&] { return listener.subscribed(); }));
  ASSERT_TRUE(server_->Kill().ok());
  ASSERT_TRUE(WaitFor([&] { return !listener.subscribed(); }));
  EXPECT_EQ(rec.states(), (std::vector<bool>{true, false}));
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(WaitFor([&] { return listener.subscribed(); }));
  EXPECT_EQ(rec.states(), (std::vector<bool>{true, false, true}));
  ASSERT_TRUE(server_->Cli({"PUBLISH", "test:invalidate", "k"}).ok());
  EXPECT_TRUE(WaitFor([&] { return rec.keys().size() == 1; }));
}

TEST_F(InvalidationTest, AKilledClientConnectionIsNoticedAndReplaced) {
  Recorder rec;
  InvalidationListener listener(Options(rec));
  ASSERT_TRUE(WaitFor([&] { return listener.subscribed(); }));
  ASSERT_TRUE(server_->Cli({"CLIENT", "KILL", "TYPE", "pubsub"}).ok());
  ASSERT_TRUE(WaitFor([&] { return rec.states().size() >= 3; }));
  EXPECT_EQ(rec.states(), (std::vector<bool>{true, false, true}));
}

TEST_F(InvalidationTest, ASilentDeadPeerIsNoticedByPing) {
  // CLIENT PAUSE stops Redis from answering, like a hung host: the PING
  // goes unanswered and the subscription is declared lost.
  Recorder rec;
  InvalidationOptions options = Options(rec);
  options.ping_every = absl::Milliseconds(50);
  options.redis.command_timeout = absl::Milliseconds(100);
  InvalidationListener listener(options);
  ASSERT_TRUE(WaitFor([&] { return listener.subscribed(); }));
  ASSERT_TRUE(server_->Cli({"CLIENT", "PAUSE", "1000", "ALL"}).ok());
  EXPECT_TRUE(
      WaitFor([&] { return !listener.subscribed(); }, absl::Seconds(2)));
}

TEST_F(InvalidationTest, StopsPromptlyWhileRedisIsDown) {
  Recorder rec;
  ASSERT_TRUE(server_->Kill().ok());
  const absl::Time start = absl::Now();
  {
    InvalidationListener listener(Options(rec));
    absl::SleepFor(absl::Milliseconds(150));
    EXPECT_FALSE(listener.subscribed());
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_TRUE(rec.states().empty());
}

}  // namespace
}  // namespace rapport::redis
