// Integration tests of rapport::redis::AsyncClient against a real
// redis-server.

#include "common/redis/async_client.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis/redis_url.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"

namespace rapport::redis {
namespace {

using ::rapport::testing::RedisServer;
using ::rapport::testing::RedisServerOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// "Did not hang": far above every timeout the tests configure.
constexpr absl::Duration kNoHang = absl::Seconds(3);

class RecordingObserver : public CommandObserver {
 public:
  struct Event {
    std::string command;
    bool error;
    bool operator==(const Event&) const = default;
  };
  void OnCommand(absl::string_view command, absl::Duration latency,
                 bool error) override {
    absl::MutexLock lock(&mu_);
    EXPECT_GE(latency, absl::ZeroDuration());
    events_.push_back({std::string(command.data(), command.size()), error});
  }
  std::vector<Event> Take() {
    absl::MutexLock lock(&mu_);
    return std::exchange(events_, {});
  }

 private:
  absl::Mutex mu_;
  std::vector<Event> events_ ABSL_GUARDED_BY(mu_);
};

void PrintTo(const RecordingObserver::Event& e, std::ostream* os) {
  *os << e.command << (e.error ? " (error)" : "");
}

// A call's outcome and the thread its callback ran on.
template <typename T>
struct Outcome {
  absl::StatusOr<T> result = absl::UnknownError("callback not called");
  std::thread::id thread;
};

// Blocking wrappers: the test thread waits for the callback.
Outcome<Reply> Call(AsyncClient& client, const std::vector<std::string>& args) {
  absl::Notification done;
  Outcome<Reply> out;
  client.Command(args, [&](absl::StatusOr<Reply> reply) {
    out.result = std::move(reply);
    out.thread = std::this_thread::get_id();
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

absl::StatusOr<Reply> Exec(AsyncClient& client,
                           const std::vector<std::string>& args) {
  return Call(client, args).result;
}

absl::StatusOr<std::vector<Reply>> RunPipeline(
    AsyncClient& client,
    const std::vector<std::vector<std::string>>& commands) {
  absl::Notification done;
  absl::StatusOr<std::vector<Reply>> out;
  client.Pipeline(commands, [&](absl::StatusOr<std::vector<Reply>> replies) {
    out = std::move(replies);
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

// Counts outstanding callbacks; Wait() returns when all have run.
class Countdown {
 public:
  void Add(int n) {
    absl::MutexLock lock(&mu_);
    left_ += n;
  }
  void Done() {
    absl::MutexLock lock(&mu_);
    --left_;
  }
  bool WaitFor(absl::Duration limit) {
    absl::MutexLock lock(&mu_);
    auto zero = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return left_ == 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&zero), limit);
  }

 private:
  absl::Mutex mu_;
  int left_ ABSL_GUARDED_BY(mu_) = 0;
};

class AsyncClientTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }

  void StartServer(const RedisServerOptions& options) {
    absl::StatusOr<std::unique_ptr<RedisServer>> server =
        RedisServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  AsyncClientOptions Options() const {
    AsyncClientOptions options;
    options.endpoint = server_->endpoint();
    options.command_timeout = absl::Seconds(5);  // Slow under sanitizers.
    return options;
  }

  std::unique_ptr<AsyncClient> MakeClient() {
    return AsyncClient::Create(Options());
  }

  static absl::Status PingUntilOk(AsyncClient& client, absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    absl::Status s;
    do {
      s = client.Ping();
      if (s.ok()) return s;
      absl::SleepFor(absl::Milliseconds(20));
    } while (absl::Now() < deadline);
    return s;
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(AsyncClientTest, CreateDoesNotConnectAndFirstCallReportsRefusal) {
  server_->Kill().IgnoreError();
  const absl::Time start = absl::Now();
  std::unique_ptr<AsyncClient> client = MakeClient();
  EXPECT_EQ(client->GetStats().connected, 0);
  const absl::StatusOr<Reply> reply = Exec(*client, {"GET", "k"});
  EXPECT_LT(absl::Now() - start, kNoHang);
  ASSERT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(),
              HasSubstr(absl::StrCat("redis 127.0.0.1:", server_->port(),
                                     "/0 unavailable: connect failed")));
  EXPECT_THAT(reply.status().message(), HasSubstr("refused"));
  EXPECT_EQ(client->Ping().code(), absl::StatusCode::kUnavailable);
}

TEST_F(AsyncClientTest, BasicCommandsReturnTypedRepliesOnTheIoThread) {
  std::unique_ptr<AsyncClient> client = MakeClient();
  EXPECT_EQ(*Exec(*client, {"SET", "k", "v"}), Reply::String("OK"));
  const Outcome<Reply> get = Call(*client, {"GET", "k"});
  EXPECT_EQ(*get.result, Reply::String("v"));
  EXPECT_NE(get.thread, std::this_thread::get_id());
  EXPECT_TRUE(Exec(*client, {"GET", "missing"})->is_nil());
  EXPECT_EQ(*Exec(*client, {"INCRBY", "n", "42"}), Reply::Integer(42));
  EXPECT_EQ(*Exec(*client, {"RPUSH", "l", "a", "b"}), Reply::Integer(2));
  EXPECT_EQ(*Exec(*client, {"LRANGE", "l", "0", "-1"}),
            Reply::Array({Reply::String("a"), Reply::String("b")}));

  // The initializer_list overload encodes before returning: the views may
  // die right after the call.
  absl::Notification done;
  absl::StatusOr<Reply> got;
  {
    std::string key = "k";
    client->Command({"GET", key}, [&](absl::StatusOr<Reply> r) {
      got = std::move(r);
      done.Notify();
    });
    key = "overwritten";
  }
  done.WaitForNotification();
  EXPECT_EQ(*got, Reply::String("v"));

  EXPECT_TRUE(client->Ping().ok());
  const AsyncClient::Stats stats = client->GetStats();
  EXPECT_EQ(stats.connections, 1);
  EXPECT_EQ(stats.connected, 1);
  EXPECT_EQ(stats.queued, 0);
  EXPECT_EQ(stats.consecutive_dial_failures, 0);
}

TEST_F(AsyncClientTest, RepliesMatchRequestsInOrderUnderConcurrency) {
  // Fire-and-forget from 16 threads: every thread queues SET then GET of its
  // own keys without waiting, so calls pile up and share batches; on one
  // connection a GET is always answered after its SET.
  std::unique_ptr<AsyncClient> client = MakeClient();
  constexpr int kThreads = 16;
  constexpr int kCalls = 2000;
  Countdown pending;
  pending.Add(kThreads * kCalls * 2);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const std::string key = absl::StrCat("k:", t, ":", i);
        std::string value = absl::StrCat("v:", t, ":", i, ":", key);
        client->Command({"SET", key, value}, [&](absl::StatusOr<Reply> r) {
          if (!r.ok() || *r != Reply::String("OK")) ++wrong;
          pending.Done();
        });
        client->Command({"GET", key}, [&, value = std::move(value)](
                                          const absl::StatusOr<Reply>& r) {
          if (!r.ok() || !r->is_string() || r->str() != value) {
            ++wrong;
          }
          pending.Done();
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(pending.WaitFor(absl::Seconds(60)));
  EXPECT_EQ(wrong.load(), 0);
  const AsyncClient::Stats stats = client->GetStats();
  EXPECT_EQ(stats.commands, uint64_t{kThreads} * kCalls * 2);
  // Smart batching: far fewer writes than commands.
  EXPECT_LT(stats.batches, stats.commands / 2) << stats.batches;
  EXPECT_EQ(stats.queued, 0);
}

TEST_F(AsyncClientTest, CallbacksCanChainCommandsAcrossConnections) {
  // With several connections, independent calls may overtake each other:
  // a GET that depends on a SET is issued from the SET's callback.
  AsyncClientOptions options = Options();
  options.connections = 3;
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  constexpr int kThreads = 16;
  constexpr int kCalls = 2000;
  Countdown pending;
  pending.Add(kThreads * kCalls);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const std::string key = absl::StrCat("k:", t, ":", i);
        const std::string value = absl::StrCat("value of ", key);
        // Copies: the arguments and the captures are evaluated in an
        // unspecified order.
        client->Command({"SET", key, value},
                        [&, key, value](const absl::StatusOr<Reply>& r) {
                          if (!r.ok()) ++wrong;
                          client->Command(
                              {"GET", key},
                              [&, value](const absl::StatusOr<Reply>& got) {
                                if (!got.ok() || got->str() != value) ++wrong;
                                pending.Done();
                              });
                        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(pending.WaitFor(absl::Seconds(60)));
  EXPECT_EQ(wrong.load(), 0);
  const AsyncClient::Stats stats = client->GetStats();
  EXPECT_EQ(stats.connections, 3);
  EXPECT_EQ(stats.connected, 3);  // Least-loaded routing used them all.
  EXPECT_EQ(stats.commands, uint64_t{kThreads} * kCalls * 2);
}

TEST_F(AsyncClientTest, ValuesAndKeysAreBinarySafe) {
  std::unique_ptr<AsyncClient> client = MakeClient();
  const std::string key("k\0ey\r\n", 6);
  const std::string value("\0a\0\r\n$3\r\nb\xff", 11);
  ASSERT_TRUE(Exec(*client, {"SET", key, value}).ok());
  EXPECT_EQ(*Exec(*client, {"STRLEN", key}), Reply::Integer(11));
  EXPECT_EQ(Exec(*client, {"GET", key})->str(), value);
  EXPECT_EQ(server_->Cli({"GET", key})->str(), value);
  EXPECT_TRUE(server_->Cli({"GET", "k"})->is_nil());
}

TEST_F(AsyncClientTest, LargeValuesAndPipelinesLargerThanABatch) {
  AsyncClientOptions options = Options();
  options.max_batch = 64;
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i);
  ASSERT_TRUE(Exec(*client, {"SET", "big", big}).ok());
  EXPECT_EQ(Exec(*client, {"GET", "big"})->str(), big);

  constexpr int kN = 1000;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(size_t{2} * kN);
  for (int i = 0; i < kN; ++i) {
    commands.push_back({"SET", absl::StrCat("k", i), absl::StrCat("v", i)});
  }
  for (int i = 0; i < kN; ++i) {
    commands.push_back({"GET", absl::StrCat("k", i)});
  }
  const absl::StatusOr<std::vector<Reply>> replies =
      RunPipeline(*client, commands);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 2u * kN);
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ((*replies)[i], Reply::String("OK"));
    EXPECT_EQ((*replies)[kN + i], Reply::String(absl::StrCat("v", i)));
  }
}

TEST_F(AsyncClientTest, PipelinesStayContiguousSoTransactionsWork) {
  // MULTI/INCR/INCR/EXEC from many threads at once: if another call's
  // command slipped between them it would be QUEUED inside the transaction
  // and the EXEC arrays would not be pairs of consecutive counts.
  AsyncClientOptions options = Options();
  options.connections = 2;
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  constexpr int kThreads = 8;
  constexpr int kCalls = 300;
  Countdown pending;
  pending.Add(kThreads * kCalls * 2);
  absl::Mutex mu;
  std::vector<int64_t> firsts;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        client->Pipeline(
            {{"MULTI"}, {"INCR", "c"}, {"INCR", "c"}, {"EXEC"}},
            [&](absl::StatusOr<std::vector<Reply>> r) {
              const std::vector<Reply> queued = {Reply::String("OK"),
                                                 Reply::String("QUEUED"),
                                                 Reply::String("QUEUED")};
              if (!r.ok() || r->size() != 4 ||
                  !std::equal(queued.begin(), queued.end(), r->begin()) ||
                  (*r)[3].elements().size() != 2 ||
                  (*r)[3].elements()[1].integer() !=
                      (*r)[3].elements()[0].integer() + 1) {
                ++wrong;
              } else {
                absl::MutexLock lock(&mu);
                firsts.push_back((*r)[3].elements()[0].integer());
              }
              pending.Done();
            });
        // Interleave plain commands from the same threads.
        client->Command({"INCR", "other"}, [&](absl::StatusOr<Reply> r) {
          if (!r.ok() || !r->is_integer()) ++wrong;
          pending.Done();
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(pending.WaitFor(absl::Seconds(60)));
  EXPECT_EQ(wrong.load(), 0);
  absl::MutexLock lock(&mu);
  ASSERT_EQ(firsts.size(), size_t{kThreads} * kCalls);
  std::sort(firsts.begin(), firsts.end());
  for (size_t i = 0; i < firsts.size(); ++i) {
    ASSERT_EQ(firsts[i], static_cast<int64_t>(2 * i + 1));
  }
}

TEST_F(AsyncClientTest, ErrorRepliesStayInTheirSlot) {
  std::unique_ptr<AsyncClient> client = MakeClient();
  const absl::StatusOr<std::vector<Reply>> replies =
      RunPipeline(*client, {{"SET", "s", "x"},
                            {"LPUSH", "s", "y"},
                            {"NOSUCHCOMMAND"},
                            {"GET", "s"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[0], Reply::String("OK"));
  EXPECT_EQ((*replies)[1].error_code(), "WRONGTYPE");
  EXPECT_EQ((*replies)[2].error_code(), "ERR");
  EXPECT_EQ((*replies)[3], Reply::String("x"));
  // A single command's error reply is a reply, not a failed status.
  const absl::StatusOr<Reply> one = Exec(*client, {"LPUSH", "s", "y"});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->AsStatus().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*Exec(*client, {"GET", "s"}), Reply::String("x"));
}

TEST_F(AsyncClientTest, EmptyPipelineSucceedsWithoutConnecting) {
  std::unique_ptr<AsyncClient> client = MakeClient();
  const absl::StatusOr<std::vector<Reply>> replies = RunPipeline(*client, {});
  ASSERT_TRUE(replies.ok());
  EXPECT_TRUE(replies->empty());
  EXPECT_EQ(client->GetStats().connected, 0);
}

TEST_F(AsyncClientTest, RefusesConnectionStateCommandsThroughTheCallback) {
  RecordingObserver observer;
  AsyncClientOptions options = Options();
  options.observer = &observer;
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  for (const std::vector<std::string>& command :
       std::vector<std::vector<std::string>>{{"SELECT", "1"},
                                             {"select", "1"},
                                             {"AUTH", "x"},
                                             {"HELLO", "3"},
                                             {"QUIT"},
                                             {"RESET"},
                                             {"SUBSCRIBE", "ch"},
                                             {"PSUBSCRIBE", "c*"},
                                             {"SSUBSCRIBE", "ch"},
                                             {"MONITOR"},
                                             {"MULTI"},
                                             {"WATCH", "k"},
                                             {}}) {
    const Outcome<Reply> out = Call(*client, command);
    EXPECT_EQ(out.result.status().code(), absl::StatusCode::kInvalidArgument)
        << (command.empty() ? "<empty>" : command[0]);
    EXPECT_NE(out.thread, std::this_thread::get_id());  // Never inline.
  }
  const absl::StatusOr<std::vector<Reply>> open_multi =
      RunPipeline(*client, {{"MULTI"}, {"SET", "k", "v"}});
  EXPECT_EQ(open_multi.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(open_multi.status().message(), HasSubstr("EXEC or DISCARD"));
  EXPECT_EQ(RunPipeline(*client, {{"SET", "k", "v"}, {"SELECT", "2"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(RunPipeline(*client, {{"WATCH", "k"}, {"UNWATCH"}}).ok());
  // Nothing refused reached Redis or the observer.
  EXPECT_TRUE(server_->Cli({"GET", "k"})->is_nil());
  using E = RecordingObserver::Event;
  EXPECT_THAT(observer.Take(),
              ElementsAre(E{"WATCH", false}, E{"UNWATCH", false}));
}

TEST_F(AsyncClientTest, ObserverSeesEachCommandOnceWithABoundedName) {
  RecordingObserver observer;
  AsyncClientOptions options = Options();
  options.observer = &observer;
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  ASSERT_TRUE(Exec(*client, {"set", "s", "x"}).ok());
  ASSERT_TRUE(RunPipeline(*client, {{"get", "s"}, {"LPUSH", "s", "y"}}).ok());
  ASSERT_TRUE(Exec(*client, {"no such command", "secret-key"}).ok());
  using E = RecordingObserver::Event;
  EXPECT_THAT(observer.Take(), ElementsAre(E{"SET", false}, E{"GET", false},
                                           E{"LPUSH", true}, E{"OTHER", true}));
  ASSERT_TRUE(server_->Kill().ok());
  EXPECT_FALSE(RunPipeline(*client, {{"GET", "a"}, {"GET", "b"}}).ok());
  EXPECT_THAT(observer.Take(), ElementsAre(E{"GET", true}, E{"GET", true}));
}

TEST_F(AsyncClientTest, SlowRedisTimesOutInBoundedTimeAndTheClientRecovers) {
  AsyncClientOptions options = Options();
  options.command_timeout = absl::Milliseconds(100);
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  ASSERT_TRUE(Exec(*client, {"SET", "k", "v"}).ok());

  ASSERT_EQ(*server_->Cli({"CLIENT", "PAUSE", "2000", "ALL"}),
            Reply::String("OK"));
  // Several calls in flight at once: all fail, none hangs.
  const absl::Time start = absl::Now();
  constexpr int kCalls = 20;
  Countdown pending;
  pending.Add(kCalls);
  absl::Mutex mu;
  std::vector<absl::Status> failures;
  for (int i = 0; i < kCalls; ++i) {
    client->Command({"GET", "k"}, [&](const absl::StatusOr<Reply>& r) {
      {
        absl::MutexLock lock(&mu);
        failures.push_back(r.status());
      }
      pending.Done();
    });
  }
  ASSERT_TRUE(pending.WaitFor(kNoHang));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  {
    absl::MutexLock lock(&mu);
    ASSERT_EQ(failures.size(), size_t{kCalls});
    // The first batch times out; later ones time out too or fail on the
    // redial's own timeout: all UNAVAILABLE.
    for (const absl::Status& s : failures) {
      EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    }
    EXPECT_THAT(failures.front().message(), HasSubstr("no reply within 100ms"));
    EXPECT_THAT(failures.front().message(),
                HasSubstr(absl::StrCat("redis 127.0.0.1:", server_->port())));
  }

  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::StatusOr<Reply> again;
  do {
    again = Exec(*client, {"GET", "k"});
  } while (!again.ok() && absl::Now() < deadline);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, Reply::String("v"));
}

TEST_F(AsyncClientTest, RecoversAfterServerRestartWithoutANewClient) {
  AsyncClientOptions options = Options();
  options.backoff_initial = absl::Milliseconds(20);
  options.backoff_max = absl::Milliseconds(200);
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  ASSERT_TRUE(Exec(*client, {"SET", "k", "v"}).ok());

  ASSERT_TRUE(server_->Kill().ok());
  for (int i = 0; i < 5; ++i) {
    const absl::Time start = absl::Now();
    const absl::StatusOr<Reply> down = Exec(*client, {"GET", "k"});
    EXPECT_LT(absl::Now() - start, kNoHang);
    EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable)
        << down.status();
    EXPECT_THAT(down.status().message(), HasSubstr("unavailable"));
  }
  EXPECT_GE(client->GetStats().consecutive_dial_failures, 1);

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(PingUntilOk(*client, absl::Seconds(5)).ok());
  EXPECT_EQ(*Exec(*client, {"SET", "k", "again"}), Reply::String("OK"));
  EXPECT_EQ(*Exec(*client, {"GET", "k"}), Reply::String("again"));
  EXPECT_EQ(client->GetStats().consecutive_dial_failures, 0);
}

TEST_F(AsyncClientTest, ReconnectsInTheBackgroundOnceTheBackoffPasses) {
  AsyncClientOptions options = Options();
  options.backoff_initial = absl::Milliseconds(20);
  options.backoff_max = absl::Milliseconds(50);
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  ASSERT_TRUE(server_->Kill().ok());
  EXPECT_FALSE(Exec(*client, {"GET", "k"}).ok());
  ASSERT_TRUE(server_->Restart().ok());
  // No calls: the I/O thread redials by itself.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (client->GetStats().connected == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(client->GetStats().connected, 1);
  EXPECT_EQ(client->GetStats().consecutive_dial_failures, 0);
}

TEST_F(AsyncClientTest, FailsFastWhileInDialBackoff) {
  AsyncClientOptions options = Options();
  options.backoff_initial = absl::Seconds(30);
  options.backoff_max = absl::Seconds(30);
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  ASSERT_TRUE(server_->Kill().ok());
  EXPECT_EQ(Exec(*client, {"GET", "k"}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(client->GetStats().consecutive_dial_failures, 1);

  ASSERT_TRUE(server_->Restart().ok());
  const absl::Time start = absl::Now();
  const absl::StatusOr<Reply> fast = Exec(*client, {"GET", "k"});
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(fast.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(fast.status().message(), HasSubstr("next attempt in"));
  EXPECT_EQ(client->GetStats().consecutive_dial_failures, 1);
}

TEST_F(AsyncClientTest, ReplacesAConnectionTheServerClosedWhileIdle) {
  std::unique_ptr<AsyncClient> client = MakeClient();
  ASSERT_TRUE(Exec(*client, {"SET", "k", "v"}).ok());
  ASSERT_EQ(*server_->Cli({"CLIENT", "KILL", "TYPE", "normal"}),
            Reply::Integer(1));
  absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(*Exec(*client, {"GET", "k"}), Reply::String("v"));
}

TEST_F(AsyncClientTest, AuthenticatesWithThePasswordFromTheUrl) {
  RedisServerOptions server_options;
  server_options.password = "p@ss:w/rd%+ 1";
  StartServer(server_options);
  std::unique_ptr<AsyncClient> client = MakeClient();
  EXPECT_EQ(client->options().endpoint.password, server_options.password);
  EXPECT_TRUE(client->Ping().ok());
  EXPECT_EQ(*Exec(*client, {"SET", "k", "v"}), Reply::String("OK"));
  EXPECT_EQ(*Exec(*client, {"GET", "k"}), Reply::String("v"));
}

TEST_F(AsyncClientTest, WrongPasswordIsUnavailableWithoutLeakingIt) {
  RedisServerOptions server_options;
  server_options.password = "right-password";
  StartServer(server_options);
  AsyncClientOptions options = Options();
  options.endpoint.password = "wrong-secret-123";
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  const absl::StatusOr<Reply> reply = Exec(*client, {"GET", "secret-key"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr("AUTH rejected"));
  EXPECT_THAT(reply.status().message(), Not(HasSubstr("wrong-secret-123")));
  EXPECT_THAT(reply.status().message(), Not(HasSubstr("right-password")));
  EXPECT_THAT(reply.status().message(), Not(HasSubstr("secret-key")));
}

TEST_F(AsyncClientTest, SelectsTheDatabaseFromTheUrl) {
  AsyncClientOptions options = Options();
  options.endpoint.db = 3;
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  ASSERT_TRUE(Exec(*client, {"SET", "in3", "v"}).ok());
  EXPECT_TRUE(server_->Cli({"GET", "in3"})->is_nil());  // Cli uses db 0.
  EXPECT_THAT(server_->Cli({"INFO", "keyspace"})->str(),
              HasSubstr("db3:keys=1"));
}

TEST_F(AsyncClientTest, DestructionCallsEveryCallbackExactlyOnce) {
  AsyncClientOptions options = Options();
  options.command_timeout = absl::Milliseconds(300);
  options.max_batch = 8;
  std::unique_ptr<AsyncClient> client = AsyncClient::Create(options);
  AsyncClient* const raw = client.get();  // Callbacks use it while it dies.
  ASSERT_TRUE(client->Ping().ok());
  // Redis stalls: the first batch waits for its replies, the rest queue.
  ASSERT_EQ(*server_->Cli({"CLIENT", "PAUSE", "1000", "ALL"}),
            Reply::String("OK"));

  constexpr int kCalls = 1000;
  std::vector<std::atomic<int>> calls(kCalls);
  std::atomic<int> cancelled{0};
  std::atomic<int> unavailable{0};
  std::atomic<int> requeued_cancelled{0};
  for (int i = 0; i < kCalls; ++i) {
    client->Command({"GET", "k"}, [&, i](const absl::StatusOr<Reply>& r) {
      ++calls[i];
      if (absl::IsCancelled(r.status())) {
        ++cancelled;
        EXPECT_THAT(r.status().message(), HasSubstr("client shutting down"));
        // Callbacks may call again during destruction: CANCELLED at once.
        raw->Command({"GET", "k"}, [&](const absl::StatusOr<Reply>& again) {
          if (absl::IsCancelled(again.status())) ++requeued_cancelled;
        });
      } else if (absl::IsUnavailable(r.status())) {
        ++unavailable;
      }
    });
  }
  // Destroy with one batch in flight (it times out) and the rest queued.
  const absl::Time wait_until = absl::Now() + kNoHang;
  while (client->GetStats().queued == kCalls && absl::Now() < wait_until) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  const absl::Time start = absl::Now();
  client.reset();
  EXPECT_LT(absl::Now() - start, kNoHang);
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(calls[i].load(), 1) << i;
  EXPECT_GT(cancelled.load(), 0);
  EXPECT_GT(unavailable.load(), 0);
  EXPECT_EQ(cancelled.load() + unavailable.load(), kCalls);
  EXPECT_EQ(requeued_cancelled.load(), cancelled.load());
}

}  // namespace
}  // namespace rapport::redis
