#include "common/redis/write_behind.h"

#include <iterator>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/util/util.h"

namespace rapport::redis {

WriteBehind::WriteBehind(AsyncClient& client, WriteBehindOptions options,
                         Observer observer)
    : client_(client), options_(options), observer_(std::move(observer)) {
  retry_thread_ = std::thread([this] { RetryLoop(); });
}

WriteBehind::~WriteBehind() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    MaybeSendLocked();  // no more lingering
    const absl::Time deadline = absl::Now() + options_.drain_timeout;
    while ((!queue_.empty() || sending_) && absl::Now() < deadline) {
      progress_.WaitWithDeadline(&mu_, deadline);
    }
    // A batch on the wire completes within the client's command timeout;
    // its callback, and the observer after it, need this object.
    while (sending_ || observing_ > 0) progress_.Wait(&mu_);
    stats_.dropped += queue_.size();
    queue_.clear();
    stop_thread_ = true;
    retry_cv_.Signal();
  }
  retry_thread_.join();
}

absl::Status WriteBehind::Write(std::vector<Command> commands) {
  if (commands.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    ++stats_.refused;
    return absl::UnavailableError(
        "redis writes: this process is shutting down; retry on another "
        "replica");
  }
  if (failing_) {
    ++stats_.refused;
    return absl::UnavailableError(
        absl::StrCat("redis writes are failing (", last_error_,
                     "); retried in the background, retry the call later"));
  }
  if (queue_.size() + in_flight_ + commands.size() > options_.max_pending) {
    ++stats_.refused;
    return absl::UnavailableError(absl::StrCat(
        "redis writes: ", queue_.size() + in_flight_,
        " commands already queued (redis is slower than the load); retry "
        "with backoff"));
  }
  accepted_ += commands.size();
  if (queue_.empty()) first_queued_ = absl::Now();
  for (Command& c : commands) queue_.push_back(std::move(c));
  MaybeSendLocked();
  return absl::OkStatus();
}

bool WriteBehind::LingerOverLocked(absl::Time now) const {
  return options_.linger <= absl::ZeroDuration() || stopping_ ||
         flushing_ > 0 || queue_.size() >= options_.linger_batch ||
         now >= first_queued_ + options_.linger;
}

void WriteBehind::MaybeSendLocked() {
  if (sending_ || queue_.empty() || failing_) return;
  if (LingerOverLocked(absl::Now())) {
    SendLocked();
  } else if (!lingering_) {
    lingering_ = true;
    retry_cv_.Signal();
  }
}

void WriteBehind::SendLocked() {
  sending_ = true;
  auto batch = std::make_shared<std::vector<Command>>(
      std::make_move_iterator(queue_.begin()),
      std::make_move_iterator(queue_.end()));
  queue_.clear();
  in_flight_ = batch->size();
  // Encoding happens inside Pipeline(); the callback never runs inside it,
  // and no one else sends while sending_ is set, so the lock can go.
  mu_.Unlock();
  client_.Pipeline(*batch,
                   [this, batch](absl::StatusOr<std::vector<Reply>> replies) {
                     absl::Status status = replies.status();
                     if (status.ok()) {
                       for (const Reply& r : *replies) {
                         status = r.AsStatus();
                         if (!status.ok()) break;
                       }
                     }
                     OnBatchDone(std::move(*batch), status);
                   });
  mu_.Lock();
}

void WriteBehind::OnBatchDone(std::vector<Command> batch,
                              const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  const Stats snapshot = DoneLocked(std::move(batch), status);
  if (!observer_) return;
  // Outside the lock; the destructor waits for it (observing_).
  ++observing_;
  mu_.Unlock();
  observer_(snapshot);
  mu_.Lock();
  if (--observing_ == 0) progress_.SignalAll();
}

WriteBehind::Stats WriteBehind::DoneLocked(std::vector<Command> batch,
                                           const absl::Status& status) {
  sending_ = false;
  in_flight_ = 0;
  if (status.ok()) {
    stats_.written += batch.size();
    ++stats_.batches;
    failing_ = false;
    attempt_ = 0;
  } else {
    // Back in front of what came after it, to keep the order.
    ++stats_.failed_batches;
    failing_ = true;
    last_error_.assign(status.message().data(), status.message().size());
    retry_at_ =
        absl::Now() + util::JitteredBackoff(attempt_++, options_.retry_initial,
                                            options_.retry_max);
    queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                  std::make_move_iterator(batch.end()));
    retry_cv_.Signal();
  }
  progress_.SignalAll();
  Stats snapshot = StatsLocked();
  MaybeSendLocked();
  return snapshot;
}

void WriteBehind::RetryLoop() {
  absl::MutexLock lock(&mu_);
  while (!stop_thread_) {
    if (failing_ && !sending_ && !queue_.empty()) {
      if (absl::Now() >= retry_at_) {
        SendLocked();  // failing_ stays set until a batch is written
        continue;
      }
      retry_cv_.WaitWithDeadline(&mu_, retry_at_);
    } else if (lingering_) {
      if (sending_ || queue_.empty() || failing_) {
        lingering_ = false;  // sent meanwhile, or now the retry's business
        continue;
      }
      if (LingerOverLocked(absl::Now())) {
        lingering_ = false;
        SendLocked();
        continue;
      }
      retry_cv_.WaitWithDeadline(&mu_, first_queued_ + options_.linger);
    } else {
      retry_cv_.Wait(&mu_);
    }
  }
}

absl::Status WriteBehind::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const uint64_t target = accepted_;
  const absl::Time deadline = absl::Now() + timeout;
  // While anyone waits here, nothing lingers.
  ++flushing_;
  MaybeSendLocked();
  absl::Status status;
  while (stats_.written < target) {
    if (progress_.WaitWithDeadline(&mu_, deadline) && stats_.written < target) {
      status = absl::DeadlineExceededError(absl::StrCat(
          "redis writes: ", target - stats_.written,
          " commands still queued after ", absl::FormatDuration(timeout),
          (failing_ ? absl::StrCat(" (failing: ", last_error_, ")") : "")));
      break;
    }
  }
  --flushing_;
  return status;
}

WriteBehind::Stats WriteBehind::GetStats() const {
  absl::MutexLock lock(&mu_);
  return StatsLocked();
}

WriteBehind::Stats WriteBehind::StatsLocked() const {
  Stats s = stats_;
  s.pending = queue_.size() + in_flight_;
  s.failing = failing_;
  return s;
}

}  // namespace rapport::redis
