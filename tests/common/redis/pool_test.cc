// Integration tests of rapport::redis::Pool against a real redis-server.

#include "common/redis/pool.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis/keys.h"
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
using ::testing::UnorderedElementsAre;

// "Did not hang": far above every timeout the tests configure, far below
// anything that would look like a hang.
constexpr absl::Duration kNoHang = absl::Seconds(2);

// Records every OnCommand call.
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

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }

  void StartServer(const RedisServerOptions& options) {
    absl::StatusOr<std::unique_ptr<RedisServer>> server =
        RedisServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  PoolOptions Options() const {
    PoolOptions options;
    options.endpoint = server_->endpoint();
    return options;
  }

  std::unique_ptr<Pool> MakePool() { return Pool::Create(Options()); }

  // Retries `ping` until it succeeds or `limit` passes.
  static absl::Status PingUntilOk(Pool& pool, absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    absl::Status s;
    do {
      s = pool.Ping();
      if (s.ok()) return s;
      absl::SleepFor(absl::Milliseconds(20));
    } while (absl::Now() < deadline);
    return s;
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(PoolTest, CreateDoesNotConnectAndFirstCallReportsRefusal) {
  // A port nobody listens on: Create must not care.
  server_->Kill().IgnoreError();
  PoolOptions options = Options();
  const absl::Time start = absl::Now();
  std::unique_ptr<Pool> pool = Pool::Create(options);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->GetStats().idle, 0);
  EXPECT_EQ(pool->GetStats().in_use, 0);

  const absl::StatusOr<Reply> reply = pool->Command({"GET", "k"});
  EXPECT_LT(absl::Now() - start, kNoHang);
  ASSERT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(),
              HasSubstr(absl::StrCat("redis 127.0.0.1:", server_->port(),
                                     "/0 unavailable: connect failed")));
  EXPECT_THAT(reply.status().message(), HasSubstr("refused"));
}

TEST_F(PoolTest, BasicCommandsReturnTypedReplies) {
  std::unique_ptr<Pool> pool = MakePool();
  EXPECT_EQ(*pool->Command({"SET", "k", "v"}), Reply::String("OK"));
  EXPECT_EQ(*pool->Command({"GET", "k"}), Reply::String("v"));
  EXPECT_TRUE(pool->Command({"GET", "missing"})->is_nil());
  EXPECT_EQ(*pool->Command({"INCR", "n"}), Reply::Integer(1));
  EXPECT_EQ(*pool->Command({"INCRBY", "n", "41"}), Reply::Integer(42));
  EXPECT_EQ(*pool->Command(std::vector<std::string>{"RPUSH", "l", "a", "b"}),
            Reply::Integer(2));
  EXPECT_EQ(*pool->Command({"LRANGE", "l", "0", "-1"}),
            Reply::Array({Reply::String("a"), Reply::String("b")}));
  EXPECT_EQ(*pool->Command({"DEL", "k", "n", "l"}), Reply::Integer(3));
  EXPECT_TRUE(pool->Ping().ok());
  // One connection did all of it.
  EXPECT_EQ(pool->GetStats().idle, 1);
  EXPECT_EQ(pool->GetStats().in_use, 0);
}

TEST_F(PoolTest, ErrorReplyIsAReplyNotAFailedStatus) {
  std::unique_ptr<Pool> pool = MakePool();
  ASSERT_TRUE(pool->Command({"SET", "s", "x"}).ok());
  const absl::StatusOr<Reply> reply = pool->Command({"LPUSH", "s", "y"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->is_error());
  EXPECT_EQ(reply->error_code(), "WRONGTYPE");
  EXPECT_EQ(reply->AsStatus().code(), absl::StatusCode::kFailedPrecondition);
  // The connection is still good after an error reply.
  EXPECT_EQ(*pool->Command({"GET", "s"}), Reply::String("x"));
  EXPECT_EQ(pool->GetStats().idle, 1);
}

TEST_F(PoolTest, ValuesAndKeysAreBinarySafe) {
  std::unique_ptr<Pool> pool = MakePool();
  const std::string key("k\0ey\r\n", 6);
  const std::string value("\0a\0\r\n$3\r\nb\xff", 11);
  ASSERT_TRUE(pool->Command(std::vector<std::string>{"SET", key, value}).ok());
  EXPECT_EQ(*pool->Command({"STRLEN", key}), Reply::Integer(11));
  const absl::StatusOr<Reply> got = pool->Command({"GET", key});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->str(), value);
  // A different connection agrees: nothing was truncated at a NUL.
  EXPECT_EQ(server_->Cli({"GET", key})->str(), value);
  EXPECT_TRUE(server_->Cli({"GET", "k"})->is_nil());
}

TEST_F(PoolTest, LargeValuesRoundTrip) {
  std::unique_ptr<Pool> pool = MakePool();
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i);
  ASSERT_TRUE(pool->Command({"SET", "big", big}).ok());
  EXPECT_EQ(pool->Command({"GET", "big"})->str(), big);
}

TEST_F(PoolTest, PipelineReturnsEveryReplyInOrderOnOneConnection) {
  std::unique_ptr<Pool> pool = MakePool();
  constexpr int kN = 500;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(size_t{2} * kN);
  for (int i = 0; i < kN; ++i) {
    commands.push_back({"SET", absl::StrCat("k", i), absl::StrCat("v", i)});
  }
  for (int i = 0; i < kN; ++i) {
    commands.push_back({"GET", absl::StrCat("k", i)});
  }
  const absl::StatusOr<std::vector<Reply>> replies = pool->Pipeline(commands);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 2u * kN);
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ((*replies)[i], Reply::String("OK"));
    EXPECT_EQ((*replies)[kN + i], Reply::String(absl::StrCat("v", i)));
  }
  EXPECT_EQ(pool->GetStats().idle, 1);
  // Redis sees exactly one client connection from the pool.
  const Reply clients = *server_->Cli({"CLIENT", "LIST", "TYPE", "normal"});
  int lines = 0;
  for (char c : clients.str()) lines += c == '\n';
  EXPECT_EQ(lines, 2);  // The pool's connection and this Cli connection.
}

TEST_F(PoolTest, PipelineKeepsAnErrorReplyInItsSlot) {
  std::unique_ptr<Pool> pool = MakePool();
  const absl::StatusOr<std::vector<Reply>> replies = pool->Pipeline({
      {"SET", "s", "x"},
      {"LPUSH", "s", "y"},  // WRONGTYPE
      {"NOSUCHCOMMAND"},
      {"GET", "s"},
  });
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[0], Reply::String("OK"));
  EXPECT_EQ((*replies)[1].error_code(), "WRONGTYPE");
  EXPECT_EQ((*replies)[2].error_code(), "ERR");
  EXPECT_EQ((*replies)[3], Reply::String("x"));
}

TEST_F(PoolTest, EmptyPipelineSucceedsWithoutConnecting) {
  std::unique_ptr<Pool> pool = MakePool();
  const absl::StatusOr<std::vector<Reply>> replies = pool->Pipeline({});
  ASSERT_TRUE(replies.ok());
  EXPECT_TRUE(replies->empty());
  EXPECT_EQ(pool->GetStats().idle, 0);
}

TEST_F(PoolTest, MultiExecPipelineRunsAtomically) {
  std::unique_ptr<Pool> pool = MakePool();
  const absl::StatusOr<std::vector<Reply>> replies = pool->Pipeline({
      {"MULTI"},
      {"INCR", "c"},
      {"INCR", "c"},
      {"GET", "c"},
      {"EXEC"},
  });
  ASSERT_TRUE(replies.ok()) << replies.status();
  EXPECT_THAT(*replies,
              ElementsAre(Reply::String("OK"), Reply::String("QUEUED"),
                          Reply::String("QUEUED"), Reply::String("QUEUED"),
                          Reply::Array({Reply::Integer(1), Reply::Integer(2),
                                        Reply::String("2")})));
}

TEST_F(PoolTest, MultiExecWithAQueueingErrorIsAbortedAndLeavesNoTrace) {
  std::unique_ptr<Pool> pool = MakePool();
  const absl::StatusOr<std::vector<Reply>> replies = pool->Pipeline({
      {"MULTI"},
      {"SET", "t", "1"},
      {"NOSUCHCOMMAND", "x"},
      {"EXEC"},
  });
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_TRUE((*replies)[2].is_error());
  EXPECT_EQ((*replies)[3].error_code(), "EXECABORT");
  EXPECT_TRUE(pool->Command({"GET", "t"})->is_nil());
  // The connection left the transaction: a plain command is not QUEUED.
  EXPECT_EQ(*pool->Command({"SET", "t", "2"}), Reply::String("OK"));
}

TEST_F(PoolTest, WatchMultiExecInOneCallDetectsNoConflict) {
  std::unique_ptr<Pool> pool = MakePool();
  const absl::StatusOr<std::vector<Reply>> replies = pool->Pipeline({
      {"WATCH", "w"},
      {"MULTI"},
      {"SET", "w", "1"},
      {"EXEC"},
  });
  ASSERT_TRUE(replies.ok()) << replies.status();
  EXPECT_EQ(replies->back(), Reply::Array({Reply::String("OK")}));
}

TEST_F(PoolTest, ScriptsRunThroughEvalshaAndMissingScriptsAreNoscript) {
  std::unique_ptr<Pool> pool = MakePool();
  const absl::StatusOr<Reply> sha = pool->Command(
      {"SCRIPT", "LOAD", "return redis.call('INCRBY', KEYS[1], ARGV[1])"});
  ASSERT_TRUE(sha.ok() && sha->is_string()) << sha.status();
  const absl::StatusOr<std::vector<Reply>> replies = pool->Pipeline({
      {"EVALSHA", sha->str(), "1", "e", "5"},
      {"EVALSHA", std::string(40, '0'), "0"},
  });
  ASSERT_TRUE(replies.ok()) << replies.status();
  EXPECT_EQ((*replies)[0], Reply::Integer(5));
  EXPECT_EQ((*replies)[1].error_code(), "NOSCRIPT");
  EXPECT_EQ((*replies)[1].AsStatus().code(), absl::StatusCode::kNotFound);
}

TEST_F(PoolTest, RefusesCommandsThatWouldLeakConnectionState) {
  RecordingObserver observer;
  PoolOptions options = Options();
  options.observer = &observer;
  std::unique_ptr<Pool> pool = Pool::Create(options);
  for (const std::vector<std::string>& command :
       std::vector<std::vector<std::string>>{{"SELECT", "1"},
                                             {"select", "1"},
                                             {"AUTH", "x"},
                                             {"SUBSCRIBE", "ch"},
                                             {"MONITOR"},
                                             {"QUIT"},
                                             {"HELLO", "3"},
                                             {"MULTI"},
                                             {"WATCH", "k"},
                                             {}}) {
    EXPECT_EQ(pool->Command(command).status().code(),
              absl::StatusCode::kInvalidArgument)
        << (command.empty() ? "<empty>" : command[0]);
  }
  const absl::StatusOr<std::vector<Reply>> open_multi =
      pool->Pipeline({{"MULTI"}, {"SET", "k", "v"}});
  EXPECT_EQ(open_multi.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(open_multi.status().message(), HasSubstr("EXEC or DISCARD"));
  EXPECT_EQ(pool->Pipeline({{"WATCH", "k"}, {"GET", "k"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // EXEC or DISCARD outside MULTI fail in Redis and leave the WATCH.
  EXPECT_EQ(pool->Pipeline({{"WATCH", "k"}, {"DISCARD"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(pool->Pipeline({{"WATCH", "k"}, {"UNWATCH"}}).ok());
  EXPECT_TRUE(pool->Pipeline({{"MULTI"}, {"DISCARD"}}).ok());
  // Refused calls never reached Redis and are not reported.
  EXPECT_THAT(observer.Take(),
              ElementsAre(RecordingObserver::Event{"WATCH", false},
                          RecordingObserver::Event{"UNWATCH", false},
                          RecordingObserver::Event{"MULTI", false},
                          RecordingObserver::Event{"DISCARD", false}));
}

TEST_F(PoolTest, ObserverSeesEachCommandWithABoundedName) {
  RecordingObserver observer;
  PoolOptions options = Options();
  options.observer = &observer;
  std::unique_ptr<Pool> pool = Pool::Create(options);

  ASSERT_TRUE(pool->Command({"set", "s", "x"}).ok());
  ASSERT_TRUE(
      pool->Pipeline({{"get", "s"}, {"LPUSH", "s", "y"}, {"Incr", "n"}}).ok());
  ASSERT_TRUE(
      pool->Command({"no such command with spaces", "secret-key"}).ok());
  ASSERT_TRUE(pool->Command({std::string(40, 'X')}).ok());
  using E = RecordingObserver::Event;
  EXPECT_THAT(observer.Take(), ElementsAre(E{"SET", false}, E{"GET", false},
                                           E{"LPUSH", true}, E{"INCR", false},
                                           E{"OTHER", true}, E{"OTHER", true}));

  // Calls that fail before reaching Redis are reported as errors too.
  ASSERT_TRUE(server_->Kill().ok());
  EXPECT_FALSE(pool->Pipeline({{"GET", "a"}, {"GET", "b"}}).ok());
  EXPECT_THAT(observer.Take(), ElementsAre(E{"GET", true}, E{"GET", true}));
}

TEST_F(PoolTest, SlowRedisTimesOutQuicklyAndThePoolRecovers) {
  PoolOptions options = Options();
  options.command_timeout = absl::Milliseconds(100);
  std::unique_ptr<Pool> pool = Pool::Create(options);
  ASSERT_TRUE(pool->Command({"SET", "k", "v"}).ok());

  // Every client's commands wait 2 s; ours must give up after ~100 ms.
  ASSERT_EQ(*server_->Cli({"CLIENT", "PAUSE", "2000", "ALL"}),
            Reply::String("OK"));
  const absl::Time start = absl::Now();
  const absl::StatusOr<Reply> slow = pool->Command({"GET", "k"});
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  ASSERT_EQ(slow.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(slow.status().message(), HasSubstr("no reply within 100ms"));
  // The connection may be mid-reply: it was dropped, not returned.
  EXPECT_EQ(pool->GetStats().idle, 0);
  EXPECT_EQ(pool->GetStats().in_use, 0);

  // Once Redis is responsive again the same pool works, on a new connection.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::StatusOr<Reply> again;
  do {
    again = pool->Command({"GET", "k"});
  } while (!again.ok() && absl::Now() < deadline);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, Reply::String("v"));
}

TEST_F(PoolTest, CheckoutFailsFastWhenEveryConnectionIsBusy) {
  PoolOptions options = Options();
  options.size = 1;
  options.command_timeout = absl::Seconds(8);
  options.checkout_timeout = absl::Milliseconds(100);
  std::unique_ptr<Pool> pool = Pool::Create(options);

  // Hold the only connection with a blocking pop until we push.
  absl::StatusOr<Reply> popped;
  std::thread holder([&] { popped = pool->Command({"BLPOP", "q", "5"}); });
  const absl::Time wait_until = absl::Now() + absl::Seconds(5);
  while (absl::Now() < wait_until &&
         !absl::StrContains(server_->Cli({"CLIENT", "LIST"})->str(),
                            "cmd=blpop")) {
    absl::SleepFor(absl::Milliseconds(5));
  }

  const absl::Time start = absl::Now();
  const absl::StatusOr<Reply> busy = pool->Command({"GET", "k"});
  EXPECT_LT(absl::Now() - start, kNoHang);
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(busy.status().message(), HasSubstr("pool exhausted"));
  EXPECT_THAT(busy.status().message(), HasSubstr("all 1 connections"));

  ASSERT_TRUE(server_->Cli({"LPUSH", "q", "item"}).ok());
  holder.join();
  ASSERT_TRUE(popped.ok()) << popped.status();
  EXPECT_EQ(*popped, Reply::Array({Reply::String("q"), Reply::String("item")}));
  EXPECT_TRUE(pool->Command({"GET", "k"}).ok());
}

TEST_F(PoolTest, ReconnectsAfterServerRestart) {
  PoolOptions options = Options();
  options.backoff_initial = absl::Milliseconds(20);
  options.backoff_max = absl::Milliseconds(200);
  std::unique_ptr<Pool> pool = Pool::Create(options);
  ASSERT_TRUE(pool->Command({"SET", "k", "v"}).ok());

  ASSERT_TRUE(server_->Kill().ok());
  for (int i = 0; i < 5; ++i) {
    const absl::Time start = absl::Now();
    const absl::StatusOr<Reply> down = pool->Command({"GET", "k"});
    EXPECT_LT(absl::Now() - start, kNoHang);
    EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable)
        << down.status();
    EXPECT_THAT(down.status().message(), HasSubstr("unavailable"));
    EXPECT_FALSE(pool->Ping().ok());
  }

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(PingUntilOk(*pool, absl::Seconds(5)).ok());
  EXPECT_EQ(*pool->Command({"SET", "k", "again"}), Reply::String("OK"));
  EXPECT_EQ(*pool->Command({"GET", "k"}), Reply::String("again"));
  EXPECT_EQ(pool->GetStats().consecutive_dial_failures, 0);
}

TEST_F(PoolTest, FailsFastWhileInDialBackoff) {
  PoolOptions options = Options();
  options.backoff_initial = absl::Seconds(30);
  options.backoff_max = absl::Seconds(30);
  std::unique_ptr<Pool> pool = Pool::Create(options);
  ASSERT_TRUE(server_->Kill().ok());

  EXPECT_EQ(pool->Command({"GET", "k"}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(pool->GetStats().consecutive_dial_failures, 1);

  // The server is back, but the pool waits out its backoff (>= 15 s) rather
  // than redialing on every call.
  ASSERT_TRUE(server_->Restart().ok());
  const absl::Time start = absl::Now();
  const absl::StatusOr<Reply> fast = pool->Command({"GET", "k"});
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(fast.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(fast.status().message(), HasSubstr("next attempt in"));
  EXPECT_EQ(pool->GetStats().consecutive_dial_failures, 1);
}

TEST_F(PoolTest, ReplacesIdleConnectionsTheServerClosed) {
  std::unique_ptr<Pool> pool = MakePool();
  ASSERT_TRUE(pool->Command({"SET", "k", "v"}).ok());
  ASSERT_EQ(pool->GetStats().idle, 1);
  // Redis drops every other client (e.g. timeout, or an operator).
  ASSERT_EQ(*server_->Cli({"CLIENT", "KILL", "TYPE", "normal"}),
            Reply::Integer(1));
  // The next call notices the dead idle connection and dials a new one
  // instead of failing.
  EXPECT_EQ(*pool->Command({"GET", "k"}), Reply::String("v"));
}

TEST_F(PoolTest, AuthenticatesWithThePasswordFromTheUrl) {
  RedisServerOptions options;
  options.password = "p@ss:w/rd%+ 1";
  StartServer(options);
  ASSERT_THAT(server_->url(), HasSubstr("%40"));  // Percent-encoded.
  std::unique_ptr<Pool> pool = MakePool();
  EXPECT_EQ(pool->options().endpoint.password, options.password);
  EXPECT_TRUE(pool->Ping().ok());
  EXPECT_EQ(*pool->Command({"SET", "k", "v"}), Reply::String("OK"));
  EXPECT_EQ(*pool->Command({"GET", "k"}), Reply::String("v"));
}

TEST_F(PoolTest, WrongOrMissingPasswordIsUnavailableWithoutLeakingIt) {
  RedisServerOptions server_options;
  server_options.password = "right-password";
  StartServer(server_options);

  PoolOptions options = Options();
  options.endpoint.password = "wrong-secret-123";
  std::unique_ptr<Pool> wrong = Pool::Create(options);
  const absl::Status s = wrong->Ping();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("AUTH rejected"));
  EXPECT_THAT(s.message(), HasSubstr("WRONGPASS"));
  EXPECT_THAT(s.message(), Not(HasSubstr("wrong-secret-123")));
  EXPECT_THAT(s.message(), Not(HasSubstr("right-password")));

  options.endpoint.password.clear();
  std::unique_ptr<Pool> none = Pool::Create(options);
  const absl::Status no_auth = none->Ping();
  EXPECT_EQ(no_auth.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(no_auth.message(), HasSubstr("NOAUTH"));
}

TEST_F(PoolTest, AuthenticatesAsAnAclUser) {
  ASSERT_EQ(
      *server_->Cli({"ACL", "SETUSER", "app", "on", ">app-pw", "~*", "+@all"}),
      Reply::String("OK"));
  PoolOptions options = Options();
  options.endpoint.username = "app";
  options.endpoint.password = "app-pw";
  std::unique_ptr<Pool> pool = Pool::Create(options);
  EXPECT_EQ(*pool->Command({"ACL", "WHOAMI"}), Reply::String("app"));
}

TEST_F(PoolTest, SelectsTheDatabaseFromTheUrl) {
  absl::StatusOr<RedisEndpoint> ep =
      ParseRedisUrl(absl::StrCat(server_->url(), "/3"));
  ASSERT_TRUE(ep.ok());
  PoolOptions options;
  options.endpoint = *ep;
  std::unique_ptr<Pool> pool = Pool::Create(options);
  ASSERT_TRUE(pool->Command({"SET", "in3", "v"}).ok());
  EXPECT_TRUE(server_->Cli({"GET", "in3"})->is_nil());  // Cli uses db 0.
  EXPECT_EQ(*server_->Cli({"EXISTS", "in3"}), Reply::Integer(0));
  EXPECT_THAT(server_->Cli({"INFO", "keyspace"})->str(),
              HasSubstr("db3:keys=1"));
}

TEST_F(PoolTest, RejectedSelectIsUnavailableNamingTheDatabase) {
  RedisServerOptions server_options;
  server_options.extra_args = {"--databases", "2"};
  StartServer(server_options);
  PoolOptions options = Options();
  options.endpoint.db = 5;
  std::unique_ptr<Pool> pool = Pool::Create(options);
  const absl::Status s = pool->Ping();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("SELECT 5 rejected"));
}

TEST_F(PoolTest, ConnectsToABracketedIpv6Host) {
  RedisServerOptions server_options;
  server_options.extra_args = {"--bind", "127.0.0.1", "::1"};
  StartServer(server_options);
  absl::StatusOr<RedisEndpoint> ep =
      ParseRedisUrl(absl::StrCat("redis://[::1]:", server_->port()));
  ASSERT_TRUE(ep.ok()) << ep.status();
  PoolOptions options;
  options.endpoint = *ep;
  std::unique_ptr<Pool> pool = Pool::Create(options);
  const absl::Status ping = pool->Ping();
  if (absl::IsUnavailable(ping) &&
      absl::StrContains(ping.message(), "connect failed")) {
    GTEST_SKIP() << "no IPv6 loopback here: " << ping;
  }
  ASSERT_TRUE(ping.ok()) << ping;
  EXPECT_THAT(server_->Cli({"CLIENT", "LIST"})->str(), HasSubstr("addr=[::1]"));
}

TEST_F(PoolTest, ScanWithKeyPatternFindsOnlyThatPrefix) {
  std::unique_ptr<Pool> pool = MakePool();
  const std::string a = *Key("acme", {"contact", "c*"});
  const std::string b = *Key("acme", {"contact", "c*", "x"});
  const std::string c = *Key("acme", {"contact", "cz"});
  const std::string d = *Key("other", {"contact", "c*"});
  for (const std::string& k : {a, b, c, d}) {
    ASSERT_TRUE(pool->Command({"SET", k, "1"}).ok());
  }
  const std::string pattern = *KeyPattern("acme", {"contact", "c*"});
  const absl::StatusOr<Reply> scan =
      pool->Command({"SCAN", "0", "MATCH", pattern, "COUNT", "1000"});
  ASSERT_TRUE(scan.ok() && scan->is_array()) << scan.status();
  std::vector<std::string> found;
  for (const Reply& r : scan->elements()[1].elements()) {
    found.push_back(r.str());
  }
  EXPECT_THAT(found, UnorderedElementsAre(b));
}

TEST_F(PoolTest, ManyThreadsShareThePoolSafely) {
  PoolOptions options = Options();
  options.size = 4;
  options.command_timeout = absl::Seconds(5);  // Slow under sanitizers.
  RecordingObserver observer;
  options.observer = &observer;
  std::unique_ptr<Pool> pool = Pool::Create(options);

  constexpr int kThreads = 8;
  constexpr int kIterations = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string mine = absl::StrCat("t", t);
      for (int i = 0; i < kIterations; ++i) {
        absl::StatusOr<Reply> r = pool->Command({"INCR", "shared"});
        if (!r.ok() || !r->is_integer()) ++failures;
        absl::StatusOr<std::vector<Reply>> p =
            pool->Pipeline({{"RPUSH", mine, absl::StrCat(i)}, {"LLEN", mine}});
        if (!p.ok() || (*p)[1] != Reply::Integer(i + 1)) ++failures;
        if (i % 50 == 0) (void)pool->GetStats();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*pool->Command({"GET", "shared"}),
            Reply::String(absl::StrCat(kThreads * kIterations)));
  const Pool::Stats stats = pool->GetStats();
  EXPECT_LE(stats.idle, 4);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(observer.Take().size(), 1u + 3u * kThreads * kIterations);
}

TEST_F(PoolTest, ManyThreadsSurviveAServerCrash) {
  PoolOptions options = Options();
  options.size = 3;
  options.backoff_initial = absl::Milliseconds(10);
  options.backoff_max = absl::Milliseconds(50);
  std::unique_ptr<Pool> pool = Pool::Create(options);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  constexpr int kThreads = 6;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        absl::StatusOr<Reply> r = pool->Command({"INCR", "n"});
        if (r.ok()) {
          ++ok;
        } else {
          // Down (or, while every connection is being redialed, busy).
          EXPECT_TRUE(absl::IsUnavailable(r.status()) ||
                      absl::IsResourceExhausted(r.status()))
              << r.status();
          absl::SleepFor(absl::Milliseconds(1));
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(100));
  ASSERT_TRUE(server_->Kill().ok());
  absl::SleepFor(absl::Milliseconds(100));
  ASSERT_TRUE(server_->Restart().ok());
  const int before = ok.load();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (ok.load() < before + 100 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_GE(ok.load(), before + 100) << "the pool did not recover";
}

}  // namespace
}  // namespace rapport::redis
