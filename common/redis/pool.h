#pragma once

// A thread-safe pool of blocking Redis connections (hiredis underneath, never
// visible here).
//
// Contract, in short:
// - Create() never touches the network: start-up does not depend on Redis.
//   Connections are dialed on demand (AUTH [user] password, then SELECT db,
//   in one round trip) and kept for reuse.
// - Every call has a deadline. Waiting for a free connection is bounded by
//   checkout_timeout; sending the command(s) and reading every reply is
//   bounded by command_timeout, for the call as a whole (not per read). A call
//   that needs a new connection also spends up to connect_timeout dialing.
// - A connection that failed in any way (I/O error, EOF, timeout, protocol
//   error) may be mid-reply, so it is closed, never reused. An idle
//   connection the server has closed (e.g. it restarted) is noticed at
//   checkout and replaced without failing the call.
// - When dialing fails, further dials wait for an exponential backoff with
//   jitter (backoff_initial, doubling up to backoff_max); until then calls
//   that need a new connection fail fast with UNAVAILABLE instead of
//   hammering a server that is down, and only one caller at a time probes.
//
// Status mapping (messages name the endpoint as host:port/db, never the
// password, keys or values):
//   - connection refused, connect or reply timeout, I/O error, EOF, AUTH or
//     SELECT rejected, dial backoff: UNAVAILABLE,
//     "redis H:P/D unavailable: <reason>";
//   - no free connection within checkout_timeout: RESOURCE_EXHAUSTED,
//     "redis H:P/D pool exhausted: ...";
//   - malformed reply (protocol error): INTERNAL;
//   - empty command, or a command that would leave the connection in a state
//     the next user does not expect (see below): INVALID_ARGUMENT;
//   - Redis error replies (WRONGTYPE, NOSCRIPT, EXECABORT, ...) are NOT a
//     failed status: the call succeeds and the Reply is of kind kError, so the
//     caller decides (Reply::AsStatus() maps them when the caller just wants
//     a status).
//
// Connections are shared between callers, so commands that change a
// connection's state for later users are refused: SELECT, AUTH, HELLO, QUIT,
// RESET, SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE, MONITOR; and a call must close
// every MULTI it opens (EXEC or DISCARD) and every WATCH (EXEC, DISCARD or
// UNWATCH) within itself. Blocking commands (BLPOP, XREAD BLOCK, ...) must
// block for less than command_timeout or they fail as timeouts.
//
// Calls block the calling thread for one round trip; see DESIGN.md
// "Performance notes" before calling from a gRPC callback thread on a hot
// path: AsyncClient (async_client.h) batches from dedicated connection
// threads instead.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/connection.h"
#include "common/redis/redis_url.h"
#include "common/redis/reply.h"

namespace rapport::redis {

// Receives one event per command, for metrics. Implementations must be
// thread-safe and cheap: OnCommand runs on the calling thread, outside the
// pool's lock, after the reply (or failure) and before the call returns.
class CommandObserver {
 public:
  virtual ~CommandObserver() = default;

  // `command` is the upper-cased command name ("GET", "EVALSHA") when it is
  // 1 to 32 letters, digits, '_' or '-', else "OTHER": never keys or
  // arguments, so it is safe as a bounded metric label.
  // `latency` runs from the start of the call (including waiting for and
  // dialing a connection) to the moment this command's reply was read, or to
  // the failure. `error` is true when the command got an error reply or no
  // reply at all (pool exhausted, Redis unavailable, timeout...).
  //
  // Pipelines report once per command in the batch, in order, each with its
  // own name; a MULTI/EXEC pipeline reports MULTI, each queued command and
  // EXEC. Calls rejected as INVALID_ARGUMENT before any I/O report nothing.
  virtual void OnCommand(absl::string_view command, absl::Duration latency,
                         bool error) = 0;
};

struct PoolOptions {
  RedisEndpoint endpoint;
  // Maximum number of connections (idle + in use). Values < 1 mean 1.
  int size = 8;
  // Bound on sending a call's command(s) and reading all its replies.
  absl::Duration command_timeout = absl::Milliseconds(250);
  // Bound on the TCP connect when dialing (name resolution is not bounded:
  // use an IP or a name the local resolver answers quickly).
  absl::Duration connect_timeout = absl::Milliseconds(250);
  // Bound on waiting for a free connection when all `size` are in use.
  // Zero means "same as command_timeout".
  absl::Duration checkout_timeout = absl::ZeroDuration();
  // Dial backoff after consecutive failures: the n-th failure blocks dialing
  // for a random delay in [d/2, d], d = min(backoff_initial * 2^(n-1),
  // backoff_max). A successful dial resets it.
  absl::Duration backoff_initial = absl::Milliseconds(50);
  absl::Duration backoff_max = absl::Seconds(2);
  // Not owned; must outlive the pool. Null: no callbacks.
  CommandObserver* observer = nullptr;
};

class Pool {
 public:
  // Never blocks and never fails: nothing is dialed until the first call.
  static std::unique_ptr<Pool> Create(PoolOptions options);

  // Closes every idle connection. No call may be in flight.
  ~Pool();

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // One command, e.g. Command({"SET", key, value}). Arguments are sent
  // binary-safe (lengths, not NUL-terminated). See the status mapping above.
  absl::StatusOr<Reply> Command(std::initializer_list<absl::string_view> args);
  absl::StatusOr<Reply> Command(const std::vector<std::string>& args);

  // Sends every command, then reads every reply: one round trip on one
  // connection. On success there is one Reply per command, in order; a Redis
  // error for one command is a kError Reply in its slot (inside MULTI/EXEC,
  // the EXEC reply's array holds per-command results and errors). A
  // connection failure or timeout fails the whole call, and the caller cannot
  // tell which commands ran. An empty batch succeeds without I/O.
  absl::StatusOr<std::vector<Reply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  // PING: OK when Redis answers PONG, UNAVAILABLE (with the reason, e.g. a
  // NOAUTH or LOADING reply) otherwise. For health checks.
  absl::Status Ping();

  // Introspection, for tests and metrics.
  struct Stats {
    int idle = 0;    // Connected and waiting in the pool.
    int in_use = 0;  // Checked out or being dialed.
    int consecutive_dial_failures = 0;
  };
  Stats GetStats() const;

  const PoolOptions& options() const { return options_; }

 private:
  using Connection = internal::Connection;

  explicit Pool(PoolOptions options);

  absl::StatusOr<std::vector<Reply>> Run(internal::RequestEncoder& batch);
  // A connected, healthy connection, or why there is none.
  absl::StatusOr<std::unique_ptr<Connection>> Checkout(absl::Time deadline);
  void Return(std::unique_ptr<Connection> conn, bool healthy);

  const PoolOptions options_;
  const std::string redacted_;  // endpoint.Redacted(), cached for messages

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  internal::DialBackoff backoff_ ABSL_GUARDED_BY(mu_);
  bool probing_ ABSL_GUARDED_BY(mu_) = false;  // One dial at a time in backoff.
};

}  // namespace rapport::redis
