#include "common/redis/pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rapport::redis {

using internal::RequestEncoder;

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
      backoff_(options_.backoff_initial, options_.backoff_max,
               internal::JitterSeed(this)) {}

Pool::~Pool() = default;

absl::StatusOr<Reply> Pool::Command(
    std::initializer_list<absl::string_view> args) {
  RequestEncoder batch(options_.observer != nullptr);
  if (absl::Status s = batch.Add(args); !s.ok()) return s;
  absl::StatusOr<std::vector<Reply>> replies = Run(batch);
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

absl::StatusOr<Reply> Pool::Command(const std::vector<std::string>& args) {
  RequestEncoder batch(options_.observer != nullptr);
  if (absl::Status s = batch.Add(args); !s.ok()) return s;
  absl::StatusOr<std::vector<Reply>> replies = Run(batch);
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

absl::StatusOr<std::vector<Reply>> Pool::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  RequestEncoder batch(options_.observer != nullptr);
  for (const std::vector<std::string>& args : commands) {
    if (absl::Status s = batch.Add(args); !s.ok()) return s;
  }
  return Run(batch);
}

absl::Status Pool::Ping() {
  return internal::PingStatus(Command({"PING"}), redacted_);
}

absl::StatusOr<std::vector<Reply>> Pool::Run(RequestEncoder& batch) {
  if (absl::Status s = batch.Finish(); !s.ok()) return s;
  if (batch.count() == 0) return std::vector<Reply>();
  const absl::Time start = absl::Now();
  std::vector<Reply> replies;
  std::vector<absl::Time> reply_times;
  absl::Status status;

  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Checkout(start + options_.checkout_timeout);
  if (conn.ok()) {
    status = (*conn)->Execute(batch.request(), batch.count(),
                              options_.command_timeout, &replies,
                              batch.record_names() ? &reply_times : nullptr);
    Return(*std::move(conn), status.ok());
    status = internal::MapFailure(status, redacted_);
  } else {
    status = conn.status();
  }

  if (batch.record_names()) {
    const absl::Time end = absl::Now();
    for (size_t i = 0; i < batch.count(); ++i) {
      if (i < reply_times.size()) {
        options_.observer->OnCommand(batch.names()[i], reply_times[i] - start,
                                     replies[i].is_error());
      } else {
        options_.observer->OnCommand(batch.names()[i], end - start, true);
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
      } else if (backoff_.failures() > 0) {
        // Redis was down at the last attempt: let one caller probe once the
        // backoff has passed, and fail everyone else fast.
        const absl::Time now = absl::Now();
        if (probing_ || !backoff_.Ready(now)) {
          --in_use_;
          return internal::Unavailable(redacted_, backoff_.FailFastReason(now));
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

    absl::StatusOr<std::unique_ptr<Connection>> dialed = internal::Dial(
        options_.endpoint, options_.connect_timeout, options_.command_timeout);
    absl::MutexLock lock(&mu_);
    if (probe) probing_ = false;
    if (dialed.ok()) {
      backoff_.OnSuccess();
      return dialed;
    }
    --in_use_;
    backoff_.OnFailure(absl::Now(), dialed.status().message());
    return internal::Unavailable(redacted_, backoff_.last_error());
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

Pool::Stats Pool::GetStats() const {
  absl::MutexLock lock(&mu_);
  return Stats{.idle = static_cast<int>(idle_.size()),
               .in_use = in_use_,
               .consecutive_dial_failures = backoff_.failures()};
}

}  // namespace rapport::redis
