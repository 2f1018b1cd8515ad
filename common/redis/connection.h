#pragma once

// Internals shared by Pool and AsyncClient, not part of the public API: the
// RESP encoder with the connection-state checks, one hiredis connection
// driven with non-blocking I/O under one deadline per call, dialing (connect,
// AUTH, SELECT), the dial backoff, and the status mapping both clients
// document. Keeping one copy keeps their contracts identical.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis/redis_url.h"
#include "common/redis/reply.h"

struct redisContext;

namespace rapport::redis::internal {

// The bounded metric label for a command: its upper-cased name when it is 1
// to 32 letters, digits, '_' or '-', else "OTHER".
std::string CommandName(absl::string_view arg0);

// RESP-encodes the commands of one call (binary-safe: lengths, not NULs) and
// refuses what would leave a shared connection in a state its next user does
// not expect: SELECT, AUTH, HELLO, QUIT, RESET, (P|S)SUBSCRIBE, MONITOR, an
// empty command, and (checked by Finish) a MULTI or WATCH left open.
class RequestEncoder {
 public:
  // `record_names`: also collect CommandName() of every command, for the
  // observer.
  explicit RequestEncoder(bool record_names) : record_names_(record_names) {}

  // INVALID_ARGUMENT (nothing appended) for a refused command.
  template <typename Args>
  absl::Status Add(const Args& args) {
    if (std::empty(args)) {
      return absl::InvalidArgumentError("redis: empty command");
    }
    const absl::string_view name = *std::begin(args);
    if (absl::Status s = Admit(name); !s.ok()) return s;
    absl::StrAppend(&request_, "*", std::size(args), "\r\n");
    for (absl::string_view arg : args) {
      absl::StrAppend(&request_, "$", arg.size(), "\r\n");
      request_.append(arg.data(), arg.size());
      request_.append("\r\n");
    }
    ++count_;
    if (record_names_) names_.push_back(CommandName(name));
    return absl::OkStatus();
  }

  // INVALID_ARGUMENT when the call would leave a MULTI or WATCH open.
  absl::Status Finish() const;

  const std::string& request() const { return request_; }
  std::string TakeRequest() { return std::move(request_); }
  size_t count() const { return count_; }
  bool record_names() const { return record_names_; }
  const std::vector<std::string>& names() const { return names_; }
  std::vector<std::string> TakeNames() { return std::move(names_); }

 private:
  // The connection-state checks for one command named `name`.
  absl::Status Admit(absl::string_view name);

  const bool record_names_;
  std::string request_;
  size_t count_ = 0;
  std::vector<std::string> names_;
  // Transaction state the call would leave the connection in.
  bool in_multi_ = false;
  bool watching_ = false;
};

// One hiredis connection. hiredis dials it and parses replies; the I/O itself
// is done here with non-blocking send/recv and ppoll so that one deadline
// bounds the whole call and a dead peer raises EPIPE rather than SIGPIPE.
// Not thread-safe: one user at a time.
class Connection {
 public:
  // Takes ownership of a connected context.
  explicit Connection(redisContext* ctx) : ctx_(ctx) {}
  ~Connection();

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // An idle connection has nothing to read; if it is readable the server
  // closed it (restart, timeout, CLIENT KILL) or the stream is out of step.
  bool LooksBroken() const;

  // Sends `request` and reads `count` replies within `timeout`, appending
  // them to `replies` (and, if not null, the time each was parsed to
  // `reply_times`) as they arrive, so that after a failure the replies that
  // did arrive are there. Failures are UNAVAILABLE (I/O, EOF, timeout) or
  // INTERNAL (protocol) with a bare reason (see MapFailure); the connection
  // must then be discarded.
  absl::Status Execute(absl::string_view request, size_t count,
                       absl::Duration timeout, std::vector<Reply>* replies,
                       std::vector<absl::Time>* reply_times);

  // For a caller that runs its own event loop on fd() (the invalidation
  // listener; it sends with SendSome below). Does not block: reads
  // everything the socket holds and appends every complete reply to
  // `replies` (and its parse time to `reply_times` when not null). A partial
  // reply stays buffered for the next call. UNAVAILABLE on EOF or I/O error,
  // INTERNAL on a protocol error; the connection must then be discarded.
  int fd() const;
  absl::Status ReadAvailable(std::vector<Reply>* replies,
                             std::vector<absl::Time>* reply_times);

 private:
  // Appends the complete replies hiredis has parsed so far.
  absl::Status TakeParsed(std::vector<Reply>* replies,
                          std::vector<absl::Time>* reply_times, size_t limit);

  redisContext* const ctx_;
};

// Sends as much of `data` on the socket `fd` as it takes now, without
// blocking; `*sent` is how much. UNAVAILABLE when the connection is lost.
absl::Status SendSome(int fd, absl::string_view data, size_t* sent);

// RESP encoding of one command, for the commands RequestEncoder refuses on
// shared connections (AUTH, SELECT, SUBSCRIBE on a dedicated connection).
std::string EncodeCommand(std::initializer_list<absl::string_view> args);

// Connects (bounded by connect_timeout), then sends AUTH [user] password
// and SELECT db when the endpoint asks for them, in one round trip bounded by
// command_timeout. Failures are UNAVAILABLE with a bare reason ("connect
// failed: Connection refused", "AUTH rejected (...)") that never quotes the
// password.
absl::StatusOr<std::unique_ptr<Connection>> Dial(
    const RedisEndpoint& endpoint, absl::Duration connect_timeout,
    absl::Duration command_timeout);

// Exponential dial backoff with jitter: the n-th consecutive failure blocks
// dialing for a random delay in [d/2, d], d = min(initial * 2^(n-1), max).
// Not thread-safe.
class DialBackoff {
 public:
  DialBackoff(absl::Duration initial, absl::Duration max, uint64_t seed);

  int failures() const { return failures_; }
  // True when a dial may be attempted at `now`.
  bool Ready(absl::Time now) const { return failures_ == 0 || now >= next_; }
  void OnSuccess();
  // Records a failed dial at `now` and why (a bare reason from Dial).
  void OnFailure(absl::Time now, absl::string_view why);
  // When the next dial may be attempted (InfinitePast() without failures).
  absl::Time next_attempt() const {
    return failures_ == 0 ? absl::InfinitePast() : next_;
  }
  const std::string& last_error() const { return last_error_; }
  // "<last error> (consecutive failures: N; next attempt in X)".
  std::string FailFastReason(absl::Time now) const;

 private:
  const absl::Duration initial_;
  const absl::Duration max_;
  int failures_ = 0;
  absl::Duration delay_;
  absl::Time next_ = absl::InfinitePast();
  std::string last_error_;
  uint64_t rng_state_;
};

// A per-instance seed for DialBackoff's jitter, so that replicas (and
// connections) started together do not redial in step.
uint64_t JitterSeed(const void* instance);

// UNAVAILABLE "redis <redacted> unavailable: <why>".
absl::Status Unavailable(absl::string_view redacted, absl::string_view why);

// The status a caller sees for a Connection::Execute failure: UNAVAILABLE as
// above, other codes (INTERNAL for protocol errors) as
// "redis <redacted> <reason>".
absl::Status MapFailure(const absl::Status& failure,
                        absl::string_view redacted);

// The result of PING as a health check: OK for PONG, UNAVAILABLE with the
// reason (failed call, error reply such as NOAUTH or LOADING, other reply)
// otherwise.
absl::Status PingStatus(const absl::StatusOr<Reply>& reply,
                        absl::string_view redacted);

}  // namespace rapport::redis::internal
