// Tests of the redis-server fixture every integration test relies on.

#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::testing {
namespace {

using ::rapport::redis::Reply;
using ::testing::HasSubstr;

std::unique_ptr<RedisServer> MustStart(const RedisServerOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// Gone means reaped: a zombie still answers kill(pid, 0).
bool ProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  // "pid (comm) S ..." : a zombie not yet reaped by init counts as gone too
  // (it no longer runs or holds the port).
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() &&
         line[close + 2] == 'Z';
}

bool WaitGone(pid_t pid, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (!ProcessGone(pid)) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

bool PortAcceptsConnections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok =
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

TEST(RedisServerTest, StartsOnAFreeLoopbackPortAndAnswersPing) {
  std::unique_ptr<RedisServer> server = MustStart();
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->url(), absl::StrCat("redis://127.0.0.1:", server->port()));
  EXPECT_TRUE(server->running());
  EXPECT_GT(server->pid(), 0);
  EXPECT_TRUE(std::filesystem::is_directory(server->dir()));
  EXPECT_TRUE(std::filesystem::exists(server->log_path()));
  EXPECT_EQ(*server->Cli({"PING"}), Reply::String("PONG"));
  // Persistence is off unless asked for.
  EXPECT_EQ(*server->Cli({"CONFIG", "GET", "appendonly"}),
            Reply::Array({Reply::String("appendonly"), Reply::String("no")}));
  EXPECT_EQ(*server->Cli({"CONFIG", "GET", "save"}),
            Reply::Array({Reply::String("save"), Reply::String("")}));
}

TEST(RedisServerTest, TwoServersGetDistinctPortsAndDirectories) {
  std::unique_ptr<RedisServer> a = MustStart();
  std::unique_ptr<RedisServer> b = MustStart();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(a->dir(), b->dir());
  ASSERT_TRUE(a->Cli({"SET", "k", "a"}).ok());
  EXPECT_TRUE(b->Cli({"GET", "k"})->is_nil());
}

TEST(RedisServerTest, CliIsBinarySafeAndReturnsErrorReplies) {
  std::unique_ptr<RedisServer> server = MustStart();
  const std::string value("a\0b", 3);
  ASSERT_TRUE(server->Cli(std::vector<std::string>{"SET", "k", value}).ok());
  EXPECT_EQ(server->Cli({"GET", "k"})->str(), value);
  EXPECT_EQ(server->Cli({"LPUSH", "k", "x"})->error_code(), "WRONGTYPE");
}

TEST(RedisServerTest, StopAndKillReapTheProcess) {
  std::unique_ptr<RedisServer> server = MustStart();
  pid_t pid = server->pid();
  ASSERT_TRUE(server->Stop().ok());
  EXPECT_FALSE(server->running());
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_FALSE(PortAcceptsConnections(server->port()));
  EXPECT_EQ(server->Cli({"PING"}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_TRUE(server->Stop().ok());  // Idempotent.

  ASSERT_TRUE(server->Restart().ok());
  pid = server->pid();
  ASSERT_TRUE(server->Kill().ok());
  EXPECT_TRUE(ProcessGone(pid));
}

TEST(RedisServerTest, RestartKeepsPortAndDirectory) {
  std::unique_ptr<RedisServer> server = MustStart();
  const int port = server->port();
  const std::string dir = server->dir();
  const pid_t old_pid = server->pid();
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_EQ(server->port(), port);
  EXPECT_EQ(server->dir(), dir);
  EXPECT_NE(server->pid(), old_pid);
  EXPECT_EQ(*server->Cli({"PING"}), Reply::String("PONG"));
}

TEST(RedisServerTest, WithoutAppendOnlyDataIsLostOnRestart) {
  std::unique_ptr<RedisServer> server = MustStart();
  ASSERT_TRUE(server->Cli({"SET", "k", "v"}).ok());
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_TRUE(server->Cli({"GET", "k"})->is_nil());
}

TEST(RedisServerTest, AppendOnlyDataSurvivesACrashAndRestart) {
  RedisServerOptions options;
  options.appendonly = true;
  std::unique_ptr<RedisServer> server = MustStart(options);
  ASSERT_TRUE(server->Cli({"SET", "k", "v"}).ok());
  ASSERT_TRUE(server->Kill().ok());
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_EQ(*server->Cli({"GET", "k"}), Reply::String("v"));
}

TEST(RedisServerTest, PasswordIsRequiredAndPutInTheUrl) {
  RedisServerOptions options;
  options.password = "p@ss word";
  std::unique_ptr<RedisServer> server = MustStart(options);
  EXPECT_EQ(server->url(),
            absl::StrCat("redis://:p%40ss%20word@127.0.0.1:", server->port()));
  EXPECT_EQ(*server->Cli({"PING"}), Reply::String("PONG"));  // Cli AUTHs.
  EXPECT_EQ(
      *server->Cli({"CONFIG", "GET", "requirepass"}),
      Reply::Array({Reply::String("requirepass"), Reply::String("p@ss word")}));
}

TEST(RedisServerTest, DestructorStopsTheServerAndRemovesItsDirectory) {
  std::unique_ptr<RedisServer> server = MustStart();
  const pid_t pid = server->pid();
  const int port = server->port();
  const std::string dir = server->dir();
  server.reset();
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_FALSE(PortAcceptsConnections(port));
}

TEST(RedisServerTest, MissingBinaryFailsWithAClearMessage) {
  RedisServerOptions options;
  options.binary = "/nonexistent/redis-server";
  const absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(),
              HasSubstr("cannot execute /nonexistent/redis-server"));
}

TEST(RedisServerTest, StartupFailureNamesTheLogAndKeepsIt) {
  RedisServerOptions options;
  options.extra_args = {"--no-such-directive", "1"};
  const absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(options);
  ASSERT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(server.status().message());
  EXPECT_THAT(message, HasSubstr("redis-server exited during start-up"));
  EXPECT_THAT(message, HasSubstr("no-such-directive"));  // The log's tail.
  const size_t at = message.find("log: ");
  ASSERT_NE(at, std::string::npos);
  const std::string log =
      message.substr(at + 5, message.find('\n', at) - (at + 5));
  EXPECT_TRUE(std::filesystem::exists(log)) << log;
  std::filesystem::remove_all(std::filesystem::path(log).parent_path());
}

TEST(RedisServerTest, ServerDiesWithTheProcessThatStartedIt) {
  // A child process starts a server and is then SIGKILLed (as a crashing or
  // timed-out test would be): PDEATHSIG must take the server down with it.
  // As a subreaper this test inherits the orphaned server and reaps it
  // (PID 1 in a container may not).
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
    std::string report = server.ok() ? absl::StrCat((*server)->pid(), " ",
                                                    (*server)->dir(), "\n")
                                     : std::string("error\n");
    (void)!::write(fds[1], report.data(), report.size());
    while (true) ::pause();
  }
  ::close(fds[1]);
  std::string report;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) {
    report.append(buf, static_cast<size_t>(n));
    if (report.back() == '\n') break;
  }
  ::close(fds[0]);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);

  const std::vector<std::string> fields =
      absl::StrSplit(absl::StripSuffix(report, "\n"), ' ');
  ASSERT_EQ(fields.size(), 2u) << report;
  pid_t server_pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(fields[0], &server_pid));
  const bool gone = WaitGone(server_pid, absl::Seconds(5));
  EXPECT_TRUE(gone) << "redis-server outlived the process that started it";
  if (!gone) ::kill(server_pid, SIGKILL);
  ::waitpid(server_pid, nullptr, 0);  // Adopted by us: reap it.
  std::filesystem::remove_all(fields[1]);
}

TEST(RedisServerTest, PickFreeLoopbackPortReturnsABindablePort) {
  const absl::StatusOr<int> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_GT(*port, 0);
  EXPECT_LT(*port, 65536);
  EXPECT_FALSE(PortAcceptsConnections(*port));
}

}  // namespace
}  // namespace rapport::testing
