#include "common/redis/pool.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rapport::redis {
namespace {

constexpr size_t kReadChunk = size_t{16} << 10;
constexpr size_t kMaxMetricName = 32;

std::string ErrnoText(int err) {
  char buf[128];
  // GNU strerror_r: returns a pointer to the message (maybe not `buf`).
  return strerror_r(err, buf, sizeof(buf));
}

// The bounded metric label for a command: its upper-cased name, or "OTHER"
// when the first argument does not look like a command name.
std::string CommandName(absl::string_view arg0) {
  if (arg0.empty() || arg0.size() > kMaxMetricName) return "OTHER";
  std::string name(arg0);
  for (char& c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-') return "OTHER";
    c = absl::ascii_toupper(c);
  }
  return name;
}

bool IsCommand(absl::string_view arg0, absl::string_view upper_name) {
  return arg0.size() == upper_name.size() &&
         absl::EqualsIgnoreCase(arg0, upper_name);
}

// Commands after which a connection no longer behaves like every other one
// in the pool (another db, user, protocol, a subscriber, closed, ...).
constexpr absl::string_view kConnectionStateCommands[] = {
    "SELECT",    "AUTH",       "HELLO",      "QUIT",   "RESET",
    "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR"};

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

// One call's commands, RESP-encoded, plus what the observer and the
// connection-state check need.
struct Pool::Batch {
  std::string request;
  size_t count = 0;
  std::vector<std::string> names;  // Filled only when observed.
  bool observed = false;
  // Transaction state the batch would leave the connection in.
  bool in_multi = false;
  bool watching = false;

  template <typename Args>
  absl::Status Add(const Args& args) {
    if (std::empty(args)) {
      return absl::InvalidArgumentError("redis: empty command");
    }
    const absl::string_view name = *std::begin(args);
    for (absl::string_view banned : kConnectionStateCommands) {
      if (IsCommand(name, banned)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "redis: ", banned,
            " changes the connection's state and cannot be sent through the "
            "shared pool"));
      }
    }
    if (IsCommand(name, "MULTI")) {
      in_multi = true;
    } else if (in_multi &&
               (IsCommand(name, "EXEC") || IsCommand(name, "DISCARD"))) {
      // Outside MULTI they fail and leave WATCH in place.
      in_multi = false;
      watching = false;
    } else if (!in_multi && IsCommand(name, "WATCH")) {
      watching = true;
    } else if (!in_multi && IsCommand(name, "UNWATCH")) {
      watching = false;
    }
    absl::StrAppend(&request, "*", std::size(args), "\r\n");
    for (absl::string_view arg : args) {
      absl::StrAppend(&request, "$", arg.size(), "\r\n");
      request.append(arg.data(), arg.size());
      request.append("\r\n");
    }
    ++count;
    if (observed) names.push_back(CommandName(name));
    return absl::OkStatus();
  }

  absl::Status Finish() const {
    if (in_multi) {
      return absl::InvalidArgumentError(
          "redis: MULTI must be closed by EXEC or DISCARD in the same call, or "
          "the pooled connection would stay inside the transaction");
    }
    if (watching) {
      return absl::InvalidArgumentError(
          "redis: WATCH must be followed by EXEC, DISCARD or UNWATCH in the "
          "same call, or the pooled connection would keep watching");
    }
    return absl::OkStatus();
  }
};

// One hiredis connection. hiredis dials it and parses replies; the I/O itself
// is done here with non-blocking send/recv and ppoll so that one deadline
// bounds the whole call and a dead peer raises EPIPE rather than SIGPIPE.
class Pool::Connection {
 public:
  explicit Connection(redisContext* ctx) : ctx_(ctx) {}
  ~Connection() { redisFree(ctx_); }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // An idle connection has nothing to read; if it is readable the server
  // closed it (restart, timeout, CLIENT KILL) or the stream is out of step.
  bool LooksBroken() const {
    pollfd p{ctx_->fd, POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }

  // Sends `request` and reads `count` replies within `timeout`. Failures are
  // UNAVAILABLE (I/O, EOF, timeout) or INTERNAL (protocol) with a bare
  // reason; the connection must then be discarded.
  absl::Status Execute(absl::string_view request, size_t count,
                       absl::Duration timeout, std::vector<Reply>* replies,
                       std::vector<absl::Time>* reply_times) {
    const absl::Time deadline = absl::Now() + timeout;
    const int fd = ctx_->fd;
    size_t sent = 0;
    bool try_read = false;
    char buf[kReadChunk];
    replies->reserve(count);
    while (true) {
      while (replies->size() < count) {
        void* raw = nullptr;
        if (redisReaderGetReply(ctx_->reader, &raw) != REDIS_OK) {
          return absl::InternalError(
              absl::StrCat("protocol error: ", ctx_->reader->errstr));
        }
        if (raw == nullptr) break;
        replies->push_back(
            internal::FromHiredis(*static_cast<redisReply*>(raw)));
        freeReplyObject(raw);
        if (reply_times != nullptr) reply_times->push_back(absl::Now());
      }
      if (replies->size() == count) return absl::OkStatus();

      if (sent < request.size()) {
        const ssize_t n =
            ::send(fd, request.data() + sent, request.size() - sent,
                   MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
          sent += static_cast<size_t>(n);
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                   errno != EINTR) {
          return absl::UnavailableError(absl::StrCat(
              "connection lost while sending: ", ErrnoText(errno)));
        }
      }
      if (try_read) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
          redisReaderFeed(ctx_->reader, buf, static_cast<size_t>(n));
          continue;
        }
        if (n == 0) {
          return absl::UnavailableError(
              "connection closed by the server before the reply");
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          return absl::UnavailableError(absl::StrCat(
              "connection lost while reading: ", ErrnoText(errno)));
        }
        try_read = false;
      }

      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::UnavailableError(absl::StrCat(
            sent < request.size() ? "could not send the command" : "no reply",
            " within ", absl::FormatDuration(timeout),
            " (connection dropped; if Redis is just slow, raise "
            "RAPPORT_REDIS_TIMEOUT_MS)"));
      }
      pollfd p{fd, POLLIN, 0};
      if (sent < request.size()) p.events |= POLLOUT;
      const timespec ts = absl::ToTimespec(left);
      const int ready = ::ppoll(&p, 1, &ts, nullptr);
      if (ready < 0 && errno != EINTR) {
        return absl::UnavailableError(
            absl::StrCat("poll failed: ", ErrnoText(errno)));
      }
      if (ready > 0 &&
          (p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0) {
        try_read = true;
      }
    }
  }

 private:
  redisContext* const ctx_;
};

std::unique_ptr<Pool> Pool::Create(PoolOptions options) {
  return std::unique_ptr<Pool>(new Pool(std::move(options)));
}

Pool::Pool(PoolOptions options)
    : options_([&] {
        options.size = std::max(options.size, 1);
        if (options.checkout_timeout <= absl::ZeroDuration()) {
          options.checkout_timeout = options.command_timeout;
        }
        options.backoff_max =
            std::max(options.backoff_max, options.backoff_initial);
        return std::move(options);
      }()),
      redacted_(options_.endpoint.Redacted()),
      backoff_(options_.backoff_initial),
      rng_state_(static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) ^
                 reinterpret_cast<uintptr_t>(this)) {}

Pool::~Pool() = default;

absl::Status Pool::Unavailable(absl::string_view why) const {
  return absl::UnavailableError(
      absl::StrCat("redis ", redacted_, " unavailable: ", why));
}

absl::StatusOr<Reply> Pool::Command(
    std::initializer_list<absl::string_view> args) {
  Batch batch;
  batch.observed = options_.observer != nullptr;
  if (absl::Status s = batch.Add(args); !s.ok()) return s;
  absl::StatusOr<std::vector<Reply>> replies = Run(batch);
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

absl::StatusOr<Reply> Pool::Command(const std::vector<std::string>& args) {
  Batch batch;
  batch.observed = options_.observer != nullptr;
  if (absl::Status s = batch.Add(args); !s.ok()) return s;
  absl::StatusOr<std::vector<Reply>> replies = Run(batch);
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

absl::StatusOr<std::vector<Reply>> Pool::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  Batch batch;
  batch.observed = options_.observer != nullptr;
  for (const std::vector<std::string>& args : commands) {
    if (absl::Status s = batch.Add(args); !s.ok()) return s;
  }
  return Run(batch);
}

absl::Status Pool::Ping() {
  absl::StatusOr<Reply> reply = Command({"PING"});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) {
    return Unavailable(
        absl::StrCat("PING failed: ", reply->AsStatus().message()));
  }
  if (!reply->is_string() || reply->str() != "PONG") {
    return Unavailable(absl::StrCat("PING answered a ", KindName(reply->kind()),
                                    " reply instead of PONG"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Reply>> Pool::Run(Batch& batch) {
  if (absl::Status s = batch.Finish(); !s.ok()) return s;
  if (batch.count == 0) return std::vector<Reply>();
  const absl::Time start = absl::Now();
  std::vector<Reply> replies;
  std::vector<absl::Time> reply_times;
  absl::Status status;

  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Checkout(start + options_.checkout_timeout);
  if (conn.ok()) {
    status =
        (*conn)->Execute(batch.request, batch.count, options_.command_timeout,
                         &replies, batch.observed ? &reply_times : nullptr);
    Return(*std::move(conn), status.ok());
    if (absl::IsUnavailable(status)) {
      status = Unavailable(status.message());
    } else if (!status.ok()) {
      status = absl::Status(status.code(), absl::StrCat("redis ", redacted_,
                                                        " ", status.message()));
    }
  } else {
    status = conn.status();
  }

  if (batch.observed) {
    const absl::Time end = absl::Now();
    for (size_t i = 0; i < batch.count; ++i) {
      if (i < reply_times.size()) {
        options_.observer->OnCommand(batch.names[i], reply_times[i] - start,
                                     replies[i].is_error());
      } else {
        options_.observer->OnCommand(batch.names[i], end - start, true);
      }
    }
  }
  if (!status.ok()) return status;
  return replies;
}

absl::StatusOr<std::unique_ptr<Pool::Connection>> Pool::Checkout(
    absl::Time deadline) {
  const size_t size = static_cast<size_t>(options_.size);
  while (true) {
    std::unique_ptr<Connection> conn;
    bool probe = false;
    {
      absl::MutexLock lock(&mu_);
      auto has_room = [this, size]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() ||
               static_cast<size_t>(in_use_) + idle_.size() < size;
      };
      if (!mu_.AwaitWithDeadline(absl::Condition(&has_room), deadline)) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "redis ", redacted_, " pool exhausted: all ", size,
            " connections stayed busy for ",
            absl::FormatDuration(options_.checkout_timeout),
            " (raise the pool size, RAPPORT_REDIS_POOL_SIZE, or lower the "
            "concurrency)"));
      }
      ++in_use_;
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      } else if (dial_failures_ > 0) {
        // Redis was down at the last attempt: let one caller probe once the
        // backoff has passed, and fail everyone else fast.
        const absl::Time now = absl::Now();
        if (probing_ || now < next_dial_) {
          --in_use_;
          return Unavailable(absl::StrCat(
              last_dial_error_, " (consecutive failures: ", dial_failures_,
              "; next attempt in ",
              absl::FormatDuration(
                  absl::Floor(std::max(next_dial_ - now, absl::ZeroDuration()),
                              absl::Milliseconds(1))),
              ")"));
        }
        probing_ = true;
        probe = true;
      }
    }
    if (conn != nullptr) {
      if (!conn->LooksBroken()) return conn;
      Return(std::move(conn), /*healthy=*/false);
      continue;
    }

    absl::StatusOr<std::unique_ptr<Connection>> dialed = Dial();
    absl::MutexLock lock(&mu_);
    if (probe) probing_ = false;
    if (dialed.ok()) {
      dial_failures_ = 0;
      backoff_ = options_.backoff_initial;
      return dialed;
    }
    --in_use_;
    ++dial_failures_;
    // Jitter in [backoff/2, backoff] keeps replicas from dialing in step.
    const double jitter =
        0.5 + 0.5 * static_cast<double>(SplitMix64(rng_state_) >> 11) /
                  static_cast<double>(uint64_t{1} << 53);
    next_dial_ = absl::Now() + backoff_ * jitter;
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
    const absl::string_view why = dialed.status().message();
    last_dial_error_.assign(why.data(), why.size());
    return Unavailable(last_dial_error_);
  }
}

void Pool::Return(std::unique_ptr<Connection> conn, bool healthy) {
  {
    absl::MutexLock lock(&mu_);
    --in_use_;
    if (healthy) {
      idle_.push_back(std::move(conn));
      return;
    }
  }
  conn.reset();  // Close outside the lock.
}

absl::StatusOr<std::unique_ptr<Pool::Connection>> Pool::Dial() {
  const RedisEndpoint& ep = options_.endpoint;
  redisContext* ctx = redisConnectWithTimeout(
      ep.host.c_str(), ep.port, absl::ToTimeval(options_.connect_timeout));
  if (ctx == nullptr) {
    return absl::UnavailableError("connect failed: out of memory");
  }
  auto conn = std::make_unique<Connection>(ctx);
  if (ctx->err != 0) {
    return absl::UnavailableError(
        absl::StrCat("connect failed: ", ctx->errstr));
  }
  // Our own I/O never blocks (see Connection); this bounds anything hiredis
  // might do on the socket by itself.
  redisSetTimeout(ctx, absl::ToTimeval(options_.command_timeout));
  redisEnableKeepAlive(ctx);

  Batch hello;
  bool auth = false;
  // Built directly: Batch::Add refuses AUTH and SELECT for callers.
  auto add = [&hello](std::initializer_list<absl::string_view> args) {
    absl::StrAppend(&hello.request, "*", args.size(), "\r\n");
    for (absl::string_view arg : args) {
      absl::StrAppend(&hello.request, "$", arg.size(), "\r\n", arg, "\r\n");
    }
    ++hello.count;
  };
  // A username alone still authenticates: ACL users may be "nopass".
  if (!ep.password.empty() || !ep.username.empty()) {
    auth = true;
    if (ep.username.empty()) {
      add({"AUTH", ep.password});
    } else {
      add({"AUTH", ep.username, ep.password});
    }
  }
  const std::string db = absl::StrCat(ep.db);
  if (ep.db != 0) add({"SELECT", db});
  if (hello.count == 0) return conn;

  std::vector<Reply> replies;
  absl::Status s = conn->Execute(hello.request, hello.count,
                                 options_.command_timeout, &replies, nullptr);
  if (!s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("during AUTH/SELECT: ", s.message()));
  }
  if (auth && replies[0].is_error()) {
    return absl::UnavailableError(
        absl::StrCat("AUTH rejected (", replies[0].AsStatus().message(),
                     "): check the user and password in the Redis URL"));
  }
  if (ep.db != 0 && replies.back().is_error()) {
    return absl::UnavailableError(absl::StrCat(
        "SELECT ", db, " rejected (", replies.back().AsStatus().message(),
        "): check the database number in the Redis URL"));
  }
  return conn;
}

Pool::Stats Pool::GetStats() const {
  absl::MutexLock lock(&mu_);
  return Stats{.idle = static_cast<int>(idle_.size()),
               .in_use = in_use_,
               .consecutive_dial_failures = dial_failures_};
}

}  // namespace rapport::redis
