#pragma once

// A real redis-server for integration tests: one private process per
// fixture, on a free loopback port, with its own temporary directory.
//
//   absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status();
//   ... connect to (*server)->url() ...
//
// Robustness: the child gets PR_SET_PDEATHSIG(SIGKILL), so it dies with the
// test even if the test crashes or is killed; Stop()/Kill() reap it (no
// zombies); the destructor stops it and removes its directory. Caveat of
// PDEATHSIG: it fires when the *thread* that started the server exits, so
// start servers from the test's main thread (or one that outlives them).
// A failed start keeps the directory and names the log in the error.

#include <sys/types.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis/redis_url.h"
#include "common/redis/reply.h"

namespace rapport::testing {

struct RedisServerOptions {
  // Turn on the append-only file (appendfsync always), so that data survives
  // Stop()/Kill() + Restart().
  bool appendonly = false;
  // requirepass: clients must AUTH. url() then carries the password.
  std::string password;
  // Extra "--name value" arguments for redis-server.
  std::vector<std::string> extra_args;
  // redis-server binary; empty: $RAPPORT_REDIS_SERVER, then redis-server on
  // PATH, then /usr/bin/redis-server.
  std::string binary;
  // How long Start()/Restart() wait for PING to answer.
  absl::Duration startup_timeout = absl::Seconds(10);
};

class RedisServer {
 public:
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      const RedisServerOptions& options = {});

  // Stops the server (SIGTERM, then SIGKILL after 10 s) and removes the
  // directory.
  ~RedisServer();

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  // "redis://127.0.0.1:P", or "redis://:PASSWORD@127.0.0.1:P" (password
  // percent-encoded) when a password is set.
  std::string url() const;
  // The same as a client's endpoint (PoolOptions::endpoint and its kin).
  redis::RedisEndpoint endpoint() const;
  // The server's directory (data files) and its log (stdout + stderr).
  const std::string& dir() const { return dir_; }
  std::string log_path() const;
  bool running() const { return pid_ > 0; }
  // The server's process id while running, else -1.
  pid_t pid() const { return pid_; }

  // SIGTERM and wait for exit (a clean shutdown: the AOF is flushed).
  absl::Status Stop();
  // SIGKILL and wait: a crash. Clients see their connections reset.
  absl::Status Kill();
  // Starts again on the same port with the same directory (stopping it
  // first if it is running), and waits until PING answers.
  absl::Status Restart();

  // Runs one command over a fresh connection (AUTH first when a password is
  // set), for setting up and checking state independently of the code under
  // test. Redis error replies come back as kError replies.
  absl::StatusOr<redis::Reply> Cli(
      std::initializer_list<absl::string_view> args) const;
  absl::StatusOr<redis::Reply> Cli(const std::vector<std::string>& args) const;

 private:
  RedisServer(RedisServerOptions options, std::string binary, std::string dir,
              int port);

  absl::Status Spawn();
  absl::Status WaitUntilReady();
  absl::Status Signal(int signo, absl::Duration grace);
  std::string LogTail() const;

  const RedisServerOptions options_;
  const std::string binary_;
  const std::string dir_;
  const int port_;
  pid_t pid_ = -1;
  bool keep_dir_ = false;  // A failed start keeps its log for the reader.
};

// A free TCP port on 127.0.0.1 (bound, read and closed; a later bind by
// someone else can still race it, which Start() retries).
absl::StatusOr<int> PickFreeLoopbackPort();

}  // namespace rapport::testing
