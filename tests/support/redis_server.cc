#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace rapport::testing {
namespace {

constexpr absl::Duration kStopGrace = absl::Seconds(10);
constexpr absl::Duration kCliTimeout = absl::Seconds(10);
constexpr size_t kLogTailBytes = 2000;
constexpr int kStartAttempts = 3;

std::string ErrnoText(int err) {
  char buf[128];
  return strerror_r(err, buf, sizeof(buf));
}

absl::Status ErrnoError(absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", ErrnoText(err)));
}

struct FdCloser {
  int fd = -1;
  FdCloser() = default;
  explicit FdCloser(int f) : fd(f) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(void* r) const { freeReplyObject(r); }
};

absl::StatusOr<std::string> FindBinary(const RedisServerOptions& options) {
  if (!options.binary.empty()) return options.binary;
  if (const char* env = std::getenv("RAPPORT_REDIS_SERVER");
      env != nullptr && *env != '\0') {
    return std::string(env);
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      std::string candidate = absl::StrCat(dir, "/redis-server");
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  if (::access("/usr/bin/redis-server", X_OK) == 0) {
    return std::string("/usr/bin/redis-server");
  }
  return absl::FailedPreconditionError(
      "redis-server not found on PATH or in /usr/bin: install the "
      "redis-server package or set RAPPORT_REDIS_SERVER to the binary");
}

absl::StatusOr<std::string> MakeTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(
      tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/rapport-redis-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return ErrnoError(absl::StrCat("mkdtemp ", pattern), errno);
  }
  return pattern;
}

std::string PercentEncode(absl::string_view in) {
  std::string out;
  for (const char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(ch);
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// Runs one command on a fresh connection to 127.0.0.1:port.
absl::StatusOr<redis::Reply> RunCommand(
    int port, const std::string& password,
    const std::vector<absl::string_view>& args, absl::Duration timeout) {
  std::unique_ptr<redisContext, ContextFree> ctx(
      redisConnectWithTimeout("127.0.0.1", port, absl::ToTimeval(timeout)));
  if (ctx == nullptr) return absl::InternalError("redisConnect: out of memory");
  if (ctx->err != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to redis-server on port ", port, ": ", ctx->errstr));
  }
  redisSetTimeout(ctx.get(), absl::ToTimeval(timeout));
  auto run = [&ctx, port](const std::vector<absl::string_view>& argv)
      -> absl::StatusOr<redis::Reply> {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (absl::string_view a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    std::unique_ptr<void, ReplyFree> reply(redisCommandArgv(
        ctx.get(), static_cast<int>(argv.size()), ptrs.data(), lens.data()));
    if (reply == nullptr) {
      return absl::UnavailableError(absl::StrCat(
          "redis-server on port ", port, " did not answer: ", ctx->errstr));
    }
    return redis::internal::FromHiredis(
        *static_cast<const redisReply*>(reply.get()));
  };
  if (!password.empty()) {
    absl::StatusOr<redis::Reply> auth = run({"AUTH", password});
    if (!auth.ok()) return auth.status();
    if (auth->is_error()) {
      return absl::PermissionDeniedError(
          absl::StrCat("AUTH failed: ", auth->str()));
    }
  }
  return run(args);
}

}  // namespace

absl::StatusOr<int> PickFreeLoopbackPort() {
  FdCloser sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (sock.fd < 0) return ErrnoError("socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoError("bind 127.0.0.1:0", errno);
  }
  socklen_t len = sizeof(addr);
  if (::getsockname(sock.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoError("getsockname", errno);
  }
  return static_cast<int>(ntohs(addr.sin_port));
}

RedisServer::RedisServer(RedisServerOptions options, std::string binary,
                         std::string dir, int port)
    : options_(std::move(options)),
      binary_(std::move(binary)),
      dir_(std::move(dir)),
      port_(port) {}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    const RedisServerOptions& options) {
  // hiredis writes with write(2): a server dying mid-command must fail the
  // test's call with EPIPE, not kill the test binary with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::string> binary = FindBinary(options);
  if (!binary.ok()) return binary.status();
  absl::Status last;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    absl::StatusOr<int> port = PickFreeLoopbackPort();
    if (!port.ok()) return port.status();
    absl::StatusOr<std::string> dir = MakeTempDir();
    if (!dir.ok()) return dir.status();
    std::unique_ptr<RedisServer> server(
        new RedisServer(options, *binary, *std::move(dir), *port));
    last = server->Spawn();
    if (!last.ok()) return last;  // Could not even exec: no log to keep.
    last = server->WaitUntilReady();
    if (last.ok()) return server;
    // Someone else took the port between PickFreeLoopbackPort and the bind:
    // try another one. Any other failure is reported, keeping the directory
    // so that the log the message names can be read.
    if (!absl::StrContains(server->LogTail(), "Address already in use")) {
      server->keep_dir_ = true;
      return last;
    }
  }
  return last;
}

RedisServer::~RedisServer() {
  (void)Stop();
  if (!keep_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string RedisServer::url() const {
  if (options_.password.empty()) {
    return absl::StrCat("redis://127.0.0.1:", port_);
  }
  return absl::StrCat("redis://:", PercentEncode(options_.password),
                      "@127.0.0.1:", port_);
}

redis::RedisEndpoint RedisServer::endpoint() const {
  redis::RedisEndpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port_;
  ep.password = options_.password;
  return ep;
}

std::string RedisServer::log_path() const {
  return absl::StrCat(dir_, "/redis-server.log");
}

std::string RedisServer::LogTail() const {
  std::ifstream in(log_path(), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string log = ss.str();
  if (log.size() > kLogTailBytes) log = log.substr(log.size() - kLogTailBytes);
  return log;
}

absl::Status RedisServer::Spawn() {
  std::vector<std::string> args = {binary_,
                                   "--port",
                                   absl::StrCat(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   dir_,
                                   "--save",
                                   "",
                                   "--appendonly",
                                   options_.appendonly ? "yes" : "no",
                                   "--daemonize",
                                   "no",
                                   "--logfile",
                                   "",
                                   "--enable-debug-command",
                                   "local"};
  if (options_.appendonly) {
    args.insert(args.end(), {"--appendfsync", "always"});
  }
  if (!options_.password.empty()) {
    args.insert(args.end(), {"--requirepass", options_.password});
  }
  args.insert(args.end(), options_.extra_args.begin(),
              options_.extra_args.end());
  // Everything the child needs is prepared before fork(): after it only
  // async-signal-safe calls are allowed (the test may have other threads).
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  FdCloser log_fd(::open(log_path().c_str(),
                         O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (log_fd.fd < 0) {
    return ErrnoError(absl::StrCat("open ", log_path()), errno);
  }
  FdCloser null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_fd.fd < 0) return ErrnoError("open /dev/null", errno);
  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe2", errno);
  FdCloser exec_read(exec_pipe[0]);
  FdCloser exec_write(exec_pipe[1]);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork", errno);
  if (pid == 0) {
    // Die with the test, whatever happens to it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(null_fd.fd, STDIN_FILENO);
    ::dup2(log_fd.fd, STDOUT_FILENO);
    ::dup2(log_fd.fd, STDERR_FILENO);
    // Don't leak the test's sockets and files into the server.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execv(argv[0], argv.data());
    const int err = errno;
    (void)!::write(exec_write.fd, &err, sizeof(err));
    ::_exit(127);
  }
  pid_ = pid;
  ::close(exec_write.fd);
  exec_write.fd = -1;
  // EOF: exec succeeded (the pipe is close-on-exec); an int: exec's errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_read.fd, &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == sizeof(child_errno)) {
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return absl::FailedPreconditionError(
        absl::StrCat("cannot execute ", binary_, ": ", ErrnoText(child_errno)));
  }
  return absl::OkStatus();
}

absl::Status RedisServer::WaitUntilReady() {
  const absl::Time deadline = absl::Now() + options_.startup_timeout;
  std::string last = "no answer yet";
  while (absl::Now() < deadline) {
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError(absl::StrCat(
          "redis-server exited during start-up (",
          WIFEXITED(wstatus) ? absl::StrCat("exit code ", WEXITSTATUS(wstatus))
                             : absl::StrCat("signal ", WTERMSIG(wstatus)),
          "); log: ", log_path(), "\n", LogTail()));
    }
    absl::StatusOr<redis::Reply> pong =
        RunCommand(port_, options_.password, {"PING"}, absl::Seconds(1));
    if (pong.ok() && pong->is_string() && pong->str() == "PONG") {
      // The port may have been taken by another server between picking and
      // binding it: make sure the one answering is ours.
      absl::StatusOr<redis::Reply> info = RunCommand(
          port_, options_.password, {"INFO", "server"}, absl::Seconds(1));
      if (info.ok() &&
          absl::StrContains(info->str(),
                            absl::StrCat("process_id:", pid_, "\r\n"))) {
        return absl::OkStatus();
      }
      last = "PONG from a process that is not ours";
    } else {
      last = pong.ok() ? pong->DebugString() : pong.status().ToString();
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "redis-server on port ", port_, " did not answer PING within ",
      absl::FormatDuration(options_.startup_timeout), " (last: ", last,
      "); log: ", log_path(), "\n", LogTail()));
}

absl::Status RedisServer::Signal(int signo, absl::Duration grace) {
  if (pid_ <= 0) return absl::OkStatus();
  ::kill(pid_, signo);
  const absl::Time deadline = absl::Now() + grace;
  while (true) {
    const pid_t r = ::waitpid(pid_, nullptr, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      return absl::OkStatus();
    }
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::DeadlineExceededError(absl::StrCat(
      "redis-server did not exit within ", absl::FormatDuration(grace),
      " of signal ", signo, "; killed it. Log: ", log_path()));
}

absl::Status RedisServer::Stop() { return Signal(SIGTERM, kStopGrace); }

absl::Status RedisServer::Kill() { return Signal(SIGKILL, kStopGrace); }

absl::Status RedisServer::Restart() {
  if (absl::Status s = Stop(); !s.ok()) return s;
  if (absl::Status s = Spawn(); !s.ok()) return s;
  return WaitUntilReady();
}

absl::StatusOr<redis::Reply> RedisServer::Cli(
    std::initializer_list<absl::string_view> args) const {
  return RunCommand(port_, options_.password,
                    std::vector<absl::string_view>(args), kCliTimeout);
}

absl::StatusOr<redis::Reply> RedisServer::Cli(
    const std::vector<std::string>& args) const {
  return RunCommand(port_, options_.password,
                    std::vector<absl::string_view>(args.begin(), args.end()),
                    kCliTimeout);
}

}  // namespace rapport::testing
