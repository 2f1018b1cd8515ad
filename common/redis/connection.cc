#include "common/redis/connection.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace rapport::redis::internal {
namespace {

constexpr size_t kReadChunk = size_t{16} << 10;
constexpr size_t kMaxMetricName = 32;

std::string ErrnoText(int err) {
  char buf[128];
  // GNU strerror_r: returns a pointer to the message (maybe not `buf`).
  return strerror_r(err, buf, sizeof(buf));
}

bool IsCommand(absl::string_view arg0, absl::string_view upper_name) {
  return arg0.size() == upper_name.size() &&
         absl::EqualsIgnoreCase(arg0, upper_name);
}

// Commands after which a connection no longer behaves like every other one
// (another db, user, protocol, a subscriber, closed, ...).
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

std::string CommandName(absl::string_view arg0) {
  if (arg0.empty() || arg0.size() > kMaxMetricName) return "OTHER";
  std::string name(arg0);
  for (char& c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-') return "OTHER";
    c = absl::ascii_toupper(c);
  }
  return name;
}

absl::Status RequestEncoder::Admit(absl::string_view name) {
  for (absl::string_view banned : kConnectionStateCommands) {
    if (IsCommand(name, banned)) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis: ", banned,
                       " changes the connection's state and cannot be sent "
                       "through a shared connection"));
    }
  }
  if (IsCommand(name, "MULTI")) {
    in_multi_ = true;
  } else if (in_multi_ &&
             (IsCommand(name, "EXEC") || IsCommand(name, "DISCARD"))) {
    // Outside MULTI they fail and leave WATCH in place.
    in_multi_ = false;
    watching_ = false;
  } else if (!in_multi_ && IsCommand(name, "WATCH")) {
    watching_ = true;
  } else if (!in_multi_ && IsCommand(name, "UNWATCH")) {
    watching_ = false;
  }
  return absl::OkStatus();
}

absl::Status RequestEncoder::Finish() const {
  if (in_multi_) {
    return absl::InvalidArgumentError(
        "redis: MULTI must be closed by EXEC or DISCARD in the same call, or "
        "the shared connection would stay inside the transaction");
  }
  if (watching_) {
    return absl::InvalidArgumentError(
        "redis: WATCH must be followed by EXEC, DISCARD or UNWATCH in the "
        "same call, or the shared connection would keep watching");
  }
  return absl::OkStatus();
}

Connection::~Connection() { redisFree(ctx_); }

bool Connection::LooksBroken() const {
  pollfd p{ctx_->fd, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

int Connection::fd() const { return ctx_->fd; }

absl::Status SendSome(int fd, absl::string_view data, size_t* sent) {
  *sent = 0;
  while (*sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + *sent, data.size() - *sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      *sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return absl::UnavailableError(absl::StrCat(
        "connection lost while sending: ", ErrnoText(n < 0 ? errno : EPIPE)));
  }
  return absl::OkStatus();
}

std::string EncodeCommand(std::initializer_list<absl::string_view> args) {
  std::string out = absl::StrCat("*", args.size(), "\r\n");
  for (absl::string_view arg : args) {
    absl::StrAppend(&out, "$", arg.size(), "\r\n", arg, "\r\n");
  }
  return out;
}

absl::Status Connection::TakeParsed(std::vector<Reply>* replies,
                                    std::vector<absl::Time>* reply_times,
                                    size_t limit) {
  while (replies->size() < limit) {
    void* raw = nullptr;
    if (redisReaderGetReply(ctx_->reader, &raw) != REDIS_OK) {
      return absl::InternalError(
          absl::StrCat("protocol error: ", ctx_->reader->errstr));
    }
    if (raw == nullptr) break;
    replies->push_back(FromHiredis(*static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
    if (reply_times != nullptr) reply_times->push_back(absl::Now());
  }
  return absl::OkStatus();
}

absl::Status Connection::ReadAvailable(std::vector<Reply>* replies,
                                       std::vector<absl::Time>* reply_times) {
  char buf[kReadChunk];
  while (true) {
    const ssize_t n = ::recv(ctx_->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      redisReaderFeed(ctx_->reader, buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof(buf)) break;  // drained
      continue;
    }
    if (n == 0) {
      return absl::UnavailableError("connection closed by the server");
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return absl::UnavailableError(
        absl::StrCat("connection lost while reading: ", ErrnoText(errno)));
  }
  return TakeParsed(replies, reply_times, SIZE_MAX);
}

absl::Status Connection::Execute(absl::string_view request, size_t count,
                                 absl::Duration timeout,
                                 std::vector<Reply>* replies,
                                 std::vector<absl::Time>* reply_times) {
  const absl::Time deadline = absl::Now() + timeout;
  const int fd = ctx_->fd;
  const size_t first = replies->size();
  const size_t want = first + count;
  size_t sent = 0;
  bool try_read = false;
  char buf[kReadChunk];
  replies->reserve(want);
  while (true) {
    if (absl::Status s = TakeParsed(replies, reply_times, want); !s.ok()) {
      return s;
    }
    if (replies->size() == want) return absl::OkStatus();

    if (sent < request.size()) {
      const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                 errno != EINTR) {
        return absl::UnavailableError(
            absl::StrCat("connection lost while sending: ", ErrnoText(errno)));
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
        return absl::UnavailableError(
            absl::StrCat("connection lost while reading: ", ErrnoText(errno)));
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

absl::StatusOr<std::unique_ptr<Connection>> Dial(
    const RedisEndpoint& endpoint, absl::Duration connect_timeout,
    absl::Duration command_timeout) {
  const RedisEndpoint& ep = endpoint;
  redisContext* ctx = redisConnectWithTimeout(ep.host.c_str(), ep.port,
                                              absl::ToTimeval(connect_timeout));
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
  redisSetTimeout(ctx, absl::ToTimeval(command_timeout));
  redisEnableKeepAlive(ctx);

  std::string request;
  size_t count = 0;
  bool auth = false;
  // Built directly: RequestEncoder refuses AUTH and SELECT for callers.
  auto add = [&request, &count](std::initializer_list<absl::string_view> args) {
    request.append(EncodeCommand(args));
    ++count;
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
  if (count == 0) return conn;

  std::vector<Reply> replies;
  absl::Status s =
      conn->Execute(request, count, command_timeout, &replies, nullptr);
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

DialBackoff::DialBackoff(absl::Duration initial, absl::Duration max,
                         uint64_t seed)
    : initial_(initial),
      max_(std::max(max, initial)),
      delay_(initial),
      rng_state_(seed) {}

void DialBackoff::OnSuccess() {
  failures_ = 0;
  delay_ = initial_;
}

void DialBackoff::OnFailure(absl::Time now, absl::string_view why) {
  ++failures_;
  // Jitter in [delay/2, delay] keeps replicas from dialing in step.
  const double jitter =
      0.5 + 0.5 * static_cast<double>(SplitMix64(rng_state_) >> 11) /
                static_cast<double>(uint64_t{1} << 53);
  next_ = now + delay_ * jitter;
  delay_ = std::min(delay_ * 2, max_);
  last_error_.assign(why.data(), why.size());
}

std::string DialBackoff::FailFastReason(absl::Time now) const {
  return absl::StrCat(
      last_error_, " (consecutive failures: ", failures_, "; next attempt in ",
      absl::FormatDuration(absl::Floor(
          std::max(next_ - now, absl::ZeroDuration()), absl::Milliseconds(1))),
      ")");
}

uint64_t JitterSeed(const void* instance) {
  return static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) ^
         reinterpret_cast<uintptr_t>(instance);
}

absl::Status Unavailable(absl::string_view redacted, absl::string_view why) {
  return absl::UnavailableError(
      absl::StrCat("redis ", redacted, " unavailable: ", why));
}

absl::Status MapFailure(const absl::Status& failure,
                        absl::string_view redacted) {
  if (failure.ok()) return failure;
  if (absl::IsUnavailable(failure)) {
    return Unavailable(redacted, failure.message());
  }
  return absl::Status(failure.code(),
                      absl::StrCat("redis ", redacted, " ", failure.message()));
}

absl::Status PingStatus(const absl::StatusOr<Reply>& reply,
                        absl::string_view redacted) {
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) {
    return Unavailable(
        redacted, absl::StrCat("PING failed: ", reply->AsStatus().message()));
  }
  if (!reply->is_string() || reply->str() != "PONG") {
    return Unavailable(redacted,
                       absl::StrCat("PING answered a ", KindName(reply->kind()),
                                    " reply instead of PONG"));
  }
  return absl::OkStatus();
}

}  // namespace rapport::redis::internal
