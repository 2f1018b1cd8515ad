#include "common/redis/invalidation.h"

#include <poll.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis/connection.h"

namespace rapport::redis {
namespace {

// How long the thread sleeps at a time, so that a stop is seen quickly.
constexpr absl::Duration kSlice = absl::Milliseconds(100);

// A pub/sub push: ["message", channel, payload] or ["pong", ""] and the
// like; `kind` is its first element.
bool IsPush(const Reply& r, absl::string_view kind) {
  return r.is_array() && !r.elements().empty() && r.elements()[0].is_string() &&
         r.elements()[0].str() == kind;
}

}  // namespace

InvalidationListener::InvalidationListener(InvalidationOptions options)
    : options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

InvalidationListener::~InvalidationListener() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void InvalidationListener::SetState(bool subscribed) {
  if (subscribed_.exchange(subscribed) == subscribed) return;
  if (options_.on_state) options_.on_state(subscribed);
}

void InvalidationListener::Run() {
  internal::DialBackoff backoff(options_.redis.backoff_initial,
                                options_.redis.backoff_max,
                                internal::JitterSeed(this));
  while (!stop_.load()) {
    const absl::Time now = absl::Now();
    if (!backoff.Ready(now)) {
      absl::SleepFor(std::min(kSlice, backoff.next_attempt() - now));
      continue;
    }
    absl::StatusOr<std::unique_ptr<internal::Connection>> conn =
        internal::Dial(options_.redis.endpoint, options_.redis.connect_timeout,
                       options_.redis.command_timeout);
    if (!conn.ok()) {
      backoff.OnFailure(absl::Now(), conn.status().message());
      continue;
    }
    std::vector<Reply> replies;
    absl::Status s = (*conn)->Execute(
        internal::EncodeCommand({"SUBSCRIBE", options_.channel}), 1,
        options_.redis.command_timeout, &replies, nullptr);
    if (!s.ok() || !IsPush(replies[0], "subscribe")) {
      backoff.OnFailure(absl::Now(),
                        s.ok() ? "SUBSCRIBE refused" : s.message());
      continue;
    }
    backoff.OnSuccess();
    SetState(true);
    Listen(**conn);
    if (!stop_.load()) SetState(false);
  }
}

void InvalidationListener::Listen(internal::Connection& conn) {
  const std::string ping = internal::EncodeCommand({"PING"});
  absl::Time last_heard = absl::Now();
  absl::Time ping_sent = absl::InfinitePast();
  std::vector<Reply> pushes;
  while (!stop_.load()) {
    const absl::Time now = absl::Now();
    if (ping_sent > last_heard) {
      // A PING is out: no answer within the command timeout means the
      // connection (or Redis) is gone, and messages may be lost.
      if (now - ping_sent > options_.redis.command_timeout) return;
    } else if (now - last_heard >= options_.ping_every) {
      size_t sent = 0;
      if (!internal::SendSome(conn.fd(), ping, &sent).ok() ||
          sent != ping.size()) {
        return;
      }
      ping_sent = now;
    }
    pollfd p{conn.fd(), POLLIN, 0};
    const int ready =
        ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(kSlice)));
    if (ready <= 0) continue;
    pushes.clear();
    if (!conn.ReadAvailable(&pushes, nullptr).ok()) return;
    last_heard = absl::Now();
    for (const Reply& r : pushes) {
      if (IsPush(r, "message") && r.elements().size() == 3 &&
          r.elements()[2].is_string() && options_.on_key) {
        options_.on_key(r.elements()[2].str());
      }
    }
  }
}

}  // namespace rapport::redis
